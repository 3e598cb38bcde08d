using Libra.Arch.X64;
using Libra.Memory;

namespace Libra.Shims
{
    // The file calls' one way to a file system: a normalized guest path goes to the mount that
    // holds it (MountTable); a symbolic link that leads into another mount comes back as a guest
    // path and the call starts over there (at most 40 times: Linux's MAXSYMLINKS, then ELOOP).
    // Read-only mounts refuse changes with EROFS after the lookup Linux does first (so an existing
    // name still gives EEXIST, a missing one ENOENT).
    internal static unsafe class Vfs
    {
        internal const long Redirected = -4096;     // not an errno: walk->Redirect holds a guest path
        private const int MaxRedirects = 40;

        private enum Operation { Open, Stat, Lookup, ReadLink, MakeDirectory, Symlink, Unlink, SetAttributes, StatFs }

        private struct Arguments
        {
            internal int Flags;
            internal uint Mode;
            internal OpenFile* File;
            internal ulong Address;
            internal byte* Buffer;
            internal int Capacity;
            internal NineP.NinePSetAttr* Attributes;
            internal StatRecord* Record;
        }

        internal static long Open(byte* path, int length, int flags, uint mode, out OpenFile* file)
        {
            Arguments a = default;
            a.Flags = flags;
            a.Mode = mode;
            long result = Run(Operation.Open, path, length, follow: (flags & FileTable.O_NOFOLLOW) == 0, &a);
            file = result == 0 ? a.File : null;
            return result;
        }

        internal static long Stat(byte* path, int length, bool follow, StatRecord* record)
        {
            Arguments a = default;
            a.Record = record;
            return Run(Operation.Stat, path, length, follow, &a);
        }

        // Whether a path names something: 0 and its st_mode, or -errno.
        internal static long Lookup(byte* path, int length, bool follow, out uint mode)
        {
            Arguments a = default;
            long result = Run(Operation.Lookup, path, length, follow, &a);
            mode = a.Mode;
            return result;
        }

        internal static long ReadLink(byte* path, int length, byte* target, int capacity)
        {
            Arguments a = default;
            a.Buffer = target;
            a.Capacity = capacity;
            return Run(Operation.ReadLink, path, length, follow: false, &a);
        }

        internal static long MakeDirectory(byte* path, int length, uint mode)
        {
            Arguments a = default;
            a.Mode = mode;
            return Run(Operation.MakeDirectory, path, length, follow: false, &a);
        }

        internal static long Symlink(byte* target, int targetLength, byte* path, int length)
        {
            Arguments a = default;
            a.Buffer = target;
            a.Capacity = targetLength;
            return Run(Operation.Symlink, path, length, follow: false, &a);
        }

        internal static long Unlink(byte* path, int length, bool directory)
        {
            if (directory && MountTable.IsMountPoint(path, length)) return -Errno.EBUSY;
            Arguments a = default;
            a.Flags = directory ? 1 : 0;
            return Run(Operation.Unlink, path, length, follow: false, &a);
        }

        internal static long SetAttributes(byte* path, int length, bool follow, NineP.NinePSetAttr* attributes)
        {
            Arguments a = default;
            a.Attributes = attributes;
            return Run(Operation.SetAttributes, path, length, follow, &a);
        }

        internal static long StatFs(byte* path, int length, ulong address)
        {
            Arguments a = default;
            a.Address = address;
            return Run(Operation.StatFs, path, length, follow: true, &a);
        }

        // The caller's path is read in place; only a redirect (a link into another mount, rare) needs
        // a buffer of its own, from the heap, so a plain call zeroes one stack buffer, not two.
        private static long Run(Operation operation, byte* path, int length, bool follow, Arguments* a)
        {
            byte* redirect = stackalloc byte[PathName.Max];
            byte* current = path, followed = null;
            long result = -Errno.ELOOP;
            for (int hops = 0; hops <= MaxRedirects; hops++)
            {
                FileSystem* fs = MountTable.Find(current, length, out byte* inner, out int innerLength);
                if (fs == null) { result = -Errno.ENOENT; break; }
                PathWalk walk;
                walk.Path = inner;
                walk.Length = innerLength;
                walk.Follow = follow;
                walk.Redirect = redirect;
                result = Dispatch(operation, fs, &walk, a);
                if (result != Redirected) break;
                result = -Errno.ELOOP;
                if (followed == null) followed = (byte*)KernelHeap.TryAllocateZeroed(PathName.Max);
                if (followed == null) { result = -Errno.ENOMEM; break; }
                length = Restart(redirect, followed);
                current = followed;
            }
            if (followed != null) KernelHeap.Free(followed);
            return result;
        }

        // The redirected guest path becomes the current one.
        private static int Restart(byte* redirect, byte* current)
        {
            int n = 0;
            while (redirect[n] != 0) n++;
            Native.MemMove(current, redirect, (nuint)(n + 1));
            return n;
        }

