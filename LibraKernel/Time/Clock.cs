using System.Threading;
using Libra.Arch.X64;
using Libra.Vdso;

namespace Libra.Time
{
    internal enum ClockSource { None, KvmClock, TscFromCpuid, TscCalibratedByHpet, TscCalibratedByPit }

    // The kernel's monotonic clock: nanoseconds since boot. On KVM it reads kvmclock; otherwise the
    // TSC, whose rate CPUID gives (leaf 15H) or is measured once against the HPET (or the PIT where
    // there is no HPET). Under TCG the TSC follows host time (../shared/reference/protocols.md §5.1),
    // and QEMU's `-cpu max` stops at leaf 0DH, so the HPET measures it.
    internal static unsafe class Clock
    {
        // A calibration against the HPET runs at least 10 ms and stops once its error bound is within
        // 50 ppm (the clock then drifts at most 50 µs a second from the host's), or at 50 ms whatever
        // the bound; the PIT, read only at its terminal count, gets the full 50 ms.
        private const ulong CalibrationMinNs = 10_000_000, CalibrationMaxNs = 50_000_000, CalibrationTargetPpm = 50;

        internal static ClockSource Source;
        internal static ulong TscHz;
        internal static ulong CalibrationNs, CalibrationErrorPpm;   // what the calibration took and its error bound (0 when not calibrated)
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
            s_tscAtBoot = Native.ReadTsc();
            TscHz = TscFrequency.FromCpuid(Cpu.MaxLeaf, Cpu.Leaf15Eax, Cpu.Leaf15Ebx, Cpu.Leaf15Ecx, Cpu.Leaf16Eax);
            if (TscHz != 0) Source = ClockSource.TscFromCpuid;
            else if (Hpet.Initialize()) CalibrateAgainstHpet();
            else
            {
                ulong tscStart = Native.ReadTsc();
                CalibrationNs = Pit.Wait(CalibrationMaxNs);
                TscHz = (Native.ReadTsc() - tscStart) * 1_000_000_000ul / CalibrationNs;
                CalibrationErrorPpm = 838 * 1_000_000 / CalibrationNs + 1;     // one PIT count (838 ns) over the wait
                Source = ClockSource.TscCalibratedByPit;
            }
            s_nsPerTscShift32 = (1_000_000_000ul << 32) / TscHz;
        }

        // The TSC's rate measured against the HPET, each TSC read bracketed by two HPET reads
        // (TscFrequency.RateFromBrackets), for as long as the error bound asks. Under TCG on a busy host
        // the vCPU can be descheduled between two reads for milliseconds, which widens a bracket: the
        // start is taken again while its reads are more than 20 µs apart, and of the end brackets the
        // one with the smallest bound wins.
        private static void CalibrateAgainstHpet()
        {
            ulong startBefore = 0, tscStart = 0, startAfter = 0;
            for (int attempt = 0; attempt < 10; attempt++)
            {
                startBefore = Hpet.Read(); tscStart = Native.ReadTsc(); startAfter = Hpet.Read();
                if (Hpet.ToNanoseconds(startAfter - startBefore) <= 20_000) break;
            }
            CalibrationErrorPpm = ulong.MaxValue;
            while (true)
            {
                ulong endBefore = Hpet.Read(), tscEnd = Native.ReadTsc(), endAfter = Hpet.Read();
                ulong longest = Hpet.ToNanoseconds(endAfter - startBefore);
                if (longest >= CalibrationMinNs)
                {
                    ulong hz = TscFrequency.RateFromBrackets(tscEnd - tscStart, Hpet.ToNanoseconds(endBefore - startAfter), longest, out ulong ppm);
                    if (ppm < CalibrationErrorPpm) { TscHz = hz; CalibrationErrorPpm = ppm; CalibrationNs = longest; }
                    if (CalibrationErrorPpm <= CalibrationTargetPpm || longest >= CalibrationMaxNs) break;
                }
                Native.Pause();
            }
            Source = ClockSource.TscCalibratedByHpet;
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
            ClockSource.TscFromCpuid => "TSC (rate from CPUID 15H)",
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
