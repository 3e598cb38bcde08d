using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Libra.Probes;

// Sockets as a .NET program uses them, over AF_UNIX inside one process: System.Net.Sockets'
// async engine (epoll, edge-triggered) with listeners, accepts, connects, streams, half-close and
// datagrams; and the raw calls beneath (socketpair, MSG_PEEK, MSG_DONTWAIT, shutdown, SO_TYPE,
// FIONREAD, EPIPE without SIGPIPE). Each line is a fact; the output is the same on Linux and Libra.
// Names are abstract (a leading NUL), so nothing is created in any directory.
string Name(string what) => "\0libra-probe-" + what + "-" + Environment.ProcessId;

// --- a stream listener, async accept and connect, both directions ---
using (var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
{
    var endpoint = new UnixDomainSocketEndPoint(Name("stream"));
    listener.Bind(endpoint);
    listener.Listen(16);
    Probe.Check("a listener binds an abstract name and listens", listener.IsBound);
    using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
    var accepting = listener.AcceptAsync();
    client.ConnectAsync(endpoint).Wait(10_000);
    using var server = accepting.Result;
    Probe.Check("connect and accept meet", client.Connected && server.Connected);
    client.Send(Encoding.ASCII.GetBytes("ping"));
    var buffer = new byte[64];
    int n = server.ReceiveAsync(buffer.AsMemory(), SocketFlags.None).AsTask().Result;
    Probe.Check("bytes sent by the client arrive at the server", Encoding.ASCII.GetString(buffer, 0, n) == "ping");
    server.SendAsync(Encoding.ASCII.GetBytes("pong").AsMemory(), SocketFlags.None).AsTask().Wait();
    n = client.Receive(buffer);
    Probe.Check("bytes sent by the server arrive at the client", Encoding.ASCII.GetString(buffer, 0, n) == "pong");
    var pending = server.ReceiveAsync(buffer.AsMemory(), SocketFlags.None).AsTask();
    Thread.Sleep(50);
    Probe.Check("a receive waits while nothing has arrived", !pending.IsCompleted);
    client.Send(Encoding.ASCII.GetBytes("late"));
    Probe.Check("a waiting receive completes when bytes arrive", pending.Wait(10_000) && pending.Result == 4);
    client.Send(Encoding.ASCII.GetBytes("abc"));
    Thread.Sleep(20);
    Probe.Check("Available counts the bytes waiting", server.Available == 3);
    server.Receive(buffer);
    client.Shutdown(SocketShutdown.Send);
    Probe.Check("after the peer's shutdown(SHUT_WR) a receive returns 0", server.ReceiveAsync(buffer.AsMemory(), SocketFlags.None).AsTask().Result == 0);
    server.Send(Encoding.ASCII.GetBytes("still"));
    n = client.Receive(buffer);
    Probe.Check("the other direction still works after a half-close", Encoding.ASCII.GetString(buffer, 0, n) == "still");
    server.Dispose();
    Probe.Check("after the peer closes a receive returns 0", client.Receive(buffer) == 0);
    var refused = false;
    try { new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified).Connect(new UnixDomainSocketEndPoint(Name("nobody"))); }
    catch (SocketException e) { refused = e.SocketErrorCode == SocketError.ConnectionRefused; }
    Probe.Check("connecting to an unbound abstract name is refused", refused);
    var inUse = false;
    try { new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified).Bind(endpoint); }
    catch (SocketException e) { inUse = e.SocketErrorCode == SocketError.AddressAlreadyInUse; }
    Probe.Check("binding a name in use fails with EADDRINUSE", inUse);
}

