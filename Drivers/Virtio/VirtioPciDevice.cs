using Libra.Arch.X64;
using Libra.Diagnostics;
using Libra.Drivers.Pci;
using Libra.Memory;

namespace Libra.Drivers.Virtio
{
    // The virtio 1.x PCI transport (virtio 1.2 §4.1): finds a function by device type, reads its
    // capability layout, and drives the common configuration (reset, status, features, queues) and
    // the notify area. A transitional device is driven through its modern interface only.
    internal unsafe struct VirtioPciDevice
    {
        private const ushort NoVector = 0xffff;

        internal PciAddress Address;
        private byte* _common, _notify, _isr;
        internal byte* DeviceConfig;
        private uint _notifyMultiplier;
        internal ulong Features;
        // The MSI-X table entry queues signal through (EnableMsix), or NoVector for polling.
        private ushort _queueVector;

        // The first function of `deviceType` on bus 0 (QEMU's q35 puts -device virtio-* there).
        internal static bool Find(uint deviceType, out PciAddress address) => Find(deviceType, 0, out address);

        // The `index`th device of the type (0 for the first), in bus order: one virtio-9p device per share.
        internal static bool Find(uint deviceType, int index, out PciAddress address)
        {
            for (int device = 0; device < 32; device++)
            {
                for (int function = 0; function < 8; function++)
                {
                    address = new PciAddress(0, device, function);
                    uint id = PciPorts.Read32(address, 0);
                    if ((ushort)id == 0xffff) { if (function == 0) break; continue; }
                    ushort subsystem = PciPorts.Read16(address, PciHeader.SubsystemIdOffset);
                    if (VirtioPciLayout.TryDeviceType((ushort)id, (ushort)(id >> 16), subsystem, out uint type) && type == deviceType && index-- == 0) return true;
                    if (function == 0 && (PciPorts.Read8(address, PciHeader.HeaderTypeOffset) & PciHeader.MultiFunctionBit) == 0) break;
                }
            }
            address = default;
            return false;
        }

        // Reset, acknowledge, negotiate `wanted` features (VERSION_1 required); false with a reason.
        internal bool Initialize(PciAddress address, ulong wanted, out string problem)
        {
            Address = address;
            PciAddress a = address;
            var config = new PciConfigSpace(&PciPorts.ReadForParser, &a);
            if (VirtioPciLayout.Parse(config, out VirtioPciLayout layout) != VirtioPciError.None || !layout.Common.Present || !layout.Notify.Present)
            {
                problem = "no virtio 1.x capabilities (a legacy-only device)";
                return false;
            }
            _common = RegionAddress(config, layout.Common);
            _notify = RegionAddress(config, layout.Notify);
            _isr = layout.Isr.Present ? RegionAddress(config, layout.Isr) : null;
            DeviceConfig = layout.Device.Present ? RegionAddress(config, layout.Device) : null;
            _notifyMultiplier = layout.NotifyOffMultiplier;
            if (_common == null || _notify == null)
            {
                problem = "a virtio BAR lies outside the mapped MMIO window";
                return false;
            }
            // Memory space and bus mastering on (PCI Local Bus 3.0 §6.2.2).
            ushort command = PciPorts.Read16(address, PciHeader.CommandOffset);
            PciPorts.Write16(address, PciHeader.CommandOffset, (ushort)(command | PciHeader.CommandMemorySpace | PciHeader.CommandBusMaster));

            // virtio 1.2 §3.1.1 Driver Requirements: Device Initialization.
            Write8(VirtioPciCommonConfig.DeviceStatus, VirtioStatus.Reset);
            while (Read8(VirtioPciCommonConfig.DeviceStatus) != 0) Native.Pause();
            Write8(VirtioPciCommonConfig.DeviceStatus, VirtioStatus.Acknowledge);
            Write8(VirtioPciCommonConfig.DeviceStatus, VirtioStatus.Acknowledge | VirtioStatus.Driver);
            ulong offered = 0;
            for (uint select = 0; select < 2; select++)
            {
                Write32(VirtioPciCommonConfig.DeviceFeatureSelect, select);
                offered |= (ulong)Read32(VirtioPciCommonConfig.DeviceFeature) << (int)(32 * select);
            }
            if (VirtioFeatures.Negotiate(offered, wanted | VirtioFeatures.Bit(VirtioFeatures.Version1), out ulong accepted) != FeatureNegotiation.Accepted)
            {
                Fail();
                problem = "the device does not offer VIRTIO_F_VERSION_1";
                return false;
            }
            for (uint select = 0; select < 2; select++)
            {
                Write32(VirtioPciCommonConfig.DriverFeatureSelect, select);
                Write32(VirtioPciCommonConfig.DriverFeature, (uint)(accepted >> (int)(32 * select)));
            }
            Write8(VirtioPciCommonConfig.DeviceStatus, VirtioStatus.Acknowledge | VirtioStatus.Driver | VirtioStatus.FeaturesOk);
            if ((Read8(VirtioPciCommonConfig.DeviceStatus) & VirtioStatus.FeaturesOk) == 0)
            {
                Fail();
                problem = "the device refused the negotiated features";
                return false;
            }
            Features = accepted;
            _queueVector = NoVector;
            problem = "";
            return true;
        }

