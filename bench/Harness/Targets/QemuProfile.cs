using Libra.Qemu;

namespace Libra.Bench.Targets;

// The machine every QEMU target gets: same accelerator, CPU model, vCPUs and memory (issue 5).
// The accelerator is Libra.Qemu's choice (QemuMachine.DetectAccelerator: KVM with -cpu host when it
// works here, else TCG with -cpu max for SSE4.2 and POPCNT; LIBRA_ACCEL=kvm|tcg overrides), the same
// one `build.ps1 run` and the tests make, so the Linux guest and Libra never run on different ones.
public sealed record QemuProfile(string Accelerator, string Cpu, int Smp, int MemoryMiB, string Machine)
{
    // `libraKernel` lets the choice include Libra's KVM test boot (cached per host boot).
    public static QemuProfile Default(int smp = 1, int memoryMiB = 1024, string? libraKernel = null)
    {
        bool kvm = QemuMachine.DetectAccelerator(libraKernel) == Libra.Qemu.Accelerator.Kvm;
        return new QemuProfile(kvm ? "kvm" : "tcg", kvm ? "host" : "max", smp, memoryMiB, "q35");
    }

    public Libra.Qemu.Accelerator Choice => Accelerator == "kvm" ? Libra.Qemu.Accelerator.Kvm : Libra.Qemu.Accelerator.Tcg;

    public IEnumerable<string> Arguments() =>
        ["-machine", $"{Machine},accel={Accelerator}", "-cpu", Cpu, "-smp", Smp.ToString(), "-m", $"{MemoryMiB}M",
         "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot"];

    public override string ToString() => $"{Machine}, {Accelerator}, -cpu {Cpu}, -smp {Smp}, -m {MemoryMiB}M";
}
