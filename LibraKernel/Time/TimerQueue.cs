namespace Libra.Time
{
    // One pending deadline, embedded in whatever waits for it (a sleeping thread today; alarm,
    // itimers, timerfd and POSIX timers later): the queue owns no memory.
    internal unsafe struct Timer
    {
        internal ulong Deadline;                    // Clock nanoseconds
        internal Timer* Next;
        internal Timer* Prev;
        internal bool Queued;
        internal delegate*<Timer*, void> Expire;    // called once the deadline has passed, off the queue
        internal void* Owner;                       // for Expire: the thread (or object) the timer belongs to
    }

    // Timers ordered by deadline, earliest first; equal deadlines keep their arrival order. A sorted
    // intrusive list: insertion walks from the latest end (new deadlines are usually the latest),
    // the earliest is the head, removal is O(1). The callers serialise access (one CPU, interrupts off).
    internal unsafe struct TimerQueue
    {
        internal const ulong Never = ulong.MaxValue;

        private Timer* _head;
        private Timer* _tail;
        private int _count;

        internal int Count => _count;

        // The earliest deadline, or Never when nothing is queued.
        internal ulong Earliest => _head != null ? _head->Deadline : Never;

        // Queues the timer at `deadline`, first taking it off the queue if it was already on.
        internal void Add(Timer* timer, ulong deadline)
        {
            if (timer->Queued) Remove(timer);
            timer->Deadline = deadline;
            Timer* after = _tail;
            while (after != null && after->Deadline > deadline) after = after->Prev;
            timer->Prev = after;
            timer->Next = after != null ? after->Next : _head;
            if (timer->Next != null) timer->Next->Prev = timer; else _tail = timer;
            if (after != null) after->Next = timer; else _head = timer;
            timer->Queued = true;
            _count++;
        }

        // Takes the timer off the queue; false when it was not queued (it expired or was never added).
        internal bool Remove(Timer* timer)
        {
            if (!timer->Queued) return false;
            if (timer->Prev != null) timer->Prev->Next = timer->Next; else _head = timer->Next;
            if (timer->Next != null) timer->Next->Prev = timer->Prev; else _tail = timer->Prev;
            timer->Next = null;
            timer->Prev = null;
            timer->Queued = false;
            _count--;
            return true;
        }

        // Takes every timer whose deadline is at or before `now` off the queue, earliest first, and
        // calls its Expire (which may add timers again, this one included); how many expired.
        internal int ExpireUpTo(ulong now)
        {
            int expired = 0;
            while (_head != null && _head->Deadline <= now)
            {
                Timer* timer = _head;
                Remove(timer);
                expired++;
                if (timer->Expire != null) timer->Expire(timer);
            }
            return expired;
        }
    }
}
