using System.Runtime.InteropServices;
using System.Text;
using Libra.Shims.NineP;
using Xunit;
using Xunit.Abstractions;

namespace Libra.Tests.NineP;

// NinePSession, the kernel's transport-independent 9P client, against diod through a socket transport:
// the file operations the syscalls will make, the zero-copy read/write paths, and the rename/unlink
// fallbacks for a server without Trenameat/Tunlinkat.
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed unsafe class DiodSessionTests : IClassFixture<DiodServer>, IDisposable
{
    private const int BufferSize = 256 * 1024;
    private const uint ORDONLY = 0, ORDWR = 2, OCREAT = 0x40, OEXCL = 0x80, ODIRECTORY = 0x10000;

    private readonly ITestOutputHelper _output;
    private readonly System.Net.Sockets.Socket _socket;
    private readonly void* _context;
    private readonly byte* _memory;   // request buffer, reply buffer, fid bitmap
    private NinePSession _session;
    private readonly string _dir;
    private readonly uint _dirFid;

    public DiodSessionTests(DiodServer server, ITestOutputHelper output)
    {
        _output = output;
        _socket = server.Connect();
        _context = SocketTransport.Context(_socket);
        _memory = (byte*)NativeMemory.AllocZeroed(2 * BufferSize + 64 * sizeof(ulong));
        _session = new NinePSession(SocketTransport.Function, _context, _memory, _memory + BufferSize, BufferSize, (ulong*)(_memory + 2 * BufferSize), 64);
        Assert.Equal(0, _session.Connect(BufferSize, B(server.Export), DiodServer.Uid));
        _output.WriteLine($"msize {_session.Msize}, MaxIo {_session.MaxIo}");
        string name = "c" + Guid.NewGuid().ToString("N")[..8];
        _dir = Path.Combine(server.Export, name);
        Directory.CreateDirectory(_dir);
        Assert.Equal(0, _session.Walk(_session.RootFid, B(name), out _dirFid, out var qid));
        Assert.True(qid.IsDirectory);
    }

    public void Dispose()
    {
        try
        {
            Assert.Equal(0, _session.Clunk(_dirFid));
            Assert.Equal(0, _session.Clunk(_session.RootFid));
            Assert.Equal(0, _session.FidsInUse);
        }
        finally
        {
            _socket.Dispose();
            SocketTransport.Release(_context);
            NativeMemory.Free(_memory);
        }
    }

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    [Fact]
    public void Create_write_and_read_back_a_file_larger_than_msize()
    {
        var payload = new byte[3 * _session.MaxIo + 12345];
        new Random(2).NextBytes(payload);
        Assert.Equal(0, _session.Create(_dirFid, B("data.bin"), ORDWR | OCREAT | OEXCL, 0x1a4, DiodServer.Gid, out uint f, out var qid, out _));
        Assert.False(qid.IsDirectory);
        for (int at = 0; at < payload.Length;)
        {
            int n = _session.Write(f, (ulong)at, payload.AsSpan(at));
            Assert.True(n > 0, $"write at {at}: {n}");
            at += n;
        }
        Assert.Equal(0, _session.Fsync(f, dataSync: false));
        Assert.Equal(0, _session.Clunk(f));
        Assert.Equal(payload, File.ReadAllBytes(Path.Combine(_dir, "data.bin")));

        Assert.Equal(0, _session.Walk(_dirFid, B("data.bin"), out f, out var walked));
        Assert.Equal(qid.Path, walked.Path);
        Assert.Equal(0, _session.Open(f, ORDONLY, out _, out _));
        var back = new byte[payload.Length + 100];
        int total = 0;
        while (true)
        {
            int n = _session.Read(f, (ulong)total, back.AsSpan(total));
            Assert.True(n >= 0, $"read at {total}: {n}");
            if (n == 0) break;
            total += n;
        }
        Assert.Equal(payload.Length, total);
        Assert.Equal(payload, back[..total]);
        Assert.Equal(0, _session.GetAttr(f, NinePProtocol.GetattrBasic, out var attr));
        Assert.Equal((ulong)payload.Length, attr.Size);
        Assert.Equal(0, _session.Clunk(f));
    }

    [Fact]
    public void Readdir_walks_a_directory_to_its_end()
    {
        for (int i = 0; i < 300; i++) File.WriteAllText(Path.Combine(_dir, $"n{i:D3}"), "");
        Assert.Equal(0, _session.Walk(_dirFid, default, out uint d, out _));
        Assert.Equal(0, _session.Open(d, ORDONLY | ODIRECTORY, out _, out _));
        var names = new List<string>();
        ulong offset = 0;
        while (true)
        {
            Assert.Equal(0, _session.ReadDirectory(d, offset, out var entries));
            if (entries.Length == 0) break;
            while (entries.Next(out var e)) { names.Add(Encoding.UTF8.GetString(e.Name)); offset = e.Offset; }
            Assert.Equal(0, entries.Error);
        }
        Assert.Equal(302, names.Count);
        Assert.Equal(Enumerable.Range(0, 300).Select(i => $"n{i:D3}").Concat(new[] { ".", ".." }).OrderBy(x => x, StringComparer.Ordinal),
            names.OrderBy(x => x, StringComparer.Ordinal));
        Assert.Equal(0, _session.Clunk(d));
    }

    [Fact]
    public void Rename_and_unlink_fall_back_when_the_server_lacks_the_at_forms()
    {
        File.WriteAllText(Path.Combine(_dir, "old"), "content");
        Assert.Equal(0, _session.MakeDirectory(_dirFid, B("into"), 0x1ed, DiodServer.Gid, out _));
        Assert.Equal(0, _session.Walk(_dirFid, B("into"), out uint into, out _));
        Assert.Equal(0, _session.Rename(_dirFid, B("old"), into, B("new")));
        Assert.Equal("content", File.ReadAllText(Path.Combine(_dir, "into", "new")));
        Assert.False(File.Exists(Path.Combine(_dir, "old")));

        Assert.Equal(-21, _session.Unlink(_dirFid, B("into"), 0));                                 // EISDIR: unlink(2) of a directory
        Assert.Equal(-20, _session.Unlink(into, B("new"), NinePProtocol.UnlinkRemoveDirectory));  // ENOTDIR: rmdir(2) of a file
        Assert.Equal(0, _session.Unlink(into, B("new"), 0));
        Assert.False(File.Exists(Path.Combine(_dir, "into", "new")));
        Assert.Equal(-2, _session.Unlink(into, B("new"), 0));
        Assert.Equal(0, _session.Clunk(into));
        Assert.Equal(0, _session.Unlink(_dirFid, B("into"), NinePProtocol.UnlinkRemoveDirectory));
        Assert.False(Directory.Exists(Path.Combine(_dir, "into")));
        _output.WriteLine($"rename fallback {_session.UsesRenameFallback}, unlink fallback {_session.UsesUnlinkFallback}");
    }

    [Fact]
    public void Symlink_readlink_setattr_link_mknod_and_statfs()
    {
        Assert.Equal(0, _session.Symlink(_dirFid, B("ln"), B("some/where"), DiodServer.Gid, out var lq));
        Assert.True(lq.IsSymlink);
        Assert.Equal(0, _session.Walk(_dirFid, B("ln"), out uint l, out _));
        var target = new byte[64];
        Assert.Equal(10, _session.ReadLink(l, target));
        Assert.Equal("some/where", Encoding.UTF8.GetString(target, 0, 10));
        Assert.Equal(4, _session.ReadLink(l, target.AsSpan(0, 4)));  // cut to fit, as readlink(2)
        Assert.Equal(0, _session.Clunk(l));

        File.WriteAllText(Path.Combine(_dir, "t"), "truncate me");
        Assert.Equal(0, _session.Walk(_dirFid, B("t"), out uint t, out _));
        var set = new NinePSetAttr { Valid = NinePProtocol.SetattrSize, Size = 8 };
        Assert.Equal(0, _session.SetAttr(t, set));
        Assert.Equal("truncate", File.ReadAllText(Path.Combine(_dir, "t")));
        Assert.Equal(0, _session.Link(_dirFid, t, B("t2")));
        Assert.Equal("truncate", File.ReadAllText(Path.Combine(_dir, "t2")));
        Assert.Equal(0, _session.GetAttr(t, NinePProtocol.GetattrNlink, out var a));
        Assert.Equal(2ul, a.Nlink);
        Assert.Equal(0, _session.Clunk(t));

        Assert.Equal(0, _session.MakeNode(_dirFid, B("p"), 0x1000 | 0x1a4, 0, 0, DiodServer.Gid, out _));
        Assert.Equal(0, _session.StatFs(_dirFid, out var st));
        Assert.True(st.Blocks > 0 && st.NameLength == 255);
    }

    [Fact]
    public void A_missing_name_is_ENOENT_and_leaves_no_fid_behind()
    {
        int before = _session.FidsInUse;
        Directory.CreateDirectory(Path.Combine(_dir, string.Join('/', Enumerable.Range(0, 18).Select(i => "x" + i))));
        Assert.Equal(-2, _session.Walk(_dirFid, B("nothing"), out uint none, out _));
        Assert.Equal(NinePProtocol.NoFid, none);
        Assert.Equal(-2, _session.Walk(_dirFid, B("x0/x1/nothing/x3"), out _, out _));
        // Past the first 16 names: the second Twalk fails, and the fid of the first is clunked.
        Assert.Equal(-2, _session.Walk(_dirFid, B(string.Join('/', Enumerable.Range(0, 17).Select(i => "x" + i)) + "/nothing"), out _, out _));
        Assert.Equal(before, _session.FidsInUse);
        Assert.Equal(0, _session.Walk(_dirFid, B(string.Join('/', Enumerable.Range(0, 18).Select(i => "x" + i))), out uint deep, out var q));
        Assert.True(q.IsDirectory);
        Assert.Equal(before + 1, _session.FidsInUse);
        Assert.Equal(0, _session.Clunk(deep));
        Assert.Equal(-17, _session.MakeDirectory(_dirFid, B("x0"), 0x1ed, DiodServer.Gid, out _));  // EEXIST
        Assert.Equal(-17, _session.Create(_dirFid, B("x0"), ORDWR | OCREAT | OEXCL, 0x1a4, DiodServer.Gid, out uint f, out _, out _));
        Assert.Equal(NinePProtocol.NoFid, f);
        Assert.Equal(before, _session.FidsInUse);
    }
}
