using Libra.Arch.X64;

namespace Libra.Time
{
    // The 8254 PIT channel 2, gated through port 0x61: a one-shot countdown at 1.193182 MHz, used to
    // calibrate the TSC where there is no HPET.
    internal static class Pit
    {
        private const ulong FrequencyHz = 1_193_182;

        // Busy-waits about `nanoseconds` (in countdowns of at most 50 ms) and returns the exact time waited.
        internal static ulong Wait(ulong nanoseconds)
        {
            ulong waited = 0;
            while (waited < nanoseconds)
            {
                ulong slice = nanoseconds - waited;
                if (slice > 50_000_000) slice = 50_000_000;
                ulong count = slice * FrequencyHz / 1_000_000_000;
                if (count == 0) count = 1;
                byte gate = Native.InByte(0x61);
                Native.OutByte(0x61, (byte)((gate & ~0x02) | 0x01));    // gate on, speaker off
                Native.OutByte(0x43, 0xb0);                            // channel 2, lobyte/hibyte, mode 0
                Native.OutByte(0x42, (byte)count);
                Native.OutByte(0x42, (byte)(count >> 8));
                while ((Native.InByte(0x61) & 0x20) == 0) Native.Pause(); // OUT2 goes high at terminal count
                waited += count * 1_000_000_000 / FrequencyHz;
            }
            return waited;
        }
    }
}
