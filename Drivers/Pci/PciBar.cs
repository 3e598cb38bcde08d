namespace Libra.Drivers.Pci
{
    internal enum PciBarKind
    {
        Io,
        Memory32,      // includes the PCI 2.x "below 1 MiB" type, which Linux also treats as 32-bit
        Memory64,      // this BAR and the next hold one 64-bit address
        Reserved,      // memory type 11b: undefined, do not use
    }

    internal enum PciBarError
    {
        None,
        BadIndex,          // beyond the layout's BARs
        TruncatedPair,     // a 64-bit BAR in the last slot has no upper half
    }

    // A decoded Base Address Register (PCI Local Bus 3.0 §6.2.5.1 Address Maps). Decoding only: sizing
    // (write all ones, read back, restore) is the kernel's, and SizeFromReadback turns its result into bytes.
    internal struct PciBar
    {
        internal const uint IoSpaceBit = 0x1, MemoryTypeMask = 0x6, MemoryType64 = 0x4, MemoryType1M = 0x2;
        internal const uint PrefetchableBit = 0x8;

        internal PciBarKind Kind;
        internal byte Index;
        internal ulong Address;
        internal bool Prefetchable;

        // Config-space slots this BAR takes; walk a function's BARs with `index += bar.Slots`.
        internal int Slots => Kind == PciBarKind.Memory64 ? 2 : 1;

        internal bool IsMemory => Kind == PciBarKind.Memory32 || Kind == PciBarKind.Memory64;

        // `high` is the next BAR's value, used only when `low` says 64-bit.
        internal static PciBar Decode(byte index, uint low, uint high)
        {
            PciBar bar = default;
            bar.Index = index;
            if ((low & IoSpaceBit) != 0)
            {
                bar.Kind = PciBarKind.Io;
                bar.Address = low & ~3u;
                return bar;
            }
            uint type = low & MemoryTypeMask;
            bar.Prefetchable = (low & PrefetchableBit) != 0;
            bar.Address = low & ~0xfu;
            if (type == MemoryType64)
            {
                bar.Kind = PciBarKind.Memory64;
                bar.Address |= (ulong)high << 32;
            }
            else
            {
                bar.Kind = type == (MemoryType64 | MemoryType1M) ? PciBarKind.Reserved : PciBarKind.Memory32;
            }
            return bar;
        }

        // Reads BAR `index` of a function whose header layout allows `barCount` BARs (PciHeader.BarCount).
        internal static PciBarError TryRead(PciConfigSpace config, int index, int barCount, out PciBar bar)
        {
            bar = default;
            if (index < 0 || index >= barCount) return PciBarError.BadIndex;
            int offset = PciHeader.Bar0Offset + 4 * index;
            uint low = config.Read32(offset);
            bool is64 = (low & (IoSpaceBit | MemoryTypeMask)) == MemoryType64;
            if (is64 && index + 1 >= barCount) return PciBarError.TruncatedPair;
            bar = Decode((byte)index, low, is64 ? config.Read32(offset + 4) : 0);
            return PciBarError.None;
        }

        // The BAR's size from the values read back after writing all ones (to both halves of a 64-bit
        // BAR): the lowest writable address bit (PCI Local Bus 3.0 §6.2.5.1; Linux pci_size). 0 means
        // the BAR is not implemented. I/O BARs may leave the upper 16 bits zero; that does not matter.
        internal static ulong SizeFromReadback(uint lowReadback, uint highReadback)
        {
            ulong mask;
            if ((lowReadback & IoSpaceBit) != 0) mask = lowReadback & ~3u;
            else if ((lowReadback & MemoryTypeMask) == MemoryType64) mask = (lowReadback & ~0xfu) | ((ulong)highReadback << 32);
            else mask = lowReadback & ~0xfu;
            return mask & (~mask + 1);
        }
    }
}
