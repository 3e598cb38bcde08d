using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Libra.Qemu;
using Libra.Shims.Net;
using Xunit;

namespace Libra.Tests.Side;

// One frame as the guest received it.
internal sealed record SideFrame(SideType Type, ushort Flags, uint Socket, uint Tag, byte[] Payload)
{
    public override string ToString() => $"{Type} sock={Socket} tag={Tag} flags={Flags} payload={Payload.Length}";
}

// The test plays the guest: the real Side daemon (started through Libra.Qemu's SideProcess, as
// `run` does) on a real unix socket, spoken to with the codec the kernel compiles. Every wait is
// bounded in time.
internal sealed class SideGuest : IDisposable
{
    internal static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private readonly string _directory;
    private readonly byte[] _buffer = new byte[SideProtocol.MaxFrame + 64];
    private readonly List<byte> _pending = new();
    private readonly List<SideFrame> _unclaimed = new();
    private uint _nextId = 1, _nextTag = 1;

    internal SideProcess Side { get; }
    internal Socket Link { get; private set; }
    internal SideHelloReply Terms { get; private set; }
    internal const uint RxWindow = 256 * 1024;

    private SideGuest(NetworkOptions options)
    {
        _directory = Path.Combine(Path.GetTempPath(), "libra-side-test-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(_directory);
        Side = SideProcess.Start(Path.Combine(_directory, "net.sock"), options);
        Link = Connect();
    }

    internal static SideGuest Start(NetworkOptions options, bool hello = true, uint rxWindow = RxWindow, ushort helloFlags = 0)
    {
        var guest = new SideGuest(options);
        if (hello) guest.Hello(rxWindow, helloFlags);
        return guest;
    }

    internal Socket Connect()
    {
        var link = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        link.Connect(new UnixDomainSocketEndPoint(Side.SocketPath));
        return link;
    }

    // A new link, as QEMU makes after the Side dropped the old one.
    internal void Reconnect()
    {
        Link.Dispose();
        _pending.Clear();
        _unclaimed.Clear();
        Link = Connect();
    }

    internal uint NewId() => _nextId++;
    private uint NewTag() => _nextTag++;

    internal void Send(Func<byte[], int> encoder)
    {
        int n = encoder(_buffer);
        Assert.True(n > 0, $"encoder failed: {n}");
        SendRaw(_buffer.AsSpan(0, n));
    }

    internal void SendRaw(ReadOnlySpan<byte> bytes)
    {
        while (bytes.Length > 0) bytes = bytes[Link.Send(bytes)..];
    }

    // The next frame, or null when the link closed; TimeoutException when nothing came in time.
    internal SideFrame? Next(TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Patience);
        while (true)
        {
            if (_pending.Count >= 4)
            {
                int length = SideProtocol.FrameLength(_pending.ToArray().AsSpan(0, 4));
                Assert.True(length > 0, "the Side sent a malformed length");
                if (_pending.Count >= length)
                {
                    byte[] frame = _pending.GetRange(0, length).ToArray();
                    _pending.RemoveRange(0, length);
                    Assert.Equal(0, SideProtocol.Parse(frame, out var h, out var payload));
                    Assert.Equal(0, SideCodec.CheckHeader(h, fromGuest: false));
                    return new SideFrame(h.Type, h.Flags, h.Socket, h.Tag, payload.ToArray());
                }
            }
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero) throw new TimeoutException("no frame from the Side in time; its log:\n" + Side.Log);
            if (!Link.Poll((int)Math.Min(left.TotalMicroseconds, 200_000), SelectMode.SelectRead)) continue;
            var chunk = new byte[65536];
            int n;
            try { n = Link.Receive(chunk); }
            catch (SocketException) { return null; }
            if (n == 0) return null;
            _pending.AddRange(chunk.AsSpan(0, n));
        }
    }

    // The first frame that matches, from those received earlier and not yet claimed or from the
    // link; the ones passed over stay for later Expects, and are listed in `skipped` (order checks).
    internal SideFrame Expect(Func<SideFrame, bool> match, string what, List<SideFrame>? skipped = null, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Patience);
        for (int i = 0; i < _unclaimed.Count; i++)
        {
            if (match(_unclaimed[i]))
            {
                var found = _unclaimed[i];
                _unclaimed.RemoveAt(i);
                return found;
            }
            skipped?.Add(_unclaimed[i]);
        }
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero) throw new TimeoutException($"no {what} from the Side; its log:\n" + Side.Log);
            var frame = Next(left) ?? throw new InvalidOperationException($"the link closed while waiting for {what}; Side log:\n" + Side.Log);
            if (match(frame)) return frame;
            skipped?.Add(frame);
            _unclaimed.Add(frame);
        }
    }

    internal SideFrame Expect(SideType type, uint socket, List<SideFrame>? skipped = null, TimeSpan? timeout = null) =>
        Expect(f => f.Type == type && f.Socket == socket, $"{type} for socket {socket}", skipped, timeout);

    // No frame that `forbidden` matches within `quiet` (others may come; they stay unclaimed).
    internal List<SideFrame> Quiet(TimeSpan quiet, Func<SideFrame, bool> forbidden)
    {
        foreach (var earlier in _unclaimed) Assert.False(forbidden(earlier), $"unexpected {earlier}");
        var seen = new List<SideFrame>();
        var deadline = DateTime.UtcNow + quiet;
        while (DateTime.UtcNow < deadline)
        {
            SideFrame? frame;
            try { frame = Next(deadline - DateTime.UtcNow); }
            catch (TimeoutException) { break; }
            if (frame is null) break;
            Assert.False(forbidden(frame), $"unexpected {frame}");
            seen.Add(frame);
            _unclaimed.Add(frame);
        }
        return seen;
    }

    // The daemon's log once a line containing `text` arrived (its stderr is read asynchronously).
    internal string AwaitLog(string text)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!Side.Log.Contains(text, StringComparison.Ordinal))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the Side never logged '{text}'; its log:\n" + Side.Log);
            Thread.Sleep(20);
        }
        return Side.Log;
    }

    internal SideHelloReply Hello(uint rxWindow = RxWindow, ushort flags = 0)
    {
        uint tag = NewTag();
        Send(b => SideCodec.Hello(b, tag, new SideHello { Version = SideProtocol.Version, MaxPayload = SideProtocol.MaxPayload, RxWindow = rxWindow, Flags = flags }));
        var reply = Expect(f => f.Type == SideType.Reply && f.Tag == tag, "HELLO's reply");
        Assert.Equal(0, SideCodec.DecodeReply(reply.Payload, out int errno, out var result));
        Assert.Equal(0, errno);
        Assert.Equal(0, SideCodec.DecodeHelloReply(result, out var terms));
        Terms = terms;
        return terms;
    }

    internal uint Socket(int family = SideProtocol.AF_INET, int type = SideProtocol.SOCK_STREAM)
    {
        uint id = NewId();
        Send(b => SideCodec.Socket(b, id, new SideSocketRequest { Family = family, Type = type, Protocol = 0 }));
        return id;
    }

    // A request and its REPLY: (errno, result bytes).
    internal (int Errno, byte[] Result) Call(Func<byte[], uint, int> encoder, uint socket)
    {
        uint tag = NewTag();
        Send(b => encoder(b, tag));
        var reply = Expect(f => f.Type == SideType.Reply && f.Tag == tag, $"the reply to tag {tag}");
        Assert.Equal(socket, reply.Socket);
        Assert.Equal(0, SideCodec.DecodeReply(reply.Payload, out int errno, out var result));
        return (errno, result.ToArray());
    }

    internal int Bind(uint socket, byte[] address) => Call((b, tag) => SideCodec.Bind(b, socket, tag, address), socket).Errno;
    internal int Listen(uint socket, uint acceptCredit = 16) => Call((b, tag) => SideCodec.Listen(b, socket, tag, 16, acceptCredit), socket).Errno;

    internal void SetSockOpt(uint socket, int level, int name, byte[] value) => Send(b => SideCodec.SetSockOpt(b, socket, 0, level, name, value));
    internal void Data(uint socket, ReadOnlySpan<byte> bytes)
    {
        var copy = bytes.ToArray();
        Send(b => SideCodec.Data(b, socket, copy));
    }

    internal void Count(SideType type, uint socket, uint count) => Send(b => SideCodec.Count(b, type, socket, count));
    internal void Empty(SideType type, uint socket) => Send(b => SideCodec.Empty(b, type, socket));

    // SOCKET + BIND + LISTEN on guest port `guestPort`: the listener's id.
    internal uint ListenOn(ushort guestPort, int family = SideProtocol.AF_INET, uint acceptCredit = 16)
    {
        uint id = Socket(family);
        Assert.Equal(0, Bind(id, family == SideProtocol.AF_INET ? V4(0, 0, 0, 0, guestPort) : V6Any(guestPort)));
        Assert.Equal(0, Listen(id, acceptCredit));
        return id;
    }

    // Waits for ACCEPTED on `listener`: the new socket's id, peer and local address.
    internal (uint Id, byte[] Peer, byte[] Local) Accepted(uint listener)
    {
        var frame = Expect(SideType.Accepted, listener);
        Assert.Equal(0, SideCodec.DecodeAccepted(frame.Payload, out uint id, out var peer, out var local));
        return (id, peer.ToArray(), local.ToArray());
    }

    // DATA for `socket` until `count` bytes arrived (returning CREDIT as it goes when asked).
    internal byte[] Receive(uint socket, int count, bool credit = true)
    {
        var bytes = new List<byte>();
        while (bytes.Count < count)
        {
            var frame = Expect(SideType.Data, socket);
            bytes.AddRange(frame.Payload);
            if (credit) Count(SideType.Credit, socket, (uint)frame.Payload.Length);
        }
        return bytes.ToArray();
    }

    internal static byte[] V4(byte a, byte b, byte c, byte d, ushort port)
    {
        var address = new byte[16];
        SideAddress.WriteIPv4(address, a, b, c, d, port);
        return address;
    }

    internal static byte[] V6Any(ushort port)
    {
        var address = new byte[28];
        SideAddress.WriteIPv6(address, new byte[16], port);
        return address;
    }

    internal static IPEndPoint EndPoint(ReadOnlySpan<byte> sockaddr)
    {
        ushort port = SideAddress.Port(sockaddr);
        return SideAddress.Family(sockaddr) == SideProtocol.AF_INET
            ? new IPEndPoint(new IPAddress(sockaddr.Slice(4, 4)), port)
            : new IPEndPoint(new IPAddress(sockaddr.Slice(8, 16)), port);
    }

    internal static int Errno(SideFrame frame)
    {
        Assert.Equal(0, SideCodec.DecodeErrno(frame.Payload, out int errno));
        return errno;
    }

    // A host port nothing listens on right now (the kernel's choice for port 0, released at once).
    internal static ushort FreeUdpPort()
    {
        using var probe = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        return (ushort)((IPEndPoint)probe.Client.LocalEndPoint!).Port;
    }

    internal static ushort FreePort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        ushort port = (ushort)((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    public void Dispose()
    {
        Link.Dispose();
        Side.Dispose();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }
}
