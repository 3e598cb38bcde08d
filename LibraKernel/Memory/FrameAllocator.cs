namespace Libra.Memory
{
    // Physical page frames, one bit each (1 = in use), over [0, FrameCount * 4 KiB). Everything starts
    // used; MarkFree opens the usable ranges and MarkUsed closes what the kernel image, the boot data
    // and the modules occupy. The bitmap is caller-provided, so host tests run it over an array.
    internal unsafe struct FrameAllocator
    {
        private ulong* _bitmap;
        private ulong _frameCount;
        private ulong _freeCount;
        private ulong _searchFrom;  // no free frame lies below this word index

        internal ulong FrameCount => _frameCount;
        internal ulong FreeFrames => _freeCount;

        internal static ulong BitmapBytes(ulong frameCount) => (frameCount + 63) / 64 * 8;

        internal void Initialize(ulong* bitmap, ulong frameCount)
        {
            _bitmap = bitmap;
            _frameCount = frameCount;
            _freeCount = 0;
            _searchFrom = 0;
            ulong words = (frameCount + 63) / 64;
            for (ulong i = 0; i < words; i++) bitmap[i] = ~0ul;
        }

        // Frees the whole frames inside [start, end), except frame 0: its address is Allocate's
        // "exhausted", so a free frame 0 would be handed out and lost.
        internal void MarkFree(ulong start, ulong end)
        {
            ulong first = (start + Layout.PageSize - 1) / Layout.PageSize;
            if (first == 0) first = 1;
            ulong last = end / Layout.PageSize;
            if (last > _frameCount) last = _frameCount;
            for (ulong f = first; f < last; f++)
            {
                if (!IsUsed(f)) continue;
                _bitmap[f / 64] &= ~(1ul << (int)(f % 64));
                _freeCount++;
            }
            if (first / 64 < _searchFrom) _searchFrom = first / 64;
        }

        // Marks every frame that touches [start, end) used.
        internal void MarkUsed(ulong start, ulong end)
        {
            ulong first = start / Layout.PageSize;
            ulong last = (end + Layout.PageSize - 1) / Layout.PageSize;
            if (last > _frameCount) last = _frameCount;
            for (ulong f = first; f < last; f++)
            {
                if (IsUsed(f)) continue;
                _bitmap[f / 64] |= 1ul << (int)(f % 64);
                _freeCount--;
            }
        }

        internal bool IsUsed(ulong frame) => frame >= _frameCount || (_bitmap[frame / 64] & (1ul << (int)(frame % 64))) != 0;

        // The lowest free frame's physical address, or 0 when memory is exhausted (frame 0 is never free).
        internal ulong Allocate()
        {
            ulong words = (_frameCount + 63) / 64;
            for (ulong w = _searchFrom; w < words; w++)
            {
                ulong word = _bitmap[w];
                if (word == ~0ul) continue;
                int bit = LowestZeroBit(word);
                ulong frame = w * 64 + (ulong)bit;
                if (frame >= _frameCount) break;
                _bitmap[w] = word | (1ul << bit);
                _freeCount--;
                _searchFrom = w;
                return frame * Layout.PageSize;
            }
            _searchFrom = words;
            return 0;
        }

        // `count` physically contiguous frames aligned to `alignFrames`, or 0.
        internal ulong AllocateContiguous(ulong count, ulong alignFrames = 1)
        {
            if (count == 0) return 0;
            ulong run = 0, runStart = 0;
            for (ulong f = _searchFrom * 64; f < _frameCount; f++)
            {
                if (IsUsed(f) || (run == 0 && f % alignFrames != 0)) { run = 0; continue; }
                if (run == 0) runStart = f;
                if (++run == count)
                {
                    for (ulong g = runStart; g < runStart + count; g++) _bitmap[g / 64] |= 1ul << (int)(g % 64);
                    _freeCount -= count;
                    return runStart * Layout.PageSize;
                }
            }
            return 0;
        }

        internal void Free(ulong physical, ulong count = 1)
        {
            MarkFree(physical, physical + count * Layout.PageSize);
        }

        private static int LowestZeroBit(ulong word)
        {
            ulong inverted = ~word;
            int bit = 0;
            while ((inverted & 1) == 0) { inverted >>= 1; bit++; }
            return bit;
        }
    }
}
