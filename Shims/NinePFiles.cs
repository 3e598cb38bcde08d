using System;
using Libra.Arch.X64;
using Libra.Memory;
using Libra.Shims.NineP;

namespace Libra.Shims
{
    // Files from the Linux side: a host directory exported over 9P2000.L (the share at "/", or a run
    // -Mount), each mount with its own client (FileSystem.State, and OpenFile.Object of its files).
    // Paths arrive normalized (PathName) and inside the mount, so they never leave the export;
    // symbolic links are followed here, against the export's root, at most 40 deep (Linux's
    // MAXSYMLINKS): for the share that is the guest's root, for a -Mount its own directory.
    internal static unsafe class NinePFiles
    {
        private const int MaxSymlinks = 40;

        // The fid for a normalized path (following links in every name when `followLast`, else in all
        // but the last), with its qid; -errno when it does not resolve.
        internal static int Resolve(NinePClient* c, byte* path, int length, bool followLast, out uint fid, out NinePQid qid)
        {
            byte* current = stackalloc byte[PathName.Max];
            byte* scratch = stackalloc byte[PathName.Max];
            byte* target = stackalloc byte[PathName.Max];
            Native.MemMove(current, path, (nuint)(length + 1));
            for (int hops = 0; hops <= MaxSymlinks; hops++)
            {
                // Walk name by name from the root; a link partway (or at the end, when following)
                // is replaced by its target and the walk starts again.
                int error = WalkChecked(c, current, length, followLast, out fid, out qid, out int linkEnd);
                if (error != 0 || linkEnd < 0) return error;
                int targetLength = c->ReadLink(fid, target, PathName.Max - 1);
                c->Clunk(fid);
                if (targetLength < 0) return targetLength;
                // The link's directory is its parent; the rest of the path follows the target.
                PathName.SplitLast(current, linkEnd, out int parentLength, out _);
                Native.MemMove(scratch, current, (nuint)(length + 1));
                length = PathName.Splice(new ReadOnlySpan<byte>(scratch, parentLength), new ReadOnlySpan<byte>(target, targetLength),
                    new ReadOnlySpan<byte>(scratch + linkEnd, length - linkEnd), current);
                if (length < 0) { fid = 0; qid = default; return length; }
            }
            fid = 0;
            qid = default;
            return -(int)Errno.ELOOP;
        }

        // Walks `path` from the root; when a symbolic link stands where it must be followed (any name
        // but the last, or the last when `followLast`), returns a fid for the link itself and linkEnd =
        // the end of its name in `path` (else -1), so Resolve can splice in its target.
        private static int WalkChecked(NinePClient* c, byte* path, int length, bool followLast, out uint fid, out NinePQid qid, out int linkEnd)
        {
            linkEnd = -1;
            int error = c->Walk(new ReadOnlySpan<byte>(path + 1, length - 1), out fid, out qid, out int linkIndex);
            if (linkIndex >= 0)
            {
                // A link before the last name: walk to it alone (the walk above went through or stopped).
                if (error == 0) c->Clunk(fid);
                linkEnd = EndOfName(path, length, linkIndex);
                return c->Walk(new ReadOnlySpan<byte>(path + 1, linkEnd - 1), out fid, out qid);
            }
            if (error != 0) return error;
            if (qid.IsSymlink && followLast) linkEnd = length;
            return 0;
        }

        // Where name number `index` (0-based) of a normalized path ends.
        private static int EndOfName(byte* path, int length, int index)
        {
            int i = 1;
            for (int name = 0; i < length; name++)
            {
                while (i < length && path[i] != (byte)'/') i++;
                if (name == index) return i;
                i++;
            }
            return length;
        }

