using System.Globalization;
using System.Text.Json;
using EnvFabric.Activities.Environments;
using EnvFabric.Core.Environments;
using EnvFabric.Core.Runner;
using EnvFabric.Core.Tasks;
using EnvFabric.Core.Validation;
using EnvFabric.Functions.Auth;
using EnvFabric.Functions.Http;

namespace EnvFabric.Functions;

/// <summary>The JSON body of <c>PUT /api/tasks/{id}</c>; every field optional.</summary>
public sealed record TaskUpdateRequest
{
    public string? TaskName { get; init; }
    public string? Script { get; init; }
    public string? CondaEnv { get; init; }
    public string? Command { get; init; }
    public string? CronExpression { get; init; }
    public JsonElement? DelaySeconds { get; init; }
    public JsonElement? IntervalSeconds { get; init; }
    public string? RunAt { get; init; }
    public string? Timezone { get; init; }
    public string? Requirements { get; init; }
    public string? Priority { get; init; }
    public int? MaxRetries { get; init; }
    public int? RetryIntervalSeconds { get; init; }
    public bool? RetryBackoff { get; init; }
    public int? TimeoutSeconds { get; init; }
    public string? Overlap { get; init; }

    /// <summary>A new callback URL; an empty string removes it.</summary>
    public string? CallbackUrl { get; init; }
    public string? Project { get; init; }
}

public static partial class TaskFunctions
{
    private const int MaxNameLength = 100;
    private const int MaxCommandLength = 4096;

    public static async Task<IResult> CreateTask([AsParameters] TaskServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var env = s.EnvironmentServices();
        if (!s.Context.Request.HasFormContentType)
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Failed to process uploaded file", "The request must be multipart/form-data with a script_file");
        }

        var (form, unreadable) = await ReadFormAsync(s);
        if (form is null)
        {
            return unreadable!;
        }

