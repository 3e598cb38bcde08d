using Libra.Diagnostics;
using Libra.Memory;
using Libra.Threads;

namespace Libra.Shims
{
    // Which kind an open file is, for the few calls that belong to one kind only (a 9P fid's
    // attributes, a mapping's contents); everything else goes through OpenFile.Ops.
    internal enum FileKind : byte { Console, Synthetic, Pipe, Null, Random, Directory, NineP, EventFd, Epoll, Socket, Memory, TimerFd }

    // An open file description (shared by dup'ed descriptors).
    internal unsafe struct OpenFile
    {
        internal FileOperations* Ops;
        internal FileKind Kind;
        internal int StatusFlags;       // O_ACCMODE, O_APPEND, O_NONBLOCK as open/fcntl set them
        internal int References;        // descriptors, plus calls (poll) that hold it for a while
        internal ushort ConsolePort;    // Console: the UART, 0 for stdin
        internal byte* Data;            // Synthetic: a snapshot taken at open; NineP on a cached mount: its StatRecord (PageCache.Stat)
        internal ulong Size, Position;
        internal bool OwnsData;
        internal void* Object;          // the kind's own state: a Pipe, an EventFd, an Epoll
        internal ulong Inode;
        internal uint Mode;             // st_mode (synthetic files); S_IFDIR or S_IFREG for NineP
        internal uint Fid;              // NineP: the open fid; Position is the offset or the readdir cookie
        internal byte* Path;            // a directory's normalized path (for *at calls), or null
        internal int PathLength;
        internal EpollItem* Watchers;   // the epoll items watching this description
        internal FileSystem* FileSystem; // the mount it was opened in (fstatfs), or null

        internal bool IsNonBlocking => (StatusFlags & FileTable.O_NONBLOCK) != 0;
        internal bool CanRead => (StatusFlags & FileTable.O_ACCMODE) != FileTable.O_WRONLY;
        internal bool CanWrite => (StatusFlags & FileTable.O_ACCMODE) != FileTable.O_RDONLY;
        internal bool IsRegular => (Mode & 0xf000) == FileTable.S_IFREG;
        internal bool IsDirectory => (Mode & 0xf000) == FileTable.S_IFDIR;
    }

    // The process's descriptor table, shared by all threads (CLONE_FILES). Descriptors 0-2 are
    // the console: stdin reads end-of-file, stdout is COM1, stderr COM2.
    internal static unsafe class FileTable
    {
        internal const int MaxFiles = 4096;
        internal const int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_ACCMODE = 3, O_CREAT = 0x40, O_EXCL = 0x80,
            O_TRUNC = 0x200, O_APPEND = 0x400, O_NONBLOCK = 0x800, O_DIRECTORY = 0x10000, O_NOFOLLOW = 0x20000, O_CLOEXEC = 0x80000, O_PATH = 0x200000;
        internal const uint S_IFIFO = 0x1000, S_IFCHR = 0x2000, S_IFDIR = 0x4000, S_IFREG = 0x8000, S_IFLNK = 0xa000;

        private struct Table { internal fixed ulong Files[MaxFiles]; internal fixed byte CloseOnExec[MaxFiles]; }
        private static Table s_table;

        internal static void Initialize()
        {
            ConsoleFile.Initialize();
            DeviceFiles.Initialize();
            PipeFile.Initialize();
            NinePFiles.Initialize();
            EventFd.Initialize();
            TimerFd.Initialize();
            Epoll.Initialize();
            Net.SocketCalls.Initialize();
            Install(0, ConsoleFile.Open(0, O_RDONLY));
            Install(1, ConsoleFile.Open(Drivers.Uart16550.Com1, O_WRONLY));
            Install(2, ConsoleFile.Open(Drivers.Uart16550.Com2, O_WRONLY));
        }

        // A new open file description; running out of kernel heap here is a panic (TryNew is the
        // call for descriptions a syscall creates in numbers: pipes and sockets).
        internal static OpenFile* New(FileKind kind, FileOperations* ops, int flags, uint mode)
        {
            OpenFile* file = TryNew(kind, ops, flags, mode);
            if (file == null) Panic.Halt("kernel heap: out of memory for an open file");
            return file;
        }