        internal static int Open(NinePClient* c, byte* path, int length, int flags, uint mode, out OpenFile* file)
        {
            file = null;
            bool create = (flags & FileTable.O_CREAT) != 0;
            int error = Resolve(c, path, length, followLast: true, out uint fid, out NinePQid qid);
            if (error == 0 && create && (flags & FileTable.O_EXCL) != 0) { c->Clunk(fid); return -(int)Errno.EEXIST; }
            if (error == -(int)Errno.ENOENT && create)
                return CreateAt(c, path, length, flags, mode, out file);
            if (error != 0) return error;
            int access = flags & FileTable.O_ACCMODE;
            if (qid.IsDirectory && access != FileTable.O_RDONLY) { c->Clunk(fid); return -(int)Errno.EISDIR; }
            if (!qid.IsDirectory && (flags & FileTable.O_DIRECTORY) != 0) { c->Clunk(fid); return -(int)Errno.ENOTDIR; }
            uint openFlags = (uint)(flags & (FileTable.O_ACCMODE | FileTable.O_TRUNC | FileTable.O_APPEND | FileTable.O_DIRECTORY));
            if ((flags & FileTable.O_PATH) == 0)
            {
                error = c->Open(fid, openFlags, out _);
                if (error != 0) { c->Clunk(fid); return error; }
            }
            file = NewFile(c, fid, flags, qid);
            return file == null ? -(int)Errno.ENFILE : 0;
        }

        private static int CreateAt(NinePClient* c, byte* path, int length, int flags, uint mode, out OpenFile* file)
        {
            file = null;
            if (!PathName.SplitLast(path, length, out int parentLength, out int nameStart)) return -(int)Errno.EISDIR;
            int error = Resolve(c, path, parentLength, followLast: true, out uint directory, out NinePQid parentQid);
            if (error != 0) return error;
            if (!parentQid.IsDirectory) { c->Clunk(directory); return -(int)Errno.ENOTDIR; }
            uint createFlags = (uint)(flags & (FileTable.O_ACCMODE | FileTable.O_TRUNC | FileTable.O_APPEND | FileTable.O_EXCL)) | (uint)FileTable.O_CREAT;
            error = c->Create(directory, new ReadOnlySpan<byte>(path + nameStart, length - nameStart), createFlags,
                mode & ~(uint)ProcessCalls.CurrentUmask & 0xfff, out NinePQid qid);
            if (error != 0) { c->Clunk(directory); return error; }
            file = NewFile(c, directory, flags, qid);
            return file == null ? -(int)Errno.ENFILE : 0;
        }

        private static FileOperations* s_ops;

        // An open 9P file's operations: reads and writes at the file position (O_APPEND: at the
        // end the server reports), stat from Tgetattr, directory listings, Tclunk at the last close.
        internal static void Initialize()
        {
            s_ops = FileOperations.New();
            s_ops->Read = &ReadAtPosition;
            s_ops->Write = &WriteAtPosition;
            s_ops->Stat = &StatOpen;
            s_ops->Release = &Release;
            s_ops->SeekEnd = &SizeOf;
            s_ops->GetDents = &ListDirectory;
            s_ops->SetAttributes = &SetOpenAttributes;

            Operations = FileSystemOperations.New(&OpenIn, &StatIn, &LookupIn, &ReadLinkIn, makeDirectory: &MakeDirectoryIn, symlink: &SymlinkIn,
                unlink: &UnlinkIn, rename: &RenameIn, link: &LinkIn, setAttributes: &SetAttributesIn, statFs: &StatFsIn);
        }

        // The share as a file system (Vfs): each operation on the path inside the export. Links in
        // the share resolve inside it (Resolve), as QEMU's server stores them.
        internal static FileSystemOperations* Operations;

        private static long OpenIn(FileSystem* fs, PathWalk* walk, int flags, uint mode, OpenFile** file)
        {
            NinePClient* c = ClientOf(fs);
            const int O_TMPFILE = 0x400000;
            if ((flags & O_TMPFILE) != 0) return -Errno.EOPNOTSUPP;
            int error = Open(c, walk->Path, walk->Length, flags, mode, out OpenFile* opened);
            *file = opened;
            return error;
        }

