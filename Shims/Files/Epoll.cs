using Libra.Diagnostics;
using Libra.Memory;
using Libra.Threads;
using Libra.Time;

namespace Libra.Shims
{
    // One watched (file, descriptor) pair of an epoll instance. Its wait entry hangs on the file's
    // poll queue with a callback that puts the item on the instance's ready list (Linux's
    // ep_poll_callback); epoll_wait then asks the file for its mask again, so a stale or spurious
    // notification reports nothing.
    internal unsafe struct EpollItem
    {
        internal ReadyLink Link;        // first: the ready list's pointer is the item's
        internal PollEntry Entry;
        internal Epoll* Owner;
        internal OpenFile* File;
        internal int Fd;
        internal EpollItem* NextInEpoll, PreviousInEpoll;
        internal EpollItem* NextOnFile;
    }

    // An epoll instance: its items, the ready list, and the queue epoll_wait sleeps on (which is
    // also what a poll or an outer epoll of this descriptor watches).
    internal unsafe struct Epoll
    {
        internal const uint EPOLLEXCLUSIVE = 1u << 28, EPOLLWAKEUP = 1u << 29, EPOLLONESHOT = 1u << 30, EPOLLET = 1u << 31;
        private const uint Flags = EPOLLEXCLUSIVE | EPOLLWAKEUP | EPOLLONESHOT | EPOLLET;
        private const int MaxNesting = 4;     // EP_MAX_NESTS

        internal PollQueue Queue;
        private EpollItem* _items;
        private EpollReadyList _ready;

        private static FileOperations* s_ops;

        internal static void Initialize()
        {
            s_ops = FileOperations.New();
            s_ops->Poll = &PollInstance;
            s_ops->Queue = &QueueOf;
            s_ops->Release = &Release;
        }

        // A new epoll instance's description, or null when the kernel heap cannot hold it (ENFILE).
        internal static OpenFile* NewFile(int flags)
        {
            var epoll = (Epoll*)KernelHeap.TryAllocateZeroed((ulong)sizeof(Epoll));
            OpenFile* file = epoll == null ? null : FileTable.TryNew(FileKind.Epoll, s_ops, FileTable.O_RDWR | flags, 0x180);
            if (file == null) { KernelHeap.Free(epoll); return null; }
            file->Object = epoll;
            file->Inode = 1;
            return file;
        }

        internal static Epoll* Of(OpenFile* file) => file->Kind == FileKind.Epoll ? (Epoll*)file->Object : null;

        private static uint WaitEvents(uint events) => (events & ~Flags) | PollEvents.Always;

        internal EpollItem* Find(OpenFile* file, int fd)
        {
            for (EpollItem* item = _items; item != null; item = item->NextInEpoll)
                if (item->File == file && item->Fd == fd) return item;
            return null;
        }

        // EPOLL_CTL_ADD: registers the item on the file's queue and, as Linux does, reports
        // readiness that already exists.
        internal long Add(OpenFile* file, int fd, uint events, ulong data)
        {
            if (file->Ops->Poll == null) return -Errno.EPERM;
            if (Find(file, fd) != null) return -Errno.EEXIST;
            Epoll* inner = Of(file);
            if (inner != null && (inner->Reaches(Self, 1) || inner->Depth(1) + 1 > MaxNesting)) return -Errno.ELOOP;
            var item = (EpollItem*)KernelHeap.TryAllocateZeroed((ulong)sizeof(EpollItem));
            if (item == null) return -Errno.ENOMEM;     // ep_insert's kmem_cache_alloc
            item->Owner = Self;
            item->File = file;
            item->Fd = fd;
            item->Link.Events = events;
            item->Link.Data = data;
            item->Entry.Events = WaitEvents(events);
            item->Entry.Callback = &Notified;
            item->Entry.Owner = item;
            item->NextInEpoll = _items;
            if (_items != null) _items->PreviousInEpoll = item;
            _items = item;
            item->NextOnFile = file->Watchers;
            file->Watchers = item;
            if (file->Ops->Queue != null) file->Ops->Queue(file)->Add(&item->Entry);
            CheckNow(item);
            return 0;
        }