// --- a bulk transfer each way at once, with checksums ---
using (var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
{
    listener.Bind(new UnixDomainSocketEndPoint(Name("bulk")));
    listener.Listen(1);
    using var a = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
    var accepting = listener.AcceptAsync();
    a.Connect(listener.LocalEndPoint!);
    using var b = accepting.Result;
    const int Size = 8 << 20;
    var payload = new byte[Size];
    new Random(7).NextBytes(payload);
    ulong expected = Checksum(payload);
    async Task<byte[]> ReceiveAll(Socket s)
    {
        var into = new byte[Size];
        int at = 0;
        while (at < Size) { int got = await s.ReceiveAsync(into.AsMemory(at), SocketFlags.None); if (got == 0) break; at += got; }
        return into;
    }
    async Task SendAll(Socket s)
    {
        for (int at = 0; at < Size; at += 100_000) await s.SendAsync(payload.AsMemory(at, Math.Min(100_000, Size - at)), SocketFlags.None);
    }
    var toB = ReceiveAll(b);
    var toA = ReceiveAll(a);
    Task.WaitAll(SendAll(a), SendAll(b));
    Probe.Check("8 MiB each way at once arrive whole (FNV-1a checksum)",
        toA.Wait(60_000) && toB.Wait(60_000) && Checksum(toA.Result) == expected && Checksum(toB.Result) == expected);
}

// --- many connections at once, each echoed ---
using (var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
{
    listener.Bind(new UnixDomainSocketEndPoint(Name("many")));
    listener.Listen(128);
    const int Count = 100;
    var serving = Task.Run(async () =>
    {
        var echoes = new List<Task>();
        for (int i = 0; i < Count; i++)
        {
            Socket s = await listener.AcceptAsync();
            echoes.Add(Task.Run(async () =>
            {
                var buffer = new byte[16];
                int n = await s.ReceiveAsync(buffer, SocketFlags.None);
                await s.SendAsync(buffer.AsMemory(0, n), SocketFlags.None);
                s.Dispose();
            }));
        }
        await Task.WhenAll(echoes);
    });
    var clients = Enumerable.Range(0, Count).Select(async i =>
    {
        using var c = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await c.ConnectAsync(listener.LocalEndPoint!);
        var message = Encoding.ASCII.GetBytes($"n{i}");
        await c.SendAsync(message, SocketFlags.None);
        var buffer = new byte[16];
        int n = await c.ReceiveAsync(buffer, SocketFlags.None);
        return Encoding.ASCII.GetString(buffer, 0, n) == $"n{i}";
    }).ToArray();
    bool all = Task.WaitAll(clients, 60_000) && clients.All(t => t.Result) && serving.Wait(60_000);
    Probe.Check($"{Count} concurrent connections each get their own echo", all);
}

// --- datagrams ---
using (var first = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified))
using (var second = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified))
{
    var firstName = new UnixDomainSocketEndPoint(Name("dgram-a"));
    var secondName = new UnixDomainSocketEndPoint(Name("dgram-b"));
    first.Bind(firstName);
    second.Bind(secondName);
    first.SendTo(Encoding.ASCII.GetBytes("one"), secondName);
    first.SendTo(Encoding.ASCII.GetBytes("two!"), secondName);
    var buffer = new byte[64];
    EndPoint from = new UnixDomainSocketEndPoint(Name("placeholder"));
    int n1 = second.ReceiveFrom(buffer, ref from);
    string m1 = Encoding.ASCII.GetString(buffer, 0, n1);
    Probe.Check("datagrams keep their boundaries and order", m1 == "one" && Encoding.ASCII.GetString(buffer, 0, second.Receive(buffer)) == "two!");
    Probe.Check("a datagram names its sender", from.ToString() == firstName.ToString());
    first.SendTo(new byte[100], secondName);
    var small = new byte[10];
    int truncated = second.Receive(small);
    Probe.Check("a short buffer truncates a datagram to its size", truncated == 10);
    Probe.Check("the rest of a truncated datagram is gone", second.Available == 0);
}

