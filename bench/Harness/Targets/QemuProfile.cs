namespace Libra.Bench.Targets;

// The machine every QEMU target gets: same accelerator, CPU model, vCPUs and memory (issue 5).
// KVM when /dev/kvm opens read-write (with -cpu host), else TCG with -cpu max (SSE4.2, POPCNT).
public sealed record QemuProfile(string Accelerator, string Cpu, int Smp, int MemoryMiB, string Machine)
{
    public static QemuProfile Default(int smp = 1, int memoryMiB = 1024)
    {
        bool kvm = KvmUsable();
        return new QemuProfile(kvm ? "kvm" : "tcg", kvm ? "host" : "max", smp, memoryMiB, "q35");
    }

    public static bool KvmUsable()
    {
        try
        {
            using var f = new FileStream("/dev/kvm", FileMode.Open, FileAccess.ReadWrite);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    public IEnumerable<string> Arguments() =>
        ["-machine", $"{Machine},accel={Accelerator}", "-cpu", Cpu, "-smp", Smp.ToString(), "-m", $"{MemoryMiB}M",
         "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot"];

    public override string ToString() => $"{Machine}, {Accelerator}, -cpu {Cpu}, -smp {Smp}, -m {MemoryMiB}M";
}
