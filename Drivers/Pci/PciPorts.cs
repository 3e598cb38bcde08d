using Libra.Arch.X64;

namespace Libra.Drivers.Pci
{
    // A PCI function's address: bus, device (0-31), function (0-7).
    internal struct PciAddress
    {
        internal byte Bus, Device, Function;

        internal PciAddress(int bus, int device, int function)
        {
            Bus = (byte)bus;
            Device = (byte)device;
            Function = (byte)function;
        }
    }

    // Configuration space through the PC's mechanism #1 (I/O ports 0xCF8 address, 0xCFC data; PCI
    // Local Bus 3.0 §3.2.2.3.2): the first 256 bytes of every function, which hold the header and
    // the capability list virtio uses. One CPU with interrupts off in the kernel: the
    // address/data pair needs no lock.
    internal static unsafe class PciPorts
    {
        private const ushort AddressPort = 0xcf8, DataPort = 0xcfc;

        internal static uint Read32(PciAddress a, int offset)
        {
            Native.OutDword(AddressPort, Address(a, offset));
            return Native.InDword(DataPort);
        }

        internal static void Write32(PciAddress a, int offset, uint value)
        {
            Native.OutDword(AddressPort, Address(a, offset));
            Native.OutDword(DataPort, value);
        }

        internal static ushort Read16(PciAddress a, int offset) => (ushort)(Read32(a, offset & ~3) >> ((offset & 2) * 8));

        internal static byte Read8(PciAddress a, int offset) => (byte)(Read32(a, offset & ~3) >> ((offset & 3) * 8));

        internal static void Write16(PciAddress a, int offset, ushort value)
        {
            int shift = (offset & 2) * 8;
            uint word = Read32(a, offset & ~3);
            word = (word & ~(0xffffu << shift)) | ((uint)value << shift);
            Write32(a, offset & ~3, word);
        }

        // The reader shape portable parsers take (Drivers/Pci/PciCapabilities.cs): context = the address.
        internal static uint ReadForParser(void* context, int offset) => Read32(*(PciAddress*)context, offset);

        private static uint Address(PciAddress a, int offset) =>
            0x80000000u | ((uint)a.Bus << 16) | ((uint)a.Device << 11) | ((uint)a.Function << 8) | ((uint)offset & 0xfc);
    }
}
