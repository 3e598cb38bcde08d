using System.Buffers.Binary;
using Libra.Shims.Net;
using Xunit;

namespace Libra.Tests.Unit;

// The Side protocol codec (Shims/Net, the kernel's own files) against bytes written by hand from
// docs/side-protocol.md, and every way a frame can lie.
public class SideCodecTests
{
    private const int EPROTO = -71, EMSGSIZE = -90;

    private static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", ""));

    private static byte[] Encode(Func<byte[], int> encoder)
    {
        var buffer = new byte[SideProtocol.MaxFrame + 64];
        int n = encoder(buffer);
        Assert.True(n > 0, $"encoder failed with {n}");
        Assert.Equal((uint)n, BinaryPrimitives.ReadUInt32LittleEndian(buffer));
        return buffer[..n];
    }

    // sockaddr_in 127.0.0.1:port, as Linux lays it out.
    private static byte[] V4(ushort port)
    {
        var a = new byte[16];
        Assert.Equal(16, SideAddress.WriteIPv4(a, 127, 0, 0, 1, port));
        return a;
    }

    private const string V4_8080 = "1000 02001f907f000001 0000000000000000";
    private const string V4_40000 = "1000 02009c407f000001 0000000000000000";

    internal delegate int Decoder(ReadOnlySpan<byte> payload);

    // Each message: its golden bytes, the encoder, and its decoder (payloads with a variable tail,
    // such as DATA's bytes, are truncated only within their fixed fields).
    public static IEnumerable<object[]> Messages() => Catalogue.Select(m => new object[] { m.Name });

    private sealed record Message(string Name, string Golden, Func<byte[], int> Encoder, Decoder Decode, int FixedPayload);

