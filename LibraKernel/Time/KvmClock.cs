using System.Threading;
using Libra.Arch.X64;
using Libra.Memory;
using Libra.Vdso;

namespace Libra.Time
{
    // kvmclock (Linux Documentation/virt/kvm/msr.rst): KVM keeps a pvclock_vcpu_time_info up to date
    // in guest memory; nanoseconds = system_time + scaled(TSC - tsc_timestamp).
    internal static unsafe class KvmClock
    {
        private const uint MsrSystemTimeNew = 0x4b564d01;

        // In the vDSO's data page, so that user mode reads the same structure (Vdso/VdsoData.cs).
        private static PvclockTimeInfo* s_info;
        private static ulong s_bootNs;
        internal static ulong TscHz;
        internal static ulong BootNanoseconds => s_bootNs;

        // `info` lies in the kernel image (its physical address is the virtual one less the image base).
        internal static bool Initialize(PvclockTimeInfo* info)
        {
            s_info = info;
            ulong physical = (ulong)info - Layout.KernelImageBase;
            Native.WriteMsr(MsrSystemTimeNew, physical | 1);
            if (info->TscToSystemMul == 0) return false;
            // Ticks per second from the scale factor: 10^9 ns = ticks * mul * 2^shift / 2^32.
            ulong hz = (1_000_000_000ul << 32) / info->TscToSystemMul;
            TscHz = info->TscShift >= 0 ? hz >> info->TscShift : hz << -info->TscShift;
            s_bootNs = Raw();
            return true;
        }

        internal static ulong Nanoseconds() => Raw() - s_bootNs;

        private static ulong Raw()
        {
            PvclockTimeInfo* info = s_info;
            uint version;
            ulong ns;
            do
            {
                version = Volatile.Read(ref info->Version);
                ulong delta = Native.ReadTsc() - info->TscTimestamp;
                ns = info->SystemTime + FixedPoint.PvclockScale(delta, info->TscToSystemMul, info->TscShift);
            } while ((version & 1) != 0 || version != Volatile.Read(ref info->Version));
            return ns;
        }
    }
}
