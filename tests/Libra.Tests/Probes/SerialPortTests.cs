using System.Net.Sockets;
using Libra.Qemu;
using Libra.Tests.Boot;
using Xunit;

namespace Libra.Tests.Probes;

// virtio-serial with several named ports: diod's "libra.9p" (the files probe works on it), "libra.echo"
// claimed by the serial-echo self-test (which sends every Side-framed frame back), and "libra.spare",
// which nobody claims here and which must stay out of the way. Both with completions by interrupt
// and with libra.virtio=poll.
[Collection("qemu")]
public class SerialPortTests
{
    const int HeaderSize = 16, MaxFrame = HeaderSize + 65536;

    // A Side frame (sockets.md §3.2): len[4] type[2] flags[2] sock[4] tag[4], then payload.
    static byte[] Frame(int payload, uint tag, Random random)
    {
        var frame = new byte[HeaderSize + payload];
        BitConverter.TryWriteBytes(frame.AsSpan(0, 4), (uint)frame.Length);
        BitConverter.TryWriteBytes(frame.AsSpan(4, 2), (ushort)3);
        BitConverter.TryWriteBytes(frame.AsSpan(8, 4), 0x80000000u + tag);
        BitConverter.TryWriteBytes(frame.AsSpan(12, 4), tag);
        random.NextBytes(frame.AsSpan(HeaderSize));
        return frame;
    }

    static Socket Listen(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));
        socket.Listen(1);
        return socket;
    }

    // The test's end of "libra.echo": batches of frames (at most the echo's 8 buffers each), written
    // in random pieces, must come back byte for byte; then a frame with an unbelievable length, then
    // the close. Returns how many frames came back.
    static async Task<int> Converse(Socket listener, CancellationToken cancel)
    {
        using var connection = await listener.AcceptAsync(cancel);
        using var stream = new NetworkStream(connection, ownsSocket: false);
        var random = new Random(9);
        int[] sizes = [0, 1, 15, 16, 100, 4080, 4096, 5000, 65536, 30000, 7, 12000, 65536 - 1, 2, 3000, 999];
        int echoed = 0;
        for (int batch = 0; batch < sizes.Length; batch += 4)
        {
            var frames = sizes.Skip(batch).Take(4).Select((size, i) => Frame(size, (uint)(batch + i + 1), random)).ToList();
            byte[] sent = frames.SelectMany(f => f).ToArray();
            for (int at = 0; at < sent.Length;)
            {
                int piece = Math.Min(sent.Length - at, random.Next(1, 9000));
                await stream.WriteAsync(sent.AsMemory(at, piece), cancel);
                at += piece;
            }
            var back = new byte[sent.Length];
            await stream.ReadExactlyAsync(back, cancel);
            Assert.Equal(sent, back);
            echoed += frames.Count;
        }
        var bad = new byte[HeaderSize];
        BitConverter.TryWriteBytes(bad.AsSpan(0, 4), 8u);
        await stream.WriteAsync(bad, cancel);
        await Task.Delay(500, cancel);
        return echoed;
    }

    [Theory]
    [InlineData("")]
    [InlineData("libra.virtio=poll")]
    public async Task Ports_are_claimed_by_name_and_each_client_gets_its_own_stream_while_the_9P_port_keeps_working(string options)
    {
        ProbeCase probe = ProbeCatalog.Get("files-diod");
        WorkDirectory exported = WorkDirectory.Create(), sockets = WorkDirectory.Create();
        string echoPath = Path.Combine(sockets.Path, "echo.sock"), netPath = Path.Combine(sockets.Path, "net.sock");
        try
        {
            using var echoListener = Listen(echoPath);
            using var netListener = Listen(netPath);
            using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            var conversation = Converse(echoListener, cancel.Token);
            var netConnection = netListener.AcceptAsync(cancel.Token).AsTask();
            var machine = new QemuMachine
            {
                KernelImage = LibraBoot.KernelImage, Memory = "1G", InitialRamDisk = ProbeArtifacts.PathOf(probe),
                SharedDirectory = exported.Path, FileServer = FileServer.Diod,
                SerialPorts = [new SerialPortSocket("libra.echo", echoPath), new SerialPortSocket("libra.spare", netPath)],
                CommandLine = AppCommandLine.Build(("libra.selftest=serial-echo " + options).Trim(), ProbeArtifacts.PathOf(probe), [],
                    ["/", "--big-mib", "8"], false),
            };
            BootResult result = await BootRun.RunAsync(machine, ProbeOnLibra.Timeout);
            string context = result.Output + "\n--- stderr\n" + result.Stderr;
            Assert.True(conversation.IsCompleted, "the echo conversation did not finish\n" + context);
            int echoed = await conversation;
            (await netConnection).Dispose();

            Assert.True(result.GuestStatus == 0, context);
            Assert.Contains("8 MiB file reads back with the same checksum", result.Stdout);
            Assert.Contains("virtio-serial: port 1 is 'libra.9p'", result.Output);
            Assert.Contains("virtio-serial: port 2 is 'libra.echo'", result.Output);
            Assert.Contains("virtio-serial: port 3 is 'libra.spare'", result.Output);
            Assert.Matches(@"virtio-serial: port 1 'libra.9p' claimed", result.Output);
            Assert.Matches(@"virtio-serial: port 2 'libra.echo' claimed", result.Output);
            Assert.DoesNotContain("'libra.spare' claimed", result.Output);
            Assert.Contains("serial-echo: a frame's size field is 8 (not 16 to 65552 bytes)", result.Output);
            Assert.Contains("virtio-serial: the host closed port 2 'libra.echo'", result.Output);
            Assert.Contains($"serial-echo: {echoed} frame(s) echoed, 0 dropped", result.Output);
            Assert.DoesNotContain("PANIC", result.Output);
            string? report = result.Lines.Select(l => l.Text).LastOrDefault(t => t.Contains("virtio-serial: ") && t.Contains("completion interrupts"));
            Assert.True(report is not null, context);
            Assert.Matches(@"'libra.9p' \d+ bytes in, \d+ bytes out in \d+ writes", report);
            Assert.DoesNotContain("'libra.spare'", report);
            if (options.Contains("poll"))
            {
                Assert.Contains("completions by polling", result.Output);
                Assert.Contains("virtio-serial: 0 completion interrupts", report);
            }
            else
            {
                Assert.Matches(@"virtio-serial: PCI [0-9a-fx:.]+, \d+ port\(s\) set up, queues of \d+, completions by MSI-X interrupt", result.Output);
                Assert.Matches(@"virtio-serial: [1-9]\d* completion interrupts", report);
            }
        }
        finally
        {
            exported.Delete();
            sockets.Delete();
        }
    }
}
