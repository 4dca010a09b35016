using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using EnvFabric.Testing;

namespace EnvFabric.Functions.Tests;

/// <summary>Projects (<c>/api/projects</c>) over HTTP: uploads, the file browser and editor, path confinement, namespaces, and tasks that run in a project.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class ProjectTests(AzuriteFixture azurite)
{
    private static readonly Dictionary<string, object?> Nested = new()
    {
        ["main.py"] = "print('root main')\n",
        ["src/"] = null,
        ["src/app/util.py"] = "X = 1\n",
        ["src/app/data/"] = null,
        ["README.md"] = "# nested\n",
        ["assets/logo.bin"] = new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x00, 0x01 },
        ["assets/latin1.txt"] = new byte[] { 0x63, 0x61, 0x66, 0xE9 },
        ["assets/big.txt"] = new string('x', 3000),
    };

    [Fact]
    public async Task Projects_UploadBrowseEdit_ConfinePaths_AndNamespaces()
    {
        // PROJECT_MAX_EDIT_KB=2: assets/big.txt (3000 bytes) is over the cap.
        await using var host = await EnvironmentHostForTests.StartAsync(azurite, new Dictionary<string, string?> { ["PROJECT_MAX_EDIT_KB"] = "2" }, runner: false);
        var projects = Path.Combine(host.Share.Path, "projects");
        var root = Path.Combine(projects, "nested");

        // A nested ZIP: the tree exactly as it was.
        var (created, createdBody) = await host.Client.UploadProjectAsync(ProjectHttp.Zip(Nested), new Dictionary<string, string> { ["name"] = "nested", ["work_dir"] = "src", ["output_dir"] = "out" });
        Assert.True(created.StatusCode == HttpStatusCode.Created, createdBody?.ToJsonString());
        var project = createdBody!["project"]!;
        Assert.Equal(("nested", "default", "src", "out"), (project["name"]!.GetValue<string>(), project["namespace"]!.GetValue<string>(), project["work_dir"]!.GetValue<string>(), project["output_dir"]!.GetValue<string>()));
        Assert.Equal(6, project["file_count"]!.GetValue<int>());
        Assert.Equal(Nested.Values.Sum(v => v switch { string t => Encoding.UTF8.GetByteCount(t), byte[] b => b.Length, _ => 0 }), project["size_bytes"]!.GetValue<long>());
        Assert.Equal("X = 1\n", await File.ReadAllTextAsync(Path.Combine(root, "src", "app", "util.py")));
        Assert.True(Directory.Exists(Path.Combine(root, "src", "app", "data")));

        // A ZIP of one folder keeps the folder.
        var (single, singleBody) = await host.Client.UploadProjectAsync(
            ProjectHttp.Zip(new Dictionary<string, object?> { ["tool/"] = null, ["tool/main.py"] = "print('tool')\n", ["tool/lib/x.py"] = "" }),
            new Dictionary<string, string> { ["name"] = "single", ["work_dir"] = "tool" });
        Assert.True(single.StatusCode == HttpStatusCode.Created, singleBody?.ToJsonString());
        Assert.True(File.Exists(Path.Combine(projects, "single", "tool", "main.py")));
        Assert.False(File.Exists(Path.Combine(projects, "single", "main.py")));

        // Refused uploads: nothing recorded, nothing left on the share.
        await AssertErrorAsync(host.Client.UploadProjectAsync(ProjectHttp.Zip(Nested), new Dictionary<string, string> { ["name"] = "nested" }), HttpStatusCode.Conflict, "Project with this name already exists");
        await AssertErrorAsync(host.Client.UploadProjectAsync(ProjectHttp.Zip(Nested), new Dictionary<string, string> { ["name"] = "../up" }), HttpStatusCode.BadRequest, "Invalid project name");
        await AssertErrorAsync(host.Client.UploadProjectAsync(ProjectHttp.Zip(Nested), new Dictionary<string, string> { ["name"] = "nowork", ["work_dir"] = "missing" }), HttpStatusCode.BadRequest, "Invalid work_dir");
        await AssertErrorAsync(host.Client.UploadProjectAsync(ProjectHttp.Zip(Nested), new Dictionary<string, string> { ["name"] = "badout", ["output_dir"] = "../out" }), HttpStatusCode.BadRequest, "Invalid output_dir");
        await AssertErrorAsync(host.Client.UploadProjectAsync(Encoding.UTF8.GetBytes("print(1)\n"), new Dictionary<string, string> { ["name"] = "script" }, fileName: "main.py"), HttpStatusCode.BadRequest, "Failed to process uploaded file");
        await AssertErrorAsync(host.Client.UploadProjectAsync(ProjectHttp.Zip(new Dictionary<string, object?> { ["ok.py"] = "", ["lpt1.txt"] = "" }), new Dictionary<string, string> { ["name"] = "device" }), HttpStatusCode.BadRequest, "Failed to process uploaded file");
        await AssertErrorAsync(host.Client.UploadProjectAsync(null, new Dictionary<string, string> { ["name"] = "nofile" }), HttpStatusCode.BadRequest, "No project file provided");
        Assert.Equal(["nested", "single"], Directory.GetDirectories(projects).Select(Path.GetFileName).Order(StringComparer.Ordinal));

        // List and detail.
        var (_, list) = await host.SendAsync(HttpMethod.Get, "/api/projects");
        Assert.Equal(["nested", "single"], list!["projects"]!.AsArray().Select(p => p!["name"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        Assert.All(list!["projects"]!.AsArray(), p => Assert.Equal(0, p!["task_count"]!.GetValue<int>()));
        var (_, detail) = await host.SendAsync(HttpMethod.Get, "/api/projects/nested");
        Assert.Empty(detail!["project"]!["tasks"]!.AsArray());
        Assert.Equal("projects/nested/", detail["project"]!["path"]!.GetValue<string>());
        await AssertErrorAsync(host.SendAsync(HttpMethod.Get, "/api/projects/nothere"), HttpStatusCode.NotFound, "Project not found");

        // Browse.
        var (_, rootListing) = await host.SendAsync(HttpMethod.Get, "/api/projects/nested/files?path=");
        var entries = rootListing!["entries"]!.AsArray();
        Assert.Equal(["assets", "src", "README.md", "main.py"], entries.Select(e => e!["name"]!.GetValue<string>()));
        Assert.Equal("directory", entries[0]!["type"]!.GetValue<string>());
        Assert.Equal(19, entries[3]!["size"]!.GetValue<long>());
        Assert.Matches(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$", entries[3]!["modified_at"]!.GetValue<string>());
        var (_, sub) = await host.SendAsync(HttpMethod.Get, "/api/projects/nested/files?path=src/app");
        Assert.Equal(["src/app/data", "src/app/util.py"], sub!["entries"]!.AsArray().Select(e => e!["path"]!.GetValue<string>()));
        await AssertErrorAsync(host.SendAsync(HttpMethod.Get, "/api/projects/nested/files?path=src/missing"), HttpStatusCode.NotFound, "Path not found");

        // Read: text with its encoding; binary 415, over the cap 413.
        using (var read = await host.Client.GetAsync(new Uri("/api/projects/nested/files/content?path=main.py", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, read.StatusCode);
            Assert.Equal("utf-8", read.Headers.GetValues("X-Content-Encoding").Single());
            var text = JsonNode.Parse(await read.Content.ReadAsStringAsync())!;
            Assert.Equal("print('root main')\n", text["content"]!.GetValue<string>());
        }

        await AssertErrorAsync(host.SendAsync(HttpMethod.Get, "/api/projects/nested/files/content?path=assets/logo.bin"), HttpStatusCode.UnsupportedMediaType, "Not a text file");
        await AssertErrorAsync(host.SendAsync(HttpMethod.Get, "/api/projects/nested/files/content?path=assets/latin1.txt"), HttpStatusCode.UnsupportedMediaType, "Not a text file");
        await AssertErrorAsync(host.SendAsync(HttpMethod.Get, "/api/projects/nested/files/content?path=assets/big.txt"), HttpStatusCode.RequestEntityTooLarge, "File too large");
        await AssertErrorAsync(host.SendAsync(HttpMethod.Put, "/api/projects/nested/files/content?path=main.py", new { content = new string('y', 2049) }), HttpStatusCode.RequestEntityTooLarge, "File too large");

        // Edit, create, move, delete.
        var (edited, _) = await host.SendAsync(HttpMethod.Put, "/api/projects/nested/files/content?path=main.py", new { content = "print('edited')\n" });
        Assert.Equal(HttpStatusCode.OK, edited.StatusCode);
        Assert.Equal("print('edited')\n", await File.ReadAllTextAsync(Path.Combine(root, "main.py")));
        var (added, addedBody) = await host.SendAsync(HttpMethod.Put, "/api/projects/nested/files/content?path=src/new.py", new { content = "NEW = 1\n" });
        Assert.Equal(HttpStatusCode.OK, added.StatusCode);
        Assert.Equal("File created successfully", addedBody!["message"]!.GetValue<string>());
        await AssertErrorAsync(host.SendAsync(HttpMethod.Put, "/api/projects/nested/files/content?path=nowhere/new.py", new { content = "x" }), HttpStatusCode.NotFound, "Folder not found");
        Assert.False(Directory.Exists(Path.Combine(root, "nowhere")));

        var (folder, _) = await host.SendAsync(HttpMethod.Post, "/api/projects/nested/files", new { path = "docs", type = "directory" });
        Assert.Equal(HttpStatusCode.Created, folder.StatusCode);
        var (file, _) = await host.SendAsync(HttpMethod.Post, "/api/projects/nested/files", new { path = "docs/a.md", type = "file", content = "# a\n" });
        Assert.Equal(HttpStatusCode.Created, file.StatusCode);
        await AssertErrorAsync(host.SendAsync(HttpMethod.Post, "/api/projects/nested/files", new { path = "docs/a.md", type = "file", content = "other" }), HttpStatusCode.Conflict, "Path already exists");
        Assert.Equal("# a\n", await File.ReadAllTextAsync(Path.Combine(root, "docs", "a.md")));
        var (moved, _) = await host.SendAsync(HttpMethod.Post, "/api/projects/nested/files/move", new { from = "docs/a.md", to = "docs/b.md" });
        Assert.Equal(HttpStatusCode.OK, moved.StatusCode);
        Assert.True(File.Exists(Path.Combine(root, "docs", "b.md")));
        await AssertErrorAsync(host.SendAsync(HttpMethod.Post, "/api/projects/nested/files/move", new { from = "docs/b.md", to = "main.py" }), HttpStatusCode.Conflict, "Path already exists");
        var (removed, _) = await host.SendAsync(HttpMethod.Delete, "/api/projects/nested/files?path=docs");
        Assert.Equal(HttpStatusCode.OK, removed.StatusCode);
        Assert.False(Directory.Exists(Path.Combine(root, "docs")));
        await AssertErrorAsync(host.SendAsync(HttpMethod.Delete, "/api/projects/nested/files?path="), HttpStatusCode.BadRequest, "Invalid path");
        var (_, remeasured) = await host.SendAsync(HttpMethod.Get, "/api/projects/nested");
        Assert.Equal(7, remeasured!["project"]!["file_count"]!.GetValue<int>());

        // Every kind of refused path, on every route: 400 and nothing changed, inside or outside.
        using var outside = new TempDirectory("project-outside");
        await File.WriteAllTextAsync(outside.Combine("secret.txt"), "secret");
        Directory.CreateSymbolicLink(Path.Combine(root, "escape"), outside.Path);
        var before = ProjectHttp.Snapshot(root);
        var outsideBefore = ProjectHttp.Snapshot(outside.Path);
        string[] refused =
        [
            "../single/tool/main.py", "src/../../single/tool/main.py", "/etc/passwd", "src\\app\\util.py", "a\0b.py", "a\u0001b.py", "src/./app",
            new string('n', 256) + ".py", string.Join('/', Enumerable.Repeat(new string('d', 200), 6)), "CON", "src/aux.py", "LPT3.txt",
            "escape/secret.txt", "escape/new.txt", "escape",
        ];
        foreach (var bad in refused)
        {
            var q = Uri.EscapeDataString(bad);
            await AssertErrorAsync(host.SendAsync(HttpMethod.Get, $"/api/projects/nested/files?path={q}"), HttpStatusCode.BadRequest, "Invalid path", bad);
            await AssertErrorAsync(host.SendAsync(HttpMethod.Get, $"/api/projects/nested/files/content?path={q}"), HttpStatusCode.BadRequest, "Invalid path", bad);
            await AssertErrorAsync(host.SendAsync(HttpMethod.Put, $"/api/projects/nested/files/content?path={q}", new { content = "pwned" }), HttpStatusCode.BadRequest, "Invalid path", bad);
            await AssertErrorAsync(host.SendAsync(HttpMethod.Post, "/api/projects/nested/files", new { path = bad, type = "file", content = "pwned" }), HttpStatusCode.BadRequest, "Invalid path", bad);
            await AssertErrorAsync(host.SendAsync(HttpMethod.Post, "/api/projects/nested/files", new { path = bad, type = "directory" }), HttpStatusCode.BadRequest, "Invalid path", bad);
            await AssertErrorAsync(host.SendAsync(HttpMethod.Delete, $"/api/projects/nested/files?path={q}"), HttpStatusCode.BadRequest, "Invalid path", bad);
            await AssertErrorAsync(host.SendAsync(HttpMethod.Post, "/api/projects/nested/files/move", new { from = "main.py", to = bad }), HttpStatusCode.BadRequest, "Invalid path", bad);
            await AssertErrorAsync(host.SendAsync(HttpMethod.Post, "/api/projects/nested/files/move", new { from = bad, to = "moved.py" }), HttpStatusCode.BadRequest, "Invalid path", bad);
        }

        Assert.Equal(before, ProjectHttp.Snapshot(root));
        Assert.Equal(outsideBefore, ProjectHttp.Snapshot(outside.Path));
        Assert.Equal("print('tool')\n", await File.ReadAllTextAsync(Path.Combine(projects, "single", "tool", "main.py")));
        File.Delete(Path.Combine(root, "escape"));

        // Re-upload: a tree without the kept work_dir is refused and the old one stays; then the new tree swaps in whole.
        var v2 = ProjectHttp.Zip(new Dictionary<string, object?> { ["main.py"] = "print('v2')\n", ["pkg/mod.py"] = "" });
        var treeBefore = ProjectHttp.Snapshot(root);
        await AssertErrorAsync(host.Client.UploadProjectAsync(v2, new Dictionary<string, string>(), replace: "nested"), HttpStatusCode.BadRequest, "Invalid work_dir");
        Assert.Equal(treeBefore, ProjectHttp.Snapshot(root));
        var (replaced, replacedBody) = await host.Client.UploadProjectAsync(v2, new Dictionary<string, string> { ["work_dir"] = "pkg", ["output_dir"] = "" }, replace: "nested");
        Assert.True(replaced.StatusCode == HttpStatusCode.OK, replacedBody?.ToJsonString());
        Assert.Equal(("pkg", 2), (replacedBody!["project"]!["work_dir"]!.GetValue<string>(), replacedBody["project"]!["file_count"]!.GetValue<int>()));
        Assert.Null(replacedBody["project"]!["output_dir"]);
        Assert.Equal(["main.py", "pkg", "pkg/mod.py"], ProjectHttp.Snapshot(root).Keys);
        Assert.Equal("print('v2')\n", await File.ReadAllTextAsync(Path.Combine(root, "main.py")));
        Assert.Equal(["nested", "single"], Directory.GetFileSystemEntries(projects).Select(Path.GetFileName).Order(StringComparer.Ordinal));

        // Another namespace's user key: the project is invisible to reads and refused to changes.
        using var key = await host.Client.PostAsJsonAsync(new Uri("/api/keys", UriKind.Relative), new { name = "bot-a", role = "user", @namespace = "team-a" });
        Assert.Equal(HttpStatusCode.Created, key.StatusCode);
        using var user = host.Factory.CreateKeyedClient(JsonNode.Parse(await key.Content.ReadAsStringAsync())!["key"]!["value"]!.GetValue<string>());
        Assert.Empty(JsonNode.Parse(await user.GetStringAsync(new Uri("/api/projects", UriKind.Relative)))!["projects"]!.AsArray());
        using (var get = await user.GetAsync(new Uri("/api/projects/nested", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
        }

        using (var browse = await user.GetAsync(new Uri("/api/projects/nested/files/content?path=main.py", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.NotFound, browse.StatusCode);
        }

        using (var write = await user.PutAsJsonAsync(new Uri("/api/projects/nested/files/content?path=main.py", UriKind.Relative), new { content = "pwned" }))
        {
            Assert.Equal(HttpStatusCode.Forbidden, write.StatusCode);
            Assert.Equal("You do not have permission to write this project", JsonNode.Parse(await write.Content.ReadAsStringAsync())!["error"]!.GetValue<string>());
        }

        using (var delete = await user.DeleteAsync(new Uri("/api/projects/nested", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.Forbidden, delete.StatusCode);
        }

        var (elsewhere, _) = await user.UploadProjectAsync(v2, new Dictionary<string, string> { ["name"] = "sneaky", ["namespace"] = "default" });
        Assert.Equal(HttpStatusCode.Forbidden, elsewhere.StatusCode);
        var (own, ownBody) = await user.UploadProjectAsync(v2, new Dictionary<string, string> { ["name"] = "mine" });
        Assert.Equal(HttpStatusCode.Created, own.StatusCode);
        Assert.Equal("team-a", ownBody!["project"]!["namespace"]!.GetValue<string>());
        Assert.Equal("print('v2')\n", await File.ReadAllTextAsync(Path.Combine(root, "main.py")));

        // Every change was audited.
        var (_, audit) = await host.SendAsync(HttpMethod.Get, "/api/audit?operation_id=nested&limit=1000");
        var operations = audit!["items"]!.AsArray().Select(i => i!["operation"]!.GetValue<string>()).ToHashSet();
        Assert.Superset(new HashSet<string> { "project.create", "project.update", "project.file.write", "project.file.create", "project.file.move", "project.file.delete" }, operations);

        // Delete: the row and the files go.
        var (deleted, _) = await host.SendAsync(HttpMethod.Delete, "/api/projects/nested");
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        Assert.False(Directory.Exists(root));
        await AssertErrorAsync(host.SendAsync(HttpMethod.Get, "/api/projects/nested"), HttpStatusCode.NotFound, "Project not found");
        var (_, deleteAudit) = await host.SendAsync(HttpMethod.Get, "/api/audit?operation=project.delete");
        Assert.Single(deleteAudit!["items"]!.AsArray());
    }

    [Fact]
    public async Task ProjectTask_RunsInWorkDir_SeesEdits_AndWritesItsOutput()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite);
        await host.CreateCondaAsync("proj");
        var root = Path.Combine(host.Share.Path, "projects", "runner");
        const string Main = "import os, helper\nprint('version', helper.VERSION)\nprint('cwd', os.getcwd())\nout = os.environ['ENVFABRIC_OUTPUT_DIR']\n"
            + "with open(os.path.join(out, 'result.txt'), 'w') as f:\n    f.write('written by ' + helper.VERSION)\n";
        var zip = ProjectHttp.Zip(new Dictionary<string, object?> { ["app/main.py"] = Main, ["app/helper.py"] = "VERSION = 'one'\n", ["README.md"] = "r\n" });
        var (created, createdBody) = await host.Client.UploadProjectAsync(zip, new Dictionary<string, string> { ["name"] = "runner", ["work_dir"] = "app", ["output_dir"] = "results/latest" });
        Assert.True(created.StatusCode == HttpStatusCode.Created, createdBody?.ToJsonString());

        // Exactly one of script_file and project; the project must exist in the task's namespace.
        var (both, bothBody) = await host.CreateTaskAsync("print(1)\n", new Dictionary<string, string> { ["conda_env"] = "proj", ["project"] = "runner" });
        Assert.Equal(HttpStatusCode.BadRequest, both.StatusCode);
        Assert.Equal("give either script_file or project, not both", bothBody!["error"]!.GetValue<string>());
        var (neither, neitherBody) = await host.CreateTaskAsync(null, new Dictionary<string, string> { ["conda_env"] = "proj", ["task_name"] = "none" });
        Assert.Equal(HttpStatusCode.BadRequest, neither.StatusCode);
        Assert.Equal("No script file provided", neitherBody!["message"]!.GetValue<string>());
        var (missing, missingBody) = await host.CreateTaskAsync(null, new Dictionary<string, string> { ["conda_env"] = "proj", ["project"] = "ghost" });
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Equal("Project not found", missingBody!["message"]!.GetValue<string>());
        var (otherNs, _) = await host.CreateTaskAsync(null, new Dictionary<string, string> { ["conda_env"] = "proj", ["project"] = "runner", ["namespace"] = "team-b" });
        Assert.Equal(HttpStatusCode.BadRequest, otherNs.StatusCode);

        // Runs now, in the work_dir, with the output folder created and named in ENVFABRIC_OUTPUT_DIR.
        var (task, taskBody) = await host.CreateTaskAsync(null, new Dictionary<string, string> { ["conda_env"] = "proj", ["project"] = "runner", ["task_name"] = "in-project" });
        Assert.True(task.StatusCode == HttpStatusCode.Created, taskBody?.ToJsonString());
        var id = taskBody!["task"]!["task_id"]!.GetValue<long>();
        var first = await host.WaitForTaskAsync(id, d => d.HasFinished() && d["task"]!["status"]!.GetValue<string>() != "running", what: "the first run");
        Assert.Equal("completed", first.Executions()[0]!["status"]!.GetValue<string>());
        var logs = first["latest_execution"]!["logs"]!.GetValue<string>();
        Assert.Contains("version one", logs, StringComparison.Ordinal);
        Assert.Contains("cwd " + Path.Combine(root, "app"), logs, StringComparison.Ordinal);
        Assert.Equal("written by one", await File.ReadAllTextAsync(Path.Combine(root, "results", "latest", "result.txt")));
        Assert.Equal("runner", first["task"]!["project"]!.GetValue<string>());
        Assert.Equal("projects/runner/", first["task"]!["script_path"]!.GetValue<string>());
        var (_, tasks) = await host.SendAsync(HttpMethod.Get, "/api/tasks");
        Assert.Equal("runner", tasks!.AsArray().Single(t => t!["task_id"]!.GetValue<long>() == id)!["project"]!.GetValue<string>());
        Assert.False(Directory.Exists(Path.Combine(host.Share.Path, "scripts", id.ToString(System.Globalization.CultureInfo.InvariantCulture))));
        var (_, projects) = await host.SendAsync(HttpMethod.Get, "/api/projects");
        Assert.Equal(1, projects!["projects"]!.AsArray().Single(p => p!["name"]!.GetValue<string>() == "runner")!["task_count"]!.GetValue<int>());

        // An edit through the API is what the next run runs.
        var (edited, _) = await host.SendAsync(HttpMethod.Put, "/api/projects/runner/files/content?path=app/helper.py", new { content = "VERSION = 'two'\n" });
        Assert.Equal(HttpStatusCode.OK, edited.StatusCode);
        var (triggered, _) = await host.ControlAsync(id, "trigger");
        Assert.Equal(HttpStatusCode.OK, triggered.StatusCode);
        var second = await host.WaitForTaskAsync(id, d => d.HasFinished(2) && d["task"]!["status"]!.GetValue<string>() != "running", what: "the run after the edit");
        Assert.Equal("completed", second.Executions()[0]!["status"]!.GetValue<string>());
        Assert.Contains("version two", second["latest_execution"]!["logs"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("written by two", await File.ReadAllTextAsync(Path.Combine(root, "results", "latest", "result.txt")));

        // The script of a project task is the project's: update-script and a script edit are refused.
        using (var form = new MultipartFormDataContent { { new ByteArrayContent(Encoding.UTF8.GetBytes("print(3)\n")), "script_file", "main.py" } })
        {
            using var updateScript = await host.Client.PostAsync(new Uri($"/api/tasks/{id}/update-script", UriKind.Relative), form);
            Assert.Equal(HttpStatusCode.BadRequest, updateScript.StatusCode);
            Assert.Contains("edit the project's files", JsonNode.Parse(await updateScript.Content.ReadAsStringAsync())!["error"]!.GetValue<string>(), StringComparison.Ordinal);
        }

        var (scriptEdit, _) = await host.SendAsync(HttpMethod.Put, $"/api/tasks/{id}", new { script = "print(3)\n" });
        Assert.Equal(HttpStatusCode.BadRequest, scriptEdit.StatusCode);

        // The project cannot go while the task uses it; the task can move to another project.
        var (inUse, inUseBody) = await host.SendAsync(HttpMethod.Delete, "/api/projects/runner");
        Assert.Equal(HttpStatusCode.Conflict, inUse.StatusCode);
        Assert.Equal("Project 'runner' is in use", inUseBody!["message"]!.GetValue<string>());
        Assert.Equal(id, inUseBody["tasks"]!.AsArray().Single()!["task_id"]!.GetValue<long>());
        var (_, detail) = await host.SendAsync(HttpMethod.Get, "/api/projects/runner");
        Assert.Equal("in-project", detail!["project"]!["tasks"]!.AsArray().Single()!["task_name"]!.GetValue<string>());
        Assert.True(Directory.Exists(root));

        var (copy, _) = await host.Client.UploadProjectAsync(zip, new Dictionary<string, string> { ["name"] = "runner2", ["work_dir"] = "app" });
        Assert.Equal(HttpStatusCode.Created, copy.StatusCode);
        var (badMove, _) = await host.SendAsync(HttpMethod.Put, $"/api/tasks/{id}", new { project = "ghost" });
        Assert.Equal(HttpStatusCode.BadRequest, badMove.StatusCode);
        var (movedTask, movedBody) = await host.SendAsync(HttpMethod.Put, $"/api/tasks/{id}", new { project = "runner2" });
        Assert.True(movedTask.StatusCode == HttpStatusCode.OK, movedBody?.ToJsonString());
        Assert.Equal("runner2", movedBody!["task"]!["project"]!.GetValue<string>());
        var (freed, _) = await host.SendAsync(HttpMethod.Delete, "/api/projects/runner");
        Assert.Equal(HttpStatusCode.OK, freed.StatusCode);
        Assert.False(Directory.Exists(root));

        // Deleting the task keeps its project, which can then go too.
        var (deletedTask, _) = await host.SendAsync(HttpMethod.Delete, $"/api/tasks/{id}");
        Assert.Equal(HttpStatusCode.OK, deletedTask.StatusCode);
        Assert.True(File.Exists(Path.Combine(host.Share.Path, "projects", "runner2", "app", "main.py")));
        var (deleted, _) = await host.SendAsync(HttpMethod.Delete, "/api/projects/runner2");
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
    }

    private static async Task<JsonNode?> AssertErrorAsync(Task<(HttpResponseMessage Response, JsonNode? Body)> call, HttpStatusCode status, string message, string? what = null)
    {
        var (response, body) = await call;
        Assert.True(response.StatusCode == status, $"{what}: {(int)response.StatusCode} {body?.ToJsonString()}");
        Assert.False(body!["success"]!.GetValue<bool>());
        Assert.True(message == body["message"]!.GetValue<string>(), $"{what}: {body.ToJsonString()}");
        Assert.False(string.IsNullOrEmpty(body["error"]?.GetValue<string>()), $"{what}: {body.ToJsonString()}");
        return body;
    }
}
