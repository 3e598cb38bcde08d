using Libra.Arch.X64;
using Libra.Diagnostics;
using Libra.Memory;
using Libra.Threads;

namespace Libra.Signals
{
    // The application's signal actions and their delivery: a handler runs on a Linux-exact
    // rt_sigframe (arch/x86/include/asm/sigframe.h) built on the thread's stack just before the
    // kernel returns to ring 3, and rt_sigreturn puts the saved context back.
    internal static unsafe class SignalDelivery
    {
        internal const int SIGILL = 4, SIGTRAP = 5, SIGABRT = 6, SIGBUS = 7, SIGFPE = 8, SIGKILL = 9, SIGSEGV = 11,
            SIGPIPE = 13, SIGALRM = 14, SIGTERM = 15, SIGCHLD = 17, SIGCONT = 18, SIGSTOP = 19, SIGURG = 23, SIGWINCH = 28, MaxSignal = 64;
        internal const ulong SA_SIGINFO = 4, SA_ONSTACK = 0x08000000, SA_RESTART = 0x10000000, SA_NODEFER = 0x40000000,
            SA_RESETHAND = 0x80000000, SA_RESTORER = 0x04000000;
        internal const ulong SIG_DFL = 0, SIG_IGN = 1;
        internal const int SI_TKILL = SignalInfo.SI_TKILL, SI_USER = SignalInfo.SI_USER;
        internal const int SEGV_MAPERR = 1, SEGV_ACCERR = 2, FPE_INTDIV = 1, ILL_ILLOPN = 2, BUS_ADRALN = 1, TRAP_BRKPT = 1;
        internal const int SS_ONSTACK = 1, SS_DISABLE = 2;
        // How the system call being returned from restarts when a signal interrupted it: not at all
        // (its result stands), as SA_RESTART says (ERESTARTSYS), or only when no handler runs
        // (ERESTARTNOHAND: pause, rt_sigsuspend end with EINTR after a handler).
        internal const int NoRestart = 0, RestartIfSaRestart = 1, RestartIfNoHandler = 2;

        // uapi/asm-generic/signal.h kernel_sigaction for x86-64.
        internal struct Action
        {
            internal ulong Handler, Flags, Restorer, Mask;
        }

        private struct ActionTable { internal fixed ulong Words[(MaxSignal + 1) * 4]; }
        private static ActionTable s_actions;

        // Frame offsets: rt_sigframe { pretcode; ucontext uc; siginfo info; } with the FXSAVE image below.
        private const int UcOffset = 8, UcFlags = 0, UcLink = 8, UcStack = 16, UcMcontext = 40, UcSigmask = 296;
        private const int InfoOffset = UcOffset + 304, InfoSize = 128, FrameSize = InfoOffset + InfoSize;
        private const int McErr = 152, McTrapno = 160, McOldmask = 168, McCr2 = 176, McFpstate = 184, McCsGsFsSs = 144;
        private const ulong UC_FP_XSTATE = 1, UC_SIGCONTEXT_SS = 2, UC_STRICT_RESTORE_SS = 4;
        // struct _fpx_sw_bytes in the FXSAVE image's software-reserved bytes, and the magic after the
        // XSAVE data (arch/x86/include/uapi/asm/sigcontext.h).
        private const int SwReservedOffset = 464;
        private const uint FP_XSTATE_MAGIC1 = 0x46505853, FP_XSTATE_MAGIC2 = 0x46505845;

        // Bytes of XSAVE state a frame carries (0 when the kernel keeps FXSAVE state only).
        private static uint s_xstateSize;

        internal static void Initialize()
        {
            s_xstateSize = Cpu.XsaveEnabled ? Cpu.XsaveSize() : 0;
        }
        private const ulong RedZone = 128;
        // RFLAGS bits a user context may carry back through rt_sigreturn (arch/x86/kernel/signal.c FIX_EFLAGS).
        private const ulong UserFlags = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x200 | 0x400 | 0x800 | 0x40000 | 0x200000;

        internal static Action* ActionOf(int signal)
        {
            fixed (ulong* words = s_actions.Words) return (Action*)(words + signal * 4);
        }

        internal static ulong Bit(int signal) => 1ul << (signal - 1);