        // A new open file description, or null when the kernel heap cannot hold one (the caller
        // answers ENFILE, as Linux's alloc_empty_file does when no struct file can be had).
        internal static OpenFile* TryNew(FileKind kind, FileOperations* ops, int flags, uint mode)
        {
            var file = (OpenFile*)KernelHeap.TryAllocateZeroed((ulong)sizeof(OpenFile));
            if (file == null) return null;
            file->Kind = kind;
            file->Ops = ops;
            file->StatusFlags = flags & ~O_CLOEXEC;
            file->Mode = mode;
            file->References = 0;
            return file;
        }

        internal static OpenFile* Get(int fd) => fd < 0 || fd >= MaxFiles ? null : (OpenFile*)s_table.Files[fd];

        // The description behind `fd` for the system call in progress, held until the call returns
        // (SystemCalls.Dispatch calls ReleaseHeld): a close by another thread while this call blocks
        // (a 9P round trip, a pipe read) then frees nothing under it, as Linux's fdget/fdput. Get alone
        // is for lookups that do not block before they are done with the description.
        internal static OpenFile* Use(int fd)
        {
            OpenFile* file = Get(fd);
            Thread* self = Scheduler.Current;
            if (file == null || self == null || self->HeldFileCount >= Thread.HeldFileLimit) return file;
            file->References++;
            self->HeldFiles.Files[self->HeldFileCount++] = (ulong)file;
            return file;
        }

        // Drops what the thread's system call held with Use: the last reference releases the description.
        internal static void ReleaseHeld(Thread* self)
        {
            while (self->HeldFileCount > 0) Put((OpenFile*)self->HeldFiles.Files[--self->HeldFileCount]);
        }

        // The lowest free descriptor at or above `from` (within RLIMIT_NOFILE), or -EMFILE.
        internal static int Allocate(OpenFile* file, int from, bool closeOnExec)
        {
            ulong limit = ProcessCalls.FileLimit < (ulong)MaxFiles ? ProcessCalls.FileLimit : (ulong)MaxFiles;
            for (int fd = from; (ulong)fd < limit; fd++)
            {
                if (s_table.Files[fd] != 0) continue;
                Install(fd, file);
                s_table.CloseOnExec[fd] = closeOnExec ? (byte)1 : (byte)0;
                return fd;
            }
            return (int)-Errno.EMFILE;
        }

        // A new description's first descriptor; on failure (EMFILE) the description is released.
        internal static int AllocateNew(OpenFile* file, bool closeOnExec)
        {
            int fd = Allocate(file, 0, closeOnExec);
            if (fd < 0) ReleaseUnused(file);
            return fd;
        }

        // Frees a description from TryNew that has no object yet (its Release is never called).
        internal static void Discard(OpenFile* file)
        {
            if (file != null) KernelHeap.Free(file);
        }

        // Releases a description that no descriptor ever held.
        internal static void ReleaseUnused(OpenFile* file)
        {
            if (file->References > 0) return;     // a description other descriptors hold (/proc/self/fd/N)
            file->References = 1;
            Put(file);
        }

        internal static void Install(int fd, OpenFile* file)
        {
            file->References++;
            s_table.Files[fd] = (ulong)file;
            s_table.CloseOnExec[fd] = 0;
        }

        internal static bool CloseOnExec(int fd) => s_table.CloseOnExec[fd] != 0;

        internal static void SetCloseOnExec(int fd, bool value) => s_table.CloseOnExec[fd] = value ? (byte)1 : (byte)0;

        internal static long Close(int fd)
        {
            OpenFile* file = Get(fd);
            if (file == null) return -Errno.EBADF;
            s_table.Files[fd] = 0;
            RecordLocks.ClosedByProcess(file);
            Put(file);
            return 0;
        }

        // Holds a description across a call that may block (poll), so a close meanwhile cannot free it.
        internal static void Hold(OpenFile* file) => file->References++;

        // Drops one reference; the last one releases the description: its epoll registrations go,
        // then the kind's own state.
        internal static void Put(OpenFile* file)
        {
            if (--file->References > 0) return;
            Epoll.Forget(file);
            RecordLocks.ReleaseDescription(file);
            if (file->Ops != null && file->Ops->Release != null) file->Ops->Release(file);
            if (file->OwnsData) KernelHeap.Free(file->Data);
            if (file->Path != null) KernelHeap.Free(file->Path);
            KernelHeap.Free(file);
        }
    }
}
