using System.IO.Compression;
using System.Text;
using EnvFabric.Core.Tasks;
using EnvFabric.Testing;

namespace EnvFabric.Core.Tests.Tasks;

public sealed class TaskUploadTests : IDisposable
{
    private const string Script = "print('hello')\n";

    private readonly TempDirectory _dir = new("upload");

    public void Dispose() => _dir.Dispose();

    private string Staging => _dir.Combine("staging");

    private Task<UploadResult> Stage(byte[] content, string fileName, UploadLimits? limits = null) =>
        TaskUpload.StageAsync(new MemoryStream(content), fileName, Staging, limits ?? new UploadLimits(), CancellationToken.None);

    private async Task<string> Refused(byte[] content, string fileName, UploadLimits? limits = null)
    {
        var ex = await Assert.ThrowsAsync<UploadException>(() => Stage(content, fileName, limits));
        Assert.False(Directory.Exists(Staging), "a refused upload leaves its staging directory behind");
        return ex.Message;
    }

    private static byte[] Zip(Action<ZipArchive> build)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            build(zip);
        }

        return buffer.ToArray();
    }

    private static byte[] ZipOf(params string[] names) => Zip(zip =>
    {
        foreach (var name in names)
        {
            Add(zip, name);
        }
    });

    private static void Add(ZipArchive zip, string name, string content = Script, int? unixMode = null)
    {
        var entry = zip.CreateEntry(name);
        if (unixMode is { } mode)
        {
            entry.ExternalAttributes = mode << 16;
        }

        if (!name.EndsWith('/'))
        {
            using var stream = entry.Open();
            stream.Write(Encoding.UTF8.GetBytes(content));
        }
    }

    private string Read(string relative) => File.ReadAllText(Path.Combine(Staging, relative));

    [Fact]
    public async Task StageAsync_PyFile_IsWrittenAsItselfAndIsTheEntryPoint()
    {
        var result = await Stage(Encoding.UTF8.GetBytes(Script), "job.py");

        Assert.Equal(["job.py"], result.Files);
        Assert.Equal("job.py", result.DetectedEntryPoint);
        Assert.Equal(Script, Read("job.py"));
    }

    [Fact]
    public async Task StageAsync_MainPy_IsTheEntryPoint()
    {
        var result = await Stage(Encoding.UTF8.GetBytes(Script), "main.py");

        Assert.Equal("main.py", result.DetectedEntryPoint);
    }

    [Fact]
    public async Task StageAsync_PyExtensionInAnyCase_IsAScript()
    {
        var result = await Stage(Encoding.UTF8.GetBytes(Script), "Report.PY");

        Assert.Equal(["Report.PY"], result.Files);
    }

    [Theory]
    [InlineData(@"C:\fakepath\run.py")]
    [InlineData("some/dir/run.py")]
    public async Task StageAsync_ClientPathInName_KeepsOnlyTheFileName(string fileName)
    {
        var result = await Stage(Encoding.UTF8.GetBytes(Script), fileName);

        Assert.Equal(["run.py"], result.Files);
        Assert.Equal(["run.py"], Directory.GetFiles(Staging).Select(Path.GetFileName));
    }

    [Fact]
    public async Task StageAsync_PyWithBomAndNonAscii_IsAccepted()
    {
        byte[] content = [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("print('grüße, 你好')\n")];

        await Stage(content, "main.py");

        Assert.Equal(content, File.ReadAllBytes(Path.Combine(Staging, "main.py")));
    }

    [Fact]
    public async Task StageAsync_PyCharacterAcrossReadBuffers_IsAccepted()
    {
        // 81,920 bytes is the copy buffer: the three bytes of the euro sign straddle two reads.
        var content = Encoding.UTF8.GetBytes(new string('#', 81_919) + "€\n");

        var result = await Stage(content, "main.py");

        Assert.Equal(["main.py"], result.Files);
    }

    [Fact]
    public async Task StageAsync_PyNotUtf8_IsRefused()
    {
        byte[] content = [.. Encoding.UTF8.GetBytes("print('"), 0xE9, .. Encoding.UTF8.GetBytes("')\n")];

        var message = await Refused(content, "main.py");

        Assert.Equal("'main.py' is not valid UTF-8 text (at byte 8)", message);
    }

    [Fact]
    public async Task StageAsync_PyEndingInsideACharacter_IsRefused()
    {
        byte[] content = [.. Encoding.UTF8.GetBytes("x = 1 # "), 0xE2, 0x82];

        Assert.Equal("'main.py' is not valid UTF-8 text (it ends inside a character)", await Refused(content, "main.py"));
    }

    [Theory]
    [InlineData("main.py")]
    [InlineData("scripts.zip")]
    public async Task StageAsync_EmptyFile_IsRefused(string fileName)
    {
        Assert.Equal($"The uploaded file '{fileName}' is empty", await Refused([], fileName));
    }

    [Theory]
    [InlineData("main.py")]
    [InlineData("scripts.zip")]
    public async Task StageAsync_UploadOverLimit_IsRefusedWhileReading(string fileName)
    {
        var content = fileName.EndsWith(".zip", StringComparison.Ordinal) ? ZipOf(new string('a', 200) + ".py") : Encoding.UTF8.GetBytes(new string('#', 2000));
        var limits = new UploadLimits(MaxUploadBytes: content.Length - 1);

        var ex = await Assert.ThrowsAsync<UploadException>(() =>
            TaskUpload.StageAsync(new UnknownLengthStream(content), fileName, Staging, limits, CancellationToken.None));

        Assert.Equal($"The upload is larger than the limit of {content.Length - 1} bytes", ex.Message);
        Assert.False(Directory.Exists(Staging));
    }

    [Fact]
    public async Task StageAsync_UploadAtLimit_IsAccepted()
    {
        var content = ZipOf("main.py");

        var result = await TaskUpload.StageAsync(new UnknownLengthStream(content), "s.zip", Staging, new UploadLimits(MaxUploadBytes: content.Length), CancellationToken.None);

        Assert.Equal(["main.py"], result.Files);
    }

    [Fact]
    public async Task StageAsync_NeitherPyNorZip_IsRefused()
    {
        Assert.Equal("'notes.txt' is neither a Python script (.py) nor a ZIP archive", await Refused(Encoding.UTF8.GetBytes("hello"), "notes.txt"));
    }

    [Fact]
    public async Task StageAsync_ZipNameWithoutZipSignature_IsRefused()
    {
        Assert.Equal("'scripts.zip' is not a ZIP archive (it does not start with the ZIP signature)", await Refused(Encoding.UTF8.GetBytes("print(1)"), "scripts.zip"));
    }

    [Fact]
    public async Task StageAsync_ZipSignatureUnderAnotherName_IsExtracted()
    {
        var result = await Stage(ZipOf("main.py"), "bundle");

        Assert.Equal(["main.py"], result.Files);
    }

    [Fact]
    public async Task StageAsync_CorruptZip_IsRefused()
    {
        byte[] content = [0x50, 0x4B, 0x03, 0x04, .. new byte[200]];

        var message = await Refused(content, "scripts.zip");

        Assert.StartsWith("'scripts.zip' is a corrupt ZIP archive: ", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StageAsync_TruncatedZip_IsRefused()
    {
        var zip = ZipOf("main.py", "lib/util.py");

        var message = await Refused(zip[..(zip.Length - 30)], "scripts.zip");

        Assert.StartsWith("'scripts.zip' is a corrupt ZIP archive: ", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StageAsync_UnsupportedCompressionMethod_IsRefused()
    {
        var zip = ZipOf("main.py");
        // Method 99 (AES) in the local header and the central directory record.
        BitConverter.TryWriteBytes(zip.AsSpan(8, 2), (ushort)99);
        BitConverter.TryWriteBytes(zip.AsSpan(zip.AsSpan().IndexOf("PK\u0001\u0002"u8) + 10, 2), (ushort)99);

        var message = await Refused(zip, "scripts.zip");

        Assert.StartsWith("The ZIP entry 'main.py' cannot be read: ", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("../evil.py")]
    [InlineData("lib/../../evil.py")]
    [InlineData("lib/..")]
    public async Task StageAsync_DotDotSegment_IsRefused(string name)
    {
        Assert.Equal($"The ZIP entry '{name}' leaves its folder ('..')", await Refused(ZipOf("main.py", name), "s.zip"));
        Assert.False(File.Exists(_dir.Combine("evil.py")));
    }

    [Theory]
    [InlineData("/etc/evil.py")]
    [InlineData(@"\evil.py")]
    [InlineData("C:/evil.py")]
    [InlineData("c:evil.py")]
    public async Task StageAsync_AbsolutePath_IsRefused(string name)
    {
        Assert.Equal($"The ZIP entry '{name}' has an absolute path", await Refused(ZipOf("main.py", name), "s.zip"));
    }

    [Fact]
    public async Task StageAsync_Backslash_IsRefused()
    {
        Assert.Equal(@"The ZIP entry 'lib\util.py' contains a backslash", await Refused(ZipOf("main.py", @"lib\util.py"), "s.zip"));
    }

    [Theory]
    [InlineData("evil\0.py", @"evil\u0000.py")]
    [InlineData("a\nb.py", @"a\u000ab.py")]
    [InlineData("del\u007F.py", @"del\u007f.py")]
    public async Task StageAsync_ControlCharacters_AreRefusedAndEscapedInTheMessage(string name, string shown)
    {
        Assert.Equal($"The ZIP entry '{shown}' has control characters in its name", await Refused(ZipOf("main.py", name), "s.zip"));
    }

    [Theory]
    [InlineData("./main.py")]
    [InlineData("lib//util.py")]
    public async Task StageAsync_EmptyOrDotSegment_IsRefused(string name)
    {
        Assert.Equal($"The ZIP entry '{name}' has an empty or '.' path segment", await Refused(ZipOf(name), "s.zip"));
    }

    [Fact]
    public async Task StageAsync_OverLongName_IsRefused()
    {
        var name = new string('n', 253) + ".py";

        Assert.Equal($"The ZIP entry '{name[..120]}...' has a name longer than 255 bytes", await Refused(ZipOf("main.py", name), "s.zip"));
    }

    [Fact]
    public async Task StageAsync_NameLengthCountsUtf8Bytes()
    {
        // 128 two-byte characters: 128 characters, 256 bytes.
        var name = new string('é', 128);

        var message = await Refused(ZipOf("main.py", name), "s.zip");

        Assert.EndsWith("has a name longer than 255 bytes", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StageAsync_OverLongPath_IsRefused()
    {
        var name = string.Join('/', Enumerable.Repeat(new string('d', 99), 4)) + "/x.py";

        var message = await Refused(ZipOf("main.py", name), "s.zip");

        Assert.EndsWith("has a path longer than 400 bytes", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StageAsync_OverLongUploadedFileName_IsRefused()
    {
        var name = new string('n', 300) + ".py";

        var message = await Refused(Encoding.UTF8.GetBytes(Script), name);

        Assert.EndsWith("is longer than 255 bytes", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StageAsync_SymlinkEntry_IsRefused()
    {
        var zip = Zip(zip =>
        {
            Add(zip, "main.py");
            Add(zip, "passwd", "/etc/passwd", unixMode: 0xA1FF); // S_IFLNK | 0777, the target as its data
        });

        Assert.Equal("The ZIP entry 'passwd' is a symbolic link", await Refused(zip, "s.zip"));
    }

    [Fact]
    public async Task StageAsync_FifoEntry_IsRefused()
    {
        var zip = Zip(zip =>
        {
            Add(zip, "main.py");
            Add(zip, "pipe", "", unixMode: 0x11A4); // S_IFIFO | 0644
        });

        Assert.Equal("The ZIP entry 'pipe' is not a regular file or directory", await Refused(zip, "s.zip"));
    }

    [Fact]
    public async Task StageAsync_UnixModesOfFilesAndDirectories_AreAccepted()
    {
        var zip = Zip(zip =>
        {
            Add(zip, "main.py", unixMode: 0x81A4); // S_IFREG | 0644
            Add(zip, "data/", unixMode: 0x41ED);   // S_IFDIR | 0755
        });

        var result = await Stage(zip, "s.zip");

        Assert.Equal(["main.py"], result.Files);
        Assert.True(Directory.Exists(Path.Combine(Staging, "data")));
    }

    [Fact]
    public async Task StageAsync_TooManyEntries_IsRefused()
    {
        var message = await Refused(ZipOf("main.py", "a.py", "b.py", "c/"), "s.zip", new UploadLimits(MaxEntries: 3));

        Assert.Equal("The ZIP archive has 4 entries, more than the limit of 3", message);
    }

    [Fact]
    public async Task StageAsync_ZipBomb_IsRefused()
    {
        // 5 MB of zeros compresses to a few KB; the limit is lowered to 1 MB to keep the test cheap.
        var zip = Zip(zip =>
        {
            Add(zip, "main.py");
            using var stream = zip.CreateEntry("zeros.bin", CompressionLevel.SmallestSize).Open();
            stream.Write(new byte[5 * 1024 * 1024]);
        });
        Assert.True(zip.Length < 64 * 1024);

        var message = await Refused(zip, "s.zip", new UploadLimits(MaxExtractedBytes: 1024 * 1024));

        Assert.Equal("The ZIP archive expands to more than the limit of 1048576 bytes", message);
    }

    [Fact]
    public async Task StageAsync_ManyEntriesTogetherOverTheExtractedLimit_AreRefused()
    {
        var zip = Zip(zip =>
        {
            foreach (var name in new[] { "a.bin", "b.bin", "c.bin" })
            {
                using var stream = zip.CreateEntry(name).Open();
                stream.Write(new byte[400 * 1024]);
            }
        });

        var message = await Refused(zip, "s.zip", new UploadLimits(MaxExtractedBytes: 1024 * 1024));

        Assert.Equal("The ZIP archive expands to more than the limit of 1048576 bytes", message);
    }

    [Fact]
    public async Task StageAsync_HeaderUnderstatingTheSize_NeverWritesMoreThanTheLimit()
    {
        var zip = Zip(zip =>
        {
            using var stream = zip.CreateEntry("zeros.bin").Open();
            stream.Write(new byte[5 * 1024 * 1024]);
        });
        // The local header and the central directory both claim 10 bytes.
        BitConverter.TryWriteBytes(zip.AsSpan(22, 4), 10);
        BitConverter.TryWriteBytes(zip.AsSpan(zip.AsSpan().IndexOf("PK\u0001\u0002"u8) + 24, 4), 10);
        var limit = 1024 * 1024;

        try
        {
            await Stage(zip, "s.zip", new UploadLimits(MaxExtractedBytes: limit));
            Assert.True(new FileInfo(Path.Combine(Staging, "zeros.bin")).Length <= limit);
        }
        catch (UploadException)
        {
            Assert.False(Directory.Exists(Staging));
        }
    }

    [Theory]
    [InlineData("main.py", "main.py")]
    [InlineData("util.py", "Util.py")]
    public async Task StageAsync_DuplicateEntries_AreRefused(string first, string second)
    {
        var message = await Refused(ZipOf(first, second, "other.py"), "s.zip");

        Assert.Equal($"The ZIP archive has a duplicate entry '{second}' (names are compared ignoring case)", message);
    }

    [Fact]
    public async Task StageAsync_FileWhereADirectoryIsNeeded_IsRefused()
    {
        var message = await Refused(ZipOf("main.py", "lib", "lib/util.py"), "s.zip");

        Assert.Equal("The ZIP entry 'lib' is a file, but 'lib/util.py' needs it to be a directory", message);
    }

    [Fact]
    public async Task StageAsync_ZipWithOnlyDirectories_IsRefused()
    {
        Assert.Equal("The ZIP archive contains no files", await Refused(ZipOf("lib/", "data/"), "s.zip"));
    }

    [Fact]
    public async Task StageAsync_EmptyZip_IsRefused()
    {
        Assert.Equal("The ZIP archive contains no files", await Refused(Zip(_ => { }), "s.zip"));
    }

    [Fact]
    public async Task StageAsync_ZipOfMacMetadataOnly_IsRefused()
    {
        Assert.Equal("The ZIP archive contains no files", await Refused(ZipOf("__MACOSX/._main.py"), "s.zip"));
    }

    [Fact]
    public async Task StageAsync_ZipWithFilesAtTheRoot_IsExtractedAsIs()
    {
        var zip = Zip(zip =>
        {
            Add(zip, "main.py", "import lib.util\n");
            Add(zip, "lib/util.py", "X = 1\n");
            Add(zip, "data/");
            Add(zip, "config.json", "{}");
        });

        var result = await Stage(zip, "scripts.zip");

        Assert.Equal(["config.json", "lib/util.py", "main.py"], result.Files);
        Assert.Equal("main.py", result.DetectedEntryPoint);
        Assert.Equal("X = 1\n", Read("lib/util.py"));
        Assert.True(Directory.Exists(Path.Combine(Staging, "data")));
    }

    [Fact]
    public async Task StageAsync_EverythingUnderOneFolder_StripsTheFolder()
    {
        var zip = Zip(zip =>
        {
            Add(zip, "project/");
            Add(zip, "project/main.py", "print(1)\n");
            Add(zip, "project/lib/util.py");
            Add(zip, "project/empty/");
        });

        var result = await Stage(zip, "project.zip");

        Assert.Equal(["lib/util.py", "main.py"], result.Files);
        Assert.Equal("main.py", result.DetectedEntryPoint);
        Assert.Equal("print(1)\n", Read("main.py"));
        Assert.True(Directory.Exists(Path.Combine(Staging, "empty")));
        Assert.False(Directory.Exists(Path.Combine(Staging, "project")));
    }

    [Fact]
    public async Task StageAsync_OneFolderPlusMacMetadata_StripsTheFolderAndSkipsTheMetadata()
    {
        var result = await Stage(ZipOf("project/run.py", "__MACOSX/project/._run.py"), "project.zip");

        Assert.Equal(["run.py"], result.Files);
        Assert.Equal("run.py", result.DetectedEntryPoint);
        Assert.False(Directory.Exists(Path.Combine(Staging, "__MACOSX")));
    }

    [Fact]
    public async Task StageAsync_TwoTopFolders_AreKept()
    {
        var result = await Stage(ZipOf("a/x.py", "b/y.py"), "s.zip");

        Assert.Equal(["a/x.py", "b/y.py"], result.Files);
        Assert.Null(result.DetectedEntryPoint);
    }

    [Fact]
    public async Task StageAsync_OneFolderWithAnEmptySiblingDirectory_IsKept()
    {
        var result = await Stage(ZipOf("project/main.py", "logs/"), "s.zip");

        Assert.Equal(["project/main.py"], result.Files);
        Assert.Null(result.DetectedEntryPoint);
    }

    [Fact]
    public async Task StageAsync_OnlyRootScriptBesideOtherFiles_IsTheEntryPoint()
    {
        var result = await Stage(ZipOf("job.py", "data.csv", "lib/helper.py"), "s.zip");

        Assert.Equal("job.py", result.DetectedEntryPoint);
    }

    [Fact]
    public async Task StageAsync_SeveralRootScriptsWithoutMain_HaveNoEntryPoint()
    {
        var result = await Stage(ZipOf("a.py", "b.py"), "s.zip");

        Assert.Null(result.DetectedEntryPoint);
    }

    [Fact]
    public async Task StageAsync_Files_AreSortedOrdinally()
    {
        var result = await Stage(ZipOf("lib/x.py", "a.py", "B.py", "main.py"), "s.zip");

        Assert.Equal(["B.py", "a.py", "lib/x.py", "main.py"], result.Files);
    }

    [Fact]
    public async Task StageAsync_StagingNotEmpty_ThrowsAndLeavesItAlone()
    {
        Directory.CreateDirectory(Staging);
        File.WriteAllText(Path.Combine(Staging, "keep.txt"), "x");

        await Assert.ThrowsAsync<IOException>(() => Stage(Encoding.UTF8.GetBytes(Script), "main.py"));

        Assert.True(File.Exists(Path.Combine(Staging, "keep.txt")));
    }

    [Fact]
    public async Task StageAsync_StagingExistsEmpty_IsUsed()
    {
        Directory.CreateDirectory(Staging);

        var result = await Stage(Encoding.UTF8.GetBytes(Script), "main.py");

        Assert.Equal(["main.py"], result.Files);
    }

    [Fact]
    public async Task StageAsync_Cancelled_LeavesNothingBehind()
    {
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            TaskUpload.StageAsync(new MemoryStream(ZipOf("main.py")), "s.zip", Staging, new UploadLimits(), cts.Token));

        Assert.False(Directory.Exists(Staging));
    }

    [Fact]
    public async Task Commit_NoTarget_MovesStagingIntoPlace()
    {
        await Stage(ZipOf("main.py"), "s.zip");
        var target = _dir.Combine("scripts", "7");

        TaskUpload.Commit(Staging, target);

        Assert.True(File.Exists(Path.Combine(target, "main.py")));
        Assert.False(Directory.Exists(Staging));
    }

    [Fact]
    public async Task Commit_ExistingTarget_IsReplacedWhole()
    {
        var target = _dir.Combine("scripts", "7");
        Directory.CreateDirectory(Path.Combine(target, "old"));
        File.WriteAllText(Path.Combine(target, "main.py"), "old");
        File.WriteAllText(Path.Combine(target, "old", "stale.py"), "old");
        await Stage(ZipOf("main.py", "lib/new.py"), "s.zip");

        TaskUpload.Commit(Staging, target);

        Assert.Equal(Script, File.ReadAllText(Path.Combine(target, "main.py")));
        Assert.True(File.Exists(Path.Combine(target, "lib", "new.py")));
        Assert.False(Directory.Exists(Path.Combine(target, "old")));
        Assert.False(Directory.Exists(Staging));
        Assert.Equal([target], Directory.GetDirectories(_dir.Combine("scripts")));
    }

    [Fact]
    public void Commit_MissingStaging_ThrowsAndKeepsTheTarget()
    {
        var target = _dir.Combine("scripts", "7");
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, "main.py"), "old");

        Assert.Throws<DirectoryNotFoundException>(() => TaskUpload.Commit(Staging, target));

        Assert.Equal("old", File.ReadAllText(Path.Combine(target, "main.py")));
    }

    /// <summary>A forward-only upload body that cannot say how long it is.</summary>
    private sealed class UnknownLengthStream(byte[] content) : Stream
    {
        private readonly MemoryStream _inner = new(content);

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, Math.Min(count, 1000));
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
