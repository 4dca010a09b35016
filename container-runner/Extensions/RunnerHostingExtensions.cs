using EnvFabric.Core.Configuration;
using EnvFabric.Core.Runner;
using EnvFabric.Core.Storage;
using EnvFabric.Runner.Backends;
using EnvFabric.Runner.Discovery;
using EnvFabric.Runner.Jobs;
using EnvFabric.Runner.Processes;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace EnvFabric.Runner.Extensions;

/// <summary>Wiring of the runner host.</summary>
public static class RunnerHostingExtensions
{
    /// <summary>Environment variables job processes inherit from the runner (never storage keys or other secrets).</summary>
    private static readonly string[] InheritedVariables =
    [
        "PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "SHELL",
        "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
    ];

    /// <summary>
    /// Configuration (local.settings.json Values, then environment variables), options, storage and the runner's
    /// services. An <see cref="IJobEventSink"/> registered before this call wins over the durable client's.
    /// </summary>
    public static IHostApplicationBuilder AddRunner(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var baseDirectory = builder.Configuration.AddLocalSettings(Environment.CurrentDirectory);
        var configuration = builder.Configuration;
        var services = builder.Services;

        // Process starts (fork/exec) and /proc reads block a pool thread briefly; with many jobs the pool's slow
        // thread injection would otherwise add latency to dispatch.
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, 32), io);

        services.AddOptions<EnvFabricOptions>().Configure(o => SettingsBinding.Bind(configuration, o)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<RunnerOptions>().Configure(o => RunnerOptions.Bind(configuration, o)).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new DataPaths(sp.GetRequiredService<IOptions<EnvFabricOptions>>().Value, baseDirectory));
        services.TryAddSingleton(_ => StorageAccount.FromConfiguration(configuration));
        services.AddRunnerClient();
        services.TryAddSingleton(sp => sp.GetRequiredService<IOptions<RunnerOptions>>().Value);
        services.TryAddSingleton<RunnerState>();
        services.TryAddSingleton<ToolDiscovery>();
        services.TryAddSingleton(sp => new ProcessSampler(TimeSpan.FromMilliseconds(sp.GetRequiredService<IOptions<RunnerOptions>>().Value.SampleMilliseconds)));
        services.TryAddSingleton(sp => CreateProcessSettings(sp.GetRequiredService<IOptions<RunnerOptions>>().Value));
        services.AddSingleton<EnvironmentBackendBase, VenvBackend>();
        services.AddSingleton<EnvironmentBackendBase, UvBackend>();
        services.AddSingleton<EnvironmentBackendBase, CondaBackend>();
        services.TryAddSingleton<JobExecutor>();
        services.AddDurableEventSink(configuration, baseDirectory);
        services.AddHostedService<RunnerPresence>();
        services.AddHostedService<ControlListener>();
        services.AddHostedService<JobQueueConsumer>();
        return builder;
    }

    public static ProcessRunnerSettings CreateProcessSettings(RunnerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in InheritedVariables)
        {
            if (Environment.GetEnvironmentVariable(name) is { } value)
            {
                environment[name] = value;
            }
        }

        var settings = new ProcessRunnerSettings
        {
            ReaperPython = JobReaper.FindInterpreter(Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin")
                ?? throw new InvalidOperationException("python3 with its standard library (not only python3-minimal) is required on PATH: the runner starts every job under job-reaper.py, which leads the job's process group and measures it at exit"),
            StopGrace = TimeSpan.FromSeconds(options.StopGraceSeconds),
            TailBytes = options.ResultTailBytes,
            BaseEnvironment = environment,
        };
        return File.Exists(settings.ReaperScript) ? settings
            : throw new InvalidOperationException($"{settings.ReaperScript} is missing: it is published beside EnvFabric.Runner.dll");
    }
}
