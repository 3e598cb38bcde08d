namespace Libra.Drivers.Virtio
{
    // The device_status bits (virtio 1.2 §2.1 Device Status Field); writing 0 resets the device.
    internal static class VirtioStatus
    {
        internal const byte Reset = 0;
        internal const byte Acknowledge = 1;
        internal const byte Driver = 2;
        internal const byte DriverOk = 4;
        internal const byte FeaturesOk = 8;
        internal const byte DeviceNeedsReset = 64;
        internal const byte Failed = 128;
    }
}
