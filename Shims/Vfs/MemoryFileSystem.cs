using System;
using Libra.Arch.X64;
using Libra.Memory;
using Libra.Time;

namespace Libra.Shims
{
    // A file in memory: a regular file's bytes (in page-sized chunks it owns, or one span it borrows
    // from the boot image), a link's target, or a directory's entries.
    internal unsafe struct MemoryNode
    {
        internal uint Mode, Uid, Gid;
        internal ulong Links;               // names (a directory: its entry, its ".", each subdirectory's "..")
        internal int Opens;                 // open descriptions; a node with neither goes
        internal ulong Inode, Size;
        internal byte* Borrowed;            // the bytes in the image (regular files and links from it)
        internal ulong** Chunks;            // or owned chunks of ChunkSize bytes
        internal ulong ChunkCapacity;       // entries in Chunks
        internal MemoryEntry* Entries;      // a directory's names, newest first
        internal MemoryNode* Parent;        // a directory's ".."
        internal long MtimeSec, MtimeNsec, CtimeSec, CtimeNsec;

        internal bool IsDirectory => (Mode & 0xf000) == FileTable.S_IFDIR;
        internal bool IsLink => (Mode & 0xf000) == FileTable.S_IFLNK;
    }

    internal unsafe struct MemoryEntry
    {
        internal const int NameMax = 255;
        internal MemoryEntry* Next;
        internal MemoryNode* Node;
        internal int NameLength;
        internal fixed byte Name[NameMax + 1];
    }

    // One memory file system: its root and what its files may use.
    internal unsafe struct MemoryVolume
    {
        internal MemoryNode* Root;
        internal ulong Limit, Used;         // bytes of owned chunks, charged a page each; Limit 0: no limit
        internal ulong NextInode;
    }

    // Files held in kernel memory: the image's read-only root (the boot image's files, borrowed in
    // place) and tmpfs at /tmp (writable, its size limited: ENOSPC when full, with nothing written
    // in part beyond what fits). Names resolve here; a symbolic link is handed back to Vfs as a guest
    // path, since its target may be in another mount.
    internal static unsafe class MemoryFileSystem
    {
        internal const long TmpfsMagic = 0x01021994, RamfsMagic = unchecked((long)0x858458f6);
        private const ulong ChunkSize = 4096 - 16;     // one page from the heap, its header included
        private const int O_TMPFILE = 0x400000;

        private static FileSystemOperations* s_ops;
        private static FileOperations* s_fileOps;

        internal static FileSystemOperations* Operations
        {
            get
            {
                if (s_ops == null) Initialize();
                return s_ops;
            }
        }

        private static void Initialize()
        {
            s_ops = FileSystemOperations.New(&Open, &Stat, &Lookup, &ReadLink, makeDirectory: &MakeDirectory, symlink: &Symlink,
                unlink: &Unlink, rename: &Rename, link: &Link, setAttributes: &SetAttributes, statFs: &StatFs);

            s_fileOps = FileOperations.New();
            s_fileOps->Read = &Read;
            s_fileOps->Write = &Write;
            s_fileOps->Stat = &StatOpen;
            s_fileOps->Release = &Release;
            s_fileOps->SeekEnd = &SizeOf;
            s_fileOps->GetDents = &GetDents;
            s_fileOps->SetAttributes = &SetOpenAttributes;
        }

        // A new, empty volume (limit 0: none).
        internal static MemoryVolume* NewVolume(ulong limit)
        {
            var volume = (MemoryVolume*)KernelHeap.AllocateZeroed((ulong)sizeof(MemoryVolume));
            volume->Limit = limit;
            volume->NextInode = 1;
            volume->Root = NewNode(volume, FileTable.S_IFDIR | 0x1ed);
            if (volume->Root == null) Diagnostics.Panic.Halt("out of memory for a file system at boot");
            volume->Root->Parent = volume->Root;
            volume->Root->Links = 2;
            return volume;
        }

        // A new node; null when the kernel heap cannot hold it (the call answers ENOSPC, as
        // shmem_get_inode does when it cannot have an inode).
        private static MemoryNode* NewNode(MemoryVolume* volume, uint mode)
        {
            var node = (MemoryNode*)KernelHeap.TryAllocateZeroed((ulong)sizeof(MemoryNode));
            if (node == null) return null;
            node->Mode = mode;
            node->Inode = ++volume->NextInode;
            ulong now = Clock.RealtimeNanoseconds();
            node->MtimeSec = node->CtimeSec = (long)(now / 1_000_000_000);
            node->MtimeNsec = node->CtimeNsec = (long)(now % 1_000_000_000);
            return node;
        }

