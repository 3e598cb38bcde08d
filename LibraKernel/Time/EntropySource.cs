using Libra.Arch.X64;

namespace Libra.Time
{
    // Random bytes for getrandom, AT_RANDOM and /dev/urandom: RDRAND where the CPU has it, else a
    // xorshift generator seeded from the TSC (not cryptographic; logged at boot).
    internal static unsafe class EntropySource
    {
        private static ulong s_state = 0x9e3779b97f4a7c15;

        internal static bool IsHardware => Cpu.HasRdrand;

        internal static void Fill(byte* buffer, ulong length)
        {
            ulong i = 0;
            while (i < length)
            {
                ulong value = Next();
                for (int b = 0; b < 8 && i < length; b++, i++) buffer[i] = (byte)(value >> (b * 8));
            }
        }

        private static ulong Next()
        {
            if (Cpu.HasRdrand) return Native.RdRand();
            s_state ^= Native.ReadTsc();
            s_state ^= s_state << 13;
            s_state ^= s_state >> 7;
            s_state ^= s_state << 17;
            return s_state;
        }
    }
}
