using EnvFabric.Core.Projects;
using EnvFabric.Testing;

namespace EnvFabric.Core.Tests.Projects;

public sealed class ProjectPathTests : IDisposable
{
    private readonly TempDirectory _dir = new("project-path");

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    [InlineData("main.py")]
    [InlineData("src/app/main.py")]
    [InlineData("src/")]
    [InlineData("my file (1).txt")]
    [InlineData("数据/输出.csv")]
    [InlineData("CONSOLE.py")]
    [InlineData("com10.txt")]
    [InlineData(".env")]
    [InlineData("a..b")]
    public void Validate_AcceptedPath_ReturnsNull(string? path) => Assert.Null(ProjectPath.Validate(path));

    [Theory]
    [InlineData("..", "'..'")]
    [InlineData("a/../../etc/passwd", "'..'")]
    [InlineData("/etc/passwd", "absolute")]
    [InlineData("C:/Windows", "absolute")]
    [InlineData("a\\b", "backslash")]
    [InlineData("a\0b", "NUL")]
    [InlineData("a\nb", "control")]
    [InlineData("a//b", "empty")]
    [InlineData("./a", "'.'")]
    [InlineData("a/./b", "'.'")]
    [InlineData("CON", "reserved")]
    [InlineData("src/nul.txt", "reserved")]
    [InlineData("Lpt9.tar.gz", "reserved")]
    [InlineData("com1", "reserved")]
    [InlineData("aux .py", "reserved")]
    public void Validate_RefusedPath_SaysWhy(string path, string reason)
    {
        var error = ProjectPath.Validate(path);
        Assert.NotNull(error);
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_OverlongSegmentOrPath_IsRefused()
    {
        Assert.Null(ProjectPath.Validate(new string('a', 255)));
        Assert.Contains("255", ProjectPath.Validate(new string('a', 256)), StringComparison.Ordinal);

        // Bytes, not characters: 128 three-byte characters are 384 bytes.
        Assert.Contains("255", ProjectPath.Validate(new string('数', 128)), StringComparison.Ordinal);
        var deep = string.Join('/', Enumerable.Repeat(new string('d', 100), 11));
        Assert.Contains("1024", ProjectPath.Validate(deep), StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_Root_RefusedWhereNotAllowed() =>
        Assert.Contains("root", ProjectPath.Validate("", allowRoot: false), StringComparison.Ordinal);

    [Fact]
    public void Resolve_PlainPath_IsUnderTheRoot()
    {
        var (full, error) = ProjectPath.Resolve(_dir.Path, "src/new/file.py");
        Assert.Null(error);
        Assert.Equal(_dir.Combine("src", "new", "file.py"), full);
        Assert.Equal(_dir.Path, ProjectPath.Resolve(_dir.Path, "").FullPath);
    }

    [Fact]
    public void Resolve_SymlinkOutside_IsRefusedAtEveryDepth()
    {
        using var outside = new TempDirectory("project-outside");
        File.WriteAllText(outside.Combine("secret.txt"), "secret");
        Directory.CreateDirectory(_dir.Combine("src"));
        Directory.CreateSymbolicLink(_dir.Combine("src", "escape"), outside.Path);
        File.CreateSymbolicLink(_dir.Combine("passwd"), "/etc/passwd");

        Assert.Contains("outside", ProjectPath.Resolve(_dir.Path, "src/escape").Error, StringComparison.Ordinal);
        Assert.Contains("outside", ProjectPath.Resolve(_dir.Path, "src/escape/secret.txt").Error, StringComparison.Ordinal);
        Assert.Contains("outside", ProjectPath.Resolve(_dir.Path, "src/escape/new.txt").Error, StringComparison.Ordinal);
        Assert.Contains("outside", ProjectPath.Resolve(_dir.Path, "passwd").Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_RelativeSymlinkOut_AndDanglingOut_AreRefused()
    {
        Directory.CreateDirectory(_dir.Combine("a"));
        Directory.CreateSymbolicLink(_dir.Combine("a", "up"), "../..");
        File.CreateSymbolicLink(_dir.Combine("dangling"), "/nonexistent-" + Guid.NewGuid().ToString("N"));

        Assert.NotNull(ProjectPath.Resolve(_dir.Path, "a/up/x").Error);
        Assert.NotNull(ProjectPath.Resolve(_dir.Path, "dangling").Error);
    }

    [Fact]
    public void Resolve_SymlinkInside_IsAllowed()
    {
        Directory.CreateDirectory(_dir.Combine("lib"));
        File.WriteAllText(_dir.Combine("lib", "util.py"), "x = 1\n");
        Directory.CreateSymbolicLink(_dir.Combine("shared"), _dir.Combine("lib"));
        File.CreateSymbolicLink(_dir.Combine("alias.py"), "lib/util.py");

        Assert.Null(ProjectPath.Resolve(_dir.Path, "shared/util.py").Error);
        Assert.Null(ProjectPath.Resolve(_dir.Path, "alias.py").Error);
    }
}
