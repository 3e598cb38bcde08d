using System;
using Libra.Arch.X64;
using Libra.Drivers;
using Libra.Memory;
using Libra.Time;

namespace Libra.Shims
{
    // File calls over the descriptor table: the console, pipes, and the synthetic /proc, /sys and
    // /dev files. Real files arrive with the 9P client (issue 4); until then the root holds only
    // the synthetic tree, and a path outside it answers ENOENT.
    internal static unsafe class FileCalls
    {
        private const int AT_FDCWD = -100, AT_EMPTY_PATH = 0x1000, AT_SYMLINK_NOFOLLOW = 0x100, AT_REMOVEDIR = 0x200;
        private const int F_DUPFD = 0, F_GETFD = 1, F_SETFD = 2, F_GETFL = 3, F_SETFL = 4, F_DUPFD_CLOEXEC = 1030, FD_CLOEXEC = 1;
        private const uint TCGETS = 0x5401, TIOCGWINSZ = 0x5413, FIONBIO = 0x5421, FIOCLEX = 0x5451, FIONCLEX = 0x5450;
        private const int SEEK_SET = 0, SEEK_CUR = 1, SEEK_END = 2;
        private const int PathMax = 4096;
        private const int POLLIN = 1, POLLOUT = 4, POLLNVAL = 0x20;
        private const long TmpfsMagic = 0x01021994;

        internal static long Read(SyscallArgs* a) => ReadInto(a->Int0, a->A1, a->A2, ulong.MaxValue);

        internal static long Pread(SyscallArgs* a) => (long)a->A3 < 0 ? -Errno.EINVAL : ReadInto(a->Int0, a->A1, a->A2, a->A3);

        internal static long Write(SyscallArgs* a) => WriteFrom(a->Int0, a->A1, a->A2);

        internal static long Pwrite(SyscallArgs* a) => (long)a->A3 < 0 ? -Errno.EINVAL : WriteFrom(a->Int0, a->A1, a->A2, a->A3);

        private static long ReadInto(int fd, ulong buffer, ulong length, ulong offset)
        {
            OpenFile* file = FileTable.Get(fd);
            if (file == null || (file->StatusFlags & FileTable.O_ACCMODE) == FileTable.O_WRONLY) return -Errno.EBADF;
            if (!UserMemory.IsAccessible(buffer, length, write: true)) return -Errno.EFAULT;
            return ReadData(file, (byte*)buffer, length, offset);
        }

        // A read into checked (user) or kernel memory; offset ulong.MaxValue reads at the file position.
        private static long ReadData(OpenFile* file, byte* buffer, ulong length, ulong offset)
        {
            bool positioned = offset != ulong.MaxValue;
            switch (file->Kind)
            {
                case FileKind.Console: case FileKind.Null:
                    return 0;
                case FileKind.Random:
                    EntropySource.Fill(buffer, length);
                    return (long)length;
                case FileKind.Directory:
                    return -Errno.EISDIR;
                case FileKind.PipeRead:
                    return positioned ? -Errno.ESPIPE : file->Pipe->Read(buffer, length, (file->StatusFlags & FileTable.O_NONBLOCK) != 0);
                case FileKind.NineP:
                {
                    if ((file->Mode & FileTable.S_IFDIR) != 0) return -Errno.EISDIR;
                    long n = NinePFiles.Read(file, buffer, length, positioned ? offset : file->Position);
                    if (n > 0 && !positioned) file->Position += (ulong)n;
                    return n;
                }
                case FileKind.Synthetic:
                {
                    ulong position = positioned ? offset : file->Position;
                    if (position >= file->Size) return 0;
                    ulong n = file->Size - position < length ? file->Size - position : length;
                    Native.MemMove(buffer, file->Data + position, (nuint)n);
                    if (!positioned) file->Position += n;
                    return (long)n;
                }
                default:
                    return -Errno.EBADF;
            }
        }

