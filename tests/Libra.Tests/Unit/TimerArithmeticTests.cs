using Libra.Time;
using Xunit;

namespace Libra.Tests.Unit;

// The interval-timer arithmetic (LibraKernel/Time/TimerArithmetic.cs) that setitimer, POSIX timers
// and timerfd share, compiled from the kernel's own file, against Linux's hrtimer_forward and its
// timespec/timeval checks.
public class TimerArithmeticTests
{
    private const ulong Ms = 1_000_000;

    [Fact]
    public void Forward_leaves_a_deadline_still_ahead_alone()
    {
        ulong expires = 10 * Ms;
        Assert.Equal(0ul, TimerArithmetic.Forward(ref expires, 9 * Ms, 2 * Ms));
        Assert.Equal(10 * Ms, expires);
    }

    [Fact]
    public void Forward_counts_a_deadline_exactly_at_now_as_passed()
    {
        ulong expires = 10 * Ms;
        Assert.Equal(1ul, TimerArithmetic.Forward(ref expires, 10 * Ms, 2 * Ms));
        Assert.Equal(12 * Ms, expires);
    }

    [Theory]
    // (expires, now, interval) -> periods, new deadline: every period whose deadline is at or before now.
    [InlineData(1, 1, 1, 1, 2)]
    [InlineData(1, 21, 1, 21, 22)]       // a 1 ms timer left unread for 20 ms: 20 missed beside the one consumed
    [InlineData(5, 14, 3, 4, 17)]        // 5, 8, 11, 14 passed; the next is 17
    [InlineData(5, 13, 3, 3, 14)]
    public void Forward_moves_past_now_by_whole_periods(ulong expiresMs, ulong nowMs, ulong intervalMs, ulong periods, ulong nextMs)
    {
        ulong expires = expiresMs * Ms;
        Assert.Equal(periods, TimerArithmetic.Forward(ref expires, nowMs * Ms, intervalMs * Ms));
        Assert.Equal(nextMs * Ms, expires);
    }

    [Fact]
    public void Forward_of_a_one_shot_does_nothing()
    {
        ulong expires = 5;
        Assert.Equal(0ul, TimerArithmetic.Forward(ref expires, 100, 0));
        Assert.Equal(5ul, expires);
    }

    [Theory]
    [InlineData(-1L, 0)]
    [InlineData(4L, 4)]
    [InlineData(7L, 7)]
    [InlineData(3_000_000_000L, int.MaxValue)]
    public void Overrun_is_clamped_to_an_int(long overrun, int expected) =>
        Assert.Equal(expected, TimerArithmetic.OverrunToInt(overrun));

    [Theory]
    [InlineData(0L, 0L, true, 0ul)]
    [InlineData(1L, 999_999_999L, true, 1_999_999_999ul)]
    [InlineData(0L, 1_000_000_000L, false, 0ul)]
    [InlineData(0L, -1L, false, 0ul)]
    [InlineData(-1L, 0L, false, 0ul)]
    public void Timespec_is_checked_as_timespec64_valid(long seconds, long nanoseconds, bool valid, ulong ns)
    {
        Assert.Equal(valid, TimerArithmetic.TimespecToNs(seconds, nanoseconds, out ulong value));
        Assert.Equal(ns, value);
    }

    [Fact]
    public void A_huge_timespec_saturates_instead_of_wrapping()
    {
        Assert.True(TimerArithmetic.TimespecToNs(long.MaxValue, 0, out ulong ns));
        Assert.Equal(ulong.MaxValue / 2, ns);
    }

    [Theory]
    [InlineData(0L, 250_000L, true, 250_000_000ul)]
    [InlineData(2L, 999_999L, true, 2_999_999_000ul)]
    [InlineData(0L, 1_000_000L, false, 0ul)]
    [InlineData(-1L, 0L, false, 0ul)]
    public void Timeval_is_checked_as_timeval_valid(long seconds, long microseconds, bool valid, ulong ns)
    {
        Assert.Equal(valid, TimerArithmetic.TimevalToNs(seconds, microseconds, out ulong value));
        Assert.Equal(ns, value);
    }

    [Fact]
    public void Timeval_from_nanoseconds_truncates_the_microseconds()
    {
        TimerArithmetic.NsToTimeval(1_250_000_999, out long seconds, out long microseconds);
        Assert.Equal(1, seconds);
        Assert.Equal(250_000, microseconds);
    }

    [Theory]
    [InlineData(0ul, 0u)]
    [InlineData(1_000ul, 1u)]                 // any time left is at least a second
    [InlineData(4_499_999_000ul, 4u)]
    [InlineData(4_500_000_000ul, 5u)]         // a half rounds up
    [InlineData(4_999_000_000ul, 5u)]
    public void Alarm_returns_the_seconds_left_rounded(ulong remainingNs, uint seconds) =>
        Assert.Equal(seconds, TimerArithmetic.AlarmSeconds(remainingNs));
}
