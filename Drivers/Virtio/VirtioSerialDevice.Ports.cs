using System;
using Libra.Arch.X64;
using Libra.Diagnostics;
using Libra.Memory;
using Libra.Shims;
using Libra.Threads;
using Libra.Time;

namespace Libra.Drivers.Virtio
{
    // What a port's client does with its byte stream. Every callback runs from the device's poll (the
    // MSI-X handler, the idle loop, the tick, or a caller waiting at boot) with interrupts off, so it
    // must not block: it may wake threads and queue writes with TryWrite.
    internal unsafe struct SerialPortClient
    {
        internal delegate*<byte*, int, void> Receive;     // the next bytes from the host, in order
        internal delegate*<bool, void> OpenChanged;       // the host side opened (true) or closed (false) the port
        internal delegate*<bool> Awaiting;                // (or null) the client waits for bytes: polling goes on
    }

    // One write in flight, in the writer's memory until Done (the device has taken the bytes).
    internal unsafe struct SerialWrite
    {
        internal Thread* Waiter;         // woken when Done is set (null: nobody to wake)
        internal bool Done;
    }

    // The named ports (virtio 1.2 §5.3.6.2 PORT_NAME): the device announces ports with their names,
    // a client claims one by name — before or after its announcement — and only then does the driver
    // open it (PORT_OPEN 1), so QEMU keeps a port nobody claimed closed. Each claimed port has its own
    // receive buffers, its client's callbacks and a transmit path several threads can write to at
    // once: each write is one descriptor chain, and the device takes chains in order, so writes do
    // not interleave.
    internal static unsafe partial class VirtioSerialDevice
    {
        private const int MaxClaims = 4;
        private const int NameMax = 64;
        private const uint NoPort = 0xffffffff;
        // QEMU moves at most 4 KiB per chardev read into the queue (virtio_serial_guest_ready), so
        // page-sized buffers lose nothing; 32 hold two 64 KiB replies.
        private const int ReceiveBuffers = 32, ReceiveSize = 4096;

        private struct NameText { internal fixed byte Bytes[NameMax]; }

        // A port as the device announced it, by port id.
        private struct DevicePort
        {
            internal bool Added, Named, HostOpen;
            internal int NameLength;
            internal NameText Name;
            internal int Claim;          // the claim bound to it, or -1
        }

        // A client's claim on a port name; the handle Claim returns is its index.
        private struct PortClaim
        {
            internal bool InUse;
            internal NameText Name;
            internal int NameLength;
            internal SerialPortClient Client;
            internal uint Port;          // the port it is bound to, or NoPort until the name is announced
            internal byte* Receive;      // ReceiveBuffers pages, physically contiguous
            internal ulong BytesIn, BytesOut, Writes;
        }

        private static DevicePort* s_ports;
        private static PortClaim* s_claims;
        private static uint s_portCount;
        private static int s_writes;                     // writes the device has not finished
        private static PollQueue s_space;                 // writers waiting for room in a transmit queue

        private static bool AllocatePortTables(uint ports)
        {
            s_portCount = ports;
            s_ports = (DevicePort*)KernelHeap.AllocateZeroed((ulong)(ports * sizeof(DevicePort)));
            s_claims = (PortClaim*)KernelHeap.AllocateZeroed((ulong)(MaxClaims * sizeof(PortClaim)));
            if (s_ports == null || s_claims == null) return false;
            for (uint i = 0; i < ports; i++) s_ports[i].Claim = -1;
            return true;
        }

        // Claims the port named `name` for `client`: a handle (≥ 0) for the calls below, or -ENODEV (no
        // device), -EBUSY (the name is claimed already, or no claim is left), -EINVAL (a name too long),
        // -ENOMEM. The port opens when the device has announced it (at once if it has) and the host side
        // is connected; the client hears of that through OpenChanged.
        internal static int Claim(string name, SerialPortClient client)
        {
            if (!Present) return -(int)Errno.ENODEV;
            if (name.Length == 0 || name.Length > NameMax) return -(int)Errno.EINVAL;
            int free = -1;
            for (int i = 0; i < MaxClaims; i++)
            {
                if (!s_claims[i].InUse) { if (free < 0) free = i; continue; }
                if (NameIs(&s_claims[i].Name, s_claims[i].NameLength, name)) return -(int)Errno.EBUSY;
            }
            if (free < 0) return -(int)Errno.EBUSY;
            byte* receive = PhysicalMemory.AllocatePages(ReceiveBuffers * ReceiveSize / Layout.PageSize);
            if (receive == null) return -(int)Errno.ENOMEM;
            PortClaim* claim = &s_claims[free];
            *claim = default;
            claim->InUse = true;
            claim->Client = client;
            claim->Port = NoPort;
            claim->Receive = receive;
            claim->NameLength = name.Length;
            for (int i = 0; i < name.Length; i++) claim->Name.Bytes[i] = (byte)name[i];
            for (uint id = 0; id < s_portCount; id++)
            {
                if (s_ports[id].Named && s_ports[id].Claim < 0 && SameName(&s_ports[id].Name, s_ports[id].NameLength, &claim->Name, claim->NameLength))
                {
                    Bind(free, id);
                    break;
                }
            }
            return free;
        }

