using System.Text;
using Libra.Qemu;
using Libra.Tests.Probes;
using Xunit;

namespace Libra.Tests.Run;

// The newc writer behind Libra images, read back by GNU cpio (Debian's cpio package), the reader
// of record next to Linux's initramfs.
public class CpioWriterTests
{
    private static byte[] Archive(Action<CpioWriter> fill)
    {
        var stream = new MemoryStream();
        using (var writer = new CpioWriter(stream, ownsOutput: false)) fill(writer);
        return stream.ToArray();
    }

    private static CommandResult Cpio(byte[] archive, string directory, params string[] args) =>
        CommandRunner.Run("cpio", args, archive, directory, TimeSpan.FromSeconds(30));

    private static byte[] Sample() => Archive(w =>
    {
        w.AddDirectory("app");
        w.AddFile("app/hello", "#!binary\n"u8, permissions: 0x1ed);
        w.AddDirectory("etc");
        w.AddFile("etc/odd", new byte[] { 1, 2, 3 });
        w.AddSymbolicLink("etc/link", "odd");
        w.AddFile("empty", ReadOnlySpan<byte>.Empty);
    });

    [Fact]
    public void Cpio_lists_every_entry_in_order_with_its_mode()
    {
        var work = WorkDirectory.Create();
        var result = Cpio(Sample(), work.Path, "-t", "-v", "--quiet");
        Assert.True(result.ExitStatus == 0, result.ToString());
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["app", "app/hello", "etc", "etc/odd", "etc/link -> odd", "empty"], lines.Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[8..]).Select(p => string.Join(' ', p)));
        Assert.Equal(["drwxr-xr-x", "-rwxr-xr-x", "drwxr-xr-x", "-rw-r--r--", "lrwxrwxrwx", "-rw-r--r--"], lines.Select(l => l[..10]));
        work.Delete();
    }

    [Fact]
    public void Cpio_extracts_the_same_bytes_modes_and_link()
    {
        var work = WorkDirectory.Create();
        var result = Cpio(Sample(), work.Path, "-i", "-d", "--quiet");
        Assert.True(result.ExitStatus == 0, result.ToString());
        Assert.Equal("#!binary\n", File.ReadAllText(Path.Combine(work.Path, "app/hello")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute |
            UnixFileMode.OtherRead | UnixFileMode.OtherExecute, new FileInfo(Path.Combine(work.Path, "app/hello")).UnixFileMode);
        Assert.Equal(new byte[] { 1, 2, 3 }, File.ReadAllBytes(Path.Combine(work.Path, "etc/odd")));
        Assert.Equal("odd", new FileInfo(Path.Combine(work.Path, "etc/link")).LinkTarget);
        Assert.Empty(File.ReadAllBytes(Path.Combine(work.Path, "empty")));
        work.Delete();
    }

    [Fact]
    public void Every_header_starts_at_a_multiple_of_four_and_the_trailer_is_last()
    {
        byte[] archive = Sample();
        Assert.Equal(0, archive.Length % 4);
        int offset = 0;
        var names = new List<string>();
        while (true)
        {
            Assert.Equal(0, offset % 4);
            Assert.Equal(CpioWriter.Magic, Encoding.ASCII.GetString(archive, offset, 6));
            int Field(int index) => Convert.ToInt32(Encoding.ASCII.GetString(archive, offset + 6 + 8 * index, 8), 16);
            int fileSize = Field(6), nameSize = Field(11);
            string name = Encoding.UTF8.GetString(archive, offset + 110, nameSize - 1);
            Assert.Equal(0, archive[offset + 110 + nameSize - 1]);
            names.Add(name);
            offset = Align(Align(offset + 110 + nameSize) + fileSize);
            if (name == CpioWriter.TrailerName) break;
        }
        Assert.Equal(archive.Length, offset);
        Assert.Equal(CpioWriter.TrailerName, names[^1]);
        static int Align(int n) => (n + 3) & ~3;
    }

    [Theory]
    [InlineData("/etc/passwd")]
    [InlineData("app/")]
    [InlineData("a/../b")]
    [InlineData("./app")]
    [InlineData("")]
    [InlineData("TRAILER!!!")]
    public void A_name_that_is_not_a_plain_relative_path_is_refused(string name)
    {
        Assert.Throws<ArgumentException>(() => Archive(w => w.AddFile(name, "x"u8)));
    }
}
