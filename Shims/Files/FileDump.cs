using Libra.Diagnostics;
using Libra.Shims.Net;
using Libra.Threads;

namespace Libra.Shims
{
    // The descriptor table in a state dump (Diagnostics/StateDump.cs): one line per open descriptor
    // with its kind, its readiness as poll would see it and who waits on it; an epoll descriptor also
    // with its items and ready list, and each item whose file is ready now. Reads only, no locks.
    internal static unsafe class FileDump
    {
        internal static void Print()
        {
            int open = 0;
            for (int fd = 0; fd < FileTable.MaxFiles; fd++)
            {
                OpenFile* file = FileTable.Get(fd);
                if (file == null) continue;
                open++;
                KernelLog.Begin(); KernelLog.Write("dump: fd "); KernelLog.Decimal((ulong)fd); KernelLog.Write(' ');
                KernelLog.Write(KindName(file->Kind));
                if (file->IsNonBlocking) KernelLog.Write(" non-blocking");
                KernelLog.Write(" ready "); KernelLog.Hex(PollCalls.Events(file), 4);
                PollQueue* queue = file->Ops->Queue != null ? file->Ops->Queue(file) : null;
                if (queue != null && !queue->IsEmpty) KernelLog.Write(", has waiters");
                if (file->Watchers != null) KernelLog.Write(", watched by epoll");
                if (file->Kind == FileKind.Socket) SocketCalls.Describe(file);
                KernelLog.End();
                if (file->Kind == FileKind.Epoll) ((Epoll*)file->Object)->Describe();
            }
            KernelLog.Begin(); KernelLog.Write("dump: "); KernelLog.Decimal((ulong)open); KernelLog.Write(" descriptor(s) open"); KernelLog.End();
        }

        private static string KindName(FileKind kind) => kind switch
        {
            FileKind.Console => "console", FileKind.Synthetic => "synthetic", FileKind.Pipe => "pipe", FileKind.Null => "null",
            FileKind.Random => "random", FileKind.Directory => "directory", FileKind.NineP => "9p", FileKind.EventFd => "eventfd",
            FileKind.Epoll => "epoll", FileKind.Socket => "socket", FileKind.Memory => "memory", _ => "?",
        };
    }
}
