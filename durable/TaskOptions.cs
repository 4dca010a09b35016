namespace EnvFabric.Durable;

/// <summary>Options of an activity or sub-orchestration call.</summary>
public record TaskOptions
{
    /// <summary>Options with an optional retry policy.</summary>
    public TaskOptions(RetryPolicy? retry = null) => Retry = retry;

    /// <summary>The retry policy; null runs the task once.</summary>
    public RetryPolicy? Retry { get; init; }

    /// <summary>Options that retry with <paramref name="policy"/>.</summary>
    public static TaskOptions FromRetryPolicy(RetryPolicy policy) => new(policy);
}

/// <summary>Options of a sub-orchestration call.</summary>
public sealed record SubOrchestrationOptions : TaskOptions
{
    /// <summary>Options with an optional instance id and retry policy.</summary>
    public SubOrchestrationOptions(string? instanceId = null, RetryPolicy? retry = null)
        : base(retry) => InstanceId = instanceId;

    /// <summary>The sub-orchestration's instance id; null derives one from <see cref="TaskOrchestrationContext.NewGuid"/>.</summary>
    public string? InstanceId { get; init; }
}

/// <summary>
/// Retries with exponential backoff: the delay before attempt n+1 is
/// <c>firstRetryInterval * backoffCoefficient^(n-1)</c>, capped at <see cref="MaxRetryInterval"/>; the waits
/// are durable timers, so they survive restarts.
/// </summary>
public sealed record RetryPolicy
{
    /// <summary>Creates a policy.</summary>
    /// <param name="maxNumberOfAttempts">Attempts in all, the first included (at least 1).</param>
    /// <param name="firstRetryInterval">The delay before the first retry (positive).</param>
    /// <param name="backoffCoefficient">The growth factor of the delay (at least 1).</param>
    /// <param name="maxRetryInterval">The longest delay (default one hour).</param>
    /// <param name="retryTimeout">No retry starts after this much time since the first attempt (default none).</param>
    public RetryPolicy(int maxNumberOfAttempts, TimeSpan firstRetryInterval, double backoffCoefficient = 1.0, TimeSpan? maxRetryInterval = null, TimeSpan? retryTimeout = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxNumberOfAttempts, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(firstRetryInterval, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(backoffCoefficient, 1.0);
        MaxNumberOfAttempts = maxNumberOfAttempts;
        FirstRetryInterval = firstRetryInterval;
        BackoffCoefficient = backoffCoefficient;
        MaxRetryInterval = maxRetryInterval ?? TimeSpan.FromHours(1);
        RetryTimeout = retryTimeout ?? Timeout.InfiniteTimeSpan;
    }

    /// <summary>Attempts in all, the first included.</summary>
    public int MaxNumberOfAttempts { get; }

    /// <summary>The delay before the first retry.</summary>
    public TimeSpan FirstRetryInterval { get; }

    /// <summary>The growth factor of the delay.</summary>
    public double BackoffCoefficient { get; }

    /// <summary>The longest delay between attempts.</summary>
    public TimeSpan MaxRetryInterval { get; }

    /// <summary>No retry starts later than this after the first attempt; <see cref="Timeout.InfiniteTimeSpan"/> for none.</summary>
    public TimeSpan RetryTimeout { get; }

    /// <summary>Decides whether a failure is retried at all; null retries every failure.</summary>
    public Func<TaskFailureDetails, bool>? HandleFailure { get; init; }

    /// <summary>The delay before attempt <paramref name="attempt"/> + 1 (attempts count from 1).</summary>
    public TimeSpan GetDelay(int attempt)
    {
        var ticks = FirstRetryInterval.Ticks * Math.Pow(BackoffCoefficient, Math.Max(0, attempt - 1));
        return ticks >= MaxRetryInterval.Ticks ? MaxRetryInterval : TimeSpan.FromTicks((long)ticks);
    }
}

/// <summary>Options of a new orchestration instance.</summary>
/// <param name="InstanceId">The instance id; null for a new GUID ("N" format).</param>
/// <param name="StartAt">Start no earlier than this (a delayed start); null starts at once.</param>
public sealed record StartOrchestrationOptions(string? InstanceId = null, DateTimeOffset? StartAt = null);

/// <summary>Why a task or orchestration failed.</summary>
/// <param name="ErrorType">The exception's full type name.</param>
/// <param name="ErrorMessage">The exception's message.</param>
/// <param name="StackTrace">The exception's stack trace, when known.</param>
/// <param name="InnerFailure">The inner exception's details, when there was one.</param>
public sealed record TaskFailureDetails(string ErrorType, string ErrorMessage, string? StackTrace = null, TaskFailureDetails? InnerFailure = null)
{
    /// <summary>Details of <paramref name="exception"/> and its inner exceptions.</summary>
    public static TaskFailureDetails FromException(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (exception is TaskFailedException failed)
        {
            // A task's failure rethrown by an orchestrator keeps the original cause inside.
            return new TaskFailureDetails(exception.GetType().FullName!, exception.Message, exception.StackTrace, failed.FailureDetails);
        }

        return new TaskFailureDetails(
            exception.GetType().FullName ?? exception.GetType().Name,
            exception.Message,
            exception.StackTrace,
            exception.InnerException is null ? null : FromException(exception.InnerException));
    }

