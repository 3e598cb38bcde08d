using static Libra.Shims.Paths;

namespace Libra.Shims
{
    // open, openat, creat and pipe: what makes a new open file description. A path under /proc,
    // /sys or /dev (or any path while no directory is shared) is the kernel's own; every other one
    // is a file on the Linux side, over 9P.
    internal static unsafe class OpenCalls
    {
        internal static long Open(SyscallArgs* a) => OpenPath(AT_FDCWD, a->A0, a->Int1, (uint)a->A2);

        internal static long OpenAt(SyscallArgs* a) => OpenPath(a->Int0, a->A1, a->Int2, (uint)a->A3);

        internal static long Creat(SyscallArgs* a) => OpenPath(AT_FDCWD, a->A0, FileTable.O_CREAT | FileTable.O_WRONLY | FileTable.O_TRUNC, (uint)a->A1);

        private static long OpenPath(int dirfd, ulong pathAddress, int flags, uint mode)
        {
            byte* path = stackalloc byte[PathMax];
            long length = ReadPath(dirfd, pathAddress, path);
            if (length < 0) return length;
            OpenFile* file;
            long error;
            if (IsSynthetic(path)) file = ProcFiles.Open(path, flags, out error);
            else
            {
                error = NinePFiles.Open(path, (int)length, flags, mode, out file);
                if (file != null && (file->Mode & FileTable.S_IFDIR) != 0) RememberPath(file, path, (int)length);
            }
            if (file == null) return error;
            return FileTable.AllocateNew(file, (flags & FileTable.O_CLOEXEC) != 0);
        }


        internal static long Pipe(SyscallArgs* a) => PipeFile.Create(a->A0, 0);

        internal static long Pipe2(SyscallArgs* a) => PipeFile.Create(a->A0, a->Int1);
    }
}
