using Libra.Diagnostics;
using Libra.Memory;
using Libra.Signals;
using Libra.Threads;
using Libra.Time;

namespace Libra.Shims
{
    // POSIX timers (timer_create, timer_settime, timer_gettime, timer_getoverrun, timer_delete;
    // kernel/time/posix-timers.c): the process's timers on CLOCK_REALTIME, CLOCK_MONOTONIC,
    // CLOCK_BOOTTIME and CLOCK_TAI, each sending its signal to the process (SIGEV_SIGNAL, and
    // SIGEV_THREAD, which glibc turns into SIGEV_THREAD_ID) or to one thread (SIGEV_THREAD_ID), or
    // nothing (SIGEV_NONE), with si_code SI_TIMER, si_timerid, si_overrun and si_value as Linux fills
    // them. A periodic timer goes on once its signal is taken, and the periods it missed meanwhile
    // are that signal's si_overrun. A signal still pending when its timer is set again or deleted is
    // dropped (as Linux 6.13 and later do, at delivery). CPU-time clocks are not kept: EINVAL with a
    // kernel-log line.
    internal static unsafe class PosixTimerCalls
    {
        private const int SIGEV_SIGNAL = 0, SIGEV_NONE = 1, SIGEV_THREAD = 2, SIGEV_THREAD_ID = 4;
        private const int MaxTimers = 1024;

        private struct PosixTimer
        {
            internal IntervalTimer Timer;
            internal int Id, Clock, Notify, Signal, TargetTid;
            internal ulong Value;           // sigev_value, the signal's si_value
            internal int Setting;           // counts timer_settime calls: a signal of an earlier setting re-arms nothing
            internal long Overrun;          // periods missed since the last signal was taken, less one (Linux's it_overrun)
            internal long OverrunLast;      // the missed periods the last taken signal reported (it_overrun_last)
            internal int PendingTid;        // the thread its signal is pending on; 0 when none is
        }

        private struct Slots { internal fixed ulong Timers[MaxTimers]; }
        private static Slots s_timers;
        private static bool s_cpuClockReported;

        private static PosixTimer* Find(ulong id) => id < MaxTimers ? (PosixTimer*)s_timers.Timers[id] : null;

        // timer_create(clock, sevp, timerid)
        internal static long Create(SyscallArgs* a)
        {
            int clock = (int)a->A0;
            long refused = ClockRefusal(clock);
            if (refused != 0) return refused;
            int notify = SIGEV_SIGNAL, signal = SignalDelivery.SIGALRM, tid = 0;
            ulong value = 0;
            if (a->A1 != 0)
            {
                // struct sigevent { sigval_t value; int signo; int notify; union { int tid; ... } } (64 bytes)
                byte* sigevent = stackalloc byte[64];
                if (!UserMemory.CopyFromUser(sigevent, a->A1, 64)) return -Errno.EFAULT;
                value = *(ulong*)sigevent;
                signal = *(int*)(sigevent + 8);
                notify = *(int*)(sigevent + 12);
                tid = *(int*)(sigevent + 16);
                long invalid = CheckSigevent(notify, signal, tid);
                if (invalid != 0) return invalid;
            }
            int id = 0;
            while (id < MaxTimers && s_timers.Timers[id] != 0) id++;
            if (id == MaxTimers) return -Errno.EAGAIN;
            // do_timer_create answers EAGAIN when the timer cannot be allocated.
            var timer = (PosixTimer*)KernelHeap.TryAllocateZeroed((ulong)sizeof(PosixTimer));
            if (timer == null) return -Errno.EAGAIN;
            if (!UserMemory.CopyToUser(a->A2, &id, 4)) { KernelHeap.Free(timer); return -Errno.EFAULT; }
            timer->Id = id;
            timer->Clock = clock;
            timer->Notify = notify;
            timer->Signal = signal;
            timer->TargetTid = tid;
            // Without a sigevent, the signal's value is the timer's id (do_timer_create).
            timer->Value = a->A1 != 0 ? value : (ulong)id;
            timer->Overrun = -1;
            s_timers.Timers[id] = (ulong)timer;
            return 0;
        }

