using System.IO.Compression;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace EnvFabric.Functions.Tests;

/// <summary>Helpers for the project API tests: ZIPs built in memory and multipart uploads.</summary>
public static class ProjectHttp
{
    /// <summary>A ZIP of the given entries: a name ending in <c>/</c> is a folder; a value is text or bytes.</summary>
    public static byte[] Zip(IDictionary<string, object?> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        using var buffer = new MemoryStream();
        using (var archive = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, content) in entries)
            {
                var entry = archive.CreateEntry(name);
                if (content is not null)
                {
                    using var stream = entry.Open();
                    stream.Write(content as byte[] ?? Encoding.UTF8.GetBytes((string)content));
                }
            }
        }

        return buffer.ToArray();
    }

    /// <summary>POSTs (or PUTs, with <paramref name="replace"/>) a project upload with the given form fields.</summary>
    public static async Task<(HttpResponseMessage Response, JsonNode? Body)> UploadProjectAsync(
        this HttpClient client, byte[]? zip, IDictionary<string, string> fields, string? replace = null, string fileName = "project.zip")
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(fields);
        using var form = new MultipartFormDataContent();
        if (zip is not null)
        {
            var file = new ByteArrayContent(zip);
            file.Headers.ContentType = new MediaTypeHeaderValue("application/zip");
            form.Add(file, "file", fileName);
        }

        foreach (var (key, value) in fields)
        {
            form.Add(new StringContent(value), key);
        }

        var response = replace is null
            ? await client.PostAsync(new Uri("/api/projects", UriKind.Relative), form)
            : await client.PutAsync(new Uri($"/api/projects/{replace}", UriKind.Relative), form);
        var text = await response.Content.ReadAsStringAsync();
        return (response, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    /// <summary>Every file and folder under <paramref name="root"/> with each file's bytes as text, for "nothing changed" checks.</summary>
    public static SortedDictionary<string, string> Snapshot(string root)
    {
        var all = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var path in Directory.EnumerateFileSystemEntries(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
        {
            var relative = Path.GetRelativePath(root, path);
            var info = new FileInfo(path);
            all[relative] = info.LinkTarget is { } link ? "-> " + link : Directory.Exists(path) ? "<dir>" : Convert.ToBase64String(File.ReadAllBytes(path));
        }

        return all;
    }
}
