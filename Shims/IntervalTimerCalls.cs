using Libra.Memory;
using Libra.Signals;
using Libra.Threads;
using Libra.Time;

namespace Libra.Shims
{
    // alarm, setitimer and getitimer (kernel/time/itimer.c): the process's ITIMER_REAL sends SIGALRM
    // with si_code SI_KERNEL (it_real_fn's SEND_SIG_PRIV) at its deadline and, when periodic, goes on
    // once that SIGALRM is taken (dequeue_signal), from the first period after that moment.
    // ITIMER_PROF (SIGPROF) and ITIMER_VIRTUAL (SIGVTALRM) run on the process's CPU time; Libra does
    // not split user from kernel time (getrusage neither), so both count all of it, where Linux's
    // ITIMER_VIRTUAL counts user time only and so fires later.
    internal static unsafe class IntervalTimerCalls
    {
        private const int ITIMER_REAL = 0, ITIMER_VIRTUAL = 1, ITIMER_PROF = 2;
        private const int SIGVTALRM = 26, SIGPROF = 27;
        private static IntervalTimer* s_real;

        // A deadline on the process's CPU time. One CPU runs the application, so CPU time grows no
        // faster than the clock: the check waits on the timer queue for the CPU time still missing,
        // and fires, or waits again for what is still missing (an idle process checks once per
        // remaining budget). Periodic ones go on at once, as Linux's check_cpu_itimer.
        private struct CpuTimer
        {
            internal Timer Check;
            internal ulong Expires;     // process CPU nanoseconds; 0: disarmed
            internal ulong Interval;
            internal int Signal;
        }

        private struct CpuTimers { internal CpuTimer Virtual, Prof; }
        private static CpuTimers* s_cpu;

        // The process's three timers, made at boot so that no call needs memory for them.
        internal static void Initialize()
        {
            s_real = (IntervalTimer*)KernelHeap.AllocateZeroed((ulong)sizeof(IntervalTimer));
            s_cpu = (CpuTimers*)KernelHeap.AllocateZeroed((ulong)sizeof(CpuTimers));
            s_cpu->Virtual.Signal = SIGVTALRM;
            s_cpu->Prof.Signal = SIGPROF;
        }

        private static IntervalTimer* Real => s_real;

        private static void Expired(Timer* timer) => SignalDelivery.SendToProcess(SignalDelivery.SIGALRM, SignalInfo.FromKernel());

        private static CpuTimer* CpuTimerOf(int which) => which == ITIMER_VIRTUAL ? &s_cpu->Virtual : &s_cpu->Prof;

        private static void CheckCpuTimer(Timer* check)
        {
            var timer = (CpuTimer*)check->Owner;
            ulong used = Scheduler.ProcessCpuNanoseconds();
            if (used >= timer->Expires)
            {
                SignalDelivery.SendToProcess(timer->Signal, SignalInfo.FromKernel());
                timer->Expires = timer->Interval != 0 ? timer->Expires + timer->Interval : 0;
                if (timer->Expires == 0) return;
            }
            Timers.Start(check, Clock.Nanoseconds() + (timer->Expires > used ? timer->Expires - used : 0), &CheckCpuTimer, timer);
        }

        // Sets a CPU-time timer (value 0: disarms it); what it had before.
        private static void SetCpu(int which, ulong value, ulong interval, out ulong oldValue, out ulong oldInterval)
        {
            CpuTimer* timer = CpuTimerOf(which);
            ulong used = Scheduler.ProcessCpuNanoseconds();
            CurrentCpu(timer, used, out oldValue, out oldInterval);
            Timers.Cancel(&timer->Check);
            timer->Expires = value != 0 ? used + value : 0;
            timer->Interval = value != 0 ? interval : 0;
            if (value != 0) Timers.Start(&timer->Check, Clock.Nanoseconds() + value, &CheckCpuTimer, timer);
        }

        // The CPU time left (at least 1 µs while armed, as for ITIMER_REAL) and the period.
        private static void CurrentCpu(CpuTimer* timer, ulong used, out ulong value, out ulong interval)
        {
            interval = timer->Interval;
            value = timer->Expires == 0 ? 0 : timer->Expires > used + 1000 ? timer->Expires - used : 1000;
        }

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
            ulong value, interval;
            if (which == ITIMER_REAL) Current(out value, out interval);
            else if (which == ITIMER_VIRTUAL || which == ITIMER_PROF)
                CurrentCpu(CpuTimerOf(which), Scheduler.ProcessCpuNanoseconds(), out value, out interval);
            else return -Errno.EINVAL;
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
            ulong oldValue, oldInterval;
            if (which == ITIMER_REAL) SetReal(value, interval, out oldValue, out oldInterval);
            else SetCpu(which, value, interval, out oldValue, out oldInterval);
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
