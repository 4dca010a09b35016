using EnvFabric.Activities.Tasks;
using EnvFabric.Durable;

namespace EnvFabric.Orchestrations.Tasks;

/// <summary>Registers the task orchestrations and their activities with the durable worker.</summary>
public static class TaskOrchestrationRegistration
{
    public static IDurableTaskBuilder AddTaskOrchestrations(this IDurableTaskBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder
            .AddOrchestrator<TaskRunOrchestrator>(TaskRunOrchestrator.Name)
            .AddOrchestrator<ScheduleOrchestrator>(ScheduleOrchestrator.Name)
            .AddOrchestrator<CallbackOrchestrator>(CallbackOrchestrator.Name)
            .AddTaskActivities();
    }
}
