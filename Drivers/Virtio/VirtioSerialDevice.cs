using System;
using Libra.Arch.X64;
using Libra.Diagnostics;
using Libra.Drivers.Pci;
using Libra.Memory;
using Libra.Threads;
using Libra.Time;

namespace Libra.Drivers.Virtio
{
    // virtio-serial (the virtio console, virtio 1.2 §5.3, device type 3) with MULTIPORT: finds the
    // port the host named, opens it, and carries one byte stream over it for one client. Queues
    // (§5.3.2): port 0 uses 0/1, the control queues are 2 (device to driver) and 3, port N > 0 uses
    // 2N+2 / 2N+3. The handshake (§5.3.6.1, as QEMU's hw/char/virtio-serial-bus.c runs it): the
    // driver sends DEVICE_READY, the device sends DEVICE_ADD per port, the driver answers PORT_READY,
    // the device sends PORT_NAME and PORT_OPEN (when the host side is connected), and the driver sends
    // PORT_OPEN, without which QEMU forwards nothing to the guest. Completions are polled, as for
    // virtio-9p: from the idle loop, the timer tick and the waiting caller.
    internal static unsafe class VirtioSerialDevice
    {
        internal const uint DeviceType = VirtioDeviceType.Console;
        private const int FeatureMultiport = 1;           // VIRTIO_CONSOLE_F_MULTIPORT
        private const ushort MaxQueueSize = 128;
        // Ports whose queues are set up (all before DRIVER_OK, as the name arrives only after it);
        // QEMU numbers virtserialports from 1 and keeps 0 for a console.
        private const uint MaxPorts = 4;
        private const ushort ControlIn = 2, ControlOut = 3;
        private const int ControlInBuffers = 16, ControlInSize = 256;
        private const int ControlOutSlots = 16, ControlOutSize = 16;
        private const int ControlMessageSize = 8;         // struct virtio_console_control { le32 id; le16 event; le16 value; }
        // QEMU moves at most 4 KiB per chardev read into the queue (virtio_serial_guest_ready), so
        // page-sized buffers lose nothing; 32 hold two 64 KiB replies.
        private const int ReceiveBuffers = 32, ReceiveSize = 4096;
        private const ulong OpenTimeoutNs = 2_000_000_000;
        private const uint NoPort = 0xffffffff;
        private const int NameMax = 64;

        // Control events (virtio 1.2 §5.3.6.2).
        private const ushort DeviceReady = 0, DeviceAdd = 1, DeviceRemove = 2, PortReady = 3, PortOpen = 6, PortName = 7;

        // What the port's user does with the stream: takes received bytes in order, learns that the
        // host closed the port, and says whether it waits for bytes (the idle loop then keeps polling).
        internal struct PortClient
        {
            internal delegate*<byte*, int, void> Receive;
            internal delegate*<void> Closed;
            internal delegate*<bool> Awaiting;
        }

        // One write in flight, on the writer's stack until Done (the device has taken the bytes).
        internal struct PortWrite
        {
            internal Thread* Waiter;
            internal bool Done;
        }

        private struct NameText { internal fixed byte Bytes[NameMax]; }

        private static VirtioPciDevice s_device;
        private static SplitQueue* s_queues;
        private static ulong* s_notify;                  // each queue's notify address (0: no such queue)
        private static int s_queueCount;
        private static byte* s_controlIn, s_controlOut, s_receive;
        private static uint s_controlOutBusy;            // one bit per control-out slot
        private static PortClient s_client;
        private static NameText s_wanted;
        private static int s_wantedLength;
        private static uint s_port;
        private static bool s_guestOpen, s_hostOpen, s_closed;
        private static int s_writes;
        private static PollQueue s_space;
        // Set while a queue is being changed: a timer tick that polls meanwhile (during boot, when
        // interrupts are on) leaves the queues alone.
        private static bool s_busy;
        // The named port was found and opened.
        internal static bool Present;

