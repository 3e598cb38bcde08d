using Libra.Memory;
using Libra.Threads;
using Libra.Time;

namespace Libra.Shims
{
    // Time: every clock glibc asks for, and the sleeps. The vDSO (LibraKernel/Vdso/vdso.c) answers
    // the common clock reads in user mode with the same arithmetic; these calls are its fallback.
    // Sleeps and timeouts wait on the kernel's timer queue (Time/Timers.cs) and end at their
    // deadline to the timer's resolution, which clock_getres reports.
    internal static unsafe class TimeCalls
    {
        internal const int CLOCK_REALTIME = 0, CLOCK_MONOTONIC = 1, CLOCK_PROCESS_CPUTIME_ID = 2, CLOCK_THREAD_CPUTIME_ID = 3,
            CLOCK_MONOTONIC_RAW = 4, CLOCK_REALTIME_COARSE = 5, CLOCK_MONOTONIC_COARSE = 6, CLOCK_BOOTTIME = 7,
            CLOCK_REALTIME_ALARM = 8, CLOCK_BOOTTIME_ALARM = 9, CLOCK_TAI = 11;
        internal const int TIMER_ABSTIME = 1;
        private const ulong NsPerSecond = 1_000_000_000;

        // The clock's reading in nanoseconds; false for an id Linux would refuse. CPU-time clocks count
        // the time a thread (or every thread) held the CPU, the kernel's share included.
        private static bool Read(int clock, out ulong nanoseconds)
        {
            switch (clock)
            {
                case CLOCK_REALTIME: case CLOCK_REALTIME_COARSE: case CLOCK_REALTIME_ALARM: case CLOCK_TAI:
                    nanoseconds = Clock.RealtimeNanoseconds();
                    return true;
                case CLOCK_MONOTONIC: case CLOCK_MONOTONIC_RAW: case CLOCK_MONOTONIC_COARSE: case CLOCK_BOOTTIME:
                case CLOCK_BOOTTIME_ALARM:
                    nanoseconds = Clock.Nanoseconds();
                    return true;
                case CLOCK_PROCESS_CPUTIME_ID:
                    nanoseconds = Scheduler.ProcessCpuNanoseconds();
                    return true;
                case CLOCK_THREAD_CPUTIME_ID:
                    nanoseconds = Scheduler.ThreadCpuNanoseconds(Scheduler.Current);
                    return true;
                default:
                    // A CPU clock of a thread or the process by id (~pid << 3 | kind; sched.h CPUCLOCK_*).
                    if (clock >= 0) { nanoseconds = 0; return false; }
                    Thread* thread = (clock & 4) != 0 ? ThreadTable.Find(~(clock >> 3)) : null;
                    nanoseconds = thread != null ? Scheduler.ThreadCpuNanoseconds(thread) : Scheduler.ProcessCpuNanoseconds();
                    return true;
            }
        }

        private static bool WriteTimespec(ulong address, ulong nanoseconds)
        {
            ulong* timespec = stackalloc ulong[2];
            timespec[0] = nanoseconds / NsPerSecond;
            timespec[1] = nanoseconds % NsPerSecond;
            return UserMemory.CopyToUser(address, timespec, 16);
        }

        // A timespec from user memory in nanoseconds: 0 on success, else -errno.
        private static long ReadTimespec(ulong address, out ulong nanoseconds)
        {
            nanoseconds = 0;
            long* timespec = stackalloc long[2];
            if (!UserMemory.CopyFromUser(timespec, address, 16)) return -Errno.EFAULT;
            if (timespec[0] < 0 || timespec[1] < 0 || timespec[1] >= (long)NsPerSecond) return -Errno.EINVAL;
            ulong seconds = (ulong)timespec[0];
            nanoseconds = seconds > 100_000_000_000ul ? ulong.MaxValue / 2 : seconds * NsPerSecond + (ulong)timespec[1];
            return 0;
        }

        // The clocks an absolute time on is a wall-clock time (Clock.RealtimeOffset apart from monotonic).
        internal static bool IsRealtime(int clock) =>
            clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE || clock == CLOCK_TAI || clock == CLOCK_REALTIME_ALARM;

        // A timer's first deadline on the monotonic clock: `value` from now, or at `value` on `clock`
        // (TIMER_ABSTIME, TFD_TIMER_ABSTIME); a time already past gives a deadline already past.
        internal static ulong TimerDeadline(int clock, bool absolute, ulong value)
        {
            if (!absolute) return Clock.Nanoseconds() + value;
            if (IsRealtime(clock)) return value > Clock.RealtimeOffset ? value - Clock.RealtimeOffset : 1;
            return value == 0 ? 1 : value;
        }