    /// <summary>True when the failure (not its inner failures) was an exception of type <typeparamref name="T"/> or a subtype.</summary>
    public bool IsCausedBy<T>() where T : Exception
    {
        var type = Type.GetType(ErrorType, throwOnError: false);
        return type is not null ? typeof(T).IsAssignableFrom(type) : ErrorType == typeof(T).FullName;
    }

    /// <inheritdoc/>
    public override string ToString() => $"{ErrorType}: {ErrorMessage}";
}

/// <summary>An activity or sub-orchestration failed; thrown into the orchestrator, which may catch it.</summary>
public sealed class TaskFailedException : Exception
{
    /// <summary>Creates the exception for a failed task.</summary>
    public TaskFailedException(string taskName, int taskId, TaskFailureDetails failureDetails)
        : base($"Task '{taskName}' (#{taskId}) failed with an unhandled exception: {failureDetails?.ErrorMessage}")
    {
        ArgumentNullException.ThrowIfNull(failureDetails);
        TaskName = taskName;
        TaskId = taskId;
        FailureDetails = failureDetails;
    }

    /// <summary>Creates the exception with a message only.</summary>
    public TaskFailedException()
        : this("unknown", -1, new TaskFailureDetails(nameof(Exception), "Task failed"))
    {
    }

    /// <summary>Creates the exception with a message only.</summary>
    public TaskFailedException(string message)
        : this("unknown", -1, new TaskFailureDetails(nameof(Exception), message))
    {
    }

    /// <summary>Creates the exception with a message and inner exception.</summary>
    public TaskFailedException(string message, Exception innerException)
        : base(message, innerException)
    {
        TaskName = "unknown";
        TaskId = -1;
        FailureDetails = TaskFailureDetails.FromException(innerException);
    }

    /// <summary>The failed task's name.</summary>
    public string TaskName { get; }

    /// <summary>The failed task's id (its scheduling event's id).</summary>
    public int TaskId { get; }

    /// <summary>The failure as recorded in history.</summary>
    public TaskFailureDetails FailureDetails { get; }
}

/// <summary>An instance id is in use by an instance that has not finished.</summary>
public sealed class OrchestrationAlreadyExistsException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public OrchestrationAlreadyExistsException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public OrchestrationAlreadyExistsException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public OrchestrationAlreadyExistsException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The orchestrator's code no longer matches its history (a non-deterministic change).</summary>
public sealed class NonDeterministicOrchestrationException : Exception
{
    /// <summary>Creates the exception.</summary>
    public NonDeterministicOrchestrationException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public NonDeterministicOrchestrationException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public NonDeterministicOrchestrationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
