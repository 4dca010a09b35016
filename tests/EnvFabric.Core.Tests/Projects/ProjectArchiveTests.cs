using System.IO.Compression;
using System.Text;
using EnvFabric.Core.Projects;
using EnvFabric.Core.Tasks;
using EnvFabric.Testing;

namespace EnvFabric.Core.Tests.Projects;

/// <summary><see cref="TaskUpload.StageArchiveAsync"/> with the project layout: the tree is kept exactly, and every path obeys <see cref="ProjectPath"/>.</summary>
public sealed class ProjectArchiveTests : IDisposable
{
    private static readonly ArchiveExtraction Project = new(KeepTopFolder: true, CheckPath: p => ProjectPath.Validate(p));

    private readonly TempDirectory _dir = new("project-archive");

    public void Dispose() => _dir.Dispose();

    private string Staging => _dir.Combine("staging");

    private Task<UploadResult> Stage(byte[] zip, string fileName = "project.zip") =>
        TaskUpload.StageArchiveAsync(new MemoryStream(zip), fileName, Staging, new UploadLimits(MaxPathLength: ProjectPath.MaxPathBytes), Project, CancellationToken.None);

    private static byte[] Zip(params string[] names)
    {
        using var buffer = new MemoryStream();
        using (var archive = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var name in names)
            {
                var entry = archive.CreateEntry(name);
                if (!name.EndsWith('/'))
                {
                    using var stream = entry.Open();
                    stream.Write(Encoding.UTF8.GetBytes("# " + name + "\n"));
                }
            }
        }

        return buffer.ToArray();
    }

    [Fact]
    public async Task SingleTopFolder_IsKept()
    {
        var result = await Stage(Zip("app/", "app/main.py", "app/lib/util.py"));
        Assert.Equal(["app/lib/util.py", "app/main.py"], result.Files);
        Assert.True(File.Exists(Path.Combine(Staging, "app", "lib", "util.py")));
    }

    [Fact]
    public async Task TaskLayout_StillStripsTheTopFolder()
    {
        var result = await TaskUpload.StageAsync(new MemoryStream(Zip("app/main.py", "app/lib/util.py")), "s.zip", Staging, new UploadLimits(), CancellationToken.None);
        Assert.Equal(["lib/util.py", "main.py"], result.Files);
    }

    [Theory]
    [InlineData("src/CON.py", "reserved")]
    [InlineData("aux/readme.txt", "reserved")]
    public async Task ReservedName_IsRefused_AndNothingStays(string entry, string reason)
    {
        var ex = await Assert.ThrowsAsync<UploadException>(() => Stage(Zip("main.py", entry)));
        Assert.Contains(reason, ex.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Staging));
    }

    [Fact]
    public async Task PythonFile_IsNotAnArchive()
    {
        var ex = await Assert.ThrowsAsync<UploadException>(() => Stage(Encoding.UTF8.GetBytes("print(1)\n"), "main.py"));
        Assert.Contains("not a ZIP archive", ex.Message, StringComparison.Ordinal);
    }
}