        private static long WriteFrom(int fd, ulong buffer, ulong length, ulong offset = ulong.MaxValue)
        {
            OpenFile* file = FileTable.Get(fd);
            if (file == null || (file->StatusFlags & FileTable.O_ACCMODE) == FileTable.O_RDONLY) return -Errno.EBADF;
            if (!UserMemory.IsAccessible(buffer, length, write: false)) return -Errno.EFAULT;
            return WriteData(file, (byte*)buffer, length, offset);
        }

        // A write from checked (user) or kernel memory; offset ulong.MaxValue writes at the file position.
        private static long WriteData(OpenFile* file, byte* buffer, ulong length, ulong offset)
        {
            switch (file->Kind)
            {
                case FileKind.Console:
                    for (ulong i = 0; i < length; i++) Uart16550.Write(file->ConsolePort, buffer[i]);
                    return (long)length;
                case FileKind.Null: case FileKind.Random:
                    return (long)length;
                case FileKind.PipeWrite:
                    if (offset != ulong.MaxValue) return -Errno.ESPIPE;
                    return file->Pipe->Write(buffer, length, (file->StatusFlags & FileTable.O_NONBLOCK) != 0);
                case FileKind.NineP:
                {
                    bool positioned = offset != ulong.MaxValue;
                    ulong at = positioned ? offset : file->Position;
                    // O_APPEND: the host file is open with O_APPEND too; the end is where this write lands.
                    if (!positioned && (file->StatusFlags & FileTable.O_APPEND) != 0)
                    {
                        long error = NinePFiles.Size(file, out at);
                        if (error != 0) return error;
                    }
                    long n = NinePFiles.Write(file, buffer, length, at);
                    if (n > 0 && !positioned) file->Position = at + (ulong)n;
                    return n;
                }
                default:
                    return -Errno.EBADF;
            }
        }

        // sendfile(out_fd, in_fd, offset*, count): through a kernel buffer, 64 KiB at a time; with an
        // offset pointer the input's position stays and *offset moves instead.
        internal static long SendFile(SyscallArgs* a) => Splice(a->Int1, a->A2, a->Int0, 0, a->A3, sendfile: true);

        // copy_file_range(fd_in, off_in*, fd_out, off_out*, len, flags)
        internal static long CopyFileRange(SyscallArgs* a)
        {
            if ((uint)a->A5 != 0) return -Errno.EINVAL;     // flags is an unsigned int: the upper half of r9 is noise
            return Splice(a->Int0, a->A1, a->Int2, a->A3, a->A4, sendfile: false);
        }

        private static long Splice(int inFd, ulong inOffsetAddress, int outFd, ulong outOffsetAddress, ulong count, bool sendfile)
        {
            const ulong Chunk = 64 * 1024;
            OpenFile* input = FileTable.Get(inFd), output = FileTable.Get(outFd);
            if (input == null || (input->StatusFlags & FileTable.O_ACCMODE) == FileTable.O_WRONLY) return -Errno.EBADF;
            if (output == null || (output->StatusFlags & FileTable.O_ACCMODE) == FileTable.O_RDONLY) return -Errno.EBADF;
            bool regularIn = (input->Kind == FileKind.NineP && (input->Mode & FileTable.S_IFDIR) == 0) || input->Kind == FileKind.Synthetic;
            if (!regularIn) return -Errno.EINVAL;
            if (!sendfile && !(output->Kind == FileKind.NineP && (output->Mode & FileTable.S_IFDIR) == 0)) return -Errno.EINVAL;
            ulong inOffset = ulong.MaxValue, outOffset = ulong.MaxValue;
            if (inOffsetAddress != 0 && !UserMemory.CopyFromUser(&inOffset, inOffsetAddress, 8)) return -Errno.EFAULT;
            if (outOffsetAddress != 0 && !UserMemory.CopyFromUser(&outOffset, outOffsetAddress, 8)) return -Errno.EFAULT;
            if ((long)inOffset < -1 || (long)outOffset < -1) return -Errno.EINVAL;
            byte* bounce = (byte*)KernelHeap.AllocateZeroed(Chunk);
            ulong done = 0;
            long result = 0;
            while (done < count)
            {
                ulong want = count - done < Chunk ? count - done : Chunk;
                long got = ReadData(input, bounce, want, inOffset == ulong.MaxValue ? ulong.MaxValue : inOffset + done);
                if (got <= 0) { result = got; break; }
                long put = WriteData(output, bounce, (ulong)got, outOffset == ulong.MaxValue ? ulong.MaxValue : outOffset + done);
                if (put < 0) { result = put; break; }
                done += (ulong)put;
                if ((ulong)put < (ulong)got || (ulong)got < want) break;
            }
            KernelHeap.Free(bounce);
            if (done == 0 && result < 0) return result;
            if (inOffsetAddress != 0) { inOffset += done; UserMemory.CopyToUser(inOffsetAddress, &inOffset, 8); }
            if (outOffsetAddress != 0) { outOffset += done; UserMemory.CopyToUser(outOffsetAddress, &outOffset, 8); }
            return (long)done;
        }

