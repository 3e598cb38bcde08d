using System;
using Libra.Arch.X64;
using Libra.Diagnostics;
using Libra.Drivers.Pci;
using Libra.Memory;
using Libra.Threads;
using Libra.Time;

namespace Libra.Drivers.Virtio
{
    // virtio-serial (the virtio console, virtio 1.2 §5.3, device type 3) with MULTIPORT: the device,
    // its queues, its control messages and its completions. The named ports and their clients are in
    // VirtioSerialDevice.Ports.cs. Queues (§5.3.2): port 0 uses 0/1, the control queues are 2 (device
    // to driver) and 3, port N > 0 uses 2N+2 / 2N+3. The handshake (§5.3.6.1, as QEMU's
    // hw/char/virtio-serial-bus.c runs it): the driver sends DEVICE_READY, the device sends DEVICE_ADD
    // per port, the driver answers PORT_READY, the device sends PORT_NAME and PORT_OPEN (when the host
    // side is connected), and the driver sends PORT_OPEN for a port a client claimed, without which
    // QEMU forwards nothing to the guest. Completions arrive by MSI-X interrupt (one vector for every
    // queue, virtio 1.2 §4.1.5.1.2); libra.virtio=poll, or a device without MSI-X, leaves them to
    // polling: the idle loop, the timer tick and a caller waiting at boot.
    internal static unsafe partial class VirtioSerialDevice
    {
        internal const uint DeviceType = VirtioDeviceType.Console;
        private const int FeatureMultiport = 1;           // VIRTIO_CONSOLE_F_MULTIPORT
        private const ushort MaxQueueSize = 128;
        // Ports whose queues are set up (all before DRIVER_OK, as names arrive only after it); QEMU
        // numbers virtserialports from 1 and keeps 0 for a console.
        private const uint MaxPorts = 8;
        private const ushort ControlIn = 2, ControlOut = 3;
        private const int ControlInBuffers = 16, ControlInSize = 256;
        private const int ControlOutSlots = 16, ControlOutSize = 16;
        private const int ControlMessageSize = 8;         // struct virtio_console_control { le32 id; le16 event; le16 value; }

        // Control events (virtio 1.2 §5.3.6.2).
        private const ushort DeviceReady = 0, DeviceAdd = 1, DeviceRemove = 2, PortReady = 3, PortOpen = 6, PortName = 7;

        private static VirtioPciDevice s_device;
        private static SplitQueue* s_queues;
        private static ulong* s_notify;                  // each queue's notify address (0: no such queue)
        private static int s_queueCount;
        private static byte* s_controlIn, s_controlOut;
        private static uint s_controlOutBusy;            // one bit per control-out slot
        private static byte s_vector;                    // the MSI-X vector (DeviceInterrupts), 0: none
        // Set while Poll runs: a client's callback that ends up polling again must not re-enter it.
        private static bool s_polling;

        // The device is set up and DEVICE_READY sent: ports can be claimed.
        internal static bool Present;
        // Completions arrive by interrupt (else only by polling).
        internal static bool Interrupts;
        // libra.virtio=poll: no MSI-X even when the device offers it.
        internal static bool ForcePolling;
        internal static ulong InterruptsTaken => DeviceInterrupts.Taken(s_vector);

