namespace Libra.Drivers.Virtio
{
    // Virtio device types (virtio 1.2 §5 Device Types); the modern PCI device id is 0x1040 + type.
    internal static class VirtioDeviceType
    {
        internal const uint Network = 1;
        internal const uint Block = 2;
        internal const uint Console = 3;
        internal const uint Entropy = 4;
        internal const uint Balloon = 5;
        internal const uint Scsi = 8;
        internal const uint NineP = 9;
        internal const uint Gpu = 16;
        internal const uint Input = 18;
        internal const uint Socket = 19;
        internal const uint FileSystem = 26;
    }
}
