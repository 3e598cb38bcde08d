using System;
using Libra.Arch.X64;
using Libra.Memory;

namespace Libra.Shims
{
    // Path names as the file calls take them: made absolute against the working directory (or a
    // directory descriptor) and normalized; and the working directory with chdir, fchdir and getcwd.
    internal static unsafe class Paths
    {
        internal const int AT_FDCWD = -100, AT_EMPTY_PATH = 0x1000, AT_SYMLINK_NOFOLLOW = 0x100, AT_REMOVEDIR = 0x200;
        internal const int PathMax = 4096;

        // A directory keeps its path, for the *at calls relative to it; false when the kernel heap
        // cannot hold it (the open answers ENOMEM).
        internal static bool RememberPath(OpenFile* file, byte* path, int length)
        {
            file->Path = (byte*)KernelHeap.TryAllocateZeroed((ulong)length + 1);
            if (file->Path == null) return false;
            Native.MemMove(file->Path, path, (nuint)(length + 1));
            file->PathLength = length;
            return true;
        }

        // The working directory, normalized; "/" until chdir.
        private struct WorkingDirectory { internal fixed byte Bytes[PathMax]; }
        private static WorkingDirectory s_cwd;
        private static int s_cwdLength;

        // A user path made absolute against the working directory (or the directory `dirfd`) and
        // normalized (PathName); its length, or -errno.
        internal static long ReadPath(int dirfd, ulong pathAddress, byte* path)
        {
            byte* raw = stackalloc byte[PathMax];
            int length = UserMemory.CopyStringFromUser(pathAddress, raw, PathMax - 1);
            if (length == -1) return -Errno.EFAULT;
            if (length == -2) return -Errno.ENAMETOOLONG;
            if (length == 0) return -Errno.ENOENT;
            ReadOnlySpan<byte> basis;
            if (raw[0] == (byte)'/' || dirfd == AT_FDCWD)
            {
                if (s_cwdLength == 0) { s_cwd.Bytes[0] = (byte)'/'; s_cwdLength = 1; }
                fixed (byte* cwd = s_cwd.Bytes) return PathName.Normalize(new ReadOnlySpan<byte>(cwd, s_cwdLength), new ReadOnlySpan<byte>(raw, length), path);
            }
            OpenFile* directory = FileTable.Use(dirfd);
            if (directory == null) return -Errno.EBADF;
            if (directory->Path == null) return (directory->Mode & FileTable.S_IFDIR) != 0 ? -Errno.ENOENT : -Errno.ENOTDIR;
            basis = new ReadOnlySpan<byte>(directory->Path, directory->PathLength);
            return PathName.Normalize(basis, new ReadOnlySpan<byte>(raw, length), path);
        }

        // The working directory into `path` (PathMax bytes), NUL-terminated; its length.
        internal static int CopyWorkingDirectory(byte* path)
        {
            if (s_cwdLength == 0) { s_cwd.Bytes[0] = (byte)'/'; s_cwdLength = 1; }
            fixed (byte* cwd = s_cwd.Bytes) Native.MemMove(path, cwd, (nuint)s_cwdLength);
            path[s_cwdLength] = 0;
            return s_cwdLength;
        }

        internal static long Chdir(SyscallArgs* a)
        {
            byte* path = stackalloc byte[PathMax];
            long length = ReadPath(AT_FDCWD, a->A0, path);
            if (length < 0) return length;
            long error = CheckDirectory(path, (int)length);
            if (error != 0) return error;
            fixed (byte* cwd = s_cwd.Bytes) Native.MemMove(cwd, path, (nuint)(length + 1));
            s_cwdLength = (int)length;
            return 0;
        }

        internal static long Fchdir(SyscallArgs* a)
        {
            OpenFile* file = FileTable.Use(a->Int0);
            if (file == null) return -Errno.EBADF;
            if (file->Path == null) return -Errno.ENOTDIR;
            fixed (byte* cwd = s_cwd.Bytes) Native.MemMove(cwd, file->Path, (nuint)(file->PathLength + 1));
            s_cwdLength = file->PathLength;
            return 0;
        }

        private static long CheckDirectory(byte* path, int length)
        {
            long error = Vfs.Lookup(path, length, follow: true, out uint mode);
            if (error != 0) return error;
            return (mode & 0xf000) == FileTable.S_IFDIR ? 0 : -Errno.ENOTDIR;
        }

        internal static long GetCwd(SyscallArgs* a)
        {
            if (s_cwdLength == 0) { s_cwd.Bytes[0] = (byte)'/'; s_cwdLength = 1; }
            ulong size = (ulong)s_cwdLength + 1;
            if (a->A1 < size) return -Errno.ERANGE;
            fixed (byte* cwd = s_cwd.Bytes) return UserMemory.CopyToUser(a->A0, cwd, size) ? (long)size : -Errno.EFAULT;
        }
    }
}
