using Libra.Time;
using Xunit;

namespace Libra.Tests.Unit;

public class FixedPointTests
{
    [Fact]
    public void MultiplyShift32_matches_128_bit_arithmetic_for_large_tick_counts()
    {
        ulong nsPerTick = (1_000_000_000ul << 32) / 2_100_000_000;     // a 2.1 GHz TSC
        foreach (ulong ticks in new ulong[] { 0, 1, 2_100_000_000, 2_100_000_000ul * 3600 * 24 * 365 })
        {
            UInt128 exact = ((UInt128)ticks * nsPerTick) >> 32;
            Assert.Equal((ulong)exact, FixedPoint.MultiplyShift32(ticks, nsPerTick));
        }
    }

    [Theory]
    [InlineData(1000ul, 0x80000000u, (sbyte)1, 1000ul)]
    [InlineData(1000ul, 0x80000000u, (sbyte)-1, 250ul)]
    public void PvclockScale_shifts_then_multiplies(ulong delta, uint mul, sbyte shift, ulong expected) =>
        Assert.Equal(expected, FixedPoint.PvclockScale(delta, mul, shift));
}
