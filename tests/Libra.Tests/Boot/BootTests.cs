using Xunit;
using Xunit.Abstractions;

namespace Libra.Tests.Boot;

[Collection("qemu")]
public class BootTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("128M", "RAM 128 MiB")]
    [InlineData("1G", "RAM 1 GiB")]
    public async Task Banner_reports_the_RAM_QEMU_was_given_and_the_CPU_features(string memory, string expected)
    {
        var boot = await LibraBoot.RunAsync(memory: memory);
        output.WriteLine(boot.Output);
        Assert.Equal(0, boot.GuestStatus);
        var banner = boot.FirstLine("libra: Libra ");
        Assert.NotNull(banner);
        Assert.Contains(expected, banner.Value.Text);
        var features = boot.FirstLine("libra: cpu features:");
        Assert.NotNull(features);
        Assert.Contains(" sse4.2", features.Value.Text);
        Assert.Contains(" popcnt", features.Value.Text);
        Assert.Contains("libra: exit status 0", boot.Output);
        output.WriteLine($"banner after {banner.Value.At.TotalMilliseconds:0} ms of host time");
    }

    [Fact]
    public async Task Clock_advances_at_the_host_clock_rate_and_the_timer_interrupt_ticks()
    {
        var boot = await LibraBoot.RunAsync("libra.selftest=clock");
        output.WriteLine(boot.Output);
        Assert.Equal(0, boot.GuestStatus);
        var mark0 = boot.FirstLine("clock mark 0");
        var mark1 = boot.FirstLine("clock mark 1");
        Assert.NotNull(mark0);
        Assert.NotNull(mark1);
        // The guest waits 2 s by its own clock between the marks; the host times the same interval.
        double host = (mark1.Value.At - mark0.Value.At).TotalSeconds;
        double guest = Libra.SelfTestsClock.GuestSeconds(mark1.Value.Text);
        output.WriteLine($"guest {guest:0.000} s, host {host:0.000} s");
        Assert.InRange(guest, 2.0, 2.05);
        Assert.InRange(host / guest, 0.9, 1.1);
        // 100 Hz by default: 200 ticks over 2 s on an idle host. Under TCG a busy host delays the vCPU
        // and QEMU folds missed periodic ticks into one, so only the upper bound is tight.
        Assert.InRange(Libra.SelfTestsClock.Ticks(mark1.Value.Text), 100, 220);
    }

    [Fact]
    public async Task Unknown_and_malformed_options_are_warned_about_and_the_boot_goes_on()
    {
        var boot = await LibraBoot.RunAsync("libra.bogus=1 libra.selftest libra.tick_hz=abc console=ttyS0");
        output.WriteLine(boot.Output);
        Assert.Equal(0, boot.GuestStatus);
        Assert.Contains("libra: warning: unknown option 'libra.bogus=1' ignored", boot.Output);
        Assert.Contains("libra: warning: bad value in 'libra.selftest' ignored (expected one of: pagefault", boot.Output);
        Assert.Contains("libra: warning: bad value in 'libra.tick_hz=abc' ignored", boot.Output);
        Assert.Contains("libra: warning: unknown option 'console=ttyS0' ignored", boot.Output);
        Assert.Contains("libra: exit status 0", boot.Output);
    }

    [Fact]
    public async Task Too_little_RAM_stops_with_a_clear_message_not_a_triple_fault()
    {
        var boot = await LibraBoot.RunAsync(memory: "16M");
        output.WriteLine(boot.Output);
        Assert.Equal(1, boot.GuestStatus);
        Assert.Contains("libra: not enough memory: Libra needs at least 24 MiB of RAM and this machine has 16 MiB", boot.Output);
        Assert.DoesNotContain("PANIC", boot.Output);
    }
}
