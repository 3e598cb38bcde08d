using Libra.Arch.X64;
using Libra.Drivers;
using Libra.Memory;
using Libra.Threads;

namespace Libra.Shims
{
    // Descriptors 0-2: stdin reads what the host forwards on COM1's receive side, stdout is COM1 and
    // stderr COM2, always writable. Character devices that are not terminals (termios: ENOTTY).
    // The host (Libra.Qemu's ConsoleInput) frames stdin so that its end can be told from data:
    // 0xFF 0xFF is the byte 0xFF, 0xFF 0x00 is end of file; every other byte stands for itself.
    internal static unsafe class ConsoleFile
    {
        // 16550 registers (the UART is polled; its driver only transmits): receive buffer and the
        // line status register's Data Ready bit (PC16550D datasheet, LSR bit 0).
        private const ushort ReceiveBuffer = Uart16550.Com1, LineStatus = Uart16550.Com1 + 5;
        private const byte DataReady = 0x01;
        private const byte Escape = 0xff, EndOfInput = 0x00;
        private const ulong InputCapacity = 4096;

        private static FileOperations* s_ops;
        private static ByteRing s_input;        // decoded stdin bytes not yet read
        private static bool s_escaped, s_ended;
        private static PollQueue s_readers;     // readers and pollers of stdin

        internal static void Initialize()
        {
            s_ops = FileOperations.New();
            s_ops->Read = &Read;
            s_ops->Write = &Write;
            s_ops->Poll = &Poll;
            s_ops->Queue = &Queue;
            s_input = ByteRing.Create(InputCapacity);
            Scheduler.AddDevicePoll(&Receive);
        }

        internal static OpenFile* Open(ushort port, int flags)
        {
            OpenFile* file = FileTable.New(FileKind.Console, s_ops, flags, FileTable.S_IFCHR | 0x190);    // crw--w----
            file->ConsolePort = port;
            file->Inode = 3ul + port;
            return file;
        }

        // Moves what COM1 received into the input ring (while it has room: the rest waits in QEMU,
        // which stops reading the host's side when the UART's FIFO is full) and wakes the readers.
        // From the idle loop and the timer tick; true while a reader waits, so polling goes on.
        private static bool Receive()
        {
            bool arrived = false;
            while (!s_ended && !s_input.IsFull && Uart16550.IsPresent(Uart16550.Com1) && (Native.InByte(LineStatus) & DataReady) != 0)
            {
                byte value = Native.InByte(ReceiveBuffer);
                if (!s_escaped && value == Escape) { s_escaped = true; continue; }
                bool wasEscaped = s_escaped;
                s_escaped = false;
                if (wasEscaped && value == EndOfInput) s_ended = true;
                else s_input.Put(&value, 1);
                arrived = true;
            }
            if (arrived) s_readers.Notify(PollEvents.In | PollEvents.RdNorm);
            return !s_ended && !s_readers.IsEmpty;
        }

        private static long Read(OpenFile* file, byte* buffer, ulong length, ulong offset)
        {
            if (offset != ulong.MaxValue) return -Errno.ESPIPE;
            if (length == 0) return 0;
            while (true)
            {
                Receive();
                if (!s_input.IsEmpty) return (long)s_input.Take(buffer, length);
                if (s_ended) return 0;
                if (file->IsNonBlocking) return -Errno.EAGAIN;
                if (s_readers.Wait(PollEvents.In, 0) == WakeReason.Interrupted) return -Errno.ERESTARTSYS;
            }
        }

        private static long Write(OpenFile* file, byte* buffer, ulong length, ulong offset)
        {
            // Through a kernel block: the buffer may be the application's, and may go away meanwhile.
            byte* block = stackalloc byte[256];
            ulong done = 0;
            while (done < length)
            {
                ulong want = length - done < 256 ? length - done : 256;
                ulong copied = UserMemory.CopyChecked(block, buffer + done, want);
                for (ulong i = 0; i < copied; i++) Uart16550.Write(file->ConsolePort, block[i]);
                done += copied;
                if (copied < want) return done > 0 ? (long)done : -Errno.EFAULT;
            }
            return (long)done;
        }

        // stdin is readable with data or at its end; stdout and stderr are always writable.
        private static uint Poll(OpenFile* file)
        {
            if (file->ConsolePort != 0) return PollEvents.Out | PollEvents.WrNorm;
            Receive();
            return !s_input.IsEmpty || s_ended ? PollEvents.In | PollEvents.RdNorm : 0;
        }

        private static PollQueue* Queue(OpenFile* file)
        {
            fixed (PollQueue* readers = &s_readers) return readers;
        }
    }
}