        // readv/writev: struct iovec { void* base; size_t len; }, stopping at the first short transfer.
        internal static long Readv(SyscallArgs* a) => Vector(a->Int0, a->A1, a->A2, reading: true);

        internal static long Writev(SyscallArgs* a) => Vector(a->Int0, a->A1, a->A2, reading: false);

        private static long Vector(int fd, ulong iov, ulong count, bool reading)
        {
            if (count > 1024) return -Errno.EINVAL;
            if (!UserMemory.IsAccessible(iov, count * 16, write: false)) return -Errno.EFAULT;
            long total = 0;
            for (ulong i = 0; i < count; i++)
            {
                ulong buffer = ((ulong*)iov)[i * 2], length = ((ulong*)iov)[i * 2 + 1];
                if (length == 0) continue;
                long n = reading ? ReadInto(fd, buffer, length, ulong.MaxValue) : WriteFrom(fd, buffer, length);
                if (n < 0) return total > 0 ? total : n;
                total += n;
                if ((ulong)n < length) break;
            }
            return total;
        }

        internal static long Close(SyscallArgs* a) => FileTable.Close(a->Int0);

        internal static long Open(SyscallArgs* a) => OpenPath(AT_FDCWD, a->A0, a->Int1, (uint)a->A2);

        internal static long OpenAt(SyscallArgs* a) => OpenPath(a->Int0, a->A1, a->Int2, (uint)a->A3);

        internal static long Creat(SyscallArgs* a) => OpenPath(AT_FDCWD, a->A0, FileTable.O_CREAT | FileTable.O_WRONLY | FileTable.O_TRUNC, (uint)a->A1);

        private static long OpenPath(int dirfd, ulong pathAddress, int flags, uint mode)
        {
            byte* path = stackalloc byte[PathMax];
            long length = ReadPath(dirfd, pathAddress, path);
            if (length < 0) return length;
            OpenFile* file;
            long error;
            if (IsSynthetic(path)) file = ProcFiles.Open(path, flags, out error);
            else
            {
                error = NinePFiles.Open(path, (int)length, flags, mode, out file);
                if (file != null && (file->Mode & FileTable.S_IFDIR) != 0) RememberPath(file, path, (int)length);
            }
            if (file == null) return error;
            int fd = FileTable.Allocate(file, 0, (flags & FileTable.O_CLOEXEC) != 0);
            if (fd < 0) FileTable.Discard(file);
            return fd;
        }

        // A directory keeps its path, for the *at calls relative to it.
        private static void RememberPath(OpenFile* file, byte* path, int length)
        {
            file->Path = (byte*)KernelHeap.AllocateZeroed((ulong)length + 1);
            Native.MemMove(file->Path, path, (nuint)(length + 1));
            file->PathLength = length;
        }

