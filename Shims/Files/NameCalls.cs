using Libra.Memory;
using static Libra.Shims.Paths;

namespace Libra.Shims
{
    // The directory tree's names: listing, making, linking, reading links, removing, renaming.
    internal static unsafe class NameCalls
    {
        internal static long Readlink(SyscallArgs* a) => ReadLinkPath(AT_FDCWD, a->A0, a->A1, a->A2);

        internal static long ReadlinkAt(SyscallArgs* a) => ReadLinkPath(a->Int0, a->A1, a->A2, a->A3);

        private static long ReadLinkPath(int dirfd, ulong pathAddress, ulong buffer, ulong size)
        {
            byte* path = stackalloc byte[PathMax];
            long pathLength = ReadPath(dirfd, pathAddress, path);
            if (pathLength < 0) return pathLength;
            if ((long)size <= 0) return -Errno.EINVAL;
            byte* target = stackalloc byte[PathMax];
            long length = Vfs.ReadLink(path, (int)pathLength, target, PathMax);
            if (length < 0) return length;
            ulong n = (ulong)length < size ? (ulong)length : size;
            return UserMemory.CopyToUser(buffer, target, n) ? (long)n : -Errno.EFAULT;
        }

        internal static long GetDents64(SyscallArgs* a)
        {
            OpenFile* file = FileTable.Use(a->Int0);
            if (file == null) return -Errno.EBADF;
            if (file->Ops->GetDents == null) return -Errno.ENOTDIR;
            if (!UserMemory.IsAccessible(a->A1, a->A2, write: true)) return -Errno.EFAULT;
            // Each file system writes its records into a kernel block, copied out after: a buffer
            // unmapped meanwhile gives EFAULT, not a kernel fault. A smaller block only means fewer
            // records per call (a record is at most 280 bytes).
            ulong capacity = a->A2 < DirentBlock ? a->A2 : DirentBlock;
            byte* block = (byte*)KernelHeap.TryAllocateZeroed(capacity);
            if (block == null) return -Errno.ENOMEM;
            long result = file->Ops->GetDents(file, (ulong)block, capacity);
            if (result > 0 && !UserMemory.CopyToUser(a->A1, block, (ulong)result)) result = -Errno.EFAULT;
            KernelHeap.Free(block);
            return result;
        }

        private const ulong DirentBlock = 32 * 1024;

        // AT_EMPTY_PATH's test: the user string is "" (unreadable is not empty: the path walk says EFAULT).
        internal static bool IsEmptyString(ulong address)
        {
            byte first = 1;
            return UserMemory.CopyFromUser(&first, address, 1) && first == 0;
        }

        internal static long Mkdir(SyscallArgs* a) => MakeDirectory(AT_FDCWD, a->A0, (uint)a->A1);

        internal static long MkdirAt(SyscallArgs* a) => MakeDirectory(a->Int0, a->A1, (uint)a->A2);

        private static long MakeDirectory(int dirfd, ulong pathAddress, uint mode)
        {
            byte* path = stackalloc byte[PathMax];
            long length = ReadPath(dirfd, pathAddress, path);
            if (length < 0) return length;
            if (length == 1) return -Errno.EEXIST;
            return Vfs.MakeDirectory(path, (int)length, mode);
        }

        internal static long Symlink(SyscallArgs* a) => MakeSymlink(a->A0, AT_FDCWD, a->A1);

        internal static long SymlinkAt(SyscallArgs* a) => MakeSymlink(a->A0, a->Int1, a->A2);

        private static long MakeSymlink(ulong targetAddress, int dirfd, ulong pathAddress)
        {
            byte* target = stackalloc byte[PathMax];
            int targetLength = UserMemory.CopyStringFromUser(targetAddress, target, PathMax - 1);
            if (targetLength == -1) return -Errno.EFAULT;
            if (targetLength < 0) return -Errno.ENAMETOOLONG;
            if (targetLength == 0) return -Errno.ENOENT;
            byte* path = stackalloc byte[PathMax];
            long length = ReadPath(dirfd, pathAddress, path);
            if (length < 0) return length;
            if (length == 1) return -Errno.EEXIST;
            return Vfs.Symlink(target, targetLength, path, (int)length);
        }

