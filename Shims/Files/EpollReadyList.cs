namespace Libra.Shims
{
    // An epoll item as its instance's ready list sees it: the first field of EpollItem, so a pointer
    // to it is a pointer to the item.
    internal unsafe struct ReadyLink
    {
        internal ReadyLink* Next;
        internal bool Ready;            // on the ready list
        internal bool Disarmed;         // an EPOLLONESHOT item that fired; EPOLL_CTL_MOD re-arms it
        internal uint Events;           // EPOLLIN... and the EPOLLET/ONESHOT/EXCLUSIVE/WAKEUP flags
        internal ulong Data;
    }

    // An epoll instance's ready list and epoll_wait's rules for it (epoll(7); fs/eventpoll.c,
    // ep_send_events): an item joins once however often its file notifies; epoll_wait asks each
    // item's file for its mask again and reports only what is true now; a level-triggered item that
    // reported stays (behind the others), an edge-triggered one leaves until its file notifies again,
    // a one-shot one is disarmed; items past `max` keep their place at the front, and items that
    // notified during the harvest follow them. Pure logic, host-tested (EpollReadyListTests): the
    // file masks and the copy to the caller come in as functions.
    internal unsafe struct EpollReadyList
    {
        internal const uint EPOLLONESHOT = 1u << 30, EPOLLET = 1u << 31;

        private ReadyLink* _head, _tail;

        internal ReadyLink* First => _head;

        internal int Count
        {
            get
            {
                int count = 0;
                for (ReadyLink* link = _head; link != null; link = link->Next) count++;
                return count;
            }
        }

        // A notification: at the end of the list unless it is on it already.
        internal void Add(ReadyLink* link)
        {
            if (link->Ready) return;
            link->Ready = true;
            link->Next = null;
            if (_tail == null) _head = link; else _tail->Next = link;
            _tail = link;
        }

        // EPOLL_CTL_DEL (or the file's last close): off the list wherever it is.
        internal void Remove(ReadyLink* link)
        {
            ReadyLink* previous = null;
            for (ReadyLink* at = _head; at != null; previous = at, at = at->Next)
            {
                if (at != link) continue;
                if (previous == null) _head = at->Next; else previous->Next = at->Next;
                if (_tail == at) _tail = previous;
                break;
            }
            link->Ready = false;
            link->Next = null;
        }

        // Reports up to `max` items: `maskOf` gives what an item's file reports for its events now (0:
        // nothing), `emit(context, index, mask, data)` hands one event to the caller (false: it could
        // not be delivered, e.g. EFAULT; that item stays ready and the harvest stops). The count
        // reported, or -1 when the very first delivery failed.
        internal int Harvest(int max, delegate*<ReadyLink*, uint> maskOf, delegate*<ulong, int, uint, ulong, bool> emit, ulong context)
        {
            ReadyLink* pending = _head;
            _head = _tail = null;
            ReadyLink* againHead = null, againTail = null;
            int count = 0;
            bool failed = false;
            while (pending != null && count < max)
            {
                ReadyLink* link = pending;
                if (link->Disarmed) { pending = Detach(link); continue; }
                uint mask = maskOf(link);
                if (mask == 0) { pending = Detach(link); continue; }
                // Off the list before the copy, so a notification during it is a new edge, kept.
                pending = Detach(link);
                if (!emit(context, count, mask, link->Data))
                {
                    failed = true;
                    if (!link->Ready) { link->Next = pending; pending = link; }   // back in front, still ready
                    break;
                }
                count++;
                if ((link->Events & EPOLLONESHOT) != 0) link->Disarmed = true;
                else if ((link->Events & EPOLLET) == 0)
                {
                    link->Ready = true;         // on the list again already: a notification now changes nothing
                    if (againTail == null) againHead = link; else againTail->Next = link;
                    againTail = link;
                }
            }
            // Items not reached stay first (still ready, in order), then whatever notified meanwhile,
            // then the level-triggered ones just reported.
            ReadyLink* arrived = _head;
            _head = _tail = null;
            Requeue(pending);
            Requeue(arrived);
            Requeue(againHead);
            return failed && count == 0 ? -1 : count;
        }

        private static ReadyLink* Detach(ReadyLink* link)
        {
            ReadyLink* next = link->Next;
            link->Next = null;
            link->Ready = false;
            return next;
        }

        private void Requeue(ReadyLink* list)
        {
            while (list != null)
            {
                ReadyLink* next = list->Next;
                list->Next = null;
                list->Ready = false;
                Add(list);
                list = next;
            }
        }
    }
}
