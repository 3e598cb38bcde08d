using System;
using Libra.Arch.X64;
using Libra.Diagnostics;
using Libra.Drivers.Pci;
using Libra.Memory;
using Libra.Threads;

namespace Libra.Drivers.Virtio
{
    // virtio-9p (virtio 1.2 §5.11, device type 9): one request queue, each request a chain of the
    // T-message (device-readable) and room for the R-message (device-writable). The caller blocks
    // until the device answers, so many requests can be in flight. Completions arrive by MSI-X
    // interrupt when the device offers it (libra.virtio=poll turns that off); the idle loop and the
    // timer tick also poll the used ring, which is all there is without an interrupt.
    // One instance per device: the share at "/" and each run -Mount have their own, told apart by
    // their mount tags (struct virtio_9p_config).
    internal unsafe struct Virtio9pDevice
    {
        internal const uint DeviceType = 9;
        private const ushort MaxQueueSize = 128;
        private const int MountTagMax = 64;
        internal const int MaxDevices = 8;

        private VirtioPciDevice _device;
        private SplitQueue _queue;
        private ushort* _notify;
        private int _outstanding;
        private PollQueue _space;
        private bool _interrupts, _reportedBroken;
        private fixed byte _tag[MountTagMax];
        private int _tagLength;

        private struct Devices { internal fixed ulong Entries[MaxDevices]; }
        private static Devices s_devices;
        private static int s_count;
        // The IDT vector MSI-X completions of every device arrive on (registered in DeviceInterrupts; 0: none).
        private static byte s_vector;
        internal static bool ForcePolling;
        internal static ulong Requests;
        internal static ulong InterruptsTaken => DeviceInterrupts.Taken(s_vector);

        // One request's completion, on the waiting thread's stack.
        private struct Completion
        {
            internal Thread* Waiter;
            internal uint Length;
            internal bool Done;
        }

        private static Virtio9pDevice* At(int i) => (Virtio9pDevice*)s_devices.Entries[i];

        // Finds and starts every virtio-9p device; how many work (each failure said in a log line).
        internal static int ProbeAll()
        {
            for (int index = 0; s_count < MaxDevices && VirtioPciDevice.Find(DeviceType, index, out PciAddress address); index++)
            {
                var device = (Virtio9pDevice*)KernelHeap.AllocateZeroed((ulong)sizeof(Virtio9pDevice));
                if (!device->Start(address)) { KernelHeap.Free(device); continue; }
                if (s_count == 0) Scheduler.AddDevicePoll(&PollAll);
                s_devices.Entries[s_count++] = (ulong)device;
            }
            return s_count;
        }

        // The device whose mount tag is `tag`, or null.
        internal static Virtio9pDevice* WithTag(ReadOnlySpan<byte> tag)
        {
            for (int i = 0; i < s_count; i++)
            {
                Virtio9pDevice* device = At(i);
                if (device->HasTag(tag)) return device;
            }
            return null;
        }

        private bool HasTag(ReadOnlySpan<byte> tag)
        {
            if (tag.Length != _tagLength) return false;
            for (int i = 0; i < tag.Length; i++) if (_tag[i] != tag[i]) return false;
            return true;
        }

