namespace Libra.Drivers.Pci
{
    // One PCI function's 256-byte configuration space read through a "dword at offset" callback (PCI
    // Local Bus 3.0 §6.1): the kernel backs it with CONFIG_ADDRESS/CONFIG_DATA (ports 0xCF8/0xCFC),
    // host tests with a byte array. Reads only: writes (BAR sizing, MSI-X enable) are the kernel's.
    internal unsafe struct PciConfigSpace
    {
        internal const int Size = 256;

        private readonly delegate*<void*, int, uint> _readDword;
        private readonly void* _context;

        internal PciConfigSpace(delegate*<void*, int, uint> readDword, void* context)
        {
            _readDword = readDword;
            _context = context;
        }

        // Offsets outside the space read as all ones, as an absent function does (PCI Local Bus 3.0 §6.1).
        internal uint Read32(int offset)
        {
            if ((uint)offset >= Size || _readDword == null) return 0xffffffff;
            return _readDword(_context, offset & ~3);
        }

        internal ushort Read16(int offset) => (ushort)(Read32(offset) >> ((offset & 2) * 8));

        internal byte Read8(int offset) => (byte)(Read32(offset) >> ((offset & 3) * 8));
    }

    // The predefined header shared by all functions, and the type 0/1 fields a driver needs (PCI Local
    // Bus 3.0 §6.2 PCI Configuration Space Header; the type 1 layout is PCI-to-PCI Bridge 1.2 §3.2).
    internal struct PciHeader
    {
        internal const int VendorIdOffset = 0x00, DeviceIdOffset = 0x02, CommandOffset = 0x04, StatusOffset = 0x06;
        internal const int RevisionOffset = 0x08, ProgIfOffset = 0x09, SubclassOffset = 0x0a, ClassCodeOffset = 0x0b;
        internal const int HeaderTypeOffset = 0x0e, Bar0Offset = 0x10;
        internal const int SubsystemVendorIdOffset = 0x2c, SubsystemIdOffset = 0x2e;
        internal const int CapabilitiesPointerOffset = 0x34, CardBusCapabilitiesPointerOffset = 0x14;
        internal const int InterruptLineOffset = 0x3c, InterruptPinOffset = 0x3d;

        // PCI Local Bus 3.0 §6.2.2 Command register.
        internal const ushort CommandIoSpace = 0x0001, CommandMemorySpace = 0x0002, CommandBusMaster = 0x0004;
        internal const ushort CommandInterruptDisable = 0x0400;
        // PCI Local Bus 3.0 §6.2.3 Status register.
        internal const ushort StatusInterrupt = 0x0008, StatusCapabilitiesList = 0x0010;
        // PCI Local Bus 3.0 §6.2.1 Header Type: layout in bits 6:0, multi-function in bit 7.
        internal const byte LayoutGeneral = 0, LayoutBridge = 1, LayoutCardBus = 2, MultiFunctionBit = 0x80;
        internal const ushort NoVendor = 0xffff;

        internal ushort VendorId;
        internal ushort DeviceId;
        internal ushort Command;
        internal ushort Status;
        internal byte Revision;
        internal byte ProgIf;
        internal byte Subclass;
        internal byte ClassCode;
        internal byte Layout;              // header type bits 6:0
        internal bool MultiFunction;
        internal ushort SubsystemVendorId; // type 0 only, else 0
        internal ushort SubsystemId;
        internal byte InterruptLine;
        internal byte InterruptPin;        // 0 none, 1..4 INTA#..INTD#

        // Number of BARs the layout has: six for a device, two for a bridge (PCI Local Bus 3.0 §6.2.5.1).
        internal int BarCount => Layout == LayoutGeneral ? 6 : Layout == LayoutBridge ? 2 : 0;

        internal bool HasCapabilities => (Status & StatusCapabilitiesList) != 0;

        // False when no function answers: the vendor id reads as 0xFFFF (PCI Local Bus 3.0 §6.2.1).
        internal static bool TryRead(PciConfigSpace config, out PciHeader header)
        {
            header = default;
            uint id = config.Read32(VendorIdOffset);
            if ((ushort)id == NoVendor || (ushort)id == 0) return false;
            header.VendorId = (ushort)id;
            header.DeviceId = (ushort)(id >> 16);
            uint commandStatus = config.Read32(CommandOffset);
            header.Command = (ushort)commandStatus;
            header.Status = (ushort)(commandStatus >> 16);
            uint classRevision = config.Read32(RevisionOffset);
            header.Revision = (byte)classRevision;
            header.ProgIf = (byte)(classRevision >> 8);
            header.Subclass = (byte)(classRevision >> 16);
            header.ClassCode = (byte)(classRevision >> 24);
            byte headerType = config.Read8(HeaderTypeOffset);
            header.Layout = (byte)(headerType & 0x7f);
            header.MultiFunction = (headerType & MultiFunctionBit) != 0;
            if (header.Layout == LayoutGeneral)
            {
                uint subsystem = config.Read32(SubsystemVendorIdOffset);
                header.SubsystemVendorId = (ushort)subsystem;
                header.SubsystemId = (ushort)(subsystem >> 16);
            }
            header.InterruptLine = config.Read8(InterruptLineOffset);
            header.InterruptPin = config.Read8(InterruptPinOffset);
            return true;
        }
    }
}
