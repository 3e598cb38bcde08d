using System.Net;
using System.Net.Sockets;
using System.Text;
using Libra.Probes;

// TCP over loopback as a .NET service and its clients see it: a listener on 127.0.0.1:PORT (argv[1],
// default 5640), clients connecting to it, data both ways, 4 MiB each way with a checksum, many
// connections at once, half-close, an abortive close (RST), a refused connect, socket options and
// names; then UDP (Udp.cs). On Libra the listener is a host socket the Side daemon owns (run -Publish
// HOST:PORT and HOST:PORT/udp) and the clients reach it through the Side's guest loopback; natively
// it is all the host's. Same output.
if (args is ["--resolve", var resolved]) return ResolveName.Run(resolved);
if (args is ["--udp-echo", var echoPort]) return UdpChecks.Echo(int.Parse(echoPort));
int port = args.Length > 0 ? int.Parse(args[0]) : 5640;
var endpoint = new IPEndPoint(IPAddress.Loopback, port);
using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
listener.Bind(endpoint);
listener.Listen(512);
Probe.Check("a listener binds 127.0.0.1 and listens", listener.IsBound && ((IPEndPoint)listener.LocalEndPoint!).Port == port);

async Task<(Socket Client, Socket Server)> Pair()
{
    var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    var accepting = listener.AcceptAsync();
    await client.ConnectAsync(endpoint);
    return (client, await accepting);
}

var (c, s) = Pair().Result;
Probe.Check("connect and accept meet", c.Connected && s.Connected);
Probe.Check("the client's peer is the listener's address", ((IPEndPoint)c.RemoteEndPoint!).Equals(endpoint));
Probe.Check("the accepted socket's peer is 127.0.0.1", ((IPEndPoint)s.RemoteEndPoint!).Address.Equals(IPAddress.Loopback));
c.NoDelay = true;
Probe.Check("TCP_NODELAY reads back as set", c.NoDelay);
var buffer = new byte[64];
c.Send(Encoding.ASCII.GetBytes("ping"));
int n = s.ReceiveAsync(buffer.AsMemory(), SocketFlags.None).AsTask().Result;
Probe.Check("bytes sent by the client arrive at the server", Encoding.ASCII.GetString(buffer, 0, n) == "ping");
s.Send(Encoding.ASCII.GetBytes("pong"));
n = c.Receive(buffer);
Probe.Check("bytes sent by the server arrive at the client", Encoding.ASCII.GetString(buffer, 0, n) == "pong");
var waiting = s.ReceiveAsync(buffer.AsMemory(), SocketFlags.None).AsTask();
Thread.Sleep(50);
Probe.Check("a receive waits while nothing has arrived", !waiting.IsCompleted);
c.Send(Encoding.ASCII.GetBytes("late"));
Probe.Check("a waiting receive completes when bytes arrive", waiting.Wait(10_000) && waiting.Result == 4);
c.Shutdown(SocketShutdown.Send);
Probe.Check("after the client's shutdown(SHUT_WR) the server reads 0", s.ReceiveAsync(buffer.AsMemory(), SocketFlags.None).AsTask().Wait(10_000) && s.Available == 0);
s.Send(Encoding.ASCII.GetBytes("still"));
n = c.Receive(buffer);
Probe.Check("the other direction still works after a half-close", Encoding.ASCII.GetString(buffer, 0, n) == "still");
s.Dispose();
Probe.Check("after the server closes the client reads 0", c.Receive(buffer) == 0);
c.Dispose();

// An abortive close (linger 0): the peer sees a reset.
(c, s) = Pair().Result;
c.LingerState = new LingerOption(true, 0);
c.Dispose();
SocketError reset = SocketError.Success;
try { while (s.Receive(buffer) > 0) { } }
catch (SocketException e) { reset = e.SocketErrorCode; }
Probe.Check("after a close with linger 0 the peer gets ECONNRESET", reset == SocketError.ConnectionReset);
s.Dispose();

// 4 MiB each way at once.
(c, s) = Pair().Result;
const int Size = 4 << 20;
var payload = new byte[Size];
new Random(11).NextBytes(payload);
ulong expected = Checksum(payload);
async Task<byte[]> ReceiveAll(Socket socket)
{
    var into = new byte[Size];
    int at = 0;
    while (at < Size) { int got = await socket.ReceiveAsync(into.AsMemory(at), SocketFlags.None); if (got == 0) break; at += got; }
    return into;
}
async Task SendAll(Socket socket)
{
    for (int at = 0; at < Size; at += 100_000) await socket.SendAsync(payload.AsMemory(at, Math.Min(100_000, Size - at)), SocketFlags.None);
}
var toS = ReceiveAll(s);
var toC = ReceiveAll(c);
Task.WaitAll(SendAll(c), SendAll(s));
Probe.Check("4 MiB each way at once arrive whole (FNV-1a checksum)",
    toS.Wait(120_000) && toC.Wait(120_000) && Checksum(toS.Result) == expected && Checksum(toC.Result) == expected);
c.Dispose();
s.Dispose();

// Many connections at once, each echoed.
const int Count = 50;
var serving = Task.Run(async () =>
{
    var echoes = new List<Task>();
    for (int i = 0; i < Count; i++)
    {
        Socket accepted = await listener.AcceptAsync();
        echoes.Add(Task.Run(async () =>
        {
            var b = new byte[16];
            int got = await accepted.ReceiveAsync(b.AsMemory(), SocketFlags.None);
            await accepted.SendAsync(b.AsMemory(0, got), SocketFlags.None);
            accepted.Dispose();
        }));
    }
    await Task.WhenAll(echoes);
});
var clients = Enumerable.Range(0, Count).Select(async i =>
{
    using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    await client.ConnectAsync(endpoint);
    await client.SendAsync(Encoding.ASCII.GetBytes($"n{i}").AsMemory(), SocketFlags.None);
    var b = new byte[16];
    int got = await client.ReceiveAsync(b.AsMemory(), SocketFlags.None);
    return Encoding.ASCII.GetString(b, 0, got) == $"n{i}";
}).ToArray();
Probe.Check($"{Count} concurrent connections each get their own echo", Task.WaitAll(clients, 120_000) && clients.All(t => t.Result) && serving.Wait(60_000));

// A refused connect.
SocketError refused = SocketError.Success;
try { using var lone = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp); lone.Connect(new IPEndPoint(IPAddress.Loopback, port + 1)); }
catch (SocketException e) { refused = e.SocketErrorCode; }
Probe.Check("connecting to a port nobody listens on is refused", refused == SocketError.ConnectionRefused);

// UDP on the same port number (Udp.cs).
UdpChecks.Run(port);
return Probe.Finish("network");

static ulong Checksum(byte[] data)
{
    ulong hash = 14695981039346656037;
    foreach (byte b in data) hash = (hash ^ b) * 1099511628211;
    return hash;
}
