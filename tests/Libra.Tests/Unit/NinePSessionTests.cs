using System.Buffers.Binary;
using System.Text;
using Libra.Shims.NineP;
using Libra.Tests.NineP;
using Xunit;

namespace Libra.Tests.Unit;

// NinePSession, the kernel's 9P client (NinePClient runs one), against a scripted server: what it
// sends, and how it survives a transport failure, a lying reply or every tag in flight without
// leaking a fid, a tag or a buffer. (tests/Libra.Tests/NineP runs it against diod.)
public sealed unsafe class NinePSessionTests : IDisposable
{
    private const int BufferSize = 16384;
    private const int ENOENT = -2, EIO = -5, ENOMEM = -12, ENOTDIR = -20, EISDIR = -21, EPROTONOSUPPORT = -93;

    private readonly List<byte[]> _requests = new();
    // Answers each request (null: the test did not expect it); a nonzero TransportError fails the
    // transport instead.
    private Func<byte[], byte[]?> _answer = _ => null;
    private int _transportError;
    private readonly HostNinePSession _host;
    private NinePSession* S => _host.Session;

    public NinePSessionTests()
    {
        _host = new HostNinePSession(Exchange, BufferSize, fidWordCount: 8);
    }

    public void Dispose() => _host.Dispose();

    private int Exchange(byte* request, int length, byte* reply, int capacity)
    {
        byte[] sent = new ReadOnlySpan<byte>(request, length).ToArray();
        _requests.Add(sent);
        if (_transportError != 0) return _transportError;
        byte[] answer = _answer(sent) ?? throw new InvalidOperationException($"no answer for type {sent[4]}");
        if (answer.Length > capacity) return answer.Length;   // a transport that lies about the length
        answer.CopyTo(new Span<byte>(reply, capacity));
        return answer.Length;
    }

    private static ushort Tag(byte[] request) => BinaryPrimitives.ReadUInt16LittleEndian(request.AsSpan(5));
    private static NinePType Type(byte[] request) => (NinePType)request[4];
    private static uint U32(byte[] request, int at) => BinaryPrimitives.ReadUInt32LittleEndian(request.AsSpan(at));
    private IEnumerable<NinePType> Sent => _requests.Select(Type);

    private static byte[] Reply(NinePType type, ushort tag, NinePCodecTests.Body body) => NinePCodecTests.Reply(type, tag, body);
    private static byte[] Lerror(byte[] request, uint errno) => Reply(NinePType.Rlerror, Tag(request), (ref NinePWriter w) => w.U32(errno));
    private static byte[] Empty(byte[] request) => Reply(Type(request) + 1, Tag(request), (ref NinePWriter w) => { });
    private static byte[] Getattr(byte[] request, byte qidType = 0) => Reply(NinePType.Rgetattr, Tag(request), (ref NinePWriter w) =>
    {
        w.U64(NinePProtocol.GetattrMode); w.Qid(new NinePQid { Type = qidType, Path = 77 });
        for (int i = 0; i < 3; i++) w.U32(0);
        for (int i = 0; i < 15; i++) w.U64(0);
    });

    // An Rwalk with one qid per name asked, each of `type` (and the names' order as their paths).
    private static byte[] WalkAll(byte[] request, byte type = NinePProtocol.QidDirectory) => Reply(NinePType.Rwalk, Tag(request), (ref NinePWriter w) =>
    {
        int names = BinaryPrimitives.ReadUInt16LittleEndian(request.AsSpan(15));
        w.U16((ushort)names);
        for (int i = 0; i < names; i++) w.Qid(new NinePQid { Type = type, Path = (ulong)i });
    });

    // A well-behaved server for the session's start: Rversion with `msize`/`version`, Rattach.
    private static byte[]? Session(byte[] request, uint msize = 8192, string version = "9P2000.L") => Type(request) switch
    {
        NinePType.Tversion => Reply(NinePType.Rversion, NinePProtocol.NoTag, (ref NinePWriter w) => { w.U32(msize); w.Ascii(version); }),
        NinePType.Tattach => Reply(NinePType.Rattach, Tag(request), (ref NinePWriter w) => w.Qid(new NinePQid { Type = NinePProtocol.QidDirectory, Path = 1 })),
        _ => null,
    };

