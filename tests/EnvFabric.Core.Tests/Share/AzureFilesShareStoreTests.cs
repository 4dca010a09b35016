using System.Text;
using Azure;
using Azure.Storage.Files.Shares;
using Azure.Storage.Files.Shares.Models;
using EnvFabric.Core.Share;
using Moq;

namespace EnvFabric.Core.Tests.Share;

/// <summary>Azure Files has no emulator: the SDK clients are mocked and the calls the store makes are checked.</summary>
public sealed class AzureFilesShareStoreTests
{
    private readonly Mock<ShareClient> _share = new();
    private readonly Mock<ShareDirectoryClient> _root = new();
    private readonly Mock<ShareDirectoryClient> _envInfo = new();
    private readonly Mock<ShareFileClient> _file = new();

    public AzureFilesShareStoreTests()
    {
        _share.Setup(s => s.GetRootDirectoryClient()).Returns(_root.Object);
        _root.Setup(d => d.GetSubdirectoryClient("env_info")).Returns(_envInfo.Object);
        _envInfo.Setup(d => d.GetFileClient("ml.json")).Returns(_file.Object);
    }

    [Fact]
    public async Task WriteTextAsync_CreatesDirectoryThenFileAtSizeThenUploadsRange()
    {
        byte[]? uploaded = null;
        long? createdSize = null;
        _envInfo.Setup(d => d.CreateIfNotExistsAsync(It.IsAny<ShareDirectoryCreateOptions>(), It.IsAny<CancellationToken>()))
            .ReturnsAsync(Response.FromValue<ShareDirectoryInfo>(null!, Mock.Of<Response>()));
        _file.Setup(f => f.CreateAsync(It.IsAny<long>(), It.IsAny<ShareFileCreateOptions>(), It.IsAny<ShareFileRequestConditions>(), It.IsAny<CancellationToken>()))
            .Callback((long size, ShareFileCreateOptions _, ShareFileRequestConditions _, CancellationToken _) => createdSize = size)
            .ReturnsAsync(Response.FromValue<ShareFileInfo>(null!, Mock.Of<Response>()));
        _file.Setup(f => f.UploadRangeAsync(It.IsAny<HttpRange>(), It.IsAny<Stream>(), It.IsAny<ShareFileUploadRangeOptions>(), It.IsAny<CancellationToken>()))
            .Callback((HttpRange _, Stream content, ShareFileUploadRangeOptions _, CancellationToken _) =>
            {
                using var copy = new MemoryStream();
                content.CopyTo(copy);
                uploaded = copy.ToArray();
            })
            .ReturnsAsync(Response.FromValue<ShareFileUploadInfo>(null!, Mock.Of<Response>()));
        var store = new AzureFilesShareStore(_share.Object);

        await store.WriteTextAsync("env_info/ml.json", "{\"name\":\"ml\"}");

        _envInfo.Verify(d => d.CreateIfNotExistsAsync(It.IsAny<ShareDirectoryCreateOptions>(), It.IsAny<CancellationToken>()), Times.Once);
        Assert.Equal(13, createdSize);
        Assert.Equal("{\"name\":\"ml\"}", Encoding.UTF8.GetString(uploaded!));
    }

    [Fact]
    public async Task ReadTextAsync_Missing_ReturnsNull()
    {
        _file.Setup(f => f.DownloadAsync(It.IsAny<ShareFileDownloadOptions>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(new RequestFailedException(404, "ResourceNotFound"));
        var store = new AzureFilesShareStore(_share.Object);

        Assert.Null(await store.ReadTextAsync("env_info/ml.json"));
    }

    [Fact]
    public async Task ReadTextAsync_Existing_ReturnsContent()
    {
        var download = FilesModelFactory.StorageFileDownloadInfo(content: new MemoryStream(Encoding.UTF8.GetBytes("hello")));
        _file.Setup(f => f.DownloadAsync(It.IsAny<ShareFileDownloadOptions>(), It.IsAny<CancellationToken>()))
            .ReturnsAsync(Response.FromValue(download, Mock.Of<Response>()));
        var store = new AzureFilesShareStore(_share.Object);

        Assert.Equal("hello", await store.ReadTextAsync("env_info/ml.json"));
    }

    [Fact]
    public async Task ListFilesAsync_ReturnsFilesOnlySorted()
    {
        var items = new[]
        {
            FilesModelFactory.ShareFileItem(isDirectory: false, name: "b.json"),
            FilesModelFactory.ShareFileItem(isDirectory: true, name: "sub"),
            FilesModelFactory.ShareFileItem(isDirectory: false, name: "a.json"),
        };
        _envInfo.Setup(d => d.GetFilesAndDirectoriesAsync(It.IsAny<ShareDirectoryGetFilesAndDirectoriesOptions>(), It.IsAny<CancellationToken>()))
            .Returns(AsyncPageable<ShareFileItem>.FromPages([Page<ShareFileItem>.FromValues(items, null, Mock.Of<Response>())]));
        var store = new AzureFilesShareStore(_share.Object);

        Assert.Equal(["a.json", "b.json"], await store.ListFilesAsync("env_info"));
    }

    [Fact]
    public async Task DeleteAsync_PathWithDotDot_ThrowsBeforeAnyCall()
    {
        var store = new AzureFilesShareStore(_share.Object);

        await Assert.ThrowsAsync<ArgumentException>(() => store.DeleteAsync("env_info/../x.json"));
        _share.Verify(s => s.GetRootDirectoryClient(), Times.Never);
    }
}
