using System.Runtime.InteropServices;
using Libra.Drivers.Pci;

namespace Libra.Tests.Unit;

// A function's 256-byte configuration space in native memory, read through the same "dword at
// offset" callback the kernel backs with ports 0xCF8/0xCFC. Capabilities are linked at the head of the
// list, as QEMU's pci_add_capability does, so adding them in QEMU's order gives QEMU's list.
internal sealed unsafe class PciConfigImage : IDisposable
{
    private readonly byte* _bytes = (byte*)NativeMemory.AllocZeroed(PciConfigSpace.Size);

    public PciConfigSpace Space => new PciConfigSpace(&ReadDword, _bytes);

    public void Dispose() => NativeMemory.Free(_bytes);

    // The kernel's reader only issues aligned dword reads inside the space; hold the parsers to that.
    private static uint ReadDword(void* context, int offset)
    {
        if ((offset & 3) != 0 || offset < 0 || offset >= PciConfigSpace.Size) throw new InvalidOperationException($"bad config read at {offset:x}");
        return *(uint*)((byte*)context + offset);
    }

    public void Set8(int offset, byte value) => _bytes[offset] = value;
    public void Set16(int offset, ushort value) => *(ushort*)(_bytes + offset) = value;
    public void Set32(int offset, uint value) => *(uint*)(_bytes + offset) = value;
    public byte Get8(int offset) => _bytes[offset];

    // Writes id, next (the current list head) and the body, then makes it the head; sets status bit 4.
    public void AddCapability(int offset, byte id, params byte[] body)
    {
        _bytes[offset] = id;
        _bytes[offset + 1] = _bytes[PciHeader.CapabilitiesPointerOffset];
        for (int i = 0; i < body.Length; i++) _bytes[offset + 2 + i] = body[i];
        _bytes[PciHeader.CapabilitiesPointerOffset] = (byte)offset;
        Set16(PciHeader.StatusOffset, (ushort)(*(ushort*)(_bytes + PciHeader.StatusOffset) | PciHeader.StatusCapabilitiesList));
    }

    // struct virtio_pci_cap after cap_vndr/cap_next (virtio 1.2 §4.1.4), optionally with trailing dwords.
    public void AddVirtioCapability(int offset, byte cfgType, byte bar, uint regionOffset, uint length, params uint[] extra)
    {
        var body = new List<byte> { (byte)(16 + 4 * extra.Length), cfgType, bar, 0, 0, 0 };
        body.AddRange(BitConverter.GetBytes(regionOffset));
        body.AddRange(BitConverter.GetBytes(length));
        foreach (uint word in extra) body.AddRange(BitConverter.GetBytes(word));
        AddCapability(offset, PciCapabilityId.VendorSpecific, body.ToArray());
    }

    public void AddMsix(int offset, int vectors, byte tableBar, uint tableOffset, byte pbaBar, uint pbaOffset, ushort extraControl = 0)
    {
        var body = new List<byte>();
        body.AddRange(BitConverter.GetBytes((ushort)((vectors - 1) | extraControl)));
        body.AddRange(BitConverter.GetBytes(tableOffset | tableBar));
        body.AddRange(BitConverter.GetBytes(pbaOffset | pbaBar));
        AddCapability(offset, PciCapabilityId.MsiX, body.ToArray());
    }

    // Addresses SeaBIOS might assign on q35; any will do, the parsers only decode them.
    public const ushort LegacyIoBase = 0xc040;
    public const uint MsixBarBase = 0xfea01000;
    public const ulong ModernBarBase = 0x0000_0000_fe00_4000;

    // QEMU 7.2 virtio-pci as realized by virtio_pci_realize/virtio_pci_device_plugged with the default
    // properties: BAR0 legacy I/O (transitional only), BAR1 the MSI-X table with the PBA at 0x800,
    // BAR4/5 a 64-bit prefetchable region of four 4 KiB structures (common, ISR, device, notify with
    // multiplier 4). On q35's root bus: caps at 0x40.. with MSI-X at the head. Behind a PCIe root port
    // (disable-legacy=on): revision 1, the Express endpoint and PM capabilities come first (0x40, 0x7c).
    public static PciConfigImage QemuVirtioPci(ushort deviceId, byte classCode, byte subclass, ushort subsystemId,
        bool transitional, int msixVectors = 2)
    {
        var image = new PciConfigImage();
        image.Set16(PciHeader.VendorIdOffset, 0x1af4);
        image.Set16(PciHeader.DeviceIdOffset, deviceId);
        image.Set16(PciHeader.CommandOffset, (ushort)(PciHeader.CommandIoSpace | PciHeader.CommandMemorySpace | PciHeader.CommandBusMaster));
        image.Set8(PciHeader.RevisionOffset, (byte)(transitional ? 0 : 1));
        image.Set8(PciHeader.SubclassOffset, subclass);
        image.Set8(PciHeader.ClassCodeOffset, classCode);
        image.Set32(PciHeader.Bar0Offset + 0, transitional ? LegacyIoBase | 1u : 0);
        image.Set32(PciHeader.Bar0Offset + 4, MsixBarBase);
        image.Set32(PciHeader.Bar0Offset + 16, (uint)ModernBarBase | 0xc);     // 64-bit, prefetchable
        image.Set32(PciHeader.Bar0Offset + 20, (uint)(ModernBarBase >> 32));
        image.Set16(PciHeader.SubsystemVendorIdOffset, 0x1af4);
        image.Set16(PciHeader.SubsystemIdOffset, subsystemId);
        image.Set8(PciHeader.InterruptLineOffset, 10);
        image.Set8(PciHeader.InterruptPinOffset, 1);

        int at = 0x40;
        if (!transitional)
        {
            image.AddCapability(0x40, PciCapabilityId.PciExpress, 0x02, 0x00);   // PCIe v2 endpoint, 0x3c bytes
            image.AddCapability(0x7c, PciCapabilityId.PowerManagement, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00);
            at = 0x84;
        }
        image.AddVirtioCapability(at, 1, 4, 0x0000, 0x1000);             // common
        image.AddVirtioCapability(at + 0x10, 3, 4, 0x1000, 0x1000);      // ISR
        image.AddVirtioCapability(at + 0x20, 4, 4, 0x2000, 0x1000);      // device
        image.AddVirtioCapability(at + 0x30, 2, 4, 0x3000, 0x1000, 4);   // notify, multiplier 4
        image.AddVirtioCapability(at + 0x44, 5, 0, 0, 0, 0);             // PCI config access, pci_cfg_data
        image.AddMsix(at + 0x58, msixVectors, 1, 0, 1, 0x800);
        return image;
    }

    // -device virtio-9p-pci: class 0x0002 (QEMU's class_id 0x2), 9P is virtio type 9.
    public static PciConfigImage QemuVirtio9p(bool transitional = true) =>
        QemuVirtioPci(transitional ? (ushort)0x1009 : (ushort)0x1049, 0x00, 0x02, transitional ? (ushort)9 : (ushort)0x1100, transitional);

    // -device virtio-serial-pci: class 0x0780 (communication, other), console is virtio type 3.
    public static PciConfigImage QemuVirtioSerial(bool transitional = true) =>
        QemuVirtioPci(transitional ? (ushort)0x1003 : (ushort)0x1043, 0x07, 0x80, transitional ? (ushort)3 : (ushort)0x1100, transitional);
}
