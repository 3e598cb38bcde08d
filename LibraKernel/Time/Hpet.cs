using Libra.Memory;

namespace Libra.Time
{
    // The HPET main counter (IA-PC HPET spec 1.0a §2.3), at its usual PC address. Used only to
    // calibrate the TSC. Machines without one (microvm) read back all ones, which fails the check.
    internal static unsafe class Hpet
    {
        private const ulong PhysicalBase = 0xfed00000;
        private const int Capabilities = 0x0, Configuration = 0x10, MainCounter = 0xf0;

        private static byte* s_registers;
        private static ulong s_periodFs;

        internal static bool Initialize()
        {
            s_registers = Layout.PhysicalToVirtual(PhysicalBase);
            ulong capabilities = *(ulong*)(s_registers + Capabilities);
            s_periodFs = capabilities >> 32;
            if (s_periodFs == 0 || s_periodFs > 100_000_000) return false;   // the spec caps the period at 100 ns
            *(ulong*)(s_registers + Configuration) |= 1;                       // ENABLE_CNF
            return true;
        }

        internal static ulong Read() => *(ulong*)(s_registers + MainCounter);

        internal static ulong ToNanoseconds(ulong ticks) => ticks * (s_periodFs / 1000) / 1000;
    }
}
