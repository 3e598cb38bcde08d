using System.Net;
using System.Net.Sockets;
using System.Text;
using Libra.Qemu;
using Libra.Shims.Net;
using Xunit;

namespace Libra.Tests.Side;

// The real Side daemon driven by a test playing the guest (SideGuest), with real host sockets on
// 127.0.0.1 and ::1 only.
public class SideDaemonTests
{
    private const int EACCES = 13, ECONNRESET = 104, ECONNREFUSED = 111, ENETUNREACH = 101, EBADF = 9;
    private const int SOL_SOCKET = 1, SO_LINGER = 13, IPPROTO_IPV6 = 41, IPV6_V6ONLY = 26;
    private const ushort GuestPort = 8080;

    private static TcpClient Client(IPAddress address, ushort port)
    {
        var client = new TcpClient(address.AddressFamily) { ReceiveTimeout = 10_000, SendTimeout = 10_000 };
        Assert.True(client.ConnectAsync(address, port).Wait(SideGuest.Patience), $"connect to {address}:{port} timed out");
        return client;
    }

    private static byte[] ReadExactly(TcpClient client, int count)
    {
        var bytes = new byte[count];
        client.GetStream().ReadExactly(bytes);
        return bytes;
    }

    // A published guest listener with one host client accepted: (guest, listener, accepted id, client).
    private static (SideGuest Guest, uint Listener, uint Id, TcpClient Client) Served(uint rxWindow = SideGuest.RxWindow, ushort helloFlags = 0)
    {
        ushort hostPort = SideGuest.FreePort();
        var guest = SideGuest.Start(new NetworkOptions([$"{hostPort}:{GuestPort}"], false), rxWindow: rxWindow, helloFlags: helloFlags);
        uint listener = guest.ListenOn(GuestPort);
        var client = Client(IPAddress.Loopback, hostPort);
        var (id, _, _) = guest.Accepted(listener);
        return (guest, listener, id, client);
    }

