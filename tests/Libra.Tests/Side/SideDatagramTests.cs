using System.Net;
using System.Net.Sockets;
using System.Text;
using Libra.Qemu;
using Libra.Shims.Net;
using Xunit;

namespace Libra.Tests.Side;

// UDP through the real Side daemon, a test playing the guest (SideGuest): the publish policy for
// UDP (-Publish HOSTPORT:PORT/udp), the guest's own loopback, the bounded receive side, and the
// guest's name server. Host sockets on 127.0.0.1 only.
public class SideDatagramTests
{
    private const int EACCES = 13, ENETUNREACH = 101;
    private const ushort GuestPort = 5353;

    private static UdpClient HostUdp() => new(new IPEndPoint(IPAddress.Loopback, 0)) { Client = { ReceiveTimeout = 10_000 } };

    private static ushort PortOf(UdpClient client) => (ushort)((IPEndPoint)client.Client.LocalEndPoint!).Port;

    private static (byte[] From, string Text) Datagram(SideGuest guest, uint socket)
    {
        var frame = guest.Expect(SideType.Dgram, socket);
        Assert.Equal(0, SideCodec.DecodeAddressAndBytes(frame.Payload, out var from, out var bytes));
        return (from.ToArray(), Encoding.ASCII.GetString(bytes));
    }

