using System.Threading;
using Libra.Arch.X64;
using Libra.Vdso;

namespace Libra.Time
{
    internal enum ClockSource { None, KvmClock, TscCalibratedByHpet, TscCalibratedByPit }

    // The kernel's monotonic clock: nanoseconds since boot. On KVM it reads kvmclock; otherwise the
    // TSC, whose rate is measured once against the HPET (or the PIT where there is no HPET). Under
    // TCG the TSC follows host time (../shared/reference/protocols.md §5.1).
    internal static unsafe class Clock
    {
        private const ulong CalibrationNs = 50_000_000;

        internal static ClockSource Source;
        internal static ulong TscHz;
        private static ulong s_tscAtBoot;
        private static ulong s_nsPerTscShift32;   // nanoseconds per TSC tick, as a 32.32 fixed-point number

        internal static void Initialize()
        {
            if (Cpu.HasKvmClock && KvmClock.Initialize(&VdsoPage->Pvclock))
            {
                Source = ClockSource.KvmClock;
                TscHz = KvmClock.TscHz;
                return;
            }
            ulong tscStart, tscEnd, ns;
            if (Hpet.Initialize())
            {
                ulong hpetStart = Hpet.Read();
                tscStart = Native.ReadTsc();
                while (Hpet.ToNanoseconds(Hpet.Read() - hpetStart) < CalibrationNs) Native.Pause();
                tscEnd = Native.ReadTsc();
                ns = Hpet.ToNanoseconds(Hpet.Read() - hpetStart);
                Source = ClockSource.TscCalibratedByHpet;
            }
            else
            {
                tscStart = Native.ReadTsc();
                ns = Pit.Wait(CalibrationNs);
                tscEnd = Native.ReadTsc();
                Source = ClockSource.TscCalibratedByPit;
            }
            TscHz = (tscEnd - tscStart) * 1_000_000_000ul / ns;
            s_nsPerTscShift32 = (1_000_000_000ul << 32) / TscHz;
            s_tscAtBoot = tscStart;
        }

        // CLOCK_REALTIME minus the monotonic clock: the RTC's reading at boot, less the time since.
        internal static ulong RealtimeOffset;

        internal static void SetWallClock(ulong unixSeconds)
        {
            RealtimeOffset = unixSeconds * 1_000_000_000ul - Nanoseconds();
            if (s_published) Publish();
        }

        // The vDSO's data page in the kernel image (Vdso/VdsoImage.S), mapped read-only into the application.
        internal static VdsoData* VdsoPage => (VdsoData*)Native.GetImageLayout()->VdsoDataPage;
        private static bool s_published;

        // Writes the parameters with which the vDSO (Vdso/vdso.c) computes, in user mode, exactly what
        // Nanoseconds() and RealtimeNanoseconds() give: the same formula over the same TSC. The
        // sequence counter is odd while the fields change (Linux's vdso_data seq), so a reader never
        // mixes old and new; under KVM the vDSO reads kvmclock's own structure, which KVM keeps.
        internal static void Publish()
        {
            VdsoData* data = VdsoPage;
            Volatile.Write(ref data->Sequence, data->Sequence + 1);
            data->Mode = Source switch
            {
                ClockSource.KvmClock => VdsoMode.Pvclock,
                ClockSource.None => VdsoMode.Syscall,
                _ => VdsoMode.Tsc,
            };
            data->TscBase = s_tscAtBoot;
            data->NsPerTick = s_nsPerTscShift32;
            data->PvclockBootNs = KvmClock.BootNanoseconds;
            data->RealtimeOffset = RealtimeOffset;
            data->ResolutionNs = LocalApic.ResolutionNs;
            Volatile.Write(ref data->Sequence, data->Sequence + 1);
            s_published = true;
        }

        internal static ulong RealtimeNanoseconds() => Nanoseconds() + RealtimeOffset;

        internal static ulong Nanoseconds()
        {
            if (Source == ClockSource.KvmClock) return KvmClock.Nanoseconds();
            if (Source == ClockSource.None) return 0;
            return FixedPoint.MultiplyShift32(Native.ReadTsc() - s_tscAtBoot, s_nsPerTscShift32);
        }

        internal static string SourceName => Source switch
        {
            ClockSource.KvmClock => "kvmclock",
            ClockSource.TscCalibratedByHpet => "TSC (calibrated against the HPET)",
            ClockSource.TscCalibratedByPit => "TSC (calibrated against the PIT)",
            _ => "none",
        };

        internal static void SpinFor(ulong nanoseconds)
        {
            ulong start = Nanoseconds();
            while (Nanoseconds() - start < nanoseconds) Native.Pause();
        }
    }
}
