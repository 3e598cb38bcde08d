using Libra.Memory;
using Libra.Signals;
using Libra.Threads;

namespace Libra.Shims
{
    // An in-kernel pipe (pipe2): a 64 KiB ring; readers sleep while it is empty and a writer is
    // open, writers while it is full and a reader is open (pipe(7)). Both ends announce changes on
    // one poll queue.
    internal unsafe struct Pipe
    {
        internal const ulong Capacity = 64 * 1024;
        private ByteRing _ring;
        internal int Readers, Writers;
        internal PollQueue Queue;

        // A pipe with one reader and one writer, or null when the kernel heap cannot hold its ring.
        internal static Pipe* Create()
        {
            var pipe = (Pipe*)KernelHeap.TryAllocateZeroed((ulong)sizeof(Pipe));
            if (pipe == null) return null;
            pipe->_ring = ByteRing.Create(Capacity);
            if (!pipe->_ring.IsAllocated)
            {
                KernelHeap.Free(pipe);
                return null;
            }
            pipe->Readers = 1;
            pipe->Writers = 1;
            return pipe;
        }

        // pipe_poll (fs/pipe.c): the read end is readable with data, hung up with no writer; the
        // write end is writable with room, in error with no reader.
        internal uint ReadEndEvents => (!_ring.IsEmpty ? PollEvents.In | PollEvents.RdNorm : 0) | (Writers == 0 ? PollEvents.Hup : 0);
        internal uint WriteEndEvents => (!_ring.IsFull ? PollEvents.Out | PollEvents.WrNorm : 0) | (Readers == 0 ? PollEvents.Err : 0);
        internal ulong Available => _ring.Count;

        // Bytes read (0 = end of file), or -errno.
        internal long Read(byte* buffer, ulong length, bool nonBlocking)
        {
            if (length == 0) return 0;
            while (_ring.IsEmpty)
            {
                if (Writers == 0) return 0;
                if (nonBlocking) return -Errno.EAGAIN;
                if (Queue.Wait(PollEvents.In, 0) == WakeReason.Interrupted) return -Errno.ERESTARTSYS;
            }
            ulong n = _ring.Take(buffer, length);
            if (n > 0) Queue.Notify(PollEvents.Out | PollEvents.WrNorm);
            // The buffer went away while the reader slept (fs/pipe.c pipe_read: EFAULT when nothing was copied).
            return n == 0 ? -Errno.EFAULT : (long)n;
        }

        internal long Write(byte* buffer, ulong length, bool nonBlocking)
        {
            ulong written = 0;
            while (written < length)
            {
                if (Readers == 0)
                {
                    // pipe(7): writing with no reader left raises SIGPIPE, and the write fails with
                    // EPIPE when the signal is ignored or handled (fs/pipe.c pipe_write).
                    SignalDelivery.Send(Scheduler.Current, SignalDelivery.SIGPIPE);
                    return written > 0 ? (long)written : -Errno.EPIPE;
                }
                if (_ring.IsFull)
                {
                    if (nonBlocking) return written > 0 ? (long)written : -Errno.EAGAIN;
                    if (Queue.Wait(PollEvents.Out, 0) == WakeReason.Interrupted) return written > 0 ? (long)written : -Errno.ERESTARTSYS;
                    continue;
                }
                ulong room = _ring.Space, put = _ring.Put(buffer + written, length - written);
                written += put;
                if (put > 0) Queue.Notify(PollEvents.In | PollEvents.RdNorm);
                if (put < room && written < length) return written > 0 ? (long)written : -Errno.EFAULT;
            }
            return (long)written;
        }

        // One end closed; the pipe goes with its last end.
        internal static void CloseEnd(Pipe* pipe, bool writeEnd)
        {
            if (writeEnd) pipe->Writers--; else pipe->Readers--;
            pipe->Queue.Notify(writeEnd ? PollEvents.Hup | PollEvents.In : PollEvents.Err | PollEvents.Out);
            if (pipe->Readers == 0 && pipe->Writers == 0)
            {
                pipe->_ring.Free();
                KernelHeap.Free(pipe);
            }
        }
    }

