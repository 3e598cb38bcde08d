using Libra.Memory;

namespace Libra.Shims
{
    // A byte ring on the kernel heap: what a pipe and a stream socket's receive side hold.
    internal unsafe struct ByteRing
    {
        private byte* _ring;
        private ulong _capacity, _head, _count;

        // A ring of `capacity` bytes; with IsAllocated false when the kernel heap cannot hold it.
        internal static ByteRing Create(ulong capacity)
        {
            ByteRing ring = default;
            ring._ring = (byte*)KernelHeap.TryAllocateZeroed(capacity);
            if (ring._ring != null) ring._capacity = capacity;
            return ring;
        }

        internal bool IsAllocated => _ring != null;

        internal ulong Count => _count;
        internal ulong Space => _capacity - _count;
        internal ulong Capacity => _capacity;
        internal bool IsEmpty => _count == 0;
        internal bool IsFull => _count == _capacity;

        // Copies up to `length` bytes out without taking them (MSG_PEEK). The buffer may be the
        // application's (checked): a page gone since the check ends the copy early, and only the
        // bytes that arrived count.
        internal ulong Peek(byte* buffer, ulong length)
        {
            ulong n = length < _count ? length : _count;
            ulong first = _capacity - _head < n ? _capacity - _head : n;
            ulong copied = UserMemory.CopyChecked(buffer, _ring + _head, first);
            if (copied < first || n == first) return copied;
            return copied + UserMemory.CopyChecked(buffer + first, _ring, n - first);
        }

        internal ulong Take(byte* buffer, ulong length)
        {
            ulong n = Peek(buffer, length);
            _head = (_head + n) % _capacity;
            _count -= n;
            return n;
        }

        // Takes up to `length` bytes from `data` (checked user or kernel memory), fewer when one of
        // its pages went away since the check.
        internal ulong Put(byte* data, ulong length)
        {
            ulong n = length < Space ? length : Space;
            ulong tail = (_head + _count) % _capacity;
            ulong first = _capacity - tail < n ? _capacity - tail : n;
            ulong copied = UserMemory.CopyChecked(_ring + tail, data, first);
            if (copied == first && n > first) copied += UserMemory.CopyChecked(_ring, data + first, n - first);
            _count += copied;
            return copied;
        }

        // Gives back the last `length` bytes put (a datagram record whose data could not all be copied).
        internal void Unput(ulong length) => _count -= length < _count ? length : _count;

        internal void Free()
        {
            if (_ring != null) KernelHeap.Free(_ring);
            _ring = null;
            _capacity = _head = _count = 0;
        }
    }
}
