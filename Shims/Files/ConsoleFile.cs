using Libra.Drivers;
using Libra.Threads;

namespace Libra.Shims
{
    // Descriptors 0-2: stdin reads end-of-file and never polls ready; stdout is COM1 and stderr
    // COM2, always writable. Character devices that are not terminals (termios requests: ENOTTY).
    internal static unsafe class ConsoleFile
    {
        private static FileOperations* s_ops;

        internal static void Initialize()
        {
            s_ops = FileOperations.New();
            s_ops->Read = &Read;
            s_ops->Write = &Write;
            s_ops->Poll = &Poll;
        }

        internal static OpenFile* Open(ushort port, int flags)
        {
            OpenFile* file = FileTable.New(FileKind.Console, s_ops, flags, FileTable.S_IFCHR | 0x190);    // crw--w----
            file->ConsolePort = port;
            file->Inode = 3ul + port;
            return file;
        }

        private static long Read(OpenFile* file, byte* buffer, ulong length, ulong offset) => 0;

        private static long Write(OpenFile* file, byte* buffer, ulong length, ulong offset)
        {
            for (ulong i = 0; i < length; i++) Uart16550.Write(file->ConsolePort, buffer[i]);
            return (long)length;
        }

        private static uint Poll(OpenFile* file) => file->ConsolePort == 0 ? 0 : PollEvents.Out | PollEvents.WrNorm;
    }
}
