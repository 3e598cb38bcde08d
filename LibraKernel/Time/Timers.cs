namespace Libra.Time
{
    // The kernel's one timer queue: every deadline (a sleep, a futex or poll timeout, and later
    // alarm, itimers, timerfd and POSIX timers) waits here. The scheduler programs the one-shot
    // timer for the earliest of these (Threads/Scheduler.cs ProgramTimer), so a timer fires at its
    // deadline to the hardware's resolution, and nothing fires while nothing is due.
    internal static unsafe class Timers
    {
        private static TimerQueue s_queue;

        // Set whenever the earliest deadline may have moved; whoever arms the hardware clears it.
        internal static bool Changed;

        internal static ulong Earliest => s_queue.Earliest;

        internal static int Count => s_queue.Count;

        // How close to its deadline a timer fires: the timer hardware's resolution.
        internal static ulong ResolutionNs => Arch.X64.LocalApic.ResolutionNs;

        // Arms `timer` for `deadline` (Clock nanoseconds); `expire` runs from the timer interrupt (or
        // the idle loop) with interrupts off, once the deadline has passed.
        internal static void Start(Timer* timer, ulong deadline, delegate*<Timer*, void> expire, void* owner)
        {
            timer->Expire = expire;
            timer->Owner = owner;
            Changed = true;
            fixed (TimerQueue* queue = &s_queue) queue->Add(timer, deadline);
        }

        // Disarms `timer`; false when it had already expired or was not armed.
        internal static bool Cancel(Timer* timer)
        {
            if (!timer->Queued) return false;
            Changed = true;
            fixed (TimerQueue* queue = &s_queue) return queue->Remove(timer);
        }

        // Runs every timer whose deadline has passed.
        internal static void ExpireDue()
        {
            if (s_queue.Earliest == TimerQueue.Never) return;
            fixed (TimerQueue* queue = &s_queue)
                if (queue->ExpireUpTo(Clock.Nanoseconds()) > 0) Changed = true;
        }
    }
}
