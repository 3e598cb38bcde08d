using Libra.Boot;
using Libra.Diagnostics;
using Xunit;

namespace Libra.Tests.Unit;

public class CommandLineTests
{
    private static List<(string Key, string? Value)> Words(string text)
    {
        var words = new List<(string, string?)>();
        int position = 0;
        while (CommandLine.Next(text, ref position, out int ks, out int kl, out int vs, out int vl))
            words.Add((text.Substring(ks, kl), vl >= 0 ? text.Substring(vs, vl) : null));
        return words;
    }

    [Fact]
    public void Words_split_on_spaces_into_keys_and_values()
    {
        Assert.Equal(new (string, string?)[] { ("libra.selftest", "clock"), ("quiet", null), ("a", "b=c"), ("empty", "") },
            Words("  libra.selftest=clock quiet   a=b=c empty= "));
    }

    [Fact]
    public void Words_after_a_double_dash_belong_to_the_application()
    {
        Assert.Equal(new (string, string?)[] { ("libra.tick_hz", "250") }, Words("libra.tick_hz=250 -- --verbose x=1"));
    }

    [Theory]
    [InlineData("libra.selftest", "pagefault", true, (int)OptionResult.Applied)]
    [InlineData("libra.selftest", "invalid-opcode", true, (int)OptionResult.Applied)]
    [InlineData("libra.selftest", "bogus", true, (int)OptionResult.BadValue)]
    [InlineData("libra.selftest", "", false, (int)OptionResult.BadValue)]
    [InlineData("libra.tick_hz", "1000", true, (int)OptionResult.Applied)]
    [InlineData("libra.tick_hz", "5", true, (int)OptionResult.BadValue)]
    [InlineData("libra.tick_hz", "12a", true, (int)OptionResult.BadValue)]
    [InlineData("libra.vdso", "off", true, (int)OptionResult.Applied)]
    [InlineData("libra.vdso", "0", true, (int)OptionResult.BadValue)]
    [InlineData("libra.page_cache", "16M", true, (int)OptionResult.Applied)]
    [InlineData("libra.page_cache", "lots", true, (int)OptionResult.BadValue)]
    [InlineData("libra.share", "ro", true, (int)OptionResult.Applied)]
    [InlineData("libra.share", "readonly", true, (int)OptionResult.BadValue)]
    [InlineData("libra.side_batching", "off", true, (int)OptionResult.Applied)]
    [InlineData("libra.side_batching", "none", true, (int)OptionResult.BadValue)]
    [InlineData("libra.fail_alloc", "4", true, (int)OptionResult.Applied)]
    [InlineData("libra.fail_alloc", "0", true, (int)OptionResult.BadValue)]
    [InlineData("libra.fail_alloc", "4294967296", true, (int)OptionResult.BadValue)]
    [InlineData("libra.nonsense", "1", true, (int)OptionResult.UnknownOption)]
    [InlineData("console", "ttyS0", true, (int)OptionResult.UnknownOption)]
    public void Options_are_applied_or_rejected_with_a_reason(string key, string value, bool hasValue, int expected)
    {
        var options = KernelOptions.Defaults;
        Assert.Equal((OptionResult)expected, options.Apply(key, value, hasValue));
    }

    [Fact]
    public void The_page_cache_size_is_the_kernel_s_choice_unless_given_and_0_turns_it_off()
    {
        var options = KernelOptions.Defaults;
        Assert.Equal(ulong.MaxValue, options.PageCacheSize);
        Assert.False(options.ShareReadOnly);
        options.Apply("libra.page_cache", "0", true);
        options.Apply("libra.share", "ro", true);
        Assert.Equal(0ul, options.PageCacheSize);
        Assert.True(options.ShareReadOnly);
        options.Apply("libra.page_cache", "8M", true);
        Assert.Equal(8ul << 20, options.PageCacheSize);
    }

    [Fact]
    public void The_Side_link_is_batched_unless_libra_side_batching_is_off()
    {
        var options = KernelOptions.Defaults;
        Assert.False(options.NoSideBatching);
        options.Apply("libra.side_batching", "off", true);
        Assert.True(options.NoSideBatching);
        options.Apply("libra.side_batching", "on", true);
        Assert.False(options.NoSideBatching);
    }

    [Fact]
    public void No_allocation_fails_on_purpose_unless_libra_fail_alloc_says_one_in_N()
    {
        var options = KernelOptions.Defaults;
        Assert.Equal(0u, options.FailAllocOneIn);
        options.Apply("libra.fail_alloc", "7", true);
        Assert.Equal(7u, options.FailAllocOneIn);
    }

    [Fact]
    public void A_rejected_value_leaves_the_default()
    {
        var options = KernelOptions.Defaults;
        options.Apply("libra.tick_hz", "99999", true);
        Assert.Equal(KernelOptions.DefaultTickHz, options.TickHz);
    }

    [Theory]
    [InlineData("0", true, 0ul)]
    [InlineData("18446744073709551615", true, ulong.MaxValue)]
    [InlineData("18446744073709551616", false, 0ul)]
    [InlineData("0x1F", true, 31ul)]
    [InlineData("0x", false, 0ul)]
    [InlineData("", false, 0ul)]
    public void Numbers_parse_in_decimal_and_hex_and_overflow_is_refused(string text, bool ok, ulong value)
    {
        Assert.Equal(ok, NumberText.TryParse(text, out ulong parsed));
        if (ok) Assert.Equal(value, parsed);
    }
}
