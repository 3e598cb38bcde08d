using Libra.Qemu;
using Libra.Tests.Boot;
using Xunit;

namespace Libra.Tests.Probes;

// The differential suite's Libra half: each catalog probe boots on Libra (under TCG here) with the
// same arguments and environment as natively, and must print the same stdout (the expected file
// the native tests pin) and exit with the same status.
[Collection("qemu")]
public class ProbeLibraTests
{
    // Cases that need what Libra does not offer yet are listed in the catalog's Needs. "openssl" is
    // offered by exporting the host's root read-only: the static executable dlopens libssl from it.
    static readonly string[] Offered = ["openssl"];

    public static IEnumerable<object[]> Cases =>
        ProbeCatalog.All.Where(c => c.Requirements.All(Offered.Contains)).Select(c => new object[] { c.Name });

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Probe_prints_the_same_stdout_and_exit_status_on_Libra_as_natively(string name)
    {
        ProbeCase probe = ProbeCatalog.Get(name);
        BootResult result = await ProbeOnLibra.RunAsync(probe);
        string context = $"kernel log:\n{result.Output}\n--- stderr\n{result.Stderr}";
        Assert.True(ProbeCatalog.ExpectedStdout(probe) == result.Stdout,
            $"stdout differs from expected/{probe.ExpectedStdout}.stdout:\n--- got\n{result.Stdout}\n{context}");
        Assert.True(probe.ExitStatus == result.GuestStatus, $"exit status {result.GuestStatus}, expected {probe.ExitStatus}\n{context}");
        foreach (string line in probe.StderrContains) Assert.Contains(line, result.Stderr);
        Assert.DoesNotContain("PANIC", result.Output);
        if (probe.GuestPort is not null) SocketsLeaveNothingBehind(result.Output);
    }

    // A probe that closed all its sockets leaves none in the kernel, and the kernel heap where it was
    // when the link came up (give or take the runtime's own threads): connections cost memory only
    // while they are open, however many came and went.
    static void SocketsLeaveNothingBehind(string log)
    {
        var report = Side.LinkExitReport.In(log);
        Assert.True(report is { OpenSockets: 0, ReceiveBlocks: 0 }, "no clean exit report from the network link:\n" + log);
        long grown = report.HeapKiB - report.HeapAtLinkKiB;
        Assert.True(grown < 512, $"the kernel heap grew by {grown} KiB while the probe ran:\n" + log);
    }
}

public static class ProbeOnLibra
{
    public static readonly TimeSpan Timeout = TimeSpan.FromMinutes(6);

    public static async Task<BootResult> RunAsync(ProbeCase probe, bool traceSyscalls = false, string memory = "1G", WorkDirectory? directory = null,
        string kernelOptions = "", IReadOnlyList<HostMount>? mounts = null, bool readOnlyShare = false)
    {
        string binary = ProbeArtifacts.PathOf(probe);
        var environment = probe.Environment.Select(pair => $"{pair.Key}={pair.Value}");
        IEnumerable<string> args = probe.Args;
        WorkDirectory? shared = probe.WorksInDirectory ? directory ?? WorkDirectory.Create() : null;
        if (shared is not null) args = args.Prepend("/");
        bool hostRoot = probe.Requirements.Contains("openssl");
        var machine = new QemuMachine
        {
            KernelImage = LibraBoot.KernelImage,
            Memory = memory,
            InitialRamDisk = binary,
            SharedDirectory = hostRoot ? "/" : shared?.Path,
            SharedReadOnly = hostRoot || readOnlyShare,
            FileServer = probe.FileServer,
            // A probe that listens on guest port P (TCP and UDP): the Side serves P on free host ports
            // (natively the probe binds P itself), and outbound connects reach the host's loopback.
            Network = probe.GuestPort is int port
                ? new NetworkOptions([$"{Side.SideGuest.FreePort()}:{port}", $"{Side.SideGuest.FreeUdpPort()}:{port}/udp"], Outbound: true) : null,
            CommandLine = AppCommandLine.Build(kernelOptions, binary, environment, args, traceSyscalls),
            Mounts = mounts ?? [],
        };
        try { return await BootRun.RunAsync(machine, Timeout); }
        finally { if (directory is null) shared?.Delete(); }
    }
}