        // The port is open both ways: bytes written now reach the host.
        internal static bool IsOpen(int handle)
        {
            if (!ValidHandle(handle)) return false;
            uint port = s_claims[handle].Port;
            return port != NoPort && s_ports[port].HostOpen;
        }

        // Waits (polling, as it serves boot: at most `timeout` ns) until the claimed port is open both
        // ways; false, after a log line, when it is not by then.
        internal static bool WaitOpen(int handle, ulong timeout)
        {
            if (!ValidHandle(handle)) return false;
            PortClaim* claim = &s_claims[handle];
            ulong deadline = Clock.Nanoseconds() + timeout;
            while (!IsOpen(handle) && Clock.Nanoseconds() < deadline)
            {
                // Every port the device announced has its name and none is this one: it will not come.
                if (claim->Port == NoPort && AnnouncementsSettled()) return false;
                Poll();
                if (!IsOpen(handle)) Native.Pause();
            }
            if (IsOpen(handle)) return true;
            KernelLog.Begin(); KernelLog.Write("virtio-serial: no port named '"); KernelLog.WriteAscii(claim->Name.Bytes, claim->NameLength);
            KernelLog.Write(claim->Port == NoPort ? "' appeared" : "' was opened by the host"); KernelLog.Write(" within ");
            KernelLog.Decimal(timeout / 1_000_000); KernelLog.Write(" ms"); KernelLog.End();
            return false;
        }

        // The device has announced ports (QEMU sends every DEVICE_ADD at once, in answer to
        // DEVICE_READY) and each has its name.
        private static bool AnnouncementsSettled()
        {
            bool any = false;
            for (uint id = 0; id < s_portCount; id++)
            {
                if (!s_ports[id].Added) continue;
                if (!s_ports[id].Named) return false;
                any = true;
            }
            return any;
        }

        // Queues `length` bytes at `data` (physically contiguous, left alone until completion->Done) on
        // the port, waiting for room in its transmit queue when it is full: 0, or -EIO when the port is
        // not open or the queue broke. Not from a callback (TryWrite).
        internal static int Write(int handle, byte* data, int length, SerialWrite* completion)
        {
            while (true)
            {
                int result = TryWrite(handle, data, length, completion);
                if (result != -(int)Errno.EAGAIN) return result;
                if (Scheduler.Current == null) { Poll(); Native.Pause(); }
                else s_space.Wait(PollEvents.Any, 0, interruptible: false);
            }
        }

        // As Write, but -EAGAIN instead of waiting when the transmit queue is full (for callbacks).
        internal static int TryWrite(int handle, byte* data, int length, SerialWrite* completion)
        {
            if (!IsOpen(handle) || length <= 0) return -(int)Errno.EIO;
            PortClaim* claim = &s_claims[handle];
            ushort index = TransmitQueue(claim->Port);
            SplitQueue* queue = &s_queues[index];
            if (queue->IsBroken) return -(int)Errno.EIO;
            completion->Done = false;
            SplitQueue.Buffer buffer = new SplitQueue.Buffer(VirtioPciDevice.Physical(data), (uint)length);
            if (!queue->TryAddChain(new ReadOnlySpan<SplitQueue.Buffer>(&buffer, 1), default, (ulong)completion, out _)) return -(int)Errno.EAGAIN;
            s_writes++;
            claim->Writes++;
            claim->BytesOut += (ulong)length;
            Kick(index);
            return 0;
        }

        private static bool ValidHandle(int handle) => Present && handle >= 0 && handle < MaxClaims && s_claims[handle].InUse;

        // DEVICE_ADD: the port exists (its name follows once the driver says PORT_READY).
        private static void PortAdded(uint id)
        {
            if (id >= s_portCount) return;
            s_ports[id].Added = true;
        }