    private void Mount()
    {
        _answer = r => Session(r);
        Assert.Equal(0, S->Mount("/export"u8));
        Assert.Equal(8192u, S->Msize);
        Assert.Equal(1, S->FidsInUse);
        _requests.Clear();
    }

    // Nothing held between calls: every tag back, every buffer back in the pool.
    private void AssertNothingInFlight()
    {
        Assert.Equal(0, S->TagsInUse);
        Assert.Equal(_host.BuffersLive, S->PooledBuffers);
    }

    [Fact]
    public void Mount_proposes_the_buffer_size_and_attaches_as_root_without_an_auth_fid()
    {
        _answer = r => Session(r);
        Assert.Equal(0, S->Mount("/export"u8));
        Assert.Equal(new[] { NinePType.Tversion, NinePType.Tattach }, Sent);
        Assert.Equal((uint)BufferSize, U32(_requests[0], 7));
        var attach = _requests[1];
        Assert.Equal(S->RootFid, U32(attach, 7));
        Assert.Equal(NinePProtocol.NoFid, U32(attach, 11));                        // afid
        Assert.Equal("root", Encoding.ASCII.GetString(attach, 17, 4));             // uname
        Assert.Equal("/export", Encoding.ASCII.GetString(attach, 23, 7));          // aname
        Assert.Equal(0u, U32(attach, 30));                                         // n_uname
        Assert.Equal(8192 - NinePProtocol.IoHeaderSize, S->MaxIo);
        AssertNothingInFlight();
    }

    [Theory]
    [InlineData("unknown")]
    [InlineData("9P2000.u")]
    public void Mount_refuses_another_dialect_with_EPROTONOSUPPORT(string version)
    {
        _answer = r => Session(r, 8192, version);
        Assert.Equal(EPROTONOSUPPORT, S->Mount("/export"u8));
        Assert.Single(_requests);
        Assert.Equal(0, S->FidsInUse);
    }

    [Fact]
    public void Mount_refuses_an_msize_below_4096_with_EIO()
    {
        _answer = r => Session(r, 4095);
        Assert.Equal(EIO, S->Mount("/export"u8));
        Assert.Single(_requests);
        Assert.Equal(0, S->FidsInUse);
    }

    [Fact]
    public void A_failed_attach_leaves_no_fid()
    {
        _answer = r => Type(r) == NinePType.Tattach ? Lerror(r, 13) : Session(r);
        Assert.Equal(-13, S->Mount("/export"u8));
        Assert.Equal(0, S->FidsInUse);
        Assert.Equal(NinePProtocol.NoFid, S->RootFid);
        AssertNothingInFlight();
    }

    [Fact]
    public void A_transport_failure_is_returned_unreported_and_leaks_nothing()
    {
        Mount();
        _transportError = -4;   // EINTR
        Assert.Equal(-4, S->Walk(S->RootFid, "a/b"u8, out uint fid, out _));
        Assert.Equal(NinePProtocol.NoFid, fid);
        Assert.Equal(-4, S->GetAttr(S->RootFid, NinePProtocol.GetattrBasic, out _));
        byte* into = stackalloc byte[10];
        Assert.Equal(-4, S->Read(S->RootFid, 0, into, 10));
        Assert.Equal(1, S->FidsInUse);
        Assert.Empty(_host.Reports);
        AssertNothingInFlight();
        _transportError = 0;
        // Every tag came back: a full tag table would fail here with ENOMEM.
        _answer = r => Getattr(r);
        for (int i = 0; i < NinePTags.Capacity + 1; i++) Assert.Equal(0, S->GetAttr(S->RootFid, 0, out _));
    }

