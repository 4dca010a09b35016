using EnvFabric.Core.Backup;
using EnvFabric.Core.Configuration;
using EnvFabric.Durable;
using EnvFabric.Orchestrations.Tasks;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace EnvFabric.Functions.Extensions;

/// <summary>Registration of backup and restore: the writer, the restorer, the schedule sync and the BACKUP_* settings.</summary>
public static class BackupExtensions
{
    public static WebApplicationBuilder AddBackup(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;

        // Read now: a wrong value stops the host at start-up with one line naming it.
        var settings = ReadOptions(builder.Configuration);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => settings with { HubName = sp.GetRequiredService<IOptions<DurableTaskOptions>>().Value.HubName });
        services.TryAddSingleton<BackupService>();
        services.TryAddSingleton<BackupRestorer>();
        services.TryAddSingleton<TaskScheduleSync>();
        services.TryAddSingleton<BackupGate>();
        return builder;
    }

    /// <summary>The BACKUP_* settings; a wrong value stops the host with one line naming it.</summary>
    public static BackupOptions ReadOptions(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        int Read(string name, int fallback, int min, int max) => SettingValue.ReadInt(configuration, name, fallback, min, max);

        var excluded = (configuration["BACKUP_EXCLUDE_TABLES"] ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (excluded.FirstOrDefault(t => t.Length == 0 || !char.IsAsciiLetterUpper(t[0]) || !t.All(char.IsAsciiLetterOrDigit)) is { } wrong)
        {
            throw new InvalidSettingException($"Setting BACKUP_EXCLUDE_TABLES: '{wrong}' is not a table name without prefix (letters and digits, starting with a capital, e.g. SystemSamples)");
        }

        return new BackupOptions
        {
            HubName = "",
            MaxArchiveBytes = Read("BACKUP_MAX_MB", 1024, 1, 1_048_576) * 1024L * 1024,
            MaxExpandedBytes = Read("BACKUP_MAX_EXPANDED_MB", 8192, 1, 4_194_304) * 1024L * 1024,
            MaxEntries = Read("BACKUP_MAX_ENTRIES", 200_000, 1, 10_000_000),
            ConsistencyAttempts = Read("BACKUP_CONSISTENCY_ATTEMPTS", 3, 1, 20),
            ExcludedTables = excluded,
        };
    }
}
