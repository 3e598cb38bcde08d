using System.Net.Sockets;
using Libra.Qemu;
using Libra.Shims.Net;
using Libra.Tests.Boot;
using Libra.Tests.Probes;
using Xunit;

namespace Libra.Tests.Side;

// The Linux side failing under a running application (issue 9's faults): the Side daemon killed in
// the middle of a transfer, and garbage where the Side's frames should be. The application gets
// errors it knows (ECONNRESET, EPIPE, ENETDOWN), goes on and exits normally; the kernel logs the
// cause once and never panics.
[Collection("qemu")]
public class SideFaultTests
{
    private const int GuestPort = 5642;
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task Killing_the_Side_mid_transfer_resets_the_connection_and_the_program_goes_on()
    {
        int hostPort = SideGuest.FreePort();
        var boot = BootRun.RunAsync(NetworkProbe("--until-reset", hostPort), Patience);

        using var client = await GuestListener.ConnectWhenListening(hostPort, boot, Patience);
        // The probe says "r" once it has accepted: killing the Side before that would kill its
        // listener instead of its connection.
        var ready = new byte[1];
        Assert.Equal(1, await client.ReceiveAsync(ready.AsMemory()).AsTask().WaitAsync(Patience));
        var chunk = new byte[64 * 1024];
        long sent = 0;
        while (sent < 4 << 20) sent += await client.SendAsync(chunk);     // the transfer is under way
        KillSide(hostPort);
        try { while (true) await client.SendAsync(chunk); }
        catch (SocketException) { }                                       // the host end goes too

        BootResult result = await boot;
        string context = result.Output + "\n--- stdout\n" + result.Stdout + "\n--- stderr\n" + result.Stderr;
        Assert.True(result.GuestStatus == 0, context);
        Assert.Equal(
            "the read ended with: ConnectionReset\n" +
            "a send afterwards fails with: Shutdown\n" +        // EPIPE, without SIGPIPE (.NET sends with MSG_NOSIGNAL)
            "a new socket's connect fails with: NetworkDown\n" +
            "the program still runs\n", result.Stdout);
        Assert.Single(result.Lines, l => l.Text.Contains("side: the link to the Side daemon closed: every socket is reset"));
        Assert.DoesNotContain("PANIC", result.Output);
    }

    [Fact]
    public async Task A_sender_faster_than_the_application_reads_holds_guest_memory_to_the_window()
    {
        int hostPort = SideGuest.FreePort();
        var boot = BootRun.RunAsync(NetworkProbe("--slow-reader", hostPort), Patience);
        const int Size = 32 << 20;
        using (var client = await GuestListener.ConnectWhenListening(hostPort, boot, Patience))
        {
            var chunk = new byte[256 * 1024];
            for (int sent = 0; sent < Size; sent += chunk.Length) await client.SendAsync(chunk);
            client.Shutdown(SocketShutdown.Send);
        }
        BootResult result = await boot;
        string context = result.Output + "\n--- stdout\n" + result.Stdout + "\n--- stderr\n" + result.Stderr;
        Assert.True(result.GuestStatus == 0, context);
        Assert.Equal($"read {Size} bytes after a pause\n", result.Stdout);
        var report = LinkExitReport.In(result.Output);
        Assert.True(report is not null, context);
        long grown = report.HeapPeakKiB - report.HeapAtLinkKiB;
        // The window is 256 KiB (in 2 KiB blocks holding 2,016 bytes each); the rest is the runtime's.
        Assert.True(grown < 1024, $"the kernel heap peaked {grown} KiB above where it was when the link came up\n" + context);
    }