        // Boot-time building (the image's files, the kernel's /etc files): the node at `path` with
        // its parents made as needed, or an existing one of the same type; null when the path is
        // taken by another type or a name is too long.
        internal static MemoryNode* Add(MemoryVolume* volume, ReadOnlySpan<byte> path, uint mode, byte* data, ulong size)
        {
            MemoryNode* directory = volume->Root;
            int i = 0;
            while (NextName(path, ref i, out ReadOnlySpan<byte> name, out bool last))
            {
                MemoryEntry* entry = Find(directory, name);
                if (entry != null)
                {
                    if (!last) { if (!entry->Node->IsDirectory) return null; directory = entry->Node; continue; }
                    if ((entry->Node->Mode & 0xf000) != (mode & 0xf000)) return null;
                    if (!entry->Node->IsDirectory) { entry->Node->Borrowed = data; entry->Node->Size = size; }
                    entry->Node->Mode = mode;
                    return entry->Node;
                }
                if (name.Length > MemoryEntry.NameMax) return null;
                MemoryNode* node = NewNode(volume, last ? mode : FileTable.S_IFDIR | 0x1ed);
                if (node == null) return null;
                if (last && !node->IsDirectory) { node->Borrowed = data; node->Size = size; }
                if (!Insert(directory, name, node)) { KernelHeap.Free(node); return null; }
                if (last) return node;
                directory = node;
            }
            return directory;       // "", "/" or ".": the root itself, or a path ending in "."
        }

        // Whether the volume has a name (links not followed).
        internal static bool Exists(MemoryVolume* volume, ReadOnlySpan<byte> path) => Named(volume, path) != null;

        // The node a path names (links not followed), or null.
        internal static MemoryNode* Named(MemoryVolume* volume, ReadOnlySpan<byte> path)
        {
            MemoryNode* node = volume->Root;
            int i = 0;
            while (NextName(path, ref i, out ReadOnlySpan<byte> name, out _))
            {
                if (!node->IsDirectory) return null;
                MemoryEntry* entry = Find(node, name);
                if (entry == null) return null;
                node = entry->Node;
            }
            return node;
        }

        // The next name of a boot-time path at `i` (repeated slashes and "." skipped), and whether it
        // is the last; false when no name is left.
        private static bool NextName(ReadOnlySpan<byte> path, ref int i, out ReadOnlySpan<byte> name, out bool last)
        {
            while (true)
            {
                while (i < path.Length && path[i] == (byte)'/') i++;
                int start = i;
                while (i < path.Length && path[i] != (byte)'/') i++;
                name = path.Slice(start, i - start);
                while (i < path.Length && path[i] == (byte)'/') i++;
                last = i == path.Length;
                if (name.Length == 0) return false;
                if (name.Length != 1 || name[0] != (byte)'.') return true;
                if (last) return false;
            }
        }

        // A second name for a node (the image's hard links).
        internal static bool AddLink(MemoryVolume* volume, ReadOnlySpan<byte> path, MemoryNode* node)
        {
            int slash = path.Length - 1;
            while (slash >= 0 && path[slash] != (byte)'/') slash--;
            MemoryNode* directory = slash <= 0 ? volume->Root : Add(volume, path.Slice(0, slash), FileTable.S_IFDIR | 0x1ed, null, 0);
            ReadOnlySpan<byte> name = path.Slice(slash + 1);
            if (directory == null || name.Length == 0 || name.Length > MemoryEntry.NameMax || Find(directory, name) != null) return false;
            return Insert(directory, name, node);
        }

        private static MemoryEntry* Find(MemoryNode* directory, ReadOnlySpan<byte> name)
        {
            for (MemoryEntry* e = directory->Entries; e != null; e = e->Next)
                if (e->NameLength == name.Length && Same(e->Name, name)) return e;
            return null;
        }

        private static bool Same(byte* stored, ReadOnlySpan<byte> name)
        {
            for (int i = 0; i < name.Length; i++) if (stored[i] != name[i]) return false;
            return true;
        }

