namespace Libra.Memory
{
    // What a range of the application's address space holds.
    internal enum RangeKind : byte
    {
        Anonymous,  // mmap(MAP_ANONYMOUS) and friends
        Image,      // a PT_LOAD segment of the executable
        Heap,       // the brk area
        Stack,      // the main thread's stack
        Reserved,   // address space the kernel keeps out of the application's reach
        Vvar,       // the vDSO's data page, a kernel page the application reads
        Vdso,       // the vDSO image
    }

    // One virtual memory area: [Start, End), page-aligned, with one protection (like a Linux VMA).
    internal struct VirtualRange
    {
        // Linux PROT_* bits (include/uapi/asm-generic/mman-common.h).
        internal const uint Read = 1;
        internal const uint Write = 2;
        internal const uint Execute = 4;

        internal ulong Start;
        internal ulong End;
        internal uint Protection;
        internal uint Tag;
        internal RangeKind Kind;

        internal ulong Length => End - Start;
    }

    internal enum RangeResult
    {
        Done,
        Invalid,        // EINVAL: unaligned, empty or wrapping range
        NotMapped,      // ENOMEM: Protect over a page that is not mapped
        OutOfCapacity,  // ENOMEM: the map would need more entries than its storage holds
    }

    // The application's virtual memory areas, sorted by address, non-overlapping, and always merged:
    // touching ranges with equal protection, kind and tag are one entry. Storage is caller-provided
    // (pointer + capacity); an operation that would not fit changes nothing.
    internal unsafe struct VirtualRangeMap
    {
        private const ulong PageMask = Layout.PageSize - 1;
        private const int MaxWindow = 7;    // neighbour, up to five pieces, neighbour

        private VirtualRange* _ranges;
        private int _capacity;
        private int _count;

        internal int Count => _count;
        internal int Capacity => _capacity;
        internal VirtualRange Range(int i) => _ranges[i];

        internal void Initialize(VirtualRange* storage, int capacity)
        {
            _ranges = storage;
            _capacity = capacity;
            _count = 0;
        }

        // The index of the range holding `address`, or -1.
        internal int Find(ulong address)
        {
            int i = FirstEndingAfter(address);
            return i < _count && _ranges[i].Start <= address ? i : -1;
        }

        // True when every page of [start, start + length) is mapped.
        internal bool IsMapped(ulong start, ulong length)
        {
            if (!IsValid(start, length)) return false;
            ulong end = start + length;
            int i = Find(start);
            if (i < 0) return false;
            while (_ranges[i].End < end)
            {
                if (i + 1 == _count || _ranges[i + 1].Start != _ranges[i].End) return false;
                i++;
            }
            return true;
        }

        // True when no page of [start, start + length) is mapped (MAP_FIXED_NOREPLACE).
        internal bool IsFree(ulong start, ulong length)
        {
            if (!IsValid(start, length)) return false;
            int i = FirstEndingAfter(start);
            return i == _count || _ranges[i].Start >= start + length;
        }

        // MAP_FIXED: the range replaces whatever it overlaps, splitting the ranges it cuts.
        internal RangeResult Map(ulong start, ulong length, uint protection, RangeKind kind, uint tag = 0)
        {
            if (!IsValid(start, length)) return RangeResult.Invalid;
            ulong end = start + length;
            int first = FirstEndingAfter(start), last = LastStartingBefore(end);
            VirtualRange* pieces = stackalloc VirtualRange[3];
            int n = 0;
            if (first <= last && _ranges[first].Start < start) pieces[n++] = Piece(_ranges[first], _ranges[first].Start, start);
            pieces[n].Start = start;
            pieces[n].End = end;
            pieces[n].Protection = protection;
            pieces[n].Kind = kind;
            pieces[n].Tag = tag;
            n++;
            if (first <= last && _ranges[last].End > end) pieces[n++] = Piece(_ranges[last], end, _ranges[last].End);
            return Replace(first, last, pieces, n);
        }

        // munmap: pages not mapped are ignored; ranges cut at either end keep their outer part.
        internal RangeResult Unmap(ulong start, ulong length)
        {
            if (!IsValid(start, length)) return RangeResult.Invalid;
            ulong end = start + length;
            int first = FirstEndingAfter(start), last = LastStartingBefore(end);
            if (first > last) return RangeResult.Done;
            VirtualRange* pieces = stackalloc VirtualRange[2];
            int n = 0;
            if (_ranges[first].Start < start) pieces[n++] = Piece(_ranges[first], _ranges[first].Start, start);
            if (_ranges[last].End > end) pieces[n++] = Piece(_ranges[last], end, _ranges[last].End);
            return Replace(first, last, pieces, n);
        }

        // mprotect: every page must be mapped (else ENOMEM and nothing changes); kind and tag stay.
        internal RangeResult Protect(ulong start, ulong length, uint protection)
        {
            if (length == 0 && (start & PageMask) == 0) return RangeResult.Done;
            if (!IsValid(start, length)) return RangeResult.Invalid;
            if (!IsMapped(start, length)) return RangeResult.NotMapped;
            ulong end = start + length;
            if (CountAfterProtect(start, end, protection) > _capacity) return RangeResult.OutOfCapacity;

            // Ranges wholly inside first (each can only merge, never split), then the one or two cut
            // at the ends (each adds at most one entry), so no step needs more room than the result.
            for (ulong at = start; at < end;)
            {
                int i = Find(at);
                VirtualRange r = _ranges[i];
                at = r.End;
                if (r.Start >= start && r.End <= end && r.Protection != protection) ProtectPart(i, start, end, protection);
            }
            int left = Find(start);
            if (_ranges[left].Protection != protection) ProtectPart(left, start, end, protection);
            int right = Find(end - 1);
            if (_ranges[right].Protection != protection) ProtectPart(right, start, end, protection);
            return RangeResult.Done;
        }

