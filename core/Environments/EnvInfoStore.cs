using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using EnvFabric.Core.Runner;
using EnvFabric.Core.Share;
using EnvFabric.Core.Validation;

namespace EnvFabric.Core.Environments;

/// <summary>
/// Seed 000's per-environment metadata, <c>env_info/&lt;name&gt;.json</c> on the share: name, python_version,
/// created_at, updated_at (<c>yyyy-MM-dd HH:mm:ss</c>, UTC) and packages, plus the fields needed to import
/// the environment back (backend, requested packages, seed-001 identity, path).
/// </summary>
public sealed record EnvInfoDocument
{
    /// <summary>Environment name.</summary>
    public required string Name { get; init; }

    /// <summary>Python version.</summary>
    public required string PythonVersion { get; init; }

    /// <summary>Creation time, <c>yyyy-MM-dd HH:mm:ss</c>.</summary>
    public required string CreatedAt { get; init; }

    /// <summary>Last change, <c>yyyy-MM-dd HH:mm:ss</c>.</summary>
    public required string UpdatedAt { get; init; }

    /// <summary>Installed packages.</summary>
    public IReadOnlyList<EnvInfoPackage> Packages { get; init; } = [];

    /// <summary>uv, conda or venv.</summary>
    public string? Backend { get; init; }

    /// <summary>The specs the environment was asked for.</summary>
    public IReadOnlyList<string>? RequestedPackages { get; init; }

    /// <summary>Seed 001 workflow id.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? WorkflowId { get; init; }

    /// <summary>Seed 001 node id.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? NodeId { get; init; }

    /// <summary>Seed 001 version id.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? VersionId { get; init; }

    /// <summary>The environment's directory on the share.</summary>
    public string? EnvPath { get; init; }
}

/// <summary>One package of <see cref="EnvInfoDocument.Packages"/>.</summary>
/// <param name="Name">Distribution name.</param>
/// <param name="Version">Installed version.</param>
public sealed record EnvInfoPackage(string Name, string Version);

/// <summary>Reads and writes <c>env_info/&lt;name&gt;.json</c> through the share.</summary>
public sealed class EnvInfoStore(IShareStore share)
{
    /// <summary>The directory on the share.</summary>
    public const string Directory = "env_info";

    /// <summary>Seed 000's date format.</summary>
    public const string DateFormat = "yyyy-MM-dd HH:mm:ss";

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
    };

    /// <summary>Formats a time the seed's way (UTC).</summary>
    public static string FormatDate(DateTimeOffset at) => at.UtcDateTime.ToString(DateFormat, CultureInfo.InvariantCulture);

    /// <summary>The document for <paramref name="record"/>.</summary>
    public static EnvInfoDocument ToDocument(EnvironmentRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return new EnvInfoDocument
        {
            Name = record.Name,
            PythonVersion = record.PythonVersion,
            CreatedAt = FormatDate(record.CreatedAt),
            UpdatedAt = FormatDate(record.UpdatedAt),
            Packages = record.Packages.Select(p => new EnvInfoPackage(p.Name, p.Version)).ToArray(),
            Backend = TableEnvironmentRepository.BackendName(record.Backend),
            RequestedPackages = record.RequestedSpecs,
            WorkflowId = record.WorkflowId,
            NodeId = record.NodeId,
            VersionId = record.VersionId,
            EnvPath = record.Path,
        };
    }

    /// <summary>Writes (replaces) the environment's file.</summary>
    public Task WriteAsync(EnvironmentRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        return share.WriteTextAsync(PathOf(record.Name), JsonSerializer.Serialize(ToDocument(record), Json), cancellationToken);
    }

    /// <summary>Deletes the environment's file.</summary>
    public Task<bool> DeleteAsync(string name, CancellationToken cancellationToken = default) =>
        share.DeleteAsync(PathOf(name), cancellationToken);

    /// <summary>The environment's document, or null when missing or unreadable.</summary>
    public async Task<EnvInfoDocument?> ReadAsync(string name, CancellationToken cancellationToken = default)
    {
        var text = await share.ReadTextAsync(PathOf(name), cancellationToken).ConfigureAwait(false);
        return text is null ? null : Parse(text);
    }

    /// <summary>Every readable document on the share whose file name is a valid environment name.</summary>
    public async Task<IReadOnlyList<EnvInfoDocument>> ReadAllAsync(CancellationToken cancellationToken = default)
    {
        var documents = new List<EnvInfoDocument>();
        foreach (var file in await share.ListFilesAsync(Directory, cancellationToken).ConfigureAwait(false))
        {
            if (!file.EndsWith(".json", StringComparison.Ordinal) || !EnvironmentName.IsValid(file[..^5]))
            {
                continue;
            }

            var text = await share.ReadTextAsync($"{Directory}/{file}", cancellationToken).ConfigureAwait(false);
            if (text is not null && Parse(text) is { } document && document.Name == file[..^5])
            {
                documents.Add(document);
            }
        }

        return documents;
    }

    /// <summary>The record a document describes (status ready: it was written after a change finished).</summary>
    public static EnvironmentRecord ToRecord(EnvInfoDocument document, string defaultPath)
    {
        ArgumentNullException.ThrowIfNull(document);
        var created = ParseDate(document.CreatedAt);
        var updated = ParseDate(document.UpdatedAt);
        return new EnvironmentRecord
        {
            Name = document.Name,
            PythonVersion = document.PythonVersion,
            Backend = TableEnvironmentRepository.ParseBackend(document.Backend),
            RequestedSpecs = document.RequestedPackages ?? document.Packages.Select(p => p.Name).ToArray(),
            Packages = document.Packages.Select(p => new InstalledPackage(p.Name, p.Version)).ToArray(),
            Status = EnvironmentStatus.Ready,
            CreatedAt = created,
            UpdatedAt = updated,
            LastUsedAt = updated,
            Path = document.EnvPath ?? defaultPath,
            WorkflowId = document.WorkflowId,
            NodeId = document.NodeId,
            VersionId = document.VersionId,
        };
    }

    private static EnvInfoDocument? Parse(string text)
    {
        try
        {
            var document = JsonSerializer.Deserialize<EnvInfoDocument>(text, Json);
            return document is not null && EnvironmentName.IsValid(document.Name) ? document : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static DateTimeOffset ParseDate(string? text) =>
        DateTime.TryParseExact(text, DateFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at)
            ? new DateTimeOffset(at, TimeSpan.Zero)
            : DateTimeOffset.UnixEpoch;

    private static string PathOf(string name) =>
        EnvironmentName.Validate(name) is { } error ? throw new ArgumentException(error, nameof(name)) : $"{Directory}/{name}.json";
}