        // A name for `node` in `directory`; false, with nothing changed, when the kernel heap cannot
        // hold the entry (the call answers ENOMEM, as a failed d_alloc).
        private static bool Insert(MemoryNode* directory, ReadOnlySpan<byte> name, MemoryNode* node)
        {
            MemoryEntry* entry = NewEntry(name);
            if (entry == null) return false;
            Link(directory, entry, node);
            return true;
        }

        private static MemoryEntry* NewEntry(ReadOnlySpan<byte> name)
        {
            var entry = (MemoryEntry*)KernelHeap.TryAllocateZeroed((ulong)sizeof(MemoryEntry));
            if (entry == null) return null;
            for (int k = 0; k < name.Length; k++) entry->Name[k] = name[k];
            entry->NameLength = name.Length;
            return entry;
        }

        private static void Link(MemoryNode* directory, MemoryEntry* entry, MemoryNode* node)
        {
            entry->Node = node;
            entry->Next = directory->Entries;
            directory->Entries = entry;
            node->Links++;
            if (node->IsDirectory) { node->Parent = directory; node->Links++; directory->Links++; }
            Touch(directory);
        }

        // Takes the entry out of its directory; the node goes when nothing names or holds it.
        private static void Remove(MemoryVolume* volume, MemoryNode* directory, MemoryEntry* entry)
        {
            MemoryEntry** link = &directory->Entries;
            while (*link != entry) link = &(*link)->Next;
            *link = entry->Next;
            MemoryNode* node = entry->Node;
            KernelHeap.Free(entry);
            node->Links--;
            if (node->IsDirectory) { node->Links--; directory->Links--; }
            Touch(directory);
            ReleaseIfUnused(volume, node);
        }

        private static void ReleaseIfUnused(MemoryVolume* volume, MemoryNode* node)
        {
            if (node->Links > 0 || node->Opens > 0) return;
            Resize(volume, node, 0);
            if (node->Chunks != null) KernelHeap.Free(node->Chunks);
            KernelHeap.Free(node);
        }

        private static void Touch(MemoryNode* node)
        {
            ulong now = Clock.RealtimeNanoseconds();
            node->MtimeSec = node->CtimeSec = (long)(now / 1_000_000_000);
            node->MtimeNsec = node->CtimeNsec = (long)(now % 1_000_000_000);
        }

        // The result of resolving a path: the node (null when the last name is missing but its
        // directory is there, for the calls that create it), its directory and entry.
        private struct Found
        {
            internal MemoryNode* Node, Directory;
            internal MemoryEntry* Entry;
            internal int NameStart;
        }

        // Walks the path name by name. A symbolic link that must be followed (before the last name,
        // or the last when walk->Follow) becomes a guest path in walk->Redirect: Vfs.Redirected.
        private static long Resolve(FileSystem* fs, PathWalk* walk, Found* found)
        {
            var volume = (MemoryVolume*)fs->State;
            MemoryNode* node = volume->Root;
            *found = default;
            found->Node = node;
            found->Directory = node;
            byte* path = walk->Path;
            int i = 1;
            while (i < walk->Length)
            {
                int start = i;
                while (i < walk->Length && path[i] != (byte)'/') i++;
                var name = new ReadOnlySpan<byte>(path + start, i - start);
                bool last = i >= walk->Length;
                if (!node->IsDirectory) return -Errno.ENOTDIR;
                if (name.Length > MemoryEntry.NameMax) return -Errno.ENAMETOOLONG;
                MemoryEntry* entry = Find(node, name);
                found->Directory = node;
                found->NameStart = start;
                found->Entry = entry;
                if (entry == null) { found->Node = null; return last ? 0 : -Errno.ENOENT; }
                if (entry->Node->IsLink && (!last || walk->Follow)) return Redirect(fs, walk, start, i, entry->Node);
                node = entry->Node;
                found->Node = node;
                i++;
            }
            return 0;
        }

        // The link's target read in its directory, the rest of the path after it, as a guest path.
        private static long Redirect(FileSystem* fs, PathWalk* walk, int nameStart, int nameEnd, MemoryNode* link)
        {
            byte* parent = stackalloc byte[PathName.Max];
            int n = 0;
            if (fs->MountPointLength > 1) for (; n < fs->MountPointLength; n++) parent[n] = fs->MountPoint[n];
            int innerParent = nameStart > 1 ? nameStart - 1 : (n == 0 ? 1 : 0);
            if (n + innerParent >= PathName.Max) return -Errno.ENAMETOOLONG;
            for (int k = 0; k < innerParent; k++) parent[n++] = walk->Path[k];
            byte* target = stackalloc byte[PathName.Max];
            int targetLength = CopyOut(link, target, PathName.Max - 1);
            int length = PathName.Splice(new ReadOnlySpan<byte>(parent, n), new ReadOnlySpan<byte>(target, targetLength),
                new ReadOnlySpan<byte>(walk->Path + nameEnd, walk->Length - nameEnd), walk->Redirect);
            return length < 0 ? length : Vfs.Redirected;
        }

