using System;
using Libra.Diagnostics;
using Libra.Drivers.Virtio;
using Libra.Memory;
using Libra.Threads;
using Libra.Time;

namespace Libra.Shims.Net
{
    // The guest's end of the Side protocol (docs/side-protocol.md) on the virtio-serial port
    // "libra.net": HELLO when the port opens, requests that wait for their REPLY (BIND, LISTEN),
    // one-way frames, and the Side's pushes dispatched to the sockets they name. Pushes arrive from
    // the port's receive callback (interrupts off, never blocking); calls run in the threads.
    internal static unsafe class NetworkLink
    {
        internal const string PortName = "libra.net";
        internal const uint RxWindow = 256 * 1024;
        private const int FrameCapacity = SideProtocol.MaxFrame;
        private const int FramePages = (FrameCapacity + 4095) / 4096;
        private const int TxBuffers = 8;
        private const int Buckets = 1024;
        private const ulong ReadyTimeout = 3_000_000_000;

        private static FrameStream s_frames;
        private static FrameCall s_inbox;
        private static int s_port = -1;
        private static bool s_ready, s_present;
        private static uint s_helloTag;
        private static SideHelloReply s_terms;
        private static uint s_nextId = 1, s_nextTag = 1;
        private static byte* s_helloFrame;
        private static SerialWrite s_helloWrite;
        // Threads waiting for the session or for a transmit buffer.
        private static PollQueue s_waiters;
        private struct Pointers { internal fixed ulong Items[TxBuffers]; }
        private static Pointers s_txBuffers;
        private static uint s_txBusy;
        // Each transmit buffer's completion. A write the device has not taken when the link goes down
        // may never be taken (QEMU holds a port whose host end is gone), so its sender stops waiting
        // and the buffer stays out ("stranded") until the device gives it back, if ever.
        private static SerialWrite* s_txWrites;
        private static uint s_txStranded;
        private static uint s_linkGeneration;
        private struct Table { internal fixed ulong Heads[Buckets]; }
        private static Table s_sockets;
        private static bool s_reportedUnknown;

        internal static bool Ready => s_ready;

        // libra.side_batching=off: CREDIT after every read, and HELLO asks the Side for TX_CREDIT as
        // soon as any is due and one write per frame (bench/README.md, the specialisations).
        internal static bool Batching = true;

        // The consumed bytes that make a CREDIT worth sending: a quarter of the window, or any.
        internal static uint CreditThreshold => Batching ? RxWindow / 4 : 1;

        private static uint s_live;
        private static ulong s_heapAtLink;
        internal static SideHelloReply Terms => s_terms;

        // At boot, once virtio-serial is probed: claims the port when the machine has one (run
        // -Publish or -Net). Without it, AF_INET and AF_INET6 answer EAFNOSUPPORT.
        internal static void Start()
        {
            if (!VirtioSerialDevice.Present) return;
            s_inbox.Buffer = PhysicalMemory.AllocatePages(FramePages);
            s_inbox.Capacity = FrameCapacity;
            s_helloFrame = PhysicalMemory.AllocatePages(1);
            for (int i = 0; i < TxBuffers; i++) s_txBuffers.Items[i] = (ulong)PhysicalMemory.AllocatePages(FramePages);
            s_txWrites = (SerialWrite*)KernelHeap.AllocateZeroed((ulong)(TxBuffers * sizeof(SerialWrite)));
            NewStream();
            var client = new SerialPortClient { Receive = &Receive, OpenChanged = &OpenChanged, Awaiting = &Awaiting };
            s_port = VirtioSerialDevice.Claim(PortName, client);
            s_present = s_port >= 0;
            // A port announced and open already was reported open inside Claim, before the handle existed.
            if (s_present && VirtioSerialDevice.IsOpen(s_port)) SendHello();
        }

        private static void NewStream()
        {
            s_frames = new FrameStream(new FrameFormat(SideProtocol.HeaderSize, SideProtocol.HeaderSize, SideProtocol.MaxFrame, 12, 4), &Completed);
            fixed (FrameCall* inbox = &s_inbox) s_frames.SetInbox(inbox);
        }

        // Waits (at most 3 s: the Side starts before QEMU) for the session; 0, or -EAFNOSUPPORT when
        // the machine has no network port, -ENETDOWN when the Side does not answer.
        internal static long WaitReady()
        {
            if (!s_present) return -Errno.EAFNOSUPPORT;
            ulong deadline = Clock.Nanoseconds() + ReadyTimeout;
            while (!s_ready)
            {
                if (Clock.Nanoseconds() >= deadline) return -Errno.ENETDOWN;
                if (s_waiters.Wait(PollEvents.Any, deadline) == WakeReason.Interrupted) return -Errno.ERESTARTSYS;
            }
            return 0;
        }

