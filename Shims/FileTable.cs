using Libra.Memory;

namespace Libra.Shims
{
    internal enum FileKind : byte { Console, Synthetic, PipeRead, PipeWrite, Null, Random, Directory, NineP }

    // An open file description (shared by dup'ed descriptors).
    internal unsafe struct OpenFile
    {
        internal FileKind Kind;
        internal int StatusFlags;       // O_ACCMODE, O_APPEND, O_NONBLOCK as open/fcntl set them
        internal int References;
        internal ushort ConsolePort;    // Console: the UART, 0 for stdin
        internal byte* Data;            // Synthetic: a snapshot taken at open
        internal ulong Size, Position;
        internal bool OwnsData;
        internal Pipe* Pipe;
        internal ulong Inode;
        internal uint Mode;             // st_mode (synthetic files); S_IFDIR or S_IFREG for NineP
        internal uint Fid;              // NineP: the open fid; Position is the offset or the readdir cookie
        internal byte* Path;            // a directory's normalized path (for *at calls), or null
        internal int PathLength;
    }

    // The process's descriptor table, shared by all threads (CLONE_FILES). Descriptors 0-2 are
    // the console: stdin reads end-of-file, stdout is COM1, stderr COM2.
    internal static unsafe class FileTable
    {
        internal const int MaxFiles = 4096;
        internal const int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_ACCMODE = 3, O_CREAT = 0x40, O_EXCL = 0x80,
            O_TRUNC = 0x200, O_APPEND = 0x400, O_NONBLOCK = 0x800, O_DIRECTORY = 0x10000, O_CLOEXEC = 0x80000, O_PATH = 0x200000;
        internal const uint S_IFIFO = 0x1000, S_IFCHR = 0x2000, S_IFDIR = 0x4000, S_IFREG = 0x8000, S_IFLNK = 0xa000;

        private struct Table { internal fixed ulong Files[MaxFiles]; internal fixed byte CloseOnExec[MaxFiles]; }
        private static Table s_table;

        internal static void Initialize()
        {
            Install(0, NewConsole(0, O_RDONLY));
            Install(1, NewConsole(Drivers.Uart16550.Com1, O_WRONLY));
            Install(2, NewConsole(Drivers.Uart16550.Com2, O_WRONLY));
        }

        private static OpenFile* NewConsole(ushort port, int flags)
        {
            OpenFile* file = New(FileKind.Console, flags, S_IFCHR | 0x190);    // crw--w----
            file->ConsolePort = port;
            file->Inode = 3ul + port;
            return file;
        }

        internal static OpenFile* New(FileKind kind, int flags, uint mode)
        {
            var file = (OpenFile*)KernelHeap.AllocateZeroed((ulong)sizeof(OpenFile));
            file->Kind = kind;
            file->StatusFlags = flags & ~O_CLOEXEC;
            file->Mode = mode;
            file->References = 0;
            return file;
        }

        internal static OpenFile* Get(int fd) => fd < 0 || fd >= MaxFiles ? null : (OpenFile*)s_table.Files[fd];

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
            if (--file->References > 0) return 0;
            if (file->Kind == FileKind.PipeRead) file->Pipe->CloseEnd(writeEnd: false);
            if (file->Kind == FileKind.PipeWrite) file->Pipe->CloseEnd(writeEnd: true);
            if (file->Kind == FileKind.NineP) NineP.NinePClient.Clunk(file->Fid);
            Discard(file);
            return 0;
        }

        // Frees a description no descriptor refers to.
        internal static void Discard(OpenFile* file)
        {
            if (file->OwnsData) KernelHeap.Free(file->Data);
            if (file->Path != null) KernelHeap.Free(file->Path);
            KernelHeap.Free(file);
        }
    }
}
