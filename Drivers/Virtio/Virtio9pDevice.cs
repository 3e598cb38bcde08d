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
    internal static unsafe class Virtio9pDevice
    {
        internal const uint DeviceType = 9;
        private const ushort MaxQueueSize = 128;
        private const int MountTagMax = 64;

        private static VirtioPciDevice s_device;
        private static SplitQueue s_queue;
        private static ushort* s_notify;
        private static int s_outstanding;
        private static PollQueue s_space;
        internal static bool Present;
        internal static bool Interrupts;
        // The IDT vector MSI-X completions arrive on (registered in DeviceInterrupts; 0: none).
        private static byte s_vector;
        internal static bool ForcePolling;
        internal static ulong Requests;
        internal static ulong InterruptsTaken => DeviceInterrupts.Taken(s_vector);

        private struct TagText { internal fixed byte Bytes[MountTagMax]; }
        private static TagText s_tag;
        private static int s_tagLength;

        // One request's completion, on the waiting thread's stack.
        private struct Completion
        {
            internal Thread* Waiter;
            internal uint Length;
            internal bool Done;
        }

        // Finds and starts the device; false (after a log line) when there is none or it fails.
        internal static bool Probe()
        {
            if (!VirtioPciDevice.Find(DeviceType, out PciAddress address)) return false;
            if (!s_device.Initialize(address, 0, out string problem))
            {
                KernelLog.Begin(); KernelLog.Write("virtio-9p: "); KernelLog.Write(problem); KernelLog.End();
                return false;
            }
            if (!ForcePolling) s_vector = DeviceInterrupts.Allocate(&OnInterrupt);
            bool msix = s_vector != 0 && s_device.EnableMsix(s_vector);
            fixed (SplitQueue* queue = &s_queue) s_notify = s_device.SetUpQueue(0, MaxQueueSize, queue);
            Interrupts = msix && s_device.QueueInterrupts;
            if (s_notify == null)
            {
                KernelLog.Line("virtio-9p: the request queue could not be set up");
                return false;
            }
            // struct virtio_9p_config { le16 tag_len; u8 tag[tag_len]; }
            if (s_device.DeviceConfig != null)
            {
                int length = *(ushort*)s_device.DeviceConfig;
                if (length > MountTagMax) length = MountTagMax;
                for (int i = 0; i < length; i++) s_tag.Bytes[i] = s_device.DeviceConfig[2 + i];
                s_tagLength = length;
            }
            s_device.DriverOk();
            Scheduler.AddDevicePoll(&Poll);
            Present = true;
            KernelLog.Begin(); KernelLog.Write("virtio-9p: PCI 00:"); KernelLog.Hex(address.Device, 2); KernelLog.Write('.');
            KernelLog.Decimal(address.Function); KernelLog.Write(", mount tag '"); fixed (byte* tag = s_tag.Bytes) KernelLog.WriteAscii(tag, s_tagLength);
            KernelLog.Write("', queue of "); KernelLog.Decimal(s_queue.Size);
            KernelLog.Write(Interrupts ? ", completions by MSI-X interrupt" : ", completions by polling"); KernelLog.End();
            return true;
        }

        // NinePClient's transport: one T-message out, one R-message back; its length, or -EIO.
        internal static int Transact(byte* request, int length, byte* reply, int capacity)
        {
            Completion completion = default;
            completion.Waiter = Scheduler.Current;
            SplitQueue.Buffer* readable = stackalloc SplitQueue.Buffer[1];
            SplitQueue.Buffer* writable = stackalloc SplitQueue.Buffer[1];
            readable[0] = new SplitQueue.Buffer(VirtioPciDevice.Physical(request), (uint)length);
            writable[0] = new SplitQueue.Buffer(VirtioPciDevice.Physical(reply), (uint)capacity);
            while (!s_queue.TryAddChain(new ReadOnlySpan<SplitQueue.Buffer>(readable, 1), new ReadOnlySpan<SplitQueue.Buffer>(writable, 1),
                (ulong)&completion, out _))
            {
                if (s_queue.IsBroken) return Broken();
                s_space.Wait(PollEvents.Any, 0, interruptible: false);
            }
            s_outstanding++;
            Requests++;
            if (s_queue.NeedsNotify()) VirtioPciDevice.Notify(s_notify, 0);
            while (!completion.Done)
            {
                Poll();
                if (completion.Done) break;
                if (s_queue.IsBroken) return Broken();
                if (completion.Waiter == null) Native.Pause();      // no thread yet (boot): spin
                else Scheduler.Block(0, interruptible: false);
            }
            return (int)completion.Length;
        }

        // The device returned a descriptor it did not own (virtio 1.2 §2.7.14): nothing on the queue can
        // be trusted, so every call fails with EIO from now on; said once.
        private static int Broken()
        {
            if (!s_reportedBroken)
            {
                s_reportedBroken = true;
                KernelLog.Line("virtio-9p: the device broke the request queue's rules; file calls fail with EIO from now on");
            }
            return -5;
        }

        private static bool s_reportedBroken;

        // Takes every answered request off the used ring and wakes its thread; true while requests
        // are still out (the idle loop then polls instead of halting).
        internal static bool Poll()
        {
            bool freed = false;
            while (s_queue.TryTakeUsed(out ulong cookie, out uint length))
            {
                var completion = (Completion*)cookie;
                completion->Length = length;
                completion->Done = true;
                s_outstanding--;
                freed = true;
                if (completion->Waiter != null) Scheduler.Wake(completion->Waiter, WakeReason.Woken);
            }
            if (freed) s_space.Notify(PollEvents.Any);
            // With interrupts the idle loop may halt: the device's message will wake it.
            return s_outstanding > 0 && !Interrupts;
        }

        // The device's MSI-X message: the used ring has something.
        private static void OnInterrupt() => Poll();

        internal static ReadOnlySpan<byte> MountTag
        {
            get { fixed (byte* tag = s_tag.Bytes) return new ReadOnlySpan<byte>(tag, s_tagLength); }
        }
    }
}
