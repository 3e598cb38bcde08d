using System.Net;
using System.Net.Sockets;
using System.Text;
using Libra.Probes;

// TCP over loopback as a .NET service and its clients see it: a listener on 127.0.0.1:PORT (argv[1],
// default 5640), clients connecting to it, data both ways, 4 MiB each way with a checksum, many
// connections at once, half-close, an abortive close (RST), a refused connect, socket options and
// names; then UDP (Udp.cs). On Libra the listener is a host socket the Side daemon owns (run -Publish
// HOST:PORT and HOST:PORT/udp) and the clients reach it through the Side's guest loopback; natively
// it is all the host's. Same output. Options scale the heavy parts: --transfer MIB (each way at once,
// default 4), --concurrent N (connections open at once, default 50), --cycles N (connect/close,
// default 200). Throughput and rates go to stderr as "figure:" lines, never to stdout.
if (args is ["--resolve", var resolved]) return ResolveName.Run(resolved);
if (args is ["--udp-echo", var echoPort]) return UdpChecks.Echo(int.Parse(echoPort));
int port = args.Length > 0 ? int.Parse(args[0]) : 5640;
if (args.Contains("--until-reset")) return Faults.UntilReset(port);
if (args.Contains("--connect-once")) return Faults.ConnectOnce(port);
if (args.Contains("--slow-reader")) return Faults.SlowReader(port);
int transferMiB = Option("--transfer", 4), concurrent = Option("--concurrent", 50), cycles = Option("--cycles", 200);
int Option(string name, int fallback)
{
    int at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1]) : fallback;
}
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

// MIB each way at once: a 1 MiB random pattern sent over and over, each receiver comparing every
// byte that arrives with the pattern at its offset in the stream.
(c, s) = Pair().Result;
var pattern = new byte[1 << 20];
new Random(11).NextBytes(pattern);
long total = (long)transferMiB << 20;
async Task<bool> ReceiveAll(Socket socket)
{
    var into = new byte[256 * 1024];
    long at = 0;
    bool same = true;
    while (at < total)
    {
        int got = await socket.ReceiveAsync(into.AsMemory(), SocketFlags.None);
        if (got == 0) break;
        for (int done = 0; done < got;)
        {
            int offset = (int)((at + done) % pattern.Length), step = Math.Min(got - done, pattern.Length - offset);
            same &= into.AsSpan(done, step).SequenceEqual(pattern.AsSpan(offset, step));
            done += step;
        }
        at += got;
    }
    return same && at == total;
}
async Task SendAll(Socket socket)
{
    for (int i = 0; i < transferMiB; i++)
        for (int at = 0; at < pattern.Length; at += 128 * 1024) await socket.SendAsync(pattern.AsMemory(at, 128 * 1024), SocketFlags.None);
}
var clock = System.Diagnostics.Stopwatch.StartNew();
var toS = Task.Run(() => ReceiveAll(s));
var toC = Task.Run(() => ReceiveAll(c));
Task.WaitAll(Task.Run(() => SendAll(c)), Task.Run(() => SendAll(s)));
bool whole = toS.Wait(600_000) && toC.Wait(600_000) && toS.Result && toC.Result;
Figure($"transfer: {transferMiB} MiB each way at once in {clock.Elapsed.TotalSeconds:0.00} s: {2.0 * transferMiB * 1.048576 / clock.Elapsed.TotalSeconds:0.0} MB/s both ways together");
Probe.Check($"{transferMiB} MiB each way at once arrive whole and in order", whole);
c.Dispose();
s.Dispose();

// Many connections at once, each echoed.
int Count = concurrent;
clock.Restart();
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
// A server that fails (its accept threw) ends the wait at once, with the reason, instead of leaving
// the clients waiting for echoes that cannot come.
var echoed = Task.WhenAll(clients);
Task.WaitAny([echoed, serving], 600_000);
Probe.Check($"{Count} concurrent connections each get their own echo",
    !serving.IsFaulted && echoed.Wait(600_000) && clients.All(t => t.Result) && serving.Wait(60_000),
    serving.IsFaulted ? $"the server failed: {serving.Exception!.InnerException!.GetType().Name}: {serving.Exception.InnerException.Message}" : null);
Figure($"concurrent: {Count} connections echoed in {clock.Elapsed.TotalSeconds:0.00} s");

// Connect, accept, close, over and over: descriptors (and, on Libra, the kernel's socket memory,
// which the exit report shows) come back to where they were.
int descriptorsBefore = Descriptors.Open();
clock.Restart();
for (int i = 0; i < cycles; i++)
{
    var (client, server) = Pair().Result;
    client.Dispose();
    server.Dispose();
}
Figure($"cycles: {cycles} connect/accept/close cycles in {clock.Elapsed.TotalSeconds:0.00} s: {cycles / clock.Elapsed.TotalSeconds:0} connections/s");
int descriptorsAfter = Descriptors.Open();
Probe.Check($"{cycles} connect/close cycles leave as many descriptors open as before", descriptorsAfter == descriptorsBefore,
    $"{descriptorsBefore} before, {descriptorsAfter} after");

// A peer that never reads: a non-blocking sender fills what the path can hold, then gets EAGAIN
// (WouldBlock), and the bytes all arrive once the peer reads.
(c, s) = Pair().Result;
c.Blocking = false;
var block = new byte[64 * 1024];
long queued = 0;
SocketError full = SocketError.Success;
while (queued < (1L << 30))
{
    try { queued += c.Send(block); }
    catch (SocketException e) { full = e.SocketErrorCode; break; }
}
Probe.Check("a non-blocking send to a peer that never reads ends in EAGAIN", full == SocketError.WouldBlock, $"{queued} bytes queued, then {full}");
long drained = 0;
var drain = new byte[256 * 1024];
while (drained < queued) { int got = s.Receive(drain); if (got == 0) break; drained += got; }
Probe.Check("every byte queued before EAGAIN arrives once the peer reads", drained == queued, $"{queued} queued, {drained} read");
c.Dispose();
s.Dispose();

// A refused connect.
SocketError refused = SocketError.Success;
try { using var lone = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp); lone.Connect(new IPEndPoint(IPAddress.Loopback, port + 1)); }
catch (SocketException e) { refused = e.SocketErrorCode; }
Probe.Check("connecting to a port nobody listens on is refused", refused == SocketError.ConnectionRefused);
// The same without blocking: connect gives EINPROGRESS, epoll reports the failure, SO_ERROR says why.
refused = SocketError.Success;
try { using var lone = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp); lone.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port + 1)).Wait(60_000); }
catch (AggregateException e) when (e.InnerException is SocketException inner) { refused = inner.SocketErrorCode; }
Probe.Check("a non-blocking connect to a port nobody listens on fails with ECONNREFUSED", refused == SocketError.ConnectionRefused);
listener.Dispose();
Probe.Check("closing the listener frees its descriptor", Descriptors.Open() == descriptorsBefore - 1,
    $"{descriptorsBefore} with the listener, {Descriptors.Open()} after");

// UDP on the same port number (Udp.cs).
UdpChecks.Run(port);
return Probe.Finish("network");

static void Figure(string text) => Console.Error.WriteLine("figure: " + text);