    [Fact]
    public void Listen_on_a_published_port_pushes_each_host_connection_as_ACCEPTED_with_its_addresses()
    {
        ushort hostPort = SideGuest.FreePort();
        using var guest = SideGuest.Start(new NetworkOptions([$"{hostPort}:{GuestPort}"], false));
        uint listener = guest.ListenOn(GuestPort);
        guest.AwaitLog($"guest port {GuestPort} is served on the host at 127.0.0.1:{hostPort}");
        using var first = Client(IPAddress.Loopback, hostPort);
        using var second = Client(IPAddress.Loopback, hostPort);
        var a = guest.Accepted(listener);
        var b = guest.Accepted(listener);
        Assert.True(SideProtocol.IsSideId(a.Id) && SideProtocol.IsSideId(b.Id) && a.Id != b.Id);
        Assert.Equal(first.Client.LocalEndPoint, SideGuest.EndPoint(a.Peer));
        Assert.Equal(second.Client.LocalEndPoint, SideGuest.EndPoint(b.Peer));
        // The guest sees its own port as the local one, as a container does.
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, GuestPort), SideGuest.EndPoint(a.Local));
    }

    [Fact]
    public void Accepted_connections_stop_at_the_accept_credit_and_resume_on_ACCEPT_CREDIT()
    {
        ushort hostPort = SideGuest.FreePort();
        using var guest = SideGuest.Start(new NetworkOptions([$"{hostPort}:{GuestPort}"], false));
        uint listener = guest.ListenOn(GuestPort, acceptCredit: 1);
        using var first = Client(IPAddress.Loopback, hostPort);
        using var second = Client(IPAddress.Loopback, hostPort);
        guest.Accepted(listener);
        guest.Quiet(TimeSpan.FromMilliseconds(500), f => f.Type == SideType.Accepted);
        guest.Count(SideType.AcceptCredit, listener, 1);
        guest.Accepted(listener);
    }

    [Fact]
    public void Data_flows_both_ways_and_TX_CREDIT_returns_what_left_once_a_quarter_of_the_window_is_due()
    {
        var (guest, _, id, client) = Served();
        using (guest)
        using (client)
        {
            client.GetStream().Write("hello"u8);
            Assert.Equal("hello", Encoding.ASCII.GetString(guest.Receive(id, 5)));
            guest.Data(id, "world"u8);
            Assert.Equal("world", Encoding.ASCII.GetString(ReadExactly(client, 5)));
            // A small response is credited later, with what follows: no frame back per response.
            guest.Quiet(TimeSpan.FromMilliseconds(300), f => f.Type == SideType.TxCredit && f.Socket == id);
            var block = new byte[SideProtocol.MaxPayload];      // a quarter of the 256 KiB window
            guest.Data(id, block);
            Assert.Equal(block.Length, ReadExactly(client, block.Length).Length);
            var credit = guest.Expect(SideType.TxCredit, id);
            Assert.Equal(0, SideCodec.DecodeCount(credit.Payload, out uint returned));
            Assert.Equal(5u + (uint)block.Length, returned);
        }
    }

    // libra.side_batching=off: HELLO's HelloUnbatched flag makes the Side credit each DATA it passed on.
    [Fact]
    public void After_an_unbatched_HELLO_a_small_DATA_gets_its_TX_CREDIT_at_once()
    {
        var (guest, _, id, client) = Served(helloFlags: SideProtocol.HelloUnbatched);
        using (guest)
        using (client)
        {
            guest.Data(id, "world"u8);
            Assert.Equal("world", Encoding.ASCII.GetString(ReadExactly(client, 5)));
            var credit = guest.Expect(SideType.TxCredit, id);
            Assert.Equal(0, SideCodec.DecodeCount(credit.Payload, out uint returned));
            Assert.Equal(5u, returned);
        }
    }

    [Fact]
    public void The_Side_stops_reading_at_zero_credit_and_resumes_on_CREDIT()
    {
        const uint Window = 4096;
        var (guest, _, id, client) = Served(rxWindow: Window);
        using (guest)
        using (client)
        {
            var sent = new byte[10_000];
            new Random(7).NextBytes(sent);
            client.GetStream().Write(sent);
            var received = new List<byte>(guest.Receive(id, (int)Window, credit: false));
            Assert.Equal((int)Window, received.Count);
            guest.Quiet(TimeSpan.FromMilliseconds(500), f => f.Type == SideType.Data && f.Socket == id);
            while (received.Count < sent.Length)
            {
                guest.Count(SideType.Credit, id, Window);
                int before = received.Count;
                received.AddRange(guest.Receive(id, Math.Min((int)Window, sent.Length - before), credit: false));
                Assert.True(received.Count - before <= Window, "more than the window arrived");
            }
            Assert.Equal(sent, received.ToArray());
        }
    }

    [Fact]
    public async Task A_guest_that_does_not_read_its_link_holds_the_host_sender_back_with_bounded_memory()
    {
        const int Total = 32 << 20;
        var (guest, _, id, client) = Served(rxWindow: Total);   // credit is no limit here: only the link is
        using (guest)
        using (client)
        {
            var sent = new byte[Total];
            new Random(5).NextBytes(sent);
            var writer = client.GetStream().WriteAsync(sent).AsTask();
            await Task.WhenAny(writer, Task.Delay(TimeSpan.FromSeconds(2)));
            Assert.False(writer.IsCompleted, "32 MiB went into the Side while the guest read nothing");
            long rss = File.ReadAllLines($"/proc/{guest.Side.ProcessId}/status").Where(l => l.StartsWith("VmRSS:")).Select(l => long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1])).Single();
            Assert.True(rss < 200 * 1024, $"the Side holds {rss} KiB");
            Assert.Equal(sent, guest.Receive(id, Total, credit: false));
            await writer.WaitAsync(SideGuest.Patience);
        }
    }

    [Fact]
    public void A_client_FIN_arrives_as_EOF_after_its_data()
    {
        var (guest, _, id, client) = Served();
        using (guest)
        using (client)
        {
            client.GetStream().Write("bye"u8);
            client.Client.Shutdown(SocketShutdown.Send);
            var skipped = new List<SideFrame>();
            guest.Expect(SideType.Eof, id, skipped);
            Assert.Equal("bye", Encoding.ASCII.GetString(skipped.Where(f => f.Type == SideType.Data).SelectMany(f => f.Payload).ToArray()));
        }
    }

    [Fact]
    public void A_client_RST_arrives_as_ERROR_ECONNRESET()
    {
        var (guest, _, id, client) = Served();
        using (guest)
        {
            client.Client.Close(0);     // SO_LINGER {1,0}, then close: an RST
            var error = guest.Expect(SideType.Error, id);
            Assert.Equal(ECONNRESET, SideGuest.Errno(error));
            Assert.Equal(SideProtocol.ErrorReset | SideProtocol.ErrorHangup, error.Flags);
        }
    }

    [Fact]
    public void Guest_CLOSE_with_linger_zero_resets_the_host_client()
    {
        var (guest, _, id, client) = Served();
        using (guest)
        using (client)
        {
            guest.SetSockOpt(id, SOL_SOCKET, SO_LINGER, [1, 0, 0, 0, 0, 0, 0, 0]);
            guest.Empty(SideType.Close, id);
            guest.Expect(SideType.Closed, id);
            var e = Assert.Throws<IOException>(() => client.GetStream().ReadExactly(new byte[1]));
            Assert.Equal(SocketError.ConnectionReset, Assert.IsType<SocketException>(e.InnerException).SocketErrorCode);
        }
    }

    [Fact]
    public void Guest_CLOSE_without_linger_flushes_then_the_client_sees_FIN()
    {
        var (guest, _, id, client) = Served();
        using (guest)
        using (client)
        {
            guest.Data(id, "last words"u8);
            guest.Empty(SideType.Close, id);
            guest.Expect(SideType.Closed, id);
            Assert.Equal("last words", Encoding.ASCII.GetString(ReadExactly(client, 10)));
            Assert.Equal(0, client.GetStream().Read(new byte[1]));
        }
    }

    [Fact]
    public void ABORT_resets_the_host_client_at_once()
    {
        var (guest, _, id, client) = Served();
        using (guest)
        using (client)
        {
            guest.Empty(SideType.Abort, id);
            var e = Assert.Throws<IOException>(() => client.GetStream().ReadExactly(new byte[1]));
            Assert.Equal(SocketError.ConnectionReset, Assert.IsType<SocketException>(e.InnerException).SocketErrorCode);
        }
    }

    [Fact]
    public void GETSOCKOPT_and_IOCTL_read_the_host_socket_and_refuse_what_is_not_whitelisted()
    {
        var (guest, _, id, client) = Served();
        using (guest)
        using (client)
        {
            var type = guest.Call((b, tag) => SideCodec.GetSockOpt(b, id, tag, SOL_SOCKET, 3, 4), id);   // SO_TYPE
            Assert.Equal(0, type.Errno);
            Assert.Equal(SideProtocol.SOCK_STREAM, BitConverter.ToInt32(type.Result));
            Assert.Equal(92, guest.Call((b, tag) => SideCodec.GetSockOpt(b, id, tag, SOL_SOCKET, 25, 16), id).Errno);   // SO_BINDTODEVICE: ENOPROTOOPT
            Assert.Equal(92, guest.Call((b, tag) => SideCodec.SetSockOpt(b, id, tag, SOL_SOCKET, 25, "lo\0"u8), id).Errno);
            var atMark = guest.Call((b, tag) => SideCodec.Ioctl(b, id, tag, 0x8905, 0), id);          // SIOCATMARK
            Assert.Equal(0, atMark.Errno);
            Assert.Equal(4, atMark.Result.Length);
            Assert.Equal(25, guest.Call((b, tag) => SideCodec.Ioctl(b, id, tag, 0x5401, 0), id).Errno);   // TCGETS: ENOTTY
        }
    }

    [Fact]
    public void SHUTDOWN_write_is_ordered_after_queued_DATA_and_the_client_reads_EOF()
    {
        var (guest, _, id, client) = Served();
        using (guest)
        using (client)
        {
            var sent = new byte[200_000];
            new Random(11).NextBytes(sent);
            for (int at = 0; at < sent.Length; at += SideProtocol.MaxPayload)
                guest.Data(id, sent.AsSpan(at, Math.Min(SideProtocol.MaxPayload, sent.Length - at)));
            guest.Send(b => SideCodec.Shutdown(b, id, SideProtocol.SHUT_WR));
            Assert.Equal(sent, ReadExactly(client, sent.Length));
            Assert.Equal(0, client.GetStream().Read(new byte[1]));
            // The other direction still works after a half-close.
            client.GetStream().Write("still here"u8);
            Assert.Equal("still here", Encoding.ASCII.GetString(guest.Receive(id, 10)));
        }
    }

    [Fact]
    public void Connect_to_a_closed_loopback_port_with_outbound_fails_with_ECONNREFUSED()
    {
        using var guest = SideGuest.Start(new NetworkOptions([], Outbound: true));
        uint id = guest.Socket();
        guest.Send(b => SideCodec.Connect(b, id, SideGuest.V4(127, 0, 0, 1, SideGuest.FreePort())));
        Assert.Equal(ECONNREFUSED, SideGuest.Errno(guest.Expect(SideType.ConnectFailed, id)));
    }

    [Fact]
    public void Connect_without_outbound_is_refused_with_ENETUNREACH_and_no_host_connection()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            ushort port = (ushort)((IPEndPoint)listener.LocalEndpoint).Port;
            using var guest = SideGuest.Start(new NetworkOptions([], Outbound: false));
            uint id = guest.Socket();
            guest.Send(b => SideCodec.Connect(b, id, SideGuest.V4(127, 0, 0, 1, port)));
            Assert.Equal(ENETUNREACH, SideGuest.Errno(guest.Expect(SideType.ConnectFailed, id)));
            Assert.False(listener.Pending());
            Assert.Single(guest.AwaitLog("refused (ENETUNREACH)").Split('\n'), l => l.Contains("refused (ENETUNREACH)"));
        }
        finally { listener.Stop(); }
    }

    [Fact]
    public async Task Connect_with_outbound_reaches_a_host_listener_with_its_addresses()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            ushort port = (ushort)((IPEndPoint)listener.LocalEndpoint).Port;
            using var guest = SideGuest.Start(new NetworkOptions([], Outbound: true));
            uint id = guest.Socket();
            guest.Send(b => SideCodec.Connect(b, id, SideGuest.V4(127, 0, 0, 1, port)));
            var connected = guest.Expect(SideType.Connected, id);
            Assert.Equal(0, SideCodec.DecodeConnected(connected.Payload, out var localBytes, out var peerBytes));
            IPEndPoint local = SideGuest.EndPoint(localBytes), peer = SideGuest.EndPoint(peerBytes);
            using var server = await listener.AcceptTcpClientAsync().WaitAsync(SideGuest.Patience);
            Assert.Equal(new IPEndPoint(IPAddress.Loopback, port), peer);
            Assert.Equal(server.Client.RemoteEndPoint, local);
            guest.Data(id, "out"u8);
            Assert.Equal("out", Encoding.ASCII.GetString(ReadExactly(server, 3)));
        }
        finally { listener.Stop(); }
    }

    [Fact]
    public void Listen_on_unpublished_port_is_refused_with_EACCES()
    {
        ushort hostPort = SideGuest.FreePort();
        using var guest = SideGuest.Start(new NetworkOptions([$"{hostPort}:{GuestPort}"], false));
        uint bound = guest.Socket();
        Assert.Equal(EACCES, guest.Bind(bound, SideGuest.V4(0, 0, 0, 0, 9090)));
        Assert.Equal(EACCES, guest.Listen(bound));
        // listen() on an unbound socket would take an ephemeral, unpublished port.
        uint unbound = guest.Socket();
        Assert.Equal(EACCES, guest.Listen(unbound));
        guest.AwaitLog("guest port 9090 refused (EACCES): not published");
        Assert.Throws<AggregateException>(() => new TcpClient().ConnectAsync(IPAddress.Loopback, 9090).Wait(SideGuest.Patience));
    }

    [Fact]
    public void A_publish_with_an_address_serves_on_that_address_only()
    {
        ushort hostPort = SideGuest.FreePort();
        var address = IPAddress.Parse("127.0.0.2");
        using var guest = SideGuest.Start(new NetworkOptions([$"127.0.0.2:{hostPort}:{GuestPort}"], false));
        uint listener = guest.ListenOn(GuestPort);
        using var client = Client(address, hostPort);
        var accepted = guest.Accepted(listener);
        Assert.Equal(address, SideGuest.EndPoint(accepted.Local).Address);
        Assert.Throws<AggregateException>(() => new TcpClient().ConnectAsync(IPAddress.Loopback, hostPort).Wait(SideGuest.Patience));
    }

    [Fact]
    public void A_dual_stack_guest_listener_sees_IPv4_peers_as_v4_mapped()
    {
        ushort hostPort = SideGuest.FreePort();
        using var guest = SideGuest.Start(new NetworkOptions([$"{hostPort}:{GuestPort}"], false));
        uint listener = guest.Socket(SideProtocol.AF_INET6);
        guest.SetSockOpt(listener, IPPROTO_IPV6, IPV6_V6ONLY, [0, 0, 0, 0]);
        Assert.Equal(0, guest.Bind(listener, SideGuest.V6Any(GuestPort)));
        Assert.Equal(0, guest.Listen(listener));
        using var client = Client(IPAddress.Loopback, hostPort);
        var accepted = guest.Accepted(listener);
        Assert.Equal(SideProtocol.AF_INET6, SideAddress.Family(accepted.Peer));
        Assert.True(SideAddress.IsV4Mapped(accepted.Peer));
        Assert.Equal(((IPEndPoint)client.Client.LocalEndPoint!).Port, SideAddress.Port(accepted.Peer));
    }

    [Fact]
    public void A_guest_connect_to_its_own_loopback_listener_is_served_without_outbound()
    {
        ushort hostPort = SideGuest.FreePort();
        using var guest = SideGuest.Start(new NetworkOptions([$"{hostPort}:{GuestPort}"], Outbound: false));
        uint listener = guest.ListenOn(GuestPort);
        uint client = guest.Socket();
        guest.Send(b => SideCodec.Connect(b, client, SideGuest.V4(127, 0, 0, 1, GuestPort)));
        var connected = guest.Expect(SideType.Connected, client);
        Assert.Equal(0, SideCodec.DecodeConnected(connected.Payload, out _, out var peer));
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, GuestPort), SideGuest.EndPoint(peer));
        var accepted = guest.Accepted(listener);
        guest.Data(client, "to myself"u8);
        Assert.Equal("to myself", Encoding.ASCII.GetString(guest.Receive(accepted.Id, 9)));
    }

    [Fact]
    public async Task A_UDP_datagram_goes_out_with_outbound_and_the_answer_comes_back_as_DGRAM()
    {
        using var echo = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        ushort port = (ushort)((IPEndPoint)echo.Client.LocalEndPoint!).Port;
        using var guest = SideGuest.Start(new NetworkOptions([], Outbound: true));
        uint id = guest.Socket(SideProtocol.AF_INET, SideProtocol.SOCK_DGRAM);
        guest.Send(b => SideCodec.SendTo(b, id, SideGuest.V4(127, 0, 0, 1, port), "ping"u8));
        var received = await echo.ReceiveAsync().WaitAsync(SideGuest.Patience);
        Assert.Equal("ping", Encoding.ASCII.GetString(received.Buffer));
        echo.Send("pong"u8, received.RemoteEndPoint);
        var dgram = guest.Expect(SideType.Dgram, id);
        Assert.Equal(0, SideCodec.DecodeAddressAndBytes(dgram.Payload, out var from, out var bytes));
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, port), SideGuest.EndPoint(from));
        Assert.Equal("pong", Encoding.ASCII.GetString(bytes));
    }

    [Fact]
    public void Frames_for_unknown_socket_ids_are_dropped_and_requests_answered_EBADF()
    {
        using var guest = SideGuest.Start(new NetworkOptions([], false));
        guest.Data(4242, "nobody"u8);
        guest.Count(SideType.Credit, 4242, 10);
        Assert.Equal(EBADF, guest.Bind(4242, SideGuest.V4(127, 0, 0, 1, 1)));
        guest.Hello();
    }

    [Theory]
    [InlineData("05000000")]                  // shorter than the header
    [InlineData("11000100")]                  // 65553: one past the largest frame
    [InlineData("ffffffff")]
    public void A_malformed_length_resets_every_socket_and_the_daemon_keeps_serving(string lengthField)
    {
        var (guest, listener, id, client) = Served();
        using (guest)
        using (client)
        {
            guest.SendRaw(Convert.FromHexString(lengthField + "0800000001000000"));
            // The link closes, the host client's connection is reset, and one line says why.
            var deadline = DateTime.UtcNow + SideGuest.Patience;
            while (guest.Next() is not null) Assert.True(DateTime.UtcNow < deadline);
            Assert.ThrowsAny<IOException>(() => client.GetStream().ReadExactly(new byte[1]));
            Assert.Single(guest.AwaitLog("malformed frame").Split('\n'), l => l.Contains("malformed frame"));
            // QEMU connects again; the daemon serves a new session on the same published port.
            guest.Reconnect();
            guest.Hello();
            uint again = guest.ListenOn(GuestPort);
            Assert.NotEqual(listener, again);
        }
    }

    [Fact]
    public void A_flood_of_garbage_frames_with_sound_lengths_leaves_the_daemon_serving()
    {
        ushort hostPort = SideGuest.FreePort();
        using var guest = SideGuest.Start(new NetworkOptions([$"{hostPort}:{GuestPort}"], false));
        var random = new Random(1234);
        var frame = new byte[256];
        for (int i = 0; i < 5000; i++)
        {
            int length = random.Next(16, frame.Length);
            random.NextBytes(frame);
            BitConverter.TryWriteBytes(frame.AsSpan(0, 4), (uint)length);
            // Mostly known types, so the per-type decoders see garbage too.
            BitConverter.TryWriteBytes(frame.AsSpan(4, 2), (ushort)(random.Next(3) == 0 ? random.Next(0x100) : random.Next(2, 16)));
            BitConverter.TryWriteBytes(frame.AsSpan(8, 4), (uint)random.Next(1, 64));
            guest.SendRaw(frame.AsSpan(0, length));
        }
        guest.Hello();
        uint listener = guest.ListenOn(GuestPort);
        using var client = Client(IPAddress.Loopback, hostPort);
        guest.Accepted(listener);
        Assert.True(guest.Side.Log.Split('\n').Length < 500, "the daemon logged about every garbage frame:\n" + guest.Side.Log);
    }

    [Fact]
    public void Killing_the_Side_closes_the_guest_link()
    {
        using var guest = SideGuest.Start(new NetworkOptions([], false));
        guest.Side.Kill();
        Assert.Null(guest.Next());
    }

    [Theory]
    [InlineData("nonsense", "-Publish 'nonsense'")]
    [InlineData("70000:80", "not a port")]
    [InlineData("5353/sctp", "not a port")]
    public void A_bad_publish_stops_the_daemon_with_one_line_that_says_why(string spec, string says)
    {
        string path = Path.Combine(Path.GetTempPath(), "libra-side-bad-" + Guid.NewGuid().ToString("N")[..8] + ".sock");
        var e = Assert.Throws<SideException>(() => SideProcess.Start(path, new NetworkOptions([spec], false)));
        Assert.Contains(says, e.Message);
    }
}
