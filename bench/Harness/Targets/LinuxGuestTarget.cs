using System.Diagnostics;
using System.Net;

namespace Libra.Bench.Targets;

// How the Linux guest's virtio-net card reaches the host.
public enum GuestNetwork
{
    // QEMU user networking (slirp, a TCP/IP stack inside QEMU) forwarding a host port to the guest's 8080.
    User,
    // A tap device in a network namespace the bench creates (NetworkNamespace): the host kernel's own
    // stack on one side, the guest's on the other, so Libra is also compared with Linux's best networking here.
    Tap,
}

// The same binary in a stock Debian kernel under QEMU: the initramfs holds busybox, the virtio-net
// modules, the binary and the index (build/search.ps1 builds it); the guest's /init gives eth0 the
// address `guest.ip=` names on the kernel command line (QEMU user networking's 10.0.2.15/24 without
// it). The serial console goes to a log that a failed boot reports.
public sealed class LinuxGuestTarget(GuestNetwork network) : ITarget
{
    public string Name => network == GuestNetwork.Tap ? "linux-guest-tap" : "linux-guest";

    public string Describe(TargetSettings s) => $"Debian kernel {Path.GetFileName(s.Kernel)}, QEMU {s.Qemu}, " +
        (network == GuestNetwork.Tap
            ? $"virtio-net on a tap in a private network namespace ({NetworkNamespace.HostAddress} to {NetworkNamespace.GuestAddress}/{NetworkNamespace.PrefixLength}, vhost={(Vhost(s) ? "on" : "off")})"
            : "virtio-net user networking") +
        (s.ServerCores != null ? $", taskset -c {s.ServerCores}" : "");

    // vhost-net moves the card's queues into the host kernel; it needs /dev/vhost-net and KVM's ioeventfd.
    static bool Vhost(TargetSettings s) => s.Qemu.Accelerator == "kvm" && File.Exists("/dev/vhost-net");

    public async Task<RunningTarget> StartAsync(TargetSettings s, CancellationToken ct)
    {
        if (s.Kernel == null || s.Initrd == null) throw new InvalidOperationException($"{Name} needs --kernel and --initrd (build.ps1 search -Prepare builds them)");
        var ns = network == GuestNetwork.Tap ? NetworkNamespace.Create() : null;
        try
        {
            int port = ns != null ? 8080 : s.Port != 0 ? s.Port : Launch.FreePort();
            var endpoint = ns != null ? new ServiceEndpoint(new IPEndPoint(IPAddress.Parse(NetworkNamespace.GuestAddress), port), ns)
                                      : ServiceEndpoint.Loopback(port);
            string console = Path.Combine(Path.GetTempPath(), $"{ns?.Name ?? "libra-linux-guest-" + port}.log");
            File.Delete(console);
            string append = "console=ttyS0 quiet panic=-1" + (s.LoadIntoRam ? " search.ram=1" : "") +
                (ns != null ? $" guest.ip={NetworkNamespace.GuestAddress}/{NetworkNamespace.PrefixLength}" : "");
            var args = new List<string>(s.Qemu.Arguments())
            {
                "-kernel", s.Kernel, "-initrd", s.Initrd, "-append", append,
                "-serial", $"file:{console}",
                "-netdev", ns != null ? $"tap,id=net0,ifname={NetworkNamespace.Tap},script=no,downscript=no,vhost={(Vhost(s) ? "on" : "off")}"
                                      : $"user,id=net0,hostfwd=tcp:127.0.0.1:{port}-:8080",
                "-device", "virtio-net-pci,netdev=net0",
            };
            var (exe, words) = ns != null ? ns.Inside("qemu-system-x86_64", args) : ("qemu-system-x86_64", args);
            var log = new StringWriter();
            var clock = Stopwatch.StartNew();
            var p = Launch.Start(exe, words, s.ServerCores, TextWriter.Synchronized(log));
            // TCG boots a full kernel in tens of seconds on a loaded machine; KVM in about one.
            var limit = TimeSpan.FromSeconds(s.Qemu.Accelerator == "kvm" ? 60 : 300);
            try
            {
                var boot = await Launch.WaitForFirstAnswerAsync(p, endpoint, clock, limit,
                    () => log + "--- guest console ---\n" + (File.Exists(console) ? File.ReadAllText(console) : "(none)"), ct);
                return new RunningTarget(Name, p, endpoint, boot, console, s.Qemu.MemoryMiB * 1024L * 1024)
                    { Companions = ns != null ? [ns, new TemporaryFiles([console])] : [new TemporaryFiles([console])] };
            }
            catch
            {
                if (!p.HasExited) { p.Kill(entireProcessTree: true); p.WaitForExit(); }
                throw;
            }
        }
        catch
        {
            ns?.Dispose();
            throw;
        }
    }
}
