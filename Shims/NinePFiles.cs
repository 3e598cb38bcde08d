using System;
using Libra.Arch.X64;
using Libra.Memory;
using Libra.Shims.NineP;

namespace Libra.Shims
{
    // Files from the Linux side: every path outside the synthetic /proc, /sys and /dev is a file in
    // the exported directory, reached through the 9P2000.L client. Paths arrive normalized
    // (PathName), so they never leave the export; symbolic links are followed here, against the
    // guest's root, at most 40 deep (Linux's MAXSYMLINKS).
    internal static unsafe class NinePFiles
    {
        private const int MaxSymlinks = 40;
        internal const ulong Device = 0x26;     // st_dev of every file in the export

        // The fid for a normalized path (following links in every name when `followLast`, else in all
        // but the last), with its qid; -errno when it does not resolve.
        internal static int Resolve(byte* path, int length, bool followLast, out uint fid, out NinePQid qid)
        {
            byte* current = stackalloc byte[PathName.Max];
            byte* scratch = stackalloc byte[PathName.Max];
            Native.MemMove(current, path, (nuint)(length + 1));
            for (int hops = 0; hops <= MaxSymlinks; hops++)
            {
                // Walk name by name from the root; a link partway (or at the end, when following)
                // is replaced by its target and the walk starts again.
                int error = WalkChecked(current, length, followLast, out fid, out qid, out int linkEnd);
                if (error != 0 || linkEnd < 0) return error;
                byte* target = stackalloc byte[PathName.Max];
                int targetLength = NinePClient.ReadLink(fid, target, PathName.Max - 1);
                NinePClient.Clunk(fid);
                if (targetLength < 0) return targetLength;
                // The link's directory is its parent; the rest of the path follows the target.
                PathName.SplitLast(current, linkEnd, out int parentLength, out _);
                byte* combined = scratch;
                int n = 0;
                bool absolute = targetLength > 0 && target[0] == (byte)'/';
                if (!absolute) { for (int i = 0; i < parentLength; i++) combined[n++] = current[i]; combined[n++] = (byte)'/'; }
                if (n + targetLength + (length - linkEnd) + 2 > PathName.Max) return -(int)Errno.ENAMETOOLONG;
                for (int i = 0; i < targetLength; i++) combined[n++] = target[i];
                for (int i = linkEnd; i < length; i++) combined[n++] = current[i];
                length = PathName.Normalize(new ReadOnlySpan<byte>(current, 1), new ReadOnlySpan<byte>(combined, n), current);
                if (length < 0) { fid = 0; qid = default; return length; }
            }
            fid = 0;
            qid = default;
            return -(int)Errno.ELOOP;
        }