        private static long StatIn(FileSystem* fs, PathWalk* walk, StatRecord* record) => StatPath(ClientOf(fs), walk->Path, walk->Length, walk->Follow, record);

        private static long LookupIn(FileSystem* fs, PathWalk* walk, uint* mode)
        {
            NinePClient* c = ClientOf(fs);
            int error = Resolve(c, walk->Path, walk->Length, walk->Follow, out uint fid, out NinePQid qid);
            if (error != 0) return error;
            c->Clunk(fid);
            *mode = qid.IsDirectory ? FileTable.S_IFDIR : qid.IsSymlink ? FileTable.S_IFLNK : FileTable.S_IFREG;
            return 0;
        }

        private static long ReadLinkIn(FileSystem* fs, PathWalk* walk, byte* target, int capacity)
        {
            NinePClient* c = ClientOf(fs);
            int error = Resolve(c, walk->Path, walk->Length, followLast: false, out uint fid, out NinePQid qid);
            if (error != 0) return error;
            int n = qid.IsSymlink ? c->ReadLink(fid, target, capacity) : (int)-Errno.EINVAL;
            c->Clunk(fid);
            return n;
        }

        private static long MakeDirectoryIn(FileSystem* fs, PathWalk* walk, uint mode) => MakeDirectory(ClientOf(fs), walk->Path, walk->Length, mode);

        private static long SymlinkIn(FileSystem* fs, byte* target, int targetLength, PathWalk* walk) => Symlink(ClientOf(fs), target, targetLength, walk->Path, walk->Length);

        private static long UnlinkIn(FileSystem* fs, PathWalk* walk, bool directory) => Unlink(ClientOf(fs), walk->Path, walk->Length, directory);

        private static long RenameIn(FileSystem* fs, PathWalk* from, PathWalk* to, uint flags)
        {
            NinePClient* c = ClientOf(fs);
            const uint RENAME_NOREPLACE = 1;
            if ((flags & RENAME_NOREPLACE) != 0 && Resolve(c, to->Path, to->Length, false, out uint existing, out _) == 0)
            {
                c->Clunk(existing);
                return -Errno.EEXIST;
            }
            return Rename(c, from->Path, from->Length, to->Path, to->Length);
        }

        // link(2): Tlink of the old name's fid into the new name's directory (links in the old name
        // followed when walk->Follow, linkat's AT_SYMLINK_FOLLOW).
        private static long LinkIn(FileSystem* fs, PathWalk* from, PathWalk* to)
        {
            NinePClient* c = ClientOf(fs);
            int error = Resolve(c, from->Path, from->Length, from->Follow, out uint fid, out NinePQid qid);
            if (error != 0) return error;
            if (qid.IsDirectory) { c->Clunk(fid); return -Errno.EPERM; }
            error = Parent(c, to->Path, to->Length, out uint directory, out ReadOnlySpan<byte> name);
            if (error == 0)
            {
                error = c->Link(directory, fid, name);
                c->Clunk(directory);
            }
            c->Clunk(fid);
            return error == -(int)Errno.EBUSY ? -Errno.EEXIST : error;
        }

        private static long SetAttributesIn(FileSystem* fs, PathWalk* walk, NinePSetAttr* attributes)
        {
            NinePClient* c = ClientOf(fs);
            int error = Resolve(c, walk->Path, walk->Length, walk->Follow, out uint fid, out NinePQid qid);
            if (error != 0) return error;
            if ((attributes->Valid & NinePProtocol.SetattrSize) != 0 && qid.IsDirectory) error = (int)-Errno.EISDIR;
            else error = c->SetAttr(fid, in *attributes);
            c->Clunk(fid);
            return error;
        }

        private static long StatFsIn(FileSystem* fs, PathWalk* walk, ulong address)
        {
            NinePClient* c = ClientOf(fs);
            int error = Resolve(c, walk->Path, walk->Length, followLast: true, out uint fid, out _);
            if (error != 0) return error;
            long result = StatFs(c, fid, address, fs->ReadOnly);
            c->Clunk(fid);
            return result;
        }

