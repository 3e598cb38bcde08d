namespace Libra.Time
{
    // The TSC's rate, from what the CPU says or from a measurement against a reference clock. Pure
    // arithmetic over CPUID words and clock readings, so the host tests run this very code
    // (tests/Libra.Tests/Unit/TscFrequencyTests.cs); Clock.Initialize reads the hardware.
    internal static class TscFrequency
    {
        // CPUID leaf 15H, "Time Stamp Counter and Nominal Core Crystal Clock Information" (Intel SDM
        // Vol. 2A, CPUID): TSC Hz = crystal Hz (ECX) × EBX / EAX. EAX or EBX zero means the ratio is not
        // enumerated. A zero ECX (the crystal not enumerated, as on Skylake client parts) is filled in
        // from leaf 16H's base frequency in MHz (its EAX), as Linux's native_calibrate_tsc does: the
        // TSC then runs at exactly that base frequency. Returns 0 when the CPU does not say.
        internal static ulong FromCpuid(uint maxLeaf, uint leaf15Eax, uint leaf15Ebx, uint leaf15Ecx, uint leaf16Eax)
        {
            if (maxLeaf < 0x15 || leaf15Eax == 0 || leaf15Ebx == 0) return 0;
            if (leaf15Ecx != 0) return (ulong)leaf15Ecx * leaf15Ebx / leaf15Eax;
            if (maxLeaf < 0x16 || (leaf16Eax & 0xffff) == 0) return 0;
            return (leaf16Eax & 0xffff) * 1_000_000ul;       // bits 15:0, base frequency in MHz
        }

        // A calibration reads the reference clock, the TSC, and the reference again, at its start and at
        // its end. The TSC's two reads are then `shortestNs` to `longestNs` apart: from the first
        // window's last reference read to the second window's first, and from the first window's first
        // to the second's last. The rate is taken at the middle of that range, and its error is at most
        // half the range, in parts per million of the middle (rounded up).
        internal static ulong RateFromBrackets(ulong tscTicks, ulong shortestNs, ulong longestNs, out ulong errorPpm)
        {
            ulong ns = (shortestNs + longestNs) / 2;
            if (ns == 0) { errorPpm = ulong.MaxValue; return 0; }
            errorPpm = ((longestNs - shortestNs) / 2 * 1_000_000 + ns - 1) / ns;
            return tscTicks * 1_000_000_000 / ns;     // no overflow below 18 × 10⁹ ticks: seconds at any rate
        }
    }
}