        private bool Start(PciAddress address)
        {
            if (!_device.Initialize(address, 0, out string problem))
            {
                KernelLog.Begin(); KernelLog.Write("virtio-9p: "); KernelLog.Write(problem); KernelLog.End();
                return false;
            }
            if (!ForcePolling && s_vector == 0) s_vector = DeviceInterrupts.Allocate(&OnInterrupt);
            bool msix = s_vector != 0 && _device.EnableMsix(s_vector);
            fixed (SplitQueue* queue = &_queue) _notify = _device.SetUpQueue(0, MaxQueueSize, queue);
            _interrupts = msix && _device.QueueInterrupts;
            if (_notify == null)
            {
                KernelLog.Line("virtio-9p: the request queue could not be set up");
                return false;
            }
            // struct virtio_9p_config { le16 tag_len; u8 tag[tag_len]; }
            if (_device.DeviceConfig != null)
            {
                int length = *(ushort*)_device.DeviceConfig;
                if (length > MountTagMax) length = MountTagMax;
                for (int i = 0; i < length; i++) _tag[i] = _device.DeviceConfig[2 + i];
                _tagLength = length;
            }
            _device.DriverOk();
            KernelLog.Begin(); KernelLog.Write("virtio-9p: PCI 00:"); KernelLog.Hex(address.Device, 2); KernelLog.Write('.');
            KernelLog.Decimal(address.Function); KernelLog.Write(", mount tag '"); fixed (byte* tag = _tag) KernelLog.WriteAscii(tag, _tagLength);
            KernelLog.Write("', queue of "); KernelLog.Decimal(_queue.Size);
            KernelLog.Write(_interrupts ? ", completions by MSI-X interrupt" : ", completions by polling"); KernelLog.End();
            return true;
        }

        // NinePClient's transport (the context is the device): one T-message out, one R-message
        // back; its length, or -EIO.
        internal static int Transact(void* context, byte* request, int length, byte* reply, int capacity) =>
            ((Virtio9pDevice*)context)->Transact(request, length, reply, capacity);

        private int Transact(byte* request, int length, byte* reply, int capacity)
        {
            Completion completion = default;
            completion.Waiter = Scheduler.Current;
            SplitQueue.Buffer* readable = stackalloc SplitQueue.Buffer[1];
            SplitQueue.Buffer* writable = stackalloc SplitQueue.Buffer[1];
            readable[0] = new SplitQueue.Buffer(VirtioPciDevice.Physical(request), (uint)length);
            writable[0] = new SplitQueue.Buffer(VirtioPciDevice.Physical(reply), (uint)capacity);
            while (!_queue.TryAddChain(new ReadOnlySpan<SplitQueue.Buffer>(readable, 1), new ReadOnlySpan<SplitQueue.Buffer>(writable, 1),
                (ulong)&completion, out _))
            {
                if (_queue.IsBroken) return Broken();
                _space.Wait(PollEvents.Any, 0, interruptible: false);
            }
            _outstanding++;
            Requests++;
            if (_queue.NeedsNotify()) VirtioPciDevice.Notify(_notify, 0);
            while (!completion.Done)
            {
                Poll();
                if (completion.Done) break;
                if (_queue.IsBroken) return Broken();
                if (completion.Waiter == null) Native.Pause();      // no thread yet (boot): spin
                else Scheduler.Block(0, interruptible: false);
            }
            return (int)completion.Length;
        }

        // The device returned a descriptor it did not own (virtio 1.2 §2.7.14): nothing on the queue can
        // be trusted, so every call fails with EIO from now on; said once.
        private int Broken()
        {
            if (!_reportedBroken)
            {
                _reportedBroken = true;
                KernelLog.Line("virtio-9p: the device broke the request queue's rules; file calls fail with EIO from now on");
            }
            return -5;
        }

        // Takes every answered request off the used ring and wakes its thread; true while requests
        // are still out and no interrupt will say when they are answered (the idle loop then polls
        // instead of halting).
        private bool Poll()
        {
            bool freed = false;
            while (_queue.TryTakeUsed(out ulong cookie, out uint length))
            {
                var completion = (Completion*)cookie;
                completion->Length = length;
                completion->Done = true;
                _outstanding--;
                freed = true;
                if (completion->Waiter != null) Scheduler.Wake(completion->Waiter, WakeReason.Woken);
            }
            if (freed) _space.Notify(PollEvents.Any);
            return _outstanding > 0 && !_interrupts;
        }

        internal static bool PollAll()
        {
            bool busy = false;
            for (int i = 0; i < s_count; i++) busy |= At(i)->Poll();
            return busy;
        }

        // A device's MSI-X message (they share one vector): some used ring has something.
        private static void OnInterrupt() => PollAll();
    }
}