    [Fact]
    public async Task A_flood_of_garbage_frames_on_the_Side_port_is_dropped_without_a_panic()
    {
        string sockets = Path.Combine(Path.GetTempPath(), "libra-garbage-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(sockets);
        try
        {
            string path = Path.Combine(sockets, "net.sock");
            using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(path));
            listener.Listen(1);
            using var cancel = new CancellationTokenSource(Patience);
            var impostor = Impostor(listener, cancel.Token);
            var machine = NetworkProbe("--connect-once", ports: [new SerialPortSocket(SideProcess.PortName, path)]);
            BootResult result = await BootRun.RunAsync(machine, Patience);
            string context = result.Output + "\n--- stdout\n" + result.Stdout + "\n--- stderr\n" + result.Stderr;
            Assert.True(impostor.IsCompleted, "the garbage was not all sent\n" + context);
            await impostor;
            Assert.True(result.GuestStatus == 0, context);
            Assert.Equal("the program still runs\n", result.Stdout);
            Assert.Contains("side: the link's frames are out of step", result.Output);
            Assert.DoesNotContain("PANIC", result.Output);
        }
        finally
        {
            Directory.Delete(sockets, recursive: true);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task A_Side_whose_frames_are_mutated_costs_sockets_or_the_link_but_never_the_kernel(int seed)
    {
        // One in fifty of the Side's frames mutated (SideFrameFuzzer), under the network probe's own
        // traffic (TCP over 127.0.0.1 through the Side); after 3,000 frames or 20 s the link is put out
        // of step, so a program waiting on a lost frame is released by the reset.
        var fuzzer = new SideFrameFuzzer(seed, 0.02, breakAfter: 3000, breakAfterTime: TimeSpan.FromSeconds(20));
        string network = Path.Combine(ProbeArtifacts.Directory, "network");
        var machine = new QemuMachine
        {
            KernelImage = LibraBoot.KernelImage, InitialRamDisk = network, SideRelay = fuzzer.Relay,
            Network = new NetworkOptions([$"{SideGuest.FreePort()}:{GuestPort}"], Outbound: false),
            CommandLine = AppCommandLine.Build("", network, [], [GuestPort.ToString(), "--transfer", "1", "--concurrent", "4", "--cycles", "20"], false),
        };
        BootResult result = await BootRun.RunAsync(machine, Patience);
        string context = $"{fuzzer.Frames} frames, {fuzzer.Mutated} mutated\n" + result.Output + "\n--- stdout\n" + result.Stdout + "\n--- stderr\n" + result.Stderr;
        Assert.DoesNotContain("PANIC", result.Output);
        Assert.True(fuzzer.Frames > 20 && fuzzer.Mutated > 0, context);
        // The program ended by itself (its own status, or a signal's 128+N), not the kernel (125) or a reset (124).
        Assert.True(result.GuestStatus is not (QemuMachine.NoStatusExitCode or 125 or QemuMachine.QemuFailedExitCode), context);
    }

    // The network probe in one of its fault modes, its port published on hostPort by a Side, or
    // with `ports` instead (what plays the Side on the libra.net port is then the caller's).
    private static QemuMachine NetworkProbe(string mode, int? hostPort = null, IReadOnlyList<SerialPortSocket>? ports = null)
    {
        string network = Path.Combine(ProbeArtifacts.Directory, "network");
        return new QemuMachine
        {
            KernelImage = LibraBoot.KernelImage,
            InitialRamDisk = network,
            Network = hostPort is int port ? new NetworkOptions([$"{port}:{GuestPort}"], Outbound: false) : null,
            SerialPorts = ports ?? [],
            CommandLine = AppCommandLine.Build("", network, [], [GuestPort.ToString(), mode], false),
        };
    }

    // Plays the Side just enough to be linked (a proper reply to HELLO), then sends thousands of frames
    // of every type with random sockets, tags, flags and payloads, and at last a size field that no
    // frame can have.
    private static async Task Impostor(Socket listener, CancellationToken cancel)
    {
        using var link = await listener.AcceptAsync(cancel);
        var header = new byte[SideProtocol.HeaderSize];
        await ReadExactly(link, header, cancel);
        int length = BitConverter.ToInt32(header, 0);
        await ReadExactly(link, new byte[length - SideProtocol.HeaderSize], cancel);
        uint tag = BitConverter.ToUInt32(header, 12);
        var reply = new byte[256];
        var terms = new SideHelloReply { Version = SideProtocol.Version, Capabilities = SideProtocol.CapIPv4, MaxPayload = SideProtocol.MaxPayload, TxWindow = 64 * 1024 };
        int replyLength = SideCodec.HelloReply(reply, tag, in terms);
        await link.SendAsync(reply.AsMemory(0, replyLength), cancel);
        var drain = DrainAsync(link, cancel);

        var random = new Random(20261203);
        ushort[] types = [1, 2, 8, 10, 14, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x7fff, 0];
        uint[] sockets = [0, 1, 2, 3, SideProtocol.FirstSideId, SideProtocol.FirstSideId + 1, uint.MaxValue];
        for (int i = 0; i < 3000; i++)
        {
            int payload = random.Next(4) == 0 ? random.Next(0, 70_000) : random.Next(0, 64);
            payload = Math.Min(payload, SideProtocol.MaxPayload);
            var frame = new byte[SideProtocol.HeaderSize + payload];
            random.NextBytes(frame);
            BitConverter.TryWriteBytes(frame.AsSpan(0, 4), (uint)frame.Length);
            BitConverter.TryWriteBytes(frame.AsSpan(4, 2), types[random.Next(types.Length)]);
            BitConverter.TryWriteBytes(frame.AsSpan(8, 4), sockets[random.Next(sockets.Length)]);
            await link.SendAsync(frame, cancel);
        }
        var broken = new byte[SideProtocol.HeaderSize];
        BitConverter.TryWriteBytes(broken.AsSpan(0, 4), 3u);
        await link.SendAsync(broken, cancel);
        await drain;
    }

    private static async Task DrainAsync(Socket link, CancellationToken cancel)
    {
        var buffer = new byte[64 * 1024];
        try { while (await link.ReceiveAsync(buffer, cancel) > 0) { } }
        catch (SocketException) { }
        catch (OperationCanceledException) { }
    }

    private static async Task ReadExactly(Socket socket, byte[] into, CancellationToken cancel)
    {
        for (int at = 0; at < into.Length;)
        {
            int n = await socket.ReceiveAsync(into.AsMemory(at), cancel);
            if (n == 0) throw new EndOfStreamException("the guest closed the Side port");
            at += n;
        }
    }

    // The Side daemon this test's machine started: the process whose command line publishes hostPort.
    private static void KillSide(int hostPort)
    {
        foreach (string dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            string commandLine;
            try { commandLine = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' '); }
            catch (IOException) { continue; }
            catch (UnauthorizedAccessException) { continue; }
            if (!commandLine.Contains("Side", StringComparison.OrdinalIgnoreCase) || !commandLine.Contains($"{hostPort}:{GuestPort}")) continue;
            System.Diagnostics.Process.GetProcessById(pid).Kill();
            return;
        }
        throw new InvalidOperationException($"no Side daemon publishing host port {hostPort} was found");
    }
}
