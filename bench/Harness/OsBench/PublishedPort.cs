using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Libra.Bench.OsBench;

// The published-port row, measured from the host: after its rows, `osbench --serve` echoes one TCP
// connection on its port, reached from the host's 127.0.0.1:hostPort (natively the port itself; QEMU
// user networking's hostfwd in the Linux guest; the Side daemon's publish on Libra), and marks
// DIR/serving while it listens. This client waits for the mark, times one-byte round trips in batches
// as the probe times its own rows, then closes the connection, which ends the probe.
public static class PublishedPort
{
    public const string Row = "published_port_pingpong_round_trip";
    const int Batch = 10;

    // The row, or null when the probe finished without serving (it failed, or the marker never came).
    public static async Task<ProbeRow?> MeasureAsync(string scratch, int hostPort, bool smoke, Task probe, CancellationToken ct)
    {
        string marker = Path.Combine(scratch, "serving");
        while (!File.Exists(marker))
        {
            if (probe.IsCompleted) return null;
            await Task.Delay(50, ct);
        }
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, hostPort), ct);
        var ball = new byte[1];
        async Task RoundTrips(int n)
        {
            for (int i = 0; i < n; i++)
            {
                await socket.SendAsync(ball, SocketFlags.None, ct);
                if (await socket.ReceiveAsync(ball, SocketFlags.None, ct) != 1) throw new IOException("the probe closed the published port's connection");
            }
        }
        await RoundTrips(Batch);   // warm-up
        var budget = TimeSpan.FromMilliseconds(smoke ? 20 : 500);
        int most = smoke ? 20 : 1000;
        var samples = new List<double>();
        var clock = Stopwatch.StartNew();
        while (samples.Count < most && (samples.Count < 5 || clock.Elapsed < budget))
        {
            long start = Stopwatch.GetTimestamp();
            await RoundTrips(Batch);
            samples.Add(Stopwatch.GetElapsedTime(start).TotalNanoseconds / Batch);
        }
        socket.Shutdown(SocketShutdown.Both);
        samples.Sort();
        // The probe's own rule (osbench.c `report`): the median and the 99th percentile of the batches.
        return new ProbeRow(Row, samples[samples.Count / 2], samples[Math.Min(samples.Count * 99 / 100, samples.Count - 1)], samples.Count, 0);
    }
}
