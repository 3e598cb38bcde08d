using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Libra.Shims.NineP;
using Xunit;

namespace Libra.Tests.Unit;

// NinePSession against a scripted server: what it sends, and how it survives a transport failure or
// a lying reply without leaking a fid or a tag. (tests/Libra.Tests/NineP runs it against diod.)
public sealed unsafe class NinePSessionTests : IDisposable
{
    private const int BufferSize = 16384;
    private const int EIO = -5;

    // Answers each request (whole: header and data) with a reply, or fails the transport with an errno.
    private sealed class ScriptedServer
    {
        public readonly List<byte[]> Requests = new();
        public Func<byte[], byte[]?> Answer = _ => null;
        public int TransportError;
    }

    private static int Exchange(void* context, NinePExchange* x)
    {
        var server = (ScriptedServer)GCHandle.FromIntPtr((nint)context).Target!;
        var request = new ReadOnlySpan<byte>(x->Request, x->RequestLength).ToArray()
            .Concat(new ReadOnlySpan<byte>(x->RequestData, x->RequestDataLength).ToArray()).ToArray();
        server.Requests.Add(request);
        if (server.TransportError != 0) return server.TransportError;
        byte[] reply = server.Answer(request) ?? throw new InvalidOperationException($"no answer for type {request[4]}");
        int first = Math.Min(reply.Length, x->ReplyCapacity);
        reply.AsSpan(0, first).CopyTo(new Span<byte>(x->Reply, x->ReplyCapacity));
        if (reply.Length > first)
        {
            if (reply.Length - first > x->ReplyDataCapacity) return EIO;
            reply.AsSpan(first).CopyTo(new Span<byte>(x->ReplyData, x->ReplyDataCapacity));
        }
        x->Received = reply.Length;
        return 0;
    }

    private readonly ScriptedServer _server = new();
    private readonly GCHandle _handle;
    private readonly byte* _memory;
    private NinePSession _session;

    public NinePSessionTests()
    {
        _handle = GCHandle.Alloc(_server);
        _memory = (byte*)NativeMemory.AllocZeroed(2 * BufferSize + 8 * sizeof(ulong));
        _session = new NinePSession(&Exchange, (void*)GCHandle.ToIntPtr(_handle), _memory, _memory + BufferSize, BufferSize, (ulong*)(_memory + 2 * BufferSize), 8);
    }

    public void Dispose()
    {
        _handle.Free();
        NativeMemory.Free(_memory);
    }

    private static ushort Tag(byte[] request) => BinaryPrimitives.ReadUInt16LittleEndian(request.AsSpan(5));
    private static NinePType Type(byte[] request) => (NinePType)request[4];

    private static byte[] Reply(NinePType type, ushort tag, NinePCodecTests.Body body) => NinePCodecTests.Reply(type, tag, body);
    private static byte[] Lerror(byte[] request, uint errno) => Reply(NinePType.Rlerror, Tag(request), (ref NinePWriter w) => w.U32(errno));
    private static byte[] Empty(byte[] request) => Reply(Type(request) + 1, Tag(request), (ref NinePWriter w) => { });

    // A well-behaved server for the session's start: Rversion with `msize`/`version`, Rattach.
    private byte[]? Session(byte[] request, uint msize = 8192, string version = "9P2000.L") => Type(request) switch
    {
        NinePType.Tversion => Reply(NinePType.Rversion, NinePProtocol.NoTag, (ref NinePWriter w) => { w.U32(msize); w.Ascii(version); }),
        NinePType.Tattach => Reply(NinePType.Rattach, Tag(request), (ref NinePWriter w) => w.Qid(new NinePQid { Type = NinePProtocol.QidDirectory, Path = 1 })),
        _ => null,
    };

    private void Connect()
    {
        _server.Answer = r => Session(r);
        Assert.Equal(0, _session.Connect(BufferSize, "/export"u8, 1000));
        Assert.Equal(8192u, _session.Msize);
        Assert.Equal(1, _session.FidsInUse);
    }

    [Fact]
    public void Connect_proposes_the_buffer_size_and_keeps_the_agreed_msize()
    {
        Connect();
        Assert.Equal(NinePType.Tversion, Type(_server.Requests[0]));
        Assert.Equal((uint)BufferSize, BinaryPrimitives.ReadUInt32LittleEndian(_server.Requests[0].AsSpan(7)));
        Assert.Equal(NinePType.Tattach, Type(_server.Requests[1]));
        Assert.Equal(NinePProtocol.NoFid, BinaryPrimitives.ReadUInt32LittleEndian(_server.Requests[1].AsSpan(11)));  // afid
        Assert.Equal(8192 - NinePProtocol.IoHeaderSize, _session.MaxIo);
    }

    [Theory]
    [InlineData("unknown", 8192u)]
    [InlineData("9P2000.u", 8192u)]
    [InlineData("9P2000.L", 4095u)]
    public void Connect_refuses_another_dialect_or_a_tiny_msize(string version, uint msize)
    {
        _server.Answer = r => Session(r, msize, version);
        Assert.Equal(EIO, _session.Connect(BufferSize, "/export"u8, 0));
        Assert.Single(_server.Requests);
        Assert.Equal(0, _session.FidsInUse);
    }

