using Libra.Memory;
using static Libra.Shims.Paths;

namespace Libra.Shims
{
    // A file's attributes: mode, times, size.
    internal static unsafe class AttributeCalls
    {
        internal static long Chmod(SyscallArgs* a) => ChangeMode(AT_FDCWD, a->A0, (uint)a->A1, 0, -1);

        internal static long FchmodAt(SyscallArgs* a) => ChangeMode(a->Int0, a->A1, (uint)a->A2, a->Int3, -1);

        internal static long Fchmod(SyscallArgs* a) => ChangeMode(AT_FDCWD, 0, (uint)a->A1, 0, a->Int0);

        private static long ChangeMode(int dirfd, ulong pathAddress, uint mode, int flags, int fd)
        {
            NineP.NinePSetAttr attr = default;
            attr.Valid = NineP.NinePProtocol.SetattrMode;
            attr.Mode = mode & 0xfff;
            return SetAttributes(dirfd, pathAddress, fd, (flags & AT_SYMLINK_NOFOLLOW) == 0, in attr);
        }

        // utimensat(dirfd, path, times[2], flags); a null path means dirfd itself (futimens).
        internal static long UtimensAt(SyscallArgs* a)
        {
            const long UTIME_NOW = 0x3fffffff, UTIME_OMIT = 0x3ffffffe;
            NineP.NinePSetAttr attr = default;
            if (a->A2 == 0) attr.Valid = NineP.NinePProtocol.SetattrAtime | NineP.NinePProtocol.SetattrMtime;
            else
            {
                long* times = stackalloc long[4];
                if (!UserMemory.CopyFromUser(times, a->A2, 32)) return -Errno.EFAULT;
                for (int i = 0; i < 2; i++)
                {
                    long nsec = times[i * 2 + 1];
                    if (nsec == UTIME_OMIT) continue;
                    if (nsec != UTIME_NOW && (nsec < 0 || nsec >= 1_000_000_000)) return -Errno.EINVAL;
                    uint now = i == 0 ? NineP.NinePProtocol.SetattrAtime : NineP.NinePProtocol.SetattrMtime;
                    uint set = i == 0 ? NineP.NinePProtocol.SetattrAtimeSet : NineP.NinePProtocol.SetattrMtimeSet;
                    attr.Valid |= nsec == UTIME_NOW ? now : now | set;
                    if (i == 0) { attr.AtimeSec = (ulong)times[0]; attr.AtimeNsec = (ulong)nsec; }
                    else { attr.MtimeSec = (ulong)times[2]; attr.MtimeNsec = (ulong)nsec; }
                }
                if (attr.Valid == 0) return 0;
            }
            return SetAttributes(a->Int0, a->A1, a->A1 == 0 ? a->Int0 : -1, (a->Int3 & AT_SYMLINK_NOFOLLOW) == 0, in attr);
        }

        // Tsetattr on an open descriptor (fd >= 0) or on a path.
        private static long SetAttributes(int dirfd, ulong pathAddress, int fd, bool follow, in NineP.NinePSetAttr attr)
        {
            NineP.NinePSetAttr copy = attr;
            if (fd >= 0)
            {
                OpenFile* file = FileTable.Use(fd);
                if (file == null) return -Errno.EBADF;
                return file->Ops->SetAttributes != null ? file->Ops->SetAttributes(file, &copy) : -Errno.EPERM;
            }
            byte* path = stackalloc byte[PathMax];
            long length = ReadPath(dirfd, pathAddress, path);
            if (length < 0) return length;
            return Vfs.SetAttributes(path, (int)length, follow, &copy);
        }

        internal static long Ftruncate(SyscallArgs* a)
        {
            OpenFile* file = FileTable.Use(a->Int0);
            if (file == null) return -Errno.EBADF;
            if ((long)a->A1 < 0) return -Errno.EINVAL;
            if (file->Ops->SetAttributes == null || !file->IsRegular || !file->CanWrite) return -Errno.EINVAL;
            NineP.NinePSetAttr attr = default;
            attr.Valid = NineP.NinePProtocol.SetattrSize;
            attr.Size = a->A1;
            return file->Ops->SetAttributes(file, &attr);
        }

        internal static long Truncate(SyscallArgs* a)
        {
            if ((long)a->A1 < 0) return -Errno.EINVAL;
            NineP.NinePSetAttr attr = default;
            attr.Valid = NineP.NinePProtocol.SetattrSize;
            attr.Size = a->A1;
            return SetAttributes(AT_FDCWD, a->A0, -1, true, in attr);
        }
    }
}
