using Azure.Core;
using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using EnvFabric.Core.Configuration;
using Microsoft.Extensions.Configuration;

namespace EnvFabric.Core.Storage;

/// <summary>
/// The storage account behind the host, the durable hub and the runner, reached the way Azure Functions
/// reaches <c>AzureWebJobsStorage</c>: a connection string (Azurite locally), or identity-based settings
/// (<c>AzureWebJobsStorage__accountName</c>, or <c>__blobServiceUri</c> / <c>__queueServiceUri</c> /
/// <c>__tableServiceUri</c>) with <see cref="DefaultAzureCredential"/>.
/// </summary>
public sealed class StorageAccount
{
    /// <summary>The Functions setting name.</summary>
    public const string SettingName = "AzureWebJobsStorage";

    /// <summary>The local emulator's well-known connection string.</summary>
    public const string DevelopmentStorage = "UseDevelopmentStorage=true";

    private StorageAccount(BlobServiceClient blobs, QueueServiceClient queues, TableServiceClient tables, string description, string? connectionString, TokenCredential? credential)
    {
        Blobs = blobs;
        Queues = queues;
        Tables = tables;
        Description = description;
        ConnectionString = connectionString;
        Credential = credential;
    }

    /// <summary>The connection string, when the account is reached by one; else null (identity-based).</summary>
    public string? ConnectionString { get; }

    /// <summary>The credential of an identity-based connection; null with a connection string.</summary>
    public TokenCredential? Credential { get; }

    /// <summary>Blob service.</summary>
    public BlobServiceClient Blobs { get; }

    /// <summary>Queue service.</summary>
    public QueueServiceClient Queues { get; }

    /// <summary>Table service.</summary>
    public TableServiceClient Tables { get; }

    /// <summary>Where the account is, without secrets (for logs and health).</summary>
    public string Description { get; }

    /// <summary>Builds the clients from a connection string.</summary>
    public static StorageAccount FromConnectionString(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var queueOptions = new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None };
        var blobs = new BlobServiceClient(connectionString);
        return new StorageAccount(
            blobs,
            new QueueServiceClient(connectionString, queueOptions),
            new TableServiceClient(connectionString),
            blobs.Uri.GetLeftPart(UriPartial.Authority) + "/" + blobs.AccountName,
            connectionString,
            null);
    }

    /// <summary>Builds the clients from the configuration, as Functions does for <c>AzureWebJobsStorage</c>.</summary>
    public static StorageAccount FromConfiguration(IConfiguration configuration, TokenCredential? credential = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var connectionString = configuration[SettingName];
        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            try
            {
                return FromConnectionString(connectionString);
            }
            catch (Exception ex) when (ex is FormatException or ArgumentException or UriFormatException)
            {
                // The value holds an account key: the message never repeats it.
                throw new InvalidSettingException($"Setting {SettingName}: the value is not a storage connection string (use \"{DevelopmentStorage}\" for Azurite, or DefaultEndpointsProtocol=...;AccountName=...;AccountKey=...)", ex);
            }
        }

        var section = configuration.GetSection(SettingName);
        var accountName = section["accountName"];
        var blobUri = section["blobServiceUri"] ?? (accountName is null ? null : $"https://{accountName}.blob.core.windows.net");
        var queueUri = section["queueServiceUri"] ?? (accountName is null ? null : $"https://{accountName}.queue.core.windows.net");
        var tableUri = section["tableServiceUri"] ?? (accountName is null ? null : $"https://{accountName}.table.core.windows.net");
        if (blobUri is null || queueUri is null || tableUri is null)
        {
            throw new InvalidSettingException(
                $"Setting {SettingName}: storage is not configured: set {SettingName} to a connection string (\"{DevelopmentStorage}\" for Azurite), " +
                $"or {SettingName}__accountName (or __blobServiceUri, __queueServiceUri and __tableServiceUri) for an identity-based connection.");
        }

        credential ??= section["clientId"] is { Length: > 0 } clientId
            ? new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = clientId })
            : new DefaultAzureCredential();
        var queueOptions = new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None };
        return new StorageAccount(
            new BlobServiceClient(new Uri(blobUri), credential),
            new QueueServiceClient(new Uri(queueUri), credential, queueOptions),
            new TableServiceClient(new Uri(tableUri), credential),
            new Uri(blobUri).GetLeftPart(UriPartial.Authority),
            null,
            credential);
    }
}
