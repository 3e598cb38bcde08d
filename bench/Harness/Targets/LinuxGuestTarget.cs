using System.Diagnostics;

namespace Libra.Bench.Targets;

// The same binary in a stock Debian kernel under QEMU: the initramfs holds busybox, the virtio-net
// modules, the binary and the index (build/search.ps1 builds it); QEMU user networking forwards a
// host port to the guest's 8080. The serial console goes to a log that a failed boot reports.
public sealed class LinuxGuestTarget : ITarget
{
    public string Name => "linux-guest";

    public string Describe(TargetSettings s) => $"Debian kernel {Path.GetFileName(s.Kernel)}, QEMU {s.Qemu}, virtio-net user networking" +
        (s.ServerCores != null ? $", taskset -c {s.ServerCores}" : "");

    public async Task<RunningTarget> StartAsync(TargetSettings s, CancellationToken ct)
    {
        if (s.Kernel == null || s.Initrd == null) throw new InvalidOperationException("linux-guest needs --kernel and --initrd (build.ps1 search -Prepare builds them)");
        int port = s.Port != 0 ? s.Port : Launch.FreePort();
        string console = Path.Combine(Path.GetTempPath(), $"libra-linux-guest-{port}.log");
        File.Delete(console);
        string append = "console=ttyS0 quiet panic=-1" + (s.LoadIntoRam ? " search.ram=1" : "");
        var args = new List<string>(s.Qemu.Arguments())
        {
            "-kernel", s.Kernel, "-initrd", s.Initrd, "-append", append,
            "-serial", $"file:{console}",
            "-netdev", $"user,id=net0,hostfwd=tcp:127.0.0.1:{port}-:8080",
            "-device", "virtio-net-pci,netdev=net0",
        };
        var log = new StringWriter();
        var clock = Stopwatch.StartNew();
        var p = Launch.Start("qemu-system-x86_64", args, s.ServerCores, TextWriter.Synchronized(log));
        // TCG boots a full kernel in tens of seconds on a loaded machine; KVM in about one.
        var limit = TimeSpan.FromSeconds(s.Qemu.Accelerator == "kvm" ? 60 : 300);
        var boot = await Launch.WaitForFirstAnswerAsync(p, port, clock, limit,
            () => log + "--- guest console ---\n" + (File.Exists(console) ? File.ReadAllText(console) : "(none)"), ct);
        return new RunningTarget(Name, p, port, boot, console, s.Qemu.MemoryMiB * 1024L * 1024);
    }
}
