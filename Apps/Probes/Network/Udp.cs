using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Libra.Probes;

// UDP over loopback: a socket bound to 127.0.0.1:PORT (on Libra a host UDP socket the Side owns,
// run -Publish HOST:PORT/udp) and clients reaching it, unbound (an implicit bind at the first
// send) and connected (the default peer, and the filter it sets); then the raw calls' datagram
// semantics: EAGAIN on an empty non-blocking socket, MSG_PEEK, MSG_TRUNC, FIONREAD as the next
// datagram's size, poll readiness, EDESTADDRREQ. The same output natively and on Libra.
static unsafe class UdpChecks
{
    const int EAGAIN = 11, EDESTADDRREQ = 89;
    const short POLLIN = 1, POLLOUT = 4;
    const int MSG_PEEK = 2, MSG_TRUNC = 0x20, MSG_DONTWAIT = 0x40;
    const ulong FIONREAD = 0x541b;

    public static void Run(int port)
    {
        var endpoint = new IPEndPoint(IPAddress.Loopback, port);
        using var server = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        server.Bind(endpoint);
        Probe.Check("a UDP socket binds 127.0.0.1", ((IPEndPoint)server.LocalEndPoint!).Equals(endpoint));
        var buffer = new byte[64];

        // An unbound client: its first send binds it to an ephemeral port.
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        byte* name = stackalloc byte[16];
        int nameLength = 16;
        Probe.Check("an unbound UDP socket's name is 0.0.0.0:0", Libc.getsockname((int)client.Handle, name, &nameLength) == 0 && nameLength == 16 &&
            name[0] == 2 && new ReadOnlySpan<byte>(name + 2, 6).IndexOfAnyExcept((byte)0) < 0);
        client.SendTo("ping"u8, endpoint);
        EndPoint from = new IPEndPoint(IPAddress.Any, 0);
        int n = server.ReceiveFrom(buffer, ref from);
        var clientName = (IPEndPoint)client.LocalEndPoint!;
        Probe.Check("a datagram from an unbound client arrives whole", Encoding.ASCII.GetString(buffer, 0, n) == "ping");
        Probe.Check("the first send bound the client to an ephemeral port of any address", clientName.Address.Equals(IPAddress.Any) && clientName.Port != 0);
        Probe.Check("the datagram comes from 127.0.0.1 and the client's port", ((IPEndPoint)from).Equals(new IPEndPoint(IPAddress.Loopback, clientName.Port)));
        server.SendTo("pong"u8, from);
        EndPoint back = new IPEndPoint(IPAddress.Any, 0);
        n = client.ReceiveFrom(buffer, ref back);
        Probe.Check("the answer comes back from the server's address", Encoding.ASCII.GetString(buffer, 0, n) == "pong" && ((IPEndPoint)back).Equals(endpoint));

        // The async engine: a receive waits, then completes when a datagram arrives.
        var waiting = server.ReceiveFromAsync(buffer.AsMemory(), SocketFlags.None, new IPEndPoint(IPAddress.Any, 0)).AsTask();
        Thread.Sleep(50);
        Probe.Check("an async receive waits while nothing has arrived", !waiting.IsCompleted);
        client.SendTo("late"u8, endpoint);
        Probe.Check("a waiting async receive completes when a datagram arrives", waiting.Wait(10_000) && waiting.Result.ReceivedBytes == 4);

        // A connected client: its default peer, the local address connect chose, and its filter.
        using var connected = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        connected.Connect(endpoint);
        var connectedName = (IPEndPoint)connected.LocalEndPoint!;
        Probe.Check("connect sets the peer getpeername reports", ((IPEndPoint)connected.RemoteEndPoint!).Equals(endpoint));
        Probe.Check("connect binds 127.0.0.1 and an ephemeral port", connectedName.Address.Equals(IPAddress.Loopback) && connectedName.Port != 0);
        connected.Send("conn"u8);
        from = new IPEndPoint(IPAddress.Any, 0);
        n = server.ReceiveFrom(buffer, ref from);
        Probe.Check("send on a connected socket goes to its peer", Encoding.ASCII.GetString(buffer, 0, n) == "conn" && ((IPEndPoint)from).Equals(connectedName));
        using (var stranger = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
            stranger.SendTo("stray"u8, connectedName);
        server.SendTo("peer"u8, connectedName);
        n = connected.Receive(buffer);
        Probe.Check("a connected socket hears only its peer", Encoding.ASCII.GetString(buffer, 0, n) == "peer");

        // The raw calls on the server's descriptor.
        int fd = (int)server.Handle;
        byte* into = stackalloc byte[64];
        Probe.Check("recv(MSG_DONTWAIT) on an empty UDP socket fails with EAGAIN", Libc.recv(fd, into, 64, MSG_DONTWAIT) == -1 && Marshal.GetLastPInvokeError() == EAGAIN);
        Probe.Check("poll on an empty UDP socket: writable, not readable", Poll(fd, POLLIN | POLLOUT, 0) == POLLOUT);
        int waitingBytes = -1;
        Probe.Check("FIONREAD on an empty UDP socket is 0", Libc.ioctl(fd, FIONREAD, &waitingBytes) == 0 && waitingBytes == 0);
        client.SendTo("0123456789"u8, endpoint);
        client.SendTo("abc"u8, endpoint);
        Probe.Check("poll wakes when a datagram arrives: readable and writable", Poll(fd, POLLIN, 10_000) == POLLIN && Poll(fd, POLLIN | POLLOUT, 0) == (POLLIN | POLLOUT));
        Probe.Check("FIONREAD is the size of the next datagram", Libc.ioctl(fd, FIONREAD, &waitingBytes) == 0 && waitingBytes == 10);
        Probe.Check("MSG_PEEK reads a datagram without taking it", Libc.recv(fd, into, 64, MSG_PEEK) == 10 && Libc.recv(fd, into, 64, MSG_PEEK) == 10);
        Probe.Check("recv with MSG_TRUNC returns the datagram's whole length", Libc.recv(fd, into, 4, MSG_TRUNC) == 10 && into[3] == (byte)'3');
        Poll(fd, POLLIN, 10_000);
        Probe.Check("a short buffer truncates a datagram and the rest is gone", Libc.recv(fd, into, 2, 0) == 2 && into[1] == (byte)'b' &&
            Libc.recv(fd, into, 64, MSG_DONTWAIT) == -1 && Marshal.GetLastPInvokeError() == EAGAIN);
        client.SendTo(ReadOnlySpan<byte>.Empty, endpoint);
        Probe.Check("an empty datagram arrives as a 0-byte receive", Poll(fd, POLLIN, 10_000) == POLLIN && Libc.recv(fd, into, 64, 0) == 0);
        Probe.Check("send without an address on an unconnected UDP socket fails with EDESTADDRREQ",
            Libc.send((int)client.Handle, into, 1, 0) == -1 && Marshal.GetLastPInvokeError() == EDESTADDRREQ);
    }

    // network --udp-echo PORT: one datagram to 127.0.0.1:PORT (a UDP echo outside the program: on
    // Libra a host socket, reached with -Net outbound) and its echo back, within 10 s.
    public static int Echo(int port)
    {
        var echo = new IPEndPoint(IPAddress.Loopback, port);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 10_000 };
        socket.SendTo("echo me"u8, echo);
        var buffer = new byte[64];
        EndPoint from = new IPEndPoint(IPAddress.Any, 0);
        try
        {
            int n = socket.ReceiveFrom(buffer, ref from);
            Console.Out.WriteLine($"{Encoding.ASCII.GetString(buffer, 0, n)} from {from}");
            return 0;
        }
        catch (SocketException e)
        {
            Console.Out.WriteLine($"no echo: {e.SocketErrorCode}");
            return 2;
        }
    }

    // poll(2) on one descriptor: its revents (0 on timeout).
    static int Poll(int fd, short events, int timeoutMs)
    {
        var entry = new PollFd { Fd = fd, Events = events };
        return Libc.poll(&entry, 1, timeoutMs) < 0 ? -1 : entry.Revents;
    }

    [StructLayout(LayoutKind.Sequential)]
    struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    static class Libc
    {
        [DllImport("libc", SetLastError = true)] public static extern nint recv(int fd, void* buffer, nuint length, int flags);
        [DllImport("libc", SetLastError = true)] public static extern nint send(int fd, void* buffer, nuint length, int flags);
        [DllImport("libc", SetLastError = true)] public static extern int ioctl(int fd, ulong request, void* argument);
        [DllImport("libc", SetLastError = true)] public static extern int getsockname(int fd, byte* address, int* length);
        [DllImport("libc", SetLastError = true)] public static extern int poll(PollFd* fds, nuint count, int timeout);
    }
}
