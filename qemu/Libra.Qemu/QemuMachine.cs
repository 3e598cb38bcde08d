using System.Diagnostics;

namespace Libra.Qemu;

// The accelerator QEMU runs Libra with: KVM when /dev/kvm can be opened read-write, else TCG.
public enum Accelerator { Kvm, Tcg }

// One Libra boot: the QEMU command line for a kernel image and options, and the guest's exit status.
public sealed class QemuMachine
{
    // Libra writes status + 1 to isa-debug-exit, which makes QEMU exit with ((status + 1) << 1) | 1.
    public const int DebugExitPort = 0xf4;
    // What this returns when QEMU itself failed (bad option, missing file): QEMU says why on stderr.
    public const int QemuFailedExitCode = 126;
    // build.ps1 and the tests report this when QEMU stops without the guest writing a status
    // (a triple fault resets the machine, and -no-reboot turns the reset into an exit with 0).
    public const int NoStatusExitCode = 124;

    public required string KernelImage { get; init; }
    public string Machine { get; init; } = "q35";
    public string Memory { get; init; } = "512M";
    public int Cpus { get; init; } = 1;
    public string CommandLine { get; init; } = "";
    public string? InitialRamDisk { get; init; }
    public Accelerator? ForceAccelerator { get; init; }
    public bool WaitForDebugger { get; init; }
    public string? InterruptLog { get; init; }
    // Where the application's stderr (COM2) and the kernel log (debug console) go; without them
    // both are dropped.
    public GuestChannels? Channels { get; init; }
    // A host directory exported to the application as its file system root, through FileServer:
    // QEMU's own 9P server (virtio-9p-pci, -fsdev local) with the mount tag "libra", or diod on the
    // Channels' file server socket, which QEMU connects to a virtserialport named "libra.9p"
    // (start diod first: FileServerProcess.Start).
    public string? SharedDirectory { get; init; }
    // Export it read-only (QEMU's fsdev readonly=on): writes fail with EROFS.
    public bool SharedReadOnly { get; init; }
    public FileServer FileServer { get; init; } = FileServer.Qemu;
    // diod only: a relay between QEMU and diod (tests of a misbehaving server).
    public StreamRelay? FileServerRelay { get; init; }
    // The guest's network: the Side daemon on the Channels' network socket, which QEMU joins to a
    // virtserialport named "libra.net" (start the Side first: SideProcess.Start). Null: no network.
    public NetworkOptions? Network { get; init; }
    // With Network: a relay between QEMU and the Side (tests and fuzzers of a misbehaving Side).
    public StreamRelay? SideRelay { get; init; }
    // More host directories, each at its own place in the guest over a virtio-9p device of its own
    // (QEMU's 9P server), whether or not there is a SharedDirectory.
    public IReadOnlyList<HostMount> Mounts { get; init; } = [];
    // More named virtio-serial ports, after diod's "libra.9p" when there is one (port numbers from 1).
    public IReadOnlyList<SerialPortSocket> SerialPorts { get; init; } = [];

    public Accelerator Accelerator => ForceAccelerator ?? DetectAccelerator(KernelImage);

