using Libra.Diagnostics;

namespace Libra.Memory
{
    // The kernel's heap (Memory/Heap.cs over whole pages from PhysicalMemory). Every `new` in kernel
    // code lands here; running out is a panic.
    internal static unsafe class KernelHeap
    {
        private static Heap s_heap;
        private static bool s_ready;

        internal static void Initialize()
        {
            s_heap.Initialize(&PhysicalMemory.AllocatePages, &PhysicalMemory.FreePages);
            s_ready = true;
        }

        internal static ulong BytesInUse => s_heap.BytesInUse;

        // The most ever in use at once, for the exit report (bounded queues show here).
        internal static ulong PeakBytes => s_peak;
        private static ulong s_peak;

        internal static void* AllocateZeroed(ulong size)
        {
            byte* block = (byte*)TryAllocateZeroed(size);
            if (block == null) Panic.Halt("kernel heap: out of memory");
            return block;
        }

        // Null when the heap cannot grow: what a syscall that asked for the memory answers with
        // ENOMEM (or EMFILE/ENFILE) instead of the panic AllocateZeroed makes.
        internal static void* TryAllocateZeroed(ulong size)
        {
            if (!s_ready) Panic.Halt("kernel heap used before it was initialised");
            byte* block = s_heap.Allocate(size);
            if (block != null && s_heap.BytesInUse > s_peak) s_peak = s_heap.BytesInUse;
            return block;
        }

        internal static void Free(void* block) => s_heap.Free((byte*)block);
    }
}
