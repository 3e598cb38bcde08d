namespace Libra.Memory
{
    // x86-64 four-level page tables (Intel SDM vol. 3A §4.5). The tables live in physical frames
    // reached through `_physical` (the direct map in the kernel, a byte buffer in host tests), and new
    // table frames come from `_allocateFrame`, which returns a physical address or 0.
    internal unsafe struct PageTable
    {
        internal const ulong Present = 1ul << 0, Writable = 1ul << 1, User = 1ul << 2, WriteThrough = 1ul << 3,
            CacheDisable = 1ul << 4, Accessed = 1ul << 5, Dirty = 1ul << 6, Large = 1ul << 7, Global = 1ul << 8,
            NoExecute = 1ul << 63;
        internal const ulong AddressMask = 0x000ffffffffff000;
        private const ulong EntryFlagsMask = Present | Writable | User | WriteThrough | CacheDisable | Global | NoExecute;

        private byte* _physical;
        private delegate*<ulong> _allocateFrame;
        private ulong _root;

        internal ulong Root => _root;

        // Creates an empty hierarchy; false when no frame could be had for the root.
        internal bool Create(byte* physical, delegate*<ulong> allocateFrame)
        {
            _physical = physical;
            _allocateFrame = allocateFrame;
            _root = NewTable();
            return _root != 0;
        }

        // Maps [virtualAddress, +size) to [physicalAddress, +size) with `flags`, using pages up to
        // `largestLevel` (3 = 1 GiB, 2 = 2 MiB, 1 = 4 KiB only) where both sides are aligned. False when
        // out of frames or when a range would split an existing large page.
        internal bool Map(ulong virtualAddress, ulong physicalAddress, ulong size, ulong flags, int largestLevel = 2)
        {
            ulong end = virtualAddress + size;
            while (virtualAddress < end)
            {
                ulong remaining = end - virtualAddress;
                ulong pageSize = Layout.PageSize;
                int level = 1;
                if (largestLevel >= 3 && ((virtualAddress | physicalAddress) & (Layout.HugePageSize - 1)) == 0 && remaining >= Layout.HugePageSize)
                { pageSize = Layout.HugePageSize; level = 3; }
                else if (largestLevel >= 2 && ((virtualAddress | physicalAddress) & (Layout.LargePageSize - 1)) == 0 && remaining >= Layout.LargePageSize)
                { pageSize = Layout.LargePageSize; level = 2; }

                ulong* entry = Walk(virtualAddress, level, true);
                if (entry == null) return false;
                *entry = (physicalAddress & AddressMask) | (flags & EntryFlagsMask) | Present | (level > 1 ? Large : 0);
                virtualAddress += pageSize;
                physicalAddress += pageSize;
            }
            return true;
        }

        // The physical address `virtualAddress` maps to, with the leaf's flags; false when unmapped.
        internal bool Translate(ulong virtualAddress, out ulong physicalAddress, out ulong flags)
        {
            physicalAddress = 0;
            flags = 0;
            ulong table = _root;
            for (int level = 4; level >= 1; level--)
            {
                ulong entry = ((ulong*)(_physical + table))[Index(virtualAddress, level)];
                if ((entry & Present) == 0) return false;
                if (level == 1 || (entry & Large) != 0)
                {
                    ulong pageMask = level == 3 ? Layout.HugePageSize - 1 : level == 2 ? Layout.LargePageSize - 1 : Layout.PageSize - 1;
                    physicalAddress = (entry & AddressMask & ~pageMask) | (virtualAddress & pageMask);
                    flags = entry & ~AddressMask;
                    return true;
                }
                table = entry & AddressMask;
            }
            return false;
        }

        // The 4 KiB page-table entry for an address, creating the tables above it when `create`;
        // null when absent (and not created), out of frames, or inside a large page.
        internal ulong* Leaf(ulong virtualAddress, bool create) => Walk(virtualAddress, 1, create);

        // The first non-zero 4 KiB entry at or after `virtualAddress` and below `end`, skipping
        // absent tables whole (so a sweep over a huge empty reservation is cheap); `virtualAddress`
        // becomes its page. Null when there is none.
        internal ulong* NextLeaf(ref ulong virtualAddress, ulong end)
        {
            while (virtualAddress < end)
            {
                ulong table = _root;
                int level = 4;
                for (; level > 1; level--)
                {
                    ulong entry = ((ulong*)(_physical + table))[Index(virtualAddress, level)];
                    if ((entry & Present) == 0 || (entry & Large) != 0) break;
                    table = entry & AddressMask;
                }
                if (level > 1)
                {
                    ulong span = 1ul << (12 + 9 * (level - 1));
                    ulong next = (virtualAddress & ~(span - 1)) + span;
                    if (next <= virtualAddress) return null;
                    virtualAddress = next;
                    continue;
                }
                ulong* leaf = (ulong*)(_physical + table) + Index(virtualAddress, 1);
                if (*leaf != 0) return leaf;
                virtualAddress += Layout.PageSize;
            }
            return null;
        }

        internal static int Index(ulong virtualAddress, int level) => (int)((virtualAddress >> (12 + 9 * (level - 1))) & 511);

        // The entry at `targetLevel` (1 = PTE, 2 = PDE, 3 = PDPTE) for the address, creating the
        // intermediate tables on the way; null when out of frames or blocked by a large page.
        private ulong* Walk(ulong virtualAddress, int targetLevel, bool create)
        {
            ulong table = _root;
            for (int level = 4; level > targetLevel; level--)
            {
                ulong* entry = (ulong*)(_physical + table) + Index(virtualAddress, level);
                if ((*entry & Present) == 0)
                {
                    if (!create) return null;
                    ulong next = NewTable();
                    if (next == 0) return null;
                    // Intermediate entries grant everything; the leaf decides.
                    *entry = next | Present | Writable | User;
                }
                else if ((*entry & Large) != 0) return null;
                table = *entry & AddressMask;
            }
            return (ulong*)(_physical + table) + Index(virtualAddress, targetLevel);
        }

        private ulong NewTable()
        {
            ulong frame = _allocateFrame();
            if (frame == 0) return 0;
            ulong* table = (ulong*)(_physical + frame);
            for (int i = 0; i < 512; i++) table[i] = 0;
            return frame;
        }
    }
}
