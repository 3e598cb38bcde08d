using System.Diagnostics;
using System.Text;
using Libra.Shims.NineP;
using Xunit;
using Xunit.Abstractions;

namespace Libra.Tests.NineP;

// The kernel's 9P2000.L codec against a real server (diod) with no QEMU: every message the file
// syscalls will send, checked against what the host directory then holds.
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class DiodCodecTests : IClassFixture<DiodServer>, IDisposable
{
    private const uint Msize = 128 * 1024 + NinePProtocol.IoHeaderSize;
    private const int ENOENT = -2, EEXIST = -17, ENOSYS = -38, EOPNOTSUPP = -95;
    private const uint ORDONLY = 0, OWRONLY = 1, ORDWR = 2, OCREAT = 0x40, OEXCL = 0x80, ODIRECTORY = 0x10000;

    private readonly DiodServer _server;
    private readonly ITestOutputHelper _output;
    private readonly NinePSocketSession _s;
    private readonly string _dir;       // this test's own directory on the host
    private readonly uint _dirFid;      // ... and a fid for it

    public DiodCodecTests(DiodServer server, ITestOutputHelper output)
    {
        _server = server;
        _output = output;
        _output.WriteLine(server.CommandLine);
        _s = new NinePSocketSession(server.Connect());
        uint msize = _s.Connect(Msize, server.Export);
        _output.WriteLine($"msize proposed {Msize}, agreed {msize}");
        Assert.True(_s.RootQid.IsDirectory);
        string name = "t" + Guid.NewGuid().ToString("N")[..8];
        _dir = Path.Combine(server.Export, name);
        Directory.CreateDirectory(_dir);
        Assert.Equal(0, _s.Walk(_s.RootFid, name, out _dirFid, out _));
    }

    public void Dispose()
    {
        try
        {
            Assert.Equal(0, _s.Clunk(_dirFid));
            Assert.Equal(0, _s.Clunk(_s.RootFid));
            Assert.Equal(0, _s.FidsInUse);
            Assert.Equal(0, _s.TagsInUse);
        }
        finally { _s.Dispose(); }
    }

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private static string Shell(string command)
    {
        var start = new ProcessStartInfo("sh") { RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(command);
        using var p = Process.Start(start)!;
        string output = p.StandardOutput.ReadToEnd().Trim();
        p.WaitForExit();
        return output;
    }

    private static ulong Inode(string path) => ulong.Parse(Shell($"stat -c %i '{path}'"));

    // --- the session the brief lists: version → attach → walk → lcreate → write → clunk → walk → lopen
    //     → read → getattr → readdir → mkdir → renameat/rename → unlinkat/remove → statfs

    [Fact]
    public void Create_write_read_back_and_stat_a_file()
    {
        // Tlcreate on a clone of the directory fid: that fid becomes the open file.
        Assert.Equal(0, _s.Walk(_dirFid, "", out uint f, out _));
        ushort tag = _s.NewTag();
        int n = NinePCodec.Tlcreate(_s.Tx, tag, f, B("hello.txt"), ORDWR | OCREAT | OEXCL, 0x1a4 /* 0644 */, DiodServer.Gid);
        Assert.Equal(0, NinePCodec.Rlcreate(_s.Call(n), _s.Msize, tag, out var created, out uint iounit));
        _s.FreeTag(tag);
        Assert.False(created.IsDirectory);
        _output.WriteLine($"Rlcreate iounit {iounit}");

        tag = _s.NewTag();
        n = NinePCodec.Twrite(_s.Tx, tag, f, 0, B("hello, 9p world"));
        Assert.Equal(0, NinePCodec.Rwrite(_s.Call(n), _s.Msize, tag, out uint written));
        _s.FreeTag(tag);
        Assert.Equal(15u, written);
        Assert.Equal(0, _s.Clunk(f));
        string host = Path.Combine(_dir, "hello.txt");
        Assert.Equal("hello, 9p world", File.ReadAllText(host));
        Assert.Equal(Inode(host), created.Path);  // diod's qid path is the inode number

        Assert.Equal(0, _s.Walk(_dirFid, "hello.txt", out f, out var walked));
        Assert.Equal(created.Path, walked.Path);
        tag = _s.NewTag();
        Assert.Equal(0, NinePCodec.Rlopen(_s.Call(NinePCodec.Tlopen(_s.Tx, tag, f, ORDONLY)), _s.Msize, tag, out var opened, out _));
        _s.FreeTag(tag);
        Assert.Equal(created.Path, opened.Path);

        foreach (var (offset, expected) in new[] { (0ul, "hello, 9p world"), (7ul, "9p world"), (15ul, ""), (100ul, "") })
        {
            tag = _s.NewTag();
            Assert.Equal(0, NinePCodec.Rread(_s.Call(NinePCodec.Tread(_s.Tx, tag, f, offset, 4096)), _s.Msize, tag, out var data));
            _s.FreeTag(tag);
            Assert.Equal(expected, Encoding.UTF8.GetString(data));
        }

        tag = _s.NewTag();
        Assert.Equal(0, NinePCodec.Rgetattr(_s.Call(NinePCodec.Tgetattr(_s.Tx, tag, f, NinePProtocol.GetattrAll)), _s.Msize, tag, out var a));
        _s.FreeTag(tag);
        Assert.Equal(NinePProtocol.GetattrBasic, a.Valid & NinePProtocol.GetattrBasic);
        var info = new FileInfo(host);
        Assert.Equal(15ul, a.Size);
        Assert.Equal(0x8000u, a.Mode & 0xf000);  // S_IFREG
        Assert.Equal((uint)File.GetUnixFileMode(host), a.Mode & 0x1ff);
        Assert.Equal(1ul, a.Nlink);
        Assert.Equal(DiodServer.Uid, a.Uid);
        Assert.Equal(created.Path, a.Qid.Path);
        Assert.Equal(new DateTimeOffset(info.LastWriteTimeUtc).ToUnixTimeSeconds(), (long)a.MtimeSec);
        Assert.True(a.MtimeNsec < 1_000_000_000);
        Assert.Equal(ulong.Parse(Shell($"stat -c %b '{host}'")), a.Blocks);
        Assert.Equal(0, _s.Clunk(f));
    }

    [Fact]
    public void Readdir_lists_the_directory_across_several_replies()
    {
        var names = Enumerable.Range(0, 40).Select(i => $"entry-{i:D2}-{new string('x', i)}").ToList();
        foreach (var name in names) File.WriteAllText(Path.Combine(_dir, name), name);
        Directory.CreateDirectory(Path.Combine(_dir, "subdir"));

        Assert.Equal(0, _s.Walk(_dirFid, "", out uint d, out _));
        ushort tag = _s.NewTag();
        Assert.Equal(0, NinePCodec.Rlopen(_s.Call(NinePCodec.Tlopen(_s.Tx, tag, d, ORDONLY | ODIRECTORY)), _s.Msize, tag, out var q, out _));
        _s.FreeTag(tag);
        Assert.True(q.IsDirectory);

        var seen = new Dictionary<string, (byte Type, NinePQid Qid)>();
        ulong offset = 0;
        int replies = 0;
        while (true)
        {
            tag = _s.NewTag();
            // 256 bytes per reply: a few entries each, so the offset cookie is exercised.
            Assert.Equal(0, NinePCodec.Rreaddir(_s.Call(NinePCodec.Treaddir(_s.Tx, tag, d, offset, 256)), _s.Msize, tag, out var entries));
            _s.FreeTag(tag);
            if (entries.Length == 0) break;
            replies++;
            while (entries.Next(out var e))
            {
                Assert.True(seen.TryAdd(Encoding.UTF8.GetString(e.Name), (e.Type, e.Qid)), "an entry came twice");
                offset = e.Offset;
            }
            Assert.Equal(0, entries.Error);
        }
        _output.WriteLine($"{seen.Count} entries in {replies} Rreaddir replies");
        Assert.True(replies > 3);
        var expected = names.Concat(new[] { ".", "..", "subdir" }).OrderBy(x => x, StringComparer.Ordinal);
        Assert.Equal(expected, seen.Keys.OrderBy(x => x, StringComparer.Ordinal));
        Assert.Equal(4, seen["subdir"].Type);     // DT_DIR
        Assert.Equal(8, seen["entry-00-"].Type);  // DT_REG
        Assert.True(seen["subdir"].Qid.IsDirectory);
        Assert.Equal(Inode(Path.Combine(_dir, "entry-07-xxxxxxx")), seen["entry-07-xxxxxxx"].Qid.Path);
        Assert.Equal(0, _s.Clunk(d));
    }

    [Fact]
    public void Mkdir_rename_and_unlink_with_the_fallbacks_diod_needs()
    {
        File.WriteAllText(Path.Combine(_dir, "a.txt"), "a");
        ushort tag = _s.NewTag();
        Assert.Equal(0, NinePCodec.Rmkdir(_s.Call(NinePCodec.Tmkdir(_s.Tx, tag, _dirFid, B("sub"), 0x1ed, DiodServer.Gid)), _s.Msize, tag, out var sub));
        _s.FreeTag(tag);
        Assert.True(sub.IsDirectory);
        Assert.True(Directory.Exists(Path.Combine(_dir, "sub")));
        Assert.Equal(Inode(Path.Combine(_dir, "sub")), sub.Path);
        Assert.Equal(0, _s.Walk(_dirFid, "sub", out uint subFid, out _));

        // Trenameat; a server without it (diod 1.0.24) says so, and Trename of a walked fid does the job.
        tag = _s.NewTag();
        int renameat = NinePCodec.Rrenameat(_s.Call(NinePCodec.Trenameat(_s.Tx, tag, _dirFid, B("a.txt"), subFid, B("b.txt"))), _s.Msize, tag);
        _s.FreeTag(tag);
        _output.WriteLine($"Trenameat: {renameat}");
        if (renameat != 0)
        {
            Assert.Contains(renameat, new[] { ENOSYS, EOPNOTSUPP });
            Assert.Equal(0, _s.Walk(_dirFid, "a.txt", out uint a, out _));
            tag = _s.NewTag();
            Assert.Equal(0, NinePCodec.Rrename(_s.Call(NinePCodec.Trename(_s.Tx, tag, a, subFid, B("b.txt"))), _s.Msize, tag));
            _s.FreeTag(tag);
            Assert.Equal(0, _s.Clunk(a));
        }
        Assert.False(File.Exists(Path.Combine(_dir, "a.txt")));
        Assert.Equal("a", File.ReadAllText(Path.Combine(_dir, "sub", "b.txt")));

        // Tunlinkat; without it, Tremove of a walked fid (which clunks the fid too).
        tag = _s.NewTag();
        int unlinkat = NinePCodec.Runlinkat(_s.Call(NinePCodec.Tunlinkat(_s.Tx, tag, subFid, B("b.txt"), 0)), _s.Msize, tag);
        _s.FreeTag(tag);
        _output.WriteLine($"Tunlinkat: {unlinkat}");
        if (unlinkat != 0)
        {
            Assert.Contains(unlinkat, new[] { ENOSYS, EOPNOTSUPP });
            Assert.Equal(0, _s.Walk(subFid, "b.txt", out uint b, out _));
            Assert.Equal(0, _s.Remove(b));
        }
        Assert.False(File.Exists(Path.Combine(_dir, "sub", "b.txt")));

        // rmdir: Tunlinkat with AT_REMOVEDIR, or Tremove of the directory's own fid.
        tag = _s.NewTag();
        int rmdir = NinePCodec.Runlinkat(_s.Call(NinePCodec.Tunlinkat(_s.Tx, tag, _dirFid, B("sub"), NinePProtocol.UnlinkRemoveDirectory)), _s.Msize, tag);
        _s.FreeTag(tag);
        if (rmdir == 0) Assert.Equal(0, _s.Clunk(subFid));
        else Assert.Equal(0, _s.Remove(subFid));
        Assert.False(Directory.Exists(Path.Combine(_dir, "sub")));
    }

    [Fact]
    public void Statfs_reports_the_host_file_system()
    {
        ushort tag = _s.NewTag();
        Assert.Equal(0, NinePCodec.Rstatfs(_s.Call(NinePCodec.Tstatfs(_s.Tx, tag, _dirFid)), _s.Msize, tag, out var st));
        _s.FreeTag(tag);
        // `stat -f`: total blocks, fundamental block size, maximum name length.
        var host = Shell($"stat -f -c '%b %S %l' '{_dir}'").Split(' ').Select(ulong.Parse).ToArray();
        _output.WriteLine($"Rstatfs type {st.Type:x} bsize {st.BlockSize} blocks {st.Blocks} namelen {st.NameLength}; host {string.Join(' ', host)}");
        Assert.Equal(0x01021997u, st.Type);   // V9FS_MAGIC: diod hides the real type unless -p
        Assert.Equal(host[0], st.Blocks);
        Assert.Equal(host[1], st.BlockSize);
        Assert.Equal(host[2], st.NameLength);
        Assert.True(st.BlocksAvailable <= st.BlocksFree && st.BlocksFree <= st.Blocks);
    }

    // --- more of what the file syscalls will send ----------------------------------------------

    [Fact]
    public void Symlink_readlink_setattr_and_fsync()
    {
        ushort tag = _s.NewTag();
        Assert.Equal(0, NinePCodec.Rsymlink(_s.Call(NinePCodec.Tsymlink(_s.Tx, tag, _dirFid, B("link"), B("../target/x"), DiodServer.Gid)), _s.Msize, tag, out var lq));
        _s.FreeTag(tag);
        Assert.True(lq.IsSymlink);
        Assert.Equal("../target/x", new FileInfo(Path.Combine(_dir, "link")).LinkTarget);
        Assert.Equal(0, _s.Walk(_dirFid, "link", out uint l, out _));
        tag = _s.NewTag();
        Assert.Equal(0, NinePCodec.Rreadlink(_s.Call(NinePCodec.Treadlink(_s.Tx, tag, l)), _s.Msize, tag, out var target));
        _s.FreeTag(tag);
        Assert.Equal("../target/x", Encoding.UTF8.GetString(target));
        Assert.Equal(0, _s.Clunk(l));

        string host = Path.Combine(_dir, "f");
        File.WriteAllText(host, "0123456789");
        Assert.Equal(0, _s.Walk(_dirFid, "f", out uint f, out _));
        var attr = new NinePSetAttr
        {
            Valid = NinePProtocol.SetattrSize | NinePProtocol.SetattrMode | NinePProtocol.SetattrMtime | NinePProtocol.SetattrMtimeSet,
            Mode = 0x180 /* 0600 */, Size = 4, MtimeSec = 1_000_000_000, MtimeNsec = 5,
        };
        tag = _s.NewTag();
        Assert.Equal(0, NinePCodec.Rsetattr(_s.Call(NinePCodec.Tsetattr(_s.Tx, tag, f, attr)), _s.Msize, tag));
        _s.FreeTag(tag);
        Assert.Equal("0123", File.ReadAllText(host));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(host));
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_000_000_000).UtcDateTime, File.GetLastWriteTimeUtc(host).AddTicks(-(File.GetLastWriteTimeUtc(host).Ticks % TimeSpan.TicksPerSecond)));

        tag = _s.NewTag();
        Assert.Equal(0, NinePCodec.Rlopen(_s.Call(NinePCodec.Tlopen(_s.Tx, tag, f, OWRONLY)), _s.Msize, tag, out _, out _));
        _s.FreeTag(tag);
        tag = _s.NewTag();
        Assert.Equal(0, NinePCodec.Rfsync(_s.Call(NinePCodec.Tfsync(_s.Tx, tag, f, 0)), _s.Msize, tag));
        _s.FreeTag(tag);
        Assert.Equal(0, _s.Clunk(f));
    }

    [Fact]
    public void Server_errors_arrive_as_Linux_errnos()
    {
        File.WriteAllText(Path.Combine(_dir, "exists"), "");
        Directory.CreateDirectory(Path.Combine(_dir, "d"));

        // A missing first name: Rlerror ENOENT.
        Assert.Equal(ENOENT, _s.Walk(_dirFid, "missing", out _, out _));
        // A missing later name: Rwalk with fewer qids than names, and no newfid.
        uint to = _s.NewFid();
        ushort tag = _s.NewTag();
        var qids = new NinePQid[NinePProtocol.MaxWalkNames];
        Assert.Equal(0, NinePCodec.Rwalk(_s.Call(NinePCodec.Twalk(_s.Tx, tag, _dirFid, to, B("d/missing/deeper"))), _s.Msize, tag, qids, out int count));
        _s.FreeTag(tag);
        Assert.Equal(1, count);
        Assert.True(qids[0].IsDirectory);
        _s.ForgetFid(to);

        // Tlcreate O_EXCL of an existing name, Tmkdir of an existing name: EEXIST.
        Assert.Equal(0, _s.Walk(_dirFid, "", out uint c, out _));
        tag = _s.NewTag();
        Assert.Equal(EEXIST, NinePCodec.Rlcreate(_s.Call(NinePCodec.Tlcreate(_s.Tx, tag, c, B("exists"), ORDWR | OCREAT | OEXCL, 0x1a4, DiodServer.Gid)), _s.Msize, tag, out _, out _));
        _s.FreeTag(tag);
        Assert.Equal(0, _s.Clunk(c));
        tag = _s.NewTag();
        Assert.Equal(EEXIST, NinePCodec.Rmkdir(_s.Call(NinePCodec.Tmkdir(_s.Tx, tag, _dirFid, B("d"), 0x1ed, DiodServer.Gid)), _s.Msize, tag, out _));
        _s.FreeTag(tag);

        // A fid the server never saw: diod's libnpfs answers Rlerror EIO (the codec's own EIO would
        // come without an Rlerror on the wire).
        tag = _s.NewTag();
        var reply = _s.Call(NinePCodec.Tlopen(_s.Tx, tag, 4000, ORDONLY));
        Assert.Equal((byte)NinePType.Rlerror, reply[4]);
        Assert.Equal(-5, NinePCodec.Rlopen(reply, _s.Msize, tag, out _, out _));
        _s.FreeTag(tag);

        // Tauth on a server run with -n: ENOENT, meaning no authentication is needed.
        uint afid = _s.NewFid();
        tag = _s.NewTag();
        Assert.Equal(ENOENT, NinePCodec.Rauth(_s.Call(NinePCodec.Tauth(_s.Tx, tag, afid, ""u8, B(_server.Export), DiodServer.Uid)), _s.Msize, tag, out _));
        _s.FreeTag(tag);
        _s.ForgetFid(afid);

        // Tflush of a tag with nothing in flight: Rflush all the same.
        tag = _s.NewTag();
        Assert.Equal(0, NinePCodec.Rflush(_s.Call(NinePCodec.Tflush(_s.Tx, tag, 77)), _s.Msize, tag));
        _s.FreeTag(tag);
    }

    [Fact]
    public void Link_and_mknod_make_what_the_host_then_sees()
    {
        File.WriteAllText(Path.Combine(_dir, "orig"), "x");
        Assert.Equal(0, _s.Walk(_dirFid, "orig", out uint o, out var oq));
        ushort tag = _s.NewTag();
        Assert.Equal(0, NinePCodec.Rlink(_s.Call(NinePCodec.Tlink(_s.Tx, tag, _dirFid, o, B("hard"))), _s.Msize, tag));
        _s.FreeTag(tag);
        Assert.Equal(0, _s.Clunk(o));
        Assert.Equal(oq.Path, Inode(Path.Combine(_dir, "hard")));

        // A FIFO: S_IFIFO | 0644.
        tag = _s.NewTag();
        Assert.Equal(0, NinePCodec.Rmknod(_s.Call(NinePCodec.Tmknod(_s.Tx, tag, _dirFid, B("fifo"), 0x1000 | 0x1a4, 0, 0, DiodServer.Gid)), _s.Msize, tag, out var fq));
        _s.FreeTag(tag);
        Assert.Equal("fifo", Shell($"stat -c %F '{Path.Combine(_dir, "fifo")}'"));
        Assert.Equal(Inode(Path.Combine(_dir, "fifo")), fq.Path);
    }

    [Fact]
    public void A_walk_of_more_than_16_names_goes_in_steps()
    {
        string deep = string.Join('/', Enumerable.Range(0, 21).Select(i => "d" + i));
        Directory.CreateDirectory(Path.Combine(_dir, deep));
        Assert.Equal(0, _s.Walk(_dirFid, deep, out uint f, out var qid));
        Assert.True(qid.IsDirectory);
        Assert.Equal(Inode(Path.Combine(_dir, deep)), qid.Path);
        Assert.Equal(0, _s.Clunk(f));
    }

    [Fact]
    public void Reads_and_writes_that_fill_msize_with_and_without_a_split_header()
    {
        uint chunk = _s.Msize - NinePProtocol.IoHeaderSize;
        _output.WriteLine($"msize {_s.Msize}: {chunk} bytes per Tread/Twrite");
        var payload = new byte[3 * chunk + 1000];
        new Random(4).NextBytes(payload);

        Assert.Equal(0, _s.Walk(_dirFid, "", out uint f, out _));
        ushort tag = _s.NewTag();
        Assert.Equal(0, NinePCodec.Rlcreate(_s.Call(NinePCodec.Tlcreate(_s.Tx, tag, f, B("big"), ORDWR | OCREAT, 0x1a4, DiodServer.Gid)), _s.Msize, tag, out _, out uint iounit));
        _s.FreeTag(tag);
        if (iounit != 0) chunk = Math.Min(chunk, iounit);

        // Whole messages for the even chunks, header + payload sent apart for the odd ones (as the
        // virtio transport will send them, from the caller's memory).
        int index = 0;
        for (int at = 0; at < payload.Length; index++)
        {
            int len = Math.Min((int)chunk, payload.Length - at);
            tag = _s.NewTag();
            int got;
            if (index % 2 == 0) got = _s.Exchange(NinePCodec.Twrite(_s.Tx, tag, f, (ulong)at, payload.AsSpan(at, len)));
            else
            {
                int header = NinePCodec.TwriteHeader(_s.Tx, tag, f, (ulong)at, (uint)len);
                Assert.Equal(NinePProtocol.TwriteHeaderSize, header);
                _s.Send(_s.Tx.AsSpan(0, header));
                _s.Send(payload.AsSpan(at, len));
                got = _s.Receive();
            }
            Assert.Equal(0, NinePCodec.Rwrite(_s.Rx.AsSpan(0, got), _s.Msize, tag, out uint written));
            _s.FreeTag(tag);
            Assert.Equal((uint)len, written);
            at += len;
        }
        Assert.Equal(payload, File.ReadAllBytes(Path.Combine(_dir, "big")));

        var back = new byte[payload.Length];
        index = 0;
        for (int at = 0; at < back.Length; index++)
        {
            tag = _s.NewTag();
            _s.Send(_s.Tx.AsSpan(0, NinePCodec.Tread(_s.Tx, tag, f, (ulong)at, chunk)));
            int count;
            if (index % 2 == 0)
            {
                Assert.Equal(0, NinePCodec.Rread(_s.Rx.AsSpan(0, _s.Receive()), _s.Msize, tag, out var data));
                data.CopyTo(back.AsSpan(at));
                count = data.Length;
            }
            else
            {
                // The 11-byte header first, then the data straight into the destination.
                _s.ReceiveExactly(_s.Rx.AsSpan(0, NinePProtocol.RreadHeaderSize));
                int claimed = (int)NinePCodec.SizeOf(_s.Rx) - NinePProtocol.RreadHeaderSize;
                Assert.InRange(claimed, 0, back.Length - at);
                _s.ReceiveExactly(back.AsSpan(at, claimed));
                Assert.Equal(0, NinePCodec.RreadHeader(_s.Rx, NinePProtocol.RreadHeaderSize + claimed, back.Length - at, _s.Msize, tag, out count));
            }
            _s.FreeTag(tag);
            Assert.True(count > 0);
            at += count;
        }
        Assert.Equal(payload, back);
        Assert.Equal(0, _s.Clunk(f));
    }
}
