using Libra.Diagnostics;

namespace Libra.Memory
{
    // The kernel's heap (Memory/Heap.cs over whole pages from PhysicalMemory). Every `new` in kernel
    // code lands here. TryAllocateZeroed is for what a system call or an interrupt asks for: running
    // out is the caller's errno. AllocateZeroed is for what the kernel cannot go on without (boot
    // tables, the runtime's objects): running out is a panic.
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

        // Failure injection, as Linux's failslab (Documentation/fault-injection): with
        // libra.fail_alloc=N, from the application's start one allocation in N fails, drawn from a
        // generator with a fixed seed, so that the fuzzers reach every path that handles a failed
        // allocation. A failure injected into AllocateZeroed is a panic: after the start, the
        // kernel must ask with TryAllocateZeroed.
        internal static uint FailOneIn;
        internal static ulong InjectedFailures;
        private static bool s_injecting;
        private static ulong s_injectionState = 0x9e3779b97f4a7c15;

        internal static void StartInjecting() => s_injecting = FailOneIn != 0;

        internal static void* AllocateZeroed(ulong size)
        {
            byte* block = (byte*)TryAllocateZeroed(size);
            if (block == null) Panic.Halt(s_injecting ? "kernel heap: an injected allocation failure (libra.fail_alloc) reached AllocateZeroed" : "kernel heap: out of memory");
            return block;
        }

        // Null when the heap cannot grow: what a syscall that asked for the memory answers with
        // ENOMEM (or EMFILE/ENFILE) instead of the panic AllocateZeroed makes.
        internal static void* TryAllocateZeroed(ulong size)
        {
            if (s_injecting && InjectFailure()) return null;
            return AllocateUninjected(size);
        }

        // The runtime's objects (RhpNewFast and friends): no failure is injected, the code that
        // asks has no way to be told.
        internal static void* AllocateObject(ulong size)
        {
            byte* block = (byte*)AllocateUninjected(size);
            if (block == null) Panic.Halt("kernel heap: out of memory for an object");
            return block;
        }

        private static void* AllocateUninjected(ulong size)
        {
            if (!s_ready) Panic.Halt("kernel heap used before it was initialised");
            byte* block = s_heap.Allocate(size);
            if (block != null && s_heap.BytesInUse > s_peak) s_peak = s_heap.BytesInUse;
            return block;
        }

        // splitmix64 (Steele et al., OOPSLA 2014), one draw per allocation.
        private static bool InjectFailure()
        {
            ulong z = s_injectionState += 0x9e3779b97f4a7c15;
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
            z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
            z ^= z >> 31;
            if (z % FailOneIn != 0) return false;
            InjectedFailures++;
            return true;
        }

        internal static void Free(void* block) => s_heap.Free((byte*)block);
    }
}
