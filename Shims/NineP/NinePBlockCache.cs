namespace Libra.Shims.NineP
{
    // Aligned blocks of 9P file data, keyed by (owner, file, block number): the owner is the mount's
    // client, the file its qid.path, so two mounts never share an entry. At most `capacity` blocks
    // are held (in the table or out being filled), the least recently used one goes first, and the
    // block memory comes from function pointers (pages in the kernel, the host's heap in tests); an
    // allocation that fails reuses the oldest block, and with nothing to reuse the caller reads
    // without the cache. Only what cannot change may be kept here: PageCache uses it for read-only
    // mounts. Nothing here blocks, so on Libra's non-preemptive kernel each call is atomic; a fill
    // (a 9P read) happens between Reserve and Insert, and a block filled twice meanwhile keeps the
    // first copy.
    internal unsafe struct NinePBlockCache
    {
        internal const int BlockSize = 64 * 1024;
        private const int None = -1;

        internal struct Block
        {
            internal ulong Owner, File, Index;
            internal byte* Data;
            internal int Length;                // valid bytes: less than BlockSize only at the end of the file
            internal int NextInBucket;          // the hash chain, or the free list for unused slots
            internal int Older, Newer;          // the LRU list
        }

        private Block* _blocks;
        private int* _buckets;
        private int _capacity, _bucketMask;
        private int _free, _oldest, _newest;
        private int _count, _reserved;
        private delegate*<byte*> _allocate;
        private delegate*<byte*, void> _release;

        internal ulong Hits, Misses, Evictions, BytesCached;
        internal int Count => _count;
        internal int Capacity => _capacity;

        // `blocks`: room for `capacity` entries; `buckets`: `bucketCount` ints, a power of two.
        internal void Initialize(Block* blocks, int capacity, int* buckets, int bucketCount, delegate*<byte*> allocate, delegate*<byte*, void> release)
        {
            this = default;
            _blocks = blocks;
            _capacity = capacity;
            _buckets = buckets;
            _bucketMask = bucketCount - 1;
            _allocate = allocate;
            _release = release;
            for (int i = 0; i < bucketCount; i++) buckets[i] = None;
            for (int i = 0; i < capacity; i++) { blocks[i] = default; blocks[i].NextInBucket = i + 1 < capacity ? i + 1 : None; }
            _free = capacity > 0 ? 0 : None;
            _oldest = _newest = None;
        }

        // The block's data and its valid length (it becomes the most recently used), or null.
        internal byte* Find(ulong owner, ulong file, ulong index, out int length)
        {
            int i = Lookup(owner, file, index);
            if (i == None) { Misses++; length = 0; return null; }
            Hits++;
            Unlink(i);
            LinkNewest(i);
            length = _blocks[i].Length;
            return _blocks[i].Data;
        }

        // BlockSize bytes to fill, then hand to Insert or Release: fresh memory while under the bound,
        // else the least recently used block's. Null when there is neither.
        internal byte* Reserve()
        {
            if (_count + _reserved < _capacity)
            {
                byte* data = _allocate();
                if (data != null) { _reserved++; return data; }
            }
            if (_oldest == None) return null;
            int victim = _oldest;
            byte* reused = _blocks[victim].Data;
            Remove(victim);
            Evictions++;
            _reserved++;
            return reused;
        }

        // Keeps a filled block; false (and the memory freed) when another fill got there first.
        internal bool Insert(ulong owner, ulong file, ulong index, byte* data, int length)
        {
            _reserved--;
            if (Lookup(owner, file, index) != None || _free == None) { _release(data); return false; }
            int i = _free;
            _free = _blocks[i].NextInBucket;
            Block* b = &_blocks[i];
            b->Owner = owner; b->File = file; b->Index = index; b->Data = data; b->Length = length;
            int bucket = Bucket(owner, file, index);
            b->NextInBucket = _buckets[bucket];
            _buckets[bucket] = i;
            LinkNewest(i);
            _count++;
            BytesCached += (ulong)length;
            return true;
        }

        // Gives back a reserved block that was not filled (the read failed).
        internal void Release(byte* data)
        {
            _reserved--;
            _release(data);
        }

        private int Lookup(ulong owner, ulong file, ulong index)
        {
            for (int i = _buckets[Bucket(owner, file, index)]; i != None; i = _blocks[i].NextInBucket)
                if (_blocks[i].Index == index && _blocks[i].File == file && _blocks[i].Owner == owner) return i;
            return None;
        }

        // Takes entry i out of its hash chain and the LRU list, onto the free list (its memory is the caller's).
        private void Remove(int i)
        {
            Block* b = &_blocks[i];
            int bucket = Bucket(b->Owner, b->File, b->Index);
            if (_buckets[bucket] == i) _buckets[bucket] = b->NextInBucket;
            else
            {
                int previous = _buckets[bucket];
                while (_blocks[previous].NextInBucket != i) previous = _blocks[previous].NextInBucket;
                _blocks[previous].NextInBucket = b->NextInBucket;
            }
            Unlink(i);
            _count--;
            BytesCached -= (ulong)b->Length;
            *b = default;
            b->NextInBucket = _free;
            _free = i;
        }

        private void Unlink(int i)
        {
            Block* b = &_blocks[i];
            if (b->Older != None) _blocks[b->Older].Newer = b->Newer; else _oldest = b->Newer;
            if (b->Newer != None) _blocks[b->Newer].Older = b->Older; else _newest = b->Older;
        }

        private void LinkNewest(int i)
        {
            _blocks[i].Older = _newest;
            _blocks[i].Newer = None;
            if (_newest != None) _blocks[_newest].Newer = i; else _oldest = i;
            _newest = i;
        }

        private int Bucket(ulong owner, ulong file, ulong index)
        {
            ulong h = (owner * 0x9E3779B97F4A7C15ul) ^ (file * 0xC2B2AE3D27D4EB4Ful) ^ (index * 0x165667B19E3779F9ul);
            return (int)((h ^ (h >> 29)) & (ulong)_bucketMask);
        }
    }
}