        // PORT_NAME carries the name's bytes after the message (QEMU adds a NUL).
        private static void PortNamed(uint id, byte* name, int length)
        {
            while (length > 0 && name[length - 1] == 0) length--;
            if (length > NameMax) length = NameMax;
            if (id >= s_portCount || !HasQueues(id))
            {
                KernelLog.Begin(); KernelLog.Write("virtio-serial: port "); KernelLog.Decimal(id); KernelLog.Write(" '"); KernelLog.WriteAscii(name, length);
                KernelLog.Write("' is beyond the "); KernelLog.Decimal(s_portCount); KernelLog.Write(" ports set up; it stays closed"); KernelLog.End();
                return;
            }
            DevicePort* port = &s_ports[id];
            if (port->Named) return;
            port->Named = true;
            port->NameLength = length;
            for (int i = 0; i < length; i++) port->Name.Bytes[i] = name[i];
            KernelLog.Begin(); KernelLog.Write("virtio-serial: port "); KernelLog.Decimal(id); KernelLog.Write(" is '");
            KernelLog.WriteAscii(port->Name.Bytes, length); KernelLog.Write("'"); KernelLog.End();
            for (int c = 0; c < MaxClaims; c++)
            {
                if (s_claims[c].InUse && s_claims[c].Port == NoPort && SameName(&s_claims[c].Name, s_claims[c].NameLength, &port->Name, length))
                {
                    Bind(c, id);
                    return;
                }
            }
        }

        // Joins a claim to the port of its name: receive buffers posted, PORT_OPEN sent (virtio 1.2
        // §5.3.6.2: the driver is ready to take the port's data).
        private static void Bind(int claimIndex, uint id)
        {
            PortClaim* claim = &s_claims[claimIndex];
            claim->Port = id;
            s_ports[id].Claim = claimIndex;
            for (int i = 0; i < ReceiveBuffers; i++) PostReceive(claim, i);
            Kick(ReceiveQueue(id));
            SendControl(id, PortOpen, 1);
            KernelLog.Begin(); KernelLog.Write("virtio-serial: port "); KernelLog.Decimal(id); KernelLog.Write(" '");
            KernelLog.WriteAscii(claim->Name.Bytes, claim->NameLength); KernelLog.Write("' claimed, host side ");
            KernelLog.Write(s_ports[id].HostOpen ? "open" : "not yet open"); KernelLog.End();
            if (s_ports[id].HostOpen && claim->Client.OpenChanged != null) claim->Client.OpenChanged(true);
        }

        // PORT_OPEN from the device (or DEVICE_REMOVE, a close): a claimed port's client hears of it,
        // a close only after the bytes received before it.
        private static void HostOpenChanged(uint id, bool open)
        {
            if (id >= s_portCount) return;
            DevicePort* port = &s_ports[id];
            if (port->HostOpen == open) return;
            int claimIndex = port->Claim;
            if (!open && claimIndex >= 0) TakeReceived(&s_claims[claimIndex]);
            port->HostOpen = open;
            if (claimIndex < 0) return;
            PortClaim* claim = &s_claims[claimIndex];
            KernelLog.Begin(); KernelLog.Write(open ? "virtio-serial: the host opened port " : "virtio-serial: the host closed port ");
            KernelLog.Decimal(id); KernelLog.Write(" '"); KernelLog.WriteAscii(claim->Name.Bytes, claim->NameLength); KernelLog.Write("'"); KernelLog.End();
            if (claim->Client.OpenChanged != null) claim->Client.OpenChanged(open);
        }

        private static void TakeReceivedAll()
        {
            for (int c = 0; c < MaxClaims; c++)
                if (s_claims[c].InUse && s_claims[c].Port != NoPort) TakeReceived(&s_claims[c]);
        }

        private static void TakeReceived(PortClaim* claim)
        {
            ushort index = ReceiveQueue(claim->Port);
            SplitQueue* queue = &s_queues[index];
            int taken = 0;
            while (queue->TryTakeUsed(out ulong cookie, out uint length))
            {
                int buffer = (int)cookie;
                claim->BytesIn += length;
                if (length > 0 && claim->Client.Receive != null) claim->Client.Receive(claim->Receive + buffer * ReceiveSize, (int)length);
                PostReceive(claim, buffer);
                taken++;
            }
            if (taken == 0) return;
            // QEMU stops reading the socket only when it holds no buffer, so a notify matters only when
            // few were left; otherwise publishing is enough (and spares QEMU's main loop a wakeup per
            // reply): QEMU's chardev asks virtio_serial_guest_ready again on its next main-loop turn.
            if (ReceiveBuffers - taken < ReceiveBuffers / 4) Kick(index);
            else queue->Publish();
        }