        private static long ReadAtPosition(OpenFile* file, byte* buffer, ulong length, ulong offset)
        {
            if (file->IsDirectory) return -Errno.EISDIR;
            bool positioned = offset != ulong.MaxValue;
            long n = Read(file, buffer, length, positioned ? offset : file->Position);
            if (n > 0 && !positioned) file->Position += (ulong)n;
            return n;
        }

        private static long WriteAtPosition(OpenFile* file, byte* buffer, ulong length, ulong offset)
        {
            bool positioned = offset != ulong.MaxValue;
            ulong at = positioned ? offset : file->Position;
            // O_APPEND: the host file is open with O_APPEND too; the end is where this write lands.
            if (!positioned && (file->StatusFlags & FileTable.O_APPEND) != 0)
            {
                long error = Size(file, out at);
                if (error != 0) return error;
            }
            long n = Write(file, buffer, length, at);
            if (n > 0 && !positioned) file->Position = at + (ulong)n;
            return n;
        }

        private static long StatOpen(OpenFile* file, StatRecord* record) =>
            ClientOf(file)->CachesData ? PageCache.Stat(file, record) : Describe(ClientOf(file), file->Fid, record);

        private static long SetOpenAttributes(OpenFile* file, NinePSetAttr* attributes) => ClientOf(file)->SetAttr(file->Fid, in *attributes);

        private static void Release(OpenFile* file) => ClientOf(file)->Clunk(file->Fid);

        private static long SizeOf(OpenFile* file, ulong* size) => Size(file, out *size);

        private static long ListDirectory(OpenFile* file, ulong buffer, ulong capacity) =>
            file->IsDirectory ? GetDents(file, buffer, capacity) : -Errno.ENOTDIR;

        // The open file for `fid` (its owner from now on), or null with the fid clunked when the kernel
        // heap cannot hold a description (the open answers ENFILE).
        private static OpenFile* NewFile(NinePClient* c, uint fid, int flags, NinePQid qid)
        {
            OpenFile* file = FileTable.TryNew(FileKind.NineP, s_ops, flags, qid.IsDirectory ? FileTable.S_IFDIR : FileTable.S_IFREG);
            if (file == null) { c->Clunk(fid); return null; }
            file->Fid = fid;
            file->Object = c;
            file->Inode = qid.Path;
            return file;
        }

        // The client a mount or an open file belongs to.
        private static NinePClient* ClientOf(FileSystem* fs) => (NinePClient*)fs->State;

        internal static NinePClient* ClientOf(OpenFile* file) => (NinePClient*)file->Object;

        // A read-only mount's files read through the page cache; the others ask the server each time.
        internal static long Read(OpenFile* file, byte* buffer, ulong length, ulong offset) =>
            ClientOf(file)->CachesData ? PageCache.Read(file, buffer, length, offset) : ReadUncached(file, buffer, length, offset);

        internal static long ReadUncached(OpenFile* file, byte* buffer, ulong length, ulong offset)
        {
            NinePClient* c = ClientOf(file);
            ulong done = 0;
            while (done < length)
            {
                int chunk = length - done > (ulong)c->MaxIo ? c->MaxIo : (int)(length - done);
                int n = c->Read(file->Fid, offset + done, buffer + done, chunk);
                if (n < 0) return done > 0 ? (long)done : n;
                done += (ulong)n;
                if (n < chunk) break;
            }
            return (long)done;
        }

        internal static long Write(OpenFile* file, byte* data, ulong length, ulong offset)
        {
            NinePClient* c = ClientOf(file);
            ulong done = 0;
            while (done < length)
            {
                int chunk = length - done > (ulong)c->MaxIo ? c->MaxIo : (int)(length - done);
                int n = c->Write(file->Fid, offset + done, data + done, chunk);
                if (n < 0) return done > 0 ? (long)done : n;
                done += (ulong)n;
                if (n == 0) break;
            }
            return (long)done;
        }