        // Resolves a path that must exist.
        private static long Existing(FileSystem* fs, PathWalk* walk, Found* found)
        {
            long error = Resolve(fs, walk, found);
            if (error != 0) return error;
            return found->Node == null ? -Errno.ENOENT : 0;
        }

        private static long Lookup(FileSystem* fs, PathWalk* walk, uint* mode)
        {
            Found found;
            long error = Existing(fs, walk, &found);
            if (error == 0) *mode = found.Node->Mode;
            return error;
        }

        private static long Stat(FileSystem* fs, PathWalk* walk, StatRecord* record)
        {
            Found found;
            long error = Existing(fs, walk, &found);
            if (error == 0) Describe(found.Node, record);
            return error;
        }

        private static void Describe(MemoryNode* node, StatRecord* r)
        {
            *r = default;
            r->Inode = node->Inode;
            r->Mode = node->Mode;
            r->Links = node->Links;
            r->Uid = node->Uid;
            r->Gid = node->Gid;
            r->Size = node->IsDirectory ? 4096 : node->Size;
            r->BlockSize = 4096;
            r->Blocks = node->Borrowed != null || node->IsDirectory ? (r->Size + 511) / 512 : Chunks(node->Size) * 8;
            r->MtimeSec = (ulong)node->MtimeSec; r->MtimeNsec = (ulong)node->MtimeNsec;
            r->AtimeSec = (ulong)node->MtimeSec; r->AtimeNsec = (ulong)node->MtimeNsec;
            r->CtimeSec = (ulong)node->CtimeSec; r->CtimeNsec = (ulong)node->CtimeNsec;
        }

        private static long ReadLink(FileSystem* fs, PathWalk* walk, byte* target, int capacity)
        {
            Found found;
            long error = Existing(fs, walk, &found);
            if (error != 0) return error;
            if (!found.Node->IsLink) return -Errno.EINVAL;
            return CopyOut(found.Node, target, capacity);
        }

        // A node's first bytes into a kernel buffer (a link's target).
        private static int CopyOut(MemoryNode* node, byte* buffer, int capacity)
        {
            ulong n = node->Size < (ulong)capacity ? node->Size : (ulong)capacity;
            return (int)ReadAt(node, buffer, n, 0);
        }

        private static long Open(FileSystem* fs, PathWalk* walk, int flags, uint mode, OpenFile** file)
        {
            var volume = (MemoryVolume*)fs->State;
            Found found;
            long error = Resolve(fs, walk, &found);
            if (error != 0) return error;
            bool writes = (flags & FileTable.O_ACCMODE) != FileTable.O_RDONLY;
            if ((flags & O_TMPFILE) == O_TMPFILE)
            {
                // O_TMPFILE (open(2)): an unnamed file in the directory, gone at its last close.
                if (found.Node == null) return -Errno.ENOENT;
                if (!found.Node->IsDirectory) return -Errno.ENOTDIR;
                if (!writes) return -Errno.EINVAL;
                MemoryNode* unnamed = NewNode(volume, FileTable.S_IFREG | (mode & ~(uint)ProcessCalls.CurrentUmask & 0xfff));
                if (unnamed == null) return -Errno.ENOSPC;
                *file = NewFile(fs, unnamed, flags & ~O_TMPFILE);
                if (*file == null) { ReleaseIfUnused(volume, unnamed); return -Errno.ENFILE; }
                return 0;
            }
            MemoryNode* node = found.Node;
            if (node == null)
            {
                if ((flags & FileTable.O_CREAT) == 0) return -Errno.ENOENT;
                if ((flags & FileTable.O_DIRECTORY) != 0) return -Errno.EINVAL;
                node = NewNode(volume, FileTable.S_IFREG | (mode & ~(uint)ProcessCalls.CurrentUmask & 0xfff));
                if (node == null) return -Errno.ENOSPC;
                if (!Insert(found.Directory, new ReadOnlySpan<byte>(walk->Path + found.NameStart, walk->Length - found.NameStart), node))
                {
                    ReleaseIfUnused(volume, node);
                    return -Errno.ENOMEM;
                }
            }
            else
            {
                if ((flags & FileTable.O_CREAT) != 0 && (flags & FileTable.O_EXCL) != 0) return -Errno.EEXIST;
                if (node->IsDirectory && (writes || (flags & FileTable.O_CREAT) != 0)) return -Errno.EISDIR;
                if (!node->IsDirectory && (flags & FileTable.O_DIRECTORY) != 0) return -Errno.ENOTDIR;
                if (node->IsLink) return -Errno.ELOOP;      // O_NOFOLLOW reached a link
                if (writes && (flags & FileTable.O_TRUNC) != 0 && node->Size != 0) { Resize(volume, node, 0); Touch(node); }
            }
            *file = NewFile(fs, node, flags);
            return *file == null ? -Errno.ENFILE : 0;      // a file O_CREAT made stays, as Linux's does
        }

