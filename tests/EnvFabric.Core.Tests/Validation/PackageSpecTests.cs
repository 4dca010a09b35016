using EnvFabric.Core.Validation;

namespace EnvFabric.Core.Tests.Validation;

public sealed class PackageSpecTests
{
    [Theory]
    [InlineData("numpy", "numpy")]
    [InlineData("numpy>=1.24.0", "numpy>=1.24.0")]
    [InlineData("pandas==1.5.0", "pandas==1.5.0")]
    [InlineData("matplotlib >= 3.4.0", "matplotlib>=3.4.0")]
    [InlineData("requests[security,socks]>=2.8.1,==2.8.*", "requests[security,socks]>=2.8.1,==2.8.*")]
    [InlineData("name (>=1.0, <2)", "name>=1.0,<2")]
    [InlineData("pip~=21.1", "pip~=21.1")]
    [InlineData("foo===1.0-weird", "foo===1.0-weird")]
    [InlineData("foo!=1.0.post1.dev2", "foo!=1.0.post1.dev2")]
    [InlineData("foo==1.0+local.7", "foo==1.0+local.7")]
    [InlineData("foo<3.0rc1", "foo<3.0rc1")]
    [InlineData("foo==1!2.0", "foo==1!2.0")]
    [InlineData("name; python_version < \"2.7\"", "name; python_version < \"2.7\"")]
    [InlineData("name[quux]>=1.0;python_version<'3.8' and (os_name=='posix' or sys_platform == \"win32\")",
        "name[quux]>=1.0; python_version < '3.8' and (os_name == 'posix' or sys_platform == \"win32\")")]
    [InlineData("name; 'linux' in sys_platform", "name; 'linux' in sys_platform")]
    [InlineData("name; platform_machine not in \"x86_64 aarch64\"", "name; platform_machine not in \"x86_64 aarch64\"")]
    [InlineData("  torch==2.0.0  ", "torch==2.0.0")]
    public void Parse_ValidSpec_ReturnsCanonicalRequirement(string spec, string canonical)
    {
        var result = PackageSpec.Parse(spec);

        Assert.True(result.IsValid, result.Error);
        Assert.Equal(canonical, result.Requirement!.ToString());
    }