    // A guest UDP socket bound to GuestPort, published on a free host port: (guest, socket, host port).
    private static (SideGuest Guest, uint Server, ushort HostPort) Published(uint rxWindow = SideGuest.RxWindow)
    {
        ushort hostPort = SideGuest.FreeUdpPort();
        var guest = SideGuest.Start(new NetworkOptions([$"{hostPort}:{GuestPort}/udp"], Outbound: false), rxWindow: rxWindow);
        uint server = BoundUdp(guest, GuestPort, out byte[] local);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, GuestPort), SideGuest.EndPoint(local));
        return (guest, server, hostPort);
    }

    private static uint BoundUdp(SideGuest guest, ushort port, out byte[] local)
    {
        uint id = guest.Socket(SideProtocol.AF_INET, SideProtocol.SOCK_DGRAM);
        var (errno, result) = guest.Call((b, tag) => SideCodec.Bind(b, id, tag, SideGuest.V4(127, 0, 0, 1, port)), id);
        Assert.Equal(0, errno);
        local = result;
        return id;
    }

    [Fact]
    public void A_published_UDP_port_takes_host_datagrams_and_answers_from_the_published_address()
    {
        var (guest, server, hostPort) = Published();
        using var link = guest;
        using var host = HostUdp();
        host.Send("query"u8, new IPEndPoint(IPAddress.Loopback, hostPort));
        var (from, text) = Datagram(guest, server);
        Assert.Equal("query", text);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, PortOf(host)), SideGuest.EndPoint(from));
        guest.Send(b => SideCodec.SendTo(b, server, from, "answer"u8));
        IPEndPoint? sender = null;
        Assert.Equal("answer", Encoding.ASCII.GetString(host.Receive(ref sender)));
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, hostPort), sender);
    }

    [Theory]
    [InlineData("{0}:5353")]            // a TCP publish does not cover UDP
    [InlineData("{0}:5353/tcp")]
    [InlineData("{0}:5354/udp")]        // nor does another port's
    public void A_UDP_bind_where_no_UDP_publish_names_the_port_is_refused_EACCES_with_one_line(string publish)
    {
        using var guest = SideGuest.Start(new NetworkOptions([string.Format(publish, SideGuest.FreeUdpPort())], Outbound: false));
        uint id = guest.Socket(SideProtocol.AF_INET, SideProtocol.SOCK_DGRAM);
        Assert.Equal(EACCES, guest.Bind(id, SideGuest.V4(127, 0, 0, 1, GuestPort)));
        Assert.Contains($"run -Publish HOSTPORT:{GuestPort}/udp", guest.AwaitLog("refused (EACCES)"));
    }

    [Fact]
    public void A_guest_port_may_be_published_once_for_TCP_and_once_for_UDP()
    {
        ushort tcp = SideGuest.FreePort(), udp = SideGuest.FreeUdpPort();
        using var guest = SideGuest.Start(new NetworkOptions([$"{tcp}:{GuestPort}", $"{udp}:{GuestPort}/udp"], Outbound: false));
        guest.ListenOn(GuestPort);
        BoundUdp(guest, GuestPort, out _);
        string path = Path.Combine(Path.GetTempPath(), "libra-side-twice-" + Guid.NewGuid().ToString("N")[..8] + ".sock");
        var e = Assert.Throws<SideException>(() => SideProcess.Start(path, new NetworkOptions([$"{udp}:{GuestPort}/udp", $"{udp + 1}:{GuestPort}/udp"], false)));
        Assert.Contains($"guest port {GuestPort}/udp is published twice", e.Message);
    }

    [Fact]
    public void Guest_to_guest_UDP_over_loopback_works_without_outbound_and_shows_guest_ports()
    {
        var (guest, server, _) = Published();
        using var link = guest;
        // An unbound client: the daemon binds it on the host's loopback only.
        uint client = guest.Socket(SideProtocol.AF_INET, SideProtocol.SOCK_DGRAM);
        guest.Send(b => SideCodec.SendTo(b, client, SideGuest.V4(127, 0, 0, 1, GuestPort), "hello"u8));
        var (from, text) = Datagram(guest, server);
        Assert.Equal("hello", text);
        Assert.Equal(IPAddress.Loopback, SideGuest.EndPoint(from).Address);
        guest.Send(b => SideCodec.SendTo(b, server, from, "back"u8));
        var (source, reply) = Datagram(guest, client);
        Assert.Equal("back", reply);
        // The server's source is its guest port, not the host port it is served on.
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, GuestPort), SideGuest.EndPoint(source));
        Assert.DoesNotContain("refused", guest.Side.Log);
    }

    [Fact]
    public void Without_outbound_a_datagram_off_the_guest_is_refused_ENETUNREACH_and_never_sent()
    {
        using var host = HostUdp();
        using var guest = SideGuest.Start(new NetworkOptions([], Outbound: false));
        uint id = guest.Socket(SideProtocol.AF_INET, SideProtocol.SOCK_DGRAM);
        guest.Send(b => SideCodec.SendTo(b, id, SideGuest.V4(127, 0, 0, 1, PortOf(host)), "out"u8));
        Assert.Equal(ENETUNREACH, SideGuest.Errno(guest.Expect(SideType.Error, id)));
        Assert.Contains("refused (ENETUNREACH)", guest.AwaitLog("sendto of socket"));
        Assert.Equal(0, host.Available);
        // A connect is refused the same way, and the UDP socket stays usable.
        guest.Send(b => SideCodec.Connect(b, id, SideGuest.V4(127, 0, 0, 1, PortOf(host))));
        Assert.Equal(ENETUNREACH, SideGuest.Errno(guest.Expect(SideType.ConnectFailed, id)));
        uint other = BoundUdp(guest, 0, out byte[] local);
        guest.Send(b => SideCodec.SendTo(b, id, local, "still"u8));
        Assert.Equal("still", Datagram(guest, other).Text);
    }

    [Fact]
    public void An_IPv6_datagram_goes_out_with_outbound_and_its_answer_comes_back_from_the_IPv6_peer()
    {
        using var echo = new UdpClient(new IPEndPoint(IPAddress.IPv6Loopback, 0)) { Client = { ReceiveTimeout = 10_000 } };
        using var guest = SideGuest.Start(new NetworkOptions([], Outbound: true));
        uint id = guest.Socket(SideProtocol.AF_INET6, SideProtocol.SOCK_DGRAM);
        var to = new byte[SideProtocol.SockaddrIn6Size];
        SideAddress.WriteIPv6(to, IPAddress.IPv6Loopback.GetAddressBytes(), PortOf(echo));
        guest.Send(b => SideCodec.SendTo(b, id, to, "six"u8));
        IPEndPoint? sender = null;
        Assert.Equal("six", Encoding.ASCII.GetString(echo.Receive(ref sender)));
        echo.Send("xis"u8, sender!);
        var (from, text) = Datagram(guest, id);
        Assert.Equal("xis", text);
        Assert.Equal(new IPEndPoint(IPAddress.IPv6Loopback, PortOf(echo)), SideGuest.EndPoint(from));
    }

    [Fact]
    public void Without_outbound_an_ephemeral_UDP_port_is_on_loopback_and_hears_only_the_guest()
    {
        using var guest = SideGuest.Start(new NetworkOptions([], Outbound: false));
        uint id = guest.Socket(SideProtocol.AF_INET, SideProtocol.SOCK_DGRAM);
        var (errno, local) = guest.Call((b, tag) => SideCodec.Bind(b, id, tag, SideGuest.V4(0, 0, 0, 0, 0)), id);
        Assert.Equal(0, errno);
        var name = SideGuest.EndPoint(local);
        // The guest sees what it asked for, with the port it got.
        Assert.Equal(IPAddress.Any, name.Address);
        Assert.NotEqual(0, name.Port);
        using var host = HostUdp();
        host.Send("intruder"u8, new IPEndPoint(IPAddress.Loopback, name.Port));
        guest.Quiet(TimeSpan.FromMilliseconds(500), f => f.Type == SideType.Dgram);
        guest.AwaitLog("only the guest's own sockets may reach it");
    }

    [Fact]
    public void A_connected_UDP_socket_sends_DATA_to_its_peer_and_its_local_address_is_the_guests_view()
    {
        var (guest, server, _) = Published();
        using var link = guest;
        uint client = guest.Socket(SideProtocol.AF_INET, SideProtocol.SOCK_DGRAM);
        guest.Send(b => SideCodec.Connect(b, client, SideGuest.V4(127, 0, 0, 1, GuestPort)));
        Assert.Equal(0, SideCodec.DecodeConnected(guest.Expect(SideType.Connected, client).Payload, out var local, out var peer));
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, GuestPort), SideGuest.EndPoint(peer));
        guest.Data(client, "over DATA"u8);
        var (from, text) = Datagram(guest, server);
        Assert.Equal("over DATA", text);
        Assert.Equal(SideGuest.EndPoint(local), SideGuest.EndPoint(from));
    }

    [Fact]
    public void Datagrams_stop_at_the_guests_credit_and_resume_on_CREDIT()
    {
        var (guest, server, hostPort) = Published(rxWindow: 100_000);
        using var link = guest;
        using var host = HostUdp();
        var big = new byte[30_000];
        for (int i = 0; i < 4; i++) host.Send(big, new IPEndPoint(IPAddress.Loopback, hostPort));
        // The daemon reads a datagram only with room for the largest one (65507 bytes) in the
        // guest's credit: 100,000 bytes of it take two of 30,000; the rest wait in the host socket.
        Datagram(guest, server);
        Datagram(guest, server);
        guest.Quiet(TimeSpan.FromMilliseconds(500), f => f.Type == SideType.Dgram);
        guest.Count(SideType.Credit, server, 2 * SideDatagrams.Cost(big.Length));
        Datagram(guest, server);
        Datagram(guest, server);
    }

    [Fact]
    public void The_guests_name_server_is_the_one_given_with_outbound_and_its_answers_come_from_127_0_0_11()
    {
        using var resolver = HostUdp();
        using var guest = SideGuest.Start(new NetworkOptions([], Outbound: true, NameServer: $"127.0.0.1:{PortOf(resolver)}"));
        Assert.NotEqual(0u, guest.Terms.Capabilities & SideProtocol.CapNameServer);
        uint id = guest.Socket(SideProtocol.AF_INET, SideProtocol.SOCK_DGRAM);
        guest.Send(b => SideCodec.SendTo(b, id, SideGuest.V4(127, 0, 0, 11, 53), "query"u8));
        IPEndPoint? asker = null;
        Assert.Equal("query", Encoding.ASCII.GetString(resolver.Receive(ref asker)));
        resolver.Send("answer"u8, asker!);
        var (from, text) = Datagram(guest, id);
        Assert.Equal("answer", text);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("127.0.0.11"), 53), SideGuest.EndPoint(from));
    }

    [Fact]
    public void Without_outbound_there_is_no_name_server()
    {
        using var guest = SideGuest.Start(new NetworkOptions([], Outbound: false, NameServer: "127.0.0.1:5300"));
        Assert.Equal(0u, guest.Terms.Capabilities & SideProtocol.CapNameServer);
        uint id = guest.Socket(SideProtocol.AF_INET, SideProtocol.SOCK_DGRAM);
        guest.Send(b => SideCodec.SendTo(b, id, SideGuest.V4(127, 0, 0, 11, 53), "query"u8));
        Assert.Equal(ENETUNREACH, SideGuest.Errno(guest.Expect(SideType.Error, id)));
    }
}
