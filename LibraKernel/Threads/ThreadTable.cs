using Libra.Arch.X64;
using Libra.Diagnostics;
using Libra.Memory;

namespace Libra.Threads
{
    // Every thread the application has, live or finished. A finished thread's record and kernel
    // stack go on a free list for the next clone, since a stack cannot be released while its owner
    // still runs on it.
    internal static unsafe class ThreadTable
    {
        internal const int MaxThreads = 1024;
        internal const ulong KernelStackSize = 64 * 1024;
        // The thread-group id: the main thread's tid, as getpid() reports it.
        internal const int ProcessId = 1;

        private struct Slots { internal fixed ulong Threads[MaxThreads]; }
        private static Slots s_slots;
        private static int s_count;
        private static int s_nextTid = ProcessId;
        private static Thread* s_free;
        internal static int LiveCount;

        // A new thread in state Free with a fresh tid and a kernel stack; null when out of memory or
        // past MaxThreads (the caller answers EAGAIN, as Linux does at RLIMIT_NPROC).
        internal static Thread* Create()
        {
            Thread* thread = s_free;
            if (thread != null)
            {
                s_free = thread->NextFree;
                ulong stackTop = thread->KernelStackTop;
                *thread = default;
                thread->KernelStackTop = stackTop;
            }
            else
            {
                if (s_count == MaxThreads) return null;
                thread = (Thread*)KernelHeap.TryAllocateZeroed((ulong)sizeof(Thread));
                if (thread == null) return null;
                ulong top = KernelAddressSpace.AllocateStack(KernelStackSize);
                if (top == 0) { KernelHeap.Free(thread); return null; }
                thread->KernelStackTop = top;
                s_slots.Threads[s_count++] = (ulong)thread;
            }
            thread->Tid = s_nextTid++;
            LiveCount++;
            return thread;
        }

        // Marks a thread finished; its record is reused once it is off the CPU (single CPU: the next
        // clone can only run after this thread has switched away for good).
        internal static void Release(Thread* thread)
        {
            thread->State = ThreadState.Dead;
            Signals.SignalQueue.Clear(thread);
            thread->NextFree = s_free;
            s_free = thread;
            LiveCount--;
        }

        internal static Thread* Find(int tid)
        {
            for (int i = 0; i < s_count; i++)
            {
                Thread* thread = (Thread*)s_slots.Threads[i];
                if (thread->Tid == tid && thread->IsAlive) return thread;
            }
            return null;
        }

        internal static int Count => s_count;

        internal static Thread* At(int index) => (Thread*)s_slots.Threads[index];
    }
}
