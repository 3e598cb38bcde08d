using System.Diagnostics;
using Libra.Bench.Targets;
using Libra.Qemu;

namespace Libra.Bench.OsBench;

// Where a probe runs once: each target gets a fresh work directory holding the probes (`osbench`,
// and `osbench-dotnet` when given) and an empty `scratch/` for the file rows, runs `program` (one of
// those names), makes its TCP port reachable from the host's 127.0.0.1:hostPort (PublishedPort),
// and returns its stdout (its JSON rows).
public interface IProbeTarget
{
    string Name { get; }
    string Describe(ProbeSettings s);
    Task<string> RunAsync(ProbeSettings s, WorkDirectory work, string program, IReadOnlyList<string> options, int hostPort, CancellationToken ct);
}

// What every target is given: the probe, the guests' kernels, the shared QEMU profile.
public sealed record ProbeSettings
{
    public required string Probe { get; init; }
    // The NativeAOT probe of the .NET rows (Apps/Probes/OsBenchDotnet), run after `osbench` when given.
    public string? DotnetProbe { get; init; }
    public string? GuestKernel { get; init; }
    public string? GuestInitrd { get; init; }
    public string? LibraKernel { get; init; }
    public required QemuProfile Qemu { get; init; }
    // The guests' TCP port (loopback ping-pong, then the published port's): on Libra the Side
    // publishes it, which its loopback needs too.
    public int GuestPort { get; init; } = 5642;
    public TimeSpan Limit { get; init; } = TimeSpan.FromMinutes(10);
}

// One run's directory: the probes copied in (the guests read them over 9P) and their scratch folder.
public sealed class WorkDirectory : IDisposable
{
    public const string CProbe = "osbench", DotnetProbe = "osbench-dotnet";
    public string Path { get; }
    public string Scratch => System.IO.Path.Combine(Path, "scratch");
    public string Program(string name) => System.IO.Path.Combine(Path, name);

    public WorkDirectory(ProbeSettings s)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "libra-osbench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Scratch);
        File.Copy(s.Probe, Program(CProbe));
        if (s.DotnetProbe != null) File.Copy(s.DotnetProbe, Program(DotnetProbe));
    }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}

public static class ProbeTargets
{
    public static readonly IReadOnlyList<IProbeTarget> All =
        [new NativeProbe(), new LinuxGuestProbe("none"), new LinuxGuestProbe("loose"), new LibraProbe()];

    // The baseline of the ratios: the Linux guest reading 9P without a cache, as Libra does.
    public const string Baseline = "linux-guest-9p-none";
}

// The probe as a host process, in the work directory's scratch folder, its TCP port the host port.
sealed class NativeProbe : IProbeTarget
{
    public string Name => "native";

    public string Describe(ProbeSettings s) => "host process, scratch directory on the host's file system";

    public async Task<string> RunAsync(ProbeSettings s, WorkDirectory work, string program, IReadOnlyList<string> options, int hostPort, CancellationToken ct)
    {
        var start = new ProcessStartInfo(work.Program(program)) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string word in options.Prepend(work.Scratch).Concat(["--port", hostPort.ToString()])) start.ArgumentList.Add(word);
        using var p = Process.Start(start) ?? throw new InvalidOperationException($"could not start {work.Program(program)}");
        var stdout = p.StandardOutput.ReadToEndAsync(ct);
        var stderr = p.StandardError.ReadToEndAsync(ct);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(s.Limit);
        try { await p.WaitForExitAsync(limit.Token); }
        catch (OperationCanceledException) { p.Kill(entireProcessTree: true); throw new TimeoutException($"native: {program} ran longer than {s.Limit}"); }
        if (p.ExitCode != 0) throw new InvalidOperationException($"native: {program} exited with status {p.ExitCode}: {await stderr}");
        return await stdout;
    }
}

// The probe in the bench's Debian kernel on the same QEMU profile: the work directory is the guest's
// virtio-9p share (QEMU's own server, security_model=none as Libra's), mounted at /mnt with
// `cache=` none or loose; its /init (build/osbench.ps1) runs /mnt/<osbench.program=> with the words
// after the kernel command line's `--` and writes its stdout to the second serial port, a host file here. Its
// network is QEMU user networking (virtio-net) with the host port forwarded to the probe's port, as
// the search bench's guest has it.
sealed class LinuxGuestProbe(string cache) : IProbeTarget
{
    public string Name => $"linux-guest-9p-{cache}";

