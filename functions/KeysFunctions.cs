using System.Text.Json.Serialization;
using EnvFabric.Functions.Auth;
using EnvFabric.Functions.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace EnvFabric.Functions;

/// <summary>
/// Named keys, admin only: create (the secret is shown once), list (never secrets), revoke. A key has a role
/// (<c>admin</c> or <c>user</c>) and a namespace; user keys act only on objects of their namespace.
/// </summary>
public static class KeysFunctions
{
    public static IEndpointRouteBuilder MapKeysFunctions(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var group = app.MapGroup("/api/keys").WithTags("Keys").RequireAuthorization(AuthPolicies.Admin);
        group.MapPost("/", CreateKey)
            .Produces<CondaError>(StatusCodes.Status400BadRequest)
            .Produces<CondaError>(StatusCodes.Status409Conflict)
            .WithName("CreateKey")
            .WithSummary("Creates a named key with a role and a namespace; the response holds the secret, shown only this once.");
        group.MapGet("/", ListKeys)
            .WithName("ListKeys")
            .WithSummary("Names, roles, namespaces and creation times of the named keys (no secrets).");
        group.MapDelete("/{name}", RevokeKey)
            .Produces<CondaError>(StatusCodes.Status404NotFound)
            .WithName("RevokeKey")
            .WithSummary("Revokes a named key; it and the sessions opened with it stop working at once.");
        return app;
    }

    public static async Task<Results<Created<CreatedKeyResponse>, JsonHttpResult<CondaError>>> CreateKey(
        CreateKeyRequest request,
        HttpContext context,
        IKeyStore keys,
        ILogger<CreateKeyRequest> logger)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(keys);
        var role = string.IsNullOrEmpty(request.Role) ? KeyRoles.User : request.Role;
        var ns = string.IsNullOrEmpty(request.Namespace) ? NamespaceAccess.DefaultNamespace : request.Namespace;
        string? problem = null;
        if (!KeyNames.IsValid(request.Name))
        {
            problem = $"name must be 1 to {KeyNames.MaxLength} letters, digits, '.', '_' or '-', starting with a letter or digit";
        }
        else if (string.Equals(request.Name, KeyIdentity.MasterName, StringComparison.OrdinalIgnoreCase))
        {
            problem = "name 'master' is reserved for the master key";
        }
        else if (!KeyRoles.IsValid(role))
        {
            problem = $"role must be '{KeyRoles.Admin}' or '{KeyRoles.User}' (was '{role}')";
        }
        else if (!KeyNames.IsValid(ns))
        {
            problem = $"namespace must be 1 to {KeyNames.MaxLength} letters, digits, '.', '_' or '-', starting with a letter or digit";
        }

        if (problem is not null)
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Invalid key request", problem);
        }

        var created = await keys.CreateAsync(request.Name!, role, ns, context.RequestAborted);
        if (created is not { } c)
        {
            return ErrorBodies.Conda(StatusCodes.Status409Conflict, "Key already exists", $"A key named '{request.Name}' already exists; revoke it first to replace it");
        }

        var by = NamespaceAccess.KeyNameOf(context.User) ?? "?";
        logger.KeyCreated(c.Key.Name, c.Key.Role, c.Key.Namespace, by);
        return TypedResults.Created($"/api/keys/{Uri.EscapeDataString(c.Key.Name)}", new CreatedKeyResponse("Key created", KeyView.From(c.Key, c.Secret)));
    }

    public static async Task<Ok<KeyListResponse>> ListKeys(IKeyStore keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var list = await keys.ListAsync(cancellationToken);
        var views = list.OrderBy(k => k.Name, StringComparer.Ordinal).Select(k => KeyView.From(k, null)).ToList();
        return TypedResults.Ok(new KeyListResponse(views, views.Count));
    }

    public static async Task<Results<Ok<RevokedKeyResponse>, JsonHttpResult<CondaError>>> RevokeKey(
        string name,
        HttpContext context,
        IKeyStore keys,
        ILogger<CreateKeyRequest> logger)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(keys);
        if (!await keys.RevokeAsync(name, context.RequestAborted))
        {
            return ErrorBodies.Conda(StatusCodes.Status404NotFound, $"Key '{name}' not found", "There is no named key by that name (the master key cannot be revoked; change FUNCTIONS_MASTER_KEY instead)");
        }

        var by = NamespaceAccess.KeyNameOf(context.User) ?? "?";
        logger.KeyRevoked(name, by);
        return TypedResults.Ok(new RevokedKeyResponse($"Key '{name}' revoked", name));
    }

    public sealed record CreateKeyRequest(string? Name, string? Role, string? Namespace);

    /// <summary>A key as shown: <see cref="Value"/> only in the response that created it.</summary>
    public sealed record KeyView(string Name, string Role, string Namespace, DateTimeOffset CreatedAt, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Value)
    {
        public static KeyView From(StoredKey key, string? secret)
        {
            ArgumentNullException.ThrowIfNull(key);
            return new(key.Name, key.Role, key.Namespace, key.CreatedAt, secret);
        }
    }

    public sealed record CreatedKeyResponse(string Message, KeyView Key)
    {
        [JsonPropertyOrder(-1)]
        public bool Success => true;
    }

    public sealed record KeyListResponse(IReadOnlyList<KeyView> Keys, int Total)
    {
        [JsonPropertyOrder(-1)]
        public bool Success => true;
    }

    public sealed record RevokedKeyResponse(string Message, string Name)
    {
        [JsonPropertyOrder(-1)]
        public bool Success => true;
    }
}
