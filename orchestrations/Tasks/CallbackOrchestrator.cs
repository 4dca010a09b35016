using EnvFabric.Activities.Tasks;
using Microsoft.DurableTask;

namespace EnvFabric.Orchestrations.Tasks;

/// <summary>
/// Delivers one finished run's outcome to the task's callback URL: an attempt, then durable timers doubling
/// from CALLBACK_RETRY_SECONDS between attempts, until one succeeds, a 4xx says retrying cannot help, or
/// CALLBACK_MAX_ATTEMPTS is reached. Each attempt's result is recorded on the execution.
/// </summary>
public sealed class CallbackOrchestrator : TaskOrchestrator<CallbackInput, string>
{
    public const string Name = TaskOrchestratorNames.Callback;

    private static readonly TaskOptions StorageRetry = TaskOptions.FromRetryPolicy(new RetryPolicy(5, TimeSpan.FromSeconds(1), 2.0, TimeSpan.FromSeconds(15)));

    public override async Task<string> RunAsync(TaskOrchestrationContext context, CallbackInput input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        for (var attempt = 1; ; attempt++)
        {
            CallbackAttemptResult result;
            try
            {
                result = await context.CallActivityAsync<CallbackAttemptResult>(
                    SendCallbackActivity.Name, new SendCallbackRequest(input.Url, input.Namespace, input.Body, context.InstanceId, attempt, input.TimeoutSeconds));
            }
            catch (TaskFailedException ex)
            {
                result = new CallbackAttemptResult(false, null, ex.FailureDetails.ErrorMessage, false);
            }

            var last = result.Delivered || result.Permanent || attempt >= input.MaxAttempts;
            var status = result.Delivered ? CallbackStatuses.Delivered : last ? CallbackStatuses.Failed : CallbackStatuses.Pending;
            var error = result.Delivered ? null
                : !last ? result.Error
                : result.Permanent ? $"{result.Error}; not retried (the receiver refused the request)"
                : $"{result.Error}; gave up after {attempt} attempts";
            await context.CallActivityAsync<bool>(
                RecordCallbackActivity.Name, new RecordCallbackRequest(input.TaskId, input.ExecutionId, status, attempt, error), StorageRetry);
            if (last)
            {
                return status;
            }

            await context.CreateTimer(CallbackOptions.DelayBefore(input.RetrySeconds, attempt + 1), CancellationToken.None);
        }
    }
}
