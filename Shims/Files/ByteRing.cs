using Libra.Arch.X64;
using Libra.Memory;

namespace Libra.Shims
{
    // A byte ring on the kernel heap: what a pipe and a stream socket's receive side hold.
    internal unsafe struct ByteRing
    {
        private byte* _ring;
        private ulong _capacity, _head, _count;

        internal static ByteRing Create(ulong capacity)
        {
            ByteRing ring = default;
            ring._ring = (byte*)KernelHeap.AllocateZeroed(capacity);
            ring._capacity = capacity;
            return ring;
        }

        internal ulong Count => _count;
        internal ulong Space => _capacity - _count;
        internal ulong Capacity => _capacity;
        internal bool IsEmpty => _count == 0;
        internal bool IsFull => _count == _capacity;

        // Copies up to `length` bytes out without taking them (MSG_PEEK).
        internal ulong Peek(byte* buffer, ulong length)
        {
            ulong n = length < _count ? length : _count;
            ulong first = _capacity - _head < n ? _capacity - _head : n;
            Native.MemMove(buffer, _ring + _head, (nuint)first);
            if (n > first) Native.MemMove(buffer + first, _ring, (nuint)(n - first));
            return n;
        }

        internal ulong Take(byte* buffer, ulong length)
        {
            ulong n = Peek(buffer, length);
            _head = (_head + n) % _capacity;
            _count -= n;
            return n;
        }

        internal ulong Put(byte* data, ulong length)
        {
            ulong n = length < Space ? length : Space;
            ulong tail = (_head + _count) % _capacity;
            ulong first = _capacity - tail < n ? _capacity - tail : n;
            Native.MemMove(_ring + tail, data, (nuint)first);
            if (n > first) Native.MemMove(_ring, data + first, (nuint)(n - first));
            _count += n;
            return n;
        }

        internal void Free()
        {
            if (_ring != null) KernelHeap.Free(_ring);
            _ring = null;
            _capacity = _head = _count = 0;
        }
    }
}
