using Libra.Drivers.Pci;
using Xunit;

namespace Libra.Tests.Unit;

public class PciCapabilitiesTests
{
    private static List<(byte Id, byte Offset)> Walk(PciConfigSpace config, out bool cutShort)
    {
        var found = new List<(byte, byte)>();
        var walk = new PciCapabilityWalk(config);
        while (walk.TryNext(out byte id, out byte offset)) found.Add((id, offset));
        cutShort = walk.CutShort;
        return found;
    }

    [Fact]
    public void Header_of_qemu_virtio_9p_on_the_q35_root_bus_reads_as_a_transitional_function()
    {
        using var image = PciConfigImage.QemuVirtio9p();
        Assert.True(PciHeader.TryRead(image.Space, out PciHeader h));
        Assert.Equal(0x1af4, h.VendorId);
        Assert.Equal(0x1009, h.DeviceId);
        Assert.Equal(0, h.Revision);
        Assert.Equal(0x00, h.ClassCode);
        Assert.Equal(0x02, h.Subclass);
        Assert.Equal(PciHeader.LayoutGeneral, h.Layout);
        Assert.False(h.MultiFunction);
        Assert.Equal(0x1af4, h.SubsystemVendorId);
        Assert.Equal(9, h.SubsystemId);
        Assert.Equal(1, h.InterruptPin);
        Assert.Equal(10, h.InterruptLine);
        Assert.True(h.HasCapabilities);
        Assert.Equal(6, h.BarCount);
        Assert.Equal(PciHeader.CommandIoSpace | PciHeader.CommandMemorySpace | PciHeader.CommandBusMaster, h.Command);
    }

    [Fact]
    public void Absent_function_reads_all_ones_and_is_not_a_device()
    {
        using var image = new PciConfigImage();
        for (int i = 0; i < PciConfigSpace.Size; i += 4) image.Set32(i, 0xffffffff);
        Assert.False(PciHeader.TryRead(image.Space, out _));
        Assert.Equal(0, PciCapabilities.Find(image.Space, PciCapabilityId.MsiX));
        Assert.Empty(Walk(image.Space, out bool cut));
        Assert.False(cut);
    }

    [Fact]
    public void Header_type_bit_7_is_multifunction_and_a_bridge_has_two_bars()
    {
        using var image = new PciConfigImage();
        image.Set16(PciHeader.VendorIdOffset, 0x8086);
        image.Set8(PciHeader.HeaderTypeOffset, 0x81);
        image.Set32(PciHeader.SubsystemVendorIdOffset, 0x12345678);   // a bridge's 0x2c is prefetchable-upper, not a subsystem id
        Assert.True(PciHeader.TryRead(image.Space, out PciHeader h));
        Assert.True(h.MultiFunction);
        Assert.Equal(PciHeader.LayoutBridge, h.Layout);
        Assert.Equal(2, h.BarCount);
        Assert.Equal(0, h.SubsystemId);
        Assert.Equal(PciBarError.BadIndex, PciBar.TryRead(image.Space, 2, h.BarCount, out _));
    }

    [Fact]
    public void Reads_narrower_than_a_dword_pick_the_right_bytes()
    {
        using var image = new PciConfigImage();
        image.Set32(0x08, 0x07800001);   // class 07, subclass 80, prog-if 00, revision 01
        var config = image.Space;
        Assert.Equal(0x01, config.Read8(0x08));
        Assert.Equal(0x00, config.Read8(0x09));
        Assert.Equal(0x80, config.Read8(0x0a));
        Assert.Equal(0x07, config.Read8(0x0b));
        Assert.Equal(0x0780, config.Read16(0x0a));
        Assert.Equal(0xffffffffu, config.Read32(0x100));   // outside the space: as an absent function
    }

    [Fact]
    public void Bars_of_a_transitional_virtio_device_decode_to_io_mem32_and_mem64()
    {
        using var image = PciConfigImage.QemuVirtioSerial();
        var config = image.Space;
        var bars = new List<PciBar>();
        for (int i = 0; i < 6;)
        {
            Assert.Equal(PciBarError.None, PciBar.TryRead(config, i, 6, out PciBar bar));
            bars.Add(bar);
            i += bar.Slots;
        }
        Assert.Equal(5, bars.Count);   // 0, 1, 2, 3, 4+5
        Assert.Equal(PciBarKind.Io, bars[0].Kind);
        Assert.Equal(PciConfigImage.LegacyIoBase, bars[0].Address);
        Assert.Equal(PciBarKind.Memory32, bars[1].Kind);
        Assert.Equal(PciConfigImage.MsixBarBase, bars[1].Address);
        Assert.False(bars[1].Prefetchable);
        Assert.Equal(PciBarKind.Memory64, bars[4].Kind);
        Assert.Equal(4, bars[4].Index);
        Assert.Equal(PciConfigImage.ModernBarBase, bars[4].Address);
        Assert.True(bars[4].Prefetchable);
        Assert.True(bars[4].IsMemory);
    }

