using Libra.Memory;
using Libra.Signals;
using Libra.Threads;
using Libra.Time;

namespace Libra.Shims
{
    // Signals: actions, masks, the alternate stack, rt_sigreturn, kills, and the waits for a signal
    // (pause, rt_sigsuspend, rt_sigtimedwait).
    internal static unsafe class SignalCalls
    {
        private const int SIG_BLOCK = 0, SIG_UNBLOCK = 1, SIG_SETMASK = 2;
        private const ulong Unblockable = (1ul << (SignalDelivery.SIGKILL - 1)) | (1ul << (SignalDelivery.SIGSTOP - 1));
        private const ulong MinimumAltStack = 2048;

        // rt_sigaction(signal, act, oldact, sigsetsize)
        internal static long SigAction(SyscallArgs* a)
        {
            int signal = (int)a->A0;
            if (signal < 1 || signal > SignalDelivery.MaxSignal || a->A3 != 8) return -Errno.EINVAL;
            SignalDelivery.Action* action = SignalDelivery.ActionOf(signal);
            SignalDelivery.Action previous = *action;
            if (a->A1 != 0)
            {
                if (signal == SignalDelivery.SIGKILL || signal == SignalDelivery.SIGSTOP) return -Errno.EINVAL;
                SignalDelivery.Action requested;
                if (!UserMemory.CopyFromUser(&requested, a->A1, (ulong)sizeof(SignalDelivery.Action))) return -Errno.EFAULT;
                // x86-64 handlers return through sa_restorer; Linux refuses to build a frame without it.
                requested.Mask &= ~Unblockable;
                *action = requested;
            }
            if (a->A2 != 0 && !UserMemory.CopyToUser(a->A2, &previous, (ulong)sizeof(SignalDelivery.Action))) return -Errno.EFAULT;
            return 0;
        }

        // rt_sigprocmask(how, set, oldset, sigsetsize)
        internal static long SigProcMask(SyscallArgs* a)
        {
            if (a->A3 != 8) return -Errno.EINVAL;
            Thread* self = Scheduler.Current;
            ulong old = self->BlockedSignals;
            if (a->A1 != 0)
            {
                ulong set;
                if (!UserMemory.CopyFromUser(&set, a->A1, 8)) return -Errno.EFAULT;
                switch ((int)a->A0)
                {
                    case SIG_BLOCK: self->BlockedSignals |= set; break;
                    case SIG_UNBLOCK: self->BlockedSignals &= ~set; break;
                    case SIG_SETMASK: self->BlockedSignals = set; break;
                    default: return -Errno.EINVAL;
                }
                self->BlockedSignals &= ~Unblockable;
            }
            if (a->A2 != 0 && !UserMemory.CopyToUser(a->A2, &old, 8)) return -Errno.EFAULT;
            return 0;
        }

        internal static long SigPending(SyscallArgs* a)
        {
            ulong pending = Scheduler.Current->PendingSignals;
            return UserMemory.CopyToUser(a->A0, &pending, 8) ? 0 : -Errno.EFAULT;
        }

        internal static long SigReturn(SyscallArgs* a) => SignalDelivery.Return(a->Frame);