// Probes that work on files must also leave the same files behind, whichever server exports them.
[Collection("qemu")]
public class ProbeFileTreeTests
{
    [Theory]
    [InlineData("files")]
    [InlineData("files-diod")]
    public async Task Files_probe_leaves_the_same_tree_on_the_exported_directory_as_natively(string name)
    {
        ProbeCase probe = ProbeCatalog.Get(name);
        WorkDirectory native = WorkDirectory.Create(), exported = WorkDirectory.Create();
        try
        {
            ProbeResult nativeRun = ProbeProcess.Run(probe, directory: native.Path);
            Assert.Equal(0, nativeRun.ExitStatus);
            BootResult libraRun = await ProbeOnLibra.RunAsync(probe, directory: exported);
            Assert.True(libraRun.GuestStatus == 0, libraRun.Output + "\n" + libraRun.Stderr + "\n" + libraRun.FileServerLog);
            Assert.Equal(native.Tree(), exported.Tree());
            Assert.Contains("libra: 9p: 0 fid(s) left open at exit", libraRun.Output);
            Assert.Contains(probe.FileServer == FileServer.Diod ? "virtio-serial: PCI" : "virtio-9p: PCI", libraRun.Output);
            Assert.Contains("completions by MSI-X interrupt", libraRun.Output);
            if (probe.FileServer == FileServer.Diod) Assert.Matches(@"virtio-serial: [1-9]\d* completion interrupts; 'libra.9p' ", libraRun.Output);
            else Assert.Matches(@"virtio-9p requests, [1-9]\d* completion interrupts", libraRun.Output);
        }
        finally
        {
            native.Delete();
            exported.Delete();
        }
    }
}

// The virtqueues work without interrupts too: completions found by polling alone, on virtio-9p and
// on virtio-serial.
[Collection("qemu")]
public class PolledCompletionTests
{
    [Theory]
    [InlineData("files")]
    [InlineData("files-diod")]
    public async Task Files_probe_passes_with_virtio_completions_polled_instead_of_interrupts(string name)
    {
        ProbeCase probe = ProbeCatalog.Get(name);
        BootResult result = await ProbeOnLibra.RunAsync(probe, kernelOptions: "libra.virtio=poll");
        Assert.True(result.GuestStatus == 0, result.Output + "\n" + result.Stderr);
        Assert.Equal(ProbeCatalog.ExpectedStdout(probe), result.Stdout);
        Assert.Contains("completions by polling", result.Output);
        if (probe.FileServer == FileServer.Diod) Assert.Contains("virtio-serial: 0 completion interrupts; 'libra.9p' ", result.Output);
        else Assert.Matches(@"requests, 0 completion interrupts", result.Output);
    }
}

// What Libra itself reports about an application, beyond what the application prints.
[Collection("qemu")]
public class ApplicationReportTests
{
    [Fact]
    public async Task Death_by_signal_names_the_signal_and_address_and_logs_the_registers()
    {
        BootResult result = await ProbeOnLibra.RunAsync(ProbeCatalog.Get("exceptions-wild-call"));
        Assert.Equal(139, result.GuestStatus);
        var line = result.FirstLine("application killed by ");
        Assert.True(line is not null, result.Output);
        Assert.Contains("SIGSEGV (segmentation fault) at address 0x0000000000010000", line!.Value.Text);
        Assert.Matches(@"rip 0x0000000000010000", result.Output);
        Assert.Contains("libra:     rax 0x", result.Output);
        Assert.DoesNotContain("PANIC", result.Output);
    }

    [Fact]
    public async Task Running_out_of_memory_kills_the_application_with_a_line_that_says_so()
    {
        BootResult result = await ProbeOnLibra.RunAsync(ProbeCatalog.Get("memory"), memory: "160M");
        Assert.Equal(137, result.GuestStatus);
        var line = result.FirstLine("out of memory: no free page for the application");
        Assert.True(line is not null, result.Output);
        Assert.Contains("application killed by SIGKILL", line!.Value.Text);
        Assert.DoesNotContain("PANIC", result.Output);
    }

    [Fact]
    public async Task Trace_syscalls_logs_each_call_with_arguments_and_result()
    {
        BootResult result = await ProbeOnLibra.RunAsync(ProbeCatalog.Get("hello"), traceSyscalls: true);
        Assert.Equal(3, result.GuestStatus);
        Assert.Matches(@"libra: \[1\] arch_prctl\(4098, 0x[0-9a-f]+\) = 0", result.Output);
        Assert.Matches(@"libra: \[1\] rseq\([^)]*\) = -1 ENOSYS", result.Output);
        Assert.Matches(@"libra: \[1\] write\(\d+, ""[^""]*""(\.\.\.)?, \d+\) = \d+", result.Output);
        Assert.Matches(@"libra: \[\d+\] clone3\(0x[0-9a-f]+, 88\) = \d+", result.Output);
    }

