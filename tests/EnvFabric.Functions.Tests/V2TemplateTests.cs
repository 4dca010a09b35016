using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using EnvFabric.Testing;

namespace EnvFabric.Functions.Tests;

/// <summary>Seed 002's <c>/v2/templates</c> over HTTP: the envelope, the codes, schema checks and rendering.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class V2TemplateTests(AzuriteFixture azurite)
{
    private static readonly Uri Templates = new("/v2/templates", UriKind.Relative);

    private const string TrainSchema = """
        {
          "environment": {{ .extra.environment | quote }},
          "command": "python main.py --epochs {{ .extra.epochs }}{{ range .value.datasets }} --data {{ . }}{{ end }}",
          "script": {{ printf "print('training %s')" .task.name | quote }},
          "variables": {"MODEL": {{ .value.model | quote }}, "OWNER": {{ .task.namespace | quote }}}
        }
        """;

    private static async Task<JsonElement> BodyOf(HttpResponseMessage response)
    {
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return doc.RootElement.Clone();
    }

    private static void AssertError(HttpResponseMessage response, JsonElement body, HttpStatusCode status, string code, string? contains = null)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal(code, body.GetProperty("code").GetString());
        Assert.False(body.GetProperty("success").GetBoolean());
        Assert.Equal(JsonValueKind.Null, body.GetProperty("data").ValueKind);
        if (contains is not null)
        {
            Assert.Contains(contains, body.GetProperty("message").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Templates_CreateListGetUpdate_SpeakSeed002()
    {
        using var factory = new FunctionsFactory(azurite);
        using var client = factory.CreateKeyedClient();

        using var created = await client.PostAsJsonAsync(Templates, new
        {
            name = "train-job",
            title = "Training Job",
            schema = TrainSchema,
            type = "python",
            extra = "{\"environment\": \"ml\", \"epochs\": 10}",
            create_time = "2025-05-28T08:54:11+08:00",
        });
        var body = await BodyOf(created);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("0", body.GetProperty("code").GetString());
        Assert.Equal("OK", body.GetProperty("message").GetString());
        Assert.True(body.GetProperty("success").GetBoolean());
        var id = body.GetProperty("data").GetProperty("id").GetInt64();
        Assert.True(id >= 1);
        Assert.Equal("train-job", body.GetProperty("data").GetProperty("name").GetString());

        using var second = await client.PostAsJsonAsync(Templates, new { name = "pod-job", schema = "apiVersion: v1\nkind: Pod\nmetadata: {name: {{ .task.name }}}", type = "pod" });
        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        Assert.NotEqual(id, (await BodyOf(second)).GetProperty("data").GetProperty("id").GetInt64());

        using var list = await client.GetAsync(Templates);
        var names = (await BodyOf(list)).GetProperty("data").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Equal(["pod-job", "train-job"], names);

        using var detail = await client.GetAsync(new Uri("/v2/templates/train-job", UriKind.Relative));
        var data = (await BodyOf(detail)).GetProperty("data");
        Assert.Equal(id, data.GetProperty("id").GetInt64());
        Assert.Equal("Training Job", data.GetProperty("title").GetString());
        Assert.Equal("python", data.GetProperty("type").GetString());
        Assert.Equal(TrainSchema, data.GetProperty("schema").GetString());
        using (var extra = JsonDocument.Parse(data.GetProperty("extra").GetString()!))
        {
            Assert.Equal(10, extra.RootElement.GetProperty("epochs").GetInt32());
        }

        var createdAt = data.GetProperty("create_time").GetDateTimeOffset();

        using var updated = await client.PutAsJsonAsync(new Uri("/v2/templates/train-job", UriKind.Relative), new
        {
            title = "Training Job v2",
            schema = TrainSchema,
            type = "python",
            extra = new { environment = "ml", epochs = 20 },
        });
        var updatedBody = await BodyOf(updated);
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        Assert.Equal(id, updatedBody.GetProperty("data").GetProperty("id").GetInt64());

        using var after = await client.GetAsync(new Uri("/v2/templates/train-job", UriKind.Relative));
        var afterData = (await BodyOf(after)).GetProperty("data");
        Assert.Equal("Training Job v2", afterData.GetProperty("title").GetString());
        Assert.Equal(createdAt, afterData.GetProperty("create_time").GetDateTimeOffset());
        Assert.True(afterData.GetProperty("update_time").GetDateTimeOffset() >= createdAt);
    }

    [Fact]
    public async Task Templates_BadInput_Is1001AndStoresNothing()
    {
        using var factory = new FunctionsFactory(azurite);
        using var client = factory.CreateKeyedClient();
        using var ok = await client.PostAsJsonAsync(Templates, new { name = "t", schema = "{}", type = "shell" });
        Assert.Equal(HttpStatusCode.Created, ok.StatusCode);

        using var duplicate = await client.PostAsJsonAsync(Templates, new { name = "t", schema = "{}", type = "shell" });
        AssertError(duplicate, await BodyOf(duplicate), HttpStatusCode.Conflict, "1001", "already exists");

        using var badSchema = await client.PostAsJsonAsync(Templates, new { name = "bad", schema = "line one\n{{ if .x }}never closed", type = "python" });
        AssertError(badSchema, await BodyOf(badSchema), HttpStatusCode.BadRequest, "1001", "template: bad:2:");

        using var badFunction = await client.PostAsJsonAsync(Templates, new { name = "bad", schema = "{{ nosuch .x }}", type = "python" });
        AssertError(badFunction, await BodyOf(badFunction), HttpStatusCode.BadRequest, "1001", "function \"nosuch\" not defined");

        using var badType = await client.PostAsJsonAsync(Templates, new { name = "bad", schema = "{}", type = "lambda" });
        AssertError(badType, await BodyOf(badType), HttpStatusCode.BadRequest, "1001", "type 'lambda' is not known");

        using var badExtra = await client.PostAsJsonAsync(Templates, new { name = "bad", schema = "{}", type = "python", extra = "[1, 2]" });
        AssertError(badExtra, await BodyOf(badExtra), HttpStatusCode.BadRequest, "1001", "extra must be a JSON object");

        using var badJson = await client.PostAsJsonAsync(Templates, new { name = "bad", schema = "{}", type = "python", extra = "{nope" });
        AssertError(badJson, await BodyOf(badJson), HttpStatusCode.BadRequest, "1001", "extra is not valid JSON");

        using var badName = await client.PostAsJsonAsync(Templates, new { name = "../x", schema = "{}", type = "python" });
        AssertError(badName, await BodyOf(badName), HttpStatusCode.BadRequest, "1001", "is not valid");

        using var missing = await client.GetAsync(new Uri("/v2/templates/nothing", UriKind.Relative));
        AssertError(missing, await BodyOf(missing), HttpStatusCode.NotFound, "1001", "template 'nothing' not found");

        using var putMissing = await client.PutAsJsonAsync(new Uri("/v2/templates/nothing", UriKind.Relative), new { schema = "{}", type = "python" });
        AssertError(putMissing, await BodyOf(putMissing), HttpStatusCode.NotFound, "1001");

        using var rename = await client.PutAsJsonAsync(new Uri("/v2/templates/t", UriKind.Relative), new { name = "u", schema = "{}", type = "python" });
        AssertError(rename, await BodyOf(rename), HttpStatusCode.BadRequest, "1001", "cannot be renamed");

        using var list = await client.GetAsync(Templates);
        Assert.Equal(["t"], (await BodyOf(list)).GetProperty("data").EnumerateArray().Select(e => e.GetString()));
        using var t = await client.GetAsync(new Uri("/v2/templates/t", UriKind.Relative));
        Assert.Equal("shell", (await BodyOf(t)).GetProperty("data").GetProperty("type").GetString());
    }

    [Fact]
    public async Task Render_PythonSchema_GivesTheJobWithMergedExtra()
    {
        using var factory = new FunctionsFactory(azurite);
        using var client = factory.CreateKeyedClient();
        using var created = await client.PostAsJsonAsync(Templates, new { name = "train", schema = TrainSchema, type = "python", extra = new { environment = "ml", epochs = 10 } });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);

        using var rendered = await client.PostAsJsonAsync(new Uri("/v2/templates/train/render", UriKind.Relative), new
        {
            uuid = "u-1",
            name = "mnist",
            @namespace = "alice",
            extra = "{\"epochs\": 100}",
            value = "{\"datasets\": [\"mnist\", \"fashion\"], \"model\": \"resnet50\"}",
        });
        var body = await BodyOf(rendered);
        Assert.Equal(HttpStatusCode.OK, rendered.StatusCode);
        var data = body.GetProperty("data");
        Assert.True(data.GetProperty("executable").GetBoolean());
        var job = data.GetProperty("job");
        Assert.Equal("ml", job.GetProperty("environment").GetString());
        // The task's extra overrides the template's key by key.
        Assert.Equal("python main.py --epochs 100 --data mnist --data fashion", job.GetProperty("command").GetString());
        Assert.Equal(["python", "main.py", "--epochs", "100", "--data", "mnist", "--data", "fashion"], job.GetProperty("argv").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal("print('training mnist')", job.GetProperty("script").GetString());
        Assert.Equal("resnet50", job.GetProperty("variables").GetProperty("MODEL").GetString());
        Assert.Equal("alice", job.GetProperty("variables").GetProperty("OWNER").GetString());
    }

    [Fact]
    public async Task Render_Errors_Are1001WithLineAndKey()
    {
        using var factory = new FunctionsFactory(azurite);
        using var client = factory.CreateKeyedClient();
        using var a = await client.PostAsJsonAsync(Templates, new { name = "train", schema = TrainSchema, type = "python", extra = new { environment = "ml", epochs = 1 } });
        using var b = await client.PostAsJsonAsync(Templates, new { name = "sh", schema = "{\"environment\": \"e\", \"command\": \"ls\", \"script\": \"x\"}", type = "shell" });
        using var c = await client.PostAsJsonAsync(Templates, new { name = "notjson", schema = "environment={{ .extra.e }}", type = "shell", extra = new { e = "x" } });
        using var d = await client.PostAsJsonAsync(Templates, new { name = "pod", schema = "kind: Pod\nname: {{ .task.name }}", type = "pod" });
        using var e = await client.PostAsJsonAsync(Templates, new { name = "quote", schema = "{\"environment\": \"e\", \"command\": \"echo 'unterminated\"}", type = "shell" });
        Assert.All(new[] { a, b, c, d, e }, r => Assert.Equal(HttpStatusCode.Created, r.StatusCode));

        // .value.model is missing: the message names line 5 and the key.
        using var missingKey = await client.PostAsJsonAsync(new Uri("/v2/templates/train/render", UriKind.Relative), new { name = "n", value = new { datasets = Array.Empty<string>() } });
        AssertError(missingKey, await BodyOf(missingKey), HttpStatusCode.BadRequest, "1001", "template: train:5:");
        Assert.Contains("map has no entry for key \"model\"", (await BodyOf(missingKey)).GetProperty("message").GetString(), StringComparison.Ordinal);

        using var script = await client.PostAsJsonAsync(new Uri("/v2/templates/sh/render", UriKind.Relative), new { });
        AssertError(script, await BodyOf(script), HttpStatusCode.BadRequest, "1001", "only for the python type");

        using var notJson = await client.PostAsJsonAsync(new Uri("/v2/templates/notjson/render", UriKind.Relative), new { });
        AssertError(notJson, await BodyOf(notJson), HttpStatusCode.BadRequest, "1001", "not JSON");

        using var quote = await client.PostAsJsonAsync(new Uri("/v2/templates/quote/render", UriKind.Relative), new { });
        AssertError(quote, await BodyOf(quote), HttpStatusCode.BadRequest, "1001", "cannot be split");

        using var badValue = await client.PostAsJsonAsync(new Uri("/v2/templates/train/render", UriKind.Relative), new { value = "{oops" });
        AssertError(badValue, await BodyOf(badValue), HttpStatusCode.BadRequest, "1001", "value is not valid JSON");

        // A type this deployment stores but does not execute renders to text, with no job.
        using var pod = await client.PostAsJsonAsync(new Uri("/v2/templates/pod/render", UriKind.Relative), new { name = "web" });
        var podData = (await BodyOf(pod)).GetProperty("data");
        Assert.Equal(HttpStatusCode.OK, pod.StatusCode);
        Assert.False(podData.GetProperty("executable").GetBoolean());
        Assert.Equal("kind: Pod\nname: web", podData.GetProperty("text").GetString());
        Assert.Equal(JsonValueKind.Null, podData.GetProperty("job").ValueKind);
    }

    [Fact]
    public async Task Templates_Keys_UserReadsAdminWrites()
    {
        using var factory = new FunctionsFactory(azurite);
        using var admin = factory.CreateKeyedClient();
        using var key = await admin.PostAsJsonAsync(new Uri("/api/keys", UriKind.Relative), new { name = "bob", role = "user", @namespace = "team" });
        var secret = (await BodyOf(key)).GetProperty("key").GetProperty("value").GetString()!;
        using var created = await admin.PostAsJsonAsync(Templates, new { name = "t", schema = "{}", type = "shell" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);

        using var user = factory.CreateKeyedClient(secret);
        using var read = await user.GetAsync(new Uri("/v2/templates/t", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        using var write = await user.PostAsJsonAsync(Templates, new { name = "u", schema = "{}", type = "shell" });
        AssertError(write, await BodyOf(write), HttpStatusCode.Forbidden, "1001", "admin key");
        using var put = await user.PutAsJsonAsync(new Uri("/v2/templates/t", UriKind.Relative), new { schema = "x", type = "shell" });
        AssertError(put, await BodyOf(put), HttpStatusCode.Forbidden, "1001");

        using var anonymous = factory.CreateKeyedClient(null);
        using var none = await anonymous.GetAsync(Templates);
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.False((await BodyOf(none)).GetProperty("success").GetBoolean());

        using var list = await admin.GetAsync(Templates);
        Assert.Equal(["t"], (await BodyOf(list)).GetProperty("data").EnumerateArray().Select(e => e.GetString()));
    }
}

/// <summary>Seed 002's <c>/v2/status</c>.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class V2StatusTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Status_WithoutARunner_IsDegradedNamingTheRunner_AndNeedsAKey()
    {
        using var factory = new FunctionsFactory(azurite);
        using var client = factory.CreateKeyedClient();

        using var response = await client.GetAsync(new Uri("/v2/status", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("0", doc.RootElement.GetProperty("code").GetString());
        var data = doc.RootElement.GetProperty("data");
        Assert.Equal("degraded", data.GetProperty("status").GetString());
        var components = data.GetProperty("components").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!, c => c);
        foreach (var name in new[] { "tables", "queues", "blobs", "share" })
        {
            Assert.Equal("ok", components[name].GetProperty("status").GetString());
        }

        var down = components.Values.Where(c => c.GetProperty("status").GetString() == "down").ToList();
        Assert.Equal(2, down.Count);
        var runner = Assert.Single(down, c => c.GetProperty("name").GetString()!.Contains("runner", StringComparison.Ordinal));
        Assert.False(string.IsNullOrEmpty(runner.GetProperty("message").GetString()));

        // The default pool (no pools.json) has no runner either.
        var pool = Assert.Single(down, c => c.GetProperty("name").GetString() == "pool:default");
        Assert.Equal("no runner has joined this pool", pool.GetProperty("message").GetString());

        using var anonymous = factory.CreateKeyedClient(null);
        using var refused = await anonymous.GetAsync(new Uri("/v2/status", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        using var body = JsonDocument.Parse(await refused.Content.ReadAsStringAsync());
        Assert.False(body.RootElement.GetProperty("success").GetBoolean());
    }
}