        // Finds the device and waits (at most 2 s) until the port named `name` is open both ways;
        // false, after a log line when there is a device, otherwise.
        internal static bool Probe(string name, PortClient client)
        {
            if (!VirtioPciDevice.Find(DeviceType, out PciAddress address)) return false;
            s_port = NoPort;
            s_client = client;
            s_wantedLength = name.Length < NameMax ? name.Length : NameMax;
            for (int i = 0; i < s_wantedLength; i++) s_wanted.Bytes[i] = (byte)name[i];
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
            // struct virtio_console_config { le16 cols; le16 rows; le32 max_nr_ports; le32 emerg_wr; }
            uint ports = s_device.DeviceConfig != null ? *(uint*)(s_device.DeviceConfig + 4) : 1;
            if (ports > MaxPorts) ports = MaxPorts;
            if (ports == 0) ports = 1;
            s_queueCount = (int)(2 * ports + 2);
            s_queues = (SplitQueue*)KernelHeap.AllocateZeroed((ulong)(s_queueCount * sizeof(SplitQueue)));
            s_notify = (ulong*)KernelHeap.AllocateZeroed((ulong)(s_queueCount * sizeof(ulong)));
            s_controlIn = PhysicalMemory.AllocatePages(1);
            s_controlOut = PhysicalMemory.AllocatePages(1);
            s_receive = PhysicalMemory.AllocatePages(ReceiveBuffers * ReceiveSize / Layout.PageSize);
            if (s_queues == null || s_notify == null || s_controlIn == null || s_controlOut == null || s_receive == null)
            {
                KernelLog.Line("virtio-serial: out of memory for the queues");
                return false;
            }
            for (int q = 0; q < s_queueCount; q++)
            {
                s_notify[q] = (ulong)s_device.SetUpQueue((ushort)q, MaxQueueSize, &s_queues[q]);
                if (s_notify[q] != 0) s_queues[q].DisableInterrupts();    // completions are polled
            }
            if (s_notify[ControlIn] == 0 || s_notify[ControlOut] == 0)
            {
                KernelLog.Line("virtio-serial: the control queues could not be set up");
                return false;
            }
            s_busy = true;
            for (int i = 0; i < ControlInBuffers; i++) PostControlIn(i);
            s_device.DriverOk();
            Kick(ControlIn);
            SendControl(0, DeviceReady, 1);
            s_busy = false;
            Scheduler.AddDevicePoll(&Poll);

            ulong deadline = Clock.Nanoseconds() + OpenTimeoutNs;
            while (!(s_guestOpen && s_hostOpen) && !s_closed && Clock.Nanoseconds() < deadline)
            {
                Poll();
                Native.Pause();
            }
            if (!(s_guestOpen && s_hostOpen))
            {
                KernelLog.Begin(); KernelLog.Write("virtio-serial: PCI 00:"); KernelLog.Hex(address.Device, 2);
                KernelLog.Write(": no port named '"); KernelLog.Write(name);
                KernelLog.Write(s_port == NoPort ? "' appeared" : "' was opened by the host"); KernelLog.Write(" within 2 s"); KernelLog.End();
                return false;
            }
            KernelLog.Begin(); KernelLog.Write("virtio-serial: PCI 00:"); KernelLog.Hex(address.Device, 2); KernelLog.Write('.');
            KernelLog.Decimal(address.Function); KernelLog.Write(", port "); KernelLog.Decimal(s_port); KernelLog.Write(" '");
            KernelLog.Write(name); KernelLog.Write("' open, queues of "); KernelLog.Decimal(s_queues[ReceiveQueue(s_port)].Size); KernelLog.End();
            Present = true;
            return true;
        }

        // Queues `length` bytes at `data` (physically contiguous, left alone until completion->Done)
        // for the port; 0, or -EIO when the port is closed or the queue broken.
        internal static int StartWrite(byte* data, int length, PortWrite* completion)
        {
            if (!IsOpen) return -5;
            completion->Done = false;
            SplitQueue* queue = &s_queues[TransmitQueue(s_port)];
            SplitQueue.Buffer buffer = new SplitQueue.Buffer(VirtioPciDevice.Physical(data), (uint)length);
            while (true)
            {
                s_busy = true;
                bool added = queue->TryAddChain(new ReadOnlySpan<SplitQueue.Buffer>(&buffer, 1), default, (ulong)completion, out _);
                if (added)
                {
                    s_writes++;
                    if (queue->NeedsNotify()) VirtioPciDevice.Notify((ushort*)s_notify[TransmitQueue(s_port)], TransmitQueue(s_port));
                }
                s_busy = false;
                if (added) return 0;
                if (queue->IsBroken || !IsOpen) return -5;
                if (completion->Waiter == null) { Poll(); Native.Pause(); }
                else s_space.Wait(PollEvents.Any, 0);
            }
        }

        // The port is open both ways and the host has not closed it.
        internal static bool IsOpen => s_guestOpen && s_hostOpen && !s_closed;

