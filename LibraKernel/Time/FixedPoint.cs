namespace Libra.Time
{
    internal static class FixedPoint
    {
        // (value * factor) >> 32 without overflowing 64 bits, for factor < 2^32 * 2^31.
        internal static ulong MultiplyShift32(ulong value, ulong factor)
        {
            ulong high = value >> 32, low = value & 0xffffffff;
            return high * factor + ((low * factor) >> 32);
        }

        // The pvclock scaling (Linux pvclock_scale_delta): (delta shifted by `shift`) * mul >> 32.
        internal static ulong PvclockScale(ulong delta, uint mul, sbyte shift)
        {
            if (shift < 0) delta >>= -shift;
            else delta <<= shift;
            return MultiplyShift32(delta, mul);
        }
    }
}