        // sigaltstack(ss, old_ss): stack_t { void* ss_sp; int ss_flags; size_t ss_size; }
        internal static long SigAltStack(SyscallArgs* a)
        {
            Thread* self = Scheduler.Current;
            ulong sp = a->Frame->Rsp;
            bool onStack = self->AltStackSize != 0 && sp > self->AltStackBase && sp <= self->AltStackBase + self->AltStackSize;
            if (a->A1 != 0)
            {
                ulong* old = stackalloc ulong[3];
                old[0] = self->AltStackBase;
                old[1] = (ulong)(uint)(self->AltStackSize == 0 ? SignalDelivery.SS_DISABLE : onStack ? SignalDelivery.SS_ONSTACK : 0);
                old[2] = self->AltStackSize;
                if (!UserMemory.CopyToUser(a->A1, old, 24)) return -Errno.EFAULT;
            }
            if (a->A0 != 0)
            {
                ulong* requested = stackalloc ulong[3];
                if (!UserMemory.CopyFromUser(requested, a->A0, 24)) return -Errno.EFAULT;
                if (onStack) return -Errno.EPERM;
                int flags = (int)requested[1];
                if ((flags & SignalDelivery.SS_DISABLE) != 0)
                {
                    self->AltStackBase = 0;
                    self->AltStackSize = 0;
                    self->AltStackFlags = SignalDelivery.SS_DISABLE;
                    return 0;
                }
                if (flags != 0 && flags != SignalDelivery.SS_ONSTACK) return -Errno.EINVAL;
                if (requested[2] < MinimumAltStack) return -Errno.ENOMEM;
                self->AltStackBase = requested[0];
                self->AltStackSize = requested[2];
                self->AltStackFlags = 0;
            }
            return 0;
        }

        // tgkill(tgid, tid, signal)
        internal static long Tgkill(SyscallArgs* a)
        {
            if ((int)a->A0 != ThreadTable.ProcessId) return -Errno.ESRCH;
            return SendTo((int)a->A1, (int)a->A2);
        }

        internal static long Tkill(SyscallArgs* a) => SendTo((int)a->A0, (int)a->A1);

        // rt_sigqueueinfo(tgid, signal, info) and rt_tgsigqueueinfo(tgid, tid, signal, info): a signal
        // carrying the caller's siginfo (sigqueue(3) sends SI_QUEUE, its pid and uid and a value). Only
        // this process can be reached, so do_rt_sigqueueinfo's EPERM (posing as kill or the kernel
        // toward another process) never applies. A real-time signal that cannot be queued (the
        // limit, or no kernel memory) answers EAGAIN, as __send_signal's failed __sigqueue_alloc.
        internal static long QueueInfo(SyscallArgs* a) => QueueTo((int)a->A0, 0, (int)a->A1, a->A2);

        internal static long ThreadQueueInfo(SyscallArgs* a)
        {
            if ((int)a->A0 <= 0 || (int)a->A1 <= 0) return -Errno.EINVAL;
            return QueueTo((int)a->A0, (int)a->A1, (int)a->A2, a->A3);
        }

        private static long QueueTo(int tgid, int tid, int signal, ulong infoAddress)
        {
            // siginfo_t: si_signo@0 (the signal given wins, __copy_siginfo_from_user), si_code@8, the
            // union from 16 (si_pid and si_uid, then si_value).
            byte* record = stackalloc byte[SignalInfo.Size];
            if (!UserMemory.CopyFromUser(record, infoAddress, SignalInfo.Size)) return -Errno.EFAULT;
            if (tgid != ThreadTable.ProcessId) return -Errno.ESRCH;
            if (signal < 0 || signal > SignalDelivery.MaxSignal) return -Errno.EINVAL;
            Thread* target = null;
            if (tid != 0 && (target = ThreadTable.Find(tid)) == null) return -Errno.ESRCH;
            if (signal == 0) return 0;
            SignalInfo info = default;
            info.Code = *(int*)(record + 8);
            info.Word = *(ulong*)(record + 16);
            info.Value = *(ulong*)(record + 24);
            info.Private = -1;      // kernel-only: a caller's SI_TIMER is never taken for a timer's (SignalTaken)
            ulong refused = SignalQueue.Refused;
            if (target != null) SignalDelivery.Send(target, signal, info);
            else SignalDelivery.SendToProcess(signal, info);
            return SignalQueue.Refused != refused ? -Errno.EAGAIN : 0;
        }

        // kill(pid, signal) to our own process: a process-directed signal with si_code SI_USER and
        // the sender's pid and uid (kernel/signal.c prepare_kill_siginfo).
        internal static long Kill(SyscallArgs* a)
        {
            int pid = (int)a->A0;
            if (pid != ThreadTable.ProcessId && pid != 0 && pid != -1) return -Errno.ESRCH;
            int signal = (int)a->A1;
            if (signal < 0 || signal > SignalDelivery.MaxSignal) return -Errno.EINVAL;
            if (signal == 0) return 0;
            SignalDelivery.SendToProcess(signal, SignalInfo.FromProcess(SignalInfo.SI_USER, ThreadTable.ProcessId));
            return 0;
        }

