namespace Libra.Shims.NineP
{
    // The 16-bit tags of requests in flight (9P2000.L: a reply carries its request's tag; NOTAG is
    // Tversion's alone). Tags are 0..Capacity-1, so NOTAG is never handed out; a freed tag is the next
    // one reused. After Tflush, free the flushed tag only once Rflush arrives (diod protocol.md "flush").
    internal unsafe struct NinePTags
    {
        // One per virtio-9p request slot: QEMU's queue holds 128 (hw/9pfs/virtio-9p-device.c MAX_REQ).
        internal const int Capacity = 128;

        private struct Storage
        {
            internal fixed ushort Free[Capacity];          // a stack of freed tags
            internal fixed ulong InUse[Capacity / 64];     // one bit per tag
        }

        private Storage _storage;
        private int _freeCount;
        private int _neverUsed;   // tags below this have been handed out at least once; zeroed state is valid
        private int _inUse;

        internal int InUse => _inUse;

        // A free tag, or false when all Capacity tags are in flight.
        internal bool TryAllocate(out ushort tag)
        {
            int value;
            if (_freeCount > 0) value = _storage.Free[--_freeCount];
            else if (_neverUsed < Capacity) value = _neverUsed++;
            else { tag = NinePProtocol.NoTag; return false; }
            _storage.InUse[value >> 6] |= 1ul << (value & 63);
            _inUse++;
            tag = (ushort)value;
            return true;
        }

        // Returns a tag whose reply (or Rflush) has arrived; false for a tag not in use (a double free).
        internal bool Free(ushort tag)
        {
            if (!IsInUse(tag)) return false;
            _storage.InUse[tag >> 6] &= ~(1ul << (tag & 63));
            _storage.Free[_freeCount++] = tag;
            _inUse--;
            return true;
        }

        internal bool IsInUse(ushort tag) => tag < Capacity && (_storage.InUse[tag >> 6] & (1ul << (tag & 63))) != 0;
    }
}
