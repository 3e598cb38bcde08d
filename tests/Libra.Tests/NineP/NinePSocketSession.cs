using System.Net.Sockets;
using System.Runtime.InteropServices;
using Libra.Shims.NineP;
using Xunit;

namespace Libra.Tests.NineP;

// One 9P2000.L connection over a stream socket for the codec tests, which put single messages on
// the wire with the kernel's codec and host byte buffers (Tx, Rx; tags from the kernel's allocator).
// The session around them (version, attach, walks, clunks) is the kernel's own NinePSession over the
// same socket; a message under test that needs a fid of its own takes one from a range the session
// never hands out. Requests go one at a time; the reply must carry the request's tag.
internal sealed unsafe class NinePSocketSession : IDisposable
{
    // Raw fids start here, far above the session's (64 words of bitmap: fids below 4096).
    private const uint RawFidBase = 0x100000;

    private readonly Socket _socket;
    private HostNinePSession? _host;
    private NinePTags _tags;
    private NinePFids _rawFids;
    private readonly ulong* _rawFidWords;

    public byte[] Tx { get; private set; } = new byte[8192];
    public byte[] Rx { get; private set; } = new byte[8192];
    public uint Msize => Session->Msize;
    public uint RootFid => Session->RootFid;
    public NinePQid RootQid { get; private set; }
    public NinePSession* Session => _host!.Session;

    public NinePSocketSession(Socket socket)
    {
        _socket = socket;
        _rawFidWords = (ulong*)NativeMemory.AllocZeroed(16 * sizeof(ulong));
        _rawFids = new NinePFids(_rawFidWords, 16);
    }

    public int FidsInUse => Session->FidsInUse + _rawFids.InUse;
    public int TagsInUse => _tags.InUse + Session->TagsInUse;

    // The session's Mount (Tversion proposing `msize`, Tattach of `aname`); returns the msize agreed.
    public uint Connect(uint msize, string aname)
    {
        Tx = new byte[msize];
        Rx = new byte[msize];
        _host = new HostNinePSession(SocketTransport.Over(_socket), (int)msize);
        Assert.Equal(0, Session->Mount(System.Text.Encoding.UTF8.GetBytes(aname)));
        Assert.Equal(0, Session->GetAttr(RootFid, NinePProtocol.GetattrMode, out NinePAttr root));
        RootQid = root.Qid;
        return Msize;
    }

    public ushort NewTag()
    {
        Assert.True(_tags.TryAllocate(out ushort tag));
        return tag;
    }

    public void FreeTag(ushort tag) => Assert.True(_tags.Free(tag));

    // A fid for a message under test (the session's own come from Walk).
    public uint NewFid()
    {
        Assert.True(_rawFids.TryAllocate(out uint fid));
        return RawFidBase + fid;
    }

    public void ForgetFid(uint fid) => Assert.True(_rawFids.Free(fid - RawFidBase));

    // Sends Tx[..length] and receives one whole reply into Rx; returns the reply's length.
    public int Exchange(int length)
    {
        Assert.True(length > 0, $"encoder failed with {length}");
        Send(Tx.AsSpan(0, length));
        return Receive();
    }

    public void Send(ReadOnlySpan<byte> bytes)
    {
        while (bytes.Length > 0) bytes = bytes[_socket.Send(bytes)..];
    }

    public int Receive()
    {
        ReceiveExactly(Rx.AsSpan(0, 4));
        uint size = NinePCodec.SizeOf(Rx);
        Assert.True(size >= NinePProtocol.HeaderSize && size <= Rx.Length, $"reply size {size}");
        ReceiveExactly(Rx.AsSpan(4, (int)size - 4));
        return (int)size;
    }

    public void ReceiveExactly(Span<byte> into)
    {
        while (into.Length > 0)
        {
            int got = _socket.Receive(into);
            if (got == 0) throw new IOException("diod closed the connection");
            into = into[got..];
        }
    }

    // Exchange, returning the reply as a span of Rx.
    public ReadOnlySpan<byte> Call(int length) => Rx.AsSpan(0, Exchange(length));

    // The session's Walk from `fid` along `path` (NinePSession.Walk: more than 16 names in place,
    // a missing name ENOENT with nothing left allocated).
    public int Walk(uint fid, string path, out uint newFid, out NinePQid qid) =>
        Session->Walk(fid, System.Text.Encoding.UTF8.GetBytes(path), out newFid, out qid);

    // The session's Clunk: the fid is gone whatever the reply.
    public int Clunk(uint fid) => Session->Clunk(fid);

    // The session's Tremove of a walked fid (what its unlink fallback sends): the fid is gone too.
    public int Remove(uint fid) => Session->Remove(fid);

    public void Dispose()
    {
        _socket.Dispose();
        _host?.Dispose();
        NativeMemory.Free(_rawFidWords);
    }
}