        // EPOLL_CTL_MOD: new events and data; re-arms a one-shot item.
        internal long Modify(EpollItem* item, uint events, ulong data)
        {
            if ((item->Link.Events & EPOLLEXCLUSIVE) != 0 || (events & EPOLLEXCLUSIVE) != 0) return -Errno.EINVAL;
            item->Link.Events = events;
            item->Link.Data = data;
            item->Entry.Events = WaitEvents(events);
            item->Link.Disarmed = false;
            CheckNow(item);
            return 0;
        }

        // EPOLL_CTL_DEL, and the last close of a watched file.
        internal void Remove(EpollItem* item)
        {
            PollQueue.Remove(&item->Entry);
            if (item->Link.Ready) _ready.Remove(&item->Link);
            if (item->PreviousInEpoll != null) item->PreviousInEpoll->NextInEpoll = item->NextInEpoll; else _items = item->NextInEpoll;
            if (item->NextInEpoll != null) item->NextInEpoll->PreviousInEpoll = item->PreviousInEpoll;
            EpollItem** link = &item->File->Watchers;
            while (*link != null && *link != item) link = &(*link)->NextOnFile;
            if (*link == item) *link = item->NextOnFile;
            KernelHeap.Free(item);
        }

        // Fills `events` (struct epoll_event, 12 bytes packed, in user memory) with up to `max`
        // ready items by the ready list's rules (EpollReadyList); -EFAULT when not even one fits.
        internal long Harvest(ulong events, int max)
        {
            int count = _ready.Harvest(max, &ReportedNow, &CopyEvent, events);
            return count < 0 ? -Errno.EFAULT : count;
        }

        // What the item's file reports for the item's events now.
        private static uint ReportedNow(ReadyLink* link)
        {
            var item = (EpollItem*)link;
            return PollCalls.Events(item->File) & WaitEvents(item->Link.Events);
        }

        private static bool CopyEvent(ulong events, int index, uint mask, ulong data)
        {
            byte* record = stackalloc byte[12];
            *(uint*)record = mask;
            *(ulong*)(record + 4) = data;
            // The range was checked once for all (WaitUntil); the copy still stops at a page unmapped since.
            return UserMemory.CopyChecked((void*)(events + (ulong)index * 12), record, 12) == 12;
        }

        // An epoll instance in a state dump: its items, its ready list, whether epoll_wait sleeps on
        // it, and every item whose file reports one of its events now (with ET, a ready item not on
        // the list was reported and waits for the next edge; without ET it is a lost wake-up).
        internal void Describe()
        {
            int items = 0, ready = _ready.Count;
            for (EpollItem* item = _items; item != null; item = item->NextInEpoll) items++;
            KernelLog.Begin(); KernelLog.Write("dump:   epoll: "); KernelLog.Decimal((ulong)items); KernelLog.Write(" item(s), ");
            KernelLog.Decimal((ulong)ready); KernelLog.Write(" on the ready list"); KernelLog.Write(Queue.IsEmpty ? ", nobody waits" : ", a waiter sleeps");
            KernelLog.End();
            for (EpollItem* item = _items; item != null; item = item->NextInEpoll)
            {
                uint now = ReportedNow(&item->Link);
                if (now == 0 && !item->Link.Ready) continue;
                KernelLog.Begin(); KernelLog.Write("dump:   epoll item fd "); KernelLog.Decimal((ulong)item->Fd); KernelLog.Write(" events ");
                KernelLog.Hex(item->Link.Events, 8); KernelLog.Write(" file ready "); KernelLog.Hex(now, 4);
                KernelLog.Write(item->Link.Ready ? ", on the ready list" : ", not on the ready list");
                if (item->Link.Disarmed) KernelLog.Write(", disarmed (oneshot)");
                KernelLog.End();
            }
        }

