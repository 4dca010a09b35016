using System.Text;
using EnvFabric.Core.Projects;
using EnvFabric.Testing;

namespace EnvFabric.Core.Tests.Projects;

public sealed class ProjectFilesTests : IDisposable
{
    private readonly TempDirectory _dir = new("project-files");
    private readonly ProjectFiles _files;

    public ProjectFilesTests()
    {
        Directory.CreateDirectory(_dir.Combine("src"));
        File.WriteAllText(_dir.Combine("main.py"), "print('main')\n");
        File.WriteAllText(_dir.Combine("src", "util.py"), "x = 1\n");
        _files = new ProjectFiles(_dir.Path, maxEditBytes: 1024);
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void List_Root_FoldersFirstWithPathsAndSizes()
    {
        var (result, entries) = _files.List("");
        Assert.Equal(ProjectFileStatus.Ok, result.Status);
        Assert.Equal(["src", "main.py"], entries.Select(e => e.Name));
        Assert.Equal(ProjectFiles.DirectoryType, entries[0].Type);
        Assert.Null(entries[0].Size);
        Assert.Equal(14, entries[1].Size);
        Assert.Equal("src/util.py", _files.List("src").Entries.Single().Path);
        Assert.Equal(ProjectFileStatus.NotFound, _files.List("missing").Result.Status);
        Assert.Equal(ProjectFileStatus.WrongType, _files.List("main.py").Result.Status);
    }

    [Fact]
    public async Task Read_BinaryOrOverCap_IsRefused()
    {
        await File.WriteAllBytesAsync(_dir.Combine("zeros.bin"), [0x61, 0x00, 0x62]);
        await File.WriteAllBytesAsync(_dir.Combine("latin1.txt"), [0x63, 0x61, 0x66, 0xE9]);
        await File.WriteAllTextAsync(_dir.Combine("big.txt"), new string('x', 1025));
        await File.WriteAllBytesAsync(_dir.Combine("bom.txt"), [0xEF, 0xBB, 0xBF, 0x68, 0x69]);

        Assert.Equal(ProjectFileStatus.Binary, (await _files.ReadAsync("zeros.bin", default)).Result.Status);
        Assert.Equal(ProjectFileStatus.Binary, (await _files.ReadAsync("latin1.txt", default)).Result.Status);
        Assert.Equal(ProjectFileStatus.TooLarge, (await _files.ReadAsync("big.txt", default)).Result.Status);
        var (_, bom) = await _files.ReadAsync("bom.txt", default);
        Assert.Equal(("hi", "utf-8-sig"), (bom!.Content, bom.Encoding));
        var (_, main) = await _files.ReadAsync("main.py", default);
        Assert.Equal(("print('main')\n", "utf-8"), (main!.Content, main.Encoding));
    }

    [Fact]
    public async Task Write_PythonModule_DropsItsCompiledCopiesOnly()
    {
        var cache = Directory.CreateDirectory(_dir.Combine("src", "__pycache__")).FullName;
        await File.WriteAllTextAsync(Path.Combine(cache, "util.cpython-311.pyc"), "old");
        await File.WriteAllTextAsync(Path.Combine(cache, "util.cpython-312.opt-1.pyc"), "old");
        await File.WriteAllTextAsync(Path.Combine(cache, "other.cpython-311.pyc"), "keep");

        // The same length as before: Python would trust the old bytecode within the same second.
        Assert.Equal(ProjectFileStatus.Ok, (await _files.WriteAsync("src/util.py", "x = 2\n", CancellationToken.None)).Status);

        Assert.Equal(["other.cpython-311.pyc"], Directory.EnumerateFiles(cache).Select(Path.GetFileName));
        Assert.Equal("x = 2\n", await File.ReadAllTextAsync(_dir.Combine("src", "util.py")));
    }

    [Fact]
    public async Task Write_ReplacesAtomically_CreatesOnlyWhereTheFolderExists()
    {
        var replaced = await _files.WriteAsync("main.py", "print('edited')\n", default);
        Assert.Equal((ProjectFileStatus.Ok, false), (replaced.Status, replaced.Created));
        Assert.Equal("print('edited')\n", await File.ReadAllTextAsync(_dir.Combine("main.py")));
        Assert.Empty(Directory.GetFiles(_dir.Path, "*.tmp"));

        Assert.True((await _files.WriteAsync("src/new.py", "y = 2\n", default)).Created);
        Assert.Equal(ProjectFileStatus.ParentMissing, (await _files.WriteAsync("nowhere/new.py", "z", default)).Status);
        Assert.False(Directory.Exists(_dir.Combine("nowhere")));
        Assert.Equal(ProjectFileStatus.TooLarge, (await _files.WriteAsync("main.py", new string('x', 1025), default)).Status);
        Assert.Equal("print('edited')\n", await File.ReadAllTextAsync(_dir.Combine("main.py")));
        Assert.Equal(ProjectFileStatus.WrongType, (await _files.WriteAsync("src", "x", default)).Status);
    }

    [Fact]
    public async Task Write_KeepsTheBomAndTheFileMode()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // no Unix file modes there
        }

