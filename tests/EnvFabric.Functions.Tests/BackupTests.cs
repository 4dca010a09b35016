using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using EnvFabric.Core.Audit;
using EnvFabric.Core.Backup;
using EnvFabric.Testing;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;

namespace EnvFabric.Functions.Tests;

/// <summary>
/// Backup and restore over HTTP with the real runner: back up, wipe every service table, the share's files and the
/// key ring, restore, and find every row (typed) and file (byte for byte) again with the cron task's schedule running;
/// tampered, newer and escaping archives are refused with nothing changed; user keys are refused.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class BackupTests(AzuriteFixture azurite)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task BackupWipeRestore_EveryRowAndFileBack_CronScheduleRunningAgain()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite);
        await host.CreateCondaAsync("bk", "alpha==1.0");
        var once = await host.CreateTaskOkAsync("print('once')\n", new Dictionary<string, string> { ["conda_env"] = "bk", ["task_name"] = "once" });
        await host.WaitForTaskAsync(once, d => d.HasFinished() && d["task"]!["status"]!.GetValue<string>() == "completed", Bound, "a completed run");
        var cron = await host.CreateTaskOkAsync("print('yearly')\n", new Dictionary<string, string> { ["conda_env"] = "bk", ["task_name"] = "yearly", ["cron_expression"] = "0 0 1 1 *" });
        var (key, _) = await host.SendAsync(HttpMethod.Post, "/api/keys", new { name = "ops-bot", role = "user", @namespace = "team-a" });
        Assert.Equal(HttpStatusCode.Created, key.StatusCode);
        var project = Path.Combine(host.Share.Path, "projects", "demo", "src");
        Directory.CreateDirectory(project);
        await File.WriteAllBytesAsync(Path.Combine(project, "app.py"), [0x70, 0x72, 0x69, 0x6e, 0x74, 0x0a, 0x00, 0xff]);
        var sealedText = host.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector("backup-test").Protect("secret");
        var client = host.Services.GetRequiredService<DurableTaskClient>();
        var scheduleId = "schedule-" + cron;
        Assert.True(await EnvironmentHostForTests.EventuallyAsync(async () => (await client.GetInstanceAsync(scheduleId))?.RuntimeStatus == OrchestrationRuntimeStatus.Running, Bound), "the cron schedule runs");

        var tables = new TableServiceClient(host.ConnectionString);
        var before = await ReadTablesAsync(tables, host.Prefix);
        foreach (var expected in new[] { "Tasks", "Executions", "Environments", "EnvOperations", "Keys" })
        {
            Assert.True(before.ContainsKey(expected) && before[expected].Count > 0, $"table {expected} has rows: {string.Join(", ", before.Keys)}");
        }

        var files = ReadFiles(host.Share.Path);
        Assert.Contains(files.Keys, f => f.StartsWith("env_info/bk.json", StringComparison.Ordinal));
        Assert.Contains(files.Keys, f => f == $"scripts/{cron}/main.py");
        Assert.Contains("projects/demo/src/app.py", files.Keys);
        var ring = new BlobServiceClient(host.ConnectionString).GetBlobContainerClient(host.Prefix + "-" + BackupService.KeyRingContainer);
        var keyRing = await ReadBlobsAsync(ring);

        var (created, body) = await host.SendAsync(HttpMethod.Post, "/api/system/backup");
        Assert.True(created.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        Assert.True(body!["success"]!.GetValue<bool>());
        var id = body["backup"]!["id"]!.GetValue<string>();
        Assert.Matches(@"^\d{8}T\d{6}Z-[0-9a-f]{6}$", id);
        Assert.True(body["backup"]!["consistent"]!.GetValue<bool>(), body.ToJsonString());
        var archived = body["tables"]!.AsArray().Select(t => t!["name"]!.GetValue<string>()).ToHashSet();
        Assert.Equal(before.Keys.ToHashSet(), archived);
        Assert.DoesNotContain("Runners", archived);
        Assert.DoesNotContain("RunnerJobs", archived);

        var (listed, list) = await host.SendAsync(HttpMethod.Get, "/api/system/backups");
        Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
        var entry = list!["backups"]!.AsArray().Single()!;
        Assert.Equal(id, entry["id"]!.GetValue<string>());
        Assert.Equal(before.Values.Sum(t => t.Count), entry["rows"]!.GetValue<long>());
        Assert.True(entry["size"]!.GetValue<long>() > 0);

        // A new deployment on the same account: no rows, no files, no key ring, no schedules.
        await WipeAsync(tables, host.Prefix, before.Keys);
        foreach (var root in new[] { "env_info", "scripts", "projects" })
        {
            Directory.Delete(Path.Combine(host.Share.Path, root), recursive: true);
        }

        await ring.DeleteBlobIfExistsAsync(keyRing.Keys.First());
        await client.TerminateInstanceAsync(scheduleId, "wiped");
        Assert.True(await EnvironmentHostForTests.EventuallyAsync(async () => (await client.GetInstanceAsync(scheduleId))?.RuntimeStatus == OrchestrationRuntimeStatus.Terminated, Bound), "the schedule ended");
        await client.PurgeInstanceAsync(scheduleId);

        var (restored, result) = await host.SendAsync(HttpMethod.Post, "/api/system/restore", new { backup_id = id });
        Assert.True(restored.StatusCode == HttpStatusCode.OK, result?.ToJsonString());
        Assert.True(result!["success"]!.GetValue<bool>());
        Assert.Equal(id, result["backup_id"]!.GetValue<string>());
        Assert.True(result["schedules_started"]!.GetValue<int>() >= 1, result.ToJsonString());
        Assert.Equal(files.Count + keyRing.Count, result["files"]!.GetValue<int>());
        var restoredTasks = result["tables"]!.AsArray().Single(t => t!["name"]!.GetValue<string>() == "Tasks")!;
        Assert.Equal(before["Tasks"].Count, restoredTasks["rows"]!.GetValue<long>());

        Assert.True(await EnvironmentHostForTests.EventuallyAsync(async () => (await client.GetInstanceAsync(scheduleId))?.RuntimeStatus == OrchestrationRuntimeStatus.Running, Bound), "the cron schedule runs again");
        var after = await ReadTablesAsync(tables, host.Prefix);

        // The restore's own audit row is written after the restore.
        var restoreRows = after["EnvOperations"].Where(r => r.Value["Operation"] is "system.restore").Select(r => r.Key).ToList();
        Assert.Single(restoreRows);
        after["EnvOperations"].Remove(restoreRows[0]);
        AssertSameTables(before, after);
        Assert.Equal(files, ReadFiles(host.Share.Path));
        Assert.Equal(keyRing, await ReadBlobsAsync(ring));
        Assert.Equal("secret", host.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector("backup-test").Unprotect(sealedText));

        var detail = await host.WaitForTaskAsync(cron, d => d["task"]!["status"]!.GetValue<string>() == "scheduled", Bound, "the restored cron task");
        Assert.Equal("yearly", detail["task"]!["task_name"]!.GetValue<string>());
        var audit = await host.Services.GetRequiredService<IAuditLog>().QueryAsync(new AuditQuery { Operation = "system.restore" });
        Assert.Equal(id, Assert.Single(audit).OperationId);
    }

    [Fact]
    public async Task Restore_TamperedNewerOrEscapingArchive_RefusedAndNothingChanges_ThenTheDownloadRestores()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite, runner: false);
        var audit = host.Services.GetRequiredService<IAuditLog>();
        await audit.EnsureCreatedAsync();
        await audit.WriteAsync(Row("before-1"));
        await audit.WriteAsync(Row("before-2"));
        var script = Path.Combine(host.Share.Path, "scripts", "7", "main.py");
        Directory.CreateDirectory(Path.GetDirectoryName(script)!);
        await File.WriteAllTextAsync(script, "print('v1')\n");

        using var response = await host.Client.PostAsync(new Uri("/api/system/backup?download=true", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/zip", response.Content.Headers.ContentType?.MediaType);
        var fileName = response.Content.Headers.ContentDisposition?.FileNameStar ?? response.Content.Headers.ContentDisposition?.FileName?.Trim('"');
        Assert.NotNull(fileName);
        var id = fileName![..^4];
        Assert.True(BackupService.IsValidId(id), fileName);
        var archive = await response.Content.ReadAsByteArrayAsync();
        using var stored = await host.Client.GetAsync(new Uri($"/api/system/backups/{id}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, stored.StatusCode);
        Assert.Equal(archive, await stored.Content.ReadAsByteArrayAsync());
        var manifest = ReadManifest(archive);
        Assert.Equal(BackupManifest.CurrentFormatVersion, manifest["format_version"]!.GetValue<int>());
        Assert.Equal(id, manifest["backup_id"]!.GetValue<string>());
        Assert.Contains(manifest["files"]!.AsArray(), f => f!["path"]!.GetValue<string>() == "files/scripts/7/main.py");

        // Changes after the backup, which a restore would undo.
        await audit.WriteAsync(Row("after"));
        await File.WriteAllTextAsync(script, "print('v2')\n");
        var tables = new TableServiceClient(host.ConnectionString);
        var snapshot = await ReadTablesAsync(tables, host.Prefix);

        var tampered = Rewrite(archive, (name, bytes) => name == "tables/EnvOperations.jsonl" ? Flip(bytes, "before-1", "before-X") : bytes);
        await AssertRefusedAsync(host, tampered, "SHA-256");
        var newer = Rewrite(archive, (name, bytes) => name == "manifest.json" ? Flip(bytes, "\"format_version\": 1", "\"format_version\": 99") : bytes);
        await AssertRefusedAsync(host, newer, "format version 99 is newer than this service reads (format version 1");
        var escaping = Rewrite(archive, (name, bytes) => bytes, ("files/scripts/../../evil.py", "print('x')\n"u8.ToArray()));
        await AssertRefusedAsync(host, escaping, "'files/scripts/../../evil.py'");
        var unlisted = Rewrite(archive, (name, bytes) => bytes, ("files/scripts/8/extra.py", "print('x')\n"u8.ToArray()));
        await AssertRefusedAsync(host, unlisted, "which the manifest does not list");
        await AssertRefusedAsync(host, "not a zip at all"u8.ToArray(), "not a ZIP archive");

        var unchanged = await ReadTablesAsync(tables, host.Prefix);
        foreach (var refusal in unchanged["EnvOperations"].Where(r => r.Value["Operation"] is "system.restore").Select(r => r.Key).ToList())
        {
            unchanged["EnvOperations"].Remove(refusal);
        }

        AssertSameTables(snapshot, unchanged);
        Assert.Equal("print('v2')\n", await File.ReadAllTextAsync(script));
        Assert.False(File.Exists(Path.Combine(host.Share.Path, "evil.py")));
        Assert.Empty(Directory.EnumerateDirectories(host.Share.Path, "*.restore-*"));
        var refusals = await audit.QueryAsync(new AuditQuery { Operation = "system.restore" });
        Assert.Equal(5, refusals.Count);
        Assert.All(refusals, r => Assert.Equal("failed", r.Outcome));

        var (restored, result) = await UploadAsync(host, archive);
        Assert.True(restored.StatusCode == HttpStatusCode.OK, result?.ToJsonString());
        Assert.Equal("print('v1')\n", await File.ReadAllTextAsync(script));
        var rows = await audit.QueryAsync(new AuditQuery());
        Assert.DoesNotContain(rows, r => r.Id == "after");
        Assert.Contains(rows, r => r.Id == "before-1");
    }

    [Fact]
    public async Task Routes_UserKeyForbidden_BadIdsAndBodiesRefused()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite, runner: false);
        var (created, key) = await host.SendAsync(HttpMethod.Post, "/api/keys", new { name = "bot", role = "user", @namespace = "team-a" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var user = host.App.CreateClient();
        user.DefaultRequestHeaders.Add("x-functions-key", key!["key"]!["value"]!.GetValue<string>());
        foreach (var (method, url) in new[] { (HttpMethod.Post, "/api/system/backup"), (HttpMethod.Get, "/api/system/backups"), (HttpMethod.Post, "/api/system/restore"), (HttpMethod.Delete, "/api/system/backups/20260101T000000Z-abcdef") })
        {
            using var request = new HttpRequestMessage(method, url) { Content = method == HttpMethod.Get ? null : JsonContent.Create(new { backup_id = "20260101T000000Z-abcdef" }) };
            using var response = await user.SendAsync(request);
            Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{method} {url}: {(int)response.StatusCode}");
        }

        Assert.Empty(await host.Services.GetRequiredService<IAuditLog>().QueryAsync(new AuditQuery { Operation = "system.backup" }));

        var (badId, badBody) = await host.SendAsync(HttpMethod.Post, "/api/system/restore", new { backup_id = "../../x" });
        Assert.Equal(HttpStatusCode.BadRequest, badId.StatusCode);
        Assert.False(badBody!["success"]!.GetValue<bool>());
        Assert.Equal("Invalid backup id", badBody["message"]!.GetValue<string>());
        var (missing, missingBody) = await host.SendAsync(HttpMethod.Post, "/api/system/restore", new { backup_id = "20260101T000000Z-abcdef" });
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Contains("not found", missingBody!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        var (noField, noFieldBody) = await host.SendAsync(HttpMethod.Post, "/api/system/restore", new { });
        Assert.Equal(HttpStatusCode.BadRequest, noField.StatusCode);
        Assert.NotNull(noFieldBody!["error"]);
        var (download, _) = await host.SendAsync(HttpMethod.Get, "/api/system/backups/20260101T000000Z-abcdef");
        Assert.Equal(HttpStatusCode.NotFound, download.StatusCode);

        var (made, made1) = await host.SendAsync(HttpMethod.Post, "/api/system/backup");
        Assert.Equal(HttpStatusCode.OK, made.StatusCode);
        var id = made1!["backup"]!["id"]!.GetValue<string>();
        var (deleted, _) = await host.SendAsync(HttpMethod.Delete, $"/api/system/backups/{id}");
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        var (again, _) = await host.SendAsync(HttpMethod.Delete, $"/api/system/backups/{id}");
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        var (_, list) = await host.SendAsync(HttpMethod.Get, "/api/system/backups");
        Assert.Equal(0, list!["total"]!.GetValue<int>());
        var operations = (await host.Services.GetRequiredService<IAuditLog>().QueryAsync(new AuditQuery())).Select(r => r.Operation).ToList();
        Assert.Contains("system.backup", operations);
        Assert.Contains("system.backup.delete", operations);
    }

    [Fact]
    public async Task OpenApi_BackupRoutes_DocumentedUnderTheirTagWithTheKeySchemes()
    {
        using var factory = new FunctionsFactory(azurite);
        using var client = factory.CreateKeyedClient(key: null);

        using var document = System.Text.Json.JsonDocument.Parse(await client.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative)));

        var paths = document.RootElement.GetProperty("paths");
        foreach (var (path, method) in new[] { ("/api/system/backup", "post"), ("/api/system/backups", "get"), ("/api/system/backups/{id}", "get"), ("/api/system/backups/{id}", "delete"), ("/api/system/restore", "post") })
        {
            Assert.True(paths.TryGetProperty(path, out var item), $"{path} documented");
            Assert.True(item.TryGetProperty(method, out var operation), $"{method} {path} documented");
            Assert.Equal("Backup", operation.GetProperty("tags")[0].GetString());
            Assert.False(string.IsNullOrEmpty(operation.GetProperty("summary").GetString()));
            Assert.True(operation.TryGetProperty("security", out _), $"{method} {path} needs a key");
        }

        var restore = paths.GetProperty("/api/system/restore").GetProperty("post");
        Assert.True(restore.GetProperty("requestBody").GetProperty("content").TryGetProperty("multipart/form-data", out _));
        Assert.True(restore.GetProperty("responses").TryGetProperty("422", out _));
    }

    private static AuditRecord Row(string id) => new()
    {
        Id = id,
        At = DateTimeOffset.UtcNow,
        Operation = "test",
        Environment = "env",
        Who = "test",
        Outcome = "succeeded",
    };

    private static async Task AssertRefusedAsync(EnvironmentHostForTests host, byte[] archive, string expected)
    {
        var (response, body) = await UploadAsync(host, archive);
        Assert.True(response.StatusCode == HttpStatusCode.UnprocessableEntity, $"{(int)response.StatusCode} {body?.ToJsonString()}");
        Assert.False(body!["success"]!.GetValue<bool>());
        Assert.Equal("Backup refused", body["message"]!.GetValue<string>());
        Assert.Contains(expected, body["error"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    private static async Task<(HttpResponseMessage Response, JsonNode? Body)> UploadAsync(EnvironmentHostForTests host, byte[] archive)
    {
        using var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(archive);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/zip");
        form.Add(file, "file", "backup.zip");
        var response = await host.Client.PostAsync(new Uri("/api/system/restore", UriKind.Relative), form);
        var text = await response.Content.ReadAsStringAsync();
        return (response, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    private static JsonNode ReadManifest(byte[] archive)
    {
        using var zip = new ZipArchive(new MemoryStream(archive), ZipArchiveMode.Read);
        using var stream = zip.GetEntry("manifest.json")!.Open();
        return JsonNode.Parse(stream)!;
    }

    /// <summary>The archive re-zipped entry by entry through <paramref name="change"/>, the old manifest kept, plus <paramref name="extra"/> entries.</summary>
    private static byte[] Rewrite(byte[] archive, Func<string, byte[], byte[]> change, params (string Name, byte[] Content)[] extra)
    {
        using var input = new ZipArchive(new MemoryStream(archive), ZipArchiveMode.Read);
        var output = new MemoryStream();
        using (var zip = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var entry in input.Entries)
            {
                using var source = entry.Open();
                using var copy = new MemoryStream();
                source.CopyTo(copy);
                using var target = zip.CreateEntry(entry.FullName).Open();
                target.Write(change(entry.FullName, copy.ToArray()));
            }

            foreach (var (name, content) in extra)
            {
                using var target = zip.CreateEntry(name).Open();
                target.Write(content);
            }
        }

        return output.ToArray();
    }

    private static byte[] Flip(byte[] bytes, string from, string to)
    {
        var text = Encoding.UTF8.GetString(bytes);
        Assert.Contains(from, text, StringComparison.Ordinal);
        return Encoding.UTF8.GetBytes(text.Replace(from, to, StringComparison.Ordinal));
    }

    /// <summary>Every row of every table of the deployment that a backup holds, keyed by table (without prefix) and key, without Timestamp and ETag.</summary>
    private static async Task<Dictionary<string, Dictionary<(string, string), Dictionary<string, object>>>> ReadTablesAsync(TableServiceClient tables, string prefix)
    {
        var all = new Dictionary<string, Dictionary<(string, string), Dictionary<string, object>>>(StringComparer.Ordinal);
        await foreach (var table in tables.QueryAsync())
        {
            if (!table.Name.StartsWith(prefix, StringComparison.Ordinal) || table.Name.Length == prefix.Length || !char.IsAsciiLetterUpper(table.Name[prefix.Length])
                || BackupOptions.RuntimeTables.Contains(table.Name[prefix.Length..]))
            {
                continue;
            }

            var rows = new Dictionary<(string, string), Dictionary<string, object>>();
            await foreach (var entity in tables.GetTableClient(table.Name).QueryAsync<TableEntity>())
            {
                rows[(entity.PartitionKey, entity.RowKey)] = entity.Where(p => p.Key is not ("Timestamp" or "odata.etag")).ToDictionary(p => p.Key, p => p.Value);
            }

            all[table.Name[prefix.Length..]] = rows;
        }

        return all;
    }

    private static void AssertSameTables(
        Dictionary<string, Dictionary<(string, string), Dictionary<string, object>>> expected,
        Dictionary<string, Dictionary<(string, string), Dictionary<string, object>>> actual)
    {
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (table, rows) in expected)
        {
            Assert.True(rows.Keys.ToHashSet().SetEquals(actual[table].Keys), $"{table}: keys {string.Join(", ", rows.Keys)} vs {string.Join(", ", actual[table].Keys)}");
            foreach (var (key, properties) in rows)
            {
                var got = actual[table][key];
                Assert.True(properties.Keys.ToHashSet().SetEquals(got.Keys), $"{table} {key}: properties {string.Join(", ", properties.Keys)} vs {string.Join(", ", got.Keys)}");
                foreach (var (name, value) in properties)
                {
                    var other = got[name];
                    Assert.True(value.GetType() == other.GetType(), $"{table} {key} {name}: {value.GetType().Name} vs {other.GetType().Name}");
                    Assert.True(value is byte[] bytes ? bytes.SequenceEqual((byte[])other) : value.Equals(other), $"{table} {key} {name}: {value} vs {other}");
                }
            }
        }
    }

    private static async Task WipeAsync(TableServiceClient tables, string prefix, IEnumerable<string> names)
    {
        foreach (var name in names)
        {
            var table = tables.GetTableClient(prefix + name);
            await foreach (var entity in table.QueryAsync<TableEntity>(select: ["PartitionKey", "RowKey"]))
            {
                await table.DeleteEntityAsync(entity.PartitionKey, entity.RowKey);
            }
        }
    }

    /// <summary>Every file a backup holds from the share, by its path under DATA_ROOT.</summary>
    private static Dictionary<string, byte[]> ReadFiles(string root)
    {
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var directory in new[] { "env_info", "scripts", "projects" })
        {
            var path = Path.Combine(root, directory);
            if (!Directory.Exists(path))
            {
                continue;
            }

            foreach (var file in Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories))
            {
                files[Path.GetRelativePath(root, file).Replace('\\', '/')] = File.ReadAllBytes(file);
            }
        }

        return files;
    }

    private static async Task<Dictionary<string, string>> ReadBlobsAsync(BlobContainerClient container)
    {
        var blobs = new Dictionary<string, string>(StringComparer.Ordinal);
        await foreach (var blob in container.GetBlobsAsync())
        {
            blobs[blob.Name] = (await container.GetBlobClient(blob.Name).DownloadContentAsync()).Value.Content.ToString();
        }

        Assert.NotEmpty(blobs);
        return blobs;
    }
}