        private static bool IgnoredByDefault(int signal) =>
            signal == SIGCHLD || signal == SIGURG || signal == SIGWINCH || signal == SIGCONT;

        private static bool IsIgnored(int signal)
        {
            Action* action = ActionOf(signal);
            return action->Handler == SIG_IGN || (action->Handler == SIG_DFL && IgnoredByDefault(signal));
        }

        // What the pending `signal` of `thread` carries.
        internal static SignalInfo* InfoOf(Thread* thread, int signal) => (SignalInfo*)(thread->PendingInfo.Words + (signal - 1) * 3);

        // Queues `signal` with what it carries for `thread`, waking it if it sleeps interruptibly and
        // does not block it. False when the signal was discarded: ignored and not blocked (a blocked
        // signal is never ignored: its action may change before it is unblocked, kernel/signal.c
        // sig_ignored), or a standard signal already pending (real-time and timer signals queue:
        // SignalQueue).
        internal static bool Send(Thread* thread, int signal, SignalInfo info)
        {
            ulong bit = Bit(signal);
            if (((thread->BlockedSignals | thread->RealBlocked) & bit) == 0 && IsIgnored(signal)) return false;
            if ((thread->PendingSignals & bit) != 0)
                return (signal >= SignalQueue.FirstRealtime || info.Code == SignalInfo.SI_TIMER) && SignalQueue.Append(thread, signal, info);
            thread->PendingSignals |= bit;
            *InfoOf(thread, signal) = info;
            if ((thread->BlockedSignals & bit) == 0 || signal == SIGKILL)
                Scheduler.Wake(thread, WakeReason.Interrupted);
            return true;
        }

        // A signal the kernel raises at the process about the current call (SIGPIPE): SI_USER from
        // the process itself, as Linux's SEND_SIG_NOINFO.
        internal static void Send(Thread* thread, int signal) =>
            Send(thread, signal, SignalInfo.FromProcess(SI_USER, ThreadTable.ProcessId));

        // A signal for the whole process (kill, ITIMER_REAL, a POSIX timer): the first live thread that
        // does not block it takes it, else the first live thread (Linux keeps it on the process until
        // some thread unblocks it). The thread it is pending on; null when it was discarded (Send).
        internal static Thread* SendToProcess(int signal, SignalInfo info)
        {
            Thread* target = null;
            for (int i = 0; i < ThreadTable.Count; i++)
            {
                Thread* thread = ThreadTable.At(i);
                if (!thread->IsAlive) continue;
                if ((thread->BlockedSignals & Bit(signal)) == 0) { target = thread; break; }
                if (target == null) target = thread;
            }
            return target != null && Send(target, signal, info) ? target : null;
        }

        // Takes `signal` off the thread's pending set, with what it carried. As Linux's
        // dequeue_signal, taking a timer's signal re-arms a periodic timer, and the periods it missed
        // meanwhile become the signal's si_overrun (Shims/PosixTimerCalls.cs, IntervalTimerCalls.cs).
        internal static void Dequeue(Thread* thread, int signal, SignalInfo* info)
        {
            *info = *InfoOf(thread, signal);
            if (!SignalQueue.PromoteNext(thread, signal)) thread->PendingSignals &= ~Bit(signal);
            if (info->Code == SignalInfo.SI_TIMER) Shims.PosixTimerCalls.SignalTaken(info);
            if (signal == SIGALRM) Shims.IntervalTimerCalls.AlarmTaken();
        }

        // A call that waited under a temporary mask (rt_sigsuspend, ppoll, pselect6, epoll_pwait)
        // and was interrupted: `mask` comes back once the signal's handler is set up, in its frame
        // (so the handler's return restores it), or at once when no handler runs
        // (set_restore_sigmask in Linux).
        internal static void RestoreMaskOnReturn(ulong mask)
        {
            Thread* self = Scheduler.Current;
            self->SavedMask = mask;
            self->RestoreMask = true;
        }

