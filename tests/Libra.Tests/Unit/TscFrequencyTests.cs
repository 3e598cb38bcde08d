using Libra.Time;
using Xunit;

namespace Libra.Tests.Unit;

// LibraKernel/Time/TscFrequency.cs: where the TSC's rate comes from (CPUID 15H/16H, or a bracketed
// measurement against the HPET), compiled from the kernel's own file.
public class TscFrequencyTests
{
    [Fact]
    public void Leaf_15H_with_a_crystal_gives_crystal_times_ratio()
    {
        // A 24 MHz crystal and a TSC/crystal ratio of 176/2 (Intel SDM Vol. 2A, CPUID leaf 15H): 2112 MHz.
        Assert.Equal(2_112_000_000ul, TscFrequency.FromCpuid(0x16, 2, 176, 24_000_000, 0));
    }

    [Fact]
    public void Leaf_15H_without_a_crystal_falls_back_to_the_base_frequency_of_leaf_16H()
    {
        Assert.Equal(2_100_000_000ul, TscFrequency.FromCpuid(0x16, 2, 210, 0, 2100));
        Assert.Equal(0ul, TscFrequency.FromCpuid(0x15, 2, 210, 0, 2100));       // 16H beyond the highest leaf
        Assert.Equal(0ul, TscFrequency.FromCpuid(0x16, 2, 210, 0, 0));
    }

    [Theory]
    [InlineData(0xdu, 2u, 176u, 24_000_000u)]   // QEMU's `-cpu max` under TCG stops at leaf 0DH
    [InlineData(0x16u, 0u, 176u, 24_000_000u)]  // the ratio not enumerated
    [InlineData(0x16u, 2u, 0u, 24_000_000u)]
    public void No_rate_when_the_CPU_does_not_enumerate_one(uint maxLeaf, uint eax, uint ebx, uint ecx) =>
        Assert.Equal(0ul, TscFrequency.FromCpuid(maxLeaf, eax, ebx, ecx, 2100));

    [Fact]
    public void A_bracketed_measurement_takes_the_middle_and_bounds_the_error_by_half_the_range()
    {
        // 20,960,000 ticks between TSC reads known to be 9,998 to 10,002 µs apart: 2096 MHz, within 200 ppm.
        ulong hz = TscFrequency.RateFromBrackets(20_960_000, 9_998_000, 10_002_000, out ulong ppm);
        Assert.Equal(2_096_000_000ul, hz);
        Assert.Equal(200ul, ppm);
    }

    [Fact]
    public void An_exact_measurement_has_no_error_and_a_rounded_bound_never_understates()
    {
        Assert.Equal(1_000_000_000ul, TscFrequency.RateFromBrackets(10_000_000, 10_000_000, 10_000_000, out ulong exact));
        Assert.Equal(0ul, exact);
        TscFrequency.RateFromBrackets(30_000_000, 29_999_999, 30_000_001, out ulong tiny);
        Assert.Equal(1ul, tiny);                 // 1 ns in 30 ms is 0.03 ppm, stated as 1
    }

    [Fact]
    public void An_empty_interval_gives_no_rate()
    {
        Assert.Equal(0ul, TscFrequency.RateFromBrackets(5, 0, 0, out ulong ppm));
        Assert.Equal(ulong.MaxValue, ppm);
    }
}
