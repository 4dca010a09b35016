using EnvFabric.Core.Share;
using EnvFabric.Testing;

namespace EnvFabric.Core.Tests.Share;

public sealed class LocalShareStoreTests : IDisposable
{
    private readonly TempDirectory _dir = new("share");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task WriteTextAsync_ThenRead_CreatesDirectoriesAndRoundTrips()
    {
        var share = new LocalShareStore(_dir.Path);

        await share.WriteTextAsync("env_info/ml.json", "{}");
        await share.WriteTextAsync("env_info/ml.json", "{\"a\":1}");

        Assert.Equal("{\"a\":1}", await share.ReadTextAsync("env_info/ml.json"));
        Assert.Equal(["ml.json"], await share.ListFilesAsync("env_info"));
    }

    [Fact]
    public async Task ReadTextAsync_Missing_ReturnsNull()
    {
        var share = new LocalShareStore(_dir.Path);

        Assert.Null(await share.ReadTextAsync("env_info/none.json"));
        Assert.Empty(await share.ListFilesAsync("env_info"));
        Assert.False(await share.DeleteAsync("env_info/none.json"));
    }

    [Theory]
    [InlineData("../outside.json")]
    [InlineData("env_info/../../outside.json")]
    [InlineData("/etc/passwd")]
    [InlineData("env_info//x.json")]
    [InlineData("a\\b")]
    public async Task WriteTextAsync_PathLeavingShare_Throws(string path)
    {
        var share = new LocalShareStore(_dir.Path);

        await Assert.ThrowsAsync<ArgumentException>(() => share.WriteTextAsync(path, "x"));
        Assert.False(File.Exists(Path.Combine(Path.GetDirectoryName(_dir.Path)!, "outside.json")));
    }
}
