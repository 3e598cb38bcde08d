using System.Runtime.InteropServices;
using System.Text;
using Libra.Shims.NineP;
using Xunit;
using Xunit.Abstractions;

namespace Libra.Tests.NineP;

// NinePSession, the kernel's 9P client (NinePClient runs one), against diod through a socket: the
// file operations the syscalls make, reads and writes larger than msize, and the rename/unlink
// fallbacks for a server without Trenameat/Tunlinkat (diod 1.0.24).
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed unsafe class DiodSessionTests : IClassFixture<DiodServer>, IDisposable
{
    private const int BufferSize = 256 * 1024;   // NinePClient.ProposedMsize, as the kernel proposes
    private const uint ORDONLY = 0, ORDWR = 2, OCREAT = 0x40, OEXCL = 0x80, ODIRECTORY = 0x10000;

    private readonly ITestOutputHelper _output;
    private readonly System.Net.Sockets.Socket _socket;
    private readonly HostNinePSession _host;
    private readonly string _dir;
    private readonly uint _dirFid;

    private NinePSession* S => _host.Session;

    public DiodSessionTests(DiodServer server, ITestOutputHelper output)
    {
        _output = output;
        _socket = server.Connect();
        _host = new HostNinePSession(SocketTransport.Over(_socket), BufferSize);
        Assert.Equal(0, S->Mount(B(server.Export)));
        _output.WriteLine($"msize {S->Msize}, MaxIo {S->MaxIo}");
        string name = "c" + Guid.NewGuid().ToString("N")[..8];
        _dir = Path.Combine(server.Export, name);
        Directory.CreateDirectory(_dir);
        Assert.Equal(0, S->Walk(S->RootFid, B(name), out _dirFid, out var qid));
        Assert.True(qid.IsDirectory);
    }

    public void Dispose()
    {
        try
        {
            Assert.Equal(0, S->Clunk(_dirFid));
            Assert.Equal(1, S->FidsInUse);   // the root, which lives as long as the session
            Assert.Equal(0, S->TagsInUse);
            Assert.Empty(_host.Reports);
        }
        finally
        {
            _socket.Dispose();
            _host.Dispose();
        }
    }

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    [Fact]
    public void Create_write_and_read_back_a_file_larger_than_msize()
    {
        var payload = new byte[3 * S->MaxIo + 12345];
        new Random(2).NextBytes(payload);
        Assert.Equal(0, S->Walk(_dirFid, default, out uint f, out _));
        Assert.Equal(0, S->Create(f, B("data.bin"), ORDWR | OCREAT | OEXCL, 0x1a4, out var qid));
        Assert.False(qid.IsDirectory);
        fixed (byte* data = payload)
        {
            for (int at = 0; at < payload.Length;)
            {
                int n = S->Write(f, (ulong)at, data + at, payload.Length - at);
                Assert.True(n > 0, $"write at {at}: {n}");
                at += n;
            }
        }
        Assert.Equal(0, S->Fsync(f, dataOnly: false));
        Assert.Equal(0, S->Clunk(f));
        Assert.Equal(payload, File.ReadAllBytes(Path.Combine(_dir, "data.bin")));

        Assert.Equal(0, S->Walk(_dirFid, B("data.bin"), out f, out var walked));
        Assert.Equal(qid.Path, walked.Path);
        Assert.Equal(0, S->Open(f, ORDONLY, out _, out _));
        var back = new byte[payload.Length + 100];
        int total = 0;
        fixed (byte* into = back)
        {
            while (true)
            {
                int n = S->Read(f, (ulong)total, into + total, back.Length - total);
                Assert.True(n >= 0, $"read at {total}: {n}");
                if (n == 0) break;
                total += n;
            }
        }
        Assert.Equal(payload.Length, total);
        Assert.Equal(payload, back[..total]);
        Assert.Equal(0, S->GetAttr(f, NinePProtocol.GetattrBasic, out var attr));
        Assert.Equal((ulong)payload.Length, attr.Size);
        Assert.Equal(0, S->Clunk(f));
    }

    [Fact]
    public void Readdir_walks_a_directory_to_its_end()
    {
        for (int i = 0; i < 300; i++) File.WriteAllText(Path.Combine(_dir, $"n{i:D3}"), "");
        Assert.Equal(0, S->Walk(_dirFid, default, out uint d, out var dq));
        Assert.True(dq.IsDirectory);   // a clone's qid comes from Tgetattr
        Assert.Equal(0, S->Open(d, ORDONLY | ODIRECTORY, out _, out _));
        var names = new List<string>();
        ulong offset = 0;
        var buffer = new byte[4096];
        fixed (byte* into = buffer)
        {
            while (true)
            {
                int length = S->ReadDirectory(d, offset, into, buffer.Length);
                Assert.True(length >= 0, $"readdir at {offset}: {length}");
                if (length == 0) break;
                var entries = new NinePDirents(new ReadOnlySpan<byte>(into, length));
                while (entries.Next(out var e)) { names.Add(Encoding.UTF8.GetString(e.Name)); offset = e.Offset; }
                Assert.Equal(0, entries.Error);
            }
        }
        Assert.Equal(302, names.Count);
        Assert.Equal(Enumerable.Range(0, 300).Select(i => $"n{i:D3}").Concat(new[] { ".", ".." }).OrderBy(x => x, StringComparer.Ordinal),
            names.OrderBy(x => x, StringComparer.Ordinal));
        Assert.Equal(0, S->Clunk(d));
    }

    [Fact]
    public void Rename_and_unlink_fall_back_when_the_server_lacks_the_at_forms()
    {
        File.WriteAllText(Path.Combine(_dir, "old"), "content");
        Assert.Equal(0, S->MakeDirectory(_dirFid, B("into"), 0x1ed, out _));
        Assert.Equal(0, S->Walk(_dirFid, B("into"), out uint into, out _));
        Assert.Equal(0, S->Rename(_dirFid, B("old"), into, B("new")));
        Assert.Equal("content", File.ReadAllText(Path.Combine(_dir, "into", "new")));
        Assert.False(File.Exists(Path.Combine(_dir, "old")));

        Assert.Equal(-21, S->Unlink(_dirFid, B("into"), 0));                                 // EISDIR: unlink(2) of a directory
        Assert.Equal(-20, S->Unlink(into, B("new"), NinePProtocol.UnlinkRemoveDirectory));  // ENOTDIR: rmdir(2) of a file
        Assert.Equal(0, S->Unlink(into, B("new"), 0));
        Assert.False(File.Exists(Path.Combine(_dir, "into", "new")));
        Assert.Equal(-2, S->Unlink(into, B("new"), 0));
        Assert.Equal(0, S->Clunk(into));
        Assert.Equal(0, S->Unlink(_dirFid, B("into"), NinePProtocol.UnlinkRemoveDirectory));
        Assert.False(Directory.Exists(Path.Combine(_dir, "into")));
        _output.WriteLine($"rename fallback {S->UsesRenameFallback}, unlink fallback {S->UsesUnlinkFallback}");
    }

    [Fact]
    public void Tlink_gives_a_file_a_second_name_with_the_same_inode()
    {
        File.WriteAllText(Path.Combine(_dir, "first"), "linked");
        Assert.Equal(0, S->Walk(_dirFid, B("first"), out uint f, out _));
        Assert.Equal(0, S->Link(_dirFid, f, B("second")));
        Assert.Equal("linked", File.ReadAllText(Path.Combine(_dir, "second")));
        Assert.True(S->Link(_dirFid, f, B("second")) < 0);     // the name is taken
        Assert.Equal(0, S->Clunk(f));
        Assert.Equal(2ul, LinkCount(Path.Combine(_dir, "first")));
    }

    // st_nlink through stat(1).
    private static ulong LinkCount(string path)
    {
        using var stat = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("stat", ["-c", "%h", path]) { RedirectStandardOutput = true })!;
        string text = stat.StandardOutput.ReadToEnd();
        stat.WaitForExit();
        return ulong.Parse(text.Trim());
    }

    [Fact]
    public void Symlink_readlink_setattr_and_statfs()
    {
        Assert.Equal(0, S->Symlink(_dirFid, B("ln"), B("some/where"), out var lq));
        Assert.True(lq.IsSymlink);
        Assert.Equal(0, S->Walk(_dirFid, B("ln"), out uint l, out _));
        var target = new byte[64];
        fixed (byte* t = target)
        {
            Assert.Equal(10, S->ReadLink(l, t, target.Length));
            Assert.Equal("some/where", Encoding.UTF8.GetString(target, 0, 10));
            Assert.Equal(4, S->ReadLink(l, t, 4));  // cut to fit, as readlink(2)
        }
        Assert.Equal(0, S->Clunk(l));

        File.WriteAllText(Path.Combine(_dir, "t"), "truncate me");
        Assert.Equal(0, S->Walk(_dirFid, B("t"), out uint f, out _));
        var set = new NinePSetAttr { Valid = NinePProtocol.SetattrSize, Size = 8 };
        Assert.Equal(0, S->SetAttr(f, set));
        Assert.Equal("truncate", File.ReadAllText(Path.Combine(_dir, "t")));
        Assert.Equal(0, S->Clunk(f));

        Assert.Equal(0, S->StatFs(_dirFid, out var st));
        Assert.True(st.Blocks > 0 && st.NameLength == 255);
    }

    [Fact]
    public void A_walk_through_a_directory_link_names_the_link()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "real"));
        File.WriteAllText(Path.Combine(_dir, "real", "f"), "");
        File.CreateSymbolicLink(Path.Combine(_dir, "via"), "real");
        // diod walks through the link on the host; the client still reports it, for the kernel to resolve.
        int error = S->Walk(_dirFid, B("via/f"), out uint f, out _, out int linkIndex);
        Assert.Equal(0, linkIndex);
        if (error == 0) Assert.Equal(0, S->Clunk(f));
    }

    [Fact]
    public void A_missing_name_is_ENOENT_and_leaves_no_fid_behind()
    {
        int before = S->FidsInUse;
        Directory.CreateDirectory(Path.Combine(_dir, string.Join('/', Enumerable.Range(0, 18).Select(i => "x" + i))));
        Assert.Equal(-2, S->Walk(_dirFid, B("nothing"), out uint none, out _));
        Assert.Equal(NinePProtocol.NoFid, none);
        Assert.Equal(-2, S->Walk(_dirFid, B("x0/x1/nothing/x3"), out _, out _));
        // Past the first 16 names: the second, in-place Twalk fails, and the fid is clunked.
        Assert.Equal(-2, S->Walk(_dirFid, B(string.Join('/', Enumerable.Range(0, 17).Select(i => "x" + i)) + "/nothing"), out _, out _));
        Assert.Equal(before, S->FidsInUse);
        Assert.Equal(0, S->Walk(_dirFid, B(string.Join('/', Enumerable.Range(0, 18).Select(i => "x" + i))), out uint deep, out var q));
        Assert.True(q.IsDirectory);
        Assert.Equal(before + 1, S->FidsInUse);
        Assert.Equal(0, S->Clunk(deep));
        Assert.Equal(-17, S->MakeDirectory(_dirFid, B("x0"), 0x1ed, out _));  // EEXIST
        Assert.Equal(0, S->Walk(_dirFid, default, out uint f, out _));
        Assert.Equal(-17, S->Create(f, B("x0"), ORDWR | OCREAT | OEXCL, 0x1a4, out _));
        Assert.Equal(0, S->Clunk(f));   // a failed create leaves the fid the directory's
        Assert.Equal(before, S->FidsInUse);
    }
}