        // A task runs either its own uploaded script or in a project: exactly one of the two.
        var file = form.Files.GetFile("script_file");
        var projectName = Field(form, "project");
        if (file is not null && projectName is not null)
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Invalid task parameters", "give either script_file or project, not both");
        }

        if (file is null && projectName is null)
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "No script file provided", "script_file (or project) is required");
        }

        if (projectName is not null && Core.Projects.ProjectName.Validate(projectName) is { } projectError)
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Invalid project name", projectError);
        }

        var envName = Field(form, "conda_env");
        if (envName is null)
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Missing required field", "conda_env is required");
        }

        if (Core.Validation.EnvironmentName.Validate(envName) is { } envError)
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Invalid environment name", envError);
        }

        var now = s.Time.GetUtcNow();
        var trigger = TaskTriggerParser.Parse(
            new TriggerFields(Field(form, "cron_expression"), Field(form, "delay_seconds"), Field(form, "interval_seconds"), Field(form, "run_at"), Field(form, "timezone")),
            now,
            s.Options.Triggers);
        if (trigger.Error is { } triggerError)
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, triggerError.Message, triggerError.Error);
        }

        var name = Field(form, "task_name") ?? (file is null ? projectName : Path.GetFileNameWithoutExtension(file.FileName));
        if (ValidateName(name) is { } nameError)
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Invalid task name", nameError);
        }

        var command = Field(form, "command");
        if (command is not null && ValidateCommand(command) is { } commandError)
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Invalid command", commandError);
        }

        if (ReadPolicy(form, out var retry, out var timeout, out var priority, out var overlap) is { } policyError)
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Invalid task parameters", policyError);
        }

        string? requirements;
        try
        {
            requirements = await RequirementsAsync(form, s.Aborted);
        }
        catch (InvalidDataException ex)
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Invalid requirements", ex.Message);
        }

        var reuse = Field(form, "reuse_env") is { } reuseText ? ParseBool(reuseText) : false;
        if (reuse is null)
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Invalid task parameters", "reuse_env must be true or false");
        }

        var callbackUrl = Field(form, "callback_url");
        if (callbackUrl is not null && await CallbackUrls.RefusalAsync(callbackUrl, s.Options.Callbacks.Policy, s.Aborted) is { } callbackError)
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Invalid task parameters", callbackError);
        }

        if (await s.Tasks.FindByNameAsync(name!, s.Aborted) is not null)
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Task with this name already exists", $"Task with name '{name}' already exists");
        }

        var ns = NamespaceAccess.NamespaceForNew(s.Context.User, Field(form, "namespace"));
        if (ns is null)
        {
            return NamespaceAccess.Forbidden(s.Context, "You do not have permission to create tasks in this namespace");
        }

        if (projectName is not null && await ProjectInNamespaceAsync(projectName, ns, s) is { } projectMissing)
        {
            return projectMissing;
        }

        var environment = await s.Environments.GetAsync(envName, s.Aborted);
        var explicitReuse = Field(form, "reuse_env") is not null;
        if (environment is null && reuse == true)
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Cannot reuse non-existing environment", $"Environment '{envName}' not found");
        }

        if (environment is null && !explicitReuse)
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Environment not found", $"The specified conda environment '{envName}' does not exist");
        }

        // Stage the upload before anything is recorded: a refused file leaves nothing behind. A project task has none.
        Directory.CreateDirectory(s.Paths.Scripts);
        var staging = Path.Combine(s.Paths.Scripts, ".staging-" + Guid.NewGuid().ToString("N"));
        var upload = new UploadResult([], null);
        if (file is not null)
        {
            try
            {
                await using var content = file.OpenReadStream();
                upload = await TaskUpload.StageAsync(content, file.FileName, staging, s.Options.Upload, s.Aborted);
            }
            catch (UploadException ex)
            {
                return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Failed to process uploaded file", ex.Message);
            }
        }

        try
        {
            command ??= upload.DetectedEntryPoint is { } entry && entry != "main.py" ? "python " + entry : ScriptJob.DefaultCommand;
            string environmentMessage;
            if (environment is null)
            {
                var (created, failure) = await CreateEnvironmentAsync(envName, requirements, env);
                if (failure is not null)
                {
                    return failure;
                }

                environment = created!;
                environmentMessage = $"Environment '{envName}' created" + (requirements is null ? "" : " with the task's requirements");
            }
            else if (requirements is not null)
            {
                var (_, failure) = await InstallRequirementsAsync(environment, requirements, env, existing: true);
                if (failure is not null)
                {
                    return failure;
                }

                environmentMessage = $"Requirements installed in existing environment '{envName}'";
            }
            else
            {
                environmentMessage = $"Using existing environment '{envName}'";
            }

            var draft = new TaskRecord
            {
                TaskId = 0,
                Name = name!,
                Namespace = ns,
                Environment = envName,
                Project = projectName,
                Command = command,
                Requirements = requirements,
                Trigger = trigger.Trigger!,
                Retry = retry,
                TimeoutSeconds = timeout,
                Priority = priority,
                Overlap = overlap,
                CallbackUrl = callbackUrl,
                Status = TaskStatuses.Scheduled,
                CreatedAt = now,
                UpdatedAt = now,
                ScheduleAnchor = now,
                NextRunAt = trigger.Trigger!.FirstDue(now),
                CreatedBy = NamespaceAccess.KeyNameOf(s.Context.User),
            };
            var creation = s.Context.RequestServices.GetRequiredService<Tasks.TaskCreation>();
            var creationResult = await creation.CreateAsync(
                draft, file is null ? null : directory => TaskUpload.Commit(staging, directory), new Tasks.TaskCreationStart(s.Who, s.ClientIp), s.Aborted);
            if (creationResult.Outcome != Tasks.TaskCreationOutcome.Created)
            {
                return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Task with this name already exists", $"Task with name '{name}' already exists");
            }

            var record = creationResult.Task!;
            var taskId = record.TaskId;
            var runId = creationResult.RunInstanceId;
            await AuditAsync(s, "create", record, "succeeded", new { task_id = taskId, task_name = name, conda_env = envName, project = projectName, command, trigger = record.Trigger, files = upload.Files.Count });
            return TypedResults.Json(
                new TaskCreated(true, "Task scheduled successfully", View(record), environmentMessage, null) with { ExecutionId = runId },
                statusCode: StatusCodes.Status201Created);
        }
        finally
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
        }
    }

    public static async Task<IResult> UpdateTask(string id, TaskUpdateRequest body, [AsParameters] TaskServices s)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(s);
        var env = s.EnvironmentServices();
        var (task, missing) = await FindAsync(id, s, "update");
        if (task is null)
        {
            return missing!;
        }

        if (await RunInProgressAsync(task, s))
        {
            return Refused("Task cannot be updated", "Cannot update a task that is currently running", TaskStatuses.Running);
        }

        var invalid = (string error) => ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Invalid update parameters", error);
        var now = s.Time.GetUtcNow();
        var triggerFields = new TriggerFields(body.CronExpression, Raw(body.DelaySeconds), Raw(body.IntervalSeconds), body.RunAt, body.Timezone);
        var triggerChanged = triggerFields is not { CronExpression: null, DelaySeconds: null, IntervalSeconds: null, RunAt: null, TimeZone: null };
        TaskTrigger? trigger = null;
        if (triggerChanged)
        {
            var parsed = TaskTriggerParser.Parse(triggerFields, now, s.Options.Triggers);
            if (parsed.Error is { } e)
            {
                return invalid(e.Kind == TriggerErrorKind.InvalidCron ? "The provided cron expression is invalid: " + e.Detail : e.Error);
            }

            trigger = parsed.Trigger;
        }

        if (body.TaskName is not null && ValidateName(body.TaskName) is { } nameError)
        {
            return invalid(nameError);
        }

        if (body.Command is not null && ValidateCommand(body.Command) is { } commandError)
        {
            return invalid(commandError);
        }

        if (body.Priority is not null && !TaskPriorities.IsValid(body.Priority))
        {
            return invalid("priority must be 'low', 'normal' or 'high'");
        }

        if (body.Overlap is not null && !OverlapPolicies.IsValid(body.Overlap))
        {
            return invalid("overlap must be 'allow', 'skip' or 'queue'");
        }

        if (body.MaxRetries is < 0 or > 100 || body.RetryIntervalSeconds is < 0 or > 86_400 || body.TimeoutSeconds is < 1 or > 604_800)
        {
            return invalid("max_retries must be 0-100, retry_interval_seconds 0-86400 and timeout_seconds 1-604800");
        }

        if (body.Script is { Length: 0 })
        {
            return invalid("script must not be empty");
        }

        var projectName = body.Project ?? task.Project;
        if (body.Script is not null && projectName is not null)
        {
            return invalid($"the task runs in project '{projectName}': edit the project's files (/api/projects/{projectName}/files) instead of its script");
        }

        if (body.Project is not null)
        {
            if (Core.Projects.ProjectName.Validate(body.Project) is { } projectError)
            {
                return invalid(projectError);
            }

            if (await ProjectInNamespaceAsync(body.Project, task.Namespace, s) is { } projectMissing)
            {
                return projectMissing;
            }
        }

        if (body.Requirements is not null && ValidateRequirements(body.Requirements) is { } requirementsError)
        {
            return invalid(requirementsError);
        }

        if (body.CallbackUrl is { Length: > 0 } callbackUrl && await CallbackUrls.RefusalAsync(callbackUrl, s.Options.Callbacks.Policy, s.Aborted) is { } callbackError)
        {
            return invalid(callbackError);
        }

        var environmentName = body.CondaEnv ?? task.Environment;
        var environment = await s.Environments.GetAsync(environmentName, s.Aborted);
        if (environment is null)
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Environment not found", $"The specified conda environment '{environmentName}' does not exist");
        }

        if (body.TaskName is not null && body.TaskName != task.Name)
        {
            if (!await s.Tasks.ReserveNameAsync(body.TaskName, task.TaskId, s.Aborted))
            {
                return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Task with this name already exists", $"Task with name '{body.TaskName}' already exists");
            }
        }

        RequirementsUpdate? requirementsUpdate = null;
        if (body.Requirements is not null)
        {
            var (result, failure) = await InstallRequirementsAsync(environment, body.Requirements, env, existing: true);
            requirementsUpdate = result is null
                ? new RequirementsUpdate(false, [], [])
                : new RequirementsUpdate(result.Succeeded && result.FailedPackages.Count == 0, result.InstalledPackages.Select(p => p.Name).ToList(), result.FailedPackages.Select(f => f.Package).ToList());
            if (failure is not null && result is null)
            {
                return failure;
            }
        }

        if (body.Script is not null)
        {
            var entry = EntryScript(body.Command ?? task.Command);
            var target = Path.GetFullPath(Path.Combine(s.ScriptDirectory(task.TaskId), entry));
            if (!target.StartsWith(Path.GetFullPath(s.ScriptDirectory(task.TaskId)) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                return invalid($"the command's script '{entry}' is outside the task directory");
            }

            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            await File.WriteAllTextAsync(target, body.Script, s.Aborted);
            Core.Projects.ProjectFiles.DropCompiled(target);
        }

        var updated = await s.Tasks.MutateAsync(
            task.TaskId,
            t => t with
            {
                Name = body.TaskName ?? t.Name,
                Environment = environmentName,
                Project = projectName,
                Command = body.Command ?? t.Command,
                Requirements = body.Requirements ?? t.Requirements,
                Priority = body.Priority ?? t.Priority,
                Overlap = body.Overlap ?? t.Overlap,
                CallbackUrl = body.CallbackUrl is null ? t.CallbackUrl : body.CallbackUrl.Length == 0 ? null : body.CallbackUrl,
                Retry = t.Retry with
                {
                    MaxRetries = body.MaxRetries ?? t.Retry.MaxRetries,
                    RetryIntervalSeconds = body.RetryIntervalSeconds ?? t.Retry.RetryIntervalSeconds,
                    ExponentialBackoff = body.RetryBackoff ?? t.Retry.ExponentialBackoff,
                },
                TimeoutSeconds = body.TimeoutSeconds ?? t.TimeoutSeconds,
                Trigger = trigger ?? t.Trigger,
                ScheduleAnchor = trigger is null ? t.ScheduleAnchor : now,
                ScheduleGeneration = trigger is null ? t.ScheduleGeneration : t.ScheduleGeneration + 1,
                NextRunAt = trigger is null ? t.NextRunAt : trigger.FirstDue(now),
                Status = trigger is not null && t.Status is TaskStatuses.Completed or TaskStatuses.Failed ? TaskStatuses.Scheduled : t.Status,
            },
            s.Aborted);
        if (updated is null)
        {
            return TypedResults.Json(new TaskNotFound(false, $"Task with ID {id} not found"), statusCode: StatusCodes.Status404NotFound);
        }

        if (body.TaskName is not null && body.TaskName != task.Name)
        {
            await s.Tasks.ReleaseNameAsync(task.Name, task.TaskId, s.Aborted);
        }

        if (trigger is not null && updated.Status is not (TaskStatuses.Stopped or TaskStatuses.Paused))
        {
            if (trigger.Kind == TriggerKind.Now)
            {
                await s.Starter.SignalScheduleAsync(task.TaskId, s.Aborted);
                await s.Starter.StartRunAsync(task.TaskId, ExecutionTriggers.Manual, s.Who, s.ClientIp, s.Aborted);
            }
            else
            {
                await s.Starter.EnsureScheduleAsync(updated, s.Aborted);
            }
        }

        await AuditAsync(s, "update", updated, "succeeded", body);
        return TypedResults.Ok(new TaskUpdated(true, "Task updated successfully", View(updated), requirementsUpdate));
    }

    public static async Task<IResult> UpdateScript(string id, [AsParameters] TaskServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var (task, missing) = await FindAsync(id, s, "update");
        if (task is null)
        {
            return missing!;
        }

        if (task.Project is { } project)
        {
            return ErrorBodies.Conda(
                StatusCodes.Status400BadRequest, "Task script cannot be updated", $"The task runs in project '{project}': edit the project's files (/api/projects/{project}/files) or re-upload the project instead");
        }

        if (!s.Context.Request.HasFormContentType)
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "No script file provided", "Script file is required for update");
        }

        var (form, unreadable) = await ReadFormAsync(s);
        if (form is null)
        {
            return unreadable!;
        }

        var file = form.Files.GetFile("script_file");
        if (file is null)
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "No script file provided", "Script file is required for update");
        }

        var force = Field(form, "force") is { } forceText ? ParseBool(forceText) : false;
        if (force is null)
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Task script cannot be updated", "force must be true or false");
        }

        var command = Field(form, "command");
        if (command is not null && ValidateCommand(command) is { } commandError)
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Invalid command", commandError);
        }

        var busy = task.Status is TaskStatuses.Running or TaskStatuses.Scheduled || task.CurrentJobId is not null;
        if (busy && force != true)
        {
            return Refused("Task script cannot be updated", $"Cannot update a task with status: '{task.Status}'", task.Status);
        }

        var staging = Path.Combine(s.Paths.Scripts, ".staging-" + Guid.NewGuid().ToString("N"));
        UploadResult upload;
        try
        {
            Directory.CreateDirectory(s.Paths.Scripts);
            await using var content = file.OpenReadStream();
            upload = await TaskUpload.StageAsync(content, file.FileName, staging, s.Options.Upload, s.Aborted);
        }
        catch (UploadException ex)
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Failed to process uploaded file", ex.Message);
        }

        if (busy)
        {
            // force: hold the schedule (resume restarts it, as the seed says) and stop the run.
            var held = await s.Tasks.MutateAsync(task.TaskId, t => t with { Status = TaskStatuses.Paused, ScheduleGeneration = t.ScheduleGeneration + 1 }, s.Aborted);
            if (held?.CurrentJobId is { } job)
            {
                await s.Control.SendAsync(job, RunnerControlAction.Stop, s.Aborted);
            }

            await s.Starter.SignalScheduleAsync(task.TaskId, s.Aborted);
        }

        TaskUpload.Commit(staging, s.ScriptDirectory(task.TaskId));
        var newCommand = command ?? (upload.DetectedEntryPoint is { } entry && !File.Exists(Path.Combine(s.ScriptDirectory(task.TaskId), EntryScript(task.Command))) ? "python " + entry : task.Command);
        var updated = await s.Tasks.MutateAsync(task.TaskId, t => t with { Command = newCommand }, s.Aborted) ?? task;
        await AuditAsync(s, "update-script", updated, "succeeded", new { task_id = task.TaskId, files = upload.Files, command = newCommand, force });
        return TypedResults.Ok(new ScriptUpdated(
            true,
            "Task script updated successfully",
            new ScriptTask(updated.TaskId, updated.Name, View(updated).ScriptPath, updated.Command, updated.Status),
            upload.Files));
    }

    // --- helpers ---

    /// <summary>Null when the project exists in the task's namespace, else seed 003's 400 (another namespace's project is not revealed).</summary>
    private static async Task<IResult?> ProjectInNamespaceAsync(string project, string ns, TaskServices s)
    {
        var found = await s.Projects.GetAsync(project, s.Aborted);
        return found is not null && string.Equals(found.Namespace, ns, StringComparison.Ordinal)
            ? null
            : ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Project not found", $"The specified project '{project}' does not exist in namespace '{ns}'");
    }

    /// <summary>The multipart form within the upload limit, or seed 003's "Failed to process uploaded file".</summary>
    private static async Task<(IFormCollection? Form, IResult? Error)> ReadFormAsync(TaskServices s)
    {
        try
        {
            var limit = new Microsoft.AspNetCore.Http.Features.FormOptions { MultipartBodyLengthLimit = s.Options.Upload.MaxUploadBytes + 1024 * 1024 };
            return (await s.Context.Request.ReadFormAsync(limit, s.Aborted), null);
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or BadHttpRequestException)
        {
            return (null, ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Failed to process uploaded file", ex.Message));
        }
    }

    private static string? Field(IFormCollection form, string name) =>
        form.TryGetValue(name, out var values) && values.ToString() is { } text && !string.IsNullOrWhiteSpace(text) ? text.Trim() : null;

    private static string? Raw(JsonElement? value) => value switch
    {
        null => null,
        { ValueKind: JsonValueKind.Null } => null,
        { ValueKind: JsonValueKind.String } v => v.GetString(),
        { } v => v.GetRawText(),
    };

    private static bool? ParseBool(string text) => text.ToLowerInvariant() switch
    {
        "true" or "1" or "yes" or "on" => true,
        "false" or "0" or "no" or "off" => false,
        _ => null,
    };

    internal static string? ValidateName(string? name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            return "task_name must not be empty";
        }

        if (name.Length > MaxNameLength)
        {
            return $"task_name must be at most {MaxNameLength} characters";
        }

        return TableTaskRepository.IsKeySafe(name) ? null : "task_name cannot contain / \\ # ? or control characters";
    }

    internal static string? ValidateCommand(string command)
    {
        if (command.Length > MaxCommandLength)
        {
            return $"the command must be at most {MaxCommandLength} characters";
        }

        return CommandLine.TrySplit(command, out var argv, out var error) ? argv.Count == 0 ? "the command is empty" : null : "the command does not split into arguments: " + error;
    }

    private static string? ValidateRequirements(string text)
    {
        if (System.Text.Encoding.UTF8.GetByteCount(text) > RequirementsFile.MaxBytes)
        {
            return $"requirements must be at most {RequirementsFile.MaxBytes} bytes";
        }

        var parsed = RequirementsFile.Parse(text);
        return parsed.IsValid ? null : parsed.ErrorMessage;
    }

    /// <summary>The requirements text: the <c>requirements_file</c> upload, or the field's text.</summary>
    private static async Task<string?> RequirementsAsync(IFormCollection form, CancellationToken cancellationToken)
    {
        string? text;
        if (form.Files.GetFile("requirements_file") is { } upload)
        {
            if (upload.Length > RequirementsFile.MaxBytes)
            {
                throw new InvalidDataException($"requirements must be at most {RequirementsFile.MaxBytes} bytes");
            }

            using var reader = new StreamReader(upload.OpenReadStream(), new System.Text.UTF8Encoding(false, throwOnInvalidBytes: true));
            try
            {
                text = await reader.ReadToEndAsync(cancellationToken);
            }
            catch (System.Text.DecoderFallbackException)
            {
                throw new InvalidDataException("the requirements file is not UTF-8 text");
            }
        }
        else
        {
            text = Field(form, "requirements_file") ?? Field(form, "requirements");
        }

        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        return ValidateRequirements(text) is { } error ? throw new InvalidDataException(error) : text;
    }

    private static string? ReadPolicy(IFormCollection form, out RetryPolicySettings retry, out int? timeout, out string priority, out string overlap)
    {
        retry = new RetryPolicySettings();
        timeout = null;
        priority = Field(form, "priority") ?? TaskPriorities.Normal;
        overlap = Field(form, "overlap") ?? OverlapPolicies.Skip;
        if (!TaskPriorities.IsValid(priority))
        {
            return "priority must be 'low', 'normal' or 'high'";
        }

        if (!OverlapPolicies.IsValid(overlap))
        {
            return "overlap must be 'allow', 'skip' or 'queue'";
        }

        if (!TryInt(form, "max_retries", 0, 100, out var retries) || !TryInt(form, "retry_interval_seconds", 0, 86_400, out var interval)
            || !TryInt(form, "timeout_seconds", 1, 604_800, out var limit))
        {
            return "max_retries must be 0-100, retry_interval_seconds 0-86400 and timeout_seconds 1-604800 (whole numbers)";
        }

        var backoff = Field(form, "retry_backoff") is { } text ? ParseBool(text) : false;
        if (backoff is null)
        {
            return "retry_backoff must be true or false";
        }

        retry = new RetryPolicySettings { MaxRetries = retries ?? 0, RetryIntervalSeconds = interval ?? 60, ExponentialBackoff = backoff.Value };
        timeout = limit;
        return null;
    }

    private static bool TryInt(IFormCollection form, string name, int min, int max, out int? value)
    {
        value = null;
        if (Field(form, name) is not { } text)
        {
            return true;
        }

        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed) || parsed < min || parsed > max)
        {
            return false;
        }

        value = parsed;
        return true;
    }

    /// <summary>The script a command runs (<c>python x.py</c> → <c>x.py</c>), else <c>main.py</c>.</summary>
    private static string EntryScript(string command) =>
        CommandLine.TrySplit(command, out var argv, out _) && argv.FirstOrDefault(a => a.EndsWith(".py", StringComparison.OrdinalIgnoreCase)) is { } script ? script : "main.py";

    private static async Task<(EnvironmentRecord? Record, IResult? Failure)> CreateEnvironmentAsync(string name, string? requirements, EnvironmentServices env)
    {
        var python = env.Settings.Value.DefaultPython;
        var backend = await env.BackendAsync(null) ?? EnvironmentBackend.Venv;
        var record = new EnvironmentRecord { Name = name, PythonVersion = python, Backend = backend, Path = env.DirectoryOf(name) };
        var input = env.NewBuild(EnvOperations.Create, record, new { name, requirements }) with { RequirementsText = requirements };
        var started = await env.Builds.StartAsync(input, record, env.Aborted);
        if (started.Status != Orchestrations.Environments.StartStatus.Started)
        {
            return (null, ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Failed to install requirements in new environment", $"Environment '{name}' is being changed by another operation"));
        }

        var result = await env.Builds.WaitAsync(started.InstanceId!, input, TimeSpan.FromSeconds(env.Options.Value.BuildTimeoutSeconds + 60), env.Aborted);
        if (result is null || !result.Succeeded || result.FailedPackages.Count > 0)
        {
            var failed = result?.FailedPackages ?? [];
            return (null, TypedResults.Json(
                new RequirementsFailure(false, "Failed to install requirements in new environment", result?.Error ?? "the environment build did not finish", failed.Select(f => f.Package).ToList(), failed.Select(f => f.Error).ToList(), null),
                statusCode: StatusCodes.Status400BadRequest));
        }

        return (await env.Environments.GetAsync(name, env.Aborted), null);
    }

    private static async Task<(EnvBuildResult? Result, IResult? Failure)> InstallRequirementsAsync(EnvironmentRecord environment, string requirements, EnvironmentServices env, bool existing)
    {
        var input = env.NewBuild(EnvOperations.Add, environment, new { requirements }) with { RequirementsText = requirements };
        var started = await env.Builds.StartAsync(input, cancellationToken: env.Aborted);
        if (started.Status != Orchestrations.Environments.StartStatus.Started)
        {
            return (null, ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Failed to install requirements in existing environment", $"Environment '{environment.Name}' is locked by another operation; retry when it has finished"));
        }

        var result = await env.Builds.WaitAsync(started.InstanceId!, input, TimeSpan.FromSeconds(env.Options.Value.BuildTimeoutSeconds + 60), env.Aborted);
        if (result is null || !result.Succeeded || result.FailedPackages.Count > 0)
        {
            var failed = result?.FailedPackages ?? [];
            return (result, TypedResults.Json(
                new RequirementsFailure(
                    false,
                    existing ? "Failed to install requirements in existing environment" : "Failed to install requirements in new environment",
                    result?.Error ?? (failed.Count > 0 ? $"{failed.Count} package(s) could not be installed" : "the install did not finish"),
                    failed.Select(f => f.Package).ToList(),
                    failed.Select(f => f.Error).ToList(),
                    existing ? "Environment may be in an inconsistent state, consider restoring from backup" : null),
                statusCode: StatusCodes.Status400BadRequest));
        }

        return (result, null);
    }
}