        // Just before returning to ring 3: the result of an interrupted call (`restart`: how it
        // restarts), then at most one handler; an rt_sigsuspend's mask goes back after.
        internal static void BeforeUserReturn(InterruptFrame* frame, int restart = NoRestart)
        {
            Thread* self = Scheduler.Current;
            while (true)
            {
                ulong ready = self->PendingSignals & ~self->BlockedSignals;
                if ((self->PendingSignals & Bit(SIGKILL)) != 0) ready = Bit(SIGKILL);
                if (ready == 0) break;
                int signal = LowestSignal(ready);
                SignalInfo info;
                Dequeue(self, signal, &info);
                Action* action = ActionOf(signal);
                if (IsIgnored(signal)) continue;
                if (action->Handler == SIG_DFL || signal == SIGKILL) Die(frame, signal, info.Code, 0);
                if (restart != NoRestart)
                {
                    if (restart == RestartIfSaRestart && (action->Flags & SA_RESTART) != 0) Restart(frame, self);
                    else frame->Rax = unchecked((ulong)-Shims.Errno.EINTR);
                }
                if (!Deliver(frame, signal, &info, 0, 0)) Die(frame, SIGSEGV, SI_USER, 0);
                return;
            }
            if (self->RestoreMask)
            {
                self->BlockedSignals = self->SavedMask;
                self->RestoreMask = false;
            }
            if (restart != NoRestart) Restart(frame, self);
        }

        private static void Restart(InterruptFrame* frame, Thread* self)
        {
            frame->Rip -= 2;                // back onto the syscall instruction
            frame->Rax = self->SyscallNumber;
        }

        // A CPU fault in ring 3: the handler if the application has one for it (and does not block
        // it), else the death a shell would report.
        internal static void RaiseFault(InterruptFrame* frame, int signal, int code, ulong address, ulong cr2)
        {
            Thread* self = Scheduler.Current;
            Action* action = ActionOf(signal);
            if (action->Handler == SIG_DFL || action->Handler == SIG_IGN || (self->BlockedSignals & Bit(signal)) != 0)
                Die(frame, signal, code, address);
            SignalInfo info = SignalInfo.Fault(code, address);
            if (!Deliver(frame, signal, &info, frame->Vector, cr2)) Die(frame, SIGSEGV, SI_USER, 0);
        }

