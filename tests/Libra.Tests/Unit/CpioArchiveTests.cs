using System.Diagnostics;
using System.Text;
using Libra.Shims;
using Xunit;

namespace Libra.Tests.Unit;

// The newc reader the kernel unpacks an image with, against archives made by Debian's cpio (the
// format Linux's initramfs reads) and by hand for the broken cases.
public class CpioArchiveTests
{
    // A tree made on disk, archived with `cpio -o -H newc` in the order `find` gives.
    static byte[] ArchiveWithCpio(Action<string> populate)
    {
        string root = Path.Combine(Path.GetTempPath(), "libra-cpio-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(root);
        try
        {
            populate(root);
            var start = new ProcessStartInfo("sh", ["-c", "find . | LC_ALL=C sort | cpio -o -H newc --quiet"])
            {
                WorkingDirectory = root, RedirectStandardOutput = true, RedirectStandardError = true,
            };
            using var process = Process.Start(start)!;
            using var output = new MemoryStream();
            process.StandardOutput.BaseStream.CopyTo(output);
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, process.StandardError.ReadToEnd());
            return output.ToArray();
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    record Member(string Path, uint Type, uint Permissions, uint Links, uint Inode, string Data);

    static List<Member> Read(byte[] archive, out CpioError end)
    {
        var members = new List<Member>();
        int offset = 0;
        while ((end = CpioArchive.Next(archive, ref offset, out CpioEntry e)) == CpioError.None)
            members.Add(new Member(Encoding.UTF8.GetString(CpioArchive.Path(archive, e)), e.Mode & CpioArchive.TypeMask, e.Mode & 0xfff,
                e.Links, e.Inode, Encoding.UTF8.GetString(archive, e.DataOffset, (int)e.DataLength)));
        return members;
    }

    [Fact]
    public void Files_directories_and_links_of_a_cpio_made_archive_come_out_with_their_modes_and_data()
    {
        byte[] archive = ArchiveWithCpio(root =>
        {
            Directory.CreateDirectory(Path.Combine(root, "app"));
            Directory.CreateDirectory(Path.Combine(root, ".libra"));
            File.WriteAllText(Path.Combine(root, "app/hello"), "ELF-ish");
            File.SetUnixFileMode(Path.Combine(root, "app/hello"), (UnixFileMode)0x1ed);
            File.WriteAllText(Path.Combine(root, ".libra/cmdline"), "libra.app=/app/hello -- a b\n");
            File.CreateSymbolicLink(Path.Combine(root, "app/link"), "hello");
        });
        Assert.True(CpioArchive.IsArchive(archive));
        List<Member> members = Read(archive, out CpioError end);
        Assert.Equal(CpioError.End, end);
        Assert.Equal(["", ".libra", ".libra/cmdline", "app", "app/hello", "app/link"], members.Select(m => m.Path));
        Member hello = members.Single(m => m.Path == "app/hello");
        Assert.Equal((CpioArchive.Regular, 0x1edu, "ELF-ish"), (hello.Type, hello.Permissions, hello.Data));
        Member link = members.Single(m => m.Path == "app/link");
        Assert.Equal((CpioArchive.Symlink, "hello"), (link.Type, link.Data));
        Assert.Equal(CpioArchive.Directory, members.Single(m => m.Path == "app").Type);
        Assert.True(CpioArchive.Find(archive, "app/hello"u8, out int at, out int length));
        Assert.Equal("ELF-ish", Encoding.UTF8.GetString(archive, at, length));
        Assert.False(CpioArchive.Find(archive, "app"u8, out _, out _));
    }

    [Fact]
    public void Hard_links_share_an_inode_and_one_member_carries_the_data()
    {
        byte[] archive = ArchiveWithCpio(root =>
        {
            File.WriteAllText(Path.Combine(root, "one"), "shared bytes");
            using var ln = Process.Start("ln", [Path.Combine(root, "one"), Path.Combine(root, "two")])!;
            ln.WaitForExit();
        });
        List<Member> members = Read(archive, out _);
        Member one = members.Single(m => m.Path == "one"), two = members.Single(m => m.Path == "two");
        Assert.Equal(2u, one.Links);
        Assert.Equal(one.Inode, two.Inode);
        Assert.Equal("shared bytes", one.Data + two.Data);
    }

    // A newc header by hand: the fields the reader looks at.
    static byte[] Header(string name, uint mode, string data, string magic = "070701")
    {
        var b = new StringBuilder(magic);
        foreach (uint field in new uint[] { 1, mode, 0, 0, 1, 0, (uint)data.Length, 0, 0, 0, 0, (uint)name.Length + 1, 0 }) b.Append(field.ToString("x8"));
        b.Append(name).Append('\0');
        while (b.Length % 4 != 0) b.Append('\0');
        b.Append(data);
        while (b.Length % 4 != 0) b.Append('\0');
        return Encoding.ASCII.GetBytes(b.ToString());
    }

    [Fact]
    public void A_leading_dot_slash_or_slash_is_dropped_from_names()
    {
        byte[] archive = [.. Header("./a", 0x81a4, "x"), .. Header("/b", 0x81a4, "y"), .. Header("TRAILER!!!", 0, "")];
        Assert.Equal(["a", "b"], Read(archive, out CpioError end).Select(m => m.Path));
        Assert.Equal(CpioError.End, end);
    }

    [Fact]
    public void A_truncated_archive_is_reported_not_read_past_its_end()
    {
        byte[] whole = [.. Header("app", 0x81a4, "0123456789"), .. Header("TRAILER!!!", 0, "")];
        foreach (int cut in new[] { 50, 110, 115, 120 })
        {
            Read(whole[..cut], out CpioError end);
            Assert.Equal(CpioError.Truncated, end);
        }
        // No trailer at all: the reader stops at the end, as truncated.
        Read(Header("app", 0x81a4, "0123456789"), out CpioError missing);
        Assert.Equal(CpioError.Truncated, missing);
    }

    [Fact]
    public void A_corrupt_header_is_reported_by_what_is_wrong_with_it()
    {
        byte[] bad = Header("app", 0x81a4, "x");
        bad[10] = (byte)'z';
        Read(bad, out CpioError number);
        Assert.Equal(CpioError.BadNumber, number);
        Read(Header("app", 0x81a4, "x", magic: "070707"), out CpioError magic);
        Assert.Equal(CpioError.BadMagic, magic);
        Assert.False(CpioArchive.IsArchive([0x7f, (byte)'E', (byte)'L', (byte)'F', 2, 1]));
    }
}