    [Fact]
    public void A_walk_that_stops_short_is_ENOENT_and_more_qids_than_names_EIO_without_a_fid()
    {
        Mount();
        _answer = r => Reply(NinePType.Rwalk, Tag(r), (ref NinePWriter w) => { w.U16(1); w.Qid(default); });
        Assert.Equal(ENOENT, S->Walk(S->RootFid, "a/b"u8, out _, out _));
        Assert.Equal(1, S->FidsInUse);
        Assert.Empty(_host.Reports);
        // More qids than names asked is a broken server, said once.
        _answer = r => Reply(NinePType.Rwalk, Tag(r), (ref NinePWriter w) => { w.U16(3); w.Qid(default); w.Qid(default); w.Qid(default); });
        Assert.Equal(EIO, S->Walk(S->RootFid, "a/b"u8, out _, out _));
        Assert.Equal(1, S->FidsInUse);
        Assert.Equal(NinePType.Twalk, Assert.Single(_host.Reports).RequestType);
        AssertNothingInFlight();
    }

    [Fact]
    public void A_walk_of_20_names_walks_one_fid_in_place_without_a_Tclunk()
    {
        Mount();
        _answer = r => WalkAll(r);
        var path = string.Join('/', Enumerable.Range(0, 20).Select(i => "d" + i));
        Assert.Equal(0, S->Walk(S->RootFid, Encoding.ASCII.GetBytes(path), out uint fid, out var qid));
        Assert.Equal(new[] { NinePType.Twalk, NinePType.Twalk }, Sent);
        Assert.Equal(16, BinaryPrimitives.ReadUInt16LittleEndian(_requests[0].AsSpan(15)));
        Assert.Equal(4, BinaryPrimitives.ReadUInt16LittleEndian(_requests[1].AsSpan(15)));
        Assert.Equal(S->RootFid, U32(_requests[0], 7));
        Assert.Equal(fid, U32(_requests[0], 11));
        Assert.Equal(fid, U32(_requests[1], 7));     // the second step walks the new fid ...
        Assert.Equal(fid, U32(_requests[1], 11));    // ... in place
        Assert.Equal(3ul, qid.Path);
        Assert.Equal(2, S->FidsInUse);
    }

    [Fact]
    public void A_failed_second_walk_step_clunks_the_fid_the_first_made()
    {
        Mount();
        _answer = r => Type(r) switch
        {
            NinePType.Twalk when U32(r, 7) == S->RootFid => WalkAll(r),
            NinePType.Twalk => Lerror(r, 2),
            _ => Empty(r),
        };
        var path = string.Join('/', Enumerable.Range(0, 17).Select(i => "d" + i));
        Assert.Equal(ENOENT, S->Walk(S->RootFid, Encoding.ASCII.GetBytes(path), out uint fid, out _));
        Assert.Equal(NinePProtocol.NoFid, fid);
        Assert.Equal(new[] { NinePType.Twalk, NinePType.Twalk, NinePType.Tclunk }, Sent);
        Assert.Equal(U32(_requests[0], 11), U32(_requests[2], 7));
        Assert.Equal(1, S->FidsInUse);
    }

    [Fact]
    public void A_walk_of_no_names_clones_and_asks_the_qid_with_Tgetattr()
    {
        Mount();
        _answer = r => Type(r) == NinePType.Twalk ? Reply(NinePType.Rwalk, Tag(r), (ref NinePWriter w) => w.U16(0)) : Getattr(r, NinePProtocol.QidDirectory);
        Assert.Equal(0, S->Walk(S->RootFid, default, out uint clone, out var qid));
        Assert.Equal(new[] { NinePType.Twalk, NinePType.Tgetattr }, Sent);
        Assert.Equal(clone, U32(_requests[1], 7));
        Assert.True(qid.IsDirectory);
        Assert.Equal(77ul, qid.Path);
        Assert.Equal(2, S->FidsInUse);
    }