        // Paths the kernel answers itself; every other one is in the export once 9P is mounted.
        private static bool IsSynthetic(byte* path) =>
            !NineP.NinePClient.Mounted || Under(path, "/proc") || Under(path, "/sys") || Under(path, "/dev");

        private static bool Under(byte* path, string prefix)
        {
            for (int i = 0; i < prefix.Length; i++) if (path[i] != (byte)prefix[i]) return false;
            return path[prefix.Length] == 0 || path[prefix.Length] == (byte)'/';
        }

        // The working directory, normalized; "/" until chdir.
        private struct WorkingDirectory { internal fixed byte Bytes[PathMax]; }
        private static WorkingDirectory s_cwd;
        private static int s_cwdLength;

        // A user path made absolute against the working directory (or the directory `dirfd`) and
        // normalized (PathName); its length, or -errno.
        private static long ReadPath(int dirfd, ulong pathAddress, byte* path)
        {
            byte* raw = stackalloc byte[PathMax];
            int length = UserMemory.CopyStringFromUser(pathAddress, raw, PathMax - 1);
            if (length == -1) return -Errno.EFAULT;
            if (length == -2) return -Errno.ENAMETOOLONG;
            if (length == 0) return -Errno.ENOENT;
            ReadOnlySpan<byte> basis;
            if (raw[0] == (byte)'/' || dirfd == AT_FDCWD)
            {
                if (s_cwdLength == 0) { s_cwd.Bytes[0] = (byte)'/'; s_cwdLength = 1; }
                fixed (byte* cwd = s_cwd.Bytes) return PathName.Normalize(new ReadOnlySpan<byte>(cwd, s_cwdLength), new ReadOnlySpan<byte>(raw, length), path);
            }
            OpenFile* directory = FileTable.Get(dirfd);
            if (directory == null) return -Errno.EBADF;
            if (directory->Path == null) return (directory->Mode & FileTable.S_IFDIR) != 0 ? -Errno.ENOENT : -Errno.ENOTDIR;
            basis = new ReadOnlySpan<byte>(directory->Path, directory->PathLength);
            return PathName.Normalize(basis, new ReadOnlySpan<byte>(raw, length), path);
        }

        internal static long Chdir(SyscallArgs* a)
        {
            byte* path = stackalloc byte[PathMax];
            long length = ReadPath(AT_FDCWD, a->A0, path);
            if (length < 0) return length;
            long error = CheckDirectory(path, (int)length);
            if (error != 0) return error;
            fixed (byte* cwd = s_cwd.Bytes) Native.MemMove(cwd, path, (nuint)(length + 1));
            s_cwdLength = (int)length;
            return 0;
        }

        internal static long Fchdir(SyscallArgs* a)
        {
            OpenFile* file = FileTable.Get(a->Int0);
            if (file == null) return -Errno.EBADF;
            if (file->Path == null) return -Errno.ENOTDIR;
            fixed (byte* cwd = s_cwd.Bytes) Native.MemMove(cwd, file->Path, (nuint)(file->PathLength + 1));
            s_cwdLength = file->PathLength;
            return 0;
        }

        private static long CheckDirectory(byte* path, int length)
        {
            if (IsSynthetic(path))
            {
                if (!ProcFiles.Exists(path, out uint mode)) return -Errno.ENOENT;
                return (mode & FileTable.S_IFDIR) != 0 ? 0 : -Errno.ENOTDIR;
            }
            int error = NinePFiles.Resolve(path, length, followLast: true, out uint fid, out NineP.NinePQid qid);
            if (error != 0) return error;
            NineP.NinePClient.Clunk(fid);
            return qid.IsDirectory ? 0 : -Errno.ENOTDIR;
        }

