namespace Libra.Drivers.Pci
{
    // Capability IDs (PCI Local Bus 3.0 Appendix H Capability IDs).
    internal static class PciCapabilityId
    {
        internal const byte PowerManagement = 0x01;
        internal const byte Msi = 0x05;
        internal const byte VendorSpecific = 0x09;
        internal const byte PciExpress = 0x10;
        internal const byte MsiX = 0x11;
    }

    // Walks a function's capability list (PCI Local Bus 3.0 §6.7 Capabilities List): the pointer at
    // 0x34 (0x14 for CardBus), then each capability's next byte. Pointers have their low two bits
    // masked, must lie past the 64-byte header, and at most 48 entries are visited (Linux's
    // PCI_FIND_CAP_TTL: the most that fit in 192 bytes), so a corrupt or cyclic list still ends.
    internal struct PciCapabilityWalk
    {
        internal const int MaxCapabilities = 48;
        internal const int FirstOffset = 0x40;

        private PciConfigSpace _config;
        private int _next;
        private int _remaining;
        private bool _cutShort;

        // True when the walk stopped at the 48-entry limit rather than at a null pointer: a cyclic list.
        internal bool CutShort => _cutShort;

        internal PciCapabilityWalk(PciConfigSpace config)
        {
            _config = config;
            _next = 0;
            _remaining = MaxCapabilities;
            _cutShort = false;
            ushort status = config.Read16(PciHeader.StatusOffset);
            if ((status & PciHeader.StatusCapabilitiesList) == 0 || status == 0xffff) return;
            byte layout = (byte)(config.Read8(PciHeader.HeaderTypeOffset) & 0x7f);
            int pointerOffset = layout == PciHeader.LayoutCardBus
                ? PciHeader.CardBusCapabilitiesPointerOffset
                : PciHeader.CapabilitiesPointerOffset;
            _next = config.Read8(pointerOffset) & 0xfc;
        }

        // The next capability's id and config-space offset; false at the end of the list.
        internal bool TryNext(out byte id, out byte offset)
        {
            id = 0;
            offset = 0;
            if (_next < FirstOffset) return false;
            if (_remaining == 0)
            {
                _cutShort = true;
                _next = 0;
                return false;
            }
            _remaining--;
            ushort header = _config.Read16(_next);
            id = (byte)header;
            if (id == 0xff)   // the read of an absent function: no list here
            {
                _next = 0;
                return false;
            }
            offset = (byte)_next;
            _next = (header >> 8) & 0xfc;
            return true;
        }
    }

    internal static class PciCapabilities
    {
        // Offset of the first capability with `id`, or 0 (never a capability offset) when there is none.
        internal static byte Find(PciConfigSpace config, byte id)
        {
            PciCapabilityWalk walk = new PciCapabilityWalk(config);
            while (walk.TryNext(out byte found, out byte offset))
                if (found == id) return offset;
            return 0;
        }
    }

    // The MSI-X capability (PCI Local Bus 3.0 §6.8.2 MSI-X Capability and Table Structure): the vector
    // table and pending-bit array each live in a BAR at an offset; the kernel maps them and programs entries.
    internal struct MsixCapability
    {
        internal const int MessageControlOffset = 2, TableOffsetOffset = 4, PbaOffsetOffset = 8;
        internal const ushort TableSizeMask = 0x07ff, FunctionMaskBit = 0x4000, EnableBit = 0x8000;
        internal const uint BirMask = 0x7;
        // PCI Local Bus 3.0 §6.8.2.6-9: one 16-byte table entry.
        internal const int EntryBytes = 16;
        internal const int EntryAddressLow = 0, EntryAddressHigh = 4, EntryData = 8, EntryVectorControl = 12;
        internal const uint VectorMasked = 1;

        internal byte CapabilityOffset;
        internal ushort TableSize;       // entries (the register holds N - 1)
        internal byte TableBar;
        internal uint TableOffset;
        internal byte PbaBar;
        internal uint PbaOffset;
        internal bool Enabled;
        internal bool FunctionMasked;

        // False when the function has no MSI-X capability or it names a reserved BAR indicator (6, 7).
        internal static bool TryRead(PciConfigSpace config, out MsixCapability msix)
        {
            msix = default;
            byte at = PciCapabilities.Find(config, PciCapabilityId.MsiX);
            if (at == 0) return false;
            ushort control = config.Read16(at + MessageControlOffset);
            uint table = config.Read32(at + TableOffsetOffset);
            uint pba = config.Read32(at + PbaOffsetOffset);
            if ((table & BirMask) > 5 || (pba & BirMask) > 5) return false;
            msix.CapabilityOffset = at;
            msix.TableSize = (ushort)((control & TableSizeMask) + 1);
            msix.Enabled = (control & EnableBit) != 0;
            msix.FunctionMasked = (control & FunctionMaskBit) != 0;
            msix.TableBar = (byte)(table & BirMask);
            msix.TableOffset = table & ~BirMask;
            msix.PbaBar = (byte)(pba & BirMask);
            msix.PbaOffset = pba & ~BirMask;
            return true;
        }
    }
}
