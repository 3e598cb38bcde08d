namespace Libra.Vdso
{
    // How the vDSO computes the clocks (vdso.c enum vdso_mode).
    internal enum VdsoMode : uint
    {
        Syscall = 0,    // nothing published: every call makes the system call
        Tsc = 1,        // monotonic = (TSC - TscBase) * NsPerTick >> 32
        Pvclock = 2,    // monotonic = kvmclock's reading (Pvclock, kept by KVM) - PvclockBootNs
    }

    // KVM's pvclock_vcpu_time_info (Linux Documentation/virt/kvm/x86/msr.rst, MSR_KVM_SYSTEM_TIME_NEW):
    // nanoseconds = SystemTime + ((TSC - TscTimestamp) shifted by TscShift) * TscToSystemMul >> 32.
    internal struct PvclockTimeInfo
    {
        internal uint Version;      // odd while KVM updates the fields
        internal uint Pad0;
        internal ulong TscTimestamp;
        internal ulong SystemTime;
        internal uint TscToSystemMul;
        internal sbyte TscShift;
        internal byte Flags;
        internal byte Pad1, Pad2;
    }

    // The vDSO's data page, mapped read-only into the application one page below the vDSO: the same
    // bytes as vdso.c's struct vdso_data (offsets pinned by a host test). Time/Clock.cs writes it
    // under the sequence counter; KVM writes Pvclock.
    internal struct VdsoData
    {
        internal const int PvclockOffset = 64;

        internal uint Sequence;         // odd while the kernel rewrites the fields below
        internal VdsoMode Mode;
        internal ulong TscBase;
        internal ulong NsPerTick;       // 32.32 fixed point
        internal ulong PvclockBootNs;
        internal ulong RealtimeOffset;  // CLOCK_REALTIME minus CLOCK_MONOTONIC
        internal ulong ResolutionNs;    // clock_getres of the clocks one sleeps on
        internal ulong Reserved0, Reserved1;
        internal PvclockTimeInfo Pvclock;
    }
}