    private static readonly Message[] Catalogue =
    [
        new("HELLO", "1c000000 0100 0000 00000000 07000000 01000000 00000100 00000400",
            b => SideCodec.Hello(b, 7, new SideHello { Version = 1, MaxPayload = 65536, RxWindow = 262144 }), p => SideCodec.DecodeHello(p, out _), 12),
        new("SOCKET", "1c000000 0200 0000 01000000 00000000 0a000000 01000000 06000000",
            b => SideCodec.Socket(b, 1, new SideSocketRequest { Family = 10, Type = 1, Protocol = 6 }), p => SideCodec.DecodeSocket(p, out _), 12),
        new("SETSOCKOPT", "1c000000 0300 0000 01000000 00000000 06000000 01000000 01000000",
            b => SideCodec.SetSockOpt(b, 1, 0, 6, 1, [1, 0, 0, 0]), p => SideCodec.DecodeSetSockOpt(p, out _, out _, out _), 8),
        new("GETSOCKOPT", "1c000000 0400 0000 01000000 09000000 01000000 04000000 04000000",
            b => SideCodec.GetSockOpt(b, 1, 9, 1, 4, 4), p => SideCodec.DecodeGetSockOpt(p, out _, out _, out _), 12),
        new("BIND", "22000000 0500 0000 01000000 02000000 " + V4_8080,
            b => SideCodec.Bind(b, 1, 2, V4(8080)), p => SideCodec.DecodeAddress(p, out _), 18),
        new("LISTEN", "18000000 0600 0000 01000000 03000000 00020000 80000000",
            b => SideCodec.Listen(b, 1, 3, 512, 128), p => SideCodec.DecodeListen(p, out _, out _), 8),
        new("CONNECT", "22000000 0700 0000 02000000 00000000 " + V4_8080,
            b => SideCodec.Connect(b, 2, V4(8080)), p => SideCodec.DecodeAddress(p, out _), 18),
        new("DATA", "12000000 0800 0000 02000000 00000000 6869",
            b => SideCodec.Data(b, 2, "hi"u8), p => 0, 0),
        new("SENDTO", "23000000 0900 0000 03000000 00000000 " + V4_8080 + " 78",
            b => SideCodec.SendTo(b, 3, V4(8080), "x"u8), p => SideCodec.DecodeAddressAndBytes(p, out _, out _), 18),
        new("CREDIT", "14000000 0a00 0000 02000000 00000000 00100000",
            b => SideCodec.Count(b, SideType.Credit, 2, 4096), p => SideCodec.DecodeCount(p, out _), 4),
        new("ACCEPT_CREDIT", "14000000 0b00 0000 01000000 00000000 01000000",
            b => SideCodec.Count(b, SideType.AcceptCredit, 1, 1), p => SideCodec.DecodeCount(p, out _), 4),
        new("SHUTDOWN", "14000000 0c00 0000 02000000 00000000 01000000",
            b => SideCodec.Shutdown(b, 2, 1), p => SideCodec.DecodeShutdown(p, out _), 4),
        new("ABORT", "10000000 0d00 0000 02000000 00000000",
            b => SideCodec.Empty(b, SideType.Abort, 2), p => SideCodec.DecodeEmpty(p), 0),
        new("CLOSE", "10000000 0e00 0000 02000000 00000000",
            b => SideCodec.Empty(b, SideType.Close, 2), p => SideCodec.DecodeEmpty(p), 0),
        new("IOCTL", "1c000000 0f00 0000 02000000 05000000 05890000 0000000000000000",
            b => SideCodec.Ioctl(b, 2, 5, 0x8905, 0), p => SideCodec.DecodeIoctl(p, out _, out _), 12),
        new("REPLY", "14000000 8100 0000 01000000 02000000 0d000000",
            b => SideCodec.Reply(b, 1, 2, 13, default), p => SideCodec.DecodeReply(p, out _, out _), 4),
        new("REPLY(HELLO)", "24000000 8100 0000 00000000 07000000 00000000 01000000 0f000000 00000100 00000400",
            b => SideCodec.HelloReply(b, 7, new SideHelloReply { Version = 1, Capabilities = 15, MaxPayload = 65536, TxWindow = 262144 }),
            p => SideCodec.DecodeReply(p, out _, out var result) is 0 ? SideCodec.DecodeHelloReply(result, out _) : EPROTO, 20),
        new("ACCEPTED", "38000000 8200 0000 01000000 00000000 00000080 " + V4_40000 + " " + V4_8080,
            b => SideCodec.Accepted(b, 1, 0x80000000, V4(40000), V4(8080)), p => SideCodec.DecodeAccepted(p, out _, out _, out _), 40),
        new("DGRAM", "23000000 8300 0000 03000000 00000000 " + V4_8080 + " 79",
            b => SideCodec.Dgram(b, 3, V4(8080), "y"u8), p => SideCodec.DecodeAddressAndBytes(p, out _, out _), 18),
        new("TX_CREDIT", "14000000 8400 0000 02000000 00000000 64000000",
            b => SideCodec.Count(b, SideType.TxCredit, 2, 100), p => SideCodec.DecodeCount(p, out _), 4),
        new("CONNECTED", "34000000 8500 0000 02000000 00000000 " + V4_40000 + " " + V4_8080,
            b => SideCodec.Connected(b, 2, V4(40000), V4(8080)), p => SideCodec.DecodeConnected(p, out _, out _), 36),
        new("CONNECT_FAILED", "14000000 8600 0000 02000000 00000000 6f000000",
            b => SideCodec.ErrnoEvent(b, SideType.ConnectFailed, 2, 111, 0), p => SideCodec.DecodeErrno(p, out _), 4),
        new("EOF", "10000000 8700 0000 02000000 00000000",
            b => SideCodec.Empty(b, SideType.Eof, 2), p => SideCodec.DecodeEmpty(p), 0),
        new("ERROR", "14000000 8800 0300 02000000 00000000 68000000",
            b => SideCodec.ErrnoEvent(b, SideType.Error, 2, 104, SideProtocol.ErrorReset | SideProtocol.ErrorHangup), p => SideCodec.DecodeErrno(p, out _), 4),
        new("CLOSED", "10000000 8900 0000 02000000 00000000",
            b => SideCodec.Empty(b, SideType.Closed, 2), p => SideCodec.DecodeEmpty(p), 0),
    ];

