using Libra.Memory;
using static Libra.Shims.Paths;

namespace Libra.Shims
{
    // What a file is: stat and its relatives, statx, access, statfs.
    internal static unsafe class StatCalls
    {
        // What fstat says of an open description: the kind's own answer, else its mode, inode and size.
        internal static long Describe(OpenFile* file, StatRecord* record)
        {
            if (file->Ops->Stat != null) return file->Ops->Stat(file, record);
            *record = StatRecord.Plain(file->FileSystem != null ? file->FileSystem->Device : 0x13, file->Mode,
                file->Inode != 0 ? file->Inode : (ulong)file, file->Size);
            return 0;
        }

        internal static long Fstat(SyscallArgs* a)
        {
            OpenFile* file = FileTable.Use(a->Int0);
            if (file == null) return -Errno.EBADF;
            StatRecord record;
            long error = Describe(file, &record);
            return error != 0 ? error : record.WriteStat(a->A1);
        }

        internal static long Stat(SyscallArgs* a) => StatPath(AT_FDCWD, a->A0, a->A1, 0, statx: false);

        internal static long Lstat(SyscallArgs* a) => StatPath(AT_FDCWD, a->A0, a->A1, AT_SYMLINK_NOFOLLOW, statx: false);

        internal static long NewFstatAt(SyscallArgs* a) => StatPath(a->Int0, a->A1, a->A2, a->Int3, statx: false);

        // statx(dirfd, path, flags, mask, buffer): every basic field is always filled, whatever the mask.
        internal static long Statx(SyscallArgs* a) => StatPath(a->Int0, a->A1, a->A4, a->Int2, statx: true);

        // A path's struct stat or statx; with AT_EMPTY_PATH and "", the descriptor's (or the working directory's).
        private static long StatPath(int dirfd, ulong pathAddress, ulong address, int flags, bool statx)
        {
            StatRecord record;
            long error;
            byte* path = stackalloc byte[PathMax];
            if ((flags & AT_EMPTY_PATH) != 0 && NameCalls.IsEmptyString(pathAddress))
            {
                if (dirfd == AT_FDCWD)
                {
                    int cwdLength = CopyWorkingDirectory(path);
                    error = Vfs.Stat(path, cwdLength, follow: true, &record);
                }
                else
                {
                    OpenFile* file = FileTable.Use(dirfd);
                    if (file == null) return -Errno.EBADF;
                    error = Describe(file, &record);
                }
            }
            else
            {
                long length = ReadPath(dirfd, pathAddress, path);
                if (length < 0) return length;
                error = Vfs.Stat(path, (int)length, (flags & AT_SYMLINK_NOFOLLOW) == 0, &record);
            }
            if (error != 0) return error;
            return statx ? record.WriteStatx(address) : record.WriteStat(address);
        }

        internal static long Access(SyscallArgs* a) => AccessPath(AT_FDCWD, a->A0);

        internal static long FaccessAt(SyscallArgs* a) => AccessPath(a->Int0, a->A1);

        private static long AccessPath(int dirfd, ulong pathAddress)
        {
            byte* path = stackalloc byte[PathMax];
            long length = ReadPath(dirfd, pathAddress, path);
            if (length < 0) return length;
            return Vfs.Lookup(path, (int)length, follow: true, out _);
        }

        internal static long StatFs(SyscallArgs* a)
        {
            byte* path = stackalloc byte[PathMax];
            long length = ReadPath(AT_FDCWD, a->A0, path);
            if (length < 0) return length;
            return Vfs.StatFs(path, (int)length, a->A1);
        }

        // fstatfs: a 9P file asks the server; any other the file system it was opened in.
        internal static long FstatFs(SyscallArgs* a)
        {
            OpenFile* file = FileTable.Use(a->Int0);
            if (file == null) return -Errno.EBADF;
            return file->Kind == FileKind.NineP ? NinePFiles.StatFs(NinePFiles.ClientOf(file), file->Fid, a->A1, file->FileSystem != null && file->FileSystem->ReadOnly) : Vfs.WriteStatFs(file->FileSystem, a->A1);
        }
    }
}