    [Fact]
    public void A_walk_reports_the_first_symbolic_link_before_the_last_name()
    {
        Mount();
        // a/l/m/x where l and m are links (a server that walks through them, as diod): the first is name 1.
        _answer = r => Type(r) == NinePType.Tclunk ? Empty(r) : Reply(NinePType.Rwalk, Tag(r), (ref NinePWriter w) =>
        {
            w.U16(4);
            w.Qid(new NinePQid { Type = NinePProtocol.QidDirectory });
            w.Qid(new NinePQid { Type = NinePProtocol.QidSymlink });
            w.Qid(new NinePQid { Type = NinePProtocol.QidSymlink });
            w.Qid(new NinePQid { Type = NinePProtocol.QidSymlink });
        });
        Assert.Equal(0, S->Walk(S->RootFid, "a/l/m/x"u8, out uint fid, out var qid, out int linkIndex));
        Assert.Equal(1, linkIndex);
        Assert.True(qid.IsSymlink);
        Assert.Equal(0, S->Clunk(fid));
        // A link as the last name is not "before the last": the caller decides whether to follow it.
        _answer = r => Type(r) == NinePType.Twalk
            ? Reply(NinePType.Rwalk, Tag(r), (ref NinePWriter w) => { w.U16(2); w.Qid(new NinePQid { Type = NinePProtocol.QidDirectory }); w.Qid(new NinePQid { Type = NinePProtocol.QidSymlink }); })
            : Empty(r);
        Assert.Equal(0, S->Walk(S->RootFid, "a/l"u8, out fid, out qid, out linkIndex));
        Assert.Equal(-1, linkIndex);
        Assert.True(qid.IsSymlink);
    }

    [Fact]
    public void Create_turns_the_directory_fid_into_the_new_file_without_a_clone()
    {
        Mount();
        _answer = r => Type(r) == NinePType.Twalk ? WalkAll(r)
            : Reply(NinePType.Rlcreate, Tag(r), (ref NinePWriter w) => { w.Qid(new NinePQid { Path = 9 }); w.U32(0); });
        Assert.Equal(0, S->Walk(S->RootFid, "dir"u8, out uint directory, out _));
        _requests.Clear();
        Assert.Equal(0, S->Create(directory, "new"u8, NinePProtocol.OpenReadWrite | NinePProtocol.OpenCreate, 0x1a4, out var qid));
        var create = Assert.Single(_requests);
        Assert.Equal(NinePType.Tlcreate, Type(create));
        Assert.Equal(directory, U32(create, 7));
        Assert.Equal(0u, U32(create, create.Length - 4));   // gid
        Assert.Equal(9ul, qid.Path);
        Assert.Equal(2, S->FidsInUse);
    }

    [Fact]
    public void Read_copies_the_data_and_refuses_more_than_asked()
    {
        Mount();
        _answer = r => Reply(NinePType.Rread, Tag(r), (ref NinePWriter w) => { w.U32(5); w.Bytes("hello"u8); });
        var into = new byte[10];
        fixed (byte* p = into)
        {
            Assert.Equal(5, S->Read(S->RootFid, 0, p, 10));
            Assert.Equal("hello"u8.ToArray(), into[..5]);
            Assert.Equal(10u, U32(_requests[^1], 19));   // count asked
            // A count past what was asked for: EIO, and nothing lands past the buffer.
            _answer = r => Reply(NinePType.Rread, Tag(r), (ref NinePWriter w) => { w.U32(12); w.Bytes(new byte[12]); });
            Assert.Equal(EIO, S->Read(S->RootFid, 0, p, 10));
            Assert.Single(_host.Reports);
        }
        // A big buffer asks for MaxIo at most.
        _answer = r => Reply(NinePType.Rread, Tag(r), (ref NinePWriter w) => w.U32(0));
        fixed (byte* big = new byte[100000]) Assert.Equal(0, S->Read(S->RootFid, 0, big, 100000));
        Assert.Equal((uint)S->MaxIo, U32(_requests[^1], 19));
        AssertNothingInFlight();
    }

    [Fact]
    public void Write_sends_the_data_and_refuses_a_count_larger_than_sent()
    {
        Mount();
        _answer = r => Reply(NinePType.Rwrite, Tag(r), (ref NinePWriter w) => w.U32(3));
        fixed (byte* data = "abc"u8)
        {
            Assert.Equal(3, S->Write(S->RootFid, 9, data, 3));
            var sent = _requests[^1];
            Assert.Equal(NinePProtocol.TwriteHeaderSize + 3, sent.Length);
            Assert.Equal("abc"u8.ToArray(), sent[^3..]);
            _answer = r => Reply(NinePType.Rwrite, Tag(r), (ref NinePWriter w) => w.U32(4));
            Assert.Equal(EIO, S->Write(S->RootFid, 9, data, 3));
        }
        Assert.Single(_host.Reports);
    }

