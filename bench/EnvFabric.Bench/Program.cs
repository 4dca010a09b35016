using EnvFabric.Bench;

// Usage: EnvFabric.Bench <suite> [<suite> ...]; each suite prints name=value lines on stdout.
var suites = BenchmarkSuites.All.ToDictionary(s => s.Name, StringComparer.OrdinalIgnoreCase);
if (args.Length == 0 || args.Any(a => !suites.ContainsKey(a)))
{
    await Console.Error.WriteLineAsync($"usage: bench/run <{string.Join('|', suites.Keys)}> ...");
    return 2;
}

var storage = Environment.GetEnvironmentVariable("ENVFABRIC_TEST_STORAGE")
    ?? throw new InvalidOperationException("ENVFABRIC_TEST_STORAGE is not set: run benchmarks through bench/run, which starts Azurite");
foreach (var name in args)
{
    await suites[name].RunAsync(new BenchContext(storage, Console.Out));
}

return 0;
