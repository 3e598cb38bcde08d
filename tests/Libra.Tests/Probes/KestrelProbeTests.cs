using System.Net.Sockets;
using Libra.Qemu;
using Libra.Tests.Boot;
using Xunit;

namespace Libra.Tests.Probes;

// Kestrel itself (Apps/Probes/Kestrel) answering HTTP/1.1 keep-alive requests that this test sends
// from the host: natively to the port the probe listens on, on Libra to the host port the Side daemon
// publishes the guest's port on. Both runs must give the client the same answers and print the same
// lines, all the requests on one connection; one request has the probe's own HttpClient fetch a page
// from a server this test runs on the host (on Libra an outbound connection through the Side).
[Collection("qemu")]
public class KestrelProbeTests
{
    private const int GuestPort = 5641;
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(4);
    private static readonly Dictionary<string, string> NoEnvironment = new();

    [Fact]
    public async Task Kestrel_answers_keep_alive_requests_from_the_host_on_Libra_as_natively()
    {
        string binary = Path.Combine(ProbeArtifacts.Directory, "kestrel");
        string expected = File.ReadAllText(Path.Combine(ProbeCatalog.RepositoryRoot, "tests/Libra.Tests/Probes/expected/kestrel.stdout"));

        using var host = HostServer.Start();
        int nativePort = Side.SideGuest.FreePort();
        var native = Task.Run(() => ProbeProcess.Run(binary, [nativePort.ToString()], NoEnvironment, ProbeArtifacts.Directory, Patience));
        string nativeAnswers = await Client.DriveAsync(nativePort, native, host.Port);
        ProbeResult nativeRun = await native;
        Assert.True(nativeRun.ExitStatus == 0, nativeRun.ToString());
        Assert.Equal(expected, nativeRun.Stdout);

        int hostPort = Side.SideGuest.FreePort();
        var machine = new QemuMachine
        {
            KernelImage = LibraBoot.KernelImage,
            Memory = "512M",
            InitialRamDisk = binary,
            Network = new NetworkOptions([$"{hostPort}:{GuestPort}"], Outbound: true),
            CommandLine = AppCommandLine.Build("", binary, [], [GuestPort.ToString()], false),
        };
        var libra = BootRun.RunAsync(machine, Patience);
        string libraAnswers = await Client.DriveAsync(hostPort, libra, host.Port);
        BootResult libraRun = await libra;
        Assert.True(libraRun.GuestStatus == 0, libraRun.Output + "\n" + libraRun.Stderr + "\n" + libraRun.NetworkLog);
        Assert.Equal(nativeAnswers, libraAnswers);
        Assert.Equal(expected, libraRun.Stdout);
    }

    // A plain HTTP/1.1 server on the host's loopback for the probe's HttpClient to reach (natively
    // directly, on Libra through the Side with -Net outbound): one fixed answer per connection.
    private sealed class HostServer : IDisposable
    {
        private readonly TcpListener _listener = new(System.Net.IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        internal int Port => ((System.Net.IPEndPoint)_listener.LocalEndpoint).Port;

        internal static HostServer Start()
        {
            var server = new HostServer();
            server._listener.Start();
            _ = server.ServeAsync();
            return server;
        }

        private async Task ServeAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient client;
                try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
                catch (Exception) { return; }
                _ = Task.Run(async () =>
                {
                    using (client)
                    {
                        var stream = client.GetStream();
                        var request = new byte[4096];
                        int n = 0;
                        while (n < request.Length && !System.Text.Encoding.ASCII.GetString(request, 0, n).Contains("\r\n\r\n"))
                        {
                            int got = await stream.ReadAsync(request.AsMemory(n));
                            if (got == 0) return;
                            n += got;
                        }
                        byte[] answer = System.Text.Encoding.ASCII.GetBytes(
                            $"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 20\r\nConnection: close\r\n\r\nhello from the host\n");
                        await stream.WriteAsync(answer);
                    }
                });
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
        }
    }

    // The host's side of the conversation: one HttpClient holding at most one connection, so every
    // request after the first rides the kept-alive connection; the answers as text to compare.
    private static class Client
    {
        internal static async Task<string> DriveAsync(int port, Task server, int hostServerPort)
        {
            (await Side.GuestListener.ConnectWhenListening(port, server, Patience)).Dispose();
            using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 1, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(10) };
            using var http = new HttpClient(handler) { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromMinutes(2) };
            var answers = new List<string>();
            async Task Get(string path, Func<byte[], string>? describe = null)
            {
                using var response = await http.GetAsync(path);
                byte[] body = await response.Content.ReadAsByteArrayAsync();
                answers.Add($"GET {path}: {(int)response.StatusCode} {(describe ?? Text)(body)}");
            }
            for (int i = 0; i < 3; i++) await Get("/hello");
            for (int i = 0; i < 3; i++) await Get("/connection");
            await Get("/download?bytes=3000000", body => $"{body.Length} bytes, pattern {(IsPattern(body) ? "intact" : "BROKEN")}");
            var upload = new byte[2_000_000];
            for (int i = 0; i < upload.Length; i++) upload[i] = (byte)(i % 253);
            using (var response = await http.PostAsync("/upload", new ByteArrayContent(upload)))
                answers.Add($"POST /upload: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            await Get($"/fetch?port={hostServerPort}");
            await Get("/missing");
            await Get("/connection");
            await Get("/quit");
            return string.Join("\n", answers);
        }

        private static string Text(byte[] body) => System.Text.Encoding.UTF8.GetString(body);

        private static bool IsPattern(byte[] body)
        {
            for (int i = 0; i < body.Length; i++)
                if (body[i] != (byte)(i * 7 % 251)) return false;
            return true;
        }
    }
}