    [Fact]
    public void A_failed_attach_leaves_no_fid()
    {
        _server.Answer = r => Type(r) == NinePType.Tattach ? Lerror(r, 13) : Session(r);
        Assert.Equal(-13, _session.Connect(BufferSize, "/export"u8, 0));
        Assert.Equal(0, _session.FidsInUse);
        Assert.Equal(NinePProtocol.NoFid, _session.RootFid);
    }

    [Fact]
    public void A_transport_failure_is_returned_and_leaks_nothing()
    {
        Connect();
        _server.TransportError = -4;   // EINTR
        Assert.Equal(-4, _session.Walk(_session.RootFid, "a/b"u8, out uint fid, out _));
        Assert.Equal(NinePProtocol.NoFid, fid);
        Assert.Equal(-4, _session.GetAttr(_session.RootFid, NinePProtocol.GetattrBasic, out _));
        Assert.Equal(-4, _session.Read(_session.RootFid, 0, new byte[10]));
        Assert.Equal(1, _session.FidsInUse);
        _server.TransportError = 0;
        // Every tag came back: a full tag table would fail here with EAGAIN.
        _server.Answer = r => Reply(NinePType.Rgetattr, Tag(r), (ref NinePWriter w) => { w.U64(0); w.Qid(default); for (int i = 0; i < 3; i++) w.U32(0); for (int i = 0; i < 15; i++) w.U64(0); });
        for (int i = 0; i < NinePTags.Capacity + 1; i++) Assert.Equal(0, _session.GetAttr(_session.RootFid, 0, out _));
    }

    [Fact]
    public void A_walk_that_stops_short_is_ENOENT_without_a_fid()
    {
        Connect();
        _server.Answer = r => Reply(NinePType.Rwalk, Tag(r), (ref NinePWriter w) => { w.U16(1); w.Qid(default); });
        Assert.Equal(-2, _session.Walk(_session.RootFid, "a/b"u8, out _, out _));
        Assert.Equal(1, _session.FidsInUse);
        // More qids than names asked is a broken server.
        _server.Answer = r => Reply(NinePType.Rwalk, Tag(r), (ref NinePWriter w) => { w.U16(3); w.Qid(default); w.Qid(default); w.Qid(default); });
        Assert.Equal(EIO, _session.Walk(_session.RootFid, "a/b"u8, out _, out _));
        Assert.Equal(1, _session.FidsInUse);
    }

    [Fact]
    public void A_walk_of_20_names_is_two_Twalks_and_a_Tclunk_of_the_step()
    {
        Connect();
        _server.Requests.Clear();
        _server.Answer = r => Type(r) == NinePType.Tclunk ? Empty(r) : Reply(NinePType.Rwalk, Tag(r), (ref NinePWriter w) =>
        {
            int names = BinaryPrimitives.ReadUInt16LittleEndian(r.AsSpan(15));
            w.U16((ushort)names);
            for (int i = 0; i < names; i++) w.Qid(new NinePQid { Path = (ulong)i });
        });
        var path = string.Join('/', Enumerable.Range(0, 20).Select(i => "d" + i));
        Assert.Equal(0, _session.Walk(_session.RootFid, System.Text.Encoding.ASCII.GetBytes(path), out uint fid, out var qid));
        Assert.Equal(new[] { NinePType.Twalk, NinePType.Twalk, NinePType.Tclunk }, _server.Requests.Select(Type));
        Assert.Equal(16, BinaryPrimitives.ReadUInt16LittleEndian(_server.Requests[0].AsSpan(15)));
        Assert.Equal(4, BinaryPrimitives.ReadUInt16LittleEndian(_server.Requests[1].AsSpan(15)));
        uint step = BinaryPrimitives.ReadUInt32LittleEndian(_server.Requests[0].AsSpan(11));
        Assert.Equal(step, BinaryPrimitives.ReadUInt32LittleEndian(_server.Requests[1].AsSpan(7)));   // walked on from the step
        Assert.Equal(step, BinaryPrimitives.ReadUInt32LittleEndian(_server.Requests[2].AsSpan(7)));   // then clunked
        Assert.Equal(3ul, qid.Path);
        Assert.Equal(2, _session.FidsInUse);
    }

    [Fact]
    public void Read_lands_data_in_the_destination_and_refuses_a_lying_count()
    {
        Connect();
        _server.Answer = r => Reply(NinePType.Rread, Tag(r), (ref NinePWriter w) => { w.U32(5); w.Bytes("hello"u8); });
        var into = new byte[10];
        Assert.Equal(5, _session.Read(_session.RootFid, 0, into));
        Assert.Equal("hello"u8.ToArray(), into[..5]);
        Assert.Equal(10u, BinaryPrimitives.ReadUInt32LittleEndian(_server.Requests[^1].AsSpan(19)));  // count asked
        // A count past what was asked for: EIO (the transport refuses to overflow the destination).
        _server.Answer = r => Reply(NinePType.Rread, Tag(r), (ref NinePWriter w) => { w.U32(12); w.Bytes(new byte[12]); });
        Assert.Equal(EIO, _session.Read(_session.RootFid, 0, into));
        // A big destination asks for MaxIo at most.
        _server.Answer = r => Reply(NinePType.Rread, Tag(r), (ref NinePWriter w) => w.U32(0));
        Assert.Equal(0, _session.Read(_session.RootFid, 0, new byte[100000]));
        Assert.Equal((uint)_session.MaxIo, BinaryPrimitives.ReadUInt32LittleEndian(_server.Requests[^1].AsSpan(19)));
    }