        // Whether any ready item really reports an event now (what poll sees on the epoll descriptor).
        private bool HasEvents()
        {
            for (ReadyLink* link = _ready.First; link != null; link = link->Next)
                if (!link->Disarmed && ReportedNow(link) != 0) return true;
            return false;
        }

        private void CheckNow(EpollItem* item)
        {
            if (ReportedNow(&item->Link) == 0) return;
            _ready.Add(&item->Link);
            Queue.Notify(PollEvents.In | PollEvents.RdNorm);
        }

        // A watched file announced `events`: the item goes on the ready list and epoll_wait wakes.
        private static void Notified(PollEntry* entry, uint events)
        {
            var item = (EpollItem*)entry->Owner;
            if (item->Link.Disarmed) return;
            Epoll* epoll = item->Owner;
            epoll->_ready.Add(&item->Link);
            epoll->Queue.Notify(PollEvents.In | PollEvents.RdNorm);
        }

        private Epoll* Self
        {
            get { fixed (Epoll* self = &this) return self; }
        }

        // Whether `target` is this instance or is watched, directly or through nested instances, by it.
        private bool Reaches(Epoll* target, int depth)
        {
            if (Self == target) return true;
            if (depth > MaxNesting) return false;
            for (EpollItem* item = _items; item != null; item = item->NextInEpoll)
            {
                Epoll* inner = Of(item->File);
                if (inner != null && inner->Reaches(target, depth + 1)) return true;
            }
            return false;
        }

        private int Depth(int depth)
        {
            int deepest = depth;
            if (depth > MaxNesting) return depth;
            for (EpollItem* item = _items; item != null; item = item->NextInEpoll)
            {
                Epoll* inner = Of(item->File);
                if (inner == null) continue;
                int d = inner->Depth(depth + 1);
                if (d > deepest) deepest = d;
            }
            return deepest;
        }

        // The last close of any watched file takes its items out of every instance.
        internal static void Forget(OpenFile* file)
        {
            while (file->Watchers != null) file->Watchers->Owner->Remove(file->Watchers);
        }

        private static uint PollInstance(OpenFile* file) => Of(file)->HasEvents() ? PollEvents.In | PollEvents.RdNorm : 0;

        private static PollQueue* QueueOf(OpenFile* file) => &Of(file)->Queue;

        private static void Release(OpenFile* file)
        {
            Epoll* epoll = Of(file);
            while (epoll->_items != null) epoll->Remove(epoll->_items);
            KernelHeap.Free(epoll);
        }
    }

    // epoll_create, epoll_create1, epoll_ctl, epoll_wait, epoll_pwait, epoll_pwait2.
    internal static unsafe class EpollCalls
    {
        private const int EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2, EPOLL_CTL_MOD = 3;
        private const int MaxEvents = int.MaxValue / 12;
        private const uint ExclusiveBits = PollEvents.In | PollEvents.Out | PollEvents.RdNorm | PollEvents.RdBand | PollEvents.WrNorm |
            PollEvents.WrBand | PollEvents.Err | PollEvents.Hup | Epoll.EPOLLWAKEUP | Epoll.EPOLLET | Epoll.EPOLLEXCLUSIVE;

        internal static long Create(SyscallArgs* a) => a->Int0 <= 0 ? -Errno.EINVAL : CreateWithFlags(0);

        internal static long Create1(SyscallArgs* a) => (a->Int0 & ~FileTable.O_CLOEXEC) != 0 ? -Errno.EINVAL : CreateWithFlags(a->Int0);

        private static long CreateWithFlags(int flags) =>
            Epoll.NewFile(0) is var file && file != null ? FileTable.AllocateNew(file, (flags & FileTable.O_CLOEXEC) != 0) : -Errno.ENFILE;

