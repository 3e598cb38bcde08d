using System.Net;
using System.Net.Sockets;

namespace Libra.Probes;

// What an application sees when the Linux side fails under it (tests/Libra.Tests/Side/SideFaultTests.cs,
// Libra only: natively there is no Side). In each case the program must go on to exit normally.
static class Faults
{
    // `network PORT --until-reset`: serves one connection on 127.0.0.1:PORT and reads from it until the
    // stream breaks (the test kills the Side daemon mid-transfer, once the "r" it sends on accepting
    // has arrived): the read must end with a reset, a send must fail rather than hang, and a new
    // socket must get a clean error.
    public static int UntilReset(int port)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
        listener.Listen(1);
        using Socket connection = listener.Accept();
        connection.Send("r"u8);     // accepted and reading: the test kills the Side only after this
        var buffer = new byte[64 * 1024];
        long total = 0;
        string ending;
        try
        {
            int n;
            while ((n = connection.Receive(buffer)) > 0) total += n;
            ending = "end of stream";
        }
        catch (SocketException e) { ending = e.SocketErrorCode.ToString(); }
        Console.Error.WriteLine($"network: {total} bytes read before the stream ended");
        Probe.Line($"the read ended with: {ending}");
        Probe.Line($"a send afterwards fails with: {Failure(() => connection.Send(buffer))}");
        Probe.Line($"a new socket's connect fails with: {Failure(() =>
        {
            using var fresh = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            fresh.Connect(new IPEndPoint(IPAddress.Loopback, port));
        })}");
        Probe.Line("the program still runs");
        return 0;
    }

    // `network PORT --slow-reader`: serves one connection on 127.0.0.1:PORT but reads nothing for 3 s
    // while the test sends as fast as it can, then reads it all: the bytes held meanwhile are bounded
    // by the window the guest granted, which the kernel's exit report (its heap peak) shows.
    public static int SlowReader(int port)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
        listener.Listen(1);
        using Socket connection = listener.Accept();
        Thread.Sleep(3000);
        var buffer = new byte[64 * 1024];
        long total = 0;
        int n;
        while ((n = connection.Receive(buffer)) > 0) total += n;
        Probe.Line($"read {total} bytes after a pause");
        return 0;
    }

    // `network PORT --connect-once`: one connect to 127.0.0.1:PORT while something that is not the Side
    // answers on its port (the test floods it with garbage frames); whatever the outcome, no panic.
    public static int ConnectOnce(int port)
    {
        Console.Error.WriteLine($"network: the connect ended with: {Failure(() =>
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Connect(new IPEndPoint(IPAddress.Loopback, port));
        })}");
        Probe.Line("the program still runs");
        return 0;
    }

    static string Failure(Action action)
    {
        try { action(); return "nothing"; }
        catch (SocketException e) { return e.SocketErrorCode.ToString(); }
    }
}