        // Builds the frame and points the thread at the handler; false when the stack cannot hold it.
        private static bool Deliver(InterruptFrame* frame, int signal, SignalInfo* info, ulong trapNumber, ulong cr2)
        {
            Thread* self = Scheduler.Current;
            Action* action = ActionOf(signal);
            ulong sp = frame->Rsp;
            bool onAltStack = self->AltStackSize != 0 && sp > self->AltStackBase && sp <= self->AltStackBase + self->AltStackSize;
            if ((action->Flags & SA_ONSTACK) != 0 && self->AltStackSize != 0 && (self->AltStackFlags & SS_DISABLE) == 0 && !onAltStack)
                sp = self->AltStackBase + self->AltStackSize;
            else sp -= RedZone;
            bool xstate = s_xstateSize != 0;
            ulong fpBytes = xstate ? s_xstateSize + 4 : InterruptFrame.FxSaveSize;
            ulong fpstate = (sp - fpBytes) & ~63ul;
            ulong frameAddress = ((fpstate - FrameSize) & ~15ul) - 8;
            ulong total = sp - frameAddress;
            if (!UserMemory.IsAccessible(frameAddress, total, write: true)) return false;

            byte* f = (byte*)frameAddress;
            Native.MemSet(f, 0, (nuint)FrameSize);
            *(ulong*)f = action->Restorer;
            byte* uc = f + UcOffset;
            *(ulong*)(uc + UcFlags) = UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS | (xstate ? UC_FP_XSTATE : 0);
            *(ulong*)(uc + UcLink) = 0;
            *(ulong*)(uc + UcStack) = self->AltStackBase;
            *(int*)(uc + UcStack + 8) = self->AltStackSize == 0 ? SS_DISABLE : onAltStack ? SS_ONSTACK : 0;
            *(ulong*)(uc + UcStack + 16) = self->AltStackSize;
            ulong* g = (ulong*)(uc + UcMcontext);
            g[0] = frame->R8; g[1] = frame->R9; g[2] = frame->R10; g[3] = frame->R11; g[4] = frame->R12; g[5] = frame->R13;
            g[6] = frame->R14; g[7] = frame->R15; g[8] = frame->Rdi; g[9] = frame->Rsi; g[10] = frame->Rbp; g[11] = frame->Rbx;
            g[12] = frame->Rdx; g[13] = frame->Rax; g[14] = frame->Rcx; g[15] = frame->Rsp; g[16] = frame->Rip; g[17] = frame->Rflags;
            *(ulong*)(uc + UcMcontext + McCsGsFsSs) = (frame->Cs & 0xffff) | ((frame->Ss & 0xffff) << 48);
            *(ulong*)(uc + UcMcontext + McErr) = trapNumber == 14 || trapNumber == 13 ? frame->ErrorCode : 0;
            *(ulong*)(uc + UcMcontext + McTrapno) = trapNumber;
            // The mask the handler's return restores: rt_sigsuspend's caller's, not the wait's.
            ulong restored = self->RestoreMask ? self->SavedMask : self->BlockedSignals;
            self->RestoreMask = false;
            *(ulong*)(uc + UcMcontext + McOldmask) = restored;
            *(ulong*)(uc + UcMcontext + McCr2) = cr2;
            *(ulong*)(uc + UcMcontext + McFpstate) = fpstate;
            *(ulong*)(uc + UcSigmask) = restored;
            UserVectorState.Save(self);
            Native.MemMove((void*)fpstate, self->UserFxState, (nuint)(xstate ? s_xstateSize : InterruptFrame.FxSaveSize));
            byte* sw = (byte*)fpstate + SwReservedOffset;
            Native.MemSet(sw, 0, 48);
            if (xstate)
            {
                *(uint*)(sw + 0) = FP_XSTATE_MAGIC1;
                *(uint*)(sw + 4) = s_xstateSize + 4;           // extended_size
                *(ulong*)(sw + 8) = Cpu.XsaveFeatures;         // xfeatures
                *(uint*)(sw + 16) = s_xstateSize;              // xstate_size
                *(uint*)(fpstate + s_xstateSize) = FP_XSTATE_MAGIC2;
            }

            info->WriteTo(f + InfoOffset, signal);

            self->BlockedSignals |= action->Mask;
            if ((action->Flags & SA_NODEFER) == 0) self->BlockedSignals |= Bit(signal);
            self->BlockedSignals &= ~(Bit(SIGKILL) | Bit(SIGSTOP));
            if ((action->Flags & SA_RESETHAND) != 0) { action->Handler = SIG_DFL; action->Flags &= ~SA_SIGINFO; }

            frame->Rdi = (ulong)signal;
            frame->Rsi = frameAddress + InfoOffset;
            frame->Rdx = frameAddress + UcOffset;
            frame->Rax = 0;
            frame->Rsp = frameAddress;
            frame->Rip = action->Handler;
            frame->Rflags &= ~(0x400ul | 0x100ul | 0x10000ul);    // DF, TF, RF
            frame->Cs = Gdt.UserCode;
            frame->Ss = Gdt.UserData;
            // A fresh FPU state for the handler: default control words, empty registers.
            InterruptFrame.ResetState(self->UserFxState);
            return true;
        }