        private static long Dispatch(Operation operation, FileSystem* fs, PathWalk* walk, Arguments* a)
        {
            FileSystemOperations* ops = fs->Ops;
            if (fs->ReadOnly && Changes(operation, a))
            {
                long refusal = ReadOnlyAnswer(operation, fs, walk, a);
                if (refusal != 0) return refusal;
            }
            switch (operation)
            {
                case Operation.Open:
                    if (ops->Open == null) return -Errno.ENOENT;
                    OpenFile* file = null;
                    long opened = ops->Open(fs, walk, a->Flags, a->Mode, &file);
                    if (opened == 0 && file->FileSystem == null) file->FileSystem = fs;
                    a->File = file;
                    return opened;
                case Operation.Stat:
                    long stat = ops->Stat(fs, walk, a->Record);
                    if (stat == 0 && a->Record->Device == 0) a->Record->Device = fs->Device;
                    return stat;
                case Operation.Lookup:
                    uint mode = 0;
                    long found = ops->Lookup(fs, walk, &mode);
                    a->Mode = mode;
                    return found;
                case Operation.ReadLink: return ops->ReadLink != null ? ops->ReadLink(fs, walk, a->Buffer, a->Capacity) : NotThere(fs, walk, -Errno.EINVAL);
                case Operation.MakeDirectory: return ops->MakeDirectory != null ? ops->MakeDirectory(fs, walk, a->Mode) : Refuse(fs, walk, creates: true);
                case Operation.Symlink: return ops->Symlink != null ? ops->Symlink(fs, a->Buffer, a->Capacity, walk) : Refuse(fs, walk, creates: true);
                case Operation.Unlink: return ops->Unlink != null ? ops->Unlink(fs, walk, a->Flags != 0) : Refuse(fs, walk, creates: false);
                case Operation.SetAttributes: return ops->SetAttributes != null ? ops->SetAttributes(fs, walk, a->Attributes) : NotThere(fs, walk, -Errno.EPERM);
                case Operation.StatFs:
                    if (ops->StatFs != null) return ops->StatFs(fs, walk, a->Address);
                    long exists = NotThere(fs, walk, 0);
                    return exists != 0 ? exists : WriteStatFs(fs, a->Address);
                default: return -Errno.ENOSYS;
            }
        }

        private static bool Changes(Operation operation, Arguments* a) => operation switch
        {
            Operation.Open => (a->Flags & (FileTable.O_ACCMODE | FileTable.O_CREAT | FileTable.O_TRUNC)) != 0,
            Operation.MakeDirectory or Operation.Symlink or Operation.Unlink or Operation.SetAttributes => true,
            _ => false,
        };

        // On a read-only mount: EEXIST or ENOENT where the lookup decides, EROFS otherwise; 0 lets
        // an open with O_CREAT of an existing file go on (read-only).
        private static long ReadOnlyAnswer(Operation operation, FileSystem* fs, PathWalk* walk, Arguments* a)
        {
            uint mode = 0;
            PathWalk probe = *walk;
            probe.Follow = operation == Operation.Open || operation == Operation.SetAttributes ? walk->Follow : false;
            long found = fs->Ops->Lookup(fs, &probe, &mode);
            if (found == Redirected) return Redirected;
            bool creates = operation == Operation.MakeDirectory || operation == Operation.Symlink;
            if (found == 0 && creates) return -Errno.EEXIST;
            if (found != 0 && found != -Errno.ENOENT) return found;
            if (operation == Operation.Open)
            {
                bool writes = (a->Flags & (FileTable.O_ACCMODE | FileTable.O_TRUNC)) != 0;
                if (found == 0 && (a->Flags & FileTable.O_CREAT) != 0 && (a->Flags & FileTable.O_EXCL) != 0) return -Errno.EEXIST;
                if (found == 0 && !writes) return 0;
                if (found != 0 && (a->Flags & FileTable.O_CREAT) == 0) return found;
                if (found == 0 && (mode & 0xf000) == FileTable.S_IFDIR) return -Errno.EISDIR;
                return -Errno.EROFS;
            }
            if (found != 0 && !creates) return found;
            return -Errno.EROFS;
        }

        // What a file system without the operation answers: the lookup's error, else `otherwise`.
        private static long NotThere(FileSystem* fs, PathWalk* walk, long otherwise)
        {
            uint mode = 0;
            long found = fs->Ops->Lookup(fs, walk, &mode);
            return found != 0 ? found : otherwise;
        }

        // mkdir, symlink, unlink where the file system makes no names (/proc, /sys, /dev), as Linux's
        // /proc answers root: EEXIST or EPERM for a name that is there, ENOENT for one that is not.
        private static long Refuse(FileSystem* fs, PathWalk* walk, bool creates)
        {
            PathWalk probe = *walk;
            probe.Follow = false;
            uint mode = 0;
            long found = fs->Ops->Lookup(fs, &probe, &mode);
            if (found == Redirected) return Redirected;
            return found == 0 ? (creates ? -Errno.EEXIST : -Errno.EPERM) : found;
        }