    private static Message Find(string name) => Catalogue.Single(m => m.Name == name);

    [Theory]
    [MemberData(nameof(Messages))]
    public void Every_message_encodes_to_its_golden_bytes_and_decodes_back(string name)
    {
        var m = Find(name);
        byte[] frame = Encode(m.Encoder);
        Assert.Equal(Convert.ToHexString(Hex(m.Golden)), Convert.ToHexString(frame));
        Assert.Equal(frame.Length, SideProtocol.FrameLength(frame));
        Assert.Equal(0, SideProtocol.Parse(frame, out var header, out var payload));
        Assert.Equal(0, SideCodec.CheckHeader(header, fromGuest: (ushort)header.Type < 0x80));
        Assert.Equal(0, m.Decode(payload));
    }

    [Theory]
    [MemberData(nameof(Messages))]
    public void Every_truncation_of_every_message_is_refused(string name)
    {
        var m = Find(name);
        byte[] frame = Encode(m.Encoder);
        for (int cut = 0; cut < frame.Length; cut++)
        {
            var prefix = frame.AsSpan(0, cut);
            // A reassembler waits for the rest: under 4 bytes it cannot know the length, from 4 on it knows more is due.
            int length = SideProtocol.FrameLength(prefix);
            Assert.True(cut < 4 ? length == 0 : length == frame.Length);
            Assert.Equal(EPROTO, SideProtocol.Parse(prefix, out _, out _));
        }
        byte[] payload = frame[SideProtocol.HeaderSize..];
        for (int cut = 0; cut < m.FixedPayload; cut++)
            Assert.NotEqual(0, m.Decode(payload.AsSpan(0, cut)));
        // And a byte too many is a lie as well, where the payload has no variable tail.
        if (m.FixedPayload == payload.Length && m.Name is not ("DATA" or "REPLY"))
            Assert.NotEqual(0, m.Decode([.. payload, 0]));
    }

    [Fact]
    public void Frame_lengths_outside_16_to_65552_are_malformed()
    {
        Span<byte> field = stackalloc byte[4];
        foreach (uint bad in new uint[] { 0, 1, 15, 16 + 65536 + 1, 0x7fffffff, uint.MaxValue })
        {
            BinaryPrimitives.WriteUInt32LittleEndian(field, bad);
            Assert.Equal(-1, SideProtocol.FrameLength(field));
        }
        BinaryPrimitives.WriteUInt32LittleEndian(field, 16);
        Assert.Equal(16, SideProtocol.FrameLength(field));
        BinaryPrimitives.WriteUInt32LittleEndian(field, 16 + 65536);
        Assert.Equal(65552, SideProtocol.FrameLength(field));
    }

    [Fact]
    public void Oversized_payloads_and_short_buffers_do_not_encode()
    {
        var buffer = new byte[SideProtocol.MaxFrame + 100];
        Assert.Equal(EMSGSIZE, SideCodec.Data(buffer, 2, new byte[SideProtocol.MaxPayload + 1]));
        Assert.Equal(SideProtocol.MaxFrame, SideCodec.Data(buffer, 2, new byte[SideProtocol.MaxPayload]));
        Assert.Equal(EMSGSIZE, SideCodec.Data(new byte[17], 2, "hi"u8));
        Assert.Equal(EMSGSIZE, SideCodec.Hello(new byte[27], 1, new SideHello { Version = 1, RxWindow = 1 }));
        Assert.Equal(EMSGSIZE, SideCodec.SetSockOpt(buffer, 1, 0, 1, 2, new byte[SideProtocol.MaxOptionSize + 1]));
        Assert.Equal(EMSGSIZE, SideCodec.Reply(buffer, 1, 1, 4096, default));
        Assert.Equal(EMSGSIZE, SideCodec.ErrnoEvent(buffer, SideType.Error, 1, 0, 0));
        Assert.Equal(EMSGSIZE, SideCodec.Bind(buffer, 1, 1, new byte[129]));
    }