    // KVM when /dev/kvm opens read-write, the CPU shows VT-x or AMD-V, and a test boot of
    // `kernelImage` under KVM exits cleanly; LIBRA_ACCEL=kvm|tcg overrides. Every QEMU machine the
    // project starts (run, the tests, the bench's Linux guest and Libra) takes its accelerator from
    // here, so that they compare on one footing. Why the flag: on a nested cloud VM /dev/kvm opened
    // with no vmx flag, and a Linux guest then stopped in early boot under every -cpu model. Why the
    // test boot: nested or sandboxed KVM can pass both checks and still fail. Its verdict is cached
    // per host boot in the temp directory; without an image (a Linux guest alone) the checks decide.
    public static Accelerator DetectAccelerator(string? kernelImage)
    {
        switch (Environment.GetEnvironmentVariable("LIBRA_ACCEL"))
        {
            case "kvm": return Accelerator.Kvm;
            case "tcg": return Accelerator.Tcg;
        }
        if (!KvmOpens() || !CpuHasVirtualization()) return Accelerator.Tcg;
        string bootId = File.Exists("/proc/sys/kernel/random/boot_id") ? File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim() : "unknown";
        string cache = Path.Combine(Path.GetTempPath(), $"libra-kvm-probe-{bootId}");
        if (File.Exists(cache)) return File.ReadAllText(cache).Trim() == "kvm" ? Accelerator.Kvm : Accelerator.Tcg;
        if (kernelImage is null) return Accelerator.Kvm;
        var probe = new QemuMachine { KernelImage = kernelImage, Memory = "64M", ForceAccelerator = Accelerator.Kvm };
        bool works;
        try
        {
            var result = BootRun.RunAsync(probe, TimeSpan.FromSeconds(20)).GetAwaiter().GetResult();
            works = result.GuestStatus == 0;
            if (!works)
                Console.Error.WriteLine($"libra-qemu: /dev/kvm is present but a test boot under KVM failed ({FirstLine(result.QemuErrors)}); using TCG");
        }
        catch (TimeoutException)
        {
            works = false;
            Console.Error.WriteLine("libra-qemu: /dev/kvm is present but a test boot under KVM hung; using TCG");
        }
        File.WriteAllText(cache, works ? "kvm" : "tcg");
        return works ? Accelerator.Kvm : Accelerator.Tcg;
    }

    public static bool KvmOpens()
    {
        try
        {
            using var kvm = new FileStream("/dev/kvm", FileMode.Open, FileAccess.ReadWrite);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    private static bool CpuHasVirtualization()
    {
        string flags = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal)) ?? "";
        return flags.Split(' ').Any(f => f is "vmx" or "svm");
    }

    private static string FirstLine(string text)
    {
        string line = text.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "no message";
        return line.Trim();
    }

    public QemuMachine WithChannels(GuestChannels channels) => new()
    {
        KernelImage = KernelImage, Machine = Machine, Memory = Memory, Cpus = Cpus, CommandLine = CommandLine,
        InitialRamDisk = InitialRamDisk, ForceAccelerator = ForceAccelerator, WaitForDebugger = WaitForDebugger,
        InterruptLog = InterruptLog, Channels = channels, SharedDirectory = SharedDirectory, SharedReadOnly = SharedReadOnly, FileServer = FileServer, FileServerRelay = FileServerRelay,
        Network = Network, SideRelay = SideRelay,
        SerialPorts = SerialPorts, Mounts = Mounts,
    };

    public IReadOnlyList<string> Arguments()
    {
        var kvm = Accelerator == Accelerator.Kvm;
        var args = new List<string>
        {
            "-machine", Machine, "-accel", kvm ? "kvm" : "tcg", "-cpu", kvm ? "host" : "max",
            "-m", Memory, "-smp", Cpus.ToString(),
            "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
            "-device", $"isa-debug-exit,iobase=0x{DebugExitPort:x},iosize=4",
            "-kernel", KernelImage,
        };
        if (Channels is not null)
            args.AddRange([
                "-chardev", $"socket,id=console,path={Channels.ConsoleSocket}", "-serial", "chardev:console",
                "-chardev", $"socket,id=stderr,path={Channels.StderrSocket}", "-serial", "chardev:stderr",
                "-chardev", $"socket,id=log,path={Channels.LogSocket}", "-device", "isa-debugcon,iobase=0xe9,chardev=log",
                "-qmp", $"unix:{Channels.MonitorSocket},server=on,wait=off",
            ]);
        else args.AddRange(["-serial", "stdio", "-serial", "null"]);
        if (SharedDirectory is not null && FileServer == FileServer.Qemu)
            args.AddRange([
                "-fsdev", $"local,id=share,path={OptionValue(SharedDirectory)},security_model=none" + (SharedReadOnly ? ",readonly=on" : ""),
                "-device", "virtio-9p-pci,fsdev=share,mount_tag=libra",
            ]);
        for (int i = 0; i < Mounts.Count; i++)
            args.AddRange([
                "-fsdev", $"local,id=mount{i + 1},path={OptionValue(Mounts[i].HostDirectory)},security_model=none" + (Mounts[i].ReadOnly ? ",readonly=on" : ""),
                "-device", $"virtio-9p-pci,fsdev=mount{i + 1},mount_tag={HostMount.Tag(i)}",
            ]);
        args.AddRange(SerialPortArguments());
        string commandLine = CommandLine;
        // diod serves a Tattach only for the export's own path (its aname); the kernel's options come
        // before any `--`, so the option goes first.
        if (SharedDirectory is not null && FileServer == FileServer.Diod)
            commandLine = $"libra.9p.aname={AppCommandLine.Escape(SharedDirectory)}" + (commandLine.Length > 0 ? " " + commandLine : "");
        // A read-only share is read-only in the kernel's mount table too (EROFS before any request,
        // whichever server), and its file data is cached (PageCache).
        if (SharedDirectory is not null && SharedReadOnly)
            commandLine = "libra.share=ro" + (commandLine.Length > 0 ? " " + commandLine : "");
        // Kernel options too: before any `--`.
        for (int i = Mounts.Count - 1; i >= 0; i--)
            commandLine = Mounts[i].KernelOption(i) + (commandLine.Length > 0 ? " " + commandLine : "");
        if (commandLine.Length > 0) args.AddRange(["-append", commandLine]);
        if (InitialRamDisk is not null) args.AddRange(["-initrd", InitialRamDisk]);
        if (WaitForDebugger) args.AddRange(["-s", "-S"]);
        if (InterruptLog is not null) args.AddRange(["-d", "int,cpu_reset,guest_errors", "-D", InterruptLog]);
        return args;
    }