        // Finds and starts the device; ports are announced from here on and claimed by name (Claim).
        // False, after a log line when there is a device, when there is none or it cannot be used.
        internal static bool Probe()
        {
            if (!VirtioPciDevice.Find(DeviceType, out PciAddress address)) return false;
            if (!s_device.Initialize(address, VirtioFeatures.Bit(FeatureMultiport), out string problem))
            {
                KernelLog.Begin(); KernelLog.Write("virtio-serial: "); KernelLog.Write(problem); KernelLog.End();
                return false;
            }
            if (!VirtioFeatures.Has(s_device.Features, FeatureMultiport))
            {
                KernelLog.Line("virtio-serial: the device offers no MULTIPORT (max_ports=1), so no named port");
                return false;
            }
            // struct virtio_console_config { le16 cols; le16 rows; le32 max_nr_ports; le32 emerg_wr; } (§5.3.4)
            uint ports = s_device.DeviceConfig != null ? *(uint*)(s_device.DeviceConfig + 4) : 1;
            if (ports > MaxPorts) ports = MaxPorts;
            if (ports == 0) ports = 1;
            s_queueCount = (int)(2 * ports + 2);
            s_queues = (SplitQueue*)KernelHeap.AllocateZeroed((ulong)(s_queueCount * sizeof(SplitQueue)));
            s_notify = (ulong*)KernelHeap.AllocateZeroed((ulong)(s_queueCount * sizeof(ulong)));
            s_controlIn = PhysicalMemory.AllocatePages(ControlInBuffers * ControlInSize / Layout.PageSize);
            s_controlOut = PhysicalMemory.AllocatePages(1);
            if (s_queues == null || s_notify == null || s_controlIn == null || s_controlOut == null || !AllocatePortTables(ports))
            {
                KernelLog.Line("virtio-serial: out of memory for the queues");
                return false;
            }
            if (!ForcePolling) s_vector = DeviceInterrupts.Allocate(&OnInterrupt);
            bool msix = s_vector != 0 && s_device.EnableMsix(s_vector);
            bool everyQueueSignals = msix;
            for (int q = 0; q < s_queueCount; q++)
            {
                s_notify[q] = (ulong)s_device.SetUpQueue((ushort)q, MaxQueueSize, &s_queues[q]);
                if (s_notify[q] != 0 && !s_device.QueueInterrupts) everyQueueSignals = false;
            }
            Interrupts = everyQueueSignals;
            // Polled queues ask the device for no interrupts (virtio 1.2 §2.7.7).
            if (!Interrupts)
                for (int q = 0; q < s_queueCount; q++) if (s_notify[q] != 0) s_queues[q].DisableInterrupts();
            if (s_notify[ControlIn] == 0 || s_notify[ControlOut] == 0)
            {
                KernelLog.Line("virtio-serial: the control queues could not be set up");
                return false;
            }
            for (int i = 0; i < ControlInBuffers; i++) PostControlIn(i);
            s_device.DriverOk();
            Kick(ControlIn);
            SendControl(0, DeviceReady, 1);
            Scheduler.AddDevicePoll(&PollForIdle);
            Present = true;
            KernelLog.Begin(); KernelLog.Write("virtio-serial: PCI 00:"); KernelLog.Hex(address.Device, 2); KernelLog.Write('.');
            KernelLog.Decimal(address.Function); KernelLog.Write(", "); KernelLog.Decimal(ports); KernelLog.Write(" port(s) set up, queues of ");
            KernelLog.Decimal(s_queues[s_notify[ReceiveQueue(1)] != 0 ? ReceiveQueue(1) : ControlIn].Size);
            KernelLog.Write(Interrupts ? ", completions by MSI-X interrupt" : ", completions by polling"); KernelLog.End();
            return true;
        }

        // Takes what the device returned: finished writes (first, so that a receive callback that
        // writes finds their buffers free), received bytes (before control messages, so that bytes
        // sent before a close reach the client before the close does), control messages. True while
        // writes are out or a client waits for bytes.
        internal static bool Poll()
        {
            if (!Present) return false;
            if (s_polling) return true;
            s_polling = true;
            TakeWrittenAll();
            TakeReceivedAll();
            TakeControl();
            s_polling = false;
            return Outstanding();
        }

        // The idle loop's and the tick's poll: with interrupts the idle loop may halt, as the device's
        // message will wake it.
        private static bool PollForIdle() => Poll() && !Interrupts;

        // The device's MSI-X message: some queue's used ring has something.
        private static void OnInterrupt() => Poll();