    [Fact]
    public void A_datagram_and_its_address_fit_one_frame_or_do_not_encode()
    {
        var buffer = new byte[SideProtocol.MaxFrame + 100];
        var v6 = new byte[SideProtocol.SockaddrIn6Size];
        SideAddress.WriteIPv6(v6, new byte[16], 53);
        // An IPv4 UDP datagram's largest (65507 bytes) fits with its address; an IPv6 one is cut to 65506.
        Assert.True(SideCodec.Dgram(buffer, 3, V4(53), new byte[65507]) > 0);
        Assert.Equal(SideProtocol.MaxFrame, SideCodec.Dgram(buffer, 3, v6, new byte[SideProtocol.MaxPayload - 2 - v6.Length]));
        Assert.Equal(EMSGSIZE, SideCodec.Dgram(buffer, 3, v6, new byte[SideProtocol.MaxPayload - 1 - v6.Length]));
        Assert.Equal(EMSGSIZE, SideCodec.SendTo(buffer, 3, v6, new byte[SideProtocol.MaxPayload - 1 - v6.Length]));
        Assert.True(SideCodec.SendTo(buffer, 3, v6, ReadOnlySpan<byte>.Empty) > 0);
    }

    [Fact]
    public void Unknown_types_and_types_sent_the_wrong_way_are_refused()
    {
        foreach (ushort type in new ushort[] { 0, 16, 0x7f, 0x80, 0x8a, 0xffff })
        {
            Assert.False(SideProtocol.IsKnown(type));
            var header = new SideHeader { Type = (SideType)type, Socket = 1, Tag = 1 };
            Assert.Equal(EPROTO, SideCodec.CheckHeader(header, fromGuest: true));
            Assert.Equal(EPROTO, SideCodec.CheckHeader(header, fromGuest: false));
        }
        Assert.Equal(EPROTO, SideCodec.CheckHeader(new SideHeader { Type = SideType.Accepted, Socket = 1 }, fromGuest: true));
        Assert.Equal(EPROTO, SideCodec.CheckHeader(new SideHeader { Type = SideType.Bind, Socket = 1, Tag = 1 }, fromGuest: false));
        // DATA goes both ways.
        Assert.Equal(0, SideCodec.CheckHeader(new SideHeader { Type = SideType.Data, Socket = 1 }, fromGuest: true));
        Assert.Equal(0, SideCodec.CheckHeader(new SideHeader { Type = SideType.Data, Socket = 1 }, fromGuest: false));
    }

    [Fact]
    public void Socket_ids_must_fit_the_message_and_who_made_the_socket()
    {
        // A socket message naming no socket, a session message naming one.
        Assert.Equal(EPROTO, SideCodec.CheckHeader(new SideHeader { Type = SideType.Data, Socket = 0 }, fromGuest: true));
        Assert.Equal(EPROTO, SideCodec.CheckHeader(new SideHeader { Type = SideType.Hello, Socket = 5, Tag = 1 }, fromGuest: true));
        // The guest names its sockets below 2^31; the Side's accepted ones are from 2^31 up.
        Assert.Equal(EPROTO, SideCodec.CheckHeader(new SideHeader { Type = SideType.Socket, Socket = SideProtocol.FirstSideId }, fromGuest: true));
        Assert.Equal(0, SideCodec.CheckHeader(new SideHeader { Type = SideType.Socket, Socket = SideProtocol.FirstSideId - 1 }, fromGuest: true));
        var buffer = new byte[256];
        int n = SideCodec.Accepted(buffer, 1, 77, V4(1), V4(2));
        SideProtocol.Parse(buffer.AsSpan(0, n), out _, out var payload);
        Assert.Equal(EPROTO, SideCodec.DecodeAccepted(payload, out _, out _, out _));
        // Requests owe a reply, so they need a tag.
        Assert.Equal(EPROTO, SideCodec.CheckHeader(new SideHeader { Type = SideType.Bind, Socket = 1, Tag = 0 }, fromGuest: true));
        Assert.Equal(EPROTO, SideCodec.CheckHeader(new SideHeader { Type = SideType.Reply, Socket = 1, Tag = 0 }, fromGuest: false));
    }

