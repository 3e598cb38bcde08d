namespace Libra.Threads
{
    // Threads sleeping until something changes (a pipe gains data or space, ...): wake all, and each
    // re-checks its own condition. Intrusive through Thread.NextWaiter.
    internal unsafe struct WaitQueue
    {
        private Thread* _head;

        // Blocks the current thread here until WakeAll, the deadline, or a signal.
        internal WakeReason Wait(ulong deadline)
        {
            Thread* self = Scheduler.Current;
            self->NextWaiter = _head;
            _head = self;
            WakeReason reason = Scheduler.Block(deadline);
            Remove(self);
            return reason;
        }

        internal void WakeAll()
        {
            Thread* thread = _head;
            _head = null;
            while (thread != null)
            {
                Thread* next = thread->NextWaiter;
                thread->NextWaiter = null;
                Scheduler.Wake(thread, WakeReason.Woken);
                thread = next;
            }
        }

        private void Remove(Thread* thread)
        {
            Thread** link;
            fixed (Thread** head = &_head) link = head;
            while (*link != null && *link != thread) link = &(*link)->NextWaiter;
            if (*link == thread) *link = thread->NextWaiter;
            thread->NextWaiter = null;
        }
    }
}
