using static Libra.Shims.Paths;

namespace Libra.Shims
{
    // open, openat, creat and pipe: what makes a new open file description, in whichever file
    // system the path is mounted (Vfs).
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
            long error = Vfs.Open(path, (int)length, flags, mode, out OpenFile* file);
            if (error != 0) return error;
            if (file->IsDirectory && file->Path == null && !RememberPath(file, path, (int)length))
            {
                FileTable.ReleaseUnused(file);
                return -Errno.ENOMEM;
            }
            return FileTable.AllocateNew(file, (flags & FileTable.O_CLOEXEC) != 0);
        }


        internal static long Pipe(SyscallArgs* a) => PipeFile.Create(a->A0, 0);

        internal static long Pipe2(SyscallArgs* a) => PipeFile.Create(a->A0, a->Int1);
    }
}
