using Libra.Memory;
using Libra.Threads;

namespace Libra.Signals
{
    // One more instance of a signal that is already pending, with its own siginfo.
    internal unsafe struct QueuedSignal
    {
        internal QueuedSignal* Next;
        internal int Signal;
        internal SignalInfo Info;
    }

    // The instances queued behind the one in a thread's PendingInfo slot. A standard signal is
    // pending once, whoever sends it again; a real-time signal (32 and up) is queued each time it is
    // sent, and so is every POSIX timer's signal, whatever its number (kernel/signal.c: __send_signal's
    // legacy_queue, send_sigqueue). Taking the pending instance moves the next one into the slot.
    internal static unsafe class SignalQueue
    {
        internal const int FirstRealtime = 32;
        // For the whole process, as a small RLIMIT_SIGPENDING: past it, a further instance is merged.
        private const int MaxQueued = 1024;
        private static int s_queued;

        // Instances that could not be queued (the limit, or no kernel memory): merged into the pending one.
        internal static ulong Refused;

        // Appends an instance of `signal` (already pending on `thread`) at the end of its queue;
        // false when the limit is reached or the kernel heap cannot hold it.
        internal static bool Append(Thread* thread, int signal, SignalInfo info)
        {
            var node = s_queued == MaxQueued ? null : (QueuedSignal*)KernelHeap.TryAllocateZeroed((ulong)sizeof(QueuedSignal));
            if (node == null) { Refused++; return false; }
            node->Signal = signal;
            node->Info = info;
            QueuedSignal** link = &thread->QueuedSignals;
            while (*link != null) link = &(*link)->Next;
            *link = node;
            s_queued++;
            return true;
        }

        // Moves the first queued instance of `signal` into the thread's slot; false when none is queued.
        internal static bool PromoteNext(Thread* thread, int signal)
        {
            for (QueuedSignal** link = &thread->QueuedSignals; *link != null; link = &(*link)->Next)
            {
                QueuedSignal* node = *link;
                if (node->Signal != signal) continue;
                *SignalDelivery.InfoOf(thread, signal) = node->Info;
                *link = node->Next;
                Free(node);
                return true;
            }
            return false;
        }

        // Takes out the queued instance of `signal` that timer `timerId` sent; false when there is none.
        internal static bool RemoveTimerSignal(Thread* thread, int signal, int timerId)
        {
            for (QueuedSignal** link = &thread->QueuedSignals; *link != null; link = &(*link)->Next)
            {
                QueuedSignal* node = *link;
                if (node->Signal != signal || node->Info.Code != SignalInfo.SI_TIMER || node->Info.TimerId != timerId) continue;
                *link = node->Next;
                Free(node);
                return true;
            }
            return false;
        }

        // A finished thread's queued instances go with it.
        internal static void Clear(Thread* thread)
        {
            while (thread->QueuedSignals != null)
            {
                QueuedSignal* node = thread->QueuedSignals;
                thread->QueuedSignals = node->Next;
                Free(node);
            }
        }

        private static void Free(QueuedSignal* node)
        {
            KernelHeap.Free(node);
            s_queued--;
        }
    }
}
