using System.Diagnostics;
using Libra.Qemu;

namespace Libra.Bench.Targets;

// The same binary on Libra, booted the way `build.ps1 run` boots it (Libra.Qemu's QemuMachine) on
// the bench's QEMU profile: the binary is the boot module, the index's folder is shared read-only
// over virtio-9p (QEMU's own server), and the guest's port 8080 is published on the host's
// 127.0.0.1:PORT by the Side daemon (the guest's TCP goes over virtio-serial to it). QEMU and the
// Side are pinned to the server cores, as the Linux guest's QEMU (with its slirp stack) is.
public sealed class LibraTarget : ITarget
{
    public string Name => "libra";

    public string Describe(TargetSettings s) => $"Libra {Path.GetFileName(s.LibraKernel)}, QEMU {s.Qemu}, index " +
        (s.LoadIntoRam ? "loaded into RAM" : "read over virtio-9p") + ", TCP through the Side daemon over virtio-serial" +
        (s.LibraOptions.Length > 0 ? $", kernel options {s.LibraOptions}" : "") +
        (s.ServerCores != null ? $", taskset -c {s.ServerCores}" : "");

    public async Task<RunningTarget> StartAsync(TargetSettings s, CancellationToken ct)
    {
        if (s.LibraKernel == null || !File.Exists(s.LibraKernel))
            throw new InvalidOperationException($"libra needs --libra-kernel with a built image ({s.LibraKernel ?? "none given"}; build.ps1 build makes it)");
        int port = s.Port != 0 ? s.Port : Launch.FreePort();
        string shared = Path.GetDirectoryName(Path.GetFullPath(s.Index))!;
        var serve = new List<string> { "serve", "--index", "/" + Path.GetFileName(Path.GetFullPath(s.Index)), "--port", "8080" };
        if (s.LoadIntoRam) serve.Add("--ram");
        string console = Path.Combine(Path.GetTempPath(), $"libra-target-{port}.log");
        string stderrFile = Path.Combine(Path.GetTempPath(), $"libra-target-{port}.stderr");
        var log = TextWriter.Synchronized(new StreamWriter(console, append: false) { AutoFlush = true });
        var stderr = new FileStream(stderrFile, FileMode.Create, FileAccess.Write, FileShare.ReadWrite);
        var channels = GuestChannels.Create();
        var machine = new QemuMachine
        {
            KernelImage = s.LibraKernel, Machine = s.Qemu.Machine, Memory = $"{s.Qemu.MemoryMiB}M", Cpus = s.Qemu.Smp,
            ForceAccelerator = s.Qemu.Choice, Channels = channels, InitialRamDisk = s.Binary,
            SharedDirectory = shared, SharedReadOnly = true,
            Network = new NetworkOptions([$"{port}:8080"], Outbound: false),
            CommandLine = AppCommandLine.Build((KernelCounters.Option + " " + s.LibraOptions).Trim(), s.Binary, ["DOTNET_EnableDiagnostics=0"], serve, traceSyscalls: false),
        };
        // The logs tell why a boot failed; the exception carries their text, so they go either way.
        var counters = new KernelCounters();
        var companions = new List<IDisposable> { channels, stderr, log, new TemporaryFiles([console, stderrFile]) };
        Process? p = null;
        try
        {
            var clock = Stopwatch.StartNew();
            var side = SideProcess.Start(channels.NetworkSocket, machine.Network, line => log.WriteLine("side: " + line));
            companions.Insert(0, side);
            if (s.ServerCores != null) Launch.Pin(side.ProcessId, s.ServerCores);
            p = Launch.Start("qemu-system-x86_64", machine.Arguments(), s.ServerCores, log);
            int? reported = null;
            _ = channels.PumpLogAsync(line =>
            {
                if (counters.Offer(line)) return;
                log.WriteLine(line);
                reported = GuestChannels.ExitStatusIn(line) ?? reported;
            }, CancellationToken.None);
            _ = channels.PumpStderrAsync(stderr, CancellationToken.None);
            var limit = TimeSpan.FromSeconds(s.Qemu.Accelerator == "kvm" ? 60 : 300);
            string Details() => $"--- kernel log and stdout ({console}) ---\n{Read(console)}--- application stderr ---\n{Read(stderrFile)}" +
                $"--- Side ---\n{side.Log}";
            TimeSpan boot;
            try { boot = await Launch.WaitForFirstAnswerAsync(p, port, clock, limit, Details, ct); }
            catch (InvalidOperationException) when (p.HasExited)
            {
                // Say it in the guest's terms: the application's status (QEMU's own encodes it) and its first words.
                string first = Read(stderrFile).Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault()?.Trim() ?? "";
                throw new InvalidOperationException($"stopped before answering: the application exited with status " +
                    $"{reported ?? QemuMachine.GuestStatus(p.ExitCode)}{(first.Length > 0 ? $" ({first})" : "")}\n{Details()}");
            }
            return new RunningTarget(Name, p, ServiceEndpoint.Loopback(port), boot, console, s.Qemu.MemoryMiB * 1024L * 1024)
            {
                HelperProcessIds = [side.ProcessId],
                Counters = counters,
                Companions = companions,
            };
        }
        catch
        {
            if (p is { HasExited: false }) { p.Kill(entireProcessTree: true); p.WaitForExit(); }
            foreach (var c in companions) c.Dispose();
            throw;
        }
    }

    static string Read(string path)
    {
        try
        {
            using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            return new StreamReader(f).ReadToEnd();
        }
        catch (IOException) { return "(none)\n"; }
    }
}

sealed class TemporaryFiles(string[] paths) : IDisposable
{
    public void Dispose()
    {
        foreach (string path in paths) File.Delete(path);
    }
}
