using Libra.Arch.X64;
using Libra.Diagnostics;
using Libra.Time;

namespace Libra.Threads
{
    // One CPU, round-robin with time slices, tickless. The kernel itself runs with interrupts off
    // and never preempts itself: a thread leaves the CPU by blocking, yielding or exiting, or is
    // preempted on its way back to ring 3 (syscall or interrupt exit) when its slice is over and
    // another thread is runnable, or when a thread it woke is waiting to run. A woken thread that
    // has slice left joins the front run queue and runs next (Linux's wakeup preemption, without
    // vruntimes); a thread whose slice is used up (time run while others waited) goes to the back
    // of the line with a fresh one, so wake-ups are prompt and spinning threads still share the CPU. The one-shot timer is armed for
    // the earliest timer (Time/Timers.cs), and for the end of the slice only while another thread
    // waits to run. With nothing to run, the boot stack's idle loop halts until an interrupt.
    internal static unsafe class Scheduler
    {
        private const uint MsrFsBase = 0xc0000100;
        private const ulong NsPerSecond = 1_000_000_000;
        // A thread runs this many ticks (libra.tick_hz) before another runnable thread gets the CPU.
        private const int SliceTicks = 2;

        internal static Thread* Current;
        // Devices whose completions are polled (virtio without interrupts): each returns true while
        // requests are outstanding, so the idle loop spins instead of halting.
        private const int MaxPolledDevices = 4;
        private struct PollFunctions { internal fixed ulong Functions[MaxPolledDevices]; }
        private static PollFunctions s_polls;
        private static int s_pollCount;
        // Preemptions: at the end of a slice; WakePreemptions: for a woken thread.
        internal static ulong Switches, Preemptions, WakePreemptions;
        // Front: woken threads with slice left, in wake order. Back: everyone else, round-robin.
        private static Thread* s_frontHead, s_frontTail;
        private static Thread* s_runHead, s_runTail;
        private static bool s_wokenWaiting;       // a thread woke while another ran: switch at the next exit to ring 3
        private static ulong s_idleRsp;
        private static ulong* s_kernelRspSlot;
        private static ulong s_runningSince;
        private static ulong s_sliceEnd;          // when the current thread's slice is over
        private static ulong s_sliceNs, s_tickNs;
        // A polled device has requests out: a timer every tick polls it while a thread runs.
        private static bool s_devicesBusy;
        // The timer must be armed again (it fired, or what it waits for changed).
        private static bool s_timerStale;
        // CPU time of every application thread, live or finished (CLOCK_PROCESS_CPUTIME_ID).
        private static ulong s_finishedThreadsCpu;

        // tickHz (libra.tick_hz) sets the slice (SliceTicks ticks) and how often polled devices are polled.
        internal static void Initialize(int tickHz)
        {
            s_kernelRspSlot = Native.KernelRspSlot();
            s_tickNs = NsPerSecond / (ulong)tickHz;
            s_sliceNs = SliceTicks * s_tickNs;
        }

        // Puts a thread at the back of the line with a fresh slice.
        internal static void MakeRunnable(Thread* thread)
        {
            ContendFor(thread);
            thread->State = ThreadState.Runnable;
            thread->SliceLeft = (long)s_sliceNs;
            thread->NextRunnable = null;
            if (s_runTail == null) s_runHead = thread; else s_runTail->NextRunnable = thread;
            s_runTail = thread;
        }

        // Puts a thread that still has slice left at the end of the front queue.
        private static void MakeRunnableFirst(Thread* thread)
        {
            ContendFor(thread);
            thread->State = ThreadState.Runnable;
            thread->NextRunnable = null;
            if (s_frontTail == null) s_frontHead = thread; else s_frontTail->NextRunnable = thread;
            s_frontTail = thread;
        }

        private static bool AnyRunnable => s_frontHead != null || s_runHead != null;

