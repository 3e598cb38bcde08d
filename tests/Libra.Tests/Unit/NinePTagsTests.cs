using Libra.Shims.NineP;
using Xunit;

namespace Libra.Tests.Unit;

public class NinePTagsTests
{
    [Fact]
    public void Tags_run_out_after_Capacity_and_never_include_NOTAG()
    {
        var tags = new NinePTags();
        var seen = new HashSet<ushort>();
        for (int i = 0; i < NinePTags.Capacity; i++)
        {
            Assert.True(tags.TryAllocate(out ushort tag));
            Assert.NotEqual(NinePProtocol.NoTag, tag);
            Assert.True(seen.Add(tag));
        }
        Assert.Equal(NinePTags.Capacity, tags.InUse);
        Assert.False(tags.TryAllocate(out ushort none));
        Assert.Equal(NinePProtocol.NoTag, none);
    }

    [Fact]
    public void A_freed_tag_is_reused_when_all_are_taken()
    {
        var tags = new NinePTags();
        for (int i = 0; i < NinePTags.Capacity; i++) tags.TryAllocate(out _);
        Assert.True(tags.Free(37));
        Assert.False(tags.IsInUse(37));
        Assert.True(tags.TryAllocate(out ushort again));
        Assert.Equal(37, again);
        Assert.False(tags.TryAllocate(out _));
    }

    [Fact]
    public void Freeing_a_tag_twice_or_one_never_given_is_refused()
    {
        var tags = new NinePTags();
        Assert.True(tags.TryAllocate(out ushort tag));
        Assert.True(tags.Free(tag));
        Assert.False(tags.Free(tag));
        Assert.False(tags.Free(5));
        Assert.False(tags.Free(NinePProtocol.NoTag));
        Assert.Equal(0, tags.InUse);
    }
}

public unsafe class NinePFidsTests
{
    [Fact]
    public void Fids_come_lowest_first_and_run_out_at_Capacity()
    {
        ulong* words = stackalloc ulong[2];
        var fids = new NinePFids(words, 2);
        Assert.Equal(128, fids.Capacity);
        for (uint i = 0; i < 128; i++)
        {
            Assert.True(fids.TryAllocate(out uint fid));
            Assert.Equal(i, fid);
        }
        Assert.False(fids.TryAllocate(out uint none));
        Assert.Equal(NinePProtocol.NoFid, none);
        Assert.Equal(128, fids.InUse);
    }

    [Fact]
    public void A_clunked_fid_is_reused_lowest_first()
    {
        ulong* words = stackalloc ulong[4];
        var fids = new NinePFids(words, 4);
        for (int i = 0; i < 200; i++) fids.TryAllocate(out _);
        Assert.True(fids.Free(150));
        Assert.True(fids.Free(63));
        Assert.True(fids.Free(64));
        Assert.True(fids.TryAllocate(out uint a));
        Assert.True(fids.TryAllocate(out uint b));
        Assert.True(fids.TryAllocate(out uint c));
        Assert.True(fids.TryAllocate(out uint d));
        Assert.Equal(new uint[] { 63, 64, 150, 200 }, new[] { a, b, c, d });
    }

    [Fact]
    public void Freeing_a_fid_twice_or_out_of_range_is_refused()
    {
        ulong* words = stackalloc ulong[1];
        var fids = new NinePFids(words, 1);
        Assert.True(fids.TryAllocate(out uint fid));
        Assert.True(fids.Free(fid));
        Assert.False(fids.Free(fid));
        Assert.False(fids.Free(64));
        Assert.False(fids.Free(NinePProtocol.NoFid));
        Assert.False(fids.IsInUse(NinePProtocol.NoFid));
        Assert.Equal(0, fids.InUse);
    }

    [Fact]
    public void Storage_left_dirty_by_the_caller_is_cleared()
    {
        ulong* words = stackalloc ulong[1];
        words[0] = ulong.MaxValue;
        var fids = new NinePFids(words, 1);
        Assert.True(fids.TryAllocate(out uint fid));
        Assert.Equal(0u, fid);
    }

    [Fact]
    public void A_random_mix_matches_a_reference_set()
    {
        ulong* words = stackalloc ulong[3];
        var fids = new NinePFids(words, 3);
        var model = new SortedSet<uint>();
        var rng = new Random(9);
        for (int step = 0; step < 20000; step++)
        {
            if (rng.Next(3) != 0)
            {
                bool ok = fids.TryAllocate(out uint fid);
                uint expected = Enumerable.Range(0, 192).Select(i => (uint)i).FirstOrDefault(i => !model.Contains(i), NinePProtocol.NoFid);
                Assert.Equal(expected != NinePProtocol.NoFid, ok);
                Assert.Equal(expected, fid);
                if (ok) model.Add(fid);
            }
            else
            {
                uint fid = (uint)rng.Next(200);
                Assert.Equal(model.Remove(fid), fids.Free(fid));
            }
            Assert.Equal(model.Count, fids.InUse);
        }
    }
}
