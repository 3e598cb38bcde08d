using Libra.Drivers.Virtio;
using Xunit;

namespace Libra.Tests.Unit;

public class VirtioFeaturesTests
{
    // An offer shaped like QEMU's virtio-9p-pci: MOUNT_TAG (0), the legacy NOTIFY_ON_EMPTY (24) and
    // ANY_LAYOUT (27), INDIRECT_DESC, EVENT_IDX, VERSION_1, and RING_RESET (40), which this driver does not take.
    private const ulong Qemu9pOffer = (1ul << 0) | (1ul << 24) | (1ul << 27) | (1ul << 28) | (1ul << 29) | (1ul << 32) | (1ul << 40);

    [Fact]
    public void Negotiation_accepts_only_what_both_sides_support()
    {
        ulong driver = VirtioFeatures.Bit(0) | VirtioFeatures.Bit(VirtioFeatures.EventIndex) | VirtioFeatures.Bit(VirtioFeatures.Version1)
            | VirtioFeatures.Bit(VirtioFeatures.AccessPlatform);
        Assert.Equal(FeatureNegotiation.Accepted, VirtioFeatures.Negotiate(Qemu9pOffer, driver, out ulong accepted));
        Assert.Equal(VirtioFeatures.Bit(0) | VirtioFeatures.Bit(29) | VirtioFeatures.Bit(32), accepted);
        Assert.True(VirtioFeatures.Has(accepted, VirtioFeatures.EventIndex));
        Assert.False(VirtioFeatures.Has(accepted, VirtioFeatures.IndirectDescriptors));
        Assert.False(VirtioFeatures.Has(accepted, VirtioFeatures.AccessPlatform));
    }

    [Fact]
    public void A_device_without_version_1_is_refused()
    {
        ulong legacyOffer = Qemu9pOffer & ~VirtioFeatures.Bit(VirtioFeatures.Version1);
        Assert.Equal(FeatureNegotiation.NoVersion1, VirtioFeatures.Negotiate(legacyOffer, ulong.MaxValue, out ulong accepted));
        Assert.Equal(0ul, accepted);
        Assert.Equal(FeatureNegotiation.NoVersion1, VirtioFeatures.Negotiate(Qemu9pOffer, VirtioFeatures.Bit(0), out _));
    }

    [Fact]
    public void Feature_words_split_and_join_at_bit_32()
    {
        Assert.Equal(0x39000001u, VirtioFeatures.Word(Qemu9pOffer, 0));
        Assert.Equal(0x00000101u, VirtioFeatures.Word(Qemu9pOffer, 1));
        Assert.Equal(0u, VirtioFeatures.Word(Qemu9pOffer, 2));
        ulong joined = VirtioFeatures.WithWord(VirtioFeatures.WithWord(0, 0, 0x39000001), 1, 0x101);
        Assert.Equal(Qemu9pOffer, joined);
        Assert.Equal(joined, VirtioFeatures.WithWord(joined, 2, 0xffffffff));
    }

    [Fact]
    public void Status_bits_are_the_virtio_1_2_values()
    {
        Assert.Equal(1 | 2 | 8 | 4, VirtioStatus.Acknowledge | VirtioStatus.Driver | VirtioStatus.FeaturesOk | VirtioStatus.DriverOk);
        Assert.Equal(64, VirtioStatus.DeviceNeedsReset);
        Assert.Equal(128, VirtioStatus.Failed);
    }
}