        // struct stat (x86-64, 144 bytes): dev@0 ino@8 nlink@16 mode@24 uid@28 gid@32 rdev@40 size@48
        // blksize@56 blocks@64 atime@72 mtime@88 ctime@104.
        private static long WriteStat(ulong address, uint mode, ulong inode, ulong size)
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
            file->Kind == FileKind.NineP ? NinePFiles.Stat(file->Fid, address) :
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
            if (s_cwdLength == 0) { path[0] = (byte)'/'; path[1] = 0; }
            else fixed (byte* cwd = s_cwd.Bytes) Native.MemMove(path, cwd, (nuint)(s_cwdLength + 1));
            int length = s_cwdLength == 0 ? 1 : s_cwdLength;
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

        internal static long Readlink(SyscallArgs* a) => ReadLinkPath(AT_FDCWD, a->A0, a->A1, a->A2);

        internal static long ReadlinkAt(SyscallArgs* a) => ReadLinkPath(a->Int0, a->A1, a->A2, a->A3);

        private static long ReadLinkPath(int dirfd, ulong pathAddress, ulong buffer, ulong size)
        {
            byte* path = stackalloc byte[PathMax];
            long pathLength = ReadPath(dirfd, pathAddress, path);
            if (pathLength < 0) return pathLength;
            if ((long)size <= 0) return -Errno.EINVAL;
            if (!IsSynthetic(path)) return NinePFiles.ReadLink(path, (int)pathLength, buffer, size);
            int length = ProcFiles.ReadLink(path, out byte* target);
            if (length < 0) return length;
            ulong n = (ulong)length < size ? (ulong)length : size;
            return UserMemory.CopyToUser(buffer, target, n) ? (long)n : -Errno.EFAULT;
        }

        internal static long Seek(SyscallArgs* a)
        {
            OpenFile* file = FileTable.Get(a->Int0);
            if (file == null) return -Errno.EBADF;
            if (file->Kind == FileKind.PipeRead || file->Kind == FileKind.PipeWrite || file->Kind == FileKind.Console) return -Errno.ESPIPE;
            long offset = (long)a->A1, basis;
            switch (a->Int2)
            {
                case SEEK_SET: basis = 0; break;
                case SEEK_CUR: basis = (long)file->Position; break;
                case SEEK_END:
                    ulong size = file->Size;
                    if (file->Kind == FileKind.NineP)
                    {
                        long error = NinePFiles.Size(file, out size);
                        if (error != 0) return error;
                    }
                    basis = (long)size;
                    break;
                default: return -Errno.EINVAL;
            }
            // A directory's position is its readdir cookie: only a rewind makes sense.
            if (file->Kind == FileKind.NineP && (file->Mode & FileTable.S_IFDIR) != 0 && (basis + offset) != 0) return -Errno.EINVAL;
            if (basis + offset < 0) return -Errno.EINVAL;
            file->Position = (ulong)(basis + offset);
            return (long)file->Position;
        }

        // A serial console that is not a terminal: termios requests answer ENOTTY, as for a pipe.
        internal static long Ioctl(SyscallArgs* a)
        {
            OpenFile* file = FileTable.Get(a->Int0);
            if (file == null) return -Errno.EBADF;
            switch ((uint)a->A1)
            {
                case FIONBIO:
                    int on;
                    if (!UserMemory.CopyFromUser(&on, a->A2, 4)) return -Errno.EFAULT;
                    if (on != 0) file->StatusFlags |= FileTable.O_NONBLOCK; else file->StatusFlags &= ~FileTable.O_NONBLOCK;
                    return 0;
                case FIOCLEX: FileTable.SetCloseOnExec(a->Int0, true); return 0;
                case FIONCLEX: FileTable.SetCloseOnExec(a->Int0, false); return 0;
                default: return -Errno.ENOTTY;
            }
        }