    [Fact]
    public void Credit_overflow_is_refused_and_changes_nothing()
    {
        var window = new SideWindow(1000);
        Assert.True(window.Consume(600));
        Assert.False(window.Consume(401));
        Assert.Equal(400u, window.Available);
        Assert.False(window.Return(601));
        Assert.Equal(600u, window.InFlight);
        Assert.True(window.Return(600));
        Assert.False(window.Return(1));
        Assert.Equal(1000u, window.Available);

        var buffer = new byte[64];
        foreach (uint bad in new uint[] { 0, SideCodec.MaxCredit + 1, uint.MaxValue })
        {
            int n = SideCodec.Count(buffer, SideType.Credit, 1, bad);
            SideProtocol.Parse(buffer.AsSpan(0, n), out _, out var payload);
            Assert.Equal(EPROTO, SideCodec.DecodeCount(payload, out _));
        }
        int hello = SideCodec.Hello(buffer, 1, new SideHello { Version = 1, RxWindow = 0 });
        SideProtocol.Parse(buffer.AsSpan(0, hello), out _, out var helloPayload);
        Assert.Equal(EPROTO, SideCodec.DecodeHello(helloPayload, out _));
    }

    [Fact]
    public void Sockaddrs_of_the_wrong_length_or_family_are_refused()
    {
        Assert.Equal(-22, SideAddress.Validate([]));
        Assert.Equal(-22, SideAddress.Validate([2]));
        Assert.Equal(-22, SideAddress.Validate(V4(1).AsSpan(0, 15)));
        var v6 = new byte[28];
        SideAddress.WriteIPv6(v6, new byte[16], 80);
        Assert.Equal(0, SideAddress.Validate(v6));
        Assert.Equal(0, SideAddress.Validate(v6.AsSpan(0, 24)));
        Assert.Equal(-22, SideAddress.Validate(v6.AsSpan(0, 23)));
        Assert.Equal(-22, SideAddress.Validate(new byte[129]));
        Assert.Equal(-97, SideAddress.Validate([1, 0, 47, 116, 109, 112]));     // AF_UNIX is the guest's own
        Assert.Equal(0, SideAddress.Validate([0, 0]));                          // AF_UNSPEC: connect's "disconnect"

        // In a frame: a length field past the payload, or an address Linux would refuse.
        foreach (string bad in new[] { "0f00 020000007f000001000000000000", "1100 02001f907f000001 0000000000000000", "0100 02" })
        {
            byte[] payload = Hex(bad);
            Assert.Equal(EPROTO, SideCodec.DecodeAddress(payload, out _));
        }
    }

    [Fact]
    public void Loopback_and_any_addresses_are_recognised_in_every_family()
    {
        Assert.True(SideAddress.IsLoopback(V4(80)));
        var a = new byte[16];
        SideAddress.WriteIPv4(a, 127, 1, 2, 3, 80);
        Assert.True(SideAddress.IsLoopback(a));
        SideAddress.WriteIPv4(a, 10, 0, 0, 1, 80);
        Assert.False(SideAddress.IsLoopback(a));
        SideAddress.WriteIPv4(a, 0, 0, 0, 0, 80);
        Assert.True(SideAddress.IsAny(a));

        var v6 = new byte[28];
        var loop = new byte[16];
        loop[15] = 1;
        SideAddress.WriteIPv6(v6, loop, 443);
        Assert.True(SideAddress.IsLoopback(v6));
        Assert.Equal(443, SideAddress.Port(v6));
        byte[] mapped = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1];
        SideAddress.WriteIPv6(v6, mapped, 443);
        Assert.True(SideAddress.IsV4Mapped(v6));
        Assert.True(SideAddress.IsLoopback(v6));
        SideAddress.WriteIPv6(v6, new byte[16], 443);
        Assert.True(SideAddress.IsAny(v6));
        Assert.False(SideAddress.IsLoopback(v6));
        SideAddress.SetPort(v6, 8080);
        Assert.Equal(8080, SideAddress.Port(v6));
    }
}
