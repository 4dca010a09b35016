using DurableTask.Core;
using DurableTask.Core.Middleware;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Worker.Shims;
using Microsoft.Extensions.DependencyInjection;

namespace EnvFabric.Durable.Worker;

/// <summary>A DTFx object creator for one registered name and type, creating through DI.</summary>
internal abstract class RegisteredCreator<T> : ObjectCreator<T>
{
    protected RegisteredCreator(string name, Type type, DurableTaskShimFactory shims, IServiceProvider services)
    {
        Name = name;
        Version = string.Empty;
        Type = type;
        Shims = shims;
        Services = services;
    }

    protected Type Type { get; }

    protected DurableTaskShimFactory Shims { get; }

    protected IServiceProvider Services { get; }
}

/// <summary>Gives DTFx, for one registered orchestrator name, a fresh shim around a DI-created orchestrator.</summary>
internal sealed class OrchestrationCreator(string name, Type type, DurableTaskShimFactory shims, IServiceProvider services)
    : RegisteredCreator<TaskOrchestration>(name, type, shims, services)
{
    public override TaskOrchestration Create() => new DeferredOrchestration(Name, () => (ITaskOrchestrator)ActivatorUtilities.CreateInstance(Services, Type), Shims);
}

/// <summary>Gives DTFx, for one registered activity name, a shim that creates the activity in its own DI scope.</summary>
internal sealed class ActivityCreator(string name, Type type, DurableTaskShimFactory shims, IServiceProvider services)
    : RegisteredCreator<DurableTask.Core.TaskActivity>(name, type, shims, services)
{
    public override DurableTask.Core.TaskActivity Create() => new ScopedActivity(Name, Type, Shims, Services);

    private sealed class ScopedActivity(string name, Type type, DurableTaskShimFactory shims, IServiceProvider services) : DurableTask.Core.TaskActivity
    {
        public override string Run(TaskContext context, string input) =>
            throw new InvalidOperationException("Activities run asynchronously; DTFx calls RunAsync.");

        public override async Task<string> RunAsync(TaskContext context, string input)
        {
            var scope = services.CreateAsyncScope();
            await using (scope.ConfigureAwait(false))
            {
                var activity = (ITaskActivity)ActivatorUtilities.CreateInstance(scope.ServiceProvider, type);
                return await shims.CreateActivity(name, activity).RunAsync(context, input).ConfigureAwait(false);
            }
        }
    }
}

/// <summary>
/// An orchestration whose shim is built on first use, so that <see cref="ParentInstanceMiddleware"/> can hand it
/// the parent instance first: DTFx picks the orchestration object before dispatcher middleware runs, so the
/// middleware cannot swap it for a shim that knows its parent, but it can tell this one.
/// </summary>
internal sealed class DeferredOrchestration(string name, Func<ITaskOrchestrator> create, DurableTaskShimFactory shims) : TaskOrchestration
{
    private TaskOrchestration? _shim;
    private Microsoft.DurableTask.ParentOrchestrationInstance? _parent;

    public void SetParent(ParentInstance? parent)
    {
        if (_shim is null && parent?.OrchestrationInstance is { } instance)
        {
            _parent = new Microsoft.DurableTask.ParentOrchestrationInstance(parent.Name, instance.InstanceId);
        }
    }

    public override Task<string> Execute(OrchestrationContext context, string input) => Shim.Execute(context, input);

    public override void RaiseEvent(OrchestrationContext context, string name, string input) => Shim.RaiseEvent(context, name, input);

    public override string GetStatus() => Shim.GetStatus();

    private TaskOrchestration Shim => _shim ??= shims.CreateOrchestration(name, create(), _parent);
}

/// <summary>Tells a <see cref="DeferredOrchestration"/> its parent before it first runs.</summary>
internal static class ParentInstanceMiddleware
{
    public static Task InvokeAsync(DispatchMiddlewareContext context, Func<Task> next)
    {
        if (context.GetProperty<TaskOrchestration>() is DeferredOrchestration deferred)
        {
            deferred.SetParent(context.GetProperty<OrchestrationRuntimeState>()?.ParentInstance);
        }

        return next();
    }
}
