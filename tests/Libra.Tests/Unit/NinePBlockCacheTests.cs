using System.Runtime.InteropServices;
using Libra.Shims.NineP;
using Xunit;

namespace Libra.Tests.Unit;

// The page cache's table (Shims/NineP/NinePBlockCache.cs): lookup, fill, LRU order, the bound, and
// block memory that runs out.
public unsafe class NinePBlockCacheTests : IDisposable
{
    // Block memory from the host's heap; `s_refuse` makes the next allocations fail, as a kernel short of pages.
    [ThreadStatic] private static int s_live;
    [ThreadStatic] private static bool s_refuse;

    private static byte* Allocate()
    {
        if (s_refuse) return null;
        s_live++;
        return (byte*)NativeMemory.Alloc(NinePBlockCache.BlockSize);
    }

    private static void Release(byte* data)
    {
        s_live--;
        NativeMemory.Free(data);
    }

    private readonly NinePBlockCache.Block* _blocks;
    private readonly int* _buckets;
    private NinePBlockCache _cache;

    public NinePBlockCacheTests()
    {
        s_live = 0;
        s_refuse = false;
        _blocks = (NinePBlockCache.Block*)NativeMemory.AllocZeroed(16, (nuint)sizeof(NinePBlockCache.Block));
        _buckets = (int*)NativeMemory.AllocZeroed(8, sizeof(int));
    }

    public void Dispose()
    {
        NativeMemory.Free(_blocks);
        NativeMemory.Free(_buckets);
    }

    private void Create(int capacity)
    {
        fixed (NinePBlockCache* cache = &_cache) cache->Initialize(_blocks, capacity, _buckets, 8, &Allocate, &Release);
    }

    // Reserve, fill with `value`, insert: what a miss does.
    private bool Fill(ulong owner, ulong file, ulong index, byte value, int length = NinePBlockCache.BlockSize)
    {
        byte* data = _cache.Reserve();
        Assert.True(data != null);
        new Span<byte>(data, length).Fill(value);
        return _cache.Insert(owner, file, index, data, length);
    }

    private bool Holds(ulong owner, ulong file, ulong index)
    {
        ulong hits = _cache.Hits, misses = _cache.Misses;
        bool found = _cache.Find(owner, file, index, out _) != null;
        _cache.Hits = hits;
        _cache.Misses = misses;
        return found;
    }

    [Fact]
    public void A_filled_block_is_found_with_its_bytes_and_length_and_others_miss()
    {
        Create(4);
        Assert.True(_cache.Find(1, 7, 0, out _) == null);
        Assert.True(Fill(1, 7, 0, 0xab, length: 1000));
        byte* data = _cache.Find(1, 7, 0, out int length);
        Assert.True(data != null);
        Assert.Equal(1000, length);
        Assert.Equal(0xab, data[999]);
        Assert.True(_cache.Find(1, 7, 1, out _) == null);     // another block of the file
        Assert.True(_cache.Find(1, 8, 0, out _) == null);     // another file
        Assert.True(_cache.Find(2, 7, 0, out _) == null);     // the same qid.path on another mount
        Assert.Equal(1ul, _cache.Hits);
        Assert.Equal(4ul, _cache.Misses);
        Assert.Equal(1000ul, _cache.BytesCached);
    }

    [Fact]
    public void At_the_bound_the_least_recently_used_block_goes_and_its_memory_is_reused()
    {
        Create(3);
        Fill(1, 1, 0, 1); Fill(1, 1, 1, 2); Fill(1, 1, 2, 3);
        Assert.True(_cache.Find(1, 1, 0, out _) != null);     // block 0 is now the newest; block 1 the oldest
        Fill(1, 1, 3, 4);
        Assert.Equal(3, s_live);
        Assert.Equal(1ul, _cache.Evictions);
        Assert.False(Holds(1, 1, 1));
        Assert.True(Holds(1, 1, 0));
        Assert.True(Holds(1, 1, 2));
        Assert.Equal(4, _cache.Find(1, 1, 3, out _)[0]);
        Assert.Equal(3, _cache.Count);
        Assert.Equal(3ul * NinePBlockCache.BlockSize, _cache.BytesCached);
    }

    [Fact]
    public void Blocks_being_filled_count_against_the_bound()
    {
        Create(2);
        byte* first = _cache.Reserve(), second = _cache.Reserve();
        Assert.True(first != null && second != null);
        Assert.True(_cache.Reserve() == null);      // nothing cached to reuse, and no room for more
        _cache.Release(first);
        _cache.Insert(1, 1, 0, second, 10);
        Assert.Equal(1, s_live);
        Assert.True(Holds(1, 1, 0));
    }

    [Fact]
    public void A_block_filled_twice_at_once_keeps_the_first_copy_and_frees_the_second()
    {
        Create(4);
        byte* a = _cache.Reserve(), b = _cache.Reserve();
        a[0] = 1; b[0] = 2;
        Assert.True(_cache.Insert(1, 1, 5, a, 1));
        Assert.False(_cache.Insert(1, 1, 5, b, 1));
        Assert.Equal(1, _cache.Find(1, 1, 5, out _)[0]);
        Assert.Equal(1, s_live);
        Assert.Equal(1, _cache.Count);
    }

    [Fact]
    public void When_memory_runs_out_the_oldest_block_is_reused_and_an_empty_cache_says_so()
    {
        Create(8);
        s_refuse = true;
        Assert.True(_cache.Reserve() == null);      // the caller reads without the cache
        s_refuse = false;
        Fill(1, 1, 0, 1); Fill(1, 1, 1, 2);
        s_refuse = true;
        Fill(1, 1, 2, 3);
        Assert.Equal(2, s_live);
        Assert.False(Holds(1, 1, 0));
        Assert.True(Holds(1, 1, 1));
        Assert.True(Holds(1, 1, 2));
    }

    [Fact]
    public void Many_blocks_in_few_buckets_stay_findable_through_evictions()
    {
        Create(16);
        for (ulong i = 0; i < 100; i++) Fill(i % 3, i % 7, i, (byte)i);
        Assert.Equal(16, _cache.Count);
        Assert.Equal(84ul, _cache.Evictions);
        for (ulong i = 0; i < 100; i++)
        {
            byte* data = _cache.Find(i % 3, i % 7, i, out _);
            if (i < 84) Assert.True(data == null);
            else Assert.Equal((byte)i, data[0]);
        }
        Assert.Equal(16, s_live);
    }
}
