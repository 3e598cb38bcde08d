namespace Libra.Threads
{
    // One blocked futex waiter, embedded in the waiting thread (intrusive: the queue owns no memory).
    internal unsafe struct FutexWaiter
    {
        internal ulong Key;          // what the thread waits on (the futex word's address, per process)
        internal uint Bitset;        // FUTEX_WAIT_BITSET mask; FUTEX_WAIT uses all ones
        internal FutexWaiter* Next;
        internal FutexWaiter* Prev;
        internal bool Queued;
        internal void* Owner;        // the waiting thread, handed to the wake callback
    }

    // Futex wait queues: waiters hashed by key into a fixed set of buckets, first in first out per
    // key, as Linux kernel/futex keeps them for non-realtime threads (man futex(2)). The callers
    // serialise access (one CPU, no preemption while the queue changes).
    internal unsafe struct FutexQueue
    {
        internal const int BucketCount = 64;
        internal const uint MatchAny = 0xffffffff;  // FUTEX_BITSET_MATCH_ANY

        private struct Buckets
        {
            internal fixed ulong Head[BucketCount];  // FutexWaiter*, oldest first
            internal fixed ulong Tail[BucketCount];
        }

        private Buckets _buckets;

        // Keys are word addresses: drop the low bits, then Fibonacci hashing spreads neighbours.
        internal static int BucketOf(ulong key) => (int)(((key >> 2) * 0x9e3779b97f4a7c15ul) >> 58);

        // Appends the waiter to its key's queue; false (and nothing changes) when it is already queued.
        internal bool Enqueue(FutexWaiter* waiter)
        {
            if (waiter->Queued) return false;
            Append(BucketOf(waiter->Key), waiter);
            return true;
        }

        // Takes the waiter off its queue (timeout, signal); false when it was not queued.
        internal bool Remove(FutexWaiter* waiter)
        {
            if (!waiter->Queued) return false;
            Unlink(BucketOf(waiter->Key), waiter);
            return true;
        }

        // FUTEX_WAKE / FUTEX_WAKE_BITSET: wakes waiters on `key` whose bitset shares a bit with
        // `bitset`, oldest first, and returns how many. Like Linux futex_wake, a count below 1 still
        // wakes one. onWoken (may be null) gets each Owner after its waiter is dequeued; it must
        // not change this queue.
        internal int Wake(ulong key, int count, uint bitset, delegate*<void*, void> onWoken)
        {
            int bucket = BucketOf(key);
            int woken = 0;
            FutexWaiter* w = (FutexWaiter*)_buckets.Head[bucket];
            while (w != null)
            {
                FutexWaiter* next = w->Next;
                if (w->Key == key && (w->Bitset & bitset) != 0)
                {
                    Unlink(bucket, w);
                    if (onWoken != null) onWoken(w->Owner);
                    if (++woken >= count) break;
                }
                w = next;
            }
            return woken;
        }

        // FUTEX_REQUEUE / FUTEX_CMP_REQUEUE: wakes up to wakeCount waiters on `from` (any bitset), moves
        // up to requeueCount more to `to`, and returns woken + moved, as Linux futex_requeue does. Moved
        // waiters join the end of `to`'s queue; within one bucket they keep their place (Linux
        // requeue_futex only relinks across buckets).
        internal int Requeue(ulong from, ulong to, int wakeCount, int requeueCount, delegate*<void*, void> onWoken)
        {
            int fromBucket = BucketOf(from), toBucket = BucketOf(to);
            int woken = 0, moved = 0;
            FutexWaiter* w = (FutexWaiter*)_buckets.Head[fromBucket];
            while (w != null && (woken < wakeCount || moved < requeueCount))
            {
                FutexWaiter* next = w->Next;
                if (w->Key != from) { w = next; continue; }
                if (woken < wakeCount)
                {
                    Unlink(fromBucket, w);
                    if (onWoken != null) onWoken(w->Owner);
                    woken++;
                }
                else
                {
                    if (fromBucket != toBucket)
                    {
                        Unlink(fromBucket, w);
                        w->Key = to;
                        Append(toBucket, w);
                    }
                    else
                    {
                        w->Key = to;
                    }
                    moved++;
                }
                w = next;
            }
            return woken + moved;
        }

        // How many waiters wait on `key` (diagnostics and tests).
        internal int Waiting(ulong key)
        {
            int n = 0;
            for (FutexWaiter* w = (FutexWaiter*)_buckets.Head[BucketOf(key)]; w != null; w = w->Next)
                if (w->Key == key) n++;
            return n;
        }

        private void Append(int bucket, FutexWaiter* waiter)
        {
            FutexWaiter* tail = (FutexWaiter*)_buckets.Tail[bucket];
            waiter->Next = null;
            waiter->Prev = tail;
            if (tail != null) tail->Next = waiter; else _buckets.Head[bucket] = (ulong)waiter;
            _buckets.Tail[bucket] = (ulong)waiter;
            waiter->Queued = true;
        }

        private void Unlink(int bucket, FutexWaiter* waiter)
        {
            if (waiter->Prev != null) waiter->Prev->Next = waiter->Next; else _buckets.Head[bucket] = (ulong)waiter->Next;
            if (waiter->Next != null) waiter->Next->Prev = waiter->Prev; else _buckets.Tail[bucket] = (ulong)waiter->Prev;
            waiter->Next = null;
            waiter->Prev = null;
            waiter->Queued = false;
        }
    }
}