        // tkill and tgkill: si_code SI_TKILL (do_tkill).
        private static long SendTo(int tid, int signal)
        {
            if (tid <= 0 || signal < 0 || signal > SignalDelivery.MaxSignal) return -Errno.EINVAL;
            Thread* target = ThreadTable.Find(tid);
            if (target == null) return -Errno.ESRCH;
            if (signal != 0) SignalDelivery.Send(target, signal, SignalInfo.FromProcess(SignalInfo.SI_TKILL, ThreadTable.ProcessId));
            return 0;
        }

        // pause(): sleeps until a signal is delivered; EINTR after its handler (ERESTARTNOHAND: a
        // signal that runs no handler restarts the wait).
        internal static long Pause(SyscallArgs* a)
        {
            while (Scheduler.Block(0) != WakeReason.Interrupted) { }
            return -Errno.ERESTARTNOHAND;
        }

        // rt_sigsuspend(mask, sigsetsize): waits with `mask` as the signal mask until a signal is
        // delivered; the handler runs with `mask` (plus its own), and the mask from before the call
        // comes back with the handler's return (SignalDelivery.Deliver writes it into the frame).
        internal static long SigSuspend(SyscallArgs* a)
        {
            if (a->A1 != 8) return -Errno.EINVAL;
            ulong mask;
            if (!UserMemory.CopyFromUser(&mask, a->A0, 8)) return -Errno.EFAULT;
            Thread* self = Scheduler.Current;
            SignalDelivery.RestoreMaskOnReturn(self->BlockedSignals);
            self->BlockedSignals = mask & ~Unblockable;
            return Pause(a);
        }

        // rt_sigtimedwait(set, info, timeout, sigsetsize): takes a pending signal of `set` (blocked or
        // not), waiting for one until the relative timeout (none: forever); the signal number, with
        // its siginfo_t at `info`. EAGAIN when the timeout passes, EINTR when a signal outside the
        // set runs its handler first (kernel/signal.c do_sigtimedwait). While it waits, the set is
        // unblocked, so a signal of the set wakes it.
        internal static long SigTimedWait(SyscallArgs* a)
        {
            if (a->A3 != 8) return -Errno.EINVAL;
            ulong set;
            if (!UserMemory.CopyFromUser(&set, a->A0, 8)) return -Errno.EFAULT;
            set &= ~Unblockable;
            ulong deadline = 0;
            bool timed = a->A2 != 0;
            if (timed)
            {
                long error = TimeCalls.Deadline(a->A2, absolute: false, realtime: false, out deadline);
                if (error != 0) return error;
            }
            Thread* self = Scheduler.Current;
            WakeReason reason = WakeReason.None;
            while (true)
            {
                ulong ready = self->PendingSignals & set;
                if (ready != 0)
                {
                    int signal = SignalDelivery.LowestSignal(ready);
                    SignalInfo info;
                    SignalDelivery.Dequeue(self, signal, &info);
                    if (a->A1 != 0)
                    {
                        byte* record = stackalloc byte[SignalInfo.Size];
                        info.WriteTo(record, signal);
                        if (!UserMemory.CopyToUser(a->A1, record, SignalInfo.Size)) return -Errno.EFAULT;
                    }
                    return signal;
                }
                if (reason == WakeReason.Interrupted) return -Errno.EINTR;
                if (reason == WakeReason.TimedOut || (timed && Clock.Nanoseconds() >= deadline)) return -Errno.EAGAIN;
                self->RealBlocked = self->BlockedSignals;
                self->BlockedSignals &= ~set;
                reason = Scheduler.Block(timed ? deadline : 0);
                self->BlockedSignals = self->RealBlocked;
                self->RealBlocked = 0;
            }
        }
    }
}