        internal static long Fcntl(SyscallArgs* a)
        {
            int fd = a->Int0;
            OpenFile* file = FileTable.Get(fd);
            if (file == null) return -Errno.EBADF;
            switch (a->Int1)
            {
                case F_DUPFD: case F_DUPFD_CLOEXEC:
                    if (a->Int2 < 0 || a->Int2 >= FileTable.MaxFiles) return -Errno.EINVAL;
                    return FileTable.Allocate(file, a->Int2, a->Int1 == F_DUPFD_CLOEXEC);
                case F_GETFD: return FileTable.CloseOnExec(fd) ? FD_CLOEXEC : 0;
                case F_SETFD: FileTable.SetCloseOnExec(fd, (a->A2 & FD_CLOEXEC) != 0); return 0;
                case F_GETFL: return file->StatusFlags;
                case F_SETFL:
                    const int settable = FileTable.O_APPEND | FileTable.O_NONBLOCK;
                    file->StatusFlags = (file->StatusFlags & ~settable) | (a->Int2 & settable);
                    return 0;
                default: return -Errno.EINVAL;
            }
        }

        internal static long Dup(SyscallArgs* a)
        {
            OpenFile* file = FileTable.Get(a->Int0);
            return file == null ? -Errno.EBADF : FileTable.Allocate(file, 0, false);
        }

        internal static long Dup2(SyscallArgs* a)
        {
            if (a->Int0 == a->Int1) return FileTable.Get(a->Int0) == null ? -Errno.EBADF : a->Int1;
            return Duplicate(a->Int0, a->Int1, false);
        }

        internal static long Dup3(SyscallArgs* a)
        {
            if (a->Int0 == a->Int1) return -Errno.EINVAL;
            return Duplicate(a->Int0, a->Int1, (a->Int2 & FileTable.O_CLOEXEC) != 0);
        }

        private static long Duplicate(int from, int to, bool closeOnExec)
        {
            OpenFile* file = FileTable.Get(from);
            if (file == null) return -Errno.EBADF;
            if (to < 0 || to >= FileTable.MaxFiles) return -Errno.EBADF;
            if (FileTable.Get(to) != null) FileTable.Close(to);
            FileTable.Install(to, file);
            FileTable.SetCloseOnExec(to, closeOnExec);
            return to;
        }

        internal static long Pipe(SyscallArgs* a) => MakePipe(a->A0, 0);

        internal static long Pipe2(SyscallArgs* a) => MakePipe(a->A0, a->Int1);

        private static long MakePipe(ulong fds, int flags)
        {
            if (!UserMemory.IsAccessible(fds, 8, write: true)) return -Errno.EFAULT;
            Pipe* pipe = Shims.Pipe.Create();
            int status = flags & FileTable.O_NONBLOCK;
            OpenFile* reader = FileTable.New(FileKind.PipeRead, FileTable.O_RDONLY | status, FileTable.S_IFIFO | 0x180);
            OpenFile* writer = FileTable.New(FileKind.PipeWrite, FileTable.O_WRONLY | status, FileTable.S_IFIFO | 0x180);
            reader->Pipe = pipe;
            writer->Pipe = pipe;
            reader->Inode = writer->Inode = (ulong)pipe & 0xffffff;
            bool cloexec = (flags & FileTable.O_CLOEXEC) != 0;
            int readFd = FileTable.Allocate(reader, 0, cloexec);
            if (readFd < 0) return readFd;
            int writeFd = FileTable.Allocate(writer, 0, cloexec);
            if (writeFd < 0) { FileTable.Close(readFd); return writeFd; }
            ((int*)fds)[0] = readFd;
            ((int*)fds)[1] = writeFd;
            return 0;
        }

        // Directories of the synthetic tree list nothing yet.
        internal static long GetDents64(SyscallArgs* a)
        {
            OpenFile* file = FileTable.Get(a->Int0);
            if (file == null) return -Errno.EBADF;
            if (file->Kind == FileKind.NineP && (file->Mode & FileTable.S_IFDIR) != 0)
            {
                if (!UserMemory.IsAccessible(a->A1, a->A2, write: true)) return -Errno.EFAULT;
                return NinePFiles.GetDents(file, a->A1, a->A2);
            }
            return file->Kind == FileKind.Directory ? 0 : -Errno.ENOTDIR;
        }