    [Theory]
    [InlineData("numpy; rm -rf /")]
    [InlineData("numpy;rm -rf /")]
    [InlineData("numpy && rm -rf /")]
    [InlineData("numpy | cat /etc/passwd")]
    [InlineData("numpy $(whoami)")]
    [InlineData("`id`")]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData(null)]
    [InlineData("--index-url http://evil")]
    [InlineData("-e .")]
    [InlineData("-r requirements.txt")]
    [InlineData("../x")]
    [InlineData("numpy\nscipy")]
    [InlineData("numpy\u0000")]
    [InlineData("nümpy")]
    [InlineData("-numpy")]
    [InlineData("numpy-")]
    [InlineData("numpy>=")]
    [InlineData("numpy>=1.0 extra")]
    [InlineData("numpy=1.0")]
    [InlineData("numpy>=1.*")]
    [InlineData("numpy~=1")]
    [InlineData("numpy~=1.*")]
    [InlineData("numpy<=1.0+local")]
    [InlineData("numpy==1.0.*+local")]
    [InlineData("numpy==abc")]
    [InlineData("numpy[")]
    [InlineData("numpy[a,]")]
    [InlineData("numpy; python_version")]
    [InlineData("numpy; python_version < 3.8")]
    [InlineData("numpy; unknown_var == 'x'")]
    [InlineData("numpy; python_version == 'x' and")]
    [InlineData("numpy; (python_version == 'x'")]
    [InlineData("numpy; python_version == \"3.8")]
    [InlineData("numpy; os_name == 'posix' extra")]
    [InlineData("numpy; os_name in'posix'")]
    [InlineData("numpy (>=1.0")]
    public void Parse_InvalidSpec_IsRefusedWithMessage(string? spec)
    {
        var result = PackageSpec.Parse(spec);

        Assert.False(result.IsValid);
        Assert.False(string.IsNullOrWhiteSpace(result.Error));
    }

    [Fact]
    public void Parse_SemicolonCommand_ExplainsMarker()
    {
        var result = PackageSpec.Parse("numpy; rm -rf /");

        Assert.Contains("'rm' is not a marker variable", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_TenKilobytes_IsRefusedForLength()
    {
        var result = PackageSpec.Parse(new string('a', 10 * 1024));

        Assert.False(result.IsValid);
        Assert.Contains("at most 1024", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_Exactly1024Characters_IsAccepted()
    {
        const string Head = "numpy; python_version == '";
        var spec = Head + new string('3', 1024 - Head.Length - 1) + "'";

        var result = PackageSpec.Parse(spec);

        Assert.True(result.IsValid, result.Error);
    }

    [Theory]
    [InlineData("pkg @ https://example.com/pkg-1.0-py3-none-any.whl")]
    [InlineData("pkg[extra] @ http://example.com/pkg.tar.gz ; python_version >= '3.8'")]
    [InlineData("pkg @ file:///tmp/wheels/pkg-1.0-py3-none-any.whl")]
    public void Parse_DirectUrlWhenAllowed_IsAccepted(string spec)
    {
        var result = PackageSpec.Parse(spec, new PackageSpecOptions { AllowDirectUrls = true });

        Assert.True(result.IsValid, result.Error);
        Assert.NotNull(result.Requirement!.Url);
    }

    [Fact]
    public void Parse_DirectUrlByDefault_IsRefused()
    {
        var result = PackageSpec.Parse("pkg @ https://example.com/pkg.whl");

        Assert.False(result.IsValid);
        Assert.Contains("not allowed", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("pkg @ git+https://example.com/repo.git")]
    [InlineData("pkg @ ftp://example.com/pkg.whl")]
    [InlineData("pkg @ /etc/passwd")]
    [InlineData("pkg @ https://example.com/pkg.whl;python_version>'3'")]
    [InlineData("pkg @ https://example.com/a b")]
    [InlineData("pkg @")]
    public void Parse_BadDirectUrl_IsRefusedEvenWhenAllowed(string spec)
    {
        var result = PackageSpec.Parse(spec, new PackageSpecOptions { AllowDirectUrls = true });

        Assert.False(result.IsValid);
    }

    [Theory]
    [InlineData("Friendly-Bard", "friendly-bard")]
    [InlineData("FRIENDLY-BARD", "friendly-bard")]
    [InlineData("friendly.bard", "friendly-bard")]
    [InlineData("friendly_bard", "friendly-bard")]
    [InlineData("friendly--bard", "friendly-bard")]
    [InlineData("FrIeNdLy-._.-bArD", "friendly-bard")]
    public void NormalizeName_Pep503Examples_Normalize(string name, string expected)
    {
        Assert.Equal(expected, PackageSpec.NormalizeName(name));
    }

    [Fact]
    public void Parse_Extras_AreNormalized()
    {
        var requirement = PackageSpec.Parse("Pkg[Foo_Bar, baz]").Requirement!;

        Assert.Equal(["foo-bar", "baz"], requirement.Extras);
        Assert.Equal("pkg", requirement.NormalizedName);
    }

    [Fact]
    public void ParseAll_OneBadSpec_RefusesAllAndNamesIt()
    {
        var result = PackageSpec.ParseAll(["numpy", "numpy; rm -rf /", "pandas"]);

        Assert.False(result.IsValid);
        Assert.Empty(result.Requirements);
        Assert.Single(result.Errors);
        Assert.Contains("rm -rf", result.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseAll_DuplicateNormalizedNames_AreRefused()
    {
        var result = PackageSpec.ParseAll(["Foo_Bar>=1", "foo-bar<2"]);

        Assert.False(result.IsValid);
        Assert.Contains("more than once", result.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseAll_EmptyWhenRequired_IsRefused()
    {
        Assert.False(PackageSpec.ParseAll([], allowEmpty: false).IsValid);
        Assert.True(PackageSpec.ParseAll(null).IsValid);
    }

    [Fact]
    public void ParseAll_TooMany_IsRefused()
    {
        var result = PackageSpec.ParseAll(Enumerable.Range(0, PackageSpec.MaxCount + 1).Select(i => (string?)$"p{i}"));

        Assert.False(result.IsValid);
    }

    [Theory]
    [InlineData("numpy", true)]
    [InlineData("scikit-learn", true)]
    [InlineData("numpy==1.0", false)]
    [InlineData("numpy[extra]", false)]
    [InlineData("--all", false)]
    [InlineData("", false)]
    public void ParseNames_BareNamesOnly(string name, bool valid)
    {
        Assert.Equal(valid, PackageSpec.ParseNames([name]).IsValid);
    }

    [Fact]
    public void RequirementsFile_CommentsContinuationsAndBlankLines_AreRead()
    {
        var result = RequirementsFile.Parse("# deps\nnumpy>=1.0  # fast arrays\n\npandas\\\n>=2.0\r\nrequests[socks]\n");

        Assert.True(result.IsValid, result.ErrorMessage);
        Assert.Equal(["numpy>=1.0", "pandas>=2.0", "requests[socks]"], result.Requirements.Select(r => r.ToString()));
    }

    [Theory]
    [InlineData("--index-url https://evil.example/simple\nnumpy")]
    [InlineData("-r other.txt")]
    [InlineData("-e git+https://example.com/x.git")]
    [InlineData("numpy; rm -rf /")]
    public void RequirementsFile_OptionsOrBadLines_AreRefused(string content)
    {
        Assert.False(RequirementsFile.Parse(content).IsValid);
    }

    [Theory]
    [InlineData("1.0")]
    [InlineData("v1.0")]
    [InlineData("1.0a1")]
    [InlineData("1.0.post1")]
    [InlineData("1.0-1")]
    [InlineData("1.0.dev0")]
    [InlineData("2!1.0rc2.post3.dev4+ubuntu.1")]
    public void PackageVersion_Pep440Versions_AreValid(string version)
    {
        Assert.True(PackageVersion.IsValid(version));
    }

    [Theory]
    [InlineData("")]
    [InlineData("1.0.")]
    [InlineData("one")]
    [InlineData("1.0+")]
    [InlineData("1..0")]
    public void PackageVersion_NotPep440_IsInvalid(string version)
    {
        Assert.False(PackageVersion.IsValid(version));
    }
}