        internal static long Size(OpenFile* file, out ulong size)
        {
            NinePClient* c = ClientOf(file);
            if (c->CachesData)
            {
                StatRecord record;
                long failed = PageCache.Stat(file, &record);
                size = record.Size;
                return failed;
            }
            int error = c->GetAttr(file->Fid, NinePProtocol.GetattrSize, out NinePAttr attr);
            size = attr.Size;
            return error;
        }

        // What stat says, from Rgetattr (with the birth time when the server has it).
        internal static long Describe(NinePClient* c, uint fid, StatRecord* r)
        {
            int error = c->GetAttr(fid, NinePProtocol.GetattrBasic | NinePProtocol.GetattrBtime, out NinePAttr a);
            if (error != 0) return error;
            *r = default;
            r->Device = c->Device;
            r->Inode = a.Qid.Path;
            r->Links = a.Nlink;
            r->Mode = a.Mode;
            r->Uid = a.Uid;
            r->Gid = a.Gid;
            r->Rdev = a.Rdev;
            r->Size = a.Size;
            r->BlockSize = a.BlockSize;
            r->Blocks = a.Blocks;
            r->AtimeSec = a.AtimeSec; r->AtimeNsec = a.AtimeNsec;
            r->MtimeSec = a.MtimeSec; r->MtimeNsec = a.MtimeNsec;
            r->CtimeSec = a.CtimeSec; r->CtimeNsec = a.CtimeNsec;
            r->HasBirthTime = (a.Valid & NinePProtocol.GetattrBtime) != 0;
            r->BtimeSec = a.BtimeSec; r->BtimeNsec = a.BtimeNsec;
            return 0;
        }

        // stat of a path: a cached fid first (PathCache), else a walk whose fid is then cached.
        internal static long StatPath(NinePClient* c, byte* path, int length, bool follow, StatRecord* record)
        {
            if (PathCache.TryTake(c, path, length, follow, out uint cached, out ulong takenAt))
            {
                if (Describe(c, cached, record) == 0)
                {
                    PathCache.Put(c, path, length, follow, cached, takenAt);
                    return 0;
                }
                c->Clunk(cached);
            }
            ulong walkedAt = PathCache.Generation;
            int error = Resolve(c, path, length, follow, out uint fid, out _);
            if (error != 0) return error;
            long result = Describe(c, fid, record);
            if (result == 0) PathCache.Put(c, path, length, follow, fid, walkedAt);
            else c->Clunk(fid);
            return result;
        }

        // getdents64 from Treaddir: each 9P dirent becomes a linux_dirent64 { ino, off, reclen, type,
        // name } 8-byte aligned, as many as fit; the file's cookie moves past the ones given.
        internal static long GetDents(OpenFile* file, ulong buffer, ulong capacity)
        {
            NinePClient* c = ClientOf(file);
            int want = capacity > (ulong)c->MaxIo ? c->MaxIo : (int)capacity;
            byte* raw = (byte*)KernelHeap.TryAllocateZeroed((ulong)want);
            if (raw == null) return -Errno.ENOMEM;
            int length = c->ReadDirectory(file->Fid, file->Position, raw, want);
            if (length < 0) { KernelHeap.Free(raw); return length; }
            var entries = new NinePDirents(new ReadOnlySpan<byte>(raw, length));
            ulong written = 0;
            while (entries.Next(out NinePDirent entry))
            {
                ulong record = (ulong)(19 + entry.Name.Length + 1 + 7) & ~7ul;
                if (written + record > capacity) break;
                byte* d = (byte*)(buffer + written);
                *(ulong*)d = entry.Qid.Path;
                *(long*)(d + 8) = (long)entry.Offset;
                *(ushort*)(d + 16) = (ushort)record;
                d[18] = entry.Type;
                for (int i = 0; i < entry.Name.Length; i++) d[19 + i] = entry.Name[i];
                for (ulong i = 19 + (ulong)entry.Name.Length; i < record; i++) d[i] = 0;
                written += record;
                file->Position = entry.Offset;
            }
            KernelHeap.Free(raw);
            if (written == 0 && length > 0) return -Errno.EINVAL;   // the buffer cannot hold one entry
            return (long)written;
        }

