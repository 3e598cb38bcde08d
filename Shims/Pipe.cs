using Libra.Arch.X64;
using Libra.Memory;
using Libra.Threads;

namespace Libra.Shims
{
    // An in-kernel pipe (pipe2): a 64 KiB ring; readers sleep while it is empty and a writer is
    // open, writers while it is full and a reader is open (pipe(7)).
    internal unsafe struct Pipe
    {
        internal const ulong Capacity = 64 * 1024;
        private byte* _ring;
        private ulong _head, _count;
        internal int Readers, Writers;
        internal WaitQueue Waiters;

        internal static Pipe* Create()
        {
            var pipe = (Pipe*)KernelHeap.AllocateZeroed((ulong)sizeof(Pipe));
            pipe->_ring = (byte*)KernelHeap.AllocateZeroed(Capacity);
            pipe->Readers = 1;
            pipe->Writers = 1;
            return pipe;
        }

        internal bool IsReadable => _count > 0 || Writers == 0;

        // Bytes read (0 = end of file), or -errno.
        internal long Read(byte* buffer, ulong length, bool nonBlocking)
        {
            if (length == 0) return 0;
            while (_count == 0)
            {
                if (Writers == 0) return 0;
                if (nonBlocking) return -Errno.EAGAIN;
                if (Waiters.Wait(0) == WakeReason.Interrupted) return -Errno.ERESTARTSYS;
            }
            ulong n = length < _count ? length : _count;
            for (ulong i = 0; i < n; i++) buffer[i] = _ring[(_head + i) % Capacity];
            _head = (_head + n) % Capacity;
            _count -= n;
            Waiters.WakeAll();
            return (long)n;
        }

        internal long Write(byte* buffer, ulong length, bool nonBlocking)
        {
            ulong written = 0;
            while (written < length)
            {
                if (Readers == 0) return written > 0 ? (long)written : -Errno.EPIPE;
                if (_count == Capacity)
                {
                    if (nonBlocking) return written > 0 ? (long)written : -Errno.EAGAIN;
                    if (Waiters.Wait(0) == WakeReason.Interrupted) return written > 0 ? (long)written : -Errno.ERESTARTSYS;
                    continue;
                }
                ulong space = Capacity - _count;
                ulong n = length - written < space ? length - written : space;
                for (ulong i = 0; i < n; i++) _ring[(_head + _count + i) % Capacity] = buffer[written + i];
                _count += n;
                written += n;
                Waiters.WakeAll();
            }
            return (long)written;
        }

        internal void CloseEnd(bool writeEnd)
        {
            if (writeEnd) Writers--; else Readers--;
            Waiters.WakeAll();
        }
    }
}