    [Fact]
    public async Task Unimplemented_syscall_is_logged_once_by_name_and_number()
    {
        BootResult result = await ProbeOnLibra.RunAsync(ProbeCatalog.Get("hello"));
        var lines = result.Lines.Select(l => l.Text).Where(t => t.Contains("syscall not implemented: ")).ToList();
        Assert.Contains("libra: syscall not implemented: get_mempolicy (239), answering ENOSYS", lines);
        Assert.Equal(lines.Count, lines.Distinct().Count());
    }
}

// The application sees only the exported directory: no path reaches past it on the host.
[Collection("qemu")]
public class ContainmentTests
{
    [Theory]
    [InlineData(FileServer.Qemu)]
    [InlineData(FileServer.Diod)]
    public async Task Dot_dot_symbolic_links_and_long_paths_stay_inside_the_exported_directory(FileServer server)
    {
        WorkDirectory host = WorkDirectory.Create();
        try
        {
            string export = Path.Combine(host.Path, "export"), outside = Path.Combine(host.Path, "outside");
            Directory.CreateDirectory(export);
            Directory.CreateDirectory(outside);
            File.WriteAllText(Path.Combine(outside, "secret"), "host secret");
            File.WriteAllText(Path.Combine(export, "inside"), "exported");
            File.CreateSymbolicLink(Path.Combine(export, "link-absolute"), Path.Combine(outside, "secret"));
            File.CreateSymbolicLink(Path.Combine(export, "link-relative"), "../outside/secret");
            Directory.CreateSymbolicLink(Path.Combine(export, "dir-absolute"), outside);
            Directory.CreateSymbolicLink(Path.Combine(export, "dir-relative"), "../outside");
            Directory.CreateDirectory(Path.Combine(export, "sub"));
            File.WriteAllText(Path.Combine(export, "sub", "file"), "in sub");
            Directory.CreateSymbolicLink(Path.Combine(export, "sub-link"), "sub");
            var probe = ProbeCatalog.Get("files") with { Args = ["--containment"] };
            var machine = new QemuMachine
            {
                KernelImage = LibraBoot.KernelImage, Memory = "512M", InitialRamDisk = ProbeArtifacts.PathOf(probe),
                SharedDirectory = export, FileServer = server,
                CommandLine = AppCommandLine.Build("", ProbeArtifacts.PathOf(probe), [], ["/", "--containment"], false),
            };
            BootResult result = await BootRun.RunAsync(machine, ProbeOnLibra.Timeout);
            Assert.True(result.GuestStatus == 0, result.Output + "\n" + result.Stderr);
            Assert.DoesNotContain("host secret", result.Stdout);
            Assert.Matches(@"(?m)^dot-dot: (File|Directory)NotFoundException$", result.Stdout);
            Assert.Matches(@"(?m)^rooted dot-dot: (File|Directory)NotFoundException$", result.Stdout);
            Assert.Matches(@"(?m)^absolute link: (File|Directory)NotFoundException$", result.Stdout);
            Assert.Matches(@"(?m)^relative link: (File|Directory)NotFoundException$", result.Stdout);
            Assert.Matches(@"(?m)^absolute directory link: (File|Directory)NotFoundException$", result.Stdout);
            Assert.Matches(@"(?m)^relative directory link: (File|Directory)NotFoundException$", result.Stdout);
            Assert.Contains("inside: read \"exported\"", result.Stdout);
            Assert.Contains("through a link inside: read \"in sub\"", result.Stdout);
            Assert.Contains("long path: PathTooLongException", result.Stdout);
            Assert.Equal("host secret", File.ReadAllText(Path.Combine(outside, "secret")));
        }
        finally { host.Delete(); }
    }
}