        // Walks `path` from the root; when a symbolic link stands where it must be followed (any name
        // but the last, or the last when `followLast`), returns a fid for the link itself and linkEnd =
        // the end of its name in `path` (else -1), so Resolve can splice in its target.
        private static int WalkChecked(byte* path, int length, bool followLast, out uint fid, out NinePQid qid, out int linkEnd)
        {
            linkEnd = -1;
            int error = NinePClient.Walk(new ReadOnlySpan<byte>(path + 1, length - 1), out fid, out qid, out int linkIndex);
            if (linkIndex >= 0)
            {
                // A link before the last name: walk to it alone (the walk above went through or stopped).
                if (error == 0) NinePClient.Clunk(fid);
                linkEnd = EndOfName(path, length, linkIndex);
                return NinePClient.Walk(new ReadOnlySpan<byte>(path + 1, linkEnd - 1), out fid, out qid);
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

        internal static int Open(byte* path, int length, int flags, uint mode, out OpenFile* file)
        {
            file = null;
            bool create = (flags & FileTable.O_CREAT) != 0;
            int error = Resolve(path, length, followLast: true, out uint fid, out NinePQid qid);
            if (error == 0 && create && (flags & FileTable.O_EXCL) != 0) { NinePClient.Clunk(fid); return -(int)Errno.EEXIST; }
            if (error == -(int)Errno.ENOENT && create)
                return CreateAt(path, length, flags, mode, out file);
            if (error != 0) return error;
            int access = flags & FileTable.O_ACCMODE;
            if (qid.IsDirectory && access != FileTable.O_RDONLY) { NinePClient.Clunk(fid); return -(int)Errno.EISDIR; }
            if (!qid.IsDirectory && (flags & FileTable.O_DIRECTORY) != 0) { NinePClient.Clunk(fid); return -(int)Errno.ENOTDIR; }
            uint openFlags = (uint)(flags & (FileTable.O_ACCMODE | FileTable.O_TRUNC | FileTable.O_APPEND | FileTable.O_DIRECTORY));
            if ((flags & FileTable.O_PATH) == 0)
            {
                error = NinePClient.Open(fid, openFlags, out _);
                if (error != 0) { NinePClient.Clunk(fid); return error; }
            }
            file = NewFile(fid, flags, qid);
            return 0;
        }

        private static int CreateAt(byte* path, int length, int flags, uint mode, out OpenFile* file)
        {
            file = null;
            if (!PathName.SplitLast(path, length, out int parentLength, out int nameStart)) return -(int)Errno.EISDIR;
            int error = Resolve(path, parentLength, followLast: true, out uint directory, out NinePQid parentQid);
            if (error != 0) return error;
            if (!parentQid.IsDirectory) { NinePClient.Clunk(directory); return -(int)Errno.ENOTDIR; }
            uint createFlags = (uint)(flags & (FileTable.O_ACCMODE | FileTable.O_TRUNC | FileTable.O_APPEND | FileTable.O_EXCL)) | (uint)FileTable.O_CREAT;
            error = NinePClient.Create(directory, new ReadOnlySpan<byte>(path + nameStart, length - nameStart), createFlags,
                mode & ~(uint)ProcessCalls.CurrentUmask & 0xfff, out NinePQid qid);
            if (error != 0) { NinePClient.Clunk(directory); return error; }
            file = NewFile(directory, flags, qid);
            return 0;
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

        private static long StatOpen(OpenFile* file, ulong address) => Stat(file->Fid, address);

        private static void Release(OpenFile* file) => NinePClient.Clunk(file->Fid);

        private static long SizeOf(OpenFile* file, ulong* size) => Size(file, out *size);

        private static long ListDirectory(OpenFile* file, ulong buffer, ulong capacity) =>
            file->IsDirectory ? GetDents(file, buffer, capacity) : -Errno.ENOTDIR;

        private static OpenFile* NewFile(uint fid, int flags, NinePQid qid)
        {
            OpenFile* file = FileTable.New(FileKind.NineP, s_ops, flags, qid.IsDirectory ? FileTable.S_IFDIR : FileTable.S_IFREG);
            file->Fid = fid;
            file->Inode = qid.Path;
            return file;
        }

        internal static long Read(OpenFile* file, byte* buffer, ulong length, ulong offset)
        {
            ulong done = 0;
            while (done < length)
            {
                int chunk = length - done > (ulong)NinePClient.MaxIo ? NinePClient.MaxIo : (int)(length - done);
                int n = NinePClient.Read(file->Fid, offset + done, buffer + done, chunk);
                if (n < 0) return done > 0 ? (long)done : n;
                done += (ulong)n;
                if (n < chunk) break;
            }
            return (long)done;
        }

        internal static long Write(OpenFile* file, byte* data, ulong length, ulong offset)
        {
            ulong done = 0;
            while (done < length)
            {
                int chunk = length - done > (ulong)NinePClient.MaxIo ? NinePClient.MaxIo : (int)(length - done);
                int n = NinePClient.Write(file->Fid, offset + done, data + done, chunk);
                if (n < 0) return done > 0 ? (long)done : n;
                done += (ulong)n;
                if (n == 0) break;
            }
            return (long)done;
        }

        internal static long Size(OpenFile* file, out ulong size)
        {
            int error = NinePClient.GetAttr(file->Fid, NinePProtocol.GetattrSize, out NinePAttr attr);
            size = attr.Size;
            return error;
        }

        // struct stat from Rgetattr (x86-64 layout as StatCalls.WriteStat).
        internal static long Stat(uint fid, ulong address)
        {
            int error = NinePClient.GetAttr(fid, NinePProtocol.GetattrBasic, out NinePAttr a);
            if (error != 0) return error;
            byte* stat = stackalloc byte[144];
            Native.MemSet(stat, 0, 144);
            *(ulong*)(stat + 0) = Device;
            *(ulong*)(stat + 8) = a.Qid.Path;
            *(ulong*)(stat + 16) = a.Nlink;
            *(uint*)(stat + 24) = a.Mode;
            *(uint*)(stat + 28) = a.Uid;
            *(uint*)(stat + 32) = a.Gid;
            *(ulong*)(stat + 40) = a.Rdev;
            *(ulong*)(stat + 48) = a.Size;
            *(ulong*)(stat + 56) = a.BlockSize;
            *(ulong*)(stat + 64) = a.Blocks;
            *(ulong*)(stat + 72) = a.AtimeSec; *(ulong*)(stat + 80) = a.AtimeNsec;
            *(ulong*)(stat + 88) = a.MtimeSec; *(ulong*)(stat + 96) = a.MtimeNsec;
            *(ulong*)(stat + 104) = a.CtimeSec; *(ulong*)(stat + 112) = a.CtimeNsec;
            return UserMemory.CopyToUser(address, stat, 144) ? 0 : -Errno.EFAULT;
        }

        // stat of a path: a cached fid first (PathCache), else a walk whose fid is then cached.
        internal static long StatPath(byte* path, int length, bool follow, ulong address)
        {
            if (PathCache.TryGet(path, length, follow, out uint cached))
            {
                if (Stat(cached, address) == 0) return 0;
                PathCache.Drop(path, length, follow);
            }
            int error = Resolve(path, length, follow, out uint fid, out _);
            if (error != 0) return error;
            long result = Stat(fid, address);
            if (result == 0) PathCache.Put(path, length, follow, fid);
            else NinePClient.Clunk(fid);
            return result;
        }

        // getdents64 from Treaddir: each 9P dirent becomes a linux_dirent64 { ino, off, reclen, type,
        // name } 8-byte aligned, as many as fit; the file's cookie moves past the ones given.
        internal static long GetDents(OpenFile* file, ulong buffer, ulong capacity)
        {
            int want = capacity > (ulong)NinePClient.MaxIo ? NinePClient.MaxIo : (int)capacity;
            byte* raw = (byte*)KernelHeap.AllocateZeroed((ulong)want);
            int length = NinePClient.ReadDirectory(file->Fid, file->Position, raw, want);
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
        internal static int Parent(byte* path, int length, out uint directory, out ReadOnlySpan<byte> name)
        {
            directory = 0;
            name = default;
            if (!PathName.SplitLast(path, length, out int parentLength, out int nameStart)) return -(int)Errno.EBUSY;
            int error = Resolve(path, parentLength, followLast: true, out directory, out NinePQid qid);
            if (error != 0) return error;
            if (!qid.IsDirectory) { NinePClient.Clunk(directory); return -(int)Errno.ENOTDIR; }
            name = new ReadOnlySpan<byte>(path + nameStart, length - nameStart);
            return 0;
        }

        internal static long MakeDirectory(byte* path, int length, uint mode)
        {
            int error = Parent(path, length, out uint directory, out ReadOnlySpan<byte> name);
            if (error != 0) return error == -(int)Errno.EBUSY ? -Errno.EEXIST : error;
            error = NinePClient.MakeDirectory(directory, name, mode & ~(uint)ProcessCalls.CurrentUmask & 0xfff);
            NinePClient.Clunk(directory);
            return error;
        }

        internal static long Symlink(byte* target, int targetLength, byte* path, int length)
        {
            int error = Parent(path, length, out uint directory, out ReadOnlySpan<byte> name);
            if (error != 0) return error == -(int)Errno.EBUSY ? -Errno.EEXIST : error;
            error = NinePClient.Symlink(directory, name, new ReadOnlySpan<byte>(target, targetLength));
            NinePClient.Clunk(directory);
            return error;
        }

        // struct statx (include/uapi/linux/stat.h, 256 bytes) from Rgetattr.
        internal static long Statx(uint fid, ulong address)
        {
            int error = NinePClient.GetAttr(fid, NinePProtocol.GetattrBasic | NinePProtocol.GetattrBtime, out NinePAttr a);
            if (error != 0) return error;
            byte* x = stackalloc byte[256];
            Native.MemSet(x, 0, 256);
            const uint STATX_BASIC_STATS = 0x7ff, STATX_BTIME = 0x800;
            *(uint*)(x + 0) = STATX_BASIC_STATS | ((a.Valid & NinePProtocol.GetattrBtime) != 0 ? STATX_BTIME : 0);
            *(uint*)(x + 4) = (uint)a.BlockSize;
            *(uint*)(x + 16) = (uint)a.Nlink;
            *(uint*)(x + 20) = a.Uid;
            *(uint*)(x + 24) = a.Gid;
            *(ushort*)(x + 28) = (ushort)a.Mode;
            *(ulong*)(x + 32) = a.Qid.Path;
            *(ulong*)(x + 40) = a.Size;
            *(ulong*)(x + 48) = a.Blocks;
            *(ulong*)(x + 64) = a.AtimeSec; *(uint*)(x + 72) = (uint)a.AtimeNsec;
            *(ulong*)(x + 80) = a.BtimeSec; *(uint*)(x + 88) = (uint)a.BtimeNsec;
            *(ulong*)(x + 96) = a.CtimeSec; *(uint*)(x + 104) = (uint)a.CtimeNsec;
            *(ulong*)(x + 112) = a.MtimeSec; *(uint*)(x + 120) = (uint)a.MtimeNsec;
            *(uint*)(x + 128) = (uint)(a.Rdev >> 8) & 0xfff; *(uint*)(x + 132) = (uint)(a.Rdev & 0xff);
            *(uint*)(x + 136) = (uint)(Device >> 8); *(uint*)(x + 140) = (uint)(Device & 0xff);
            return UserMemory.CopyToUser(address, x, 256) ? 0 : -Errno.EFAULT;
        }

        internal static long Unlink(byte* path, int length, bool directoryWanted)
        {
            int error = Parent(path, length, out uint directory, out ReadOnlySpan<byte> name);
            if (error != 0) return error;
            error = NinePClient.Unlink(directory, name, directoryWanted ? NinePProtocol.UnlinkRemoveDirectory : 0);
            NinePClient.Clunk(directory);
            return error;
        }

        internal static long Rename(byte* from, int fromLength, byte* to, int toLength)
        {
            PathCache.Clear();      // a rename moves the fids under it
            int error = Parent(from, fromLength, out uint fromDirectory, out ReadOnlySpan<byte> fromName);
            if (error != 0) return error;
            error = Parent(to, toLength, out uint toDirectory, out ReadOnlySpan<byte> toName);
            if (error != 0) { NinePClient.Clunk(fromDirectory); return error; }
            error = NinePClient.Rename(fromDirectory, fromName, toDirectory, toName);
            NinePClient.Clunk(fromDirectory);
            NinePClient.Clunk(toDirectory);
            return error;
        }

        internal static long Truncate(uint fid, ulong size)
        {
            NinePSetAttr attr = default;
            attr.Valid = NinePProtocol.SetattrSize;
            attr.Size = size;
            return NinePClient.SetAttr(fid, in attr);
        }

        internal static long ReadLink(byte* path, int length, ulong buffer, ulong capacity)
        {
            int error = Resolve(path, length, followLast: false, out uint fid, out NinePQid qid);
            if (error != 0) return error;
            if (!qid.IsSymlink) { NinePClient.Clunk(fid); return -Errno.EINVAL; }
            byte* target = stackalloc byte[PathName.Max];
            int n = NinePClient.ReadLink(fid, target, PathName.Max);
            NinePClient.Clunk(fid);
            if (n < 0) return n;
            ulong count = (ulong)n < capacity ? (ulong)n : capacity;
            return UserMemory.CopyToUser(buffer, target, count) ? (long)count : -Errno.EFAULT;
        }

        internal static long StatFs(uint fid, ulong address)
        {
            int error = NinePClient.StatFs(fid, out NinePStatFs s);
            if (error != 0) return error;
            long* fs = stackalloc long[15];
            for (int i = 0; i < 15; i++) fs[i] = 0;
            fs[0] = s.Type; fs[1] = s.BlockSize; fs[2] = (long)s.Blocks; fs[3] = (long)s.BlocksFree; fs[4] = (long)s.BlocksAvailable;
            fs[5] = (long)s.Files; fs[6] = (long)s.FilesFree; fs[7] = (long)s.FsId; fs[8] = s.NameLength; fs[9] = s.BlockSize;
            return UserMemory.CopyToUser(address, fs, 120) ? 0 : -Errno.EFAULT;
        }
    }
}
