using Libra.Arch.X64;
using Libra.Time;

namespace Libra.Threads
{
    internal enum ThreadState { Free, Runnable, Running, Blocked, Dead }

    // Why a blocked thread runs again.
    internal enum WakeReason { None, Woken, TimedOut, Interrupted }

    // One application thread (a Linux task in the app's one thread group). It owns a kernel stack;
    // whenever it is in the kernel, its user context (registers and SSE state) sits at the top of
    // that stack, where the entry stubs put it (Arch/X64/Interrupts.S).
    internal unsafe struct Thread
    {
        internal const int NameLength = 16;     // TASK_COMM_LEN, with the NUL

        internal int Tid;
        internal ThreadState State;
        internal ulong KernelStackTop;
        internal ulong SavedRsp;                // the kernel RSP while switched out
        internal ulong FsBase;                  // IA32_FS_BASE: the thread pointer (arch_prctl, CLONE_SETTLS)
        internal ulong ClearChildTid;           // set_tid_address / CLONE_CHILD_CLEARTID
        internal ulong RobustList, RobustListLength;
        internal ulong SyscallNumber;           // the call in progress, for restarts after a signal
        // From a system call's entry until UserVectorState.Save: only XMM0-15 of the user's vector
        // state are in the state area, x87, MXCSR and the AVX upper halves are still in the CPU.
        // Left set after the return to ring 3 it stays true, harmlessly: an interrupt's entry saves
        // everything, and the thread leaves the CPU only through Save.
        internal bool UserVectorsLive;

        // Signals: a bit per signal (bit n-1 for signal n), as in sigset_t.
        internal ulong BlockedSignals;
        internal ulong PendingSignals;
        internal SignalInfoSlots PendingInfo;   // what each pending signal carries (Signals/SignalInfo.cs)
        internal Signals.QueuedSignal* QueuedSignals;   // further instances of pending signals (Signals/SignalQueue.cs)
        // rt_sigtimedwait unblocks the signals it waits for; Linux's real_blocked: the mask before.
        internal ulong RealBlocked;
        // rt_sigsuspend: the mask to put back once the handler that ended the wait is set up.
        internal ulong SavedMask;
        internal bool RestoreMask;
        internal ulong AltStackBase, AltStackSize;
        internal int AltStackFlags;

        // Scheduling: the run queues are intrusive, and a timed wait's deadline sits in the kernel's
        // timer queue (Time/Timers.cs).
        internal Thread* NextRunnable;
        internal Timer WakeTimer;
        internal WakeReason WakeReason;
        internal bool Uninterruptible;          // blocked where a signal must not end the sleep (a device reply)
        // What is left of the thread's time slice, in nanoseconds: a woken thread with some left runs
        // before the threads that used theirs up (Threads/Scheduler.cs).
        internal long SliceLeft;

        internal ulong CpuNanoseconds;          // time on the CPU, in the kernel or not (CLOCK_THREAD_CPUTIME_ID)

        internal FutexWaiter Futex;
        internal Thread* NextFree;
        internal Thread* NextWaiter;

        internal NameBuffer Name;

        // The open files the system call in progress holds (Shims' FileTable.Use), dropped when it returns.
        internal const int HeldFileLimit = 8;
        internal HeldFileSlots HeldFiles;
        internal int HeldFileCount;

        internal struct HeldFileSlots { internal fixed ulong Files[HeldFileLimit]; }

        internal struct NameBuffer { internal fixed byte Bytes[NameLength]; }

        // One SignalInfo (three words) per signal 1..64.
        internal struct SignalInfoSlots { internal fixed ulong Words[64 * 3]; }

        // The user context saved at the top of the kernel stack.
        internal InterruptFrame* UserFrame => (InterruptFrame*)(KernelStackTop - InterruptFrame.SizeOnStack);

        internal byte* UserFxState => InterruptFrame.StateArea(UserFrame);

        internal bool IsAlive => State == ThreadState.Runnable || State == ThreadState.Running || State == ThreadState.Blocked;
    }
}