        // A slice is spent only while another thread waits for the CPU: when a first thread joins
        // the run queues, the running thread's time until now is its own, and its slice counts from here.
        private static void ContendFor(Thread* thread)
        {
            if (Current == null || thread == Current || AnyRunnable) return;
            Charge(Current);
            s_sliceEnd = s_runningSince + (ulong)(Current->SliceLeft > 0 ? Current->SliceLeft : 0);
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

        // Gives the CPU to the next runnable thread, if any, and comes back when it is our turn
        // (sched_yield: to the back of the line).
        internal static void Yield()
        {
            if (!AnyRunnable) return;
            Charge(Current);
            MakeRunnable(Current);
            SwitchAway();
        }

        // Blocks the current thread until Wake, the deadline (Clock nanoseconds; 0 = none) or a signal.
        // `interruptible` false: a signal neither ends nor prevents the sleep (it is delivered at the
        // return to ring 3 after it), for waits that must finish, such as a device's reply; a loop
        // around an interruptible Block with a signal pending would spin instead of sleeping.
        internal static WakeReason Block(ulong deadline, bool interruptible = true)
        {
            Thread* self = Current;
            self->WakeReason = WakeReason.None;
            if (interruptible && (self->PendingSignals & ~self->BlockedSignals) != 0) return WakeReason.Interrupted;
            if (deadline != 0)
            {
                if (Clock.Nanoseconds() >= deadline) return WakeReason.TimedOut;
                Timers.Start(&self->WakeTimer, deadline, &WakeTimerExpired, self);
            }
            self->State = ThreadState.Blocked;
            // Whether a polled device now has requests out (perhaps this thread's), so that the
            // timer keeps polling while another thread runs; a completion found here wakes us.
            if (s_pollCount > 0 && (s_devicesBusy = PollDevices())) s_timerStale = true;
            Charge(self);
            self->Uninterruptible = !interruptible;
            SwitchAway();
            self->Uninterruptible = false;
            Timers.Cancel(&self->WakeTimer);
            return self->WakeReason;
        }

        private static void WakeTimerExpired(Timer* timer) => Wake((Thread*)timer->Owner, WakeReason.TimedOut);

        // Makes a blocked thread runnable; false if it was not blocked. With slice left it runs
        // before the threads that used theirs, and the running thread gives way at its next exit
        // to ring 3; without, it waits for its turn at the back.
        internal static bool Wake(Thread* thread, WakeReason reason)
        {
            if (thread->State != ThreadState.Blocked) return false;
            if (reason == WakeReason.Interrupted && thread->Uninterruptible) return false;
            Diagnostics.CostCounters.Wakeups++;
            thread->WakeReason = reason;
            if (thread->SliceLeft > 0)
            {
                MakeRunnableFirst(thread);
                if (Current != null && thread != Current) s_wokenWaiting = true;
            }
            else MakeRunnable(thread);
            return true;
        }

        // The current thread is done: never returns.
        internal static void ExitCurrent()
        {
            Thread* self = Current;
            ThreadTable.Release(self);
            Charge(self);
            s_finishedThreadsCpu += self->CpuNanoseconds;
            SwitchAway();
            Panic.Halt("a finished thread was scheduled again");
        }

        // From the timer interrupt: polls the devices and runs the timers that are due. Ending a
        // slice, or giving way to a woken thread, happens on the way back to ring 3 (BeforeUserReturn).
        internal static void Tick(bool fromUser)
        {
            LocalApic.TimerFired();
            s_timerStale = true;
            bool outstanding = PollDevices();
            s_devicesBusy = outstanding;
            Timers.ExpireDue();
        }

        // Every exit to ring 3 (syscall or interrupt) comes through here, before signals are
        // delivered: the current thread gives way when its slice is over and another thread is
        // runnable, or when a woken thread waits to run; then the timer is armed for what comes next.
        internal static void BeforeUserReturn()
        {
            // The common case, nothing else to run and nothing new for the timer, is a few loads
            // (each call costs a translation-block exit under TCG).
            if (s_frontHead == null && s_runHead == null && !s_timerStale && !Timers.Changed) return;
            if (AnyRunnable)
            {
                bool sliceOver = Clock.Nanoseconds() >= s_sliceEnd;
                if (sliceOver || (s_wokenWaiting && s_frontHead != null))
                {
                    Thread* self = Current;
                    Charge(self);
                    if (sliceOver || self->SliceLeft <= 0)
                    {
                        Preemptions++;
                        MakeRunnable(self);
                    }
                    else
                    {
                        WakePreemptions++;
                        MakeRunnableFirst(self);
                    }
                    SwitchAway();
                }
            }
            ProgramTimer();
        }

        // Arms the one-shot timer for the earliest of: the first timer in the queue; the end of the
        // running thread's slice, when another thread waits; the next device poll, while a polled
        // device has requests out and a thread runs (the idle loop polls by itself).
        private static void ProgramTimer()
        {
            s_timerStale = false;
            Timers.Changed = false;
            ulong next = Timers.Earliest;
            if (Current != null)
            {
                if (AnyRunnable && s_sliceEnd < next) next = s_sliceEnd;
                if (s_devicesBusy)
                {
                    ulong poll = Clock.Nanoseconds() + s_tickNs;
                    if (poll < next) next = poll;
                }
            }
            LocalApic.ArmAt(next);
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
                s_devicesBusy = outstanding;
                if (AnyRunnable) continue;
                ProgramTimer();
                if (outstanding)
                {
                    Native.EnableInterrupts();
                    Native.Pause();
                    Native.DisableInterrupts();
                }
                else Native.WaitForInterrupt();
                Timers.ExpireDue();
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

        // Adds the time since the thread got the CPU (or was last charged) to its CPU time, and to
        // what it has spent of its slice when other threads waited meanwhile (the run queues only
        // grow while a thread runs, and ContendFor charges just before the first joins them).
        private static void Charge(Thread* self)
        {
            ulong now = Clock.Nanoseconds();
            ulong ran = now - s_runningSince;
            self->CpuNanoseconds += ran;
            if (AnyRunnable) self->SliceLeft -= (long)ran;
            s_runningSince = now;
        }

        // Leaves the CPU to the next runnable thread (or the idle loop); the caller has charged the
        // current thread and put it where it belongs (a run queue, blocked, dead).
        private static void SwitchAway()
        {
            Thread* self = Current;
            Thread* next = PopRunnable();
            if (next == self)
            {
                self->State = ThreadState.Running;
                s_sliceEnd = s_runningSince + (ulong)(self->SliceLeft > 0 ? self->SliceLeft : 0);
                s_wokenWaiting = false;
                return;
            }
            // The next thread's return to ring 3 restores its own vector state over ours.
            UserVectorState.Save(self);
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
            s_sliceEnd = s_runningSince + (ulong)(next->SliceLeft > 0 ? next->SliceLeft : 0);
            s_wokenWaiting = false;
            Gdt.SetKernelStack(next->KernelStackTop);
            *s_kernelRspSlot = next->KernelStackTop;
            Native.WriteMsr(MsrFsBase, next->FsBase);
            // A thread that starts in libra_interrupt_exit passes no BeforeUserReturn first.
            ProgramTimer();
        }

        // The front queue first, then the back.
        private static Thread* PopRunnable()
        {
            Thread* thread = s_frontHead;
            if (thread != null)
            {
                s_frontHead = thread->NextRunnable;
                if (s_frontHead == null) s_frontTail = null;
            }
            else
            {
                thread = s_runHead;
                if (thread == null) return null;
                s_runHead = thread->NextRunnable;
                if (s_runHead == null) s_runTail = null;
            }
            thread->NextRunnable = null;
            return thread;
        }
    }
}
