using System.Text.Json;
using EnvFabric.Activities.Environments;
using EnvFabric.Core.Configuration;
using EnvFabric.Core.Environments;
using EnvFabric.Core.Runner;
using EnvFabric.Core.Tasks;
using EnvFabric.Core.Validation;
using EnvFabric.Durable;
using EnvFabric.Functions.Auth;
using EnvFabric.Orchestrations.Environments;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace EnvFabric.Functions;

/// <summary>What both environment dialects' handlers need, bound with <c>[AsParameters]</c>.</summary>
public sealed class EnvironmentServices
{
    public required HttpContext Context { get; init; }

    [FromServices]
    public required IEnvironmentRepository Environments { get; init; }

    [FromServices]
    public required EnvBuildStarter Builds { get; init; }

    [FromServices]
    public required ITaskReferences Tasks { get; init; }

    [FromServices]
    public required RunnerCapabilitiesView Runners { get; init; }

    [FromServices]
    public required DataPaths Paths { get; init; }

    [FromServices]
    public required IOptions<EnvironmentsOptions> Options { get; init; }

    [FromServices]
    public required IOptions<EnvFabricOptions> Settings { get; init; }

    [FromServices]
    public required TimeProvider Time { get; init; }

    public CancellationToken Aborted => Context.RequestAborted;

    public PackageSpecOptions SpecOptions => new() { AllowDirectUrls = Options.Value.AllowDirectUrls };

    /// <summary>The environment's directory on the share.</summary>
    public string DirectoryOf(string name) => Path.Combine(Paths.Envs, name);

    /// <summary>A build input with the caller, the time and the limits filled in.</summary>
    public EnvBuildInput NewBuild(string operation, EnvironmentRecord record, object inputs) => new()
    {
        Operation = operation,
        Environment = record.Name,
        Directory = record.Path,
        Backend = record.Backend,
        PythonVersion = record.PythonVersion,
        Who = NamespaceAccess.KeyNameOf(Context.User) ?? "anonymous",
        ClientIp = Context.Connection.RemoteIpAddress?.ToString() ?? "",
        InputsJson = JsonSerializer.Serialize(inputs, EnvironmentHttp.AuditJson),
        RequestedAt = Time.GetUtcNow(),
        BuildTimeoutSeconds = Options.Value.BuildTimeoutSeconds,
        StaleAfterSeconds = Options.Value.RunnerStaleSeconds,
        PickupTimeoutSeconds = Options.Value.PickupTimeoutSeconds,
    };

    /// <summary>The HTTP wait bound: <c>?wait=</c> seconds (0 answers at once), else the configured default.</summary>
    public TimeSpan WaitBound(int? wait) => TimeSpan.FromSeconds(Math.Clamp(wait ?? Options.Value.WaitSeconds, 0, 229));

    /// <summary>The backend for a new environment: the request's, else the global default.</summary>
    public async Task<EnvironmentBackend?> BackendAsync(string? requested)
    {
        if (string.IsNullOrWhiteSpace(requested))
        {
            return await Runners.DefaultBackendAsync(Aborted);
        }

        return requested.ToLowerInvariant() switch
        {
            "uv" => EnvironmentBackend.Uv,
            "venv" => EnvironmentBackend.Venv,
            "conda" => EnvironmentBackend.Conda,
            _ => null,
        };
    }
}

/// <summary>Helpers shared by the seed-000 and seed-001 handlers.</summary>
public static class EnvironmentHttp
{
    /// <summary>Seed 000's date format.</summary>
    public const string DateFormat = EnvInfoStore.DateFormat;

    internal static readonly JsonSerializerOptions AuditJson = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Python versions accepted: 3.x or 3.x.y.</summary>
    public static bool IsPythonVersion(string? version) =>
        version is not null && version.Length <= 10 && System.Text.RegularExpressions.Regex.IsMatch(version, @"^3\.\d{1,2}(\.\d{1,2})?$", System.Text.RegularExpressions.RegexOptions.None, TimeSpan.FromSeconds(1));

    /// <summary>202 with the durable check-status payload, Location and Retry-After, as Durable Functions answers.</summary>
    public static Accepted<IReadOnlyDictionary<string, string>> Accepted(HttpContext context, string instanceId)
    {
        ArgumentNullException.ThrowIfNull(context);
        var payload = DurableHttp.CreateCheckStatusPayload(context.Request, instanceId);
        context.Response.Headers.RetryAfter = DurableHttp.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return TypedResults.Accepted(payload["statusQueryGetUri"], payload);
    }

    /// <summary>Formats a time the seed-000 way.</summary>
    public static string Date(DateTimeOffset at) => EnvInfoStore.FormatDate(at);

    /// <summary>The installed version of each requested spec's package (seed 001's locked_versions).</summary>
    public static Dictionary<string, string> LockedVersions(EnvironmentRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var versions = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var spec in record.RequestedSpecs)
        {
            var name = PackageSpec.Parse(spec, new PackageSpecOptions { AllowDirectUrls = true }).Requirement?.NormalizedName;
            var installed = record.Packages.FirstOrDefault(p => PackageSpec.NormalizeName(p.Name) == name);
            if (installed is not null)
            {
                versions[installed.Name] = installed.Version;
            }
        }

        return versions;
    }
}