// A file server that misbehaves (diod behind a relay that spoils the stream): the call in flight
// fails with EIO and one log line; Libra neither panics nor hangs, and the application sees an I/O
// error it can report (the files probe aborts on it, as natively on a failing disk). Each with
// virtio-serial completions by interrupt and by polling.
[Collection("qemu")]
public class FileServerFailureTests
{
    // Copies the guest's requests through unchanged; copies replies until `spoilAfter` bytes have
    // passed, then lets `spoil` act on the next read from the server.
    static StreamRelay Relay(long spoilAfter, Func<Stream, byte[], int, CancellationToken, Task<bool>> spoil) =>
        async (fromGuest, toServer, cancel) =>
        {
            var up = fromGuest.CopyToAsync(toServer, cancel);
            var buffer = new byte[65536];
            long passed = 0;
            int n;
            while ((n = await toServer.ReadAsync(buffer, cancel)) > 0)
            {
                if (passed >= spoilAfter)
                {
                    if (!await spoil(fromGuest, buffer, n, cancel)) return;
                }
                else await fromGuest.WriteAsync(buffer.AsMemory(0, n), cancel);
                passed += n;
            }
            await up;
        };

    static async Task<BootResult> RunWithRelay(StreamRelay relay, string kernelOptions = "", params string[] probeArgs)
    {
        ProbeCase probe = ProbeCatalog.Get("files-diod");
        if (probeArgs.Length == 0) probeArgs = ["--big-mib", "8"];
        WorkDirectory exported = WorkDirectory.Create();
        try
        {
            var machine = new QemuMachine
            {
                KernelImage = LibraBoot.KernelImage, Memory = "1G", InitialRamDisk = ProbeArtifacts.PathOf(probe),
                SharedDirectory = exported.Path, FileServer = FileServer.Diod, FileServerRelay = relay,
                CommandLine = AppCommandLine.Build(kernelOptions, ProbeArtifacts.PathOf(probe), [], ["/", .. probeArgs], false),
            };
            return await BootRun.RunAsync(machine, TimeSpan.FromMinutes(2));
        }
        finally { exported.Delete(); }
    }

    [Theory]
    [InlineData("")]
    [InlineData("libra.virtio=poll")]
    public async Task Unbelievable_size_field_fails_the_calls_with_EIO_and_a_log_line(string options)
    {
        // After 4 KiB of replies, the next one claims to be 2 GiB long: no frame can be found after it.
        BootResult result = await RunWithRelay(Relay(4096, async (guest, buffer, n, cancel) =>
        {
            BitConverter.TryWriteBytes(buffer.AsSpan(0, 4), 0x7fffffff);
            await guest.WriteAsync(buffer.AsMemory(0, n), cancel);
            return true;
        }), options);
        Assert.DoesNotContain("PANIC", result.Output);
        Assert.True(result.GuestStatus != 0, result.Output);
        Assert.Contains("Input/output error", result.Stderr);
        Assert.Matches(@"libra: 9p stream: .*size field is 2147483647 \(not a frame of 7 bytes to 16 MiB\)", result.Output);
    }

    [Theory]
    [InlineData("")]
    [InlineData("libra.virtio=poll")]
    public async Task Oversized_reply_fails_only_its_call_and_other_files_keep_working(string options)
    {
        // The third Rread from diod is replaced by a whole frame larger than msize (same tag).
        StreamRelay relay = FrameRelay(117, 3, frame =>
        {
            var oversized = new byte[300 * 1024];
            BitConverter.TryWriteBytes(oversized.AsSpan(0, 4), oversized.Length);
            oversized[4] = 117;
            oversized[5] = frame[5];
            oversized[6] = frame[6];
            return oversized;
        });
        BootResult result = await RunWithRelay(relay, options, "--resilience");
        Assert.True(result.GuestStatus == 0, result.Output + "\n" + result.Stderr);
        Assert.Contains("reads of a: 5 good, 1 failed", result.Stdout);
        Assert.Contains("b after that: bbbb", result.Stdout);
        Assert.Matches(@"libra: 9p stream: a reply of 307200 bytes is larger than its call's buffer: skipped", result.Output);
        Assert.DoesNotContain("PANIC", result.Output);
    }

