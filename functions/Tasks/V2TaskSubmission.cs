using System.Globalization;
using System.Security.Claims;
using System.Text.Json;
using EnvFabric.Core.Environments;
using EnvFabric.Core.Pools;
using EnvFabric.Core.Runner;
using EnvFabric.Core.Settings;
using EnvFabric.Core.Tasks;
using EnvFabric.Core.V2;
using EnvFabric.Functions.Auth;
using EnvFabric.Orchestrations.Tasks;

namespace EnvFabric.Functions.Tasks;

/// <summary>How a v2 submit ended; every kind but <see cref="Submitted"/> changed nothing.</summary>
public enum V2SubmitKind
{
    /// <summary>Stored and started (or scheduled).</summary>
    Submitted,

    /// <summary>A parameter is wrong (1001).</summary>
    Invalid,

    /// <summary>The key may not submit into the namespace it names (1001, 403).</summary>
    Forbidden,

    /// <summary>The pool is not configured (1004).</summary>
    PoolNotFound,

    /// <summary>The quota is more than the pool can give (1005).</summary>
    InsufficientResources,
}

/// <summary>The outcome of <see cref="V2TaskSubmission.SubmitAsync"/>: the task and its first run's execution id, or why not.</summary>
public sealed record V2SubmitOutcome(V2SubmitKind Kind, string? Message = null, TaskRecord? Task = null, string RunId = "")
{
    internal static V2SubmitOutcome Invalid(string message) => new(V2SubmitKind.Invalid, message);
}