    [Fact]
    public void Bar_decoding_covers_high_64_bit_addresses_the_1m_type_and_the_reserved_type()
    {
        PciBar high = PciBar.Decode(2, 0x0000000c, 0x00000080);
        Assert.Equal(PciBarKind.Memory64, high.Kind);
        Assert.Equal(0x80_0000_0000ul, high.Address);
        Assert.Equal(2, high.Slots);

        Assert.Equal(PciBarKind.Memory32, PciBar.Decode(0, 0x000d0002, 0).Kind);   // PCI 2.x "below 1 MiB"
        Assert.Equal(0x000d0000ul, PciBar.Decode(0, 0x000d0002, 0).Address);
        Assert.Equal(PciBarKind.Reserved, PciBar.Decode(0, 0xfe000006, 0).Kind);
        Assert.Equal(0x6000ul, PciBar.Decode(0, 0x6003, 0).Address);              // I/O: bit 1 is reserved, masked
    }

    [Fact]
    public void A_64_bit_bar_in_the_last_slot_is_refused()
    {
        using var image = new PciConfigImage();
        image.Set16(PciHeader.VendorIdOffset, 0x1af4);
        image.Set32(PciHeader.Bar0Offset + 20, 0xfe00000c);
        Assert.Equal(PciBarError.TruncatedPair, PciBar.TryRead(image.Space, 5, 6, out _));
        Assert.Equal(PciBarError.BadIndex, PciBar.TryRead(image.Space, 6, 6, out _));
        Assert.Equal(PciBarError.BadIndex, PciBar.TryRead(image.Space, -1, 6, out _));
    }

    [Theory]
    [InlineData(0xffffc00cu, 0xffffffffu, 0x4000ul)]           // QEMU's modern BAR4: 16 KiB, 64-bit prefetchable
    [InlineData(0xfffff000u, 0u, 0x1000ul)]                    // the MSI-X BAR1: 4 KiB
    [InlineData(0xffffffc1u, 0u, 0x40ul)]                      // legacy I/O BAR0: 64 ports
    [InlineData(0x0000ffc1u, 0u, 0x40ul)]                      // I/O BAR whose upper 16 bits read 0
    [InlineData(0x0000000cu, 0xfffffff0u, 0x10_0000_0000ul)]   // 64 GiB: only the upper half has writable bits
    [InlineData(0x00000000u, 0u, 0ul)]                         // unimplemented
    public void Bar_size_is_the_lowest_writable_address_bit(uint low, uint high, ulong size) =>
        Assert.Equal(size, PciBar.SizeFromReadback(low, high));

    [Fact]
    public void Walk_visits_qemu_capabilities_in_list_order_from_msix_down_to_0x40()
    {
        using var image = PciConfigImage.QemuVirtio9p();
        var caps = Walk(image.Space, out bool cut);
        Assert.False(cut);
        Assert.Equal(new (byte, byte)[] { (0x11, 0x98), (0x09, 0x84), (0x09, 0x70), (0x09, 0x60), (0x09, 0x50), (0x09, 0x40) }, caps);
    }

    [Fact]
    public void Walk_behind_a_root_port_also_passes_express_and_power_management()
    {
        using var image = PciConfigImage.QemuVirtio9p(transitional: false);
        var caps = Walk(image.Space, out _);
        Assert.Equal(new byte[] { 0x11, 0x09, 0x09, 0x09, 0x09, 0x09, 0x01, 0x10 }, caps.Select(c => c.Id).ToArray());
        Assert.Equal(0x40, PciCapabilities.Find(image.Space, PciCapabilityId.PciExpress));
        Assert.Equal(0x7c, PciCapabilities.Find(image.Space, PciCapabilityId.PowerManagement));
    }