        await File.WriteAllBytesAsync(_dir.Combine("bom.py"), [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("a = 1\n")]);
        File.SetUnixFileMode(_dir.Combine("main.py"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        await _files.WriteAsync("bom.py", "a = 2\n", default);
        await _files.WriteAsync("main.py", "print(2)\n", default);

        Assert.Equal([0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("a = 2\n")], await File.ReadAllBytesAsync(_dir.Combine("bom.py")));
        Assert.True(File.GetUnixFileMode(_dir.Combine("main.py")).HasFlag(UnixFileMode.UserExecute));
    }

    [Fact]
    public async Task CreateMoveDelete_RefuseExistingTargetsAndTheRoot()
    {
        Assert.Equal(ProjectFileStatus.Ok, (await _files.CreateAsync("data", ProjectFiles.DirectoryType, null, default)).Status);
        Assert.Equal(ProjectFileStatus.Ok, (await _files.CreateAsync("data/in.csv", ProjectFiles.FileType, "a,b\n", default)).Status);
        Assert.Equal(ProjectFileStatus.Exists, (await _files.CreateAsync("main.py", ProjectFiles.FileType, "x", default)).Status);
        Assert.Equal("print('main')\n", await File.ReadAllTextAsync(_dir.Combine("main.py")));
        Assert.Equal(ProjectFileStatus.Invalid, (await _files.CreateAsync("x", "socket", null, default)).Status);

        Assert.Equal(ProjectFileStatus.Exists, _files.Move("data/in.csv", "main.py").Status);
        Assert.Equal(ProjectFileStatus.Invalid, _files.Move("data", "data/inner").Status);
        Assert.Equal(ProjectFileStatus.NotFound, _files.Move("nope", "elsewhere").Status);
        Assert.Equal(ProjectFileStatus.Ok, _files.Move("data", "src/data").Status);
        Assert.True(File.Exists(_dir.Combine("src", "data", "in.csv")));

        Assert.Equal(ProjectFileStatus.Invalid, _files.Delete("").Status);
        Assert.Equal(ProjectFileStatus.NotFound, _files.Delete("nope").Status);
        Assert.Equal(ProjectFileStatus.Ok, _files.Delete("src").Status);
        Assert.False(Directory.Exists(_dir.Combine("src")));
        Assert.Equal((14L, 1), _files.Measure());
    }

    [Fact]
    public void Delete_SymlinkOut_RemovesNothingOutside()
    {
        using var outside = new TempDirectory("project-outside");
        File.WriteAllText(outside.Combine("keep.txt"), "keep");
        Directory.CreateSymbolicLink(_dir.Combine("out"), outside.Path);

        Assert.Equal(ProjectFileStatus.Invalid, _files.Delete("out/keep.txt").Status);
        Assert.Equal(ProjectFileStatus.Invalid, _files.Delete("out").Status);
        Assert.Equal(ProjectFileStatus.Invalid, _files.Move("main.py", "out/main.py").Status);
        Assert.True(File.Exists(outside.Combine("keep.txt")));
        Assert.True(File.Exists(_dir.Combine("main.py")));
    }
}
