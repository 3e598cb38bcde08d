using Libra.Arch.X64;
using Libra.Diagnostics;
using Libra.Time;

namespace Libra.Threads
{
    // One CPU, round-robin, preemptive on the timer tick. The kernel itself runs with interrupts
    // off and never preempts itself: a thread leaves the CPU only by blocking, yielding, exiting, or
    // through the timer interrupt taken in ring 3. With nothing to run, the boot stack's idle loop
    // halts until an interrupt.
    internal static unsafe class Scheduler
    {
        private const uint MsrFsBase = 0xc0000100;
        // A thread runs this many ticks before another runnable thread gets the CPU.
        private const int SliceTicks = 2;

        internal static Thread* Current;
        // Devices whose completions are polled (virtio without interrupts): each returns true while
        // requests are outstanding, so the idle loop spins instead of halting.
        private const int MaxPolledDevices = 4;
        private struct PollFunctions { internal fixed ulong Functions[MaxPolledDevices]; }
        private static PollFunctions s_polls;
        private static int s_pollCount;
        internal static ulong Switches, Preemptions;
        private static Thread* s_runHead, s_runTail;
        private static Thread* s_timed;
        private static ulong s_idleRsp;
        private static int s_sliceLeft;
        private static ulong* s_kernelRspSlot;
        private static ulong s_runningSince;
        // CPU time of every application thread, live or finished (CLOCK_PROCESS_CPUTIME_ID).
        private static ulong s_finishedThreadsCpu;

        internal static void Initialize()
        {
            s_kernelRspSlot = Native.KernelRspSlot();
        }

        internal static void MakeRunnable(Thread* thread)
        {
            thread->State = ThreadState.Runnable;
            thread->NextRunnable = null;
            if (s_runTail == null) s_runHead = thread; else s_runTail->NextRunnable = thread;
            s_runTail = thread;
        }

        // Adds a device's poll function to those the idle loop and the timer tick call.
        internal static void AddDevicePoll(delegate*<bool> poll)
        {
            if (s_pollCount == MaxPolledDevices) Panic.Halt("more polled devices than Scheduler.MaxPolledDevices");
            s_polls.Functions[s_pollCount++] = (ulong)poll;
        }

        // Polls every device (with interrupts off: the tick and the idle loop must not meet in a
        // device's queue); true while any has requests outstanding.
        internal static bool PollDevices()
        {
            bool outstanding = false;
            for (int i = 0; i < s_pollCount; i++)
                if (((delegate*<bool>)s_polls.Functions[i])()) outstanding = true;
            return outstanding;
        }

        // Gives the CPU to the next runnable thread, if any, and comes back when it is our turn.
        internal static void Yield()
        {
            if (s_runHead == null) return;
            MakeRunnable(Current);
            SwitchAway();
        }

        // Blocks the current thread until Wake, the deadline (Clock nanoseconds; 0 = none) or a signal.
        internal static WakeReason Block(ulong deadline)
        {
            Thread* self = Current;
            self->WakeReason = WakeReason.None;
            if ((self->PendingSignals & ~self->BlockedSignals) != 0) return WakeReason.Interrupted;
            if (deadline != 0)
            {
                if (Clock.Nanoseconds() >= deadline) return WakeReason.TimedOut;
                self->WakeAt = deadline;
                self->NextTimed = s_timed;
                s_timed = self;
                self->OnTimedList = true;
            }
            self->State = ThreadState.Blocked;
            SwitchAway();
            if (self->OnTimedList) RemoveTimed(self);
            return self->WakeReason;
        }

        // Makes a blocked thread runnable; false if it was not blocked.
        internal static bool Wake(Thread* thread, WakeReason reason)
        {
            if (thread->State != ThreadState.Blocked) return false;
            thread->WakeReason = reason;
            MakeRunnable(thread);
            return true;
        }

        // The current thread is done: never returns.
        internal static void ExitCurrent()
        {
            Thread* self = Current;
            ThreadTable.Release(self);
            SwitchAway();
            Panic.Halt("a finished thread was scheduled again");
        }

        // From the timer interrupt: wakes expired sleepers and, when the interrupted code was the
        // application's, ends its time slice.
        internal static void Tick(bool fromUser)
        {
            PollDevices();
            ExpireTimers();
            if (!fromUser || Current == null) return;
            if (--s_sliceLeft > 0) return;
            if (s_runHead != null) Preemptions++;
            Yield();
        }

