using Libra.Memory;

namespace Libra.Shims
{
    // One path being looked up in one file system: the name inside it (the mount point cut off), and
    // where a symbolic link that leads out of it is written back as a guest path (Vfs follows it).
    internal unsafe struct PathWalk
    {
        internal byte* Path;        // normalized, absolute inside the file system, NUL-terminated
        internal int Length;
        internal bool Follow;       // follow a symbolic link in the last name too
        internal byte* Redirect;    // PathName.Max bytes: a guest path, when an operation returns Vfs.Redirected
    }

    // What one kind of file system does with names (Linux's inode_operations, Unikraft's vfscore
    // vnops, reduced to whole paths: each file system resolves its own names). Every operation
    // answers 0 or a byte count, -errno, or Vfs.Redirected after writing a guest path into
    // walk->Redirect (a link that leads elsewhere). A null entry: the file system does not do that;
    // Vfs says what Linux answers then.
    internal unsafe struct FileSystemOperations
    {
        internal delegate*<FileSystem*, PathWalk*, int, uint, OpenFile**, long> Open;
        internal delegate*<FileSystem*, PathWalk*, StatRecord*, long> Stat;
        // Whether the name exists: its st_mode.
        internal delegate*<FileSystem*, PathWalk*, uint*, long> Lookup;
        // A link's target into a kernel buffer: its length.
        internal delegate*<FileSystem*, PathWalk*, byte*, int, long> ReadLink;
        internal delegate*<FileSystem*, PathWalk*, uint, long> MakeDirectory;
        internal delegate*<FileSystem*, byte*, int, PathWalk*, long> Symlink;
        // unlink, or rmdir when the flag is set.
        internal delegate*<FileSystem*, PathWalk*, bool, long> Unlink;
        // rename within the file system (RENAME_NOREPLACE in the flags).
        internal delegate*<FileSystem*, PathWalk*, PathWalk*, uint, long> Rename;
        // A hard link: the second name for the first's file.
        internal delegate*<FileSystem*, PathWalk*, PathWalk*, long> Link;
        // chmod, utimensat, truncate (9P2000.L's Tsetattr record, which mirrors Linux's iattr).
        internal delegate*<FileSystem*, PathWalk*, NineP.NinePSetAttr*, long> SetAttributes;
        // struct statfs into user memory. Null: the magic number and nothing else.
        internal delegate*<FileSystem*, PathWalk*, ulong, long> StatFs;

        // A file system's table, each operation named (the ones left out are null).
        internal static FileSystemOperations* New(
            delegate*<FileSystem*, PathWalk*, int, uint, OpenFile**, long> open,
            delegate*<FileSystem*, PathWalk*, StatRecord*, long> stat,
            delegate*<FileSystem*, PathWalk*, uint*, long> lookup,
            delegate*<FileSystem*, PathWalk*, byte*, int, long> readLink,
            delegate*<FileSystem*, PathWalk*, uint, long> makeDirectory = null,
            delegate*<FileSystem*, byte*, int, PathWalk*, long> symlink = null,
            delegate*<FileSystem*, PathWalk*, bool, long> unlink = null,
            delegate*<FileSystem*, PathWalk*, PathWalk*, uint, long> rename = null,
            delegate*<FileSystem*, PathWalk*, PathWalk*, long> link = null,
            delegate*<FileSystem*, PathWalk*, NineP.NinePSetAttr*, long> setAttributes = null,
            delegate*<FileSystem*, PathWalk*, ulong, long> statFs = null)
        {
            var ops = (FileSystemOperations*)KernelHeap.AllocateZeroed((ulong)sizeof(FileSystemOperations));
            ops->Open = open; ops->Stat = stat; ops->Lookup = lookup; ops->ReadLink = readLink;
            ops->MakeDirectory = makeDirectory; ops->Symlink = symlink; ops->Unlink = unlink; ops->Rename = rename;
            ops->Link = link; ops->SetAttributes = setAttributes; ops->StatFs = statFs;
            return ops;
        }
    }

    // One mounted file system: its operations and state, where it is mounted, and what
    // /proc/mounts says of it.
    internal unsafe struct FileSystem
    {
        internal const int MountPointMax = 256;

        internal FileSystemOperations* Ops;
        internal void* State;
        internal fixed byte MountPoint[MountPointMax];
        internal int MountPointLength;
        internal bool ReadOnly;
        internal long Magic;                // statfs f_type (include/uapi/linux/magic.h)
        internal ulong Device;              // st_dev of its files
        internal fixed byte Type[16];       // /proc/mounts' third field, NUL-terminated
        internal fixed byte Source[64];     // and its first

        internal static void SetText(byte* field, int capacity, string text)
        {
            int i = 0;
            for (; i < text.Length && i < capacity - 1; i++) field[i] = (byte)text[i];
            field[i] = 0;
        }
    }
}
