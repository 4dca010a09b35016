using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;

namespace EnvFabric.Functions.Tests;

/// <summary>Helpers for the task API tests: multipart creates and waiting on executions.</summary>
public static class TaskHttp
{
    /// <summary>POSTs /api/tasks with a script (a .py body, or ZIP bytes when <paramref name="zip"/> is given) and form fields.</summary>
    public static async Task<(HttpResponseMessage Response, JsonNode? Body)> CreateTaskAsync(
        this EnvironmentHostForTests host, string? script, IDictionary<string, string> fields, string fileName = "main.py", byte[]? zip = null)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(fields);
        using var form = new MultipartFormDataContent();
        if (zip is not null || script is not null)
        {
            var file = new ByteArrayContent(zip ?? Encoding.UTF8.GetBytes(script!));
            file.Headers.ContentType = new MediaTypeHeaderValue(zip is null ? "text/x-python" : "application/zip");
            form.Add(file, "script_file", fileName);
        }

        foreach (var (key, value) in fields)
        {
            form.Add(new StringContent(value), key);
        }

        var response = await host.Client.PostAsync(new Uri("/api/tasks", UriKind.Relative), form);
        var text = await response.Content.ReadAsStringAsync();
        return (response, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    /// <summary>Creates a task and asserts 201; returns its id.</summary>
    public static async Task<long> CreateTaskOkAsync(this EnvironmentHostForTests host, string script, IDictionary<string, string> fields)
    {
        var (response, body) = await host.CreateTaskAsync(script, fields);
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"create task: {(int)response.StatusCode} {body?.ToJsonString()}");
        return body!["task"]!["task_id"]!.GetValue<long>();
    }

    /// <summary>Polls the task's detail until <paramref name="done"/> holds (bounded), returning the last detail.</summary>
    public static async Task<JsonNode> WaitForTaskAsync(this EnvironmentHostForTests host, long taskId, Func<JsonNode, bool> done, TimeSpan? bound = null, string? what = null)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(done);
        var deadline = DateTime.UtcNow + (bound ?? TimeSpan.FromSeconds(120));
        JsonNode? last = null;
        while (DateTime.UtcNow < deadline)
        {
            var (response, body) = await host.SendAsync(HttpMethod.Get, $"/api/tasks/{taskId}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            last = body!;
            if (done(last))
            {
                return last;
            }

            await Task.Delay(200);
        }

        Assert.Fail($"task {taskId}: {what ?? "condition"} not reached; last: {last?.ToJsonString()}\nrunner: {string.Join('\n', host.RunnerOutput.TakeLast(30))}");
        return last!;
    }

    /// <summary>The executions of a detail answer, newest first.</summary>
    public static JsonArray Executions(this JsonNode detail) => detail["execution_history"]!.AsArray();

    /// <summary>Whether the detail has at least <paramref name="count"/> executions in a final status.</summary>
    public static bool HasFinished(this JsonNode detail, int count = 1) =>
        detail.Executions().Count(e => e!["status"]!.GetValue<string>() is "completed" or "failed" or "timeout" or "cancelled" or "abnormal") >= count;

    /// <summary>POSTs a control route (<c>trigger</c>, <c>stop</c>, <c>pause</c>, <c>resume</c>) of a task.</summary>
    public static Task<(HttpResponseMessage Response, JsonNode? Body)> ControlAsync(this EnvironmentHostForTests host, long taskId, string action)
    {
        ArgumentNullException.ThrowIfNull(host);
        return host.SendAsync(HttpMethod.Post, $"/api/tasks/{taskId}/{action}");
    }

    /// <summary>The stored execution records of a task (with their due and queued times, which the API does not show), oldest first.</summary>
    public static async Task<IReadOnlyList<EnvFabric.Core.Tasks.ExecutionRecord>> StoredExecutionsAsync(this EnvironmentHostForTests host, long taskId)
    {
        ArgumentNullException.ThrowIfNull(host);
        var tasks = host.Services.GetRequiredService<EnvFabric.Core.Tasks.ITaskRepository>();
        return (await tasks.ListExecutionsAsync(taskId)).OrderBy(e => e.QueuedAt).ToList();
    }

    /// <summary>
    /// Asserts that the task's execution count stays at what it is now for the whole <paramref name="window"/>
    /// (polling through it, so a run that starts and ends inside the window is still seen); returns the count.
    /// </summary>
    public static async Task<int> AssertNoNewExecutionsAsync(this EnvironmentHostForTests host, long taskId, TimeSpan window)
    {
        ArgumentNullException.ThrowIfNull(host);
        var before = (await host.StoredExecutionsAsync(taskId)).Count;
        var deadline = DateTime.UtcNow + window;
        while (DateTime.UtcNow < deadline)
        {
            await Task.Delay(250);
            var now = await host.StoredExecutionsAsync(taskId);
            Assert.True(now.Count == before, $"task {taskId}: {now.Count - before} new execution(s) in a quiet window: {string.Join(", ", now.Select(e => $"{e.ExecutionId} {e.Trigger} {e.Status}"))}");
        }

        return before;
    }

    /// <summary>The executions of a detail answer with the given trigger.</summary>
    public static List<JsonNode> ExecutionsBy(this JsonNode detail, string trigger) =>
        detail.Executions().Where(e => e!["trigger"]!.GetValue<string>() == trigger).Select(e => e!).ToList();

    /// <summary>Whether an execution (a node of <c>execution_history</c>) is in a final status.</summary>
    public static bool IsFinal(this JsonNode execution) =>
        execution["status"]!.GetValue<string>() is "completed" or "failed" or "timeout" or "cancelled" or "abnormal" or "skipped";

    /// <summary>Parses one of the API's <c>yyyy-MM-dd HH:mm:ss</c> (UTC) times.</summary>
    public static DateTimeOffset ParseApiTime(this JsonNode? value) =>
        DateTimeOffset.ParseExact(value!.GetValue<string>(), "yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal);
}
