using EnvFabric.Core.Runner;
using EnvFabric.Runner.Processes;

namespace EnvFabric.Runner.Backends;

/// <summary>
/// Installs a Python interpreter on the share for <see cref="PythonInstallJob"/>: <c>uv python install</c> into
/// UV_PYTHON_INSTALL_DIR (<c>{DATA_ROOT}/python</c>), or a conda prefix <c>{DATA_ROOT}/python/conda-{version}</c>.
/// Both leave <c>{dir}/bin/python3</c> under <c>{DATA_ROOT}/python</c>, where discovery finds interpreters. Argv only.
/// </summary>
public static class PythonInstaller
{
    /// <summary>The tool this runner uses for the job: the one asked for when present, else the other; null when neither is.</summary>
    public static string? ChooseTool(PythonInstallJob job, RunnerCapabilities capabilities)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(capabilities);
        var hasUv = capabilities.Tools.Any(t => t.Name == "uv");
        var hasConda = capabilities.CondaTool is not null;
        return job.Tool == "conda" && hasConda ? "conda"
            : hasUv ? "uv"
            : hasConda ? "conda"
            : null;
    }

    /// <summary>The conda prefix of <paramref name="version"/>.</summary>
    public static string CondaPrefix(string pythonDirectory, string version) => Path.Combine(pythonDirectory, "conda-" + version);

    /// <summary>The command for <paramref name="tool"/>, with its environment.</summary>
    public static ProcessSpec Command(string tool, string version, BackendContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return tool switch
        {
            "uv" => new ProcessSpec(["uv", "python", "install", version]) { Environment = UvBackend.UvEnvironment(context), CaptureOutput = true, WorkingDirectory = context.Paths.Python },
            "conda" => new ProcessSpec([context.Capabilities.CondaTool!, "create", "-y", "-p", CondaPrefix(context.Paths.Python, version), "python=" + version])
            {
                Environment = CondaBackend.CondaEnvironment(context),
                CaptureOutput = true,
                WorkingDirectory = context.Paths.Python,
            },
            _ => throw new ArgumentOutOfRangeException(nameof(tool), tool, "uv or conda"),
        };
    }

    /// <summary>Runs the install; the outcome names the tool, and fails with the tool's error when it fails.</summary>
    public static async Task<EnvironmentOutcome> InstallAsync(PythonInstallJob job, BackendContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(context);
        if (!PythonInstallJob.IsValidVersion(job.PythonVersion))
        {
            return EnvironmentOutcome.Rejected($"invalid Python version '{job.PythonVersion}' (use 3.X or 3.X.Y)");
        }

        if (ChooseTool(job, context.Capabilities) is not { } tool)
        {
            return EnvironmentOutcome.Failed("this runner has neither uv nor conda (micromamba, mamba or conda) to install Python with");
        }

        Directory.CreateDirectory(context.Paths.Python);
        if (tool == "conda" && File.Exists(Path.Combine(CondaPrefix(context.Paths.Python, job.PythonVersion), "bin", "python3")))
        {
            context.Note($"[envfabric] {CondaPrefix(context.Paths.Python, job.PythonVersion)} already has Python {job.PythonVersion}");
            return new EnvironmentOutcome { PythonVersion = job.PythonVersion, EnvironmentDirectory = context.Paths.Python, Warnings = ["already installed"] };
        }

        context.Note($"[envfabric] installing Python {job.PythonVersion} with {tool} into {context.Paths.Python}");
        var outcome = await context.Processes.RunAsync(Command(tool, job.PythonVersion, context), cancellationToken);
        return outcome.Succeeded
            ? new EnvironmentOutcome { PythonVersion = job.PythonVersion, EnvironmentDirectory = context.Paths.Python }
            : EnvironmentOutcome.FromProcess(outcome, tool == "uv" ? "uv python install failed" : "conda create failed");
    }
}
