namespace Libra.Boot
{
    // e820 memory types, as PVH passes them.
    internal enum MemoryKind : uint { Usable = 1, Reserved = 2, AcpiReclaimable = 3, AcpiNvs = 4, Unusable = 5, Disabled = 6, Persistent = 7 }

    // The physical memory map: up to MaxRegions ranges, sorted by base after Normalize(), with
    // adjacent usable ranges merged and overlaps resolved in favour of the non-usable kind.
    internal unsafe struct MemoryMap
    {
        internal const int MaxRegions = 64;

        private int _count;
        private bool _truncated;
        private fixed ulong _base[MaxRegions];
        private fixed ulong _length[MaxRegions];
        private fixed uint _kind[MaxRegions];

        internal int Count => _count;

        // True when Normalize had to split a usable range with no entry left for the upper part:
        // that memory stays unused (never handed out as usable by mistake).
        internal bool Truncated => _truncated;
        internal ulong Base(int i) => _base[i];
        internal ulong Length(int i) => _length[i];
        internal ulong End(int i) => _base[i] + _length[i];
        internal MemoryKind Kind(int i) => (MemoryKind)_kind[i];

        internal bool Add(ulong start, ulong length, MemoryKind kind)
        {
            if (length == 0) return true;
            if (_count == MaxRegions) return false;
            _base[_count] = start;
            _length[_count] = length;
            _kind[_count] = (uint)kind;
            _count++;
            return true;
        }

        // Trims usable ranges where they overlap a reserved one (splitting when it sits inside), sorts by
        // base, and merges touching usable ranges.
        internal void Normalize()
        {
            for (int i = 0; i < _count; i++)
            {
                if (Kind(i) != MemoryKind.Usable) continue;
                for (int j = 0; j < _count && _length[i] != 0; j++)
                {
                    if (Kind(j) == MemoryKind.Usable || _length[j] == 0) continue;
                    ulong start = _base[i], end = End(i), rs = _base[j], re = End(j);
                    if (re <= start || rs >= end) continue;
                    if (rs > start && re < end && !Add(re, end - re, MemoryKind.Usable)) _truncated = true;
                    if (rs > start) { _length[i] = rs - start; }
                    else { _base[i] = re < end ? re : end; _length[i] = end - _base[i]; }
                }
            }

            for (int i = 1; i < _count; i++)
                for (int j = i; j > 0 && _base[j - 1] > _base[j]; j--) Swap(j - 1, j);

            int w = 0;
            for (int i = 0; i < _count; i++)
            {
                if (_length[i] == 0) continue;
                if (w > 0 && _kind[w - 1] == (uint)MemoryKind.Usable && _kind[i] == (uint)MemoryKind.Usable && End(w - 1) >= _base[i])
                {
                    ulong end = End(i) > End(w - 1) ? End(i) : End(w - 1);
                    _length[w - 1] = end - _base[w - 1];
                    continue;
                }
                _base[w] = _base[i];
                _length[w] = _length[i];
                _kind[w] = _kind[i];
                w++;
            }
            _count = w;
        }

        internal ulong UsableBytes
        {
            get
            {
                ulong total = 0;
                for (int i = 0; i < _count; i++) if (Kind(i) == MemoryKind.Usable) total += _length[i];
                return total;
            }
        }

        // One past the highest usable byte.
        internal ulong UsableTop
        {
            get
            {
                ulong top = 0;
                for (int i = 0; i < _count; i++) if (Kind(i) == MemoryKind.Usable && End(i) > top) top = End(i);
                return top;
            }
        }

        private void Swap(int a, int b)
        {
            ulong t = _base[a]; _base[a] = _base[b]; _base[b] = t;
            t = _length[a]; _length[a] = _length[b]; _length[b] = t;
            uint k = _kind[a]; _kind[a] = _kind[b]; _kind[b] = k;
        }
    }
}
