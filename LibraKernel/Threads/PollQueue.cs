namespace Libra.Threads
{
    // Readiness events, as poll(2) and epoll(7) number them (uapi/asm-generic/poll.h, eventpoll.h).
    internal static class PollEvents
    {
        internal const uint In = 0x001, Pri = 0x002, Out = 0x004, Err = 0x008, Hup = 0x010, Nval = 0x020,
            RdNorm = 0x040, RdBand = 0x080, WrNorm = 0x100, WrBand = 0x200, RdHup = 0x2000;
        // Everything a waiter hears about, whatever it asked for (poll(2): POLLERR, POLLHUP, POLLNVAL).
        internal const uint Always = Err | Hup | Nval;
        internal const uint Any = 0xffffffff;
    }

    // A wait entry: a thread or a callback waiting on one poll queue for some events. It belongs
    // to the waiter (a poll call's frame, an epoll item), so one thread can wait on many queues and
    // epoll can hang a callback on every watched file, as Linux's wait_queue_entry does.
    internal unsafe struct PollEntry
    {
        internal PollEntry* Next, Previous;
        internal PollQueue* Queue;
        internal uint Events;                                   // the events this waiter cares about
        internal Thread* Thread;                                // woken when Callback is null
        internal delegate*<PollEntry*, uint, void> Callback;    // called with the events that happened
        internal void* Owner;                                   // the callback's object

        internal bool IsQueued => Queue != null;
    }

    // Where an object (a pipe, an eventfd, a socket, an epoll instance) announces that its readiness
    // changed. The kernel runs with interrupts off on one CPU, so "check, then Wait" cannot miss a
    // Notify in between.
    internal unsafe struct PollQueue
    {
        private PollEntry* _head;

        internal bool IsEmpty => _head == null;

        internal void Add(PollEntry* entry)
        {
            fixed (PollQueue* self = &this)
            {
                entry->Queue = self;
                entry->Previous = null;
                entry->Next = _head;
                if (_head != null) _head->Previous = entry;
                _head = entry;
            }
        }

        // Takes an entry off whatever queue holds it (nothing when it is on none).
        internal static void Remove(PollEntry* entry)
        {
            PollQueue* queue = entry->Queue;
            if (queue == null) return;
            if (entry->Previous != null) entry->Previous->Next = entry->Next; else queue->_head = entry->Next;
            if (entry->Next != null) entry->Next->Previous = entry->Previous;
            entry->Next = entry->Previous = null;
            entry->Queue = null;
        }

        // Tells every waiter whose events intersect `events`: a callback runs, a thread is woken
        // (it re-checks its own condition). A waiter may remove its own entry from its callback.
        internal void Notify(uint events)
        {
            PollEntry* entry = _head;
            while (entry != null)
            {
                PollEntry* next = entry->Next;
                if ((entry->Events & events) != 0)
                {
                    if (entry->Callback != null) entry->Callback(entry, events);
                    else Scheduler.Wake(entry->Thread, WakeReason.Woken);
                }
                entry = next;
            }
        }

        // Blocks the current thread until one of `events` is announced here, the deadline (Clock
        // nanoseconds; 0 = none), or a signal. The caller re-checks its condition afterwards.
        internal WakeReason Wait(uint events, ulong deadline, bool interruptible = true)
        {
            PollEntry entry = default;
            entry.Events = events | PollEvents.Always;
            entry.Thread = Scheduler.Current;
            Add(&entry);
            WakeReason reason = Scheduler.Block(deadline, interruptible);
            Remove(&entry);
            return reason;
        }
    }
}
