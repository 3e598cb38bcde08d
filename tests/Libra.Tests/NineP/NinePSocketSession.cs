using System.Net.Sockets;
using System.Runtime.InteropServices;
using Libra.Shims.NineP;
using Xunit;

namespace Libra.Tests.NineP;

// One 9P2000.L connection over a stream socket, driven by the kernel's codec on host byte buffers:
// the test-side stand-in for the kernel's virtio transport. Tags and fids come from the kernel's
// allocators. Requests go one at a time; the reply must carry the request's tag.
internal sealed unsafe class NinePSocketSession : IDisposable
{
    private readonly Socket _socket;
    private NinePTags _tags;
    private NinePFids _fids;
    private readonly ulong* _fidWords;

    public byte[] Tx { get; private set; } = new byte[8192];
    public byte[] Rx { get; private set; } = new byte[8192];
    public uint Msize { get; private set; }
    public uint RootFid { get; private set; } = NinePProtocol.NoFid;
    public NinePQid RootQid { get; private set; }

    public NinePSocketSession(Socket socket)
    {
        _socket = socket;
        _fidWords = (ulong*)NativeMemory.AllocZeroed(16 * sizeof(ulong));
        _fids = new NinePFids(_fidWords, 16);
    }

    public int FidsInUse => _fids.InUse;
    public int TagsInUse => _tags.InUse;

    // Tversion then Tattach of `aname`; returns the msize the server agreed to.
    public uint Connect(uint msize, string aname)
    {
        Tx = new byte[msize];
        Rx = new byte[msize];
        int n = NinePCodec.Tversion(Tx, msize);
        int got = Exchange(n);
        Assert.Equal(0, NinePCodec.Rversion(Rx.AsSpan(0, got), msize, out uint agreed, out var version));
        Assert.True(NinePCodec.IsVersion(version));
        Msize = agreed;
        uint root = NewFid();
        ushort tag = NewTag();
        n = NinePCodec.Tattach(Tx, tag, root, NinePProtocol.NoFid, ""u8, System.Text.Encoding.UTF8.GetBytes(aname), DiodServer.Uid);
        Assert.Equal(0, NinePCodec.Rattach(Call(n), Msize, tag, out var qid));
        FreeTag(tag);
        RootFid = root;
        RootQid = qid;
        return agreed;
    }

    public ushort NewTag()
    {
        Assert.True(_tags.TryAllocate(out ushort tag));
        return tag;
    }

    public void FreeTag(ushort tag) => Assert.True(_tags.Free(tag));

    public uint NewFid()
    {
        Assert.True(_fids.TryAllocate(out uint fid));
        return fid;
    }

    public void ForgetFid(uint fid) => Assert.True(_fids.Free(fid));

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

    // Twalk from `fid` to a new fid along `path` (more than 16 names in steps); 0 and the new fid,
    // or -errno with nothing left allocated. A walk stopped short reads as ENOENT, as in Linux v9fs.
    public int Walk(uint fid, string path, out uint newFid, out NinePQid qid)
    {
        newFid = NinePProtocol.NoFid;
        qid = default;
        ReadOnlySpan<byte> rest = System.Text.Encoding.UTF8.GetBytes(path);
        uint from = fid;
        var qids = new NinePQid[NinePProtocol.MaxWalkNames];
        do
        {
            NinePCodec.SplitWalk(rest, NinePProtocol.MaxWalkNames, out var step, out rest);
            int names = NinePCodec.WalkNameCount(step);
            uint to = NewFid();
            ushort tag = NewTag();
            int error = NinePCodec.Rwalk(Call(NinePCodec.Twalk(Tx, tag, from, to, step)), Msize, tag, qids, out int count);
            FreeTag(tag);
            if (error == 0 && count < names) error = -2;  // ENOENT: newfid was not made
            if (error != 0)
            {
                ForgetFid(to);
                if (from != fid) Clunk(from);
                return error;
            }
            if (from != fid) Clunk(from);
            from = to;
            if (count > 0) qid = qids[count - 1];
        } while (rest.Length > 0);
        newFid = from;
        return 0;
    }

    public int Clunk(uint fid)
    {
        ushort tag = NewTag();
        int error = NinePCodec.Rclunk(Call(NinePCodec.Tclunk(Tx, tag, fid)), Msize, tag);
        FreeTag(tag);
        ForgetFid(fid);   // the fid is gone whatever the reply (diod protocol.md "clunk")
        return error;
    }

    public void Dispose()
    {
        _socket.Dispose();
        NativeMemory.Free(_fidWords);
    }
}