        // An open file of `node`, or null when the kernel heap cannot hold a description.
        private static OpenFile* NewFile(FileSystem* fs, MemoryNode* node, int flags)
        {
            OpenFile* file = FileTable.TryNew(FileKind.Memory, s_fileOps, flags, node->Mode);
            if (file == null) return null;
            file->Object = node;
            file->Inode = node->Inode;
            file->FileSystem = fs;
            node->Opens++;
            return file;
        }

        private static void Release(OpenFile* file)
        {
            var node = (MemoryNode*)file->Object;
            node->Opens--;
            ReleaseIfUnused((MemoryVolume*)file->FileSystem->State, node);
        }

        private static ulong Chunks(ulong size) => (size + ChunkSize - 1) / ChunkSize;

        // Grows or shrinks a regular file's owned chunks to hold `size` bytes (new bytes read as
        // zeros); false, with nothing changed, when the volume's limit does not allow it.
        private static bool Resize(MemoryVolume* volume, MemoryNode* node, ulong size)
        {
            if (node->Borrowed != null)
            {
                if (size == 0) { node->Borrowed = null; node->Size = 0; return true; }
                return false;
            }
            ulong have = Chunks(node->Size), want = Chunks(size);
            if (want > have && volume->Limit != 0 && volume->Used + (want - have) * 4096 > volume->Limit) return false;
            if (want > node->ChunkCapacity)
            {
                ulong capacity = node->ChunkCapacity == 0 ? 8 : node->ChunkCapacity;
                while (capacity < want) capacity *= 2;
                var table = (ulong**)KernelHeap.TryAllocateZeroed(capacity * 8);
                if (table == null) return false;
                if (node->Chunks != null)
                {
                    Native.MemMove(table, node->Chunks, (nuint)(have * 8));
                    KernelHeap.Free(node->Chunks);
                }
                node->Chunks = table;
                node->ChunkCapacity = capacity;
            }
            for (ulong c = have; c < want; c++)
            {
                node->Chunks[c] = (ulong*)KernelHeap.TryAllocateZeroed(ChunkSize);
                if (node->Chunks[c] != null) continue;
                // No memory: the chunks this call added go again and the size stays (a bigger
                // table is kept, harmlessly).
                while (c > have) { KernelHeap.Free(node->Chunks[--c]); node->Chunks[c] = null; }
                return false;
            }
            for (ulong c = want; c < have; c++) { KernelHeap.Free(node->Chunks[c]); node->Chunks[c] = null; }
            if (want > have) volume->Used += (want - have) * 4096; else volume->Used -= (have - want) * 4096;
            // A shrink inside the last chunk leaves stale bytes past the end: zero them for a later grow.
            if (size < node->Size && size % ChunkSize != 0 && want > 0)
            {
                ulong keep = size % ChunkSize;
                ulong end = node->Size < want * ChunkSize ? node->Size - (want - 1) * ChunkSize : ChunkSize;
                Native.MemSet((byte*)node->Chunks[want - 1] + keep, 0, (nuint)(end - keep));
            }
            node->Size = size;
            return true;
        }