        internal static long GetCwd(SyscallArgs* a)
        {
            if (s_cwdLength == 0) { s_cwd.Bytes[0] = (byte)'/'; s_cwdLength = 1; }
            ulong size = (ulong)s_cwdLength + 1;
            if (a->A1 < size) return -Errno.ERANGE;
            fixed (byte* cwd = s_cwd.Bytes) return UserMemory.CopyToUser(a->A0, cwd, size) ? (long)size : -Errno.EFAULT;
        }

        internal static long Mkdir(SyscallArgs* a) => MakeDirectory(AT_FDCWD, a->A0, (uint)a->A1);

        internal static long MkdirAt(SyscallArgs* a) => MakeDirectory(a->Int0, a->A1, (uint)a->A2);

        private static long MakeDirectory(int dirfd, ulong pathAddress, uint mode)
        {
            byte* path = stackalloc byte[PathMax];
            long length = ReadPath(dirfd, pathAddress, path);
            if (length < 0) return length;
            if (IsSynthetic(path)) return ProcFiles.Exists(path, out _) ? -Errno.EEXIST : -Errno.EROFS;
            return NinePFiles.MakeDirectory(path, (int)length, mode);
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
            if (IsSynthetic(path)) return ProcFiles.Exists(path, out _) ? -Errno.EEXIST : -Errno.EROFS;
            return NinePFiles.Symlink(target, targetLength, path, (int)length);
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

        internal static long Unlink(SyscallArgs* a) => Remove(AT_FDCWD, a->A0, 0);

        internal static long Rmdir(SyscallArgs* a) => Remove(AT_FDCWD, a->A0, AT_REMOVEDIR);

        internal static long UnlinkAt(SyscallArgs* a) => Remove(a->Int0, a->A1, a->Int2);

        private static long Remove(int dirfd, ulong pathAddress, int flags)
        {
            if ((flags & ~AT_REMOVEDIR) != 0) return -Errno.EINVAL;
            byte* path = stackalloc byte[PathMax];
            long length = ReadPath(dirfd, pathAddress, path);
            if (length < 0) return length;
            if (IsSynthetic(path)) return ProcFiles.Exists(path, out _) ? -Errno.EACCES : -Errno.ENOENT;
            return NinePFiles.Unlink(path, (int)length, (flags & AT_REMOVEDIR) != 0);
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
            if (IsSynthetic(from) || IsSynthetic(to)) return -Errno.EXDEV;
            if ((flags & RENAME_NOREPLACE) != 0 && NinePFiles.Resolve(to, (int)toLength, false, out uint existing, out _) == 0)
            {
                NineP.NinePClient.Clunk(existing);
                return -Errno.EEXIST;
            }
            return NinePFiles.Rename(from, (int)fromLength, to, (int)toLength);
        }

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
            if (fd >= 0)
            {
                OpenFile* file = FileTable.Get(fd);
                if (file == null) return -Errno.EBADF;
                return file->Kind == FileKind.NineP ? NineP.NinePClient.SetAttr(file->Fid, in attr) : -Errno.EPERM;
            }
            byte* path = stackalloc byte[PathMax];
            long length = ReadPath(dirfd, pathAddress, path);
            if (length < 0) return length;
            if (IsSynthetic(path)) return ProcFiles.Exists(path, out _) ? -Errno.EPERM : -Errno.ENOENT;
            int error = NinePFiles.Resolve(path, (int)length, follow, out uint fid, out _);
            if (error != 0) return error;
            error = NineP.NinePClient.SetAttr(fid, in attr);
            NineP.NinePClient.Clunk(fid);
            return error;
        }

        internal static long Ftruncate(SyscallArgs* a)
        {
            OpenFile* file = FileTable.Get(a->Int0);
            if (file == null) return -Errno.EBADF;
            if ((long)a->A1 < 0) return -Errno.EINVAL;
            if (file->Kind != FileKind.NineP || (file->StatusFlags & FileTable.O_ACCMODE) == FileTable.O_RDONLY) return -Errno.EINVAL;
            return NinePFiles.Truncate(file->Fid, a->A1);
        }

