using EnvFabric.Testing;
using Microsoft.Extensions.Options;

namespace EnvFabric.Functions.Tests;

[Collection(AzuriteCollection.Name)]
public sealed class HostJsonTests(AzuriteFixture azurite)
{
    [Theory]
    [InlineData("AzureFunctionsJobHost:extensions:durableTask:storageProvider:partitionCount", "0", "extensions.durableTask.storageProvider.partitionCount")]
    [InlineData("AzureFunctionsJobHost:extensions:durableTask:storageProvider:partitionCount", "17", "extensions.durableTask.storageProvider.partitionCount")]
    [InlineData("AzureFunctionsJobHost:extensions:durableTask:hubName", "1bad-hub", "extensions.durableTask.hubName")]
    [InlineData("AzureFunctionsJobHost:extensions:durableTask:storageProvider:controlQueueBatchSize", "64", "extensions.durableTask.storageProvider.controlQueueBatchSize")]
    [InlineData("AzureFunctionsJobHost:extensions:durableTask:storageProvider:controlQueueVisibilityTimeout", "00:00:01", "extensions.durableTask.storageProvider.controlQueueVisibilityTimeout")]
    [InlineData("AzureFunctionsJobHost:extensions:durableTask:storageProvider:workItemQueueVisibilityTimeout", "00:00:02", "extensions.durableTask.storageProvider.workItemQueueVisibilityTimeout")]
    [InlineData("AzureFunctionsJobHost:version", "1.0", "version")]
    public void Start_WrongHostJsonValue_FailsNamingTheKey(string key, string value, string named)
    {
        using var factory = new FunctionsFactory(azurite, new Dictionary<string, string?> { [key] = value });

        var error = Assert.Throws<OptionsValidationException>(() => factory.CreateClient());

        Assert.Contains("host.json: " + named, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Start_NonNumericSetting_FailsNamingTheSetting()
    {
        using var factory = new FunctionsFactory(azurite, new Dictionary<string, string?> { ["EXECUTION_TIMEOUT"] = "soon" });

        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());

        Assert.Contains("Setting EXECUTION_TIMEOUT: 'soon' is not a whole number", error.ToString(), StringComparison.Ordinal);
    }
}
