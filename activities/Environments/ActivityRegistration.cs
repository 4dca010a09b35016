using EnvFabric.Durable;

namespace EnvFabric.Activities.Environments;

/// <summary>Registers the environment build activities with the durable worker.</summary>
public static class EnvironmentActivityRegistration
{
    public static IDurableTaskBuilder AddEnvironmentActivities(this IDurableTaskBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder
            .AddActivity<TakeEnvironmentLockActivity>(TakeEnvironmentLockActivity.Name)
            .AddActivity<ReleaseEnvironmentLockActivity>(ReleaseEnvironmentLockActivity.Name)
            .AddActivity<DispatchRunnerJobActivity>(DispatchRunnerJobActivity.Name)
            .AddActivity<CheckRunnerJobActivity>(CheckRunnerJobActivity.Name)
            .AddActivity<StopRunnerJobActivity>(StopRunnerJobActivity.Name)
            .AddActivity<RecordEnvironmentChangeActivity>(RecordEnvironmentChangeActivity.Name)
            .AddActivity<WriteEnvironmentAuditActivity>(WriteEnvironmentAuditActivity.Name);
    }
}