    [Fact]
    public void Walk_ends_on_a_cyclic_list_after_48_entries()
    {
        using var image = new PciConfigImage();
        image.Set16(PciHeader.VendorIdOffset, 0x1af4);
        image.AddCapability(0x40, PciCapabilityId.VendorSpecific, 4, 0);
        image.AddCapability(0x50, PciCapabilityId.PowerManagement, 0, 0);
        image.Set8(0x41, 0x50);   // 0x50 -> 0x40 -> 0x50 -> ...
        var caps = Walk(image.Space, out bool cut);
        Assert.True(cut);
        Assert.Equal(PciCapabilityWalk.MaxCapabilities, caps.Count);
        Assert.Equal(0, PciCapabilities.Find(image.Space, PciCapabilityId.MsiX));

        image.Set8(0x41, 0x40);   // a capability pointing at itself
        Assert.True(Walk(image.Space, out bool selfCut).Count == PciCapabilityWalk.MaxCapabilities && selfCut);
    }

    [Fact]
    public void Walk_masks_the_low_pointer_bits_and_stops_at_pointers_into_the_header()
    {
        using var image = new PciConfigImage();
        image.Set16(PciHeader.VendorIdOffset, 0x1af4);
        image.AddCapability(0x60, PciCapabilityId.MsiX, 0, 0);
        image.Set8(PciHeader.CapabilitiesPointerOffset, 0x63);   // reserved low bits set
        image.Set8(0x61, 0x3c);                                  // next points into the header: end
        var caps = Walk(image.Space, out bool cut);
        Assert.Equal(new (byte, byte)[] { (0x11, 0x60) }, caps);
        Assert.False(cut);
    }

    [Fact]
    public void Walk_finds_nothing_when_the_status_bit_is_clear()
    {
        using var image = PciConfigImage.QemuVirtio9p();
        image.Set16(PciHeader.StatusOffset, 0);
        Assert.Empty(Walk(image.Space, out _));
        Assert.Equal(0, PciCapabilities.Find(image.Space, PciCapabilityId.MsiX));
    }

    [Fact]
    public void Cardbus_bridges_keep_their_capability_pointer_at_0x14()
    {
        using var image = new PciConfigImage();
        image.Set16(PciHeader.VendorIdOffset, 0x104c);
        image.Set8(PciHeader.HeaderTypeOffset, PciHeader.LayoutCardBus);
        image.AddCapability(0x80, PciCapabilityId.PowerManagement, 0, 0);
        image.Set8(PciHeader.CardBusCapabilitiesPointerOffset, 0x80);
        image.Set8(PciHeader.CapabilitiesPointerOffset, 0);
        Assert.Equal(0x80, PciCapabilities.Find(image.Space, PciCapabilityId.PowerManagement));
    }

    [Fact]
    public void Msix_of_qemu_virtio_has_two_vectors_with_the_table_and_pba_in_bar_1()
    {
        using var image = PciConfigImage.QemuVirtioSerial();
        Assert.True(MsixCapability.TryRead(image.Space, out MsixCapability msix));
        Assert.Equal(0x98, msix.CapabilityOffset);
        Assert.Equal(2, msix.TableSize);
        Assert.Equal(1, msix.TableBar);
        Assert.Equal(0u, msix.TableOffset);
        Assert.Equal(1, msix.PbaBar);
        Assert.Equal(0x800u, msix.PbaOffset);
        Assert.False(msix.Enabled);
        Assert.False(msix.FunctionMasked);
    }

    [Fact]
    public void Msix_control_bits_and_a_2048_entry_table_decode()
    {
        using var image = new PciConfigImage();
        image.Set16(PciHeader.VendorIdOffset, 0x8086);
        image.AddMsix(0x50, 2048, 2, 0x2000, 3, 0x10008, MsixCapability.EnableBit | MsixCapability.FunctionMaskBit);
        Assert.True(MsixCapability.TryRead(image.Space, out MsixCapability msix));
        Assert.Equal(2048, msix.TableSize);
        Assert.True(msix.Enabled);
        Assert.True(msix.FunctionMasked);
        Assert.Equal(2, msix.TableBar);
        Assert.Equal(0x2000u, msix.TableOffset);
        Assert.Equal(3, msix.PbaBar);
        Assert.Equal(0x10008u, msix.PbaOffset);
    }

    [Fact]
    public void Msix_with_a_reserved_bar_indicator_or_no_capability_is_refused()
    {
        using var image = new PciConfigImage();
        image.Set16(PciHeader.VendorIdOffset, 0x8086);
        Assert.False(MsixCapability.TryRead(image.Space, out _));
        image.AddMsix(0x50, 4, 6, 0, 1, 0x800);
        Assert.False(MsixCapability.TryRead(image.Space, out _));
    }
}