        // Points MSI-X table entry 0 at the local APIC's `vector` and enables MSI-X (PCI Local Bus 3.0
        // §6.8.2; Intel SDM vol. 3A §11.11 message address/data); queues set up afterwards signal
        // through it. False when the function has no MSI-X or its table is not reachable.
        internal bool EnableMsix(byte vector)
        {
            PciAddress a = Address;
            var config = new PciConfigSpace(&PciPorts.ReadForParser, &a);
            if (!MsixCapability.TryRead(config, out MsixCapability msix)) return false;
            PciHeader.TryRead(config, out PciHeader header);
            if (PciBar.TryRead(config, msix.TableBar, header.BarCount, out PciBar bar) != PciBarError.None || !bar.IsMemory) return false;
            ulong table = bar.Address + msix.TableOffset;
            if (table < Layout.MmioWindowStart || table + MsixCapability.EntryBytes > Layout.MmioWindowEnd) return false;
            var entry = (Register32*)Layout.PhysicalToVirtual(table);
            entry[MsixCapability.EntryAddressLow / 4].Value = 0xfee00000;     // fixed delivery to APIC 0, physical mode
            entry[MsixCapability.EntryAddressHigh / 4].Value = 0;
            entry[MsixCapability.EntryData / 4].Value = vector;               // edge, fixed
            entry[MsixCapability.EntryVectorControl / 4].Value = 0;           // unmasked
            ushort control = PciPorts.Read16(Address, msix.CapabilityOffset + MsixCapability.MessageControlOffset);
            control = (ushort)((control | MsixCapability.EnableBit) & ~MsixCapability.FunctionMaskBit);
            PciPorts.Write16(Address, msix.CapabilityOffset + MsixCapability.MessageControlOffset, control);
            Write16(VirtioPciCommonConfig.ConfigMsixVector, NoVector);
            _queueVector = 0;
            return true;
        }

        // Whether the last SetUpQueue got its MSI-X entry (the device answers NoVector when it cannot).
        internal bool QueueInterrupts;

        // Sets up queue `index` with at most `maxSize` entries over fresh zeroed pages; its notify
        // address, or null when the device has no such queue.
        internal ushort* SetUpQueue(ushort index, ushort maxSize, SplitQueue* queue)
        {
            Write16(VirtioPciCommonConfig.QueueSelect, index);
            ushort size = Read16(VirtioPciCommonConfig.QueueSize);
            if (size == 0) return null;
            if (size > maxSize) size = maxSize;
            uint bytes = SplitQueue.ContiguousLayout(size, out _, out _);
            byte* rings = PhysicalMemory.AllocatePages((bytes + Layout.PageSize - 1) / Layout.PageSize);
            var slots = (SplitQueue.Slot*)KernelHeap.AllocateZeroed((ulong)(size * sizeof(SplitQueue.Slot)));
            if (rings == null) return null;
            bool eventIndex = VirtioFeatures.Has(Features, VirtioFeatures.EventIndex);
            if (queue->InitializeContiguous(size, rings, Physical(rings), slots, eventIndex, &Barrier) != SplitQueueError.None) return null;
            Write16(VirtioPciCommonConfig.QueueSize, size);
            Write16(VirtioPciCommonConfig.QueueMsixVector, _queueVector);
            QueueInterrupts = _queueVector != NoVector && Read16(VirtioPciCommonConfig.QueueMsixVector) == _queueVector;
            Write64(VirtioPciCommonConfig.QueueDesc, queue->DescriptorAreaPhysical);
            Write64(VirtioPciCommonConfig.QueueDriver, queue->DriverAreaPhysical);
            Write64(VirtioPciCommonConfig.QueueDevice, queue->DeviceAreaPhysical);
            ushort notifyOff = Read16(VirtioPciCommonConfig.QueueNotifyOff);
            Write16(VirtioPciCommonConfig.QueueEnable, 1);
            return (ushort*)(_notify + (ulong)notifyOff * _notifyMultiplier);
        }

        internal void DriverOk() =>
            Write8(VirtioPciCommonConfig.DeviceStatus, VirtioStatus.Acknowledge | VirtioStatus.Driver | VirtioStatus.FeaturesOk | VirtioStatus.DriverOk);

        internal byte Status => Read8(VirtioPciCommonConfig.DeviceStatus);

        private void Fail() => Write8(VirtioPciCommonConfig.DeviceStatus, VirtioStatus.Failed);

        internal static ulong Physical(void* directMapped) => (ulong)directMapped - Layout.DirectMapBase;

        // A BAR region through the direct map, which maps the PC's MMIO window below 4 GiB uncached;
        // null for a BAR outside it (64-bit BARs above 4 GiB need their own mapping: not yet).
        private static byte* RegionAddress(PciConfigSpace config, VirtioPciRegion region)
        {
            PciHeader.TryRead(config, out PciHeader header);
            if (PciBar.TryRead(config, region.Bar, header.BarCount, out PciBar bar) != PciBarError.None || !bar.IsMemory) return null;
            ulong physical = bar.Address + region.Offset;
            if (physical < Layout.MmioWindowStart || physical + region.Length > Layout.MmioWindowEnd) return null;
            return Layout.PhysicalToVirtual(physical);
        }

        private static void Barrier() => Native.MemoryFence();

        // Device registers: every access must reach the device, in order (volatile fields).
        private struct Register8 { internal volatile byte Value; }
        private struct Register16 { internal volatile ushort Value; }
        private struct Register32 { internal volatile uint Value; }

        private byte Read8(int offset) => ((Register8*)(_common + offset))->Value;
        private ushort Read16(int offset) => ((Register16*)(_common + offset))->Value;
        private uint Read32(int offset) => ((Register32*)(_common + offset))->Value;
        private void Write8(int offset, byte value) => ((Register8*)(_common + offset))->Value = value;
        private void Write16(int offset, ushort value) => ((Register16*)(_common + offset))->Value = value;
        private void Write32(int offset, uint value) => ((Register32*)(_common + offset))->Value = value;

        internal static void Notify(ushort* address, ushort queue) => ((Register16*)address)->Value = queue;
        private void Write64(int offset, ulong value)
        {
            Write32(offset, (uint)value);
            Write32(offset + 4, (uint)(value >> 32));
        }
    }
}