        internal static uint NewId() => s_nextId++;

        private static uint NewTag()
        {
            uint tag = s_nextTag++;
            if (s_nextTag == 0) s_nextTag = 1;
            return tag;
        }

        // ---- the socket table: id → InetSocket ----

        internal static void Add(InetSocket* socket)
        {
            ulong* head = &((ulong*)Heads())[socket->Id % Buckets];
            socket->NextInBucket = (InetSocket*)*head;
            *head = (ulong)socket;
            s_live++;
        }

        internal static void Remove(InetSocket* socket)
        {
            InetSocket** link = (InetSocket**)&((ulong*)Heads())[socket->Id % Buckets];
            while (*link != null && *link != socket) link = &(*link)->NextInBucket;
            if (*link == socket) { *link = socket->NextInBucket; s_live--; }
        }

        internal static InetSocket* Find(uint id)
        {
            for (InetSocket* s = Bucket(id % Buckets); s != null; s = s->NextInBucket)
                if (s->Id == id) return s;
            return null;
        }

        // The first socket of a hash bucket.
        private static InetSocket* Bucket(uint index) => (InetSocket*)Heads()[index];

        private static ulong* Heads()
        {
            fixed (Table* table = &s_sockets) return table->Heads;
        }

        // ---- sending ----

        // A transmit buffer (a whole frame's worth of contiguous pages), waiting for one when all are busy.
        internal static byte* TakeBuffer()
        {
            while (true)
            {
                for (int i = 0; i < TxBuffers; i++)
                {
                    if ((s_txStranded & (1u << i)) != 0 && WriteOf(i)->Done) { s_txStranded &= ~(1u << i); s_txBusy &= ~(1u << i); }
                    if ((s_txBusy & (1u << i)) != 0) continue;
                    s_txBusy |= 1u << i;
                    return (byte*)s_txBuffers.Items[i];
                }
                s_waiters.Wait(PollEvents.Any, 0, interruptible: false);
            }
        }

        internal static void ReturnBuffer(byte* buffer)
        {
            int index = IndexOf(buffer);
            if (index >= 0) s_txBusy &= ~(1u << index);
            s_waiters.Notify(PollEvents.Any);
        }

        private static SerialWrite* WriteOf(int buffer) => &s_txWrites[buffer];

        private static int IndexOf(byte* buffer)
        {
            for (int i = 0; i < TxBuffers; i++)
                if ((byte*)s_txBuffers.Items[i] == buffer) return i;
            return -1;
        }

        // Sends a frame built in a TakeBuffer buffer, waits until the device has taken it, and
        // returns the buffer: 0, or -ECONNRESET when the link is down or goes down meanwhile.
        internal static long SendFrame(byte* frame, int length)
        {
            if (length < 0) { ReturnBuffer(frame); return -Errno.EMSGSIZE; }
            if (SystemCalls.Trace) { KernelLog.Begin(); KernelLog.Write("side: sending "); KernelLog.Hex(*(ushort*)(frame + 4), 2); KernelLog.Write(" for "); KernelLog.Decimal(*(uint*)(frame + 8)); KernelLog.Write(" length "); KernelLog.Decimal((ulong)length); KernelLog.Write(" header length "); KernelLog.Decimal(*(uint*)frame); KernelLog.End(); }
            Diagnostics.CostCounters.SideFramesOut++;
            int index = IndexOf(frame);
            SerialWrite* write = WriteOf(index);
            *write = default;
            write->Waiter = Scheduler.Current;
            uint generation = s_linkGeneration;
            int error = s_ready ? VirtioSerialDevice.Write(s_port, frame, length, write) : -(int)Errno.EIO;
            while (error == 0 && !write->Done)
            {
                if (generation != s_linkGeneration)
                {
                    write->Waiter = null;
                    s_txStranded |= 1u << index;
                    return -Errno.ECONNRESET;
                }
                VirtioSerialDevice.Await(0);
            }
            ReturnBuffer(frame);
            return error == 0 ? 0 : -Errno.ECONNRESET;
        }

