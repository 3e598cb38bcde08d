using Libra.Drivers.Pci;
using Libra.Drivers.Virtio;
using Xunit;

namespace Libra.Tests.Unit;

public class VirtioPciLayoutTests
{
    private static void AssertQemuLayout(VirtioPciLayout layout, int firstCap)
    {
        Assert.True(layout.Common.Present);
        Assert.Equal(4, layout.Common.Bar);
        Assert.Equal(0x0000u, layout.Common.Offset);
        Assert.Equal(0x1000u, layout.Common.Length);
        Assert.Equal(firstCap, layout.Common.CapabilityOffset);
        Assert.Equal(0x1000u, layout.Isr.Offset);
        Assert.Equal(4, layout.Isr.Bar);
        Assert.True(layout.Device.Present);
        Assert.Equal(0x2000u, layout.Device.Offset);
        Assert.Equal(0x3000u, layout.Notify.Offset);
        Assert.Equal(0x1000u, layout.Notify.Length);
        Assert.Equal(4u, layout.NotifyOffMultiplier);
        Assert.Equal(firstCap + 0x44, layout.PciConfigCapability);
        Assert.True(layout.Notify.FitsIn(0x4000));   // BAR4 is 16 KiB
        Assert.False(layout.Notify.FitsIn(0x3fff));
    }

    [Fact]
    public void Qemu_virtio_9p_on_the_q35_root_bus_has_all_four_structures_in_bar_4()
    {
        using var image = PciConfigImage.QemuVirtio9p();
        Assert.Equal(VirtioPciError.None, VirtioPciLayout.Parse(image.Space, out VirtioPciLayout layout));
        AssertQemuLayout(layout, 0x40);
    }

    [Fact]
    public void Qemu_virtio_serial_on_the_q35_root_bus_has_all_four_structures_in_bar_4()
    {
        using var image = PciConfigImage.QemuVirtioSerial();
        Assert.Equal(VirtioPciError.None, VirtioPciLayout.Parse(image.Space, out VirtioPciLayout layout));
        AssertQemuLayout(layout, 0x40);
    }

    [Fact]
    public void Modern_only_virtio_9p_behind_a_root_port_parses_past_express_and_power_management()
    {
        using var image = PciConfigImage.QemuVirtio9p(transitional: false);
        Assert.Equal(VirtioPciError.None, VirtioPciLayout.Parse(image.Space, out VirtioPciLayout layout));
        AssertQemuLayout(layout, 0x84);
        Assert.True(PciHeader.TryRead(image.Space, out PciHeader h));
        Assert.Equal(1, h.Revision);
        Assert.True(VirtioPciLayout.TryDeviceType(h.VendorId, h.DeviceId, h.SubsystemId, out uint type));
        Assert.Equal(VirtioDeviceType.NineP, type);
        Assert.False(VirtioPciLayout.IsTransitional(h.DeviceId));
    }

    [Theory]
    [InlineData((ushort)0x1009, (ushort)9, 9u)]      // transitional 9P: the type is the subsystem id
    [InlineData((ushort)0x1003, (ushort)3, 3u)]      // transitional console (virtio-serial)
    [InlineData((ushort)0x1000, (ushort)1, 1u)]      // transitional network
    [InlineData((ushort)0x1049, (ushort)0x1100, 9u)] // modern 9P: the type is in the device id
    [InlineData((ushort)0x1043, (ushort)0x1100, 3u)] // modern console
    [InlineData((ushort)0x1053, (ushort)0x1100, 19u)]// modern vsock
    public void Device_type_comes_from_the_modern_id_or_the_transitional_subsystem_id(ushort deviceId, ushort subsystemId, uint type)
    {
        Assert.True(VirtioPciLayout.TryDeviceType(0x1af4, deviceId, subsystemId, out uint found));
        Assert.Equal(type, found);
    }

