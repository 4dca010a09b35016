using EnvFabric.Core.Configuration;
using EnvFabric.Core.Environments;
using Microsoft.Extensions.Configuration;

namespace EnvFabric.Core.Tests.Configuration;

public sealed class SettingsBindingTests
{
    [Theory]
    [InlineData("1", true)]
    [InlineData("true", true)]
    [InlineData("TRUE", true)]
    [InlineData("yes", true)]
    [InlineData("On", true)]
    [InlineData("0", false)]
    [InlineData("False", false)]
    [InlineData("no", false)]
    [InlineData("OFF", false)]
    [InlineData(" 1 ", true)]
    public void Bind_PipBooleanForm_IsRead(string text, bool expected)
    {
        var options = new EnvFabricOptions { PipNoIndex = !expected };

        SettingsBinding.Bind(Configuration(("PIP_NO_INDEX", text)), options);

        Assert.Equal(expected, options.PipNoIndex);
    }

    [Theory]
    [InlineData("2")]
    [InlineData("y")]
    [InlineData("enabled")]
    public void Bind_NotABoolean_FailsNamingSettingValueAndForms(string text)
    {
        var error = Assert.Throws<InvalidSettingException>(() => SettingsBinding.Bind(Configuration(("PIP_NO_INDEX", text)), new EnvFabricOptions()));

        Assert.Equal($"Setting PIP_NO_INDEX: '{text}' is not a boolean (use 1/0, true/false, yes/no, on/off)", error.Message);
    }

    [Fact]
    public void Bind_OutOfRange_FailsNamingTheRange()
    {
        var error = Assert.Throws<InvalidSettingException>(() => SettingsBinding.Bind(Configuration(("MAX_CONCURRENT_TASKS", "0")), new EnvFabricOptions()));

        Assert.Equal("Setting MAX_CONCURRENT_TASKS: '0' is out of range (use 1 to 10000)", error.Message);
    }

    [Fact]
    public void Bind_PatternRefused_FailsWithTheSettingsOwnMessage()
    {
        var error = Assert.Throws<InvalidSettingException>(() => EnvironmentsOptions.Bind(Configuration(("ENV_BACKEND", "pipenv")), new EnvironmentsOptions()));

        Assert.Equal("Setting ENV_BACKEND: 'pipenv' is not accepted (ENV_BACKEND must be auto, uv, venv or conda)", error.Message);
    }

    [Fact]
    public void Bind_EmptyValue_KeepsTheDefault()
    {
        var options = new EnvFabricOptions();

        SettingsBinding.Bind(Configuration(("EXECUTION_TIMEOUT", ""), ("PIP_NO_INDEX", "")), options);

        Assert.Equal(30, options.ExecutionTimeout);
        Assert.False(options.PipNoIndex);
    }

    private static IConfiguration Configuration(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();
}