        // The parent directory's fid and the last name of a normalized path (mkdir, unlink, rename).
        internal static int Parent(NinePClient* c, byte* path, int length, out uint directory, out ReadOnlySpan<byte> name)
        {
            directory = 0;
            name = default;
            if (!PathName.SplitLast(path, length, out int parentLength, out int nameStart)) return -(int)Errno.EBUSY;
            int error = Resolve(c, path, parentLength, followLast: true, out directory, out NinePQid qid);
            if (error != 0) return error;
            if (!qid.IsDirectory) { c->Clunk(directory); return -(int)Errno.ENOTDIR; }
            name = new ReadOnlySpan<byte>(path + nameStart, length - nameStart);
            return 0;
        }

        internal static long MakeDirectory(NinePClient* c, byte* path, int length, uint mode)
        {
            int error = Parent(c, path, length, out uint directory, out ReadOnlySpan<byte> name);
            if (error != 0) return error == -(int)Errno.EBUSY ? -Errno.EEXIST : error;
            error = c->MakeDirectory(directory, name, mode & ~(uint)ProcessCalls.CurrentUmask & 0xfff);
            c->Clunk(directory);
            return error;
        }

        internal static long Symlink(NinePClient* c, byte* target, int targetLength, byte* path, int length)
        {
            int error = Parent(c, path, length, out uint directory, out ReadOnlySpan<byte> name);
            if (error != 0) return error == -(int)Errno.EBUSY ? -Errno.EEXIST : error;
            error = c->Symlink(directory, name, new ReadOnlySpan<byte>(target, targetLength));
            c->Clunk(directory);
            return error;
        }

        internal static long Unlink(NinePClient* c, byte* path, int length, bool directoryWanted)
        {
            int error = Parent(c, path, length, out uint directory, out ReadOnlySpan<byte> name);
            if (error != 0) return error;
            error = c->Unlink(directory, name, directoryWanted ? NinePProtocol.UnlinkRemoveDirectory : 0);
            c->Clunk(directory);
            return error;
        }

        internal static long Rename(NinePClient* c, byte* from, int fromLength, byte* to, int toLength)
        {
            PathCache.Clear();      // a rename moves the fids under it
            int error = Parent(c, from, fromLength, out uint fromDirectory, out ReadOnlySpan<byte> fromName);
            if (error != 0) return error;
            error = Parent(c, to, toLength, out uint toDirectory, out ReadOnlySpan<byte> toName);
            if (error != 0) { c->Clunk(fromDirectory); return error; }
            error = c->Rename(fromDirectory, fromName, toDirectory, toName);
            c->Clunk(fromDirectory);
            c->Clunk(toDirectory);
            return error;
        }

        // struct statfs from Rstatfs (f_type the server's, as Linux's v9fs_statfs), with ST_RDONLY for a
        // read-only mount (fs/statfs.c calculate_f_flags).
        internal static long StatFs(NinePClient* c, uint fid, ulong address, bool readOnly)
        {
            int error = c->StatFs(fid, out NinePStatFs s);
            if (error != 0) return error;
            long* fs = stackalloc long[15];
            for (int i = 0; i < 15; i++) fs[i] = 0;
            fs[0] = s.Type; fs[1] = s.BlockSize; fs[2] = (long)s.Blocks; fs[3] = (long)s.BlocksFree; fs[4] = (long)s.BlocksAvailable;
            fs[5] = (long)s.Files; fs[6] = (long)s.FilesFree; fs[7] = (long)s.FsId; fs[8] = s.NameLength; fs[9] = s.BlockSize;
            if (readOnly) fs[10] = 1;       // ST_RDONLY
            return UserMemory.CopyToUser(address, fs, 120) ? 0 : -Errno.EFAULT;
        }
    }
}