        // epoll_ctl(epfd, op, fd, struct epoll_event*)
        internal static long Control(SyscallArgs* a)
        {
            OpenFile* epollFile = FileTable.Use(a->Int0), file = FileTable.Use(a->Int2);
            if (epollFile == null || file == null) return -Errno.EBADF;
            Epoll* epoll = Epoll.Of(epollFile);
            if (epoll == null || epollFile == file) return -Errno.EINVAL;
            int op = a->Int1;
            uint events = 0;
            ulong data = 0;
            if (op != EPOLL_CTL_DEL)
            {
                byte* buffer = stackalloc byte[12];
                if (!UserMemory.CopyFromUser(buffer, a->A3, 12)) return -Errno.EFAULT;
                events = *(uint*)buffer;
                data = *(ulong*)(buffer + 4);
            }
            EpollItem* item = epoll->Find(file, a->Int2);
            switch (op)
            {
                case EPOLL_CTL_ADD:
                    // EPOLLEXCLUSIVE goes only with the in/out bits, EPOLLET and EPOLLWAKEUP, never on an epoll (epoll_ctl(2)).
                    if ((events & Epoll.EPOLLEXCLUSIVE) != 0 && ((events & ~ExclusiveBits) != 0 || Epoll.Of(file) != null)) return -Errno.EINVAL;
                    return epoll->Add(file, a->Int2, events, data);
                case EPOLL_CTL_MOD:
                    return item == null ? -Errno.ENOENT : epoll->Modify(item, events, data);
                case EPOLL_CTL_DEL:
                    if (item == null) return -Errno.ENOENT;
                    epoll->Remove(item);
                    return 0;
                default:
                    return -Errno.EINVAL;
            }
        }

        // epoll_wait(epfd, events, maxevents, timeout_ms)
        internal static long Wait(SyscallArgs* a)
        {
            int timeout = a->Int3;
            return WaitUntil(a->Int0, a->A1, a->Int2, timeout < 0 ? 0 : Clock.Nanoseconds() + (ulong)timeout * 1_000_000 + 1, timeout == 0);
        }

        // epoll_pwait(epfd, events, maxevents, timeout_ms, sigmask, sigsetsize)
        internal static long PWait(SyscallArgs* a)
        {
            long error = PollCalls.MaskSignals(a->A4, a->A5, out ulong saved);
            if (error != 0) return error;
            long result = Wait(a);
            PollCalls.RestoreSignals(a->A4, saved, result);
            return result;
        }

        // epoll_pwait2(epfd, events, maxevents, timespec*, sigmask, sigsetsize)
        internal static long PWait2(SyscallArgs* a)
        {
            long error = PollCalls.TimeoutFromTimespec(a->A3, out ulong deadline, out bool immediate);
            if (error != 0) return error;
            error = PollCalls.MaskSignals(a->A4, a->A5, out ulong saved);
            if (error != 0) return error;
            long result = WaitUntil(a->Int0, a->A1, a->Int2, deadline, immediate);
            PollCalls.RestoreSignals(a->A4, saved, result);
            return result;
        }

        private static long WaitUntil(int epfd, ulong events, int max, ulong deadline, bool immediate)
        {
            if (max <= 0 || max > MaxEvents) return -Errno.EINVAL;
            OpenFile* file = FileTable.Use(epfd);
            if (file == null) return -Errno.EBADF;
            Epoll* epoll = Epoll.Of(file);
            if (epoll == null) return -Errno.EINVAL;
            // Only the range is checked first (access_ok): with nothing ready, no byte is written.
            if (!UserMemory.IsInUserHalf(events, (ulong)max * 12)) return -Errno.EFAULT;
            FileTable.Hold(file);
            long result;
            while (true)
            {
                long count = epoll->Harvest(events, max);
                if (count != 0 || immediate) { result = count; break; }
                WakeReason reason = epoll->Queue.Wait(PollEvents.In, deadline);
                if (reason == WakeReason.Interrupted) { result = -Errno.EINTR; break; }
                if (reason == WakeReason.TimedOut) immediate = true;
            }
            FileTable.Put(file);
            return result;
        }
    }
}
