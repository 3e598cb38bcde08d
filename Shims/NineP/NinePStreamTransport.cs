using Libra.Diagnostics;
using Libra.Drivers.Virtio;
using Libra.Memory;
using Libra.Threads;
using Libra.Time;

namespace Libra.Shims.NineP
{
    // NinePClient's transport over a byte stream: the virtio-serial port "libra.9p", which QEMU joins
    // to a 9P server's socket (diod). A call writes its T-message to the port and sleeps until the
    // FrameStream (9P's framing: NinePStream.Format) has put the R-message with its tag in the call's
    // reply buffer and woken it; replies for other tags go to their own callers, so calls from many
    // threads are in flight at once.
    internal static unsafe class NinePStreamTransport
    {
        internal const string PortName = "libra.9p";

        private static FrameStream s_stream;
        private static int s_port = -1;
        // How long the mount waits for the port to be announced and opened by the host.
        private const ulong OpenTimeoutNanoseconds = 2_000_000_000;

        // libra.9p.timeout_ms: how long a call waits for its reply before it is given up with Tflush
        // (0, the default: forever, as Linux's v9fs waits).
        internal static ulong TimeoutNanoseconds;
        // A flush's own tag: the client's tags stay below 0x8000 (NinePTags.Capacity).
        private const ushort FlushTagBit = 0x8000;
        // How long the server has to answer the Tflush before the stream is declared dead.
        private const ulong FlushGraceNanoseconds = 5_000_000_000;

        // Claims and opens the port; false when there is no virtio-serial device or no such port.
        internal static bool Connect()
        {
            s_stream = new FrameStream(NinePStream.Format, &Completed);
            var client = new SerialPortClient { Receive = &Receive, OpenChanged = &OpenChanged, Awaiting = &Awaiting };
            s_port = VirtioSerialDevice.Claim(PortName, client);
            return s_port >= 0 && VirtioSerialDevice.WaitOpen(s_port, OpenTimeoutNanoseconds);
        }

        // NinePClient.Transport.Transact: the reply's length, or -EIO when the stream broke.
        internal static int Transact(void* context, byte* request, int length, byte* reply, int capacity)
        {
            FrameCall call = default;
            call.Tag = *(ushort*)(request + 5);
            call.Buffer = reply;
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
            // The reply wakes the caller; the write's completion (which nearly always comes first)
            // needs to only when the reply is in before it.
            SerialWrite write = default;
            int error = VirtioSerialDevice.Write(s_port, request, length, &write);
            if (error != 0)
            {
                s_stream.Cancel(&call);
                return error;
            }
            // The request buffer stays the device's until the write is done, even when the reply is in.
            // At boot (no thread yet) the call is never given up.
            ulong deadline = TimeoutNanoseconds == 0 || call.Waiter == null ? 0 : Clock.Nanoseconds() + TimeoutNanoseconds;
            while (!call.Done || !write.Done)
            {
                if (call.Done) write.Waiter = Scheduler.Current;
                if (VirtioSerialDevice.Await(call.Done ? 0 : deadline) == WakeReason.TimedOut && !call.Done) GiveUp(&call, request[4]);
            }
            return call.Result;
        }

        // The server has not answered in time: Tflush the call (9P2000.L flush(5)). If the reply
        // comes before the Rflush it stands; otherwise the call fails with EIO. A server that does not
        // answer the flush either is gone: the stream fails every call from then on.
        private static void GiveUp(FrameCall* call, byte requestType)
        {
            byte* message = (byte*)KernelHeap.AllocateZeroed(64);
            *(uint*)message = 9;
            message[4] = (byte)NinePType.Tflush;
            *(ushort*)(message + 5) = (ushort)(FlushTagBit | call->Tag);
            *(ushort*)(message + 7) = (ushort)call->Tag;
            FrameCall flush = default;
            flush.Tag = (ushort)(FlushTagBit | call->Tag);
            flush.Buffer = message + 16;
            flush.Capacity = 48;
            flush.Waiter = Scheduler.Current;
            SerialWrite write = default;
            write.Waiter = Scheduler.Current;
            bool sent = s_stream.Register(&flush);
            if (sent && VirtioSerialDevice.Write(s_port, message, 9, &write) != 0)
            {
                s_stream.Cancel(&flush);
                sent = false;
            }
            ulong deadline = Clock.Nanoseconds() + FlushGraceNanoseconds;
            while (sent && (!flush.Done || !write.Done))
            {
                if (VirtioSerialDevice.Await(flush.Done ? 0 : deadline) == WakeReason.TimedOut && !flush.Done) break;
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
                s_stream.Cancel(&flush);
                s_stream.Fail(-(int)Errno.EIO);
            }
            KernelLog.End();
            // A flush still unanswered (the reply beat it, or the server is gone) must not stay in
            // the stream's list: it lives on this stack (a later Register would walk into it).
            if (sent && !flush.Done) s_stream.Cancel(&flush);
            // The flush's buffer stays the device's until its write is done.
            while (sent && !write.Done) VirtioSerialDevice.Await(0);
            KernelHeap.Free(message);
        }

        private static void Receive(byte* data, int count)
        {
            s_stream.Receive(data, count);
            Report();
        }

        // The server's end cannot come back into step with the calls made before: a close is final.
        private static void OpenChanged(bool open)
        {
            if (open) return;
            s_stream.Close();
            Report();
        }

        private static bool Awaiting() => s_stream.Waiting > 0;

        private static void Completed(FrameCall* call)
        {
            if (call->Waiter != null) Scheduler.Wake((Thread*)call->Waiter, WakeReason.Woken);
        }

        // One line for what the stream found wrong.
        private static void Report()
        {
            FrameStreamProblem problem = s_stream.TakeProblem(out uint value);
            if (problem == FrameStreamProblem.None) return;
            KernelLog.Begin(); KernelLog.Write("9p stream: ");
            switch (problem)
            {
                case FrameStreamProblem.UnknownTag:
                    KernelLog.Write("a reply for tag "); KernelLog.Decimal(value); KernelLog.Write(", which no call waits for, was dropped");
                    break;
                case FrameStreamProblem.BadSize:
                    KernelLog.Write("a reply's size field is "); KernelLog.Decimal(value); KernelLog.Write(" (not a frame of 7 bytes to 16 MiB): the stream is out of step; waiting and later calls fail with EIO");
                    break;
                case FrameStreamProblem.Oversized:
                    KernelLog.Write("a reply of "); KernelLog.Decimal(value); KernelLog.Write(" bytes is larger than its call's buffer: skipped, that call fails with EIO");
                    break;
                case FrameStreamProblem.ClosedMidFrame:
                    KernelLog.Write("the server closed the stream "); KernelLog.Decimal(value); KernelLog.Write(" bytes into a reply; waiting and later calls fail with EIO");
                    break;
                case FrameStreamProblem.Closed:
                    KernelLog.Write("the server closed the stream with "); KernelLog.Decimal(value); KernelLog.Write(" call(s) waiting; they and later calls fail with EIO");
                    break;
            }
            KernelLog.End();
        }
    }
}