        // 0 for the clocks a timer may run on, else what Linux answers: EINVAL for the clocks with no
        // timers (raw, coarse) and the CPU-time clocks Libra does not keep (Linux does: posix-cpu-timers);
        // EOPNOTSUPP for the alarm clocks, as Linux on a machine without an RTC alarm.
        private static long ClockRefusal(int clock)
        {
            switch (clock)
            {
                case TimeCalls.CLOCK_REALTIME: case TimeCalls.CLOCK_MONOTONIC: case TimeCalls.CLOCK_BOOTTIME: case TimeCalls.CLOCK_TAI:
                    return 0;
                case TimeCalls.CLOCK_REALTIME_ALARM: case TimeCalls.CLOCK_BOOTTIME_ALARM:
                    return -Errno.ENOTSUP;
                case TimeCalls.CLOCK_PROCESS_CPUTIME_ID: case TimeCalls.CLOCK_THREAD_CPUTIME_ID:
                    break;
                default:
                    if (clock >= 0 || (clock & 7) == 7) return -Errno.EINVAL;
                    break;
            }
            if (!s_cpuClockReported)
            {
                s_cpuClockReported = true;
                KernelLog.Line("timer_create: timers on CPU-time clocks are not supported, answering EINVAL");
            }
            return -Errno.EINVAL;
        }

        // kernel/time/posix-timers.c good_sigevent.
        private static long CheckSigevent(int notify, int signal, int tid)
        {
            switch (notify)
            {
                case SIGEV_SIGNAL | SIGEV_THREAD_ID:
                    Thread* target = ThreadTable.Find(tid);
                    if (target == null || !target->IsAlive) return -Errno.EINVAL;
                    goto case SIGEV_SIGNAL;
                case SIGEV_SIGNAL:
                case SIGEV_THREAD:
                    return signal <= 0 || signal > SignalDelivery.MaxSignal ? -Errno.EINVAL : 0;
                case SIGEV_NONE:
                    return 0;
                default:
                    return -Errno.EINVAL;
            }
        }

        // From the timer interrupt: the timer's signal goes out. One that was discarded (ignored)
        // leaves nothing to take, so a periodic timer goes on at once (as Linux before 6.13).
        private static void Expired(Timer* entry)
        {
            var timer = (PosixTimer*)entry->Owner;
            SignalInfo info = SignalInfo.FromTimer(timer->Id, timer->Setting, timer->Value);
            Thread* target;
            if (timer->Notify == (SIGEV_SIGNAL | SIGEV_THREAD_ID))
            {
                target = ThreadTable.Find(timer->TargetTid);
                if (target == null || !target->IsAlive) return;
                if (!SignalDelivery.Send(target, timer->Signal, info)) target = null;
            }
            else target = SignalDelivery.SendToProcess(timer->Signal, info);
            if (target != null) timer->PendingTid = target->Tid;
            else timer->Overrun += (long)timer->Timer.Forward(Clock.Nanoseconds(), queue: true);
        }

        // SignalDelivery.Dequeue took a timer's signal: a periodic timer goes on from the first period
        // after now, and the periods it passed meanwhile become si_overrun (posixtimer_rearm).
        internal static void SignalTaken(SignalInfo* info)
        {
            PosixTimer* timer = Find((ulong)(uint)info->TimerId);
            if (timer == null || timer->Setting != info->Private) return;
            timer->PendingTid = 0;
            if (timer->Timer.Interval == 0) return;
            timer->Overrun += (long)timer->Timer.Forward(Clock.Nanoseconds(), queue: true);
            timer->OverrunLast = timer->Overrun;
            timer->Overrun = -1;
            info->SetOverrun(TimerArithmetic.OverrunToInt(timer->OverrunLast));
        }