// --- the raw calls: socketpair, peek, non-blocking, shutdown, options, EPIPE ---
unsafe
{
    int* pair = stackalloc int[2];
    Probe.Check("socketpair(AF_UNIX, SOCK_STREAM) gives two descriptors", Libc.socketpair(1, 1, 0, pair) == 0);
    int x = pair[0], y = pair[1];
    byte* data = stackalloc byte[16];
    data[0] = (byte)'h'; data[1] = (byte)'i';
    Libc.send(x, data, 2, 0);
    byte* into = stackalloc byte[16];
    Probe.Check("MSG_PEEK reads without taking", Libc.recv(y, into, 16, 2) == 2 && Libc.recv(y, into, 16, 0) == 2 && into[1] == (byte)'i');
    Probe.Check("MSG_DONTWAIT on an empty socket fails with EAGAIN", Libc.recv(y, into, 16, 0x40) == -1 && Marshal.GetLastPInvokeError() == 11);
    int type = 0, length = 4;
    Probe.Check("SO_TYPE is SOCK_STREAM", Libc.getsockopt(x, 1, 3, &type, &length) == 0 && type == 1 && length == 4);
    int flag = 1;
    Libc.setsockopt(x, 1, 9, &flag, 4);
    int readBack = 0; length = 4;
    Probe.Check("SO_KEEPALIVE reads back as set", Libc.getsockopt(x, 1, 9, &readBack, &length) == 0 && readBack == 1);
    Libc.send(x, data, 5, 0);
    int waiting = 0;
    Probe.Check("FIONREAD counts the bytes waiting", Libc.ioctl(y, 0x541b, &waiting) == 0 && waiting == 5);
    Probe.Check("shutdown(SHUT_RD) then a read returns the data, then 0", Libc.shutdown(y, 0) == 0 && Libc.recv(y, into, 16, 0) == 5 && Libc.recv(y, into, 16, 0) == 0);
    Libc.close(y);
    Probe.Check("sending to a closed peer with MSG_NOSIGNAL fails with EPIPE", Libc.send(x, data, 1, 0x4000) == -1 && Marshal.GetLastPInvokeError() == 32);
    Probe.Check("a socket whose peer closed is not a socket of another kind", Libc.getsockopt(x, 1, 3, &type, &length) == 0 && type == 1);
    Libc.close(x);
    int notSocket = Libc.eventfd(0, 0);
    Probe.Check("a socket call on an eventfd fails with ENOTSOCK", Libc.shutdown(notSocket, 2) == -1 && Marshal.GetLastPInvokeError() == 88);
    Libc.close(notSocket);
    Probe.Check("socketpair(AF_INET) fails with EOPNOTSUPP", Libc.socketpair(2, 1, 0, pair) == -1 && Marshal.GetLastPInvokeError() == 95);
}
// --- names: localhost and numeric addresses resolve without a name server ---
Probe.Check("localhost resolves to 127.0.0.1", Dns.GetHostAddresses("localhost").Contains(IPAddress.Loopback));
Probe.Check("a numeric address resolves to itself", Dns.GetHostAddresses("127.0.0.1").SequenceEqual([IPAddress.Loopback]));
return Probe.Finish("sockets");

static ulong Checksum(byte[] data)
{
    ulong hash = 14695981039346656037;
    foreach (byte b in data) hash = (hash ^ b) * 1099511628211;
    return hash;
}

static unsafe class Libc
{
    [DllImport("libc", SetLastError = true)] public static extern int socketpair(int domain, int type, int protocol, int* fds);
    [DllImport("libc", SetLastError = true)] public static extern nint send(int fd, void* buffer, nuint length, int flags);
    [DllImport("libc", SetLastError = true)] public static extern nint recv(int fd, void* buffer, nuint length, int flags);
    [DllImport("libc", SetLastError = true)] public static extern int getsockopt(int fd, int level, int name, void* value, int* length);
    [DllImport("libc", SetLastError = true)] public static extern int setsockopt(int fd, int level, int name, void* value, int length);
    [DllImport("libc", SetLastError = true)] public static extern int ioctl(int fd, ulong request, void* argument);
    [DllImport("libc", SetLastError = true)] public static extern int shutdown(int fd, int how);
    [DllImport("libc", SetLastError = true)] public static extern int close(int fd);
    [DllImport("libc", SetLastError = true)] public static extern int eventfd(uint initial, int flags);
}
