using Azure.Data.Tables;

namespace EnvFabric.Bench;

/// <summary>Ready environments written straight to the table, for the suites that measure lists (the list reads the table only).</summary>
public static class BenchEnvironments
{
    /// <summary>Adds <paramref name="count"/> ready venv environments named <paramref name="namePrefix"/>0000, 0001, ... in batches of 100.</summary>
    public static async Task FillAsync(string connectionString, string storagePrefix, string namePrefix, int count)
    {
        var table = new TableClient(connectionString, storagePrefix + "Environments");
        await table.CreateIfNotExistsAsync();
        var now = DateTimeOffset.UtcNow;
        for (var start = 0; start < count; start += 100)
        {
            var actions = Enumerable.Range(start, Math.Min(100, count - start)).Select(i => new TableTransactionAction(TableTransactionActionType.Add, new TableEntity("env", $"{namePrefix}{i:D4}")
            {
                ["Backend"] = "venv",
                ["PythonVersion"] = "3.11.9",
                ["RequestedSpecs"] = "[\"wone\"]",
                ["PackageCount"] = 3,
                ["Status"] = "ready",
                ["CreatedAt"] = now,
                ["UpdatedAt"] = now,
                ["LastUsedAt"] = now,
                ["Path"] = "/share/envs/" + namePrefix,
                ["PackagesChunks"] = 1,
                ["Packages0"] = "[[\"wone\",\"1.0\"],[\"wtwo\",\"1.0\"],[\"wthree\",\"1.0\"]]",
            })).ToList();
            await table.SubmitTransactionAsync(actions);
        }
    }
}
