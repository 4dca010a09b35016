namespace EnvFabric.Core.Environments;

/// <summary>
/// Seed 000's start-up load: an environment whose <c>env_info/&lt;name&gt;.json</c> is on the share but
/// that is missing from the table is imported (status ready). Rows already in the table win.
/// </summary>
public sealed class EnvInfoImporter(IEnvironmentRepository environments, EnvInfoStore envInfo)
{
    /// <summary>Imports what is missing; returns the imported names.</summary>
    public async Task<IReadOnlyList<string>> ImportMissingAsync(string envsDirectory, CancellationToken cancellationToken = default)
    {
        var imported = new List<string>();
        foreach (var document in await envInfo.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            if (await environments.GetAsync(document.Name, cancellationToken).ConfigureAwait(false) is not null)
            {
                continue;
            }

            if (await ImportAsync(document, envsDirectory, cancellationToken).ConfigureAwait(false))
            {
                imported.Add(document.Name);
            }
        }

        return imported;
    }

    /// <summary>Adds the row <paramref name="document"/> describes; false when a row of that name exists (it wins).</summary>
    public async Task<bool> ImportAsync(EnvInfoDocument document, string envsDirectory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(document);
        var record = EnvInfoStore.ToRecord(document, Path.Combine(envsDirectory, document.Name));
        return (await environments.AddAsync(record, cancellationToken).ConfigureAwait(false)).Outcome == SaveOutcome.Saved;
    }
}
