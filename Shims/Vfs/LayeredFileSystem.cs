namespace Libra.Shims
{
    // The share over the image: `-Share DIR` mounted at "/" above the read-only image root. A name
    // the share has is the share's; one it lacks falls through to the image (a lookup there is a
    // walk in memory). Changes go to the share only: changing a name only the image has is EROFS,
    // making one the image has is EEXIST. A directory lists the layer it was opened in, not the
    // union of both.
    internal static unsafe class LayeredFileSystem
    {
        internal struct Layers { internal FileSystem* Upper, Lower; }

        private static FileSystemOperations* s_ops;

        internal static FileSystemOperations* Operations
        {
            get
            {
                if (s_ops != null) return s_ops;
                s_ops = FileSystemOperations.New(&Open, &Stat, &Lookup, &ReadLink, makeDirectory: &MakeDirectory, symlink: &Symlink,
                    unlink: &Unlink, rename: &Rename, link: &Link, setAttributes: &SetAttributes, statFs: &StatFs);
                return s_ops;
            }
        }

        private static FileSystem* Upper(FileSystem* fs) => ((Layers*)fs->State)->Upper;

        private static FileSystem* Lower(FileSystem* fs) => ((Layers*)fs->State)->Lower;

        // Whether the image has the name (its last link followed when `follow`): 0, -ENOENT, or a redirect.
        private static long InLower(FileSystem* fs, PathWalk* walk, bool follow)
        {
            FileSystem* lower = Lower(fs);
            PathWalk probe = *walk;
            probe.Follow = follow;
            uint mode = 0;
            return lower->Ops->Lookup(lower, &probe, &mode);     // a redirect is in walk->Redirect, the buffer both share
        }

        private static long Open(FileSystem* fs, PathWalk* walk, int flags, uint mode, OpenFile** file)
        {
            FileSystem* upper = Upper(fs), lower = Lower(fs);
            long result = upper->Ops->Open(upper, walk, flags & ~FileTable.O_CREAT, mode, file);
            if (result == 0 && (flags & FileTable.O_CREAT) != 0 && (flags & FileTable.O_EXCL) != 0)
            {
                FileTable.ReleaseUnused(*file);
                return -Errno.EEXIST;
            }
            if (result != -Errno.ENOENT) return result;
            long below = InLower(fs, walk, follow: true);
            if (below == Vfs.Redirected) return below;
            if (below != 0) return (flags & FileTable.O_CREAT) != 0 ? ReadOnlyParent(fs, walk, upper->Ops->Open(upper, walk, flags, mode, file)) : result;
            if ((flags & FileTable.O_CREAT) != 0 && (flags & FileTable.O_EXCL) != 0) return -Errno.EEXIST;
            if ((flags & (FileTable.O_ACCMODE | FileTable.O_TRUNC)) != 0) return -Errno.EROFS;
            return lower->Ops->Open(lower, walk, flags & ~FileTable.O_CREAT, mode, file);
        }

        private static long Stat(FileSystem* fs, PathWalk* walk, StatRecord* record)
        {
            FileSystem* upper = Upper(fs), lower = Lower(fs);
            long result = upper->Ops->Stat(upper, walk, record);
            if (result != -Errno.ENOENT) return result;
            result = lower->Ops->Stat(lower, walk, record);
            if (result == 0) record->Device = lower->Device;
            return result;
        }

        private static long Lookup(FileSystem* fs, PathWalk* walk, uint* mode)
        {
            FileSystem* upper = Upper(fs), lower = Lower(fs);
            long result = upper->Ops->Lookup(upper, walk, mode);
            return result != -Errno.ENOENT ? result : lower->Ops->Lookup(lower, walk, mode);
        }

        private static long ReadLink(FileSystem* fs, PathWalk* walk, byte* target, int capacity)
        {
            FileSystem* upper = Upper(fs), lower = Lower(fs);
            long result = upper->Ops->ReadLink(upper, walk, target, capacity);
            return result != -Errno.ENOENT ? result : lower->Ops->ReadLink(lower, walk, target, capacity);
        }

        // mkdir and symlink: a name the image has exists already.
        private static long MakeDirectory(FileSystem* fs, PathWalk* walk, uint mode)
        {
            long below = InLower(fs, walk, follow: false);
            if (below == 0) return -Errno.EEXIST;
            if (below == Vfs.Redirected) return below;
            FileSystem* upper = Upper(fs);
            return ReadOnlyParent(fs, walk, upper->Ops->MakeDirectory(upper, walk, mode));
        }

        private static long Symlink(FileSystem* fs, byte* target, int targetLength, PathWalk* walk)
        {
            long below = InLower(fs, walk, follow: false);
            if (below == 0) return -Errno.EEXIST;
            if (below == Vfs.Redirected) return below;
            FileSystem* upper = Upper(fs);
            return ReadOnlyParent(fs, walk, upper->Ops->Symlink(upper, target, targetLength, walk));
        }

        // A name the share cannot make for lack of its directory, in a directory only the image has:
        // EROFS (the share's directories are not made to order).
        private static long ReadOnlyParent(FileSystem* fs, PathWalk* walk, long result)
        {
            if (result != -Errno.ENOENT || walk->Length <= 1) return result;
            PathName.SplitLast(walk->Path, walk->Length, out int parentLength, out _);
            byte* parent = stackalloc byte[PathName.Max];
            for (int i = 0; i < parentLength; i++) parent[i] = walk->Path[i];
            parent[parentLength] = 0;
            PathWalk probe = *walk;
            probe.Path = parent;
            probe.Length = parentLength;
            // A parent that is a link in the image (a redirect) is left as the share answered.
            return InLower(fs, &probe, follow: true) == 0 ? -Errno.EROFS : result;
        }

        // A change the share refuses for lack of the name is EROFS when only the image has it.
        private static long OnlyInImage(FileSystem* fs, PathWalk* walk, long result, bool follow)
        {
            if (result != -Errno.ENOENT) return result;
            long below = InLower(fs, walk, follow);
            return below == 0 ? -Errno.EROFS : below == Vfs.Redirected ? below : result;
        }

        private static long Unlink(FileSystem* fs, PathWalk* walk, bool directory)
        {
            FileSystem* upper = Upper(fs);
            return OnlyInImage(fs, walk, upper->Ops->Unlink(upper, walk, directory), follow: false);
        }

        private static long Rename(FileSystem* fs, PathWalk* from, PathWalk* to, uint flags)
        {
            FileSystem* upper = Upper(fs);
            return OnlyInImage(fs, from, upper->Ops->Rename(upper, from, to, flags), follow: false);
        }

        private static long Link(FileSystem* fs, PathWalk* from, PathWalk* to)
        {
            FileSystem* upper = Upper(fs);
            long result = upper->Ops->Link != null ? upper->Ops->Link(upper, from, to) : -Errno.EPERM;
            return OnlyInImage(fs, from, result, from->Follow);
        }

        private static long SetAttributes(FileSystem* fs, PathWalk* walk, NineP.NinePSetAttr* attributes)
        {
            FileSystem* upper = Upper(fs);
            return OnlyInImage(fs, walk, upper->Ops->SetAttributes(upper, walk, attributes), walk->Follow);
        }

        private static long StatFs(FileSystem* fs, PathWalk* walk, ulong address)
        {
            FileSystem* upper = Upper(fs);
            long result = upper->Ops->StatFs(upper, walk, address);
            if (result != -Errno.ENOENT) return result;
            long below = InLower(fs, walk, follow: true);
            return below != 0 ? below : Vfs.WriteStatFs(Lower(fs), address);
        }
    }
}