        // A request: sends the frame (tag `tag`, built in a TakeBuffer buffer) and waits for its REPLY;
        // the REPLY's errno as -errno (0 on success), its result copied into `result` (up to `capacity`
        // bytes, *resultLength set), or -ECONNRESET when the link goes down meanwhile.
        internal static long Request(byte* frame, int length, uint tag, byte* result, int capacity, int* resultLength)
        {
            byte* reply = TakeBuffer();
            FrameCall call = default;
            call.Tag = tag;
            call.Buffer = reply;
            call.Capacity = FrameCapacity;
            call.Waiter = Scheduler.Current;
            if (!s_frames.Register(&call)) { ReturnBuffer(reply); ReturnBuffer(frame); return -Errno.ECONNRESET; }
            long error = SendFrame(frame, length);
            if (error != 0) { s_frames.Cancel(&call); ReturnBuffer(reply); return error; }
            while (!call.Done) VirtioSerialDevice.Await(0);
            long status = -Errno.ECONNRESET;
            if (call.Result > 0 && SideProtocol.Parse(new ReadOnlySpan<byte>(reply, call.Result), out SideHeader header, out ReadOnlySpan<byte> payload) == 0 &&
                header.Type == SideType.Reply && SideCodec.DecodeReply(payload, out int errno, out ReadOnlySpan<byte> bytes) == 0)
            {
                status = -errno;
                int n = bytes.Length < capacity ? bytes.Length : capacity;
                for (int i = 0; i < n; i++) result[i] = bytes[i];
                if (resultLength != null) *resultLength = n;
            }
            ReturnBuffer(reply);
            return status;
        }

        internal static uint RequestTag() => NewTag();

        // ---- the port's callbacks (interrupts off) ----

        private static void Receive(byte* data, int count)
        {
            s_frames.Receive(data, count);
            if (s_frames.IsBroken)
            {
                KernelLog.Begin(); KernelLog.Write("side: the link's frames are out of step (size field ");
                KernelLog.Decimal(s_frames.ProblemValue); KernelLog.Write("): every socket is reset"); KernelLog.End();
                LinkDown();
            }
        }

        private static void OpenChanged(bool open)
        {
            if (!open)
            {
                if (s_ready) { KernelLog.Begin(); KernelLog.Write("side: the link to the Side daemon closed: every socket is reset"); KernelLog.End(); }
                LinkDown();
                return;
            }
            if (s_port >= 0) SendHello();
        }

        // HELLO from a callback: the write may not wait, so it goes with TryWrite from its own page.
        private static void SendHello()
        {
            NewStream();
            s_helloTag = NewTag();
            var hello = new SideHello { Version = SideProtocol.Version, MaxPayload = SideProtocol.MaxPayload, RxWindow = RxWindow,
                Flags = Batching ? (ushort)0 : SideProtocol.HelloUnbatched };
            int length = SideCodec.Hello(new Span<byte>(s_helloFrame, 4096), s_helloTag, in hello);
            fixed (SerialWrite* write = &s_helloWrite)
                if (VirtioSerialDevice.TryWrite(s_port, s_helloFrame, length, write) != 0)
                {
                    KernelLog.Begin(); KernelLog.Write("side: HELLO could not be sent"); KernelLog.End();
                }
        }

        // The link is gone: every socket gets ECONNRESET with hangup (docs/side-protocol.md, session rules).
        private static void LinkDown()
        {
            s_ready = false;
            s_linkGeneration++;
            for (int i = 0; i < TxBuffers; i++)
            {
                SerialWrite* write = WriteOf(i);
                if ((s_txBusy & (1u << i)) != 0 && !write->Done && write->Waiter != null) Scheduler.Wake(write->Waiter, WakeReason.Woken);
            }
            s_frames.Close();
            for (int b = 0; b < Buckets; b++)
                for (InetSocket* s = Bucket((uint)b); s != null; s = s->NextInBucket)
                {
                    if (s->Datagrams != null) InetDatagrams.OnLinkDown(s);
                    else InetSockets.Notify(s, s->State.OnError((int)Errno.ECONNRESET, SideProtocol.ErrorReset | SideProtocol.ErrorHangup));
                }
            s_waiters.Notify(PollEvents.Any);
        }

        // At exit: what the link carried and what the sockets still hold (memory follows open sockets).
        internal static void Report()
        {
            if (s_port < 0) return;
            ulong blocks = 0;
            for (int b = 0; b < Buckets; b++)
                for (InetSocket* s = Bucket((uint)b); s != null; s = s->NextInBucket) blocks += s->State.RxBlocks;
            KernelLog.Begin(); KernelLog.Write("side: "); KernelLog.Decimal(Diagnostics.CostCounters.SideFramesOut); KernelLog.Write(" frames out, "); KernelLog.Decimal(Diagnostics.CostCounters.SideFramesIn);
            KernelLog.Write(" in; "); KernelLog.Decimal(s_live); KernelLog.Write(" socket(s) open at exit holding "); KernelLog.Decimal(blocks);
            KernelLog.Write(" receive block(s); kernel heap "); KernelLog.Decimal(KernelHeap.BytesInUse / 1024); KernelLog.Write(" KiB in use, ");
            KernelLog.Decimal(s_heapAtLink / 1024); KernelLog.Write(" KiB when the link came up, peak "); KernelLog.Decimal(KernelHeap.PeakBytes / 1024);
            KernelLog.Write(" KiB"); KernelLog.End();
            if (InetSockets.ProtocolBreaks > 0)
            {
                KernelLog.Begin(); KernelLog.Write("side: "); KernelLog.Decimal(InetSockets.ProtocolBreaks); KernelLog.Write(" frame(s) broke the protocol and were dropped"); KernelLog.End();
            }
        }