        private static ulong ReadAt(MemoryNode* node, byte* buffer, ulong length, ulong offset)
        {
            if (offset >= node->Size) return 0;
            ulong n = node->Size - offset < length ? node->Size - offset : length;
            if (node->Borrowed != null) return UserMemory.CopyChecked(buffer, node->Borrowed + offset, n);
            ulong done = 0;
            while (done < n)
            {
                ulong at = offset + done, chunk = at / ChunkSize, within = at % ChunkSize;
                ulong piece = ChunkSize - within < n - done ? ChunkSize - within : n - done;
                ulong copied = UserMemory.CopyChecked(buffer + done, (byte*)node->Chunks[chunk] + within, piece);
                done += copied;
                if (copied < piece) break;     // the buffer's page went away: what arrived counts
            }
            return done;
        }

        private static long Read(OpenFile* file, byte* buffer, ulong length, ulong offset)
        {
            var node = (MemoryNode*)file->Object;
            if (node->IsDirectory) return -Errno.EISDIR;
            bool positioned = offset != ulong.MaxValue;
            ulong at = positioned ? offset : file->Position;
            ulong n = ReadAt(node, buffer, length, at);
            if (n == 0 && length > 0 && at < node->Size) return -Errno.EFAULT;
            if (!positioned) file->Position += n;
            return (long)n;
        }

        // Writes what fits the volume's limit; ENOSPC when not one byte does (as tmpfs).
        private static long Write(OpenFile* file, byte* data, ulong length, ulong offset)
        {
            var node = (MemoryNode*)file->Object;
            var volume = (MemoryVolume*)file->FileSystem->State;
            bool positioned = offset != ulong.MaxValue;
            ulong at = positioned ? offset : (file->StatusFlags & FileTable.O_APPEND) != 0 ? node->Size : file->Position;
            if (length == 0) return 0;
            if (at + length < at) return -Errno.EFBIG;
            ulong end = at + length, sizeBefore = node->Size;
            if (end > node->Size && !Resize(volume, node, end))
            {
                ulong room = volume->Limit > volume->Used ? (volume->Limit - volume->Used) / 4096 * ChunkSize : 0;
                ulong fits = Chunks(node->Size) * ChunkSize + room;
                if (fits <= at || !Resize(volume, node, fits)) return node->Borrowed != null ? -Errno.EROFS : -Errno.ENOSPC;
                end = fits;
            }
            ulong done = 0;
            while (at + done < end)
            {
                ulong position = at + done, chunk = position / ChunkSize, within = position % ChunkSize;
                ulong piece = ChunkSize - within < end - position ? ChunkSize - within : end - position;
                ulong copied = UserMemory.CopyChecked((byte*)node->Chunks[chunk] + within, data + done, piece);
                done += copied;
                if (copied < piece) break;     // the data's page went away: the file keeps what arrived
            }
            // A short copy grows the file only by what arrived (generic_perform_write moves i_size
            // per copied page), not to the size the write asked for.
            ulong reached = at + done > sizeBefore ? at + done : sizeBefore;
            if (node->Size > reached) Resize(volume, node, reached);
            if (done == 0) return -Errno.EFAULT;
            Touch(node);
            if (!positioned) file->Position = at + done;
            return (long)done;
        }

        private static long SizeOf(OpenFile* file, ulong* size)
        {
            *size = ((MemoryNode*)file->Object)->Size;
            return 0;
        }

        private static long StatOpen(OpenFile* file, StatRecord* record)
        {
            Describe((MemoryNode*)file->Object, record);
            record->Device = file->FileSystem->Device;
            return 0;
        }

        // getdents64: ".", "..", then the entries; the position counts the records given.
        private static long GetDents(OpenFile* file, ulong buffer, ulong capacity)
        {
            var node = (MemoryNode*)file->Object;
            if (!node->IsDirectory) return -Errno.ENOTDIR;
            if (node->Links == 0) return 0;     // removed while open: Linux lists nothing, not even "." and ".."
            ulong written = 0, index = 0;
            MemoryEntry* entry = node->Entries;
            for (; ; index++)
            {
                ReadOnlySpan<byte> name;
                MemoryNode* target;
                byte dot = (byte)'.';
                ushort dots = 0x2e2e;
                if (index == 0) { name = new ReadOnlySpan<byte>(&dot, 1); target = node; }
                else if (index == 1) { name = new ReadOnlySpan<byte>(&dots, 2); target = node->Parent; }
                else
                {
                    if (entry == null) break;
                    name = new ReadOnlySpan<byte>(entry->Name, entry->NameLength);
                    target = entry->Node;
                    entry = entry->Next;
                }
                if (index < file->Position) continue;
                ulong record = (ulong)(19 + name.Length + 1 + 7) & ~7ul;
                if (written + record > capacity) return written == 0 ? -Errno.EINVAL : (long)written;
                byte* d = (byte*)(buffer + written);
                Native.MemSet(d, 0, (nuint)record);
                *(ulong*)d = target->Inode;
                *(long*)(d + 8) = (long)index + 1;
                *(ushort*)(d + 16) = (ushort)record;
                d[18] = (byte)((target->Mode >> 12) & 0xf);     // DT_* is the S_IFMT nibble
                for (int k = 0; k < name.Length; k++) d[19 + k] = name[k];
                written += record;
                file->Position = index + 1;
            }
            return (long)written;
        }

