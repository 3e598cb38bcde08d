namespace Libra.Drivers.Virtio
{
    // How feature negotiation ended.
    internal enum FeatureNegotiation
    {
        Accepted,
        NoVersion1,    // the device (or driver) lacks VIRTIO_F_VERSION_1: a legacy-only device (virtio 1.2 §6.1)
    }

    // Transport-independent feature bits (virtio 1.2 §6 Reserved Feature Bits) and the negotiation of
    // virtio 1.2 §3.1.1 Driver Requirements: Device Initialization, steps 4-6.
    internal static class VirtioFeatures
    {
        internal const int IndirectDescriptors = 28;   // VIRTIO_F_INDIRECT_DESC
        internal const int EventIndex = 29;            // VIRTIO_F_EVENT_IDX
        internal const int Version1 = 32;              // VIRTIO_F_VERSION_1
        internal const int AccessPlatform = 33;        // VIRTIO_F_ACCESS_PLATFORM
        internal const int RingPacked = 34;            // VIRTIO_F_RING_PACKED
        internal const int InOrder = 35;               // VIRTIO_F_IN_ORDER
        internal const int OrderPlatform = 36;         // VIRTIO_F_ORDER_PLATFORM
        internal const int SrIov = 37;                 // VIRTIO_F_SR_IOV
        internal const int NotificationData = 38;      // VIRTIO_F_NOTIFICATION_DATA
        internal const int NotifConfigData = 39;       // VIRTIO_F_NOTIF_CONFIG_DATA
        internal const int RingReset = 40;             // VIRTIO_F_RING_RESET

        internal static ulong Bit(int feature) => 1ul << feature;

        internal static bool Has(ulong features, int feature) => (features & (1ul << feature)) != 0;

        // The 32-bit window device_feature / driver_feature shows for feature_select = `select` (virtio 1.2 §4.1.4.3).
        internal static uint Word(ulong features, uint select) =>
            select == 0 ? (uint)features : select == 1 ? (uint)(features >> 32) : 0u;

        // `features` with window `select` replaced by `value`, to assemble device_feature from its two reads.
        internal static ulong WithWord(ulong features, uint select, uint value)
        {
            if (select == 0) return (features & 0xffffffff00000000ul) | value;
            if (select == 1) return (features & 0x00000000fffffffful) | ((ulong)value << 32);
            return features;
        }

        // The driver accepts only features the device offers (virtio 1.2 §2.2 Feature Bits) and insists
        // on VERSION_1, since this driver speaks only the 1.x interface.
        internal static FeatureNegotiation Negotiate(ulong deviceFeatures, ulong driverFeatures, out ulong accepted)
        {
            accepted = deviceFeatures & driverFeatures;
            if (!Has(accepted, Version1))
            {
                accepted = 0;
                return FeatureNegotiation.NoVersion1;
            }
            return FeatureNegotiation.Accepted;
        }
    }
}
