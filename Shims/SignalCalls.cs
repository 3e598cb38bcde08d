using Libra.Memory;
using Libra.Signals;
using Libra.Threads;

namespace Libra.Shims
{
    // Signals: actions, masks, the alternate stack, rt_sigreturn, and thread-directed kills.
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

        // kill(pid, signal) to our own process goes to the main thread (or the first live one).
        internal static long Kill(SyscallArgs* a)
        {
            int pid = (int)a->A0;
            if (pid != ThreadTable.ProcessId && pid != 0 && pid != -1) return -Errno.ESRCH;
            int signal = (int)a->A1;
            if (signal < 0 || signal > SignalDelivery.MaxSignal) return -Errno.EINVAL;
            if (signal == 0) return 0;
            for (int i = 0; i < ThreadTable.Count; i++)
            {
                Thread* thread = ThreadTable.At(i);
                if (thread->IsAlive && (thread->BlockedSignals & SignalDelivery.Bit(signal)) == 0)
                {
                    SignalDelivery.Send(thread, signal);
                    return 0;
                }
            }
            SignalDelivery.Send(Scheduler.Current, signal);
            return 0;
        }

        private static long SendTo(int tid, int signal)
        {
            if (tid <= 0 || signal < 0 || signal > SignalDelivery.MaxSignal) return -Errno.EINVAL;
            Thread* target = ThreadTable.Find(tid);
            if (target == null) return -Errno.ESRCH;
            if (signal != 0) SignalDelivery.Send(target, signal);
            return 0;
        }
    }
}