        // The link and every socket, for a state dump (Diagnostics/StateDump.cs).
        internal static void Dump()
        {
            if (s_port < 0) return;
            KernelLog.Begin(); KernelLog.Write("dump: side link "); KernelLog.Write(s_ready ? "up" : "down"); KernelLog.Write(", generation "); KernelLog.Decimal(s_linkGeneration);
            KernelLog.Write(", transmit buffers busy "); KernelLog.Hex(s_txBusy, 4); KernelLog.Write(", stranded "); KernelLog.Hex(s_txStranded, 4);
            KernelLog.Write(", calls awaiting a reply "); KernelLog.Decimal((ulong)s_frames.Waiting); KernelLog.Write(", partial frame bytes "); KernelLog.Decimal(s_frames.PartialFrameBytes);
            if (s_frames.IsBroken) KernelLog.Write(", stream broken");
            KernelLog.Write(s_waiters.IsEmpty ? ", nobody waits for a buffer" : ", threads wait for a buffer or the session");
            KernelLog.Write("; "); KernelLog.Decimal(s_live); KernelLog.Write(" socket(s)"); KernelLog.End();
            for (int b = 0; b < Buckets; b++)
                for (InetSocket* s = Bucket((uint)b); s != null; s = s->NextInBucket) InetSockets.Describe(s);
            GuestLoopbacks.Dump();
        }

        private static bool Awaiting() => s_frames.Waiting > 0;

        private static void Completed(FrameCall* call)
        {
            Diagnostics.CostCounters.SideFramesIn++;
            fixed (FrameCall* inbox = &s_inbox)
                if (call != inbox)
                {
                    if (call->Waiter != null) Scheduler.Wake((Thread*)call->Waiter, WakeReason.Woken);
                    return;
                }
            if (s_inbox.Result > 0) Dispatch(new ReadOnlySpan<byte>(s_inbox.Buffer, s_inbox.Result));
        }

        // One pushed frame: REPLY to HELLO, or a fact about a socket.
        private static void Dispatch(ReadOnlySpan<byte> frame)
        {
            if (SideProtocol.Parse(frame, out SideHeader header, out ReadOnlySpan<byte> payload) != 0) return;
            if (SideCodec.CheckHeader(in header, fromGuest: false) != 0) return;
            if (header.Type == SideType.Reply)
            {
                if (header.Tag != s_helloTag || s_ready) return;
                if (SideCodec.DecodeReply(payload, out int errno, out ReadOnlySpan<byte> result) != 0 || errno != 0 ||
                    SideCodec.DecodeHelloReply(result, out s_terms) != 0)
                {
                    KernelLog.Begin(); KernelLog.Write("side: HELLO was refused"); KernelLog.End();
                    return;
                }
                s_ready = true;
                if ((s_terms.Capabilities & SideProtocol.CapNameServer) != 0) BootMounts.NameServer(SideProtocol.NameServerText);
                s_heapAtLink = KernelHeap.BytesInUse;
                KernelLog.Begin(); KernelLog.Write("side: linked to the Side daemon (tx window "); KernelLog.Decimal(s_terms.TxWindow / 1024);
                KernelLog.Write(" KiB, capabilities "); KernelLog.Hex(s_terms.Capabilities, 2); KernelLog.Write(")"); KernelLog.End();
                s_waiters.Notify(PollEvents.Any);
                return;
            }
            if (SystemCalls.Trace) { KernelLog.Begin(); KernelLog.Write("side: frame "); KernelLog.Hex((ushort)header.Type, 2); KernelLog.Write(" for "); KernelLog.Decimal(header.Socket); KernelLog.Write(" length "); KernelLog.Decimal(header.Length); KernelLog.End(); }
            InetSocket* socket = Find(header.Socket);
            if (socket == null)
            {
                // Frames for an id the guest closed may still come (CLOSED always does): dropped
                // quietly. Only an id nobody ever issued is worth a line.
                bool neverIssued = header.Socket >= s_nextId && header.Socket < SideProtocol.FirstSideId;
                if (neverIssued && !s_reportedUnknown)
                {
                    s_reportedUnknown = true;
                    KernelLog.Begin(); KernelLog.Write("side: a frame for unknown socket "); KernelLog.Decimal(header.Socket); KernelLog.Write(" is dropped (logged once)"); KernelLog.End();
                }
                return;
            }
            InetSockets.OnFrame(socket, in header, payload);
        }
    }
}
