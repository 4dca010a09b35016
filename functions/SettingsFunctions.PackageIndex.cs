using EnvFabric.Core.Audit;
using EnvFabric.Core.Runner;
using EnvFabric.Core.Settings;
using EnvFabric.Functions.Auth;

namespace EnvFabric.Functions;

/// <summary>The package index routes: any key reads it, admin keys set it.</summary>
public static partial class SettingsFunctions
{
    private static void MapPackageIndex(RouteGroupBuilder group)
    {
        group.MapGet("/package-index", GetPackageIndex)
            .WithName("GetPackageIndex")
            .WithSummary("The package index every environment job uses (index_url, extra_index_urls, find_links, trusted_hosts, no_index); all empty means the runners' own settings.");
        group.MapPut("/package-index", SetPackageIndex)
            .RequireAuthorization(AuthPolicies.Admin)
            .WithName("SetPackageIndex")
            .WithSummary("Sets the package index of every later environment job, replacing the runners' PIP_INDEX_URL, PIP_FIND_LINKS and PIP_NO_INDEX; {} or nulls clear it. Admin keys only.");
    }

    public static async Task<IResult> GetPackageIndex(IPackageIndexStore store, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        var stored = await store.GetAsync(cancellationToken);
        return TypedResults.Ok(PackageIndexResponse.From(stored, stored is null ? "No package index is set; runners use their own settings" : "Package index"));
    }

    public static async Task<IResult> SetPackageIndex(PackageIndexRequest body, HttpContext context, IPackageIndexStore store, IAuditLog audit, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(store);
        var index = new PackageIndex
        {
            IndexUrl = string.IsNullOrEmpty(body.IndexUrl) ? null : body.IndexUrl,
            ExtraIndexUrls = body.ExtraIndexUrls ?? [],
            FindLinks = body.FindLinks ?? [],
            TrustedHosts = body.TrustedHosts ?? [],
            NoIndex = body.NoIndex ?? false,
        };
        if (PackageIndexRules.Problem(index) is { } problem)
        {
            return Invalid("Invalid package index", problem);
        }

        var now = time.GetUtcNow();
        var who = Who(context);
        await store.SetAsync(index, now, who, context.RequestAborted);
        await AuditAsync(
            audit,
            time,
            context,
            "settings.package-index",
            new { index.IndexUrl, index.ExtraIndexUrls, index.FindLinks, index.TrustedHosts, index.NoIndex, cleared = index.IsEmpty },
            "package-index");
        var stored = index.IsEmpty ? null : new StoredPackageIndex(index, now, who);
        return TypedResults.Ok(PackageIndexResponse.From(stored, index.IsEmpty ? "Package index cleared; runners use their own settings" : "Package index updated"));
    }
}

/// <summary>The body of <c>PUT /api/settings/package-index</c>; absent or null fields are empty.</summary>
public sealed record PackageIndexRequest(string? IndexUrl, IReadOnlyList<string>? ExtraIndexUrls, IReadOnlyList<string>? FindLinks, IReadOnlyList<string>? TrustedHosts, bool? NoIndex);

/// <summary>The package index as shown.</summary>
public sealed record PackageIndexResponse(
    string Message,
    string? IndexUrl,
    IReadOnlyList<string> ExtraIndexUrls,
    IReadOnlyList<string> FindLinks,
    IReadOnlyList<string> TrustedHosts,
    bool NoIndex,
    string? UpdatedAt,
    string? UpdatedBy)
{
    [System.Text.Json.Serialization.JsonPropertyOrder(-1)]
    public bool Success => true;

    public static PackageIndexResponse From(StoredPackageIndex? stored, string message)
    {
        var i = stored?.Index ?? new PackageIndex();
        return new(message, i.IndexUrl, i.ExtraIndexUrls, i.FindLinks, i.TrustedHosts, i.NoIndex, stored is null ? null : SettingsFunctions.Date(stored.UpdatedAt), stored?.UpdatedBy);
    }
}
