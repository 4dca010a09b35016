using EnvFabric.Core.Environments;
using EnvFabric.Core.Runner;
using EnvFabric.Core.Tasks;
using EnvFabric.Core.Validation;
using Microsoft.DurableTask;

namespace EnvFabric.Activities.Environments;

/// <summary>
/// Applies a finished build to the environment: packages, lock, status, requested specs, env_info on the
/// share; for rename also the referencing tasks; for delete the removal of the row and env_info. Reads the
/// full job result from the runner's job table, so lock files never travel through orchestration history.
/// Safe to run twice (a retried activity): every step is a replace or an idempotent delete.
/// </summary>
public sealed class RecordEnvironmentChangeActivity(
    IEnvironmentRepository environments,
    EnvInfoStore envInfo,
    ITaskReferences tasks,
    RunnerJobTable jobs,
    TimeProvider time) : TaskActivity<RecordRequest, RecordResponse>
{
    public const string Name = "RecordEnvironmentChange";

    public override async Task<RecordResponse> RunAsync(TaskActivityContext context, RecordRequest input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var ct = CancellationToken.None;
        var result = input.JobId is null ? null : (await jobs.GetAsync(input.JobId, ct).ConfigureAwait(false))?.Result;
        return input.Build.Operation switch
        {
            EnvOperations.Delete or EnvOperations.Cleanup => await RecordDeleteAsync(input, ct).ConfigureAwait(false),
            EnvOperations.Rename => await RecordRenameAsync(input, result, ct).ConfigureAwait(false),
            EnvOperations.Run => await RecordRunAsync(input, ct).ConfigureAwait(false),
            _ => await RecordBuildAsync(input, result, ct).ConfigureAwait(false),
        };
    }

    private async Task<RecordResponse> RecordDeleteAsync(RecordRequest input, CancellationToken ct)
    {
        var name = input.Build.Environment;
        if (input.Succeeded)
        {
            await environments.DeleteAsync(name, ct).ConfigureAwait(false);
            await envInfo.DeleteAsync(name, ct).ConfigureAwait(false);
            return new RecordResponse();
        }

        var saved = await UpdateAsync(name, r => r with { Status = EnvironmentStatus.Failed, LastError = input.Error }, ct).ConfigureAwait(false);
        return new RecordResponse { Snapshot = saved is null ? null : Snapshot(saved) };
    }

    private async Task<RecordResponse> RecordRenameAsync(RecordRequest input, JobResult? result, CancellationToken ct)
    {
        var oldName = input.Build.Environment;
        var newName = input.Build.NewName!;
        if (!input.Succeeded)
        {
            var failed = await UpdateAsync(oldName, r => r with { Status = r.Status == EnvironmentStatus.Deleting ? EnvironmentStatus.Failed : r.Status, LastError = input.Error }, ct).ConfigureAwait(false);
            return new RecordResponse { Snapshot = failed is null ? null : Snapshot(failed) };
        }

        var old = await environments.GetAsync(oldName, ct).ConfigureAwait(false);
        EnvironmentRecord? renamed;
        if (old is not null)
        {
            var now = time.GetUtcNow();
            var moved = old with
            {
                Name = newName,
                Path = result?.EnvironmentDirectory ?? input.Build.NewDirectory ?? old.Path,
                UpdatedAt = now,
                LastError = null,
                ETag = null,

                // A renamed seed-001 environment no longer matches its (workflow, node, version) name.
                WorkflowId = null,
                NodeId = null,
                VersionId = null,
            };
            var added = await environments.AddAsync(moved, ct).ConfigureAwait(false);
            renamed = added.Record ?? await environments.GetAsync(newName, ct).ConfigureAwait(false);
            await environments.DeleteAsync(oldName, ct).ConfigureAwait(false);
        }
        else
        {
            renamed = await environments.GetAsync(newName, ct).ConfigureAwait(false);
        }

        if (renamed is not null)
        {
            await envInfo.WriteAsync(renamed, ct).ConfigureAwait(false);
        }

        await envInfo.DeleteAsync(oldName, ct).ConfigureAwait(false);
        var updated = await tasks.RenameAsync(oldName, newName, ct).ConfigureAwait(false);
        return new RecordResponse { Snapshot = renamed is null ? null : Snapshot(renamed), UpdatedTasksCount = updated };
    }

    private async Task<RecordResponse> RecordRunAsync(RecordRequest input, CancellationToken ct)
    {
        var saved = await UpdateAsync(input.Build.Environment, r => r with { LastUsedAt = time.GetUtcNow() }, ct, touchUpdated: false).ConfigureAwait(false);
        return new RecordResponse { Snapshot = saved is null ? null : Snapshot(saved) };
    }

    private async Task<RecordResponse> RecordBuildAsync(RecordRequest input, JobResult? result, CancellationToken ct)
    {
        var build = input.Build;
        var requested = build.Packages.Concat(SpecsOf(build.RequirementsText)).ToArray();
        var failedNames = (result?.FailedPackages ?? []).Select(f => NameOf(f.Package)).ToHashSet(StringComparer.Ordinal);
        var saved = await UpdateAsync(build.Environment, record =>
        {
            var packages = result?.Packages ?? record.Packages;
            var specs = build.Operation switch
            {
                EnvOperations.Create => requested.Where(s => !failedNames.Contains(NameOf(s))).ToArray(),
                EnvOperations.Add when input.Succeeded => Merge(record.RequestedSpecs, requested.Where(s => !failedNames.Contains(NameOf(s)))),
                EnvOperations.Remove when input.Succeeded => record.RequestedSpecs.Where(s => !build.Packages.Any(p => NameOf(p) == NameOf(s))).ToArray(),
                _ => record.RequestedSpecs,
            };
            var status = input.Succeeded
                ? EnvironmentStatus.Ready
                : build.Operation is EnvOperations.Add or EnvOperations.Remove && record.Packages.Count > 0 && result is not null
                    ? EnvironmentStatus.Ready
                    : EnvironmentStatus.Failed;
            var now = time.GetUtcNow();
            return record with
            {
                Packages = packages,
                RequestedSpecs = specs,
                LockText = result?.Lock?.Text ?? record.LockText,
                LockKind = result?.Lock is { } l ? LockKindName(l.Kind) : record.LockKind,
                LockFileName = result?.Lock?.FileName ?? record.LockFileName,
                PythonVersion = result?.PythonVersion ?? record.PythonVersion,
                Status = status,
                LastError = input.Succeeded ? null : input.Error,
                LastUsedAt = now,
            };
        }, ct).ConfigureAwait(false);
        if (saved is null)
        {
            return new RecordResponse();
        }

        await envInfo.WriteAsync(saved, ct).ConfigureAwait(false);
        var installed = build.Operation is EnvOperations.Create or EnvOperations.Add or EnvOperations.Reset
            ? requested.Select(NameOf).Distinct()
                .Select(n => saved.Packages.FirstOrDefault(p => PackageSpec.NormalizeName(p.Name) == n))
                .Where(p => p is not null && !failedNames.Contains(PackageSpec.NormalizeName(p.Name)))
                .Select(p => p!)
                .ToArray()
            : [];
        var removed = build.Operation == EnvOperations.Remove
            ? build.Packages.Where(p => !saved.Packages.Any(i => PackageSpec.NormalizeName(i.Name) == NameOf(p))).ToArray()
            : [];
        var failed = (result?.FailedPackages ?? []).ToList();
        if (build.Operation == EnvOperations.Remove && input.Succeeded)
        {
            failed.AddRange(build.Packages.Except(removed).Where(p => failed.All(f => NameOf(f.Package) != NameOf(p)))
                .Select(p => new PackageFailure(p, "still installed after removal")));
        }

        return new RecordResponse { Snapshot = Snapshot(saved), InstalledPackages = installed, FailedPackages = failed, RemovedPackages = removed };
    }

    private async Task<EnvironmentRecord?> UpdateAsync(string name, Func<EnvironmentRecord, EnvironmentRecord> change, CancellationToken ct, bool touchUpdated = true)
    {
        for (var round = 0; round < 5; round++)
        {
            var record = await environments.GetAsync(name, ct).ConfigureAwait(false);
            if (record is null)
            {
                return null;
            }

            var next = change(record);
            if (touchUpdated)
            {
                next = next with { UpdatedAt = time.GetUtcNow() };
            }

            var saved = await environments.UpdateAsync(next, ct).ConfigureAwait(false);
            if (saved.Outcome == SaveOutcome.Saved)
            {
                return saved.Record;
            }
        }

        throw new InvalidOperationException($"environment '{name}' kept changing while its build was being recorded");
    }

    internal static EnvironmentSnapshot Snapshot(EnvironmentRecord r) => new(
        r.Name,
        r.PythonVersion,
        TableEnvironmentRepository.BackendName(r.Backend),
        TableEnvironmentRepository.StatusName(r.Status),
        r.CreatedAt,
        r.UpdatedAt,
        r.Path,
        r.Packages.Count,
        r.LockKind,
        r.WorkflowId,
        r.NodeId,
        r.VersionId);

    private static string[] Merge(IReadOnlyList<string> existing, IEnumerable<string> added)
    {
        var addedList = added.ToList();
        var names = addedList.Select(NameOf).ToHashSet(StringComparer.Ordinal);
        return existing.Where(s => !names.Contains(NameOf(s))).Concat(addedList).ToArray();
    }

    private static IEnumerable<string> SpecsOf(string? requirements) =>
        requirements is null ? [] : RequirementsFile.Parse(requirements).Requirements.Select(r => r.ToString());

    private static string NameOf(string spec) =>
        PackageSpec.Parse(spec, new PackageSpecOptions { AllowDirectUrls = true }).Requirement?.NormalizedName ?? PackageSpec.NormalizeName(spec);

    private static string LockKindName(LockKind kind) => kind switch
    {
        LockKind.UvLock => "uv.lock",
        LockKind.CondaExplicit => "conda-explicit",
        _ => "pip-freeze",
    };
}