        // rename and link: both names in one file system, else EXDEV (as Linux, even on one device
        // mounted twice); a read-only mount refuses with EROFS.
        internal static long Rename(byte* from, int fromLength, byte* to, int toLength, uint flags) => TwoNames(from, fromLength, to, toLength, flags, link: false);

        internal static long Link(byte* from, int fromLength, byte* to, int toLength, bool follow) => TwoNames(from, fromLength, to, toLength, follow ? 1u : 0u, link: true);

        private static long TwoNames(byte* from, int fromLength, byte* to, int toLength, uint flags, bool link)
        {
            if (!link && (MountTable.IsMountPoint(from, fromLength) || MountTable.IsMountPoint(to, toLength))) return -Errno.EBUSY;
            byte* first = stackalloc byte[PathName.Max];
            byte* second = stackalloc byte[PathName.Max];
            byte* firstRedirect = stackalloc byte[PathName.Max];
            byte* secondRedirect = stackalloc byte[PathName.Max];
            Native.MemMove(first, from, (nuint)(fromLength + 1));
            Native.MemMove(second, to, (nuint)(toLength + 1));
            for (int hops = 0; hops <= MaxRedirects; hops++)
            {
                FileSystem* fs = MountTable.Find(first, fromLength, out byte* fromInner, out int fromInnerLength);
                FileSystem* target = MountTable.Find(second, toLength, out byte* toInner, out int toInnerLength);
                if (fs == null || target == null) return -Errno.ENOENT;
                // linkat(AT_FDCWD, "/proc/self/fd/N", ..., AT_SYMLINK_FOLLOW) names descriptor N's file (an O_TMPFILE one too).
                OpenFile* named = link && flags != 0 ? ProcFiles.DescriptorFile(fs, fromInner) : null;
                if (named != null) return LinkOpen(named, second, toLength);
                PathWalk a, b;
                a.Path = fromInner; a.Length = fromInnerLength; a.Follow = link && flags != 0; a.Redirect = firstRedirect;
                b.Path = toInner; b.Length = toInnerLength; b.Follow = false; b.Redirect = secondRedirect;
                firstRedirect[0] = secondRedirect[0] = 0;
                uint mode = 0;
                long found = fs->Ops->Lookup(fs, &a, &mode);
                if (found == 0 && fs != target) return -Errno.EXDEV;
                long result = found;
                if (found == 0)
                {
                    if (fs->ReadOnly) return -Errno.EROFS;
                    if (link) result = fs->Ops->Link != null ? fs->Ops->Link(fs, &a, &b) : -Errno.EPERM;
                    else result = fs->Ops->Rename != null ? fs->Ops->Rename(fs, &a, &b, flags) : -Errno.EXDEV;
                }
                if (result != Redirected) return result;
                if (firstRedirect[0] != 0) fromLength = Restart(firstRedirect, first);
                if (secondRedirect[0] != 0) toLength = Restart(secondRedirect, second);
            }
            return -Errno.ELOOP;
        }

        // linkat(fd, "", ...): a name for an open file, in the file system it was opened in.
        internal static long LinkOpen(OpenFile* file, byte* to, int toLength)
        {
            byte* current = stackalloc byte[PathName.Max];
            byte* redirect = stackalloc byte[PathName.Max];
            Native.MemMove(current, to, (nuint)(toLength + 1));
            for (int hops = 0; hops <= MaxRedirects; hops++)
            {
                FileSystem* fs = MountTable.Find(current, toLength, out byte* inner, out int innerLength);
                if (fs == null) return -Errno.ENOENT;
                if (fs != file->FileSystem) return -Errno.EXDEV;
                if (fs->ReadOnly) return -Errno.EROFS;
                if (file->Kind != FileKind.Memory) return -Errno.EPERM;
                PathWalk walk;
                walk.Path = inner; walk.Length = innerLength; walk.Follow = false; walk.Redirect = redirect;
                long result = MemoryFileSystem.LinkOpen(file, fs, &walk);
                if (result != Redirected) return result;
                toLength = Restart(redirect, current);
            }
            return -Errno.ELOOP;
        }

        // struct statfs (120 bytes): type, bsize, blocks, bfree, bavail, files, ffree, fsid, namelen, frsize, flags.
        internal static long WriteStatFs(FileSystem* fs, ulong address)
        {
            long* statfs = stackalloc long[15];
            for (int i = 0; i < 15; i++) statfs[i] = 0;
            statfs[0] = fs != null ? fs->Magic : 0x01021994; statfs[1] = 4096; statfs[8] = 255; statfs[9] = 4096;
            if (fs != null && fs->ReadOnly) statfs[10] = 1;     // ST_RDONLY
            return UserMemory.CopyToUser(address, statfs, 120) ? 0 : -Errno.EFAULT;
        }
    }
}