    [Fact]
    public void ReadDirectory_copies_the_payload_and_refuses_more_than_asked()
    {
        Mount();
        var entry = Reply(NinePType.Rreaddir, 0, (ref NinePWriter w) =>
        {
            w.U32(NinePProtocol.QidSize + 8 + 1 + 2 + 1);
            w.Qid(new NinePQid { Path = 5 }); w.U64(1); w.U8(8); w.String("f"u8);
        });
        _answer = r => { var reply = (byte[])entry.Clone(); BinaryPrimitives.WriteUInt16LittleEndian(reply.AsSpan(5), Tag(r)); return reply; };
        byte* into = stackalloc byte[64];
        int length = S->ReadDirectory(S->RootFid, 0, into, 64);
        Assert.Equal(25, length);
        var entries = new NinePDirents(new ReadOnlySpan<byte>(into, length));
        Assert.True(entries.Next(out var e));
        Assert.Equal("f", Encoding.ASCII.GetString(e.Name));
        Assert.Equal(64u, U32(_requests[^1], 19));   // count asked
        Assert.Equal(EIO, S->ReadDirectory(S->RootFid, 0, into, 24));
        Assert.Single(_host.Reports);
        AssertNothingInFlight();
    }

    [Fact]
    public void A_reply_longer_than_msize_is_EIO_and_reported()
    {
        Mount();
        _answer = r => new byte[S->Msize + 1];
        Assert.Equal(EIO, S->GetAttr(S->RootFid, NinePProtocol.GetattrBasic, out _));
        Assert.Equal((int)S->Msize + 1, Assert.Single(_host.Reports).Received);
        AssertNothingInFlight();
    }

    [Fact]
    public void A_malformed_reply_is_EIO_and_reported_but_a_server_EIO_is_not()
    {
        Mount();
        _answer = r => Reply(NinePType.Rclunk, Tag(r), (ref NinePWriter w) => { });   // the wrong type for Tgetattr
        Assert.Equal(EIO, S->GetAttr(S->RootFid, NinePProtocol.GetattrBasic, out _));
        var report = Assert.Single(_host.Reports);
        Assert.Equal(NinePType.Tgetattr, report.RequestType);
        Assert.Equal(NinePProtocol.HeaderSize, report.Received);
        _answer = r => Lerror(r, 5);
        Assert.Equal(EIO, S->GetAttr(S->RootFid, NinePProtocol.GetattrBasic, out _));
        Assert.Single(_host.Reports);
    }

    [Fact]
    public void Calls_in_flight_at_once_have_their_own_tags_and_buffers_and_the_pool_keeps_16()
    {
        Mount();
        // Each request, before it is answered, starts another call (as another thread would), 19 deep.
        var tags = new List<ushort>();
        int mostInFlight = 0;
        _answer = r =>
        {
            tags.Add(Tag(r));
            mostInFlight = Math.Max(mostInFlight, S->TagsInUse);
            if (tags.Count < 20) Assert.Equal(0, S->GetAttr(S->RootFid, NinePProtocol.GetattrBasic, out _));
            return Getattr(r);
        };
        Assert.Equal(0, S->GetAttr(S->RootFid, NinePProtocol.GetattrBasic, out _));
        Assert.Equal(20, mostInFlight);
        Assert.Equal(20, tags.Distinct().Count());
        Assert.Equal(40, _host.BuffersAllocated);
        // Afterwards the pool keeps 16 and the rest went back.
        Assert.Equal(16, S->PooledBuffers);
        AssertNothingInFlight();
    }