        // The highest page-aligned gap of `length` bytes inside [lowLimit, highLimit) (top-down, as
        // Linux's mmap places what is not fixed), or 0 when none fits.
        internal ulong FindFree(ulong length, ulong lowLimit, ulong highLimit)
        {
            if (length == 0 || (length & PageMask) != 0) return 0;
            ulong low = (lowLimit + PageMask) & ~PageMask;
            if (low < lowLimit) return 0;
            ulong high = highLimit & ~PageMask;
            ulong above = ~0ul;     // start of the range above the current gap
            for (int i = _count - 1; i >= -1; i--)
            {
                ulong below = i >= 0 ? _ranges[i].End : 0;
                ulong gapLow = below > low ? below : low;
                ulong gapHigh = above < high ? above : high;
                if (gapHigh > gapLow && gapHigh - gapLow >= length) return gapHigh - length;
                if (below <= low) break;
                above = _ranges[i].Start;
            }
            return 0;
        }

        private static bool IsValid(ulong start, ulong length) =>
            length != 0 && ((start | length) & PageMask) == 0 && start + length > start;

        private static VirtualRange Piece(VirtualRange from, ulong start, ulong end)
        {
            from.Start = start;
            from.End = end;
            return from;
        }

        private static bool Joins(VirtualRange* a, VirtualRange* b) =>
            a->End == b->Start && a->Protection == b->Protection && a->Kind == b->Kind && a->Tag == b->Tag;

        // The first range whose End is above `address` (binary search; _count when none).
        private int FirstEndingAfter(ulong address)
        {
            int lo = 0, hi = _count;
            while (lo < hi)
            {
                int mid = (lo + hi) / 2;
                if (_ranges[mid].End > address) hi = mid; else lo = mid + 1;
            }
            return lo;
        }

        // The last range whose Start is below `address` (-1 when none).
        private int LastStartingBefore(ulong address)
        {
            int lo = 0, hi = _count;
            while (lo < hi)
            {
                int mid = (lo + hi) / 2;
                if (_ranges[mid].Start < address) lo = mid + 1; else hi = mid;
            }
            return lo - 1;
        }

        // Gives the part of range i inside [start, end) the new protection.
        private void ProtectPart(int i, ulong start, ulong end, uint protection)
        {
            VirtualRange r = _ranges[i];
            VirtualRange* pieces = stackalloc VirtualRange[3];
            int n = 0;
            ulong from = r.Start > start ? r.Start : start;
            ulong to = r.End < end ? r.End : end;
            if (r.Start < from) pieces[n++] = Piece(r, r.Start, from);
            pieces[n] = Piece(r, from, to);
            pieces[n++].Protection = protection;
            if (to < r.End) pieces[n++] = Piece(r, to, r.End);
            Replace(i, i, pieces, n);
        }

        // The entry count Protect would leave, found without changing anything.
        private int CountAfterProtect(ulong start, ulong end, uint protection)
        {
            int first = FirstEndingAfter(start), last = LastStartingBefore(end);
            int lo = first > 0 ? first - 1 : first;
            int hi = last + 1 < _count ? last + 1 : last;
            int result = _count - (hi - lo + 1);
            VirtualRange tail = default;
            bool any = false;
            for (int i = lo; i <= hi; i++)
            {
                VirtualRange r = _ranges[i];
                if (i < first || i > last) { Emit(&tail, ref any, ref result, r); continue; }
                ulong from = r.Start > start ? r.Start : start;
                ulong to = r.End < end ? r.End : end;
                if (r.Start < from) Emit(&tail, ref any, ref result, Piece(r, r.Start, from));
                VirtualRange inside = Piece(r, from, to);
                inside.Protection = protection;
                Emit(&tail, ref any, ref result, inside);
                if (to < r.End) Emit(&tail, ref any, ref result, Piece(r, to, r.End));
            }
            return result;
        }

        private static void Emit(VirtualRange* tail, ref bool any, ref int count, VirtualRange piece)
        {
            if (any && Joins(tail, &piece)) { tail->End = piece.End; return; }
            *tail = piece;
            any = true;
            count++;
        }

        // Replaces ranges [first, last] (empty when last < first) by `pieces`, which lie in order
        // between the neighbours, merging them with each other and with the neighbours.
        private RangeResult Replace(int first, int last, VirtualRange* pieces, int count)
        {
            VirtualRange* merged = stackalloc VirtualRange[MaxWindow];
            int m = 0;
            int lo = first, hi = last;
            if (first > 0) { merged[m++] = _ranges[first - 1]; lo--; }
            for (int k = 0; k < count; k++) Append(merged, ref m, pieces[k]);
            if (last + 1 < _count) { Append(merged, ref m, _ranges[last + 1]); hi++; }

            int newCount = _count - (hi - lo + 1) + m;
            if (newCount > _capacity) return RangeResult.OutOfCapacity;

            int tail = _count - (hi + 1);
            int to = lo + m;
            if (to > hi + 1) { for (int k = tail - 1; k >= 0; k--) _ranges[to + k] = _ranges[hi + 1 + k]; }
            else if (to < hi + 1) { for (int k = 0; k < tail; k++) _ranges[to + k] = _ranges[hi + 1 + k]; }
            for (int k = 0; k < m; k++) _ranges[lo + k] = merged[k];
            _count = newCount;
            return RangeResult.Done;
        }

        private static void Append(VirtualRange* merged, ref int m, VirtualRange piece)
        {
            if (m > 0 && Joins(&merged[m - 1], &piece)) { merged[m - 1].End = piece.End; return; }
            merged[m++] = piece;
        }
    }
}
