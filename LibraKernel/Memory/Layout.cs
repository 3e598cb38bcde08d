namespace Libra.Memory
{
    // The kernel's address map and limits, in one place (cf. xv6 memlayout.h).
    internal static class Layout
    {
        internal const ulong PageSize = 4096;
        internal const ulong LargePageSize = 2ul << 20;
        internal const ulong HugePageSize = 1ul << 30;

        // All physical memory, mapped at this base (NX, supervisor only).
        internal const ulong DirectMapBase = 0xffff800000000000;
        // Kernel stacks with an unmapped guard page below each one.
        internal const ulong KernelStacksBase = 0xfffffe0000000000;
        // The kernel image: linked at this base plus its physical address (Boot/kernel.ld).
        internal const ulong KernelImageBase = 0xffffffff80000000;

        // The lowest physical address the frame allocator hands out: below 1 MiB lie the BIOS areas.
        internal const ulong LowestAllocatable = 1ul << 20;
        // Below this much usable RAM the kernel stops at boot with a clear message.
        internal const ulong MinimumRam = 24ul << 20;
        // Where the memory-mapped I/O of a PC lives below 4 GiB (LAPIC, IOAPIC, HPET, PCI BARs): uncached.
        internal const ulong MmioWindowStart = 0xc0000000;
        internal const ulong MmioWindowEnd = 0x100000000;

        internal const ulong KernelStackSize = 32 * 1024;

        // The application's half (Linux x86-64 user layout, arch/x86/include/asm/page_64_types.h):
        // nothing below mmap_min_addr, a static-PIE at Linux's ELF_ET_DYN_BASE, the main stack just
        // below TASK_SIZE, and mmap allocations top-down beneath the stack's reserved 8 MiB.
        internal const ulong UserLowest = 0x10000;
        internal const ulong UserEnd = 0x00007ffffffff000;
        internal const ulong UserPieBase = 0x0000555555400000;
        internal const ulong UserStackTop = UserEnd;
        internal const ulong UserStackSize = 8ul << 20;
        internal const ulong UserMmapTop = UserStackTop - UserStackSize - (128ul << 20);
        // The vDSO's data page ([vvar]) and, right above it, the vDSO ([vdso]): in the gap between the
        // mmap area and the stack, where Linux too puts them near the stack (arch/x86/entry/vdso/vma.c).
        internal const ulong UserVvar = UserMmapTop + (64ul << 20);
        internal const ulong UserVdso = UserVvar + PageSize;

        internal static unsafe byte* PhysicalToVirtual(ulong physical) => (byte*)(DirectMapBase + physical);
    }
}