        internal static long Truncate(SyscallArgs* a)
        {
            if ((long)a->A1 < 0) return -Errno.EINVAL;
            byte* path = stackalloc byte[PathMax];
            long length = ReadPath(AT_FDCWD, a->A0, path);
            if (length < 0) return length;
            if (IsSynthetic(path)) return ProcFiles.Exists(path, out _) ? -Errno.EACCES : -Errno.ENOENT;
            int error = NinePFiles.Resolve(path, (int)length, followLast: true, out uint fid, out NineP.NinePQid qid);
            if (error != 0) return error;
            long result = qid.IsDirectory ? -Errno.EISDIR : NinePFiles.Truncate(fid, a->A1);
            NineP.NinePClient.Clunk(fid);
            return result;
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

        // flock: one process holds every lock it asks for.
        internal static long Flock(SyscallArgs* a) => FileTable.Get(a->Int0) == null ? -Errno.EBADF : 0;

        internal static long Fsync(SyscallArgs* a) => Sync(a->Int0, dataOnly: false);

        internal static long Fdatasync(SyscallArgs* a) => Sync(a->Int0, dataOnly: true);

        private static long Sync(int fd, bool dataOnly)
        {
            OpenFile* file = FileTable.Get(fd);
            if (file == null) return -Errno.EBADF;
            return file->Kind == FileKind.NineP ? NineP.NinePClient.Fsync(file->Fid, dataOnly) : 0;
        }

        // poll(fds, nfds, timeout_ms): readiness of consoles and pipes, sleeping on the pipes' queues.
        internal static long Poll(SyscallArgs* a)
        {
            int timeout = (int)a->A2;
            ulong deadline = timeout < 0 ? 0 : Clock.Nanoseconds() + (ulong)timeout * 1_000_000 + 1;
            return PollUntil(a->A0, a->A1, deadline, timeout == 0);
        }

        internal static long Ppoll(SyscallArgs* a)
        {
            ulong deadline = 0;
            bool immediate = false;
            if (a->A2 != 0)
            {
                long error = TimeCalls.Deadline(a->A2, absolute: false, realtime: false, out deadline);
                if (error != 0) return error;
                immediate = deadline <= Clock.Nanoseconds() + 1;
            }
            return PollUntil(a->A0, a->A1, deadline, immediate);
        }

        private static long PollUntil(ulong fds, ulong count, ulong deadline, bool immediate)
        {
            if (count > FileTable.MaxFiles) return -Errno.EINVAL;
            if (!UserMemory.IsAccessible(fds, count * 8, write: true)) return -Errno.EFAULT;
            while (true)
            {
                int ready = 0;
                Pipe* waitOn = null;
                for (ulong i = 0; i < count; i++)
                {
                    int fd = *(int*)(fds + i * 8);
                    short events = *(short*)(fds + i * 8 + 4);
                    short revents = 0;
                    OpenFile* file = fd < 0 ? null : FileTable.Get(fd);
                    if (fd >= 0 && file == null) revents = POLLNVAL;
                    else if (file != null)
                    {
                        if (file->Kind == FileKind.PipeRead) { if (file->Pipe->IsReadable) revents |= (short)(events & POLLIN); else waitOn = file->Pipe; }
                        else if (file->Kind == FileKind.Console && file->ConsolePort == 0) { }
                        else revents |= (short)(events & (POLLIN | POLLOUT));
                    }
                    *(short*)(fds + i * 8 + 6) = revents;
                    if (revents != 0) ready++;
                }
                if (ready > 0 || immediate) return ready;
                Threads.WakeReason reason = waitOn != null ? waitOn->Waiters.Wait(deadline) : Threads.Scheduler.Block(deadline);
                if (reason == Threads.WakeReason.TimedOut) return 0;
                if (reason == Threads.WakeReason.Interrupted) return -Errno.EINTR;
            }
        }
    }
}
