namespace Libra.Memory
{
    // A small-object heap: blocks of 16..2048 bytes in power-of-two size classes with one free list
    // each, carved from 64 KiB chunks; bigger requests take whole pages. Every block carries a 16-byte
    // header with its size class, so Free needs only the pointer. Pages come from `_allocatePages`
    // (count -> virtual address or null), so host tests run it over ordinary memory.
    internal unsafe struct Heap
    {
        private const int HeaderSize = 16;
        private const int ClassCount = 8;           // 16, 32, ..., 2048
        private const ulong SmallestClass = 16;
        private const ulong ChunkPages = 16;
        private const ulong LargeMarker = 0xffff;

        private delegate*<ulong, byte*> _allocatePages;
        private delegate*<byte*, ulong, void> _freePages;
        private byte* _chunk;
        private ulong _chunkLeft;
        private ulong _bytesInUse;
        private fixed ulong _freeLists[ClassCount];

        internal ulong BytesInUse => _bytesInUse;

        internal void Initialize(delegate*<ulong, byte*> allocatePages, delegate*<byte*, ulong, void> freePages)
        {
            this = default;
            _allocatePages = allocatePages;
            _freePages = freePages;
        }

        // Zeroed memory for `size` bytes, 16-byte aligned; null when the page source is exhausted
        // or the size with its header would wrap past 2^64 (it would otherwise get a page or two).
        internal byte* Allocate(ulong size)
        {
            if (size > ulong.MaxValue - HeaderSize - Layout.PageSize) return null;
            int sizeClass = SizeClass(size);
            byte* block;
            if (sizeClass < 0)
            {
                ulong pages = (size + HeaderSize + Layout.PageSize - 1) / Layout.PageSize;
                block = _allocatePages(pages);
                if (block == null) return null;
                ((ulong*)block)[0] = LargeMarker;
                ((ulong*)block)[1] = pages;
                _bytesInUse += pages * Layout.PageSize;
                Zero(block + HeaderSize, pages * Layout.PageSize - HeaderSize);
                return block + HeaderSize;
            }

            ulong blockSize = ClassSize(sizeClass);
            if (_freeLists[sizeClass] != 0)
            {
                block = (byte*)_freeLists[sizeClass];
                _freeLists[sizeClass] = ((ulong*)block)[1];
            }
            else
            {
                if (_chunkLeft < blockSize)
                {
                    byte* chunk = _allocatePages(ChunkPages);
                    if (chunk == null) return null;
                    _chunk = chunk;
                    _chunkLeft = ChunkPages * Layout.PageSize;
                }
                block = _chunk;
                _chunk += blockSize;
                _chunkLeft -= blockSize;
            }
            ((ulong*)block)[0] = (ulong)sizeClass;
            _bytesInUse += blockSize;
            Zero(block + HeaderSize, blockSize - HeaderSize);
            return block + HeaderSize;
        }

        internal void Free(byte* pointer)
        {
            if (pointer == null) return;
            byte* block = pointer - HeaderSize;
            ulong sizeClass = ((ulong*)block)[0];
            if (sizeClass == LargeMarker)
            {
                ulong pages = ((ulong*)block)[1];
                _bytesInUse -= pages * Layout.PageSize;
                _freePages(block, pages);
                return;
            }
            ((ulong*)block)[1] = _freeLists[sizeClass];
            _freeLists[sizeClass] = (ulong)block;
            _bytesInUse -= ClassSize((int)sizeClass);
        }

        // The size class whose blocks (header included) hold `size` bytes, or -1 for a page allocation.
        internal static int SizeClass(ulong size)
        {
            ulong blockSize = SmallestClass;
            for (int c = 0; c < ClassCount; c++, blockSize <<= 1)
                if (size <= blockSize - HeaderSize) return c;   // not size + HeaderSize: that wraps
            return -1;
        }

        internal static ulong ClassSize(int sizeClass) => SmallestClass << sizeClass;

        private static void Zero(byte* p, ulong length)
        {
            ulong* q = (ulong*)p;
            for (ulong i = 0; i < length / 8; i++) q[i] = 0;
        }
    }
}