    [Theory]
    [InlineData((ushort)0x1af4, (ushort)0x1110)]   // ivshmem: Red Hat vendor id, not virtio
    [InlineData((ushort)0x1af4, (ushort)0x1080)]   // just past the modern range
    [InlineData((ushort)0x8086, (ushort)0x1049)]   // another vendor
    public void Other_functions_are_not_virtio(ushort vendorId, ushort deviceId) =>
        Assert.False(VirtioPciLayout.TryDeviceType(vendorId, deviceId, 9, out _));

    [Fact]
    public void Device_id_constants_agree_with_the_type_table()
    {
        Assert.Equal(VirtioPciLayout.ModernNineP, VirtioPciLayout.ModernDeviceId(VirtioDeviceType.NineP));
        Assert.Equal(VirtioPciLayout.ModernConsole, VirtioPciLayout.ModernDeviceId(VirtioDeviceType.Console));
        Assert.True(VirtioPciLayout.IsTransitional(VirtioPciLayout.TransitionalNineP));
        Assert.True(VirtioPciLayout.IsTransitional(VirtioPciLayout.TransitionalConsole));
        Assert.False(VirtioPciLayout.IsTransitional(VirtioPciLayout.ModernNineP));
    }

    [Fact]
    public void Notify_offset_is_cap_offset_plus_queue_notify_off_times_multiplier()
    {
        using var image = PciConfigImage.QemuVirtioSerial();
        VirtioPciLayout.Parse(image.Space, out VirtioPciLayout layout);
        Assert.True(layout.TryNotifyOffset(0, out ulong q0));
        Assert.Equal(0x3000ul, q0);
        Assert.True(layout.TryNotifyOffset(5, out ulong q5));
        Assert.Equal(0x3014ul, q5);
        Assert.True(layout.TryNotifyOffset(1023, out ulong last));   // VIRTIO_QUEUE_MAX - 1 fits the 4 KiB region
        Assert.Equal(0x3ffcul, last);
        Assert.False(layout.TryNotifyOffset(1024, out _));
    }

    [Fact]
    public void A_multiplier_of_zero_sends_every_queue_to_the_same_address()
    {
        using var image = new PciConfigImage();
        image.Set16(PciHeader.VendorIdOffset, 0x1af4);
        image.AddVirtioCapability(0x40, 1, 0, 0, 0x38);
        image.AddVirtioCapability(0x50, 3, 0, 0x38, 1);
        image.AddVirtioCapability(0x60, 2, 0, 0x40, 2, 0);
        Assert.Equal(VirtioPciError.None, VirtioPciLayout.Parse(image.Space, out VirtioPciLayout layout));
        Assert.False(layout.Device.Present);
        Assert.Equal(0, layout.PciConfigCapability);
        Assert.True(layout.TryNotifyOffset(7, out ulong offset));
        Assert.Equal(0x40ul, offset);
    }

    [Fact]
    public void The_first_usable_capability_of_each_type_wins()
    {
        using var image = new PciConfigImage();
        image.Set16(PciHeader.VendorIdOffset, 0x1af4);
        // Added last-first, so the list reads 0x40, 0x50, 0x60, ...
        image.AddVirtioCapability(0x98, 3, 4, 0x1000, 0x1000);
        image.AddVirtioCapability(0x88, 1, 4, 0x0000, 0x1000);
        image.AddVirtioCapability(0x74, 2, 4, 0x3000, 0x1000, 4);
        image.AddVirtioCapability(0x60, 2, 2, 0x0000, 0x0004, 0);   // the preferred notify: an I/O BAR (modern-pio-notify)
        image.AddVirtioCapability(0x50, 1, 6, 0x0000, 0x1000);      // reserved bar: ignored
        image.AddVirtioCapability(0x40, 7, 4, 0x5000, 0x1000);      // reserved cfg_type: ignored
        Assert.Equal(VirtioPciError.None, VirtioPciLayout.Parse(image.Space, out VirtioPciLayout layout));
        Assert.Equal(4, layout.Common.Bar);
        Assert.Equal(0x88, layout.Common.CapabilityOffset);
        Assert.Equal(2, layout.Notify.Bar);
        Assert.Equal(0u, layout.NotifyOffMultiplier);
        Assert.Equal(0x1000u, layout.Isr.Offset);
    }