    public string Describe(ProbeSettings s) => $"Debian kernel {System.IO.Path.GetFileName(s.GuestKernel)}, QEMU {s.Qemu}, " +
        $"scratch over virtio-9p (QEMU's server) with cache={cache}";

    public async Task<string> RunAsync(ProbeSettings s, WorkDirectory work, string program, IReadOnlyList<string> options, int hostPort, CancellationToken ct)
    {
        if (s.GuestKernel == null || s.GuestInitrd == null) throw new InvalidOperationException($"{Name} needs --kernel and --initrd (build.ps1 osbench builds them)");
        string console = System.IO.Path.Combine(work.Path, "console.log"), output = System.IO.Path.Combine(work.Path, "stdout.log");
        string append = $"console=ttyS0 quiet panic=-1 osbench.cache={cache} osbench.program={program} -- " +
            string.Join(' ', options.Prepend("/mnt/scratch").Concat(["--port", s.GuestPort.ToString()])).Trim();
        var args = new List<string>(s.Qemu.Arguments())
        {
            "-kernel", s.GuestKernel, "-initrd", s.GuestInitrd, "-append", append,
            "-serial", $"file:{console}", "-serial", $"file:{output}",
            "-fsdev", $"local,id=share,path={work.Path},security_model=none",
            "-device", "virtio-9p-pci,fsdev=share,mount_tag=osbench",
            "-netdev", $"user,id=net0,hostfwd=tcp:127.0.0.1:{hostPort}-:{s.GuestPort}", "-device", "virtio-net-pci,netdev=net0",
        };
        var log = new StringWriter();
        using var p = Launch.Start("qemu-system-x86_64", args, null, TextWriter.Synchronized(log));
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(s.Limit);
        try { await p.WaitForExitAsync(limit.Token); }
        catch (OperationCanceledException) { p.Kill(entireProcessTree: true); throw new TimeoutException($"{Name}: QEMU ran longer than {s.Limit}\n{GuestConsole(console)}"); }
        string text = File.Exists(output) ? File.ReadAllText(output).Replace("\r", "") : "";
        // init prints the probe's status last: "osbench: exit status N".
        if (!text.Contains("osbench: exit status 0\n", StringComparison.Ordinal))
            throw new InvalidOperationException($"{Name}: {program} did not finish (QEMU status {p.ExitCode})\n{text}\n{log}\n{GuestConsole(console)}");
        return string.Join('\n', text.Split('\n').Where(line => line.StartsWith('{')));
    }

    static string GuestConsole(string path) => "--- guest console ---\n" + (File.Exists(path) ? File.ReadAllText(path) : "(none)");
}

// The same probe on Libra, booted as `build.ps1 run` boots it (Libra.Qemu's BootRun) on the same QEMU
// profile: the probe is the boot module, the work directory the application's root over virtio-9p
// (QEMU's server), and the guest's TCP port published by the Side for the published-port row (its
// loopback ping-pong stays inside the guest).
sealed class LibraProbe : IProbeTarget
{
    public string Name => "libra";

    public string Describe(ProbeSettings s) => $"Libra {System.IO.Path.GetFileName(s.LibraKernel)}, QEMU {s.Qemu}, " +
        "scratch over virtio-9p (QEMU's server), TCP loopback inside the guest, the published port through the Side daemon";

    public async Task<string> RunAsync(ProbeSettings s, WorkDirectory work, string program, IReadOnlyList<string> options, int hostPort, CancellationToken ct)
    {
        if (s.LibraKernel == null || !File.Exists(s.LibraKernel))
            throw new InvalidOperationException($"libra needs --libra-kernel with a built image ({s.LibraKernel ?? "none given"}; build.ps1 build makes it)");
        var machine = new QemuMachine
        {
            KernelImage = s.LibraKernel, Machine = s.Qemu.Machine, Memory = $"{s.Qemu.MemoryMiB}M", Cpus = s.Qemu.Smp,
            ForceAccelerator = s.Qemu.Choice, InitialRamDisk = work.Program(program), SharedDirectory = work.Path,
            Network = new NetworkOptions([$"{hostPort}:{s.GuestPort}"], Outbound: false),
            CommandLine = AppCommandLine.Build("", work.Program(program), [], options.Prepend("/scratch").Concat(["--port", s.GuestPort.ToString()]), traceSyscalls: false),
        };
        BootResult result = await BootRun.RunAsync(machine, s.Limit);
        if (result.GuestStatus != 0)
            throw new InvalidOperationException($"libra: {program} exited with status {result.GuestStatus}\n{result.Stdout}\n{result.Stderr}\n{result.Output}");
        return result.Stdout;
    }
}
