namespace Libra.Bench.Targets;

// The machine every QEMU target gets: same accelerator, CPU model, vCPUs and memory (issue 5).
// KVM (with -cpu host) when /dev/kvm opens read-write and the CPU shows VT-x or AMD-V, else TCG
// with -cpu max (SSE4.2, POPCNT). LIBRA_QEMU_ACCEL=kvm|tcg overrides the choice.
// Why the CPU flag: on a nested cloud VM seen here /dev/kvm opened but the CPU had no vmx flag, and a
// Linux guest stopped after its real-mode setup ("Probing EDD") with every -cpu model tried.
public sealed record QemuProfile(string Accelerator, string Cpu, int Smp, int MemoryMiB, string Machine)
{
    public static QemuProfile Default(int smp = 1, int memoryMiB = 1024)
    {
        string? forced = Environment.GetEnvironmentVariable("LIBRA_QEMU_ACCEL");
        bool kvm = forced is "kvm" or "tcg" ? forced == "kvm" : KvmUsable();
        return new QemuProfile(kvm ? "kvm" : "tcg", kvm ? "host" : "max", smp, memoryMiB, "q35");
    }

    public static bool KvmUsable()
    {
        try
        {
            using var f = new FileStream("/dev/kvm", FileMode.Open, FileAccess.ReadWrite);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
        string flags = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags")) ?? "";
        return flags.Split(' ').Any(f => f is "vmx" or "svm");
    }

    public IEnumerable<string> Arguments() =>
        ["-machine", $"{Machine},accel={Accelerator}", "-cpu", Cpu, "-smp", Smp.ToString(), "-m", $"{MemoryMiB}M",
         "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot"];

    public override string ToString() => $"{Machine}, {Accelerator}, -cpu {Cpu}, -smp {Smp}, -m {MemoryMiB}M";
}