        private static long MakeDirectory(FileSystem* fs, PathWalk* walk, uint mode) =>
            Create(fs, walk, FileTable.S_IFDIR | (mode & ~(uint)ProcessCalls.CurrentUmask & 0xfff), null, 0);

        private static long Symlink(FileSystem* fs, byte* target, int targetLength, PathWalk* walk) =>
            Create(fs, walk, FileTable.S_IFLNK | 0x1ff, target, targetLength);

        private static long Create(FileSystem* fs, PathWalk* walk, uint mode, byte* data, int length)
        {
            var volume = (MemoryVolume*)fs->State;
            Found found;
            long error = Resolve(fs, walk, &found);
            if (error != 0) return error;
            if (found.Node != null) return -Errno.EEXIST;
            MemoryNode* node = NewNode(volume, mode);
            if (node == null) return -Errno.ENOSPC;
            if (length > 0)
            {
                if (!Resize(volume, node, (ulong)length)) { ReleaseIfUnused(volume, node); return -Errno.ENOSPC; }
                Native.MemMove(node->Chunks[0], data, (nuint)length);
            }
            if (!Insert(found.Directory, new ReadOnlySpan<byte>(walk->Path + found.NameStart, walk->Length - found.NameStart), node))
            {
                ReleaseIfUnused(volume, node);
                return -Errno.ENOMEM;
            }
            return 0;
        }

        private static long Unlink(FileSystem* fs, PathWalk* walk, bool directory)
        {
            Found found;
            long error = Existing(fs, walk, &found);
            if (error != 0) return error;
            if (found.Entry == null) return -Errno.EBUSY;       // the root
            MemoryNode* node = found.Node;
            if (directory && !node->IsDirectory) return -Errno.ENOTDIR;
            if (!directory && node->IsDirectory) return -Errno.EISDIR;
            if (directory && node->Entries != null) return -Errno.ENOTEMPTY;
            Remove((MemoryVolume*)fs->State, found.Directory, found.Entry);
            return 0;
        }

        // rename(2) within the volume: replaces a target of the same kind (an empty directory only),
        // never moves a directory below itself.
        private static long Rename(FileSystem* fs, PathWalk* from, PathWalk* to, uint flags)
        {
            const uint RENAME_NOREPLACE = 1;
            var volume = (MemoryVolume*)fs->State;
            Found source, target;
            long error = Existing(fs, from, &source);
            if (error != 0) return error;
            error = Resolve(fs, to, &target);
            if (error != 0) return error;
            if (source.Entry == null || (target.Node != null && target.Entry == null)) return -Errno.EBUSY;
            MemoryNode* node = source.Node;
            if (target.Node == node) return 0;
            if (node->IsDirectory)
                for (MemoryNode* up = target.Directory; ; up = up->Parent)
                {
                    if (up == node) return -Errno.EINVAL;
                    if (up == volume->Root) break;
                }
            if (target.Node != null)
            {
                if ((flags & RENAME_NOREPLACE) != 0) return -Errno.EEXIST;
                if (node->IsDirectory && !target.Node->IsDirectory) return -Errno.ENOTDIR;
                if (!node->IsDirectory && target.Node->IsDirectory) return -Errno.EISDIR;
                if (target.Node->IsDirectory && target.Node->Entries != null) return -Errno.ENOTEMPTY;
            }
            // The new name's entry first: once the old names are gone nothing may fail.
            MemoryEntry* entry = NewEntry(new ReadOnlySpan<byte>(to->Path + target.NameStart, to->Length - target.NameStart));
            if (entry == null) return -Errno.ENOMEM;
            node->Opens++;      // keeps the node while its old name goes
            if (target.Node != null) Remove(volume, target.Directory, target.Entry);
            Remove(volume, source.Directory, source.Entry);
            Link(target.Directory, entry, node);
            node->Opens--;
            node->CtimeSec = target.Directory->MtimeSec;
            return 0;
        }

