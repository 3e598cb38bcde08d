using Libra.Memory;

namespace Libra.Shims
{
    // Calls on a descriptor as such: close, dup, fcntl (its record locks in RecordLocks), ioctl, flock, fsync.
    internal static unsafe class DescriptorCalls
    {
        private const int F_DUPFD = 0, F_GETFD = 1, F_SETFD = 2, F_GETFL = 3, F_SETFL = 4, F_DUPFD_CLOEXEC = 1030, FD_CLOEXEC = 1;
        internal const uint FIONREAD = 0x541b, FIONBIO = 0x5421, FIOCLEX = 0x5451, FIONCLEX = 0x5450;

        internal static long Close(SyscallArgs* a) => FileTable.Close(a->Int0);

        // ioctl: the requests every descriptor answers, then the kind's own (ENOTTY when it has none:
        // the console is a serial port that is not a terminal, so termios requests fail as for a pipe).
        internal static long Ioctl(SyscallArgs* a)
        {
            OpenFile* file = FileTable.Use(a->Int0);
            if (file == null) return -Errno.EBADF;
            uint request = (uint)a->A1;
            switch (request)
            {
                case FIONBIO:
                    int on;
                    if (!UserMemory.CopyFromUser(&on, a->A2, 4)) return -Errno.EFAULT;
                    if (on != 0) file->StatusFlags |= FileTable.O_NONBLOCK; else file->StatusFlags &= ~FileTable.O_NONBLOCK;
                    return 0;
                case FIOCLEX: FileTable.SetCloseOnExec(a->Int0, true); return 0;
                case FIONCLEX: FileTable.SetCloseOnExec(a->Int0, false); return 0;
                default: return file->Ops->Ioctl != null ? file->Ops->Ioctl(file, request, a->A2) : -Errno.ENOTTY;
            }
        }

        internal static long Fcntl(SyscallArgs* a)
        {
            int fd = a->Int0;
            OpenFile* file = FileTable.Use(fd);
            if (file == null) return -Errno.EBADF;
            switch (a->Int1)
            {
                case F_DUPFD: case F_DUPFD_CLOEXEC:
                    if (a->Int2 < 0 || a->Int2 >= FileTable.MaxFiles) return -Errno.EINVAL;
                    return FileTable.Allocate(file, a->Int2, a->Int1 == F_DUPFD_CLOEXEC);
                case F_GETFD: return FileTable.CloseOnExec(fd) ? FD_CLOEXEC : 0;
                case F_SETFD: FileTable.SetCloseOnExec(fd, (a->A2 & FD_CLOEXEC) != 0); return 0;
                case F_GETFL: return file->StatusFlags;
                case F_SETFL:
                    const int settable = FileTable.O_APPEND | FileTable.O_NONBLOCK;
                    file->StatusFlags = (file->StatusFlags & ~settable) | (a->Int2 & settable);
                    return 0;
                default: return RecordLocks.Handles(a->Int1) ? RecordLocks.Control(file, a->Int1, a->A2) : -Errno.EINVAL;
            }
        }

        internal static long Dup(SyscallArgs* a)
        {
            OpenFile* file = FileTable.Use(a->Int0);
            return file == null ? -Errno.EBADF : FileTable.Allocate(file, 0, false);
        }

        internal static long Dup2(SyscallArgs* a)
        {
            if (a->Int0 == a->Int1) return FileTable.Get(a->Int0) == null ? -Errno.EBADF : a->Int1;
            return Duplicate(a->Int0, a->Int1, false);
        }

        internal static long Dup3(SyscallArgs* a)
        {
            if (a->Int0 == a->Int1) return -Errno.EINVAL;
            return Duplicate(a->Int0, a->Int1, (a->Int2 & FileTable.O_CLOEXEC) != 0);
        }

        private static long Duplicate(int from, int to, bool closeOnExec)
        {
            OpenFile* file = FileTable.Use(from);
            if (file == null) return -Errno.EBADF;
            if (to < 0 || to >= FileTable.MaxFiles) return -Errno.EBADF;
            if (FileTable.Get(to) != null) FileTable.Close(to);
            FileTable.Install(to, file);
            FileTable.SetCloseOnExec(to, closeOnExec);
            return to;
        }

        // flock: one process holds every lock it asks for.
        internal static long Flock(SyscallArgs* a) => FileTable.Get(a->Int0) == null ? -Errno.EBADF : 0;

        internal static long Fsync(SyscallArgs* a) => Sync(a->Int0, dataOnly: false);

        internal static long Fdatasync(SyscallArgs* a) => Sync(a->Int0, dataOnly: true);

        private static long Sync(int fd, bool dataOnly)
        {
            OpenFile* file = FileTable.Use(fd);
            if (file == null) return -Errno.EBADF;
            return file->Kind == FileKind.NineP ? NinePFiles.ClientOf(file)->Fsync(file->Fid, dataOnly) : 0;
        }
    }
}