        // rt_sigreturn: the frame's pretcode was popped, so the frame starts 8 below RSP. Returns the
        // restored RAX, which the syscall path stores unchanged.
        internal static long Return(InterruptFrame* frame)
        {
            Thread* self = Scheduler.Current;
            ulong frameAddress = frame->Rsp - 8;
            if (!UserMemory.IsAccessible(frameAddress, FrameSize, write: false)) Die(frame, SIGSEGV, SI_USER, 0);
            byte* uc = (byte*)frameAddress + UcOffset;
            ulong* g = (ulong*)(uc + UcMcontext);
            frame->R8 = g[0]; frame->R9 = g[1]; frame->R10 = g[2]; frame->R11 = g[3]; frame->R12 = g[4]; frame->R13 = g[5];
            frame->R14 = g[6]; frame->R15 = g[7]; frame->Rdi = g[8]; frame->Rsi = g[9]; frame->Rbp = g[10]; frame->Rbx = g[11];
            frame->Rdx = g[12]; frame->Rax = g[13]; frame->Rcx = g[14]; frame->Rsp = g[15]; frame->Rip = g[16];
            frame->Rflags = (frame->Rflags & ~UserFlags) | (g[17] & UserFlags) | 0x200;
            frame->Cs = Gdt.UserCode;
            frame->Ss = Gdt.UserData;
            ulong fpstate = *(ulong*)(uc + UcMcontext + McFpstate);
            if (fpstate != 0 && UserMemory.IsAccessible(fpstate, InterruptFrame.FxSaveSize, write: false))
            {
                byte* sw = (byte*)fpstate + SwReservedOffset;
                bool xstate = s_xstateSize != 0 && (*(ulong*)(uc + UcFlags) & UC_FP_XSTATE) != 0 &&
                    *(uint*)sw == FP_XSTATE_MAGIC1 && *(uint*)(sw + 16) == s_xstateSize &&
                    UserMemory.IsAccessible(fpstate, s_xstateSize + 4, write: false) && *(uint*)(fpstate + s_xstateSize) == FP_XSTATE_MAGIC2;
                UserVectorState.Save(self);
                byte* area = self->UserFxState;
                Native.MemMove(area, (void*)fpstate, (nuint)(xstate ? s_xstateSize : InterruptFrame.FxSaveSize));
                *(uint*)(area + 24) &= 0xffff;                  // MXCSR reserved bits would fault on restore
                if (s_xstateSize != 0)
                {
                    // A header XRSTOR accepts: known features only, standard format, reserved bytes zero.
                    ulong* header = (ulong*)(area + InterruptFrame.XsaveHeaderOffset);
                    header[0] = xstate ? header[0] & Cpu.XsaveFeatures : 3;
                    for (int i = 1; i < 8; i++) header[i] = 0;
                }
            }
            self->BlockedSignals = *(ulong*)(uc + UcSigmask) & ~(Bit(SIGKILL) | Bit(SIGSTOP));
            return (long)frame->Rax;
        }

        // The application dies of `signal`: one line a shell would print, the registers in the kernel
        // log, and exit status 128 + signal.
        internal static void Die(InterruptFrame* frame, int signal, int code, ulong address)
        {
            KernelLog.Begin();
            KernelLog.Write("application killed by "); KernelLog.Write(Name(signal)); KernelLog.Write(" ("); KernelLog.Write(Description(signal));
            KernelLog.Write(")");
            if (signal == SIGSEGV || signal == SIGBUS || signal == SIGFPE || signal == SIGILL)
            {
                KernelLog.Write(" at address "); KernelLog.Hex(address);
            }
            KernelLog.Write(" in thread "); KernelLog.Decimal((ulong)Scheduler.Current->Tid);
            KernelLog.Write(", rip "); KernelLog.Hex(frame->Rip);
            KernelLog.End();
            Panic.Registers(frame);
            Kernel.Exit(128 + signal);
        }

        internal static int LowestSignal(ulong set)
        {
            int signal = 1;
            while ((set & 1) == 0) { set >>= 1; signal++; }
            return signal;
        }

        internal static string Name(int signal) => signal switch
        {
            1 => "SIGHUP", 2 => "SIGINT", 3 => "SIGQUIT", 4 => "SIGILL", 5 => "SIGTRAP", 6 => "SIGABRT", 7 => "SIGBUS",
            8 => "SIGFPE", 9 => "SIGKILL", 10 => "SIGUSR1", 11 => "SIGSEGV", 12 => "SIGUSR2", 13 => "SIGPIPE",
            14 => "SIGALRM", 15 => "SIGTERM", 16 => "SIGSTKFLT", 17 => "SIGCHLD", 18 => "SIGCONT", 19 => "SIGSTOP",
            20 => "SIGTSTP", 21 => "SIGTTIN", 22 => "SIGTTOU", 23 => "SIGURG", 24 => "SIGXCPU", 25 => "SIGXFSZ",
            26 => "SIGVTALRM", 27 => "SIGPROF", 28 => "SIGWINCH", 29 => "SIGIO", 30 => "SIGPWR", 31 => "SIGSYS",
            _ => "a real-time signal",
        };

        private static string Description(int signal) => signal switch
        {
            4 => "illegal instruction", 5 => "trace/breakpoint trap", 6 => "aborted", 7 => "bus error",
            8 => "floating point exception", 9 => "killed", 11 => "segmentation fault", 13 => "broken pipe",
            15 => "terminated", _ => "no handler installed",
        };
    }
}