        // One wait of a thread for the device to complete something it asked for (the caller re-checks
        // its completion after each): blocks until a completion wakes it, the deadline (Clock
        // nanoseconds, 0: none) or a signal; with a signal pending Block returns at once, so it polls
        // instead. At boot, with no thread yet, it polls and spins.
        internal static WakeReason Await(ulong deadline)
        {
            if (Scheduler.Current == null)
            {
                Poll();
                Native.Pause();
                return deadline != 0 && Clock.Nanoseconds() >= deadline ? WakeReason.TimedOut : WakeReason.Woken;
            }
            WakeReason reason = Scheduler.Block(deadline, interruptible: false);
            if (reason == WakeReason.Interrupted) Poll();
            return reason;
        }

        private static void TakeControl()
        {
            SplitQueue* outQueue = &s_queues[ControlOut];
            while (outQueue->TryTakeUsed(out ulong slot, out _)) s_controlOutBusy &= ~(1u << (int)slot);
            SplitQueue* inQueue = &s_queues[ControlIn];
            bool taken = false;
            while (inQueue->TryTakeUsed(out ulong cookie, out uint length))
            {
                int buffer = (int)cookie;
                if (length >= ControlMessageSize) HandleControl(s_controlIn + buffer * ControlInSize, (int)length);
                PostControlIn(buffer);
                taken = true;
            }
            if (taken) Kick(ControlIn);
        }

        // One message from the device (virtio 1.2 §5.3.6.2).
        private static void HandleControl(byte* message, int length)
        {
            uint id = *(uint*)message;
            ushort ev = *(ushort*)(message + 4);
            ushort value = *(ushort*)(message + 6);
            switch (ev)
            {
                case DeviceAdd:
                    PortAdded(id);
                    SendControl(id, PortReady, 1);
                    break;
                case PortName:
                    PortNamed(id, message + ControlMessageSize, length - ControlMessageSize);
                    break;
                case PortOpen:
                    HostOpenChanged(id, value != 0);
                    break;
                case DeviceRemove:
                    HostOpenChanged(id, false);
                    break;
            }
        }

        private static void SendControl(uint id, ushort ev, ushort value)
        {
            int slot = 0;
            while (slot < ControlOutSlots && (s_controlOutBusy & (1u << slot)) != 0) slot++;
            if (slot == ControlOutSlots)
            {
                KernelLog.Line("virtio-serial: no free control slot; a control message was dropped");
                return;
            }
            byte* message = s_controlOut + slot * ControlOutSize;
            *(uint*)message = id;
            *(ushort*)(message + 4) = ev;
            *(ushort*)(message + 6) = value;
            SplitQueue.Buffer buffer = new SplitQueue.Buffer(VirtioPciDevice.Physical(message), ControlMessageSize);
            if (!s_queues[ControlOut].TryAddChain(new ReadOnlySpan<SplitQueue.Buffer>(&buffer, 1), default, (ulong)slot, out _)) return;
            s_controlOutBusy |= 1u << slot;
            Kick(ControlOut);
        }

        private static void PostControlIn(int buffer)
        {
            SplitQueue.Buffer b = new SplitQueue.Buffer(VirtioPciDevice.Physical(s_controlIn + buffer * ControlInSize), ControlInSize);
            s_queues[ControlIn].TryAddChain(default, new ReadOnlySpan<SplitQueue.Buffer>(&b, 1), (ulong)buffer, out _);
        }

        // Publishes what was added to queue `index` and notifies the device when it asks for it.
        private static void Kick(ushort index)
        {
            if (s_queues[index].NeedsNotify()) VirtioPciDevice.Notify((ushort*)s_notify[index], index);
        }

        // Whether port `id` has its two queues (virtio 1.2 §5.3.2).
        private static bool HasQueues(uint id) =>
            id < (uint)(s_queueCount - 2) / 2 && s_notify[ReceiveQueue(id)] != 0 && s_notify[TransmitQueue(id)] != 0;

        private static ushort ReceiveQueue(uint port) => (ushort)(port == 0 ? 0 : 2 * port + 2);

        private static ushort TransmitQueue(uint port) => (ushort)(ReceiveQueue(port) + 1);
    }
}