        // The boot thread's loop once the application runs: switch to whatever is runnable, halt
        // when nothing is.
        internal static void RunIdle()
        {
            while (true)
            {
                Thread* next = PopRunnable();
                if (next != null)
                {
                    Activate(next);
                    fixed (ulong* idle = &s_idleRsp) Native.Switch(idle, next->SavedRsp);
                    continue;
                }
                Current = null;
                // Polled with interrupts off: the timer tick polls too, and the two must not meet.
                bool outstanding = PollDevices();
                if (s_runHead != null) continue;
                Native.EnableInterrupts();
                // A device interrupt that came while interrupts were off is taken right here and may
                // have woken a thread: halting now would leave it waiting for the next tick.
                if (outstanding || s_runHead != null) Native.Pause();
                else Native.Halt();
                Native.DisableInterrupts();
                ExpireTimers();
            }
        }

        // Starts a new thread whose user frame is already in place at the top of its kernel stack:
        // its first switch lands in libra_interrupt_exit, which returns to ring 3.
        internal static void Start(Thread* thread, ulong interruptExit)
        {
            ulong frame = (ulong)thread->UserFrame;
            ulong* stack = (ulong*)((ulong)thread->UserFxState);
            *--stack = interruptExit;   // libra_switch's ret
            *--stack = frame;           // rbx: the frame libra_interrupt_exit restores
            *--stack = 0;               // rbp
            *--stack = 0;               // r12
            *--stack = 0;               // r13
            *--stack = 0;               // r14
            *--stack = 0;               // r15
            thread->SavedRsp = (ulong)stack;
            MakeRunnable(thread);
        }

        internal static void SetFsBase(ulong value)
        {
            Current->FsBase = value;
            Native.WriteMsr(MsrFsBase, value);
        }

        // The current thread's CPU time, including the running slice.
        internal static ulong ThreadCpuNanoseconds(Thread* thread) =>
            thread->CpuNanoseconds + (thread == Current ? Clock.Nanoseconds() - s_runningSince : 0);

        internal static ulong ProcessCpuNanoseconds()
        {
            ulong total = s_finishedThreadsCpu;
            for (int i = 0; i < ThreadTable.Count; i++)
            {
                Thread* thread = ThreadTable.At(i);
                if (thread->IsAlive) total += ThreadCpuNanoseconds(thread);
            }
            return total;
        }

        private static void SwitchAway()
        {
            Thread* self = Current;
            ulong now = Clock.Nanoseconds();
            self->CpuNanoseconds += now - s_runningSince;
            s_runningSince = now;
            if (self->State == ThreadState.Dead) s_finishedThreadsCpu += self->CpuNanoseconds;
            Thread* next = PopRunnable();
            if (next == self)
            {
                self->State = ThreadState.Running;
                s_sliceLeft = SliceTicks;
                return;
            }
            if (next == null)
            {
                Current = null;
                Native.Switch(&self->SavedRsp, s_idleRsp);
            }
            else
            {
                Activate(next);
                Native.Switch(&self->SavedRsp, next->SavedRsp);
            }
        }

        private static void Activate(Thread* next)
        {
            Switches++;
            Current = next;
            s_runningSince = Clock.Nanoseconds();
            next->State = ThreadState.Running;
            s_sliceLeft = SliceTicks;
            Gdt.SetKernelStack(next->KernelStackTop);
            *s_kernelRspSlot = next->KernelStackTop;
            Native.WriteMsr(MsrFsBase, next->FsBase);
        }

        private static Thread* PopRunnable()
        {
            Thread* thread = s_runHead;
            if (thread == null) return null;
            s_runHead = thread->NextRunnable;
            if (s_runHead == null) s_runTail = null;
            thread->NextRunnable = null;
            return thread;
        }

        private static void ExpireTimers()
        {
            if (s_timed == null) return;
            ulong now = Clock.Nanoseconds();
            Thread* thread = s_timed;
            while (thread != null)
            {
                Thread* next = thread->NextTimed;
                if (thread->WakeAt <= now)
                {
                    RemoveTimed(thread);
                    Wake(thread, WakeReason.TimedOut);
                }
                thread = next;
            }
        }

        private static void RemoveTimed(Thread* thread)
        {
            Thread** link;
            fixed (Thread** head = &s_timed) link = head;
            while (*link != null && *link != thread) link = &(*link)->NextTimed;
            if (*link == thread) *link = thread->NextTimed;
            thread->OnTimedList = false;
            thread->NextTimed = null;
        }
    }
}