    // A value inside a QEMU -fsdev option list, where a comma is written twice.
    private static string OptionValue(string text) => text.Replace(",", ",,");

    // One virtio-serial device for every named port: diod's (QEMU connects to its socket) first, then
    // SerialPorts, numbered from 1 (QEMU keeps port 0 for a console).
    private List<string> SerialPortArguments()
    {
        var ports = new List<SerialPortSocket>();
        if (SharedDirectory is not null && FileServer == FileServer.Diod)
        {
            if (Channels is null) throw new InvalidOperationException("the diod file server needs Channels: its socket lives there");
            ports.Add(new SerialPortSocket(DiodProcess.PortName, Channels.FileServerSocket));
        }
        // The Side's guest link. reconnect=1: when the Side drops the link (a malformed frame) or is
        // restarted, QEMU connects again within a second and the guest sees the port close and reopen.
        int network = -1;
        if (Network is not null)
        {
            if (Channels is null) throw new InvalidOperationException("the network needs Channels: the Side's socket lives there");
            network = ports.Count;
            ports.Add(new SerialPortSocket(SideProcess.PortName, Channels.NetworkSocket));
        }
        ports.AddRange(SerialPorts);
        var args = new List<string>();
        if (ports.Count == 0) return args;
        args.AddRange(["-device", "virtio-serial-pci,id=vser"]);
        for (int i = 0; i < ports.Count; i++)
            args.AddRange([
                "-chardev", $"socket,id=port{i + 1},path={ports[i].SocketPath}" + (i == network ? ",reconnect=1" : ""),
                "-device", $"virtserialport,bus=vser.0,nr={i + 1},chardev=port{i + 1},name={ports[i].Name}",
            ]);
        return args;
    }

    // The guest's exit status from QEMU's: isa-debug-exit gives odd statuses of 3 and up; 1 is QEMU's
    // own failure and 0 a guest that reset without reporting.
    public static int GuestStatus(int qemuStatus) => qemuStatus switch
    {
        0 => NoStatusExitCode,
        _ when (qemuStatus & 1) == 1 && qemuStatus >= 3 => (qemuStatus >> 1) - 1,
        _ => QemuFailedExitCode,
    };

    public ProcessStartInfo StartInfo(bool redirectOutput)
    {
        var info = new ProcessStartInfo("qemu-system-x86_64")
        {
            RedirectStandardOutput = redirectOutput,
            RedirectStandardError = redirectOutput,
            RedirectStandardInput = redirectOutput,
            UseShellExecute = false,
        };
        foreach (var a in Arguments()) info.ArgumentList.Add(a);
        return info;
    }
}