        private static void TakeWrittenAll()
        {
            bool freed = false;
            for (int c = 0; c < MaxClaims; c++)
            {
                if (!s_claims[c].InUse || s_claims[c].Port == NoPort) continue;
                SplitQueue* queue = &s_queues[TransmitQueue(s_claims[c].Port)];
                while (queue->TryTakeUsed(out ulong cookie, out _))
                {
                    var completion = (SerialWrite*)cookie;
                    completion->Done = true;
                    s_writes--;
                    freed = true;
                    if (completion->Waiter != null) Scheduler.Wake(completion->Waiter, WakeReason.Woken);
                }
            }
            if (freed) s_space.Notify(PollEvents.Any);
        }

        // Writes out, or an open port's client waiting for bytes: polling must go on.
        private static bool Outstanding()
        {
            if (s_writes > 0) return true;
            for (int c = 0; c < MaxClaims; c++)
            {
                PortClaim* claim = &s_claims[c];
                if (claim->InUse && claim->Port != NoPort && s_ports[claim->Port].HostOpen && claim->Client.Awaiting != null && claim->Client.Awaiting())
                    return true;
            }
            return false;
        }

        private static void PostReceive(PortClaim* claim, int buffer)
        {
            SplitQueue.Buffer b = new SplitQueue.Buffer(VirtioPciDevice.Physical(claim->Receive + buffer * ReceiveSize), ReceiveSize);
            s_queues[ReceiveQueue(claim->Port)].TryAddChain(default, new ReadOnlySpan<SplitQueue.Buffer>(&b, 1), (ulong)buffer, out _);
        }

        // The device's queues in a state dump: per claimed port, the receive buffers the device holds
        // and the writes it has not finished.
        internal static void Dump()
        {
            if (!Present) return;
            KernelLog.Begin(); KernelLog.Write("dump: virtio-serial "); KernelLog.Decimal((ulong)s_writes); KernelLog.Write(" write(s) unfinished, ");
            KernelLog.Write(s_space.IsEmpty ? "nobody waits for room" : "writers wait for room"); KernelLog.Write(Interrupts ? ", interrupts" : ", polled");
            for (int c = 0; c < MaxClaims; c++)
            {
                PortClaim* claim = &s_claims[c];
                if (!claim->InUse || claim->Port == NoPort) continue;
                SplitQueue* receive = &s_queues[ReceiveQueue(claim->Port)];
                SplitQueue* transmit = &s_queues[TransmitQueue(claim->Port)];
                KernelLog.Write("; '"); KernelLog.WriteAscii(claim->Name.Bytes, claim->NameLength); KernelLog.Write(s_ports[claim->Port].HostOpen ? "' open, " : "' closed, ");
                KernelLog.Decimal((ulong)(receive->Size - receive->FreeCount)); KernelLog.Write(" receive buffers posted, ");
                KernelLog.Decimal((ulong)(transmit->Size - transmit->FreeCount)); KernelLog.Write(" transmit descriptors out");
            }
            KernelLog.End();
        }

        // One line per claimed port, for the exit log: what it carried, and the device's interrupts.
        internal static void Report()
        {
            if (!Present) return;
            KernelLog.Begin(); KernelLog.Write("virtio-serial: "); KernelLog.Decimal(InterruptsTaken); KernelLog.Write(" completion interrupts");
            for (int c = 0; c < MaxClaims; c++)
            {
                PortClaim* claim = &s_claims[c];
                if (!claim->InUse) continue;
                KernelLog.Write("; '"); KernelLog.WriteAscii(claim->Name.Bytes, claim->NameLength); KernelLog.Write("' ");
                KernelLog.Decimal(claim->BytesIn); KernelLog.Write(" bytes in, "); KernelLog.Decimal(claim->BytesOut);
                KernelLog.Write(" bytes out in "); KernelLog.Decimal(claim->Writes); KernelLog.Write(" writes");
            }
            KernelLog.End();
        }

        private static bool NameIs(NameText* text, int length, string name)
        {
            if (length != name.Length) return false;
            for (int i = 0; i < length; i++) if (text->Bytes[i] != (byte)name[i]) return false;
            return true;
        }

        private static bool SameName(NameText* a, int aLength, NameText* b, int bLength)
        {
            if (aLength != bLength) return false;
            for (int i = 0; i < aLength; i++) if (a->Bytes[i] != b->Bytes[i]) return false;
            return true;
        }
    }
}