    // Passes replies through, except the `victim`-th reply of `type`, which `change` rewrites (or
    // drops, returning null).
    static StreamRelay FrameRelay(byte type, int victim, Func<byte[], byte[]?> change, bool dropFlushReplies = false) =>
        async (fromGuest, toServer, cancel) =>
        {
            var up = fromGuest.CopyToAsync(toServer, cancel);
            var pending = new List<byte>();
            var buffer = new byte[65536];
            int seen = 0, n;
            while ((n = await toServer.ReadAsync(buffer, cancel)) > 0)
            {
                pending.AddRange(buffer.AsSpan(0, n).ToArray());
                while (pending.Count >= 7 && BitConverter.ToInt32(pending.GetRange(0, 4).ToArray()) is int size && pending.Count >= size)
                {
                    byte[]? frame = pending.GetRange(0, size).ToArray();
                    pending.RemoveRange(0, size);
                    if (frame[4] == type && ++seen == victim) frame = change(frame);
                    else if (dropFlushReplies && frame[4] == 109) frame = null;   // Rflush
                    if (frame is not null) await fromGuest.WriteAsync(frame, cancel);
                }
            }
            await up;
        };

    [Theory]
    [InlineData("")]
    [InlineData("libra.virtio=poll")]
    public async Task Unanswered_call_is_given_up_with_Tflush_after_the_timeout_and_other_files_keep_working(string options)
    {
        // The third Rread never reaches the guest; with libra.9p.timeout_ms the call is flushed.
        BootResult result = await RunWithRelay(FrameRelay(117, 3, _ => null), $"{options} libra.9p.timeout_ms=2000".Trim(), "--resilience");
        Assert.True(result.GuestStatus == 0, result.Output + "\n" + result.Stderr);
        Assert.Contains("reads of a: 5 good, 1 failed", result.Stdout);
        Assert.Contains("b after that: bbbb", result.Stdout);
        Assert.Matches(@"libra: 9p stream: no reply to message type 116 \(tag \d+\) within 2000 ms; flushed, the call fails with EIO", result.Output);
        Assert.DoesNotContain("PANIC", result.Output);
    }

    [Theory]
    [InlineData("")]
    [InlineData("libra.virtio=poll")]
    public async Task Server_that_answers_neither_the_call_nor_its_flush_is_given_up_on_without_a_hang(string options)
    {
        BootResult result = await RunWithRelay(FrameRelay(117, 3, _ => null, dropFlushReplies: true), $"{options} libra.9p.timeout_ms=1000".Trim(), "--resilience");
        Assert.DoesNotContain("PANIC", result.Output);
        Assert.True(result.GuestStatus != 0, result.Output);
        Assert.Contains("Input/output error", result.Stderr);
        Assert.Matches(@"libra: 9p stream: no reply to message type 116 \(tag \d+\) within 1000 ms, nor to its flush: the server is gone", result.Output);
    }

    [Theory]
    [InlineData("")]
    [InlineData("libra.virtio=poll")]
    public async Task Reply_that_beats_its_unanswered_flush_stands_and_later_calls_work(string options)
    {
        // The third Rread comes 1.5 s late, after the Tflush of 1 s, whose Rflush never comes. The
        // flush's record, on the stack of the call that gave up, once stayed in the stream's list
        // of waiting calls, and the next call walked into it: a kernel page fault (the 9P fuzzer's first find).
        BootResult result = await RunWithRelay(FrameRelay(117, 3, frame => { Thread.Sleep(1500); return frame; }, dropFlushReplies: true),
            $"{options} libra.9p.timeout_ms=1000".Trim(), "--resilience");
        Assert.DoesNotContain("PANIC", result.Output);
        Assert.True(result.GuestStatus == 0, result.Output + "\n" + result.Stderr);
        Assert.Contains("reads of a: 6 good, 0 failed", result.Stdout);
        Assert.Contains("b after that: bbbb", result.Stdout);
        Assert.Matches(@"libra: 9p stream: no reply to message type 116 \(tag \d+\) within 1000 ms; flushed, but the reply came first and stands", result.Output);
    }

    [Theory]
    [InlineData("")]
    [InlineData("libra.virtio=poll")]
    public async Task Server_that_disappears_mid_call_fails_the_call_with_EIO_and_a_log_line(string options)
    {
        // After 4 KiB of replies the server's side of the stream closes without answering.
        BootResult result = await RunWithRelay(Relay(4096, (guest, buffer, n, cancel) =>
        {
            guest.Close();
            return Task.FromResult(false);
        }), options);
        Assert.DoesNotContain("PANIC", result.Output);
        Assert.True(result.GuestStatus != 0, result.Output);
        Assert.Contains("Input/output error", result.Stderr);
        Assert.Matches(@"libra: 9p stream: .*the server closed the stream", result.Output);
    }
}