        internal static long Unlink(SyscallArgs* a) => Remove(AT_FDCWD, a->A0, 0);

        internal static long Rmdir(SyscallArgs* a) => Remove(AT_FDCWD, a->A0, AT_REMOVEDIR);

        internal static long UnlinkAt(SyscallArgs* a) => Remove(a->Int0, a->A1, a->Int2);

        private static long Remove(int dirfd, ulong pathAddress, int flags)
        {
            if ((flags & ~AT_REMOVEDIR) != 0) return -Errno.EINVAL;
            byte* path = stackalloc byte[PathMax];
            long length = ReadPath(dirfd, pathAddress, path);
            if (length < 0) return length;
            if (length == 1) return -Errno.EBUSY;
            return Vfs.Unlink(path, (int)length, (flags & AT_REMOVEDIR) != 0);
        }

        internal static long Rename(SyscallArgs* a) => RenamePaths(AT_FDCWD, a->A0, AT_FDCWD, a->A1, 0);

        internal static long RenameAt(SyscallArgs* a) => RenamePaths(a->Int0, a->A1, a->Int2, a->A3, 0);

        internal static long RenameAt2(SyscallArgs* a) => RenamePaths(a->Int0, a->A1, a->Int2, a->A3, (uint)a->A4);

        private static long RenamePaths(int fromDirectory, ulong fromAddress, int toDirectory, ulong toAddress, uint flags)
        {
            const uint RENAME_NOREPLACE = 1;
            if ((flags & ~RENAME_NOREPLACE) != 0) return -Errno.EINVAL;
            byte* from = stackalloc byte[PathMax];
            byte* to = stackalloc byte[PathMax];
            long fromLength = ReadPath(fromDirectory, fromAddress, from);
            if (fromLength < 0) return fromLength;
            long toLength = ReadPath(toDirectory, toAddress, to);
            if (toLength < 0) return toLength;
            return Vfs.Rename(from, (int)fromLength, to, (int)toLength, flags);
        }

        internal static long Link(SyscallArgs* a) => LinkPaths(AT_FDCWD, a->A0, AT_FDCWD, a->A1, 0);

        // linkat(olddirfd, oldpath, newdirfd, newpath, flags): AT_SYMLINK_FOLLOW follows a link in
        // the old name; AT_EMPTY_PATH names the open file olddirfd (an O_TMPFILE one too).
        internal static long LinkAt(SyscallArgs* a) => LinkPaths(a->Int0, a->A1, a->Int2, a->A3, (int)a->A4);

        private static long LinkPaths(int fromDirectory, ulong fromAddress, int toDirectory, ulong toAddress, int flags)
        {
            const int AT_SYMLINK_FOLLOW = 0x400;
            if ((flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)) != 0) return -Errno.EINVAL;
            byte* to = stackalloc byte[PathMax];
            long toLength = ReadPath(toDirectory, toAddress, to);
            if (toLength < 0) return toLength;
            if ((flags & AT_EMPTY_PATH) != 0 && IsEmptyString(fromAddress))
            {
                OpenFile* file = FileTable.Use(fromDirectory);
                if (file == null) return -Errno.EBADF;
                return Vfs.LinkOpen(file, to, (int)toLength);
            }
            byte* from = stackalloc byte[PathMax];
            long fromLength = ReadPath(fromDirectory, fromAddress, from);
            if (fromLength < 0) return fromLength;
            return Vfs.Link(from, (int)fromLength, to, (int)toLength, (flags & AT_SYMLINK_FOLLOW) != 0);
        }
    }
}
