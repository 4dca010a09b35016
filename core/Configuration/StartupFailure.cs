using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace EnvFabric.Core.Configuration;

/// <summary>
/// How a process stops on a wrong setting: one line on stderr naming the setting, the value and what is
/// accepted, and exit code <see cref="ExitCode"/>; never a stack trace. Other failures are left alone.
/// </summary>
public static class StartupFailure
{
    /// <summary>Exit code of a process stopped by a wrong setting (sysexits' EX_CONFIG).</summary>
    public const int ExitCode = 78;

    /// <summary>
    /// Runs every options validation registered with <c>ValidateOnStart</c> now, so that a wrong setting fails
    /// before the host starts (the host would log it with a stack trace). Only when <paramref name="entryAssembly"/>
    /// is the process's entry point: under a test host (<c>WebApplicationFactory</c>) the factory starts the host and
    /// its start-up validation reports the error to the test.
    /// </summary>
    public static void ValidateSettings(IServiceProvider services, Assembly entryAssembly)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (Assembly.GetEntryAssembly() == entryAssembly)
        {
            services.GetService<IStartupValidator>()?.Validate();

            // Built from AzureWebJobsStorage: a wrong connection string fails here rather than in a hosted service.
            _ = services.GetService<Storage.StorageAccount>();
        }
    }

    /// <summary>The one line for a setting error, or null when <paramref name="exception"/> is not one.</summary>
    public static string? Describe(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        switch (exception)
        {
            case InvalidSettingException setting:
                return setting.Message;
            case OptionsValidationException validation:
                return string.Join("; ", validation.Failures.Select(f => f.ReplaceLineEndings(" ")));
            case AggregateException aggregate:
                var lines = aggregate.InnerExceptions.Select(Describe).ToList();
                return lines.Count > 0 && lines.All(l => l is not null) ? string.Join("; ", lines) : null;
            default:
                return null;
        }
    }

    /// <summary>
    /// Runs <paramref name="main"/>, the body of <paramref name="entryAssembly"/>'s entry point; a setting error prints
    /// its one line and returns <see cref="ExitCode"/>. Under a test host the error is left to reach the test.
    /// </summary>
    public static async Task<int> RunAsync(Assembly entryAssembly, Func<Task> main)
    {
        ArgumentNullException.ThrowIfNull(main);
        try
        {
            await main().ConfigureAwait(false);
            return 0;
        }
        catch (Exception ex) when (Assembly.GetEntryAssembly() == entryAssembly && Describe(ex) is { } line)
        {
            await Console.Error.WriteLineAsync(line).ConfigureAwait(false);
            return ExitCode;
        }
    }
}
