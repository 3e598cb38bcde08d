using Libra.Diagnostics;
using Libra.Memory;
using Libra.Signals;
using Libra.Time;

namespace Libra.Shims
{
    // alarm, setitimer and getitimer (kernel/time/itimer.c): the process's ITIMER_REAL sends SIGALRM
    // with si_code SI_KERNEL (it_real_fn's SEND_SIG_PRIV) at its deadline and, when periodic, goes on
    // once that SIGALRM is taken (dequeue_signal), from the first period after that moment.
    // ITIMER_VIRTUAL and ITIMER_PROF count CPU time, which Libra's tickless scheduler does not watch:
    // arming one answers EINVAL with a kernel-log line; reading or disarming one sees zeros, which is
    // true, since none was ever armed.
    internal static unsafe class IntervalTimerCalls
    {
        private const int ITIMER_REAL = 0, ITIMER_VIRTUAL = 1, ITIMER_PROF = 2;
        private static IntervalTimer* s_real;
        private static bool s_cpuTimerReported;

        private static IntervalTimer* Real
        {
            get
            {
                if (s_real == null) s_real = (IntervalTimer*)KernelHeap.AllocateZeroed((ulong)sizeof(IntervalTimer));
                return s_real;
            }
        }

        private static void Expired(Timer* timer) => SignalDelivery.SendToProcess(SignalDelivery.SIGALRM, SignalInfo.FromKernel());

        // A SIGALRM was taken (SignalDelivery.Dequeue): a periodic ITIMER_REAL waits for its next period.
        internal static void AlarmTaken()
        {
            if (s_real != null) s_real->Forward(Clock.Nanoseconds(), queue: true);
        }

        // What is left and the period, as getitimer reports them: a timer still queued has at least
        // a microsecond left (itimer_get_remtime); one that fired and waits for its SIGALRM to be taken, none.
        private static void Current(out ulong value, out ulong interval)
        {
            Timers.ExpireDue();     // what is due fires first, however late the timer interrupt
            IntervalTimer* timer = Real;
            interval = timer->Interval;
            value = 0;
            if (!timer->Queued) return;
            long left = timer->Remaining(Clock.Nanoseconds());
            value = left <= 1000 ? 1000 : (ulong)left;
        }

        // Sets ITIMER_REAL (value 0: disarms it); what it had before.
        private static void SetReal(ulong value, ulong interval, out ulong oldValue, out ulong oldInterval)
        {
            Current(out oldValue, out oldInterval);
            if (value == 0) Real->Disarm();
            else Real->Arm(Clock.Nanoseconds() + value, interval, &Expired, null);
        }

        // struct itimerval { timeval it_interval; timeval it_value; }
        private static bool WriteItimerval(ulong address, ulong value, ulong interval)
        {
            long* record = stackalloc long[4];
            TimerArithmetic.NsToTimeval(interval, out record[0], out record[1]);
            TimerArithmetic.NsToTimeval(value, out record[2], out record[3]);
            return UserMemory.CopyToUser(address, record, 32);
        }

        // getitimer(which, value)
        internal static long GetItimer(SyscallArgs* a)
        {
            int which = (int)a->A0;
            ulong value = 0, interval = 0;
            if (which == ITIMER_REAL) Current(out value, out interval);
            else if (which != ITIMER_VIRTUAL && which != ITIMER_PROF) return -Errno.EINVAL;
            return WriteItimerval(a->A1, value, interval) ? 0 : -Errno.EFAULT;
        }

        // setitimer(which, new, old); a null `new` disarms, as Linux still allows.
        internal static long SetItimer(SyscallArgs* a)
        {
            int which = (int)a->A0;
            if (which != ITIMER_REAL && which != ITIMER_VIRTUAL && which != ITIMER_PROF) return -Errno.EINVAL;
            ulong value = 0, interval = 0;
            if (a->A1 != 0)
            {
                long* record = stackalloc long[4];
                if (!UserMemory.CopyFromUser(record, a->A1, 32)) return -Errno.EFAULT;
                if (!TimerArithmetic.TimevalToNs(record[0], record[1], out interval) ||
                    !TimerArithmetic.TimevalToNs(record[2], record[3], out value)) return -Errno.EINVAL;
            }
            ulong oldValue = 0, oldInterval = 0;
            if (which == ITIMER_REAL) SetReal(value, interval, out oldValue, out oldInterval);
            else if (value != 0)
            {
                if (!s_cpuTimerReported)
                {
                    s_cpuTimerReported = true;
                    KernelLog.Line("setitimer: ITIMER_VIRTUAL and ITIMER_PROF (CPU-time timers) are not supported, answering EINVAL");
                }
                return -Errno.EINVAL;
            }
            if (a->A2 != 0 && !WriteItimerval(a->A2, oldValue, oldInterval)) return -Errno.EFAULT;
            return 0;
        }

        // alarm(seconds): ITIMER_REAL once, in whole seconds; the seconds the previous one had left.
        internal static long Alarm(SyscallArgs* a)
        {
            ulong seconds = (uint)a->A0;
            if (seconds > int.MaxValue) seconds = int.MaxValue;
            SetReal(seconds * TimerArithmetic.NsPerSecond, 0, out ulong oldValue, out _);
            return TimerArithmetic.AlarmSeconds(oldValue);
        }
    }
}