/// <summary>
/// Seed 002's submit: a stored template rendered with the task's <c>extra</c>, <c>value</c> and identity into a job
/// (environment, command, script, project, variables), checked entirely, then created through
/// <see cref="TaskCreation"/> as an engine task like any <c>/api/tasks</c> one. A task without <c>schedule</c> runs
/// at once and the answer carries its first execution id.
/// </summary>
public sealed class V2TaskSubmission(
    IJobTemplateRepository templates,
    IEnvironmentRepository environments,
    Core.Projects.IProjectRepository projects,
    IRunnerRegistry runners,
    IQuotaAdmission admission,
    TaskCreation creation,
    TaskOptions options,
    IPoolConfiguration pools,
    TimeProvider time)
{
    /// <summary>The longest a uuid may be.</summary>
    public const int MaxUuidLength = 64;

    /// <summary>The lowest and highest <c>prior</c>.</summary>
    public const int MinPrior = -1000, MaxPrior = 1000;

    /// <summary>The <c>prior</c> of a task that names none: seed 003's <c>normal</c>.</summary>
    public const int DefaultPrior = 1;

    /// <summary>The longest <c>timeout</c>, in seconds (seed 003's <c>timeout_seconds</c> cap).</summary>
    public const int MaxTimeoutSeconds = 604_800;

    /// <summary>The pool configuration in force (pools.json, or the built-in default pool without it).</summary>
    public PoolConfiguration Pools => pools.Current;

    /// <summary>Validates <paramref name="body"/> whole, then creates and starts the task.</summary>
    public async Task<V2SubmitOutcome> SubmitAsync(V2TaskBody body, ClaimsPrincipal user, string who, string clientIp, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(user);

        // --- the task's own fields ---
        if (string.IsNullOrWhiteSpace(body.Template))
        {
            return V2SubmitOutcome.Invalid("template is required (the name of a stored template)");
        }

        var template = TemplateNames.IsValid(body.Template) ? await templates.GetAsync(body.Template, cancellationToken).ConfigureAwait(false) : null;
        if (template is null)
        {
            return V2SubmitOutcome.Invalid($"template '{body.Template}' not found");
        }

        if (!TemplateTypes.IsExecutable(template.Type))
        {
            return V2SubmitOutcome.Invalid($"template '{template.Name}' has type '{template.Type}'; this deployment executes {string.Join(" and ", TemplateTypes.Executable)} templates only");
        }

        var uuid = body.Uuid ?? Guid.NewGuid().ToString();
        if (uuid.Length is 0 or > MaxUuidLength || !TableTaskRepository.IsKeySafe(uuid))
        {
            return V2SubmitOutcome.Invalid($"uuid '{uuid}' is not valid: 1 to {MaxUuidLength} characters without / \\ # ? or control characters");
        }

        var name = string.IsNullOrWhiteSpace(body.Name) ? uuid : body.Name.Trim();
        if (TaskFunctions.ValidateName(name) is { } nameError)
        {
            return V2SubmitOutcome.Invalid(nameError.Replace("task_name", "name", StringComparison.Ordinal));
        }

        var ns = NamespaceAccess.NamespaceForNew(user, body.Namespace);
        if (ns is null)
        {
            return new V2SubmitOutcome(V2SubmitKind.Forbidden, $"this key may not submit tasks into namespace '{body.Namespace}'");
        }

        var (extra, extraProblem) = V2TemplateFunctions.ReadObject(body.Extra, "extra");
        var (value, valueProblem) = V2TemplateFunctions.ReadValue(body.Value);
        if ((extraProblem ?? valueProblem) is { } jsonProblem)
        {
            return V2SubmitOutcome.Invalid(jsonProblem);
        }

        var (prior, priorProblem) = ReadInt(body.Prior, "prior", MinPrior, MaxPrior);
        var (timeout, timeoutProblem) = ReadInt(body.Timeout, "timeout", 1, MaxTimeoutSeconds);
        var (times, timesProblem) = ReadInt(body.Times, "times", 1, int.MaxValue);
        var (adjustable, adjustableProblem) = ReadBool(body.Adjustable, "adjustable");
        var (quotas, quotaProblem) = QuotaParser.Parse(body.Quotas);
        var (tags, tagsProblem) = ReadTags(body.Tags);
        if ((priorProblem ?? timeoutProblem ?? timesProblem ?? adjustableProblem ?? quotaProblem ?? tagsProblem) is { } fieldProblem)
        {
            return V2SubmitOutcome.Invalid(fieldProblem);
        }

        var now = time.GetUtcNow();
        var trigger = new TaskTrigger { Kind = TriggerKind.Now };
        if (!string.IsNullOrWhiteSpace(body.Schedule))
        {
            var parsed = TaskTriggerParser.Parse(new TriggerFields(body.Schedule.Trim(), null, null, null, "UTC"), now, options.Triggers);
            if (parsed.Error is { } scheduleError)
            {
                return V2SubmitOutcome.Invalid($"schedule '{body.Schedule}' is not a cron expression (5 fields, or 6 with seconds first): {(scheduleError.Detail is { Length: > 0 } detail ? detail : scheduleError.Error)}");
            }

            trigger = parsed.Trigger!;
        }
        else if (times is not null)
        {
            return V2SubmitOutcome.Invalid("times is the number of runs of a schedule: give it only with schedule");
        }

        if (body.Callback is { Length: > 0 } callback && await CallbackUrls.RefusalAsync(callback, options.Callbacks.Policy, cancellationToken).ConfigureAwait(false) is { } callbackError)
        {
            return V2SubmitOutcome.Invalid("callback: " + callbackError);
        }

        // --- the pool ---
        var pool = string.IsNullOrWhiteSpace(body.Pool) ? PoolNames.Default : body.Pool.Trim();
        var configuration = Pools;
        if (configuration.Pool(pool) is null)
        {
            return new V2SubmitOutcome(V2SubmitKind.PoolNotFound, $"pool '{pool}' not found");
        }

        if (configuration.Refusal(pool, ns, tags!) is { } policyRefusal)
        {
            return V2SubmitOutcome.Invalid(policyRefusal);
        }

        if (quotas is not null && admission.Refuse(pool, quotas, configuration, await runners.GetRunnersAsync(cancellationToken).ConfigureAwait(false)) is { } shortage)
        {
            return new V2SubmitOutcome(V2SubmitKind.InsufficientResources, shortage);
        }

        // --- the rendered job ---
        var rendered = SchemaRenderer.Render(template, new RenderInput(uuid, name, ns, body.Project, extra, value));
        if (!rendered.Ok)
        {
            return V2SubmitOutcome.Invalid(rendered.Error!);
        }

        var job = rendered.Job!;
        if (await JobProblemAsync(job, ns, cancellationToken).ConfigureAwait(false) is { } jobProblem)
        {
            return V2SubmitOutcome.Invalid($"template '{template.Name}' rendered a job that cannot run: {jobProblem}");
        }

        // --- create: nothing was written before this point ---
        var draft = new TaskRecord
        {
            TaskId = 0,
            Name = name,
            Namespace = ns,
            Environment = job.Environment,
            Project = job.Project,
            Command = job.Command,
            Trigger = trigger,
            TimeoutSeconds = timeout,
            Priority = (prior ?? DefaultPrior) switch { >= 2 => TaskPriorities.High, <= 0 => TaskPriorities.Low, _ => TaskPriorities.Normal },
            CallbackUrl = string.IsNullOrEmpty(body.Callback) ? null : body.Callback,
            Status = TaskStatuses.Scheduled,
            CreatedAt = now,
            UpdatedAt = now,
            ScheduleAnchor = now,
            NextRunAt = trigger.FirstDue(now),
            Uuid = uuid,
            Template = template.Name,
            Extra = extra?.ToJsonString(),
            Value = value?.ToJsonString(),
            Prior = prior ?? DefaultPrior,
            Quotas = quotas,
            Pool = pool,
            Adjustable = adjustable ?? false,
            Tags = tags!,
            MaxRuns = times,
            Variables = job.Variables,
            CreatedBy = NamespaceAccess.KeyNameOf(user),
        };
        var firstExecution = trigger.Kind == TriggerKind.Now ? TaskRunOrchestrator.NewExecutionId(now.UtcDateTime, Guid.NewGuid()) : null;
        var created = await creation.CreateAsync(draft, directory => WriteScript(directory, job.Script), new TaskCreationStart(who, clientIp, firstExecution), cancellationToken).ConfigureAwait(false);
        return created.Outcome switch
        {
            TaskCreationOutcome.Created => new V2SubmitOutcome(V2SubmitKind.Submitted, Task: created.Task, RunId: firstExecution ?? ""),
            TaskCreationOutcome.UuidTaken => V2SubmitOutcome.Invalid($"uuid '{uuid}' already exists"),
            _ => V2SubmitOutcome.Invalid($"name '{name}' already exists"),
        };
    }

    /// <summary>Why the rendered job cannot run here: its environment, command, project or variables; null when it can.</summary>
    private async Task<string?> JobProblemAsync(RenderedJob job, string ns, CancellationToken cancellationToken)
    {
        if (Core.Validation.EnvironmentName.Validate(job.Environment) is { } envError)
        {
            return $"environment '{job.Environment}': {envError}";
        }

        var environment = await environments.GetAsync(job.Environment, cancellationToken).ConfigureAwait(false);
        if (environment is null)
        {
            return $"environment '{job.Environment}' does not exist";
        }

        if (environment.Status != EnvironmentStatus.Ready)
        {
            return $"environment '{job.Environment}' is not ready (it is {JsonSerializer.Serialize(environment.Status).Trim('"')})";
        }

        if (TaskFunctions.ValidateCommand(job.Command) is { } commandError)
        {
            return "command: " + commandError;
        }

        if (job.Project is { } project)
        {
            if (job.Script is not null)
            {
                return "give either a script or a project, not both";
            }

            if (Core.Projects.ProjectName.Validate(project) is { } projectError)
            {
                return $"project '{project}': {projectError}";
            }

            var found = await projects.GetAsync(project, cancellationToken).ConfigureAwait(false);
            if (found is null || !string.Equals(found.Namespace, ns, StringComparison.Ordinal))
            {
                return $"project '{project}' does not exist in namespace '{ns}'";
            }
        }

        foreach (var (key, text) in job.Variables)
        {
            if ((VariableRules.NameProblem(key) ?? VariableRules.ValueProblem(text)) is { } variableError)
            {
                return $"variable '{key}': {variableError}";
            }
        }

        return null;
    }

    /// <summary>The task's script directory, with the rendered script as <c>main.py</c> when there is one.</summary>
    private static void WriteScript(string directory, string? script)
    {
        Directory.CreateDirectory(directory);
        if (script is not null)
        {
            File.WriteAllText(Path.Combine(directory, "main.py"), script, new System.Text.UTF8Encoding(false));
        }
    }

    /// <summary>Seed 002's tags: <c>k=v,k=v</c> text or an array of <c>k=v</c>; absent = none.</summary>
    internal static (IReadOnlyDictionary<string, string>? Tags, string? Problem) ReadTags(JsonElement? element)
    {
        if (element is not { } e || e.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
        {
            return (new Dictionary<string, string>(StringComparer.Ordinal), null);
        }

        var (tags, problem) = e.ValueKind switch
        {
            JsonValueKind.String => TaskTags.Parse(e.GetString()),
            JsonValueKind.Array when e.EnumerateArray().All(i => i.ValueKind == JsonValueKind.String) => TaskTags.Parse(e.EnumerateArray().Select(i => i.GetString()!).ToList()),
            _ => (null, "tags must be \"k=v,k=v\" or an array of \"k=v\""),
        };
        return (tags, problem is null ? null : "tags: " + problem);
    }

    private static (int? Value, string? Problem) ReadInt(JsonElement? element, string field, int min, int max)
    {
        if (element is not { } e || e.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined || (e.ValueKind == JsonValueKind.String && string.IsNullOrWhiteSpace(e.GetString())))
        {
            return (null, null);
        }

        var ok = e.ValueKind switch
        {
            JsonValueKind.Number => e.TryGetInt32(out var n) ? n : (int?)null,
            JsonValueKind.String => int.TryParse(e.GetString()!.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? n : null,
            _ => null,
        };
        return ok is { } value && value >= min && value <= max
            ? (value, null)
            : (null, $"{field} must be a whole number from {min} to {max} (a number or a numeric string)");
    }

    private static (bool? Value, string? Problem) ReadBool(JsonElement? element, string field) => element switch
    {
        null or { ValueKind: JsonValueKind.Null or JsonValueKind.Undefined } => (null, null),
        { ValueKind: JsonValueKind.True } => (true, null),
        { ValueKind: JsonValueKind.False } => (false, null),
        { ValueKind: JsonValueKind.String } s when bool.TryParse(s.GetString(), out var b) => (b, null),
        _ => (null, $"{field} must be true or false"),
    };
}
