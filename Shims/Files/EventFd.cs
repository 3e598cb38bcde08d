using Libra.Memory;
using Libra.Threads;

namespace Libra.Shims
{
    // eventfd2(initval, flags): a 64-bit counter as a file (eventfd(2)). A read takes the whole
    // count (EFD_SEMAPHORE: one) and sleeps while it is zero; a write adds and sleeps while the sum
    // would pass 0xfffffffffffffffe.
    internal static unsafe class EventFd
    {
        private const int EFD_SEMAPHORE = 1;
        private const ulong Max = 0xfffffffffffffffe;

        private struct Counter
        {
            internal ulong Count;
            internal bool Semaphore;
            internal PollQueue Queue;
        }

        private static FileOperations* s_ops;

        internal static void Initialize()
        {
            s_ops = FileOperations.New();
            s_ops->Read = &Read;
            s_ops->Write = &Write;
            s_ops->Poll = &Poll;
            s_ops->Queue = &Queue;
            s_ops->Release = &Release;
        }

        internal static long Create(SyscallArgs* a) => Create((uint)a->A0, 0);

        internal static long Create2(SyscallArgs* a) => Create((uint)a->A0, a->Int1);

        private static long Create(uint initial, int flags)
        {
            if ((flags & ~(EFD_SEMAPHORE | FileTable.O_NONBLOCK | FileTable.O_CLOEXEC)) != 0) return -Errno.EINVAL;
            var counter = (Counter*)KernelHeap.TryAllocateZeroed((ulong)sizeof(Counter));
            // An anonymous inode: mode 0600 and no file type, as fstat shows it on Linux.
            OpenFile* file = counter == null ? null : FileTable.TryNew(FileKind.EventFd, s_ops, FileTable.O_RDWR | (flags & FileTable.O_NONBLOCK), 0x180);
            if (file == null) { KernelHeap.Free(counter); return -Errno.ENFILE; }
            counter->Count = initial;
            counter->Semaphore = (flags & EFD_SEMAPHORE) != 0;
            file->Object = counter;
            file->Inode = 1;
            return FileTable.AllocateNew(file, (flags & FileTable.O_CLOEXEC) != 0);
        }

        private static Counter* Of(OpenFile* file) => (Counter*)file->Object;

        private static long Read(OpenFile* file, byte* buffer, ulong length, ulong offset)
        {
            if (offset != ulong.MaxValue) return -Errno.ESPIPE;
            if (length < 8) return -Errno.EINVAL;
            Counter* counter = Of(file);
            while (counter->Count == 0)
            {
                if (file->IsNonBlocking) return -Errno.EAGAIN;
                if (counter->Queue.Wait(PollEvents.In, 0) == WakeReason.Interrupted) return -Errno.ERESTARTSYS;
            }
            ulong value = counter->Semaphore ? 1 : counter->Count;
            counter->Count -= value;
            if (UserMemory.CopyChecked(buffer, &value, 8) < 8) { counter->Count += value; return -Errno.EFAULT; }
            counter->Queue.Notify(PollEvents.Out | PollEvents.WrNorm);
            return 8;
        }

        private static long Write(OpenFile* file, byte* buffer, ulong length, ulong offset)
        {
            if (offset != ulong.MaxValue) return -Errno.ESPIPE;
            if (length < 8) return -Errno.EINVAL;
            ulong value = 0;
            if (UserMemory.CopyChecked(&value, buffer, 8) < 8) return -Errno.EFAULT;
            if (value == ulong.MaxValue) return -Errno.EINVAL;
            Counter* counter = Of(file);
            while (Max - counter->Count < value)
            {
                if (file->IsNonBlocking) return -Errno.EAGAIN;
                if (counter->Queue.Wait(PollEvents.Out, 0) == WakeReason.Interrupted) return -Errno.ERESTARTSYS;
            }
            counter->Count += value;
            if (value != 0) counter->Queue.Notify(PollEvents.In | PollEvents.RdNorm);
            return 8;
        }

        private static uint Poll(OpenFile* file)
        {
            ulong count = Of(file)->Count;
            return (count > 0 ? PollEvents.In | PollEvents.RdNorm : 0) | (count < Max ? PollEvents.Out | PollEvents.WrNorm : 0);
        }

        private static PollQueue* Queue(OpenFile* file) => &Of(file)->Queue;

        private static void Release(OpenFile* file) => KernelHeap.Free(file->Object);
    }
}
