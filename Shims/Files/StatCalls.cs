using Libra.Arch.X64;
using Libra.Memory;
using Libra.Time;
using static Libra.Shims.Paths;

namespace Libra.Shims
{
    // What a file is: stat and its relatives, statx, access, statfs.
    internal static unsafe class StatCalls
    {
        private const long TmpfsMagic = 0x01021994;

        // struct stat (x86-64, 144 bytes): dev@0 ino@8 nlink@16 mode@24 uid@28 gid@32 rdev@40 size@48
        // blksize@56 blocks@64 atime@72 mtime@88 ctime@104.
        internal static long WriteStat(ulong address, uint mode, ulong inode, ulong size)
        {
            byte* stat = stackalloc byte[144];
            Native.MemSet(stat, 0, 144);
            *(ulong*)(stat + 0) = 0x13;
            *(ulong*)(stat + 8) = inode;
            *(ulong*)(stat + 16) = (mode & FileTable.S_IFDIR) == FileTable.S_IFDIR ? 2ul : 1ul;
            *(uint*)(stat + 24) = mode;
            *(ulong*)(stat + 48) = size;
            *(ulong*)(stat + 56) = 4096;
            *(ulong*)(stat + 64) = (size + 511) / 512;
            ulong seconds = Clock.RealtimeOffset / 1_000_000_000;
            *(ulong*)(stat + 72) = seconds; *(ulong*)(stat + 88) = seconds; *(ulong*)(stat + 104) = seconds;
            return UserMemory.CopyToUser(address, stat, 144) ? 0 : -Errno.EFAULT;
        }

        private static long StatFile(OpenFile* file, ulong address) =>
            file->Ops->Stat != null ? file->Ops->Stat(file, address) :
            WriteStat(address, file->Mode, file->Inode != 0 ? file->Inode : (ulong)file, file->Size);

        internal static long Fstat(SyscallArgs* a)
        {
            OpenFile* file = FileTable.Get(a->Int0);
            return file == null ? -Errno.EBADF : StatFile(file, a->A1);
        }

        internal static long Stat(SyscallArgs* a) => StatPath(AT_FDCWD, a->A0, a->A1, 0);

        internal static long Lstat(SyscallArgs* a) => StatPath(AT_FDCWD, a->A0, a->A1, AT_SYMLINK_NOFOLLOW);

        internal static long NewFstatAt(SyscallArgs* a) => StatPath(a->Int0, a->A1, a->A2, a->Int3);

        private static long StatPath(int dirfd, ulong pathAddress, ulong statAddress, int flags)
        {
            if ((flags & AT_EMPTY_PATH) != 0 && UserMemory.IsAccessible(pathAddress, 1, write: false) && *(byte*)pathAddress == 0)
            {
                if (dirfd == AT_FDCWD) return StatCwd(statAddress);
                OpenFile* file = FileTable.Get(dirfd);
                return file == null ? -Errno.EBADF : StatFile(file, statAddress);
            }
            byte* path = stackalloc byte[PathMax];
            long length = ReadPath(dirfd, pathAddress, path);
            if (length < 0) return length;
            if (!IsSynthetic(path)) return NinePFiles.StatPath(path, (int)length, (flags & AT_SYMLINK_NOFOLLOW) == 0, statAddress);
            if (!ProcFiles.Exists(path, out uint mode)) return -Errno.ENOENT;
            if ((flags & AT_SYMLINK_NOFOLLOW) != 0 && ProcFiles.ReadLink(path, out _) > 0) mode = FileTable.S_IFLNK | 0x1ff;
            return WriteStat(statAddress, mode, PathName.Hash(path, (int)length) & 0xffffffff, 0);
        }

        private static long StatCwd(ulong statAddress)
        {
            byte* path = stackalloc byte[PathMax];
            int length = CopyWorkingDirectory(path);
            if (!IsSynthetic(path)) return NinePFiles.StatPath(path, length, true, statAddress);
            return WriteStat(statAddress, FileTable.S_IFDIR | 0x1ed, 1, 0);
        }

        internal static long Access(SyscallArgs* a) => AccessPath(AT_FDCWD, a->A0);

        internal static long FaccessAt(SyscallArgs* a) => AccessPath(a->Int0, a->A1);

        private static long AccessPath(int dirfd, ulong pathAddress)
        {
            byte* path = stackalloc byte[PathMax];
            long length = ReadPath(dirfd, pathAddress, path);
            if (length < 0) return length;
            if (IsSynthetic(path)) return ProcFiles.Exists(path, out _) ? 0 : -Errno.ENOENT;
            int error = NinePFiles.Resolve(path, (int)length, followLast: true, out uint fid, out _);
            if (error == 0) NineP.NinePClient.Clunk(fid);
            return error;
        }