        // link(2): another name for a file that is not a directory.
        private static long Link(FileSystem* fs, PathWalk* from, PathWalk* to)
        {
            Found source, target;
            long error = Existing(fs, from, &source);
            if (error != 0) return error;
            if (source.Node->IsDirectory) return -Errno.EPERM;
            error = Resolve(fs, to, &target);
            if (error != 0) return error;
            if (target.Node != null) return -Errno.EEXIST;
            if (!Insert(target.Directory, new ReadOnlySpan<byte>(to->Path + target.NameStart, to->Length - target.NameStart), source.Node)) return -Errno.ENOMEM;
            Touch(source.Node);
            return 0;
        }

        // linkat(fd, "", dir, name, AT_EMPTY_PATH): a name for an open file, an O_TMPFILE one too.
        internal static long LinkOpen(OpenFile* file, FileSystem* fs, PathWalk* to)
        {
            if (file->FileSystem != fs) return -Errno.EXDEV;
            var node = (MemoryNode*)file->Object;
            if (node->IsDirectory) return -Errno.EPERM;
            Found target;
            long error = Resolve(fs, to, &target);
            if (error != 0) return error;
            if (target.Node != null) return -Errno.EEXIST;
            return Insert(target.Directory, new ReadOnlySpan<byte>(to->Path + target.NameStart, to->Length - target.NameStart), node) ? 0 : -Errno.ENOMEM;
        }

        private static long SetAttributes(FileSystem* fs, PathWalk* walk, NineP.NinePSetAttr* attributes)
        {
            Found found;
            long error = Existing(fs, walk, &found);
            return error != 0 ? error : Apply((MemoryVolume*)fs->State, found.Node, attributes);
        }

        private static long SetOpenAttributes(OpenFile* file, NineP.NinePSetAttr* attributes) =>
            Apply((MemoryVolume*)file->FileSystem->State, (MemoryNode*)file->Object, attributes);

        private static long Apply(MemoryVolume* volume, MemoryNode* node, NineP.NinePSetAttr* a)
        {
            if ((a->Valid & NineP.NinePProtocol.SetattrSize) != 0)
            {
                if (node->IsDirectory) return -Errno.EISDIR;
                if (!Resize(volume, node, a->Size)) return node->Borrowed != null ? -Errno.EROFS : -Errno.ENOSPC;
                Touch(node);
            }
            if ((a->Valid & NineP.NinePProtocol.SetattrMode) != 0) node->Mode = (node->Mode & 0xf000) | (a->Mode & 0xfff);
            ulong now = Clock.RealtimeNanoseconds();
            if ((a->Valid & NineP.NinePProtocol.SetattrMtime) != 0)
            {
                bool given = (a->Valid & NineP.NinePProtocol.SetattrMtimeSet) != 0;
                node->MtimeSec = (long)(given ? a->MtimeSec : now / 1_000_000_000);
                node->MtimeNsec = (long)(given ? a->MtimeNsec : now % 1_000_000_000);
            }
            node->CtimeSec = (long)(now / 1_000_000_000);
            node->CtimeNsec = (long)(now % 1_000_000_000);
            return 0;
        }

        // struct statfs: the limit as blocks (the memory in use when there is none).
        private static long StatFs(FileSystem* fs, PathWalk* walk, ulong address)
        {
            Found found;
            long error = Existing(fs, walk, &found);
            if (error != 0) return error;
            var volume = (MemoryVolume*)fs->State;
            long* statfs = stackalloc long[15];
            for (int i = 0; i < 15; i++) statfs[i] = 0;
            ulong total = volume->Limit != 0 ? volume->Limit : volume->Used;
            statfs[0] = fs->Magic; statfs[1] = 4096;
            statfs[2] = (long)(total / 4096); statfs[3] = statfs[4] = (long)((total - volume->Used) / 4096);
            statfs[5] = (long)(total / 4096); statfs[6] = statfs[5] > (long)volume->NextInode ? statfs[5] - (long)volume->NextInode : 0;
            statfs[8] = 255; statfs[9] = 4096;
            if (fs->ReadOnly) statfs[10] = 1;   // ST_RDONLY
            return UserMemory.CopyToUser(address, statfs, 120) ? 0 : -Errno.EFAULT;
        }
    }
}