        // Takes the timer's signal back if it is still pending (in the slot or queued behind it).
        private static void DropPendingSignal(PosixTimer* timer)
        {
            Thread* thread = timer->PendingTid != 0 ? ThreadTable.Find(timer->PendingTid) : null;
            timer->PendingTid = 0;
            if (thread == null || (thread->PendingSignals & SignalDelivery.Bit(timer->Signal)) == 0) return;
            SignalInfo* info = SignalDelivery.InfoOf(thread, timer->Signal);
            if (info->Code != SignalInfo.SI_TIMER || info->TimerId != timer->Id)
                SignalQueue.RemoveTimerSignal(thread, timer->Signal, timer->Id);
            else if (!SignalQueue.PromoteNext(thread, timer->Signal))
                thread->PendingSignals &= ~SignalDelivery.Bit(timer->Signal);
        }

        // The time left and the period, as timer_gettime reports them (common_timer_get): a periodic
        // timer whose deadline passed is first moved to its next period, counting the periods missed;
        // a timer that is due but has not fired yet shows 1 ns; an expired SIGEV_NONE one-shot shows 0.
        private static void Current(PosixTimer* timer, out ulong value, out ulong interval)
        {
            Timers.ExpireDue();     // what is due fires first, however late the timer interrupt
            IntervalTimer* t = &timer->Timer;
            bool none = timer->Notify == SIGEV_NONE;
            interval = t->Interval;
            value = 0;
            if (!t->Armed || (interval == 0 && !t->Queued && !none)) return;
            ulong now = Clock.Nanoseconds();
            if (interval != 0 && !t->Queued) timer->Overrun += (long)t->Forward(now, queue: false);
            long left = t->Remaining(now);
            value = left > 0 ? (ulong)left : none ? 0ul : 1ul;
        }

        // timer_settime(id, flags, new, old)
        internal static long SetTime(SyscallArgs* a)
        {
            PosixTimer* timer = Find((uint)a->A0);
            if (timer == null) return -Errno.EINVAL;
            long error = TimeCalls.ReadItimerspec(a->A2, out ulong value, out ulong interval);
            if (error != 0) return error;
            Current(timer, out ulong oldValue, out ulong oldInterval);
            DropPendingSignal(timer);
            timer->Setting++;
            timer->Overrun = -1;
            timer->OverrunLast = 0;
            if (value == 0) timer->Timer.Disarm();
            else
            {
                ulong deadline = TimeCalls.TimerDeadline(timer->Clock, ((int)a->A1 & TimeCalls.TIMER_ABSTIME) != 0, value);
                timer->Timer.Arm(deadline, interval, &Expired, timer, queue: timer->Notify != SIGEV_NONE);
            }
            if (a->A3 != 0 && !TimeCalls.WriteItimerspec(a->A3, oldValue, oldInterval)) return -Errno.EFAULT;
            return 0;
        }

        // timer_gettime(id, value)
        internal static long GetTime(SyscallArgs* a)
        {
            PosixTimer* timer = Find((uint)a->A0);
            if (timer == null) return -Errno.EINVAL;
            Current(timer, out ulong value, out ulong interval);
            return TimeCalls.WriteItimerspec(a->A1, value, interval) ? 0 : -Errno.EFAULT;
        }

        // timer_getoverrun(id)
        internal static long GetOverrun(SyscallArgs* a)
        {
            PosixTimer* timer = Find((uint)a->A0);
            return timer == null ? -Errno.EINVAL : TimerArithmetic.OverrunToInt(timer->OverrunLast);
        }

        // timer_delete(id)
        internal static long Delete(SyscallArgs* a)
        {
            PosixTimer* timer = Find((uint)a->A0);
            if (timer == null) return -Errno.EINVAL;
            timer->Timer.Disarm();
            DropPendingSignal(timer);
            s_timers.Timers[timer->Id] = 0;
            KernelHeap.Free(timer);
            return 0;
        }
    }
}
