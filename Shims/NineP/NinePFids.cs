namespace Libra.Shims.NineP
{
    // The client's 32-bit fids (9P2000.L: a fid names a file on the server from Tattach/Twalk/Tlcreate
    // until Tclunk/Tremove). A bitmap over the caller's words, one bit per fid 0..Capacity-1, so NOFID
    // is never handed out; the lowest free fid comes first, so a clunked fid is reused.
    internal unsafe struct NinePFids
    {
        private ulong* _words;
        private int _wordCount;
        private int _searchFrom;   // no free bit below this word
        private int _inUse;

        // `words` (zeroed or not: Reset clears them) stays the caller's; Capacity = 64 × wordCount.
        internal NinePFids(ulong* words, int wordCount)
        {
            _words = words;
            _wordCount = wordCount < 0 ? 0 : wordCount;
            _searchFrom = 0;
            _inUse = 0;
            for (int i = 0; i < _wordCount; i++) _words[i] = 0;
        }

        internal int Capacity => _wordCount * 64;
        internal int InUse => _inUse;

        // The lowest free fid, or false when all Capacity fids are in use.
        internal bool TryAllocate(out uint fid)
        {
            for (int i = _searchFrom; i < _wordCount; i++)
            {
                ulong word = _words[i];
                if (word == ulong.MaxValue) continue;
                int bit = LowestZero(word);
                _words[i] = word | (1ul << bit);
                _searchFrom = i;
                _inUse++;
                fid = (uint)(i * 64 + bit);
                return true;
            }
            _searchFrom = _wordCount;
            fid = NinePProtocol.NoFid;
            return false;
        }

        // Returns a fid the server has forgotten (Rclunk, Rremove, a failed walk's newfid); false for a
        // fid not in use (a double clunk).
        internal bool Free(uint fid)
        {
            if (!IsInUse(fid)) return false;
            int word = (int)(fid >> 6);
            _words[word] &= ~(1ul << (int)(fid & 63));
            if (word < _searchFrom) _searchFrom = word;
            _inUse--;
            return true;
        }

        internal bool IsInUse(uint fid) => fid < (uint)Capacity && (_words[fid >> 6] & (1ul << (int)(fid & 63))) != 0;

        private static int LowestZero(ulong word)
        {
            ulong free = ~word & (word + 1);   // the lowest clear bit, alone
            int bit = 0;
            if ((free & 0xffffffff) == 0) { bit += 32; free >>= 32; }
            if ((free & 0xffff) == 0) { bit += 16; free >>= 16; }
            if ((free & 0xff) == 0) { bit += 8; free >>= 8; }
            if ((free & 0xf) == 0) { bit += 4; free >>= 4; }
            if ((free & 0x3) == 0) { bit += 2; free >>= 2; }
            if ((free & 0x1) == 0) bit += 1;
            return bit;
        }
    }
}
