namespace Libra.Time
{
    // The arithmetic of interval timers (setitimer, POSIX timers, timerfd), apart from the queue so
    // the host tests run it: moving a periodic deadline past `now` and counting the periods passed
    // (Linux's hrtimer_forward, kernel/time/hrtimer.c), and the user's timespec/timeval values in
    // nanoseconds, checked as Linux checks them.
    internal static class TimerArithmetic
    {
        internal const ulong NsPerSecond = 1_000_000_000;
        // Seconds beyond this are "never" (Linux's KTIME_MAX saturation, ~292 years).
        private const ulong MaxSeconds = 9_223_372_035;

        // Moves `expires` forward by whole intervals until it is after `now`; how many intervals it
        // moved (0 when it already was after `now`). As hrtimer_forward: a deadline exactly at `now`
        // counts as passed.
        internal static ulong Forward(ref ulong expires, ulong now, ulong interval)
        {
            if (now < expires || interval == 0) return 0;
            ulong delta = now - expires;
            ulong periods = delta / interval + 1;
            expires += periods * interval;
            return periods;
        }

        // The periods a timer missed while its expiry waited to be consumed, as si_overrun and
        // timer_getoverrun report them: clamped to INT_MAX (timer_overrun_to_int).
        internal static int OverrunToInt(long overrun) => overrun > int.MaxValue ? int.MaxValue : overrun < 0 ? 0 : (int)overrun;

        // A timespec (struct __kernel_timespec) in nanoseconds; false where timespec64_valid fails
        // (negative seconds, nanoseconds outside [0, 1e9)).
        internal static bool TimespecToNs(long seconds, long nanoseconds, out ulong ns)
        {
            ns = 0;
            if (seconds < 0 || nanoseconds < 0 || nanoseconds >= (long)NsPerSecond) return false;
            ns = (ulong)seconds >= MaxSeconds ? ulong.MaxValue / 2 : (ulong)seconds * NsPerSecond + (ulong)nanoseconds;
            return true;
        }

        // A timeval (setitimer's) in nanoseconds; false where timeval_valid fails.
        internal static bool TimevalToNs(long seconds, long microseconds, out ulong ns)
        {
            ns = 0;
            if (seconds < 0 || microseconds < 0 || microseconds >= 1_000_000) return false;
            ns = (ulong)seconds >= MaxSeconds ? ulong.MaxValue / 2 : (ulong)seconds * NsPerSecond + (ulong)microseconds * 1000;
            return true;
        }

        // Nanoseconds as a timeval, the microseconds truncated (ns_to_kernel_old_timeval).
        internal static void NsToTimeval(ulong ns, out long seconds, out long microseconds)
        {
            seconds = (long)(ns / NsPerSecond);
            microseconds = (long)(ns % NsPerSecond / 1000);
        }

        // What alarm() returns for the time the previous alarm had left: whole seconds, rounded to
        // the nearest (a half rounds up), and at least 1 when any time was left (alarm_setitimer).
        internal static uint AlarmSeconds(ulong remainingNs)
        {
            NsToTimeval(remainingNs, out long seconds, out long microseconds);
            if ((seconds == 0 && microseconds != 0) || microseconds >= 500_000) seconds++;
            return seconds > uint.MaxValue ? uint.MaxValue : (uint)seconds;
        }
    }
}
