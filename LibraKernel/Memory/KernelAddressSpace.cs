using Libra.Arch.X64;
using Libra.Boot;
using Libra.Diagnostics;

namespace Libra.Memory
{
    // The kernel's page tables, which replace the boot stub's: all physical memory at DirectMapBase
    // (read-write, never executable; the PC's MMIO window uncached), the kernel image at
    // KernelImageBase with text read-execute, rodata read-only and data read-write no-execute, and
    // kernel stacks with guard pages. The lower half stays empty, so page 0 (and every null pointer)
    // faults.
    internal static unsafe class KernelAddressSpace
    {
        private static PageTable s_tables;
        private static ulong s_nextStack = Layout.KernelStacksBase;

        internal static bool Build(BootInfo* boot, ImageLayout* image)
        {
            if (!s_tables.Create((byte*)Layout.DirectMapBase, &PhysicalMemory.AllocateFrame)) return false;

            int largest = Cpu.HasHugePages ? 3 : 2;
            ulong top = boot->Memory.UsableTop;
            if (top < Layout.MmioWindowEnd) top = Layout.MmioWindowEnd;
            top = (top + Layout.HugePageSize - 1) & ~(Layout.HugePageSize - 1);
            const ulong data = PageTable.Writable | PageTable.NoExecute;
            if (!s_tables.Map(Layout.DirectMapBase, 0, Layout.MmioWindowStart, data, largest)) return false;
            if (!s_tables.Map(Layout.DirectMapBase + Layout.MmioWindowStart, Layout.MmioWindowStart,
                    Layout.MmioWindowEnd - Layout.MmioWindowStart, data | PageTable.CacheDisable | PageTable.WriteThrough, largest)) return false;
            if (top > Layout.MmioWindowEnd &&
                !s_tables.Map(Layout.DirectMapBase + Layout.MmioWindowEnd, Layout.MmioWindowEnd, top - Layout.MmioWindowEnd, data, largest)) return false;

            if (!MapImage(image->TextStart, image->TextEnd, 0)) return false;
            if (!MapImage(image->RodataStart, image->RodataEnd, PageTable.NoExecute)) return false;
            if (!MapImage(image->DataStart, image->DataEnd, PageTable.Writable | PageTable.NoExecute)) return false;
            if (!MapImage(image->SymbolsStart, image->End, PageTable.NoExecute)) return false;

            Native.WriteCr3(s_tables.Root);
            return true;
        }

        private static bool MapImage(ulong start, ulong end, ulong flags)
        {
            start &= ~(Layout.PageSize - 1);
            end = (end + Layout.PageSize - 1) & ~(Layout.PageSize - 1);
            return end <= start || s_tables.Map(start, start - Layout.KernelImageBase, end - start, flags, 1);
        }

        // A fresh kernel stack with an unmapped guard page below it; returns its top, or 0.
        internal static ulong AllocateStack(ulong size)
        {
            ulong pages = size / Layout.PageSize;
            ulong bottom = s_nextStack + Layout.PageSize;
            for (ulong i = 0; i < pages; i++)
            {
                ulong frame = PhysicalMemory.AllocateFrame();
                if (frame == 0 || !s_tables.Map(bottom + i * Layout.PageSize, frame, Layout.PageSize, PageTable.Writable | PageTable.NoExecute, 1))
                    return 0;
            }
            s_nextStack = bottom + size;
            return bottom + size;
        }

        // The one set of page tables; the application's pages live in its lower half (Memory/UserMemory.cs).
        internal static PageTable* Tables
        {
            get { fixed (PageTable* tables = &s_tables) return tables; }
        }

        internal static bool Translate(ulong virtualAddress, out ulong physical, out ulong flags) =>
            s_tables.Translate(virtualAddress, out physical, out flags);
    }
}
