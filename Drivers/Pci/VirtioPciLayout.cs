namespace Libra.Drivers.Pci
{
    internal enum VirtioPciError
    {
        None,
        NoCapabilityList,   // status bit 4 clear: a legacy-only device (or not virtio at all)
        MissingCommon,      // no usable VIRTIO_PCI_CAP_COMMON_CFG
        MissingNotify,      // no usable VIRTIO_PCI_CAP_NOTIFY_CFG
        MissingIsr,         // no usable VIRTIO_PCI_CAP_ISR_CFG
    }

    // Where one virtio structure lives: a BAR and a byte range in it (virtio 1.2 §4.1.4 struct virtio_pci_cap).
    internal struct VirtioPciRegion
    {
        internal bool Present;
        internal byte Bar;
        internal uint Offset;
        internal uint Length;
        internal byte CapabilityOffset;   // where the capability sits in config space

        // The range lies inside a BAR of `barSize` bytes (the kernel sizes the BAR).
        internal bool FitsIn(ulong barSize) => Present && (ulong)Offset + Length <= barSize;
    }

    // A modern virtio-pci function's layout: the virtio vendor capabilities of virtio 1.2 §4.1.4 Virtio
    // Structure PCI Capabilities, plus the PCI identity rules of §4.1.2 PCI Device Discovery.
    internal struct VirtioPciLayout
    {
        internal const ushort VendorId = 0x1af4;
        // virtio 1.2 §4.1.2: modern ids are 0x1040 + device type; transitional ids 0x1000..0x103f.
        internal const ushort ModernDeviceIdBase = 0x1040, ModernDeviceIdLast = 0x107f;
        internal const ushort TransitionalDeviceIdFirst = 0x1000, TransitionalDeviceIdLast = 0x103f;
        internal const ushort TransitionalNetwork = 0x1000, TransitionalBlock = 0x1001, TransitionalBalloon = 0x1002;
        internal const ushort TransitionalConsole = 0x1003, TransitionalScsi = 0x1004, TransitionalEntropy = 0x1005;
        internal const ushort TransitionalNineP = 0x1009;
        internal const ushort ModernConsole = 0x1043, ModernNineP = 0x1049;

        // virtio 1.2 §4.1.4: cfg_type values.
        internal const byte CapCommon = 1, CapNotify = 2, CapIsr = 3, CapDevice = 4, CapPciConfig = 5;
        internal const byte CapSharedMemory = 8, CapVendor = 9;
        // Byte offsets inside struct virtio_pci_cap and virtio_pci_notify_cap.
        internal const int CapLengthField = 2, CapTypeField = 3, CapBarField = 4, CapIdField = 5;
        internal const int CapOffsetField = 8, CapRegionLengthField = 12, NotifyMultiplierField = 16;
        internal const int CapMinimumLength = 16, NotifyCapMinimumLength = 20;

        internal VirtioPciRegion Common;
        internal VirtioPciRegion Notify;
        internal VirtioPciRegion Isr;
        internal VirtioPciRegion Device;          // absent for device types without device-specific config
        internal uint NotifyOffMultiplier;
        internal byte PciConfigCapability;        // offset of the VIRTIO_PCI_CAP_PCI_CFG capability, 0 if none

        // The virtio device type of a PCI function, or false when it is not a virtio device: modern ids
        // carry the type, transitional ones keep it in the subsystem id (virtio 1.2 §4.1.2.1, §4.1.2.3).
        internal static bool TryDeviceType(ushort vendorId, ushort deviceId, ushort subsystemId, out uint type)
        {
            type = 0;
            if (vendorId != VendorId) return false;
            if (deviceId >= ModernDeviceIdBase && deviceId <= ModernDeviceIdLast)
            {
                type = (uint)(deviceId - ModernDeviceIdBase);
                return true;
            }
            if (deviceId >= TransitionalDeviceIdFirst && deviceId <= TransitionalDeviceIdLast)
            {
                type = subsystemId;
                return true;
            }
            return false;
        }

        internal static bool IsTransitional(ushort deviceId) =>
            deviceId >= TransitionalDeviceIdFirst && deviceId <= TransitionalDeviceIdLast;

        internal static ushort ModernDeviceId(uint deviceType) => (ushort)(ModernDeviceIdBase + deviceType);

        // Collects the first usable capability of each type, in list order (the device's preference,
        // virtio 1.2 §4.1.4.1). Skipped, as the spec asks: reserved cfg_type or bar, cap_len too short;
        // and, as this driver needs: an offset that breaks its structure's alignment, or a length too
        // small to operate (§4.1.4.3-6).
        internal static VirtioPciError Parse(PciConfigSpace config, out VirtioPciLayout layout)
        {
            layout = default;
            if ((config.Read16(PciHeader.StatusOffset) & PciHeader.StatusCapabilitiesList) == 0)
                return VirtioPciError.NoCapabilityList;

            PciCapabilityWalk walk = new PciCapabilityWalk(config);
            while (walk.TryNext(out byte id, out byte at))
            {
                if (id != PciCapabilityId.VendorSpecific) continue;
                byte capLength = config.Read8(at + CapLengthField);
                byte type = config.Read8(at + CapTypeField);
                if (capLength < CapMinimumLength) continue;
                if (type == CapPciConfig)
                {
                    if (layout.PciConfigCapability == 0) layout.PciConfigCapability = at;
                    continue;
                }
                VirtioPciRegion region = default;
                region.Present = true;
                region.Bar = config.Read8(at + CapBarField);
                region.Offset = config.Read32(at + CapOffsetField);
                region.Length = config.Read32(at + CapRegionLengthField);
                region.CapabilityOffset = at;
                if (region.Bar > 5) continue;

                switch (type)
                {
                    case CapCommon:
                        // §4.1.4.3: 4-byte aligned, and at least the 1.0 fields up to queue_device.
                        if (!layout.Common.Present && (region.Offset & 3) == 0 && region.Length >= VirtioPciCommonConfig.Version1Length)
                            layout.Common = region;
                        break;
                    case CapNotify:
                        // §4.1.4.4: the multiplier follows the capability; offset 2-byte aligned, length at least 2.
                        if (!layout.Notify.Present && capLength >= NotifyCapMinimumLength && (region.Offset & 1) == 0 && region.Length >= 2)
                        {
                            layout.Notify = region;
                            layout.NotifyOffMultiplier = config.Read32(at + NotifyMultiplierField);
                        }
                        break;
                    case CapIsr:
                        // §4.1.4.5: one byte, any alignment.
                        if (!layout.Isr.Present && region.Length >= 1) layout.Isr = region;
                        break;
                    case CapDevice:
                        // §4.1.4.6: 4-byte aligned.
                        if (!layout.Device.Present && (region.Offset & 3) == 0) layout.Device = region;
                        break;
                }
            }

            if (!layout.Common.Present) return VirtioPciError.MissingCommon;
            if (!layout.Notify.Present) return VirtioPciError.MissingNotify;
            if (!layout.Isr.Present) return VirtioPciError.MissingIsr;
            return VirtioPciError.None;
        }

        // Offset within the notify BAR where queue notifications go: cap.offset + queue_notify_off *
        // notify_off_multiplier (virtio 1.2 §4.1.4.4); false when the 16-bit write would leave the region.
        internal bool TryNotifyOffset(ushort queueNotifyOff, out ulong offsetInBar)
        {
            offsetInBar = 0;
            if (!Notify.Present) return false;
            ulong within = (ulong)queueNotifyOff * NotifyOffMultiplier;
            if (within + 2 > Notify.Length) return false;
            offsetInBar = Notify.Offset + within;
            return true;
        }
    }

    // Byte offsets of struct virtio_pci_common_cfg (virtio 1.2 §4.1.4.3 Common configuration structure
    // layout); little-endian, accessed at the width of each field.
    internal static class VirtioPciCommonConfig
    {
        internal const int DeviceFeatureSelect = 0x00;   // le32
        internal const int DeviceFeature = 0x04;         // le32, read-only
        internal const int DriverFeatureSelect = 0x08;   // le32
        internal const int DriverFeature = 0x0c;         // le32
        internal const int ConfigMsixVector = 0x10;      // le16
        internal const int NumQueues = 0x12;             // le16, read-only
        internal const int DeviceStatus = 0x14;          // u8
        internal const int ConfigGeneration = 0x15;      // u8, read-only
        internal const int QueueSelect = 0x16;           // le16
        internal const int QueueSize = 0x18;             // le16
        internal const int QueueMsixVector = 0x1a;       // le16
        internal const int QueueEnable = 0x1c;           // le16
        internal const int QueueNotifyOff = 0x1e;        // le16, read-only
        internal const int QueueDesc = 0x20;             // le64, as two le32 halves, low first
        internal const int QueueDriver = 0x28;           // le64
        internal const int QueueDevice = 0x30;           // le64
        internal const int QueueNotifyData = 0x38;       // le16, only with VIRTIO_F_NOTIF_CONFIG_DATA
        internal const int QueueReset = 0x3a;            // le16, only with VIRTIO_F_RING_RESET
        internal const int Version1Length = 0x38;        // the fields every 1.x device has

        // virtio 1.2 §4.1.5.1.2: VIRTIO_MSI_NO_VECTOR, also what the device reads back when it refuses a vector.
        internal const ushort NoMsixVector = 0xffff;
        // virtio 1.2 §4.1.4.5 ISR status bits (reading the byte clears it).
        internal const byte IsrQueue = 1, IsrConfiguration = 2;
    }
}