    [Fact]
    public void Write_sends_header_and_data_and_refuses_a_count_larger_than_sent()
    {
        Connect();
        _server.Answer = r => Reply(NinePType.Rwrite, Tag(r), (ref NinePWriter w) => w.U32(3));
        Assert.Equal(3, _session.Write(_session.RootFid, 9, "abc"u8));
        var sent = _server.Requests[^1];
        Assert.Equal(NinePProtocol.TwriteHeaderSize + 3, sent.Length);
        Assert.Equal((uint)sent.Length, BinaryPrimitives.ReadUInt32LittleEndian(sent));
        Assert.Equal("abc"u8.ToArray(), sent[^3..]);
        _server.Answer = r => Reply(NinePType.Rwrite, Tag(r), (ref NinePWriter w) => w.U32(4));
        Assert.Equal(EIO, _session.Write(_session.RootFid, 9, "abc"u8));
    }

    [Theory]
    [InlineData(38u)]   // ENOSYS
    [InlineData(95u)]   // EOPNOTSUPP (diod 1.0.24)
    public void Rename_falls_back_to_walk_and_Trename_once_Trenameat_is_refused(uint errno)
    {
        Connect();
        _server.Requests.Clear();
        _server.Answer = r => Type(r) switch
        {
            NinePType.Trenameat => Lerror(r, errno),
            NinePType.Twalk => Reply(NinePType.Rwalk, Tag(r), (ref NinePWriter w) => { w.U16(1); w.Qid(default); }),
            _ => Empty(r),
        };
        Assert.Equal(0, _session.Rename(_session.RootFid, "a"u8, _session.RootFid, "b"u8));
        Assert.Equal(new[] { NinePType.Trenameat, NinePType.Twalk, NinePType.Trename, NinePType.Tclunk }, _server.Requests.Select(Type));
        Assert.True(_session.UsesRenameFallback);
        _server.Requests.Clear();
        Assert.Equal(0, _session.Rename(_session.RootFid, "b"u8, _session.RootFid, "c"u8));
        Assert.Equal(new[] { NinePType.Twalk, NinePType.Trename, NinePType.Tclunk }, _server.Requests.Select(Type));
        Assert.Equal(1, _session.FidsInUse);
    }

    [Fact]
    public void Another_Trenameat_error_is_returned_without_a_fallback()
    {
        Connect();
        _server.Answer = r => Lerror(r, 18);   // EXDEV
        Assert.Equal(-18, _session.Rename(_session.RootFid, "a"u8, _session.RootFid, "b"u8));
        Assert.False(_session.UsesRenameFallback);
        Assert.Single(_server.Requests.Skip(2));
    }

    [Fact]
    public void Unlink_falls_back_to_walk_and_Tremove_and_checks_the_kind()
    {
        Connect();
        bool directory = false;
        _server.Answer = r => Type(r) switch
        {
            NinePType.Tunlinkat => Lerror(r, 95),
            NinePType.Twalk => Reply(NinePType.Rwalk, Tag(r), (ref NinePWriter w) => { w.U16(1); w.Qid(new NinePQid { Type = directory ? NinePProtocol.QidDirectory : (byte)0 }); }),
            _ => Empty(r),
        };
        _server.Requests.Clear();
        Assert.Equal(0, _session.Unlink(_session.RootFid, "f"u8, 0));
        Assert.Equal(new[] { NinePType.Tunlinkat, NinePType.Twalk, NinePType.Tremove }, _server.Requests.Select(Type));
        Assert.Equal(-20, _session.Unlink(_session.RootFid, "f"u8, NinePProtocol.UnlinkRemoveDirectory));  // ENOTDIR
        directory = true;
        Assert.Equal(-21, _session.Unlink(_session.RootFid, "d"u8, 0));                                     // EISDIR
        Assert.Equal(0, _session.Unlink(_session.RootFid, "d"u8, NinePProtocol.UnlinkRemoveDirectory));
        Assert.Equal(1, _session.FidsInUse);
    }

    [Fact]
    public void Clunk_forgets_the_fid_even_when_the_server_complains()
    {
        Connect();
        _server.Answer = r => Type(r) == NinePType.Twalk ? Reply(NinePType.Rwalk, Tag(r), (ref NinePWriter w) => w.U16(0)) : Lerror(r, 9);
        Assert.Equal(0, _session.Walk(_session.RootFid, default, out uint clone, out _));
        Assert.Equal(2, _session.FidsInUse);
        Assert.Equal(-9, _session.Clunk(clone));
        Assert.Equal(1, _session.FidsInUse);
    }
}