    // The two ends of a pipe as open files.
    internal static unsafe class PipeFile
    {
        private static FileOperations* s_ops;

        internal static void Initialize()
        {
            s_ops = FileOperations.New();
            s_ops->Read = &Read;
            s_ops->Write = &Write;
            s_ops->Poll = &Poll;
            s_ops->Queue = &Queue;
            s_ops->Release = &Release;
            s_ops->Ioctl = &Ioctl;
        }

        // pipe2(fds, flags): the read end first.
        internal static long Create(ulong fds, int flags)
        {
            if ((flags & ~(FileTable.O_NONBLOCK | FileTable.O_CLOEXEC)) != 0) return -Errno.EINVAL;
            if (!UserMemory.IsAccessible(fds, 8, write: true)) return -Errno.EFAULT;
            Pipe* pipe = Pipe.Create();
            // No memory for the ring: Linux's create_pipe_files answers ENFILE when the pipe's inode cannot be had.
            if (pipe == null) return -Errno.ENFILE;
            int status = flags & FileTable.O_NONBLOCK;
            OpenFile* reader = FileTable.TryNew(FileKind.Pipe, s_ops, FileTable.O_RDONLY | status, FileTable.S_IFIFO | 0x180);
            OpenFile* writer = FileTable.TryNew(FileKind.Pipe, s_ops, FileTable.O_WRONLY | status, FileTable.S_IFIFO | 0x180);
            if (reader == null || writer == null)
            {
                FileTable.Discard(reader);
                FileTable.Discard(writer);
                Pipe.CloseEnd(pipe, writeEnd: false);
                Pipe.CloseEnd(pipe, writeEnd: true);
                return -Errno.ENFILE;
            }
            reader->Object = pipe;
            writer->Object = pipe;
            reader->Inode = writer->Inode = (ulong)pipe & 0xffffff;
            bool cloexec = (flags & FileTable.O_CLOEXEC) != 0;
            int readFd = FileTable.AllocateNew(reader, cloexec);
            if (readFd < 0) { FileTable.ReleaseUnused(writer); return readFd; }
            int writeFd = FileTable.AllocateNew(writer, cloexec);
            if (writeFd < 0) { FileTable.Close(readFd); return writeFd; }
            int* pair = stackalloc int[2];
            pair[0] = readFd;
            pair[1] = writeFd;
            if (UserMemory.CopyToUser(fds, pair, 8)) return 0;
            // The array went away since the check: no descriptors are left behind (do_pipe2's fput).
            FileTable.Close(readFd);
            FileTable.Close(writeFd);
            return -Errno.EFAULT;
        }

        private static Pipe* Of(OpenFile* file) => (Pipe*)file->Object;

        private static bool IsWriteEnd(OpenFile* file) => (file->StatusFlags & FileTable.O_ACCMODE) == FileTable.O_WRONLY;

        private static long Read(OpenFile* file, byte* buffer, ulong length, ulong offset) =>
            offset != ulong.MaxValue ? -Errno.ESPIPE : Of(file)->Read(buffer, length, file->IsNonBlocking);

        private static long Write(OpenFile* file, byte* buffer, ulong length, ulong offset) =>
            offset != ulong.MaxValue ? -Errno.ESPIPE : Of(file)->Write(buffer, length, file->IsNonBlocking);

        private static uint Poll(OpenFile* file) => IsWriteEnd(file) ? Of(file)->WriteEndEvents : Of(file)->ReadEndEvents;

        private static PollQueue* Queue(OpenFile* file) => &Of(file)->Queue;

        private static void Release(OpenFile* file) => Pipe.CloseEnd(Of(file), IsWriteEnd(file));

        // FIONREAD: the bytes waiting in the pipe.
        private static long Ioctl(OpenFile* file, uint request, ulong argument)
        {
            if (request != DescriptorCalls.FIONREAD) return -Errno.ENOTTY;
            int available = (int)Of(file)->Available;
            return UserMemory.CopyToUser(argument, &available, 4) ? 0 : -Errno.EFAULT;
        }
    }
}