        // statx(dirfd, path, flags, mask, buffer): every basic field is always filled, whatever the mask.
        internal static long Statx(SyscallArgs* a)
        {
            int dirfd = a->Int0, flags = a->Int2;
            ulong buffer = a->A4;
            if ((flags & AT_EMPTY_PATH) != 0 && UserMemory.IsAccessible(a->A1, 1, write: false) && *(byte*)a->A1 == 0)
            {
                OpenFile* file = dirfd == AT_FDCWD ? null : FileTable.Get(dirfd);
                if (dirfd != AT_FDCWD && file == null) return -Errno.EBADF;
                if (file != null && file->Kind == FileKind.NineP) return NinePFiles.Statx(file->Fid, buffer);
                return StatxFromStat(dirfd, a->A1, flags, buffer);
            }
            byte* path = stackalloc byte[PathMax];
            long length = ReadPath(dirfd, a->A1, path);
            if (length < 0) return length;
            if (IsSynthetic(path)) return StatxFromStat(dirfd, a->A1, flags, buffer);
            int error = NinePFiles.Resolve(path, (int)length, (flags & AT_SYMLINK_NOFOLLOW) == 0, out uint fid, out _);
            if (error != 0) return error;
            long result = NinePFiles.Statx(fid, buffer);
            NineP.NinePClient.Clunk(fid);
            return result;
        }

        // statx for the synthetic tree: the struct stat answer, rearranged.
        private static long StatxFromStat(int dirfd, ulong pathAddress, int flags, ulong buffer)
        {
            ulong scratch = buffer;   // statx's 256 bytes hold a 144-byte stat first
            long error = StatPath(dirfd, pathAddress, scratch, flags);
            if (error != 0) return error;
            byte* st = stackalloc byte[144];
            Native.MemMove(st, (void*)scratch, 144);
            byte* x = stackalloc byte[256];
            Native.MemSet(x, 0, 256);
            *(uint*)(x + 0) = 0x7ff;
            *(uint*)(x + 4) = (uint)*(ulong*)(st + 56);
            *(uint*)(x + 16) = (uint)*(ulong*)(st + 16);
            *(ushort*)(x + 28) = (ushort)*(uint*)(st + 24);
            *(ulong*)(x + 32) = *(ulong*)(st + 8);
            *(ulong*)(x + 40) = *(ulong*)(st + 48);
            *(ulong*)(x + 48) = *(ulong*)(st + 64);
            *(ulong*)(x + 64) = *(ulong*)(st + 72); *(ulong*)(x + 96) = *(ulong*)(st + 104); *(ulong*)(x + 112) = *(ulong*)(st + 88);
            *(uint*)(x + 140) = (uint)*(ulong*)st;
            return UserMemory.CopyToUser(buffer, x, 256) ? 0 : -Errno.EFAULT;
        }

        // struct statfs (120 bytes): type, bsize, blocks, bfree, bavail, files, ffree, fsid, namelen, frsize, flags.
        internal static long StatFs(SyscallArgs* a)
        {
            byte* path = stackalloc byte[PathMax];
            long length = ReadPath(AT_FDCWD, a->A0, path);
            if (length < 0) return length;
            if (!IsSynthetic(path))
            {
                int error = NinePFiles.Resolve(path, (int)length, followLast: true, out uint fid, out _);
                if (error != 0) return error;
                long result = NinePFiles.StatFs(fid, a->A1);
                NineP.NinePClient.Clunk(fid);
                return result;
            }
            if (!ProcFiles.Exists(path, out _)) return -Errno.ENOENT;
            return WriteStatFs(a->A1);
        }

        internal static long FstatFs(SyscallArgs* a)
        {
            OpenFile* file = FileTable.Get(a->Int0);
            if (file == null) return -Errno.EBADF;
            return file->Kind == FileKind.NineP ? NinePFiles.StatFs(file->Fid, a->A1) : WriteStatFs(a->A1);
        }

        private static long WriteStatFs(ulong address)
        {
            long* fs = stackalloc long[15];
            for (int i = 0; i < 15; i++) fs[i] = 0;
            fs[0] = TmpfsMagic; fs[1] = 4096; fs[8] = 255; fs[9] = 4096;
            return UserMemory.CopyToUser(address, fs, 120) ? 0 : -Errno.EFAULT;
        }
    }
}
