using Libra.Arch.X64;
using Libra.Diagnostics;
using Libra.Drivers.Virtio;
using Libra.Memory;
using Libra.Threads;
using Libra.Time;

namespace Libra.Shims.NineP
{
    // NinePClient's transport over a byte stream: the virtio-serial port "libra.9p", which QEMU joins
    // to a 9P server's socket (diod). A call writes its T-message to the port and waits until
    // NinePStream has put the R-message with its tag in the call's reply buffer; replies for other
    // tags go to their own callers, so calls from many threads are in flight at once.
    internal static unsafe class NinePStreamTransport
    {
        internal const string PortName = "libra.9p";

        private static NinePStream s_stream;

        // libra.9p.timeout_ms: how long a call waits for its reply before it is given up with Tflush
        // (0, the default: forever, as Linux's v9fs waits).
        internal static ulong TimeoutNanoseconds;
        // A flush's own tag: the client's tags stay below 0x8000 (NinePTags.Capacity).
        private const ushort FlushTagBit = 0x8000;
        // How long the server has to answer the Tflush before the stream is declared dead.
        private const ulong FlushGraceNanoseconds = 5_000_000_000;

        // Opens the port; false when there is no virtio-serial device or no such port.
        internal static bool Connect()
        {
            s_stream = new NinePStream(NinePClient.ProposedMsize, &Completed);
            var client = new VirtioSerialDevice.PortClient { Receive = &Receive, Closed = &Closed, Awaiting = &Awaiting };
            return VirtioSerialDevice.Probe(PortName, client);
        }

        // NinePClient.Transport.Transact: the reply's length, or -EIO when the stream broke.
        internal static int Transact(byte* request, int length, byte* reply, int capacity)
        {
            NinePStreamCall call = default;
            call.Tag = *(ushort*)(request + 5);
            call.Reply = reply;
            call.Capacity = capacity;
            call.Waiter = Scheduler.Current;
            if (!s_stream.Register(&call))
            {
                if (!s_stream.IsBroken)
                {
                    KernelLog.Begin(); KernelLog.Write("9p stream: a second call on tag "); KernelLog.Decimal(call.Tag); KernelLog.Write(" fails with EIO"); KernelLog.End();
                }
                return -(int)Errno.EIO;
            }
            VirtioSerialDevice.PortWrite write = default;
            write.Waiter = Scheduler.Current;
            int error = VirtioSerialDevice.StartWrite(request, length, &write);
            if (error != 0)
            {
                s_stream.Cancel(&call);
                return error;
            }
            // The request buffer stays the device's until the write is done, even when the reply is in.
            ulong deadline = TimeoutNanoseconds == 0 ? 0 : Clock.Nanoseconds() + TimeoutNanoseconds;
            while (!call.Done || !write.Done)
            {
                VirtioSerialDevice.Poll();
                if (call.Done && write.Done) break;
                if (call.Waiter == null) { Native.Pause(); continue; }      // no thread yet (boot): spin
                if (Scheduler.Block(call.Done ? 0 : deadline) == WakeReason.TimedOut && !call.Done) GiveUp(&call, request[4]);
            }
            return call.Result;
        }

        // The server has not answered in time: Tflush the call (9P2000.L flush(5)). If the reply
        // comes before the Rflush it stands; otherwise the call fails with EIO. A server that does not
        // answer the flush either is gone: the stream fails every call from then on.
        private static void GiveUp(NinePStreamCall* call, byte requestType)
        {
            byte* message = (byte*)KernelHeap.AllocateZeroed(64);
            *(uint*)message = 9;
            message[4] = (byte)NinePType.Tflush;
            *(ushort*)(message + 5) = (ushort)(FlushTagBit | call->Tag);
            *(ushort*)(message + 7) = call->Tag;
            NinePStreamCall flush = default;
            flush.Tag = (ushort)(FlushTagBit | call->Tag);
            flush.Reply = message + 16;
            flush.Capacity = 48;
            flush.Waiter = Scheduler.Current;
            VirtioSerialDevice.PortWrite write = default;
            write.Waiter = Scheduler.Current;
            bool sent = s_stream.Register(&flush) && VirtioSerialDevice.StartWrite(message, 9, &write) == 0;
            ulong deadline = Clock.Nanoseconds() + FlushGraceNanoseconds;
            while (sent && (!flush.Done || !write.Done))
            {
                VirtioSerialDevice.Poll();
                if (flush.Done && write.Done) break;
                if (Scheduler.Block(flush.Done ? 0 : deadline) == WakeReason.TimedOut && !flush.Done) break;
            }
            KernelLog.Begin(); KernelLog.Write("9p stream: no reply to message type "); KernelLog.Decimal(requestType);
            KernelLog.Write(" (tag "); KernelLog.Decimal(call->Tag); KernelLog.Write(") within "); KernelLog.Decimal(TimeoutNanoseconds / 1_000_000);
            if (call->Done) KernelLog.Write(" ms; flushed, but the reply came first and stands");
            else if (sent && flush.Done)
            {
                KernelLog.Write(" ms; flushed, the call fails with EIO");
                s_stream.Cancel(call);
                call->Result = -(int)Errno.EIO;
                call->Done = true;
            }
            else
            {
                KernelLog.Write(" ms, nor to its flush: the server is gone; file calls fail with EIO");
                if (sent && !flush.Done) s_stream.Cancel(&flush);
                s_stream.Fail(-(int)Errno.EIO);
            }
            KernelLog.End();
            // The flush's buffer stays the device's until its write is done.
            while (sent && !write.Done) { VirtioSerialDevice.Poll(); if (!write.Done) Scheduler.Block(0); }
            KernelHeap.Free(message);
        }

        private static void Receive(byte* data, int count)
        {
            s_stream.Receive(data, count);
            Report();
        }

        private static void Closed()
        {
            s_stream.Close();
            Report();
        }

        private static bool Awaiting() => s_stream.Waiting > 0;

        private static void Completed(NinePStreamCall* call)
        {
            if (call->Waiter != null) Scheduler.Wake((Thread*)call->Waiter, WakeReason.Woken);
        }

        // One line for what the stream found wrong.
        private static void Report()
        {
            NinePStreamProblem problem = s_stream.TakeProblem(out uint value);
            if (problem == NinePStreamProblem.None) return;
            KernelLog.Begin(); KernelLog.Write("9p stream: ");
            switch (problem)
            {
                case NinePStreamProblem.UnknownTag:
                    KernelLog.Write("a reply for tag "); KernelLog.Decimal(value); KernelLog.Write(", which no call waits for, was dropped");
                    break;
                case NinePStreamProblem.BadSize:
                    KernelLog.Write("a reply's size field is "); KernelLog.Decimal(value); KernelLog.Write(" (not a frame of 7 bytes to 16 MiB): the stream is out of step; waiting and later calls fail with EIO");
                    break;
                case NinePStreamProblem.Oversized:
                    KernelLog.Write("a reply of "); KernelLog.Decimal(value); KernelLog.Write(" bytes is larger than its call's buffer: skipped, that call fails with EIO");
                    break;
                case NinePStreamProblem.ClosedMidFrame:
                    KernelLog.Write("the server closed the stream "); KernelLog.Decimal(value); KernelLog.Write(" bytes into a reply; waiting and later calls fail with EIO");
                    break;
                case NinePStreamProblem.Closed:
                    KernelLog.Write("the server closed the stream with "); KernelLog.Decimal(value); KernelLog.Write(" call(s) waiting; they and later calls fail with EIO");
                    break;
            }
            KernelLog.End();
        }
    }
}