        // Takes what the device returned: received bytes (first, so that bytes sent before a close
        // reach the client before the close does), finished writes, control messages. True while
        // writes are out or the client waits for bytes.
        internal static bool Poll()
        {
            if (s_busy) return true;
            s_busy = true;
            TakeReceived();
            TakeWritten();
            TakeControl();
            s_busy = false;
            return s_writes > 0 || (s_client.Awaiting != null && IsOpen && s_client.Awaiting());
        }

        private static void TakeReceived()
        {
            if (s_port == NoPort || !s_guestOpen) return;
            ushort index = ReceiveQueue(s_port);
            SplitQueue* queue = &s_queues[index];
            int taken = 0;
            while (queue->TryTakeUsed(out ulong cookie, out uint length))
            {
                int buffer = (int)cookie;
                if (length > 0 && s_client.Receive != null) s_client.Receive(s_receive + buffer * ReceiveSize, (int)length);
                PostReceive(buffer);
                taken++;
            }
            if (taken == 0) return;
            // QEMU stops reading the socket only when it holds no buffer, so a notify matters only when
            // few were left; otherwise publishing is enough (and spares QEMU's main loop a wakeup per
            // reply). If QEMU drains them before it sees these, the next poll finds them all used and
            // notifies; polls go on while the client waits for bytes.
            if (ReceiveBuffers - taken < ReceiveBuffers / 4) Kick(index);
            else queue->Publish();
        }

        private static void TakeWritten()
        {
            if (s_port == NoPort) return;
            SplitQueue* queue = &s_queues[TransmitQueue(s_port)];
            bool freed = false;
            while (queue->TryTakeUsed(out ulong cookie, out _))
            {
                var completion = (PortWrite*)cookie;
                completion->Done = true;
                s_writes--;
                freed = true;
                if (completion->Waiter != null) Scheduler.Wake(completion->Waiter, WakeReason.Woken);
            }
            if (freed) s_space.Notify(PollEvents.Any);
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
                    SendControl(id, PortReady, 1);
                    break;
                case PortName:
                    if (s_port != NoPort || !IsWantedName(message + ControlMessageSize, length - ControlMessageSize)) break;
                    if (id >= (uint)(s_queueCount - 2) / 2 || s_notify[ReceiveQueue(id)] == 0 || s_notify[TransmitQueue(id)] == 0)
                    {
                        KernelLog.Begin(); KernelLog.Write("virtio-serial: the wanted port is number "); KernelLog.Decimal(id);
                        KernelLog.Write(", beyond the "); KernelLog.Decimal((ulong)(s_queueCount - 2) / 2); KernelLog.Write(" ports set up"); KernelLog.End();
                        break;
                    }
                    s_port = id;
                    for (int i = 0; i < ReceiveBuffers; i++) PostReceive(i);
                    Kick(ReceiveQueue(id));
                    SendControl(id, PortOpen, 1);
                    s_guestOpen = true;
                    break;
                case PortOpen:
                    if (id != s_port) break;
                    if (value != 0) { s_hostOpen = true; break; }
                    if (!s_hostOpen) break;
                    PortClosed();
                    break;
                case DeviceRemove:
                    if (id == s_port && s_hostOpen) PortClosed();
                    break;
            }
        }

        // The host closed the port: bytes already in the receive queue were delivered first (Poll's order).
        private static void PortClosed()
        {
            TakeReceived();
            s_hostOpen = false;
            s_closed = true;
            if (s_client.Closed != null) s_client.Closed();
        }

        // PORT_NAME carries the name's bytes after the message (QEMU adds a NUL).
        private static bool IsWantedName(byte* name, int length)
        {
            while (length > 0 && name[length - 1] == 0) length--;
            if (length != s_wantedLength) return false;
            for (int i = 0; i < length; i++) if (name[i] != s_wanted.Bytes[i]) return false;
            return true;
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

        private static void PostReceive(int buffer)
        {
            SplitQueue.Buffer b = new SplitQueue.Buffer(VirtioPciDevice.Physical(s_receive + buffer * ReceiveSize), ReceiveSize);
            s_queues[ReceiveQueue(s_port)].TryAddChain(default, new ReadOnlySpan<SplitQueue.Buffer>(&b, 1), (ulong)buffer, out _);
        }

        // Publishes what was added to queue `index` and notifies the device when it asks for it.
        private static void Kick(ushort index)
        {
            if (s_queues[index].NeedsNotify()) VirtioPciDevice.Notify((ushort*)s_notify[index], index);
        }

        private static ushort ReceiveQueue(uint port) => (ushort)(port == 0 ? 0 : 2 * port + 2);

        private static ushort TransmitQueue(uint port) => (ushort)(ReceiveQueue(port) + 1);
    }
}
