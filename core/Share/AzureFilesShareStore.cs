using System.Text;
using Azure;
using Azure.Storage.Files.Shares;

namespace EnvFabric.Core.Share;

/// <summary>
/// <see cref="IShareStore"/> on an Azure Files share through Azure.Storage.Files.Shares. Azure Files has no
/// atomic rename-over, so a file is created at its full size and uploaded in one range (metadata files are
/// far below the 4 MiB range limit); a reader racing a write can see a partial file, which the env_info
/// importer tolerates by skipping files it cannot parse.
/// </summary>
public sealed class AzureFilesShareStore(ShareClient share) : IShareStore
{
    private readonly ShareClient _share = share ?? throw new ArgumentNullException(nameof(share));

    /// <inheritdoc />
    public async Task<string?> ReadTextAsync(string path, CancellationToken cancellationToken = default)
    {
        var file = FileClient(path);
        try
        {
            var download = await file.DownloadAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            using var reader = new StreamReader(download.Value.Content, Encoding.UTF8);
            return await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public async Task WriteTextAsync(string path, string text, CancellationToken cancellationToken = default)
    {
        var segments = SharePath.Split(path);
        var directory = _share.GetRootDirectoryClient();
        foreach (var segment in segments[..^1])
        {
            directory = directory.GetSubdirectoryClient(segment);
            await directory.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        var file = directory.GetFileClient(segments[^1]);
        var bytes = Encoding.UTF8.GetBytes(text);
        await file.CreateAsync(bytes.Length, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (bytes.Length > 0)
        {
            using var content = new MemoryStream(bytes);
            await file.UploadRangeAsync(new HttpRange(0, bytes.Length), content, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task<bool> DeleteAsync(string path, CancellationToken cancellationToken = default)
    {
        var response = await FileClient(path).DeleteIfExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.Value;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> ListFilesAsync(string directory, CancellationToken cancellationToken = default)
    {
        var client = _share.GetRootDirectoryClient();
        foreach (var segment in SharePath.Split(directory))
        {
            client = client.GetSubdirectoryClient(segment);
        }

        var names = new List<string>();
        try
        {
            await foreach (var item in client.GetFilesAndDirectoriesAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                if (!item.IsDirectory)
                {
                    names.Add(item.Name);
                }
            }
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return [];
        }

        names.Sort(StringComparer.Ordinal);
        return names;
    }

    private ShareFileClient FileClient(string path)
    {
        var segments = SharePath.Split(path);
        var directory = _share.GetRootDirectoryClient();
        foreach (var segment in segments[..^1])
        {
            directory = directory.GetSubdirectoryClient(segment);
        }

        return directory.GetFileClient(segments[^1]);
    }
}