    [Fact]
    public void With_every_tag_in_flight_a_further_call_fails_with_ENOMEM()
    {
        Mount();
        _answer = r => WalkAll(r);
        Assert.Equal(0, S->Walk(S->RootFid, "a"u8, out uint fid, out _));
        int depth = 0, refused = 0;
        _answer = r =>
        {
            if (++depth < NinePTags.Capacity) Assert.Equal(0, S->GetAttr(S->RootFid, NinePProtocol.GetattrBasic, out _));
            else if (depth == NinePTags.Capacity)
            {
                Assert.Equal(ENOMEM, S->GetAttr(S->RootFid, NinePProtocol.GetattrBasic, out _));
                // A clunk that cannot go out still forgets the fid.
                Assert.Equal(ENOMEM, S->Clunk(fid));
                Assert.Equal(1, S->FidsInUse);
                refused++;
            }
            return Getattr(r);
        };
        Assert.Equal(0, S->GetAttr(S->RootFid, NinePProtocol.GetattrBasic, out _));
        Assert.Equal(1, refused);
        AssertNothingInFlight();
        Assert.Equal(0, S->GetAttr(S->RootFid, NinePProtocol.GetattrBasic, out _));
    }

    [Theory]
    [InlineData(38u)]   // ENOSYS
    [InlineData(95u)]   // EOPNOTSUPP (diod 1.0.24)
    public void Rename_falls_back_to_walk_and_Trename_once_Trenameat_is_refused(uint errno)
    {
        Mount();
        _answer = r => Type(r) switch
        {
            NinePType.Trenameat => Lerror(r, errno),
            NinePType.Twalk => WalkAll(r, 0),
            _ => Empty(r),
        };
        Assert.Equal(0, S->Rename(S->RootFid, "a"u8, S->RootFid, "b"u8));
        Assert.Equal(new[] { NinePType.Trenameat, NinePType.Twalk, NinePType.Trename, NinePType.Tclunk }, Sent);
        Assert.True(S->UsesRenameFallback);
        _requests.Clear();
        Assert.Equal(0, S->Rename(S->RootFid, "b"u8, S->RootFid, "c"u8));
        Assert.Equal(new[] { NinePType.Twalk, NinePType.Trename, NinePType.Tclunk }, Sent);
        Assert.Equal(1, S->FidsInUse);
    }

    [Fact]
    public void Another_Trenameat_error_is_returned_without_a_fallback()
    {
        Mount();
        _answer = r => Lerror(r, 18);   // EXDEV
        Assert.Equal(-18, S->Rename(S->RootFid, "a"u8, S->RootFid, "b"u8));
        Assert.False(S->UsesRenameFallback);
        Assert.Single(_requests);
    }

    [Fact]
    public void Unlink_falls_back_to_walk_and_Tremove_and_checks_the_kind()
    {
        Mount();
        bool directory = false;
        _answer = r => Type(r) switch
        {
            NinePType.Tunlinkat => Lerror(r, 95),
            NinePType.Twalk => WalkAll(r, directory ? NinePProtocol.QidDirectory : (byte)0),
            _ => Empty(r),
        };
        Assert.Equal(0, S->Unlink(S->RootFid, "f"u8, 0));
        Assert.Equal(new[] { NinePType.Tunlinkat, NinePType.Twalk, NinePType.Tremove }, Sent);
        Assert.True(S->UsesUnlinkFallback);
        Assert.Equal(ENOTDIR, S->Unlink(S->RootFid, "f"u8, NinePProtocol.UnlinkRemoveDirectory));
        directory = true;
        Assert.Equal(EISDIR, S->Unlink(S->RootFid, "d"u8, 0));
        Assert.Equal(0, S->Unlink(S->RootFid, "d"u8, NinePProtocol.UnlinkRemoveDirectory));
        Assert.Equal(1, S->FidsInUse);
    }

    [Fact]
    public void Clunk_forgets_the_fid_even_when_the_server_complains()
    {
        Mount();
        _answer = r => Type(r) == NinePType.Twalk ? WalkAll(r) : Lerror(r, 9);
        Assert.Equal(0, S->Walk(S->RootFid, "a"u8, out uint fid, out _));
        Assert.Equal(2, S->FidsInUse);
        Assert.Equal(-9, S->Clunk(fid));
        Assert.Equal(1, S->FidsInUse);
    }
}
