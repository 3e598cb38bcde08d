using Libra.Arch.X64;
using Libra.Diagnostics;
using Libra.Drivers.Virtio;
using Libra.Memory;
using Libra.Shims;

namespace Libra
{
    // libra.selftest=serial-echo: a second client of virtio-serial beside the 9P port, for the boot
    // tests. It claims the port "libra.echo", cuts what arrives into frames of the Side protocol's
    // framing (sockets.md §3.2: u32 length including a 16-byte header, 16 to 16+65536 bytes) with
    // the same FrameStream 9P uses, and writes each frame back from the receive callback, without
    // blocking: a frame that finds every echo buffer still in flight is dropped and counted.
    internal static unsafe class SerialEcho
    {
        internal const string PortName = "libra.echo";
        private const int HeaderSize = 16;
        private const uint MaxFrame = HeaderSize + 65536;
        private const int Slots = 8;
        private const ulong SlotPages = (MaxFrame + Layout.PageSize - 1) / Layout.PageSize;

        private static FrameStream s_stream;
        private static FrameCall* s_inbox;
        private static byte* s_echoes;                   // Slots buffers of SlotPages pages
        private static SerialWrite* s_writes;            // one per buffer; Done while the buffer is free
        private static int s_port = -1;
        private static ulong s_echoed, s_dropped;

        // Claims the port (it opens when the device announces it); a log line when it cannot.
        internal static void Start()
        {
            s_inbox = (FrameCall*)KernelHeap.AllocateZeroed((ulong)sizeof(FrameCall));
            s_writes = (SerialWrite*)KernelHeap.AllocateZeroed((ulong)(Slots * sizeof(SerialWrite)));
            s_echoes = PhysicalMemory.AllocatePages(Slots * SlotPages);
            byte* inboxBuffer = PhysicalMemory.AllocatePages(SlotPages);
            if (s_inbox == null || s_writes == null || s_echoes == null || inboxBuffer == null)
            {
                KernelLog.Line("serial-echo: out of memory");
                return;
            }
            for (int i = 0; i < Slots; i++) s_writes[i].Done = true;
            s_inbox->Buffer = inboxBuffer;
            s_inbox->Capacity = (int)MaxFrame;
            s_stream = new FrameStream(new FrameFormat(HeaderSize, HeaderSize, MaxFrame, tagOffset: 12, tagBytes: 4), &Echo);
            s_stream.SetInbox(s_inbox);
            var client = new SerialPortClient { Receive = &Receive, OpenChanged = &OpenChanged };
            s_port = VirtioSerialDevice.Claim(PortName, client);
            if (s_port < 0)
            {
                KernelLog.Begin(); KernelLog.Write("serial-echo: cannot claim '"); KernelLog.Write(PortName); KernelLog.Write("': ");
                KernelLog.Write(Errno.Name(-s_port)); KernelLog.End();
            }
        }

        private static void Receive(byte* data, int count)
        {
            s_stream.Receive(data, count);
            if (s_stream.TakeProblem(out uint value) != FrameStreamProblem.BadSize) return;
            KernelLog.Begin(); KernelLog.Write("serial-echo: a frame's size field is "); KernelLog.Decimal(value);
            KernelLog.Write(" (not 16 to 65552 bytes): the stream is out of step; nothing more is echoed"); KernelLog.End();
        }

        // The inbox holds a whole frame: copy it to a free buffer and write it back.
        private static void Echo(FrameCall* frame)
        {
            if (frame->Result <= 0) return;
            for (int slot = 0; slot < Slots; slot++)
            {
                if (!s_writes[slot].Done) continue;
                byte* echo = s_echoes + (ulong)slot * SlotPages * Layout.PageSize;
                Native.MemMove(echo, frame->Buffer, (nuint)frame->Result);
                if (VirtioSerialDevice.TryWrite(s_port, echo, frame->Result, &s_writes[slot]) == 0) s_echoed++;
                else s_dropped++;
                return;
            }
            s_dropped++;
        }

        private static void OpenChanged(bool open)
        {
            if (open) return;
            KernelLog.Begin(); KernelLog.Write("serial-echo: "); KernelLog.Decimal(s_echoed); KernelLog.Write(" frame(s) echoed, ");
            KernelLog.Decimal(s_dropped); KernelLog.Write(" dropped"); KernelLog.End();
        }
    }
}
