using Libra.Memory;

namespace Libra.Shims
{
    // read, write and their positioned, vectored and in-kernel (sendfile, copy_file_range) forms,
    // and lseek: each goes through the open file's operations table.
    internal static unsafe class ReadWriteCalls
    {
        private const int SEEK_SET = 0, SEEK_CUR = 1, SEEK_END = 2, SEEK_DATA = 3, SEEK_HOLE = 4;

        internal static long Read(SyscallArgs* a) => ReadInto(a->Int0, a->A1, a->A2, ulong.MaxValue);

        internal static long Pread(SyscallArgs* a) => (long)a->A3 < 0 ? -Errno.EINVAL : ReadInto(a->Int0, a->A1, a->A2, a->A3);

        internal static long Write(SyscallArgs* a) => WriteFrom(a->Int0, a->A1, a->A2, ulong.MaxValue);

        internal static long Pwrite(SyscallArgs* a) => (long)a->A3 < 0 ? -Errno.EINVAL : WriteFrom(a->Int0, a->A1, a->A2, a->A3);

        private static long ReadInto(int fd, ulong buffer, ulong length, ulong offset)
        {
            OpenFile* file = FileTable.Use(fd);
            if (file == null || !file->CanRead) return -Errno.EBADF;
            if (!UserMemory.IsAccessible(buffer, length, write: true)) return -Errno.EFAULT;
            return ReadData(file, (byte*)buffer, length, offset);
        }

        private static long WriteFrom(int fd, ulong buffer, ulong length, ulong offset)
        {
            OpenFile* file = FileTable.Use(fd);
            if (file == null || !file->CanWrite) return -Errno.EBADF;
            ulong accessible = UserMemory.AccessibleLength(buffer, length, write: false);
            // A tmpfs file takes the bytes before a hole in the buffer and says how many, as
            // generic_perform_write; the other kinds fail the whole call when any byte is missing.
            if (accessible < length && (file->Kind != FileKind.Memory || accessible == 0)) return -Errno.EFAULT;
            return WriteData(file, (byte*)buffer, accessible, offset);
        }

        // A read into checked (user) or kernel memory; offset ulong.MaxValue reads at the file position.
        internal static long ReadData(OpenFile* file, byte* buffer, ulong length, ulong offset)
        {
            if (file->Ops->Read == null) return file->IsDirectory ? -Errno.EISDIR : -Errno.EINVAL;
            return file->Ops->Read(file, buffer, length, offset);
        }

        // A write from checked (user) or kernel memory; offset ulong.MaxValue writes at the file position.
        internal static long WriteData(OpenFile* file, byte* buffer, ulong length, ulong offset)
        {
            if (file->Ops->Write == null) return file->IsDirectory ? -Errno.EISDIR : -Errno.EINVAL;
            return file->Ops->Write(file, buffer, length, offset);
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
            OpenFile* input = FileTable.Use(inFd), output = FileTable.Use(outFd);
            if (input == null || !input->CanRead) return -Errno.EBADF;
            if (output == null || !output->CanWrite) return -Errno.EBADF;
            if (!input->IsRegular || input->Ops->Read == null) return -Errno.EINVAL;
            if (!sendfile && !output->IsRegular) return -Errno.EINVAL;
            ulong inOffset = ulong.MaxValue, outOffset = ulong.MaxValue;
            if (inOffsetAddress != 0 && !UserMemory.CopyFromUser(&inOffset, inOffsetAddress, 8)) return -Errno.EFAULT;
            if (outOffsetAddress != 0 && !UserMemory.CopyFromUser(&outOffset, outOffsetAddress, 8)) return -Errno.EFAULT;
            if ((long)inOffset < -1 || (long)outOffset < -1) return -Errno.EINVAL;
            byte* bounce = (byte*)KernelHeap.TryAllocateZeroed(Chunk);
            if (bounce == null) return -Errno.ENOMEM;
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
                if (!ReadIovec(iov, i, out ulong buffer, out ulong length)) return total > 0 ? total : -Errno.EFAULT;
                if (length == 0) continue;
                long n = reading ? ReadInto(fd, buffer, length, ulong.MaxValue) : WriteFrom(fd, buffer, length, ulong.MaxValue);
                if (n < 0) return total > 0 ? total : n;
                total += n;
                if ((ulong)n < length) break;
            }
            return total;
        }

        // Entry `index` of a user array of struct iovec { void* base; size_t len; }, copied in each
        // time it is used: another thread may unmap the array while a read sleeps. False for EFAULT.
        internal static bool ReadIovec(ulong iov, ulong index, out ulong buffer, out ulong length)
        {
            ulong* entry = stackalloc ulong[2];
            bool read = UserMemory.CopyFromUser(entry, iov + index * 16, 16);
            buffer = entry[0];
            length = entry[1];
            return read;
        }

        internal static long Seek(SyscallArgs* a)
        {
            OpenFile* file = FileTable.Use(a->Int0);
            if (file == null) return -Errno.EBADF;
            if (file->Ops->SeekEnd == null) return -Errno.ESPIPE;
            long offset = (long)a->A1, basis;
            switch (a->Int2)
            {
                case SEEK_SET: basis = 0; break;
                case SEEK_CUR: basis = (long)file->Position; break;
                case SEEK_END:
                    ulong size;
                    long error = file->Ops->SeekEnd(file, &size);
                    if (error != 0) return error;
                    basis = (long)size;
                    break;
                case SEEK_DATA: case SEEK_HOLE:
                    // lseek(2): every file here is data from 0 to its size, with the one hole at its end.
                    if (!file->IsRegular) return -Errno.EINVAL;
                    ulong end;
                    long failed = file->Ops->SeekEnd(file, &end);
                    if (failed != 0) return failed;
                    if (offset < 0 || (ulong)offset >= end) return -Errno.ENXIO;
                    file->Position = a->Int2 == SEEK_DATA ? (ulong)offset : end;
                    return (long)file->Position;
                default: return -Errno.EINVAL;
            }
            // A 9P directory's position is its readdir cookie: only a rewind makes sense.
            if (file->Kind == FileKind.NineP && file->IsDirectory && (basis + offset) != 0) return -Errno.EINVAL;
            if (basis + offset < 0) return -Errno.EINVAL;
            file->Position = (ulong)(basis + offset);
            return (long)file->Position;
        }
    }
}