    [Fact]
    public void Capabilities_too_short_misaligned_or_too_small_to_use_are_skipped()
    {
        using var image = new PciConfigImage();
        image.Set16(PciHeader.VendorIdOffset, 0x1af4);
        image.AddVirtioCapability(0xc0, 4, 4, 0x2002, 0x100);       // device cfg, not 4-byte aligned
        image.AddVirtioCapability(0xb0, 3, 4, 0x1000, 0);           // ISR of length 0
        image.AddVirtioCapability(0xa0, 1, 4, 0x0002, 0x1000);      // common, not 4-byte aligned
        image.AddVirtioCapability(0x90, 1, 4, 0x0000, 0x0030);      // common, shorter than the 1.0 fields
        image.AddVirtioCapability(0x80, 2, 4, 0x3001, 0x1000, 4);   // notify, odd offset
        image.AddVirtioCapability(0x70, 2, 4, 0x3000, 0x1000);      // notify without its multiplier (cap_len 16)
        image.AddCapability(0x50, PciCapabilityId.VendorSpecific, 8, 1, 4, 0, 0, 0);   // cap_len 8: too short for virtio_pci_cap
        Assert.Equal(VirtioPciError.MissingCommon, VirtioPciLayout.Parse(image.Space, out VirtioPciLayout layout));
        Assert.False(layout.Notify.Present);
        Assert.False(layout.Isr.Present);
        Assert.False(layout.Device.Present);

        image.AddVirtioCapability(0xd0, 1, 4, 0, 0x38);
        Assert.Equal(VirtioPciError.MissingNotify, VirtioPciLayout.Parse(image.Space, out _));
        image.AddVirtioCapability(0xe0, 2, 4, 0x3000, 2, 0);
        Assert.Equal(VirtioPciError.MissingIsr, VirtioPciLayout.Parse(image.Space, out _));
        image.AddVirtioCapability(0x58, 3, 4, 0x1000, 1);
        Assert.Equal(VirtioPciError.None, VirtioPciLayout.Parse(image.Space, out layout));
        Assert.Equal(0xd0, layout.Common.CapabilityOffset);
    }

    [Fact]
    public void A_legacy_only_function_without_a_capability_list_is_reported_as_such()
    {
        using var image = PciConfigImage.QemuVirtio9p();
        image.Set16(PciHeader.StatusOffset, 0);
        Assert.Equal(VirtioPciError.NoCapabilityList, VirtioPciLayout.Parse(image.Space, out _));
    }

    [Fact]
    public void A_cyclic_capability_list_ends_the_parse()
    {
        using var image = PciConfigImage.QemuVirtioSerial();
        image.Set8(0x41, 0x98);   // common cfg's next points back at the MSI-X head
        Assert.Equal(VirtioPciError.None, VirtioPciLayout.Parse(image.Space, out VirtioPciLayout layout));
        AssertQemuLayout(layout, 0x40);
    }

    [Fact]
    public void Common_config_offsets_follow_the_virtio_1_2_struct()
    {
        Assert.Equal(0x14, VirtioPciCommonConfig.DeviceStatus);
        Assert.Equal(0x16, VirtioPciCommonConfig.QueueSelect);
        Assert.Equal(0x1e, VirtioPciCommonConfig.QueueNotifyOff);
        Assert.Equal(0x20, VirtioPciCommonConfig.QueueDesc);
        Assert.Equal(0x28, VirtioPciCommonConfig.QueueDriver);
        Assert.Equal(0x30, VirtioPciCommonConfig.QueueDevice);
        Assert.Equal(0x38, VirtioPciCommonConfig.Version1Length);
    }
}