        // struct itimerspec { timespec it_interval; timespec it_value; } from user memory: 0, or
        // -EFAULT, or -EINVAL for a timespec Linux refuses.
        internal static long ReadItimerspec(ulong address, out ulong value, out ulong interval)
        {
            value = interval = 0;
            long* record = stackalloc long[4];
            if (!UserMemory.CopyFromUser(record, address, 32)) return -Errno.EFAULT;
            if (!TimerArithmetic.TimespecToNs(record[0], record[1], out interval) ||
                !TimerArithmetic.TimespecToNs(record[2], record[3], out value)) return -Errno.EINVAL;
            return 0;
        }

        internal static bool WriteItimerspec(ulong address, ulong value, ulong interval)
        {
            ulong* record = stackalloc ulong[4];
            record[0] = interval / NsPerSecond;
            record[1] = interval % NsPerSecond;
            record[2] = value / NsPerSecond;
            record[3] = value % NsPerSecond;
            return UserMemory.CopyToUser(address, record, 32);
        }

        // A user timeout as a deadline on the monotonic clock (what the scheduler sleeps on).
        internal static long Deadline(ulong timespecAddress, bool absolute, bool realtime, out ulong deadline)
        {
            long result = ReadTimespec(timespecAddress, out ulong value);
            deadline = 0;
            if (result != 0) return result;
            ulong now = Clock.Nanoseconds();
            if (!absolute) deadline = now + value;
            else if (realtime) deadline = value > Clock.RealtimeOffset ? value - Clock.RealtimeOffset : 1;
            else deadline = value;
            if (deadline == 0) deadline = 1;
            return 0;
        }

        internal static long ClockGetTime(SyscallArgs* a)
        {
            if (!Read((int)a->A0, out ulong ns)) return -Errno.EINVAL;
            return WriteTimespec(a->A1, ns) ? 0 : -Errno.EFAULT;
        }

        internal static long ClockGetRes(SyscallArgs* a)
        {
            int clock = (int)a->A0;
            if (!Read(clock, out _)) return -Errno.EINVAL;
            return a->A1 == 0 || WriteTimespec(a->A1, Resolution(clock)) ? 0 : -Errno.EFAULT;
        }

        // The clocks a sleep or timeout waits on resolve to the timer's resolution, as Linux reports
        // hrtimer_resolution for them; the rest (CPU time, raw, coarse) are read exactly at each call.
        private static ulong Resolution(int clock) => clock switch
        {
            CLOCK_REALTIME or CLOCK_MONOTONIC or CLOCK_BOOTTIME or CLOCK_TAI or CLOCK_REALTIME_ALARM or CLOCK_BOOTTIME_ALARM => Timers.ResolutionNs,
            _ => 1,
        };

        internal static long GetTimeOfDay(SyscallArgs* a)
        {
            ulong ns = Clock.RealtimeNanoseconds();
            if (a->A0 != 0)
            {
                ulong* timeval = stackalloc ulong[2];
                timeval[0] = ns / NsPerSecond;
                timeval[1] = ns % NsPerSecond / 1000;
                if (!UserMemory.CopyToUser(a->A0, timeval, 16)) return -Errno.EFAULT;
            }
            if (a->A1 != 0)
            {
                ulong zero = 0;
                if (!UserMemory.CopyToUser(a->A1, &zero, 8)) return -Errno.EFAULT;
            }
            return 0;
        }

        internal static long Time(SyscallArgs* a)
        {
            ulong seconds = Clock.RealtimeNanoseconds() / NsPerSecond;
            if (a->A0 != 0 && !UserMemory.CopyToUser(a->A0, &seconds, 8)) return -Errno.EFAULT;
            return (long)seconds;
        }

        internal static long Nanosleep(SyscallArgs* a) => Sleep(CLOCK_MONOTONIC, 0, a->A0, a->A1);

        internal static long ClockNanosleep(SyscallArgs* a)
        {
            if (!Read((int)a->A0, out _)) return -Errno.EINVAL;
            return Sleep((int)a->A0, (int)a->A1, a->A2, a->A3);
        }

        private static long Sleep(int clock, int flags, ulong request, ulong remaining)
        {
            bool absolute = (flags & TIMER_ABSTIME) != 0;
            long result = Deadline(request, absolute, IsRealtime(clock), out ulong deadline);
            if (result != 0) return result;
            while (true)
            {
                WakeReason reason = Scheduler.Block(deadline);
                if (reason == WakeReason.TimedOut) return 0;
                if (reason == WakeReason.Interrupted)
                {
                    ulong now = Clock.Nanoseconds();
                    if (!absolute && remaining != 0) WriteTimespec(remaining, deadline > now ? deadline - now : 0);
                    return -Errno.EINTR;
                }
            }
        }
    }
}
