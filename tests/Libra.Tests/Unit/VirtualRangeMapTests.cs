using Libra.Memory;
using Xunit;

namespace Libra.Tests.Unit;

public unsafe class VirtualRangeMapTests
{
    private const ulong Page = Layout.PageSize;
    private const uint R = VirtualRange.Read, W = VirtualRange.Write, X = VirtualRange.Execute;

    private readonly List<VirtualRange[]> _storage = new();   // keeps the pinned arrays alive

    private VirtualRangeMap Create(int capacity)
    {
        var storage = GC.AllocateArray<VirtualRange>(Math.Max(capacity, 1), pinned: true);
        _storage.Add(storage);
        var map = new VirtualRangeMap();
        fixed (VirtualRange* p = storage) map.Initialize(p, capacity);   // pinned: the pointer stays valid
        return map;
    }

    private static (ulong, ulong, uint, RangeKind, uint)[] Ranges(in VirtualRangeMap map)
    {
        var list = new (ulong, ulong, uint, RangeKind, uint)[map.Count];
        for (int i = 0; i < map.Count; i++)
        {
            var r = map.Range(i);
            list[i] = (r.Start / Page, r.End / Page, r.Protection, r.Kind, r.Tag);
        }
        return list;
    }

    // Pages, not bytes, keep the expectations readable.
    private static RangeResult Map(ref VirtualRangeMap map, ulong firstPage, ulong pages, uint prot, RangeKind kind = RangeKind.Anonymous, uint tag = 0) =>
        map.Map(firstPage * Page, pages * Page, prot, kind, tag);

    [Fact]
    public void Map_into_an_empty_map_adds_one_range()
    {
        var map = Create(8);
        Assert.Equal(RangeResult.Done, Map(ref map, 16, 4, R | W));
        Assert.Equal(new[] { (16ul, 20ul, R | W, RangeKind.Anonymous, 0u) }, Ranges(map));
        Assert.Equal(4 * Page, map.Range(0).Length);
    }

    [Fact]
    public void Touching_ranges_with_equal_attributes_merge_and_others_stay_apart()
    {
        var map = Create(8);
        Map(ref map, 10, 2, R | W);
        Map(ref map, 12, 2, R | W);          // merges
        Map(ref map, 8, 2, R | W);           // merges on the left
        Map(ref map, 14, 1, R);              // other protection
        Map(ref map, 15, 1, R, RangeKind.Image);
        Map(ref map, 16, 1, R, RangeKind.Image, tag: 7);
        Map(ref map, 18, 1, R, RangeKind.Image, tag: 7);   // a hole between: apart
        Assert.Equal(new[]
        {
            (8ul, 14ul, R | W, RangeKind.Anonymous, 0u),
            (14ul, 15ul, R, RangeKind.Anonymous, 0u),
            (15ul, 16ul, R, RangeKind.Image, 0u),
            (16ul, 17ul, R, RangeKind.Image, 7u),
            (18ul, 19ul, R, RangeKind.Image, 7u),
        }, Ranges(map));
        Map(ref map, 17, 1, R, RangeKind.Image, tag: 7);   // fills the hole: three become one
        Assert.Equal((16ul, 19ul, R, RangeKind.Image, 7u), Ranges(map)[^1]);
        Assert.Equal(4, map.Count);
    }

    [Fact]
    public void Map_over_the_middle_of_a_range_splits_it_into_three()
    {
        var map = Create(8);
        Map(ref map, 0x100, 0x100, 0, RangeKind.Reserved);
        Assert.Equal(RangeResult.Done, Map(ref map, 0x180, 2, R | W));
        Assert.Equal(new[]
        {
            (0x100ul, 0x180ul, 0u, RangeKind.Reserved, 0u),
            (0x180ul, 0x182ul, R | W, RangeKind.Anonymous, 0u),
            (0x182ul, 0x200ul, 0u, RangeKind.Reserved, 0u),
        }, Ranges(map));
    }

    [Fact]
    public void Map_over_several_ranges_replaces_them_and_trims_the_ends()
    {
        var map = Create(8);
        Map(ref map, 0, 10, R);
        Map(ref map, 10, 10, R | W);
        Map(ref map, 25, 5, R | X);
        Map(ref map, 40, 10, R);
        Assert.Equal(RangeResult.Done, Map(ref map, 5, 40, R | W, RangeKind.Heap));
        Assert.Equal(new[]
        {
            (0ul, 5ul, R, RangeKind.Anonymous, 0u),
            (5ul, 45ul, R | W, RangeKind.Heap, 0u),
            (45ul, 50ul, R, RangeKind.Anonymous, 0u),
        }, Ranges(map));
    }

    [Fact]
    public void Protect_in_the_middle_splits_into_three()
    {
        var map = Create(8);
        Map(ref map, 0, 10, R | W, RangeKind.Stack, tag: 3);
        Assert.Equal(RangeResult.Done, map.Protect(4 * Page, 2 * Page, 0));
        Assert.Equal(new[]
        {
            (0ul, 4ul, R | W, RangeKind.Stack, 3u),
            (4ul, 6ul, 0u, RangeKind.Stack, 3u),     // kind and tag stay
            (6ul, 10ul, R | W, RangeKind.Stack, 3u),
        }, Ranges(map));
    }

    [Fact]
    public void Protect_back_to_the_old_protection_merges_again()
    {
        var map = Create(8);
        Map(ref map, 0, 10, R | W);
        map.Protect(4 * Page, 2 * Page, R);
        Assert.Equal(3, map.Count);
        Assert.Equal(RangeResult.Done, map.Protect(4 * Page, 2 * Page, R | W));
        Assert.Equal(new[] { (0ul, 10ul, R | W, RangeKind.Anonymous, 0u) }, Ranges(map));
    }

    [Fact]
    public void Protect_over_a_hole_fails_and_changes_nothing()
    {
        var map = Create(8);
        Map(ref map, 0, 4, R | W);
        Map(ref map, 5, 4, R | W);
        var before = Ranges(map);
        Assert.Equal(RangeResult.NotMapped, map.Protect(2 * Page, 5 * Page, R));
        Assert.Equal(RangeResult.NotMapped, map.Protect(20 * Page, Page, R));
        Assert.Equal(before, Ranges(map));
        Assert.Equal(RangeResult.Done, map.Protect(Page, 0, R));   // mprotect of nothing succeeds
    }

    [Fact]
    public void Protect_across_ranges_of_different_kinds_keeps_each_kind()
    {
        var map = Create(8);
        Map(ref map, 0, 4, R, RangeKind.Image, tag: 1);
        Map(ref map, 4, 4, R | W, RangeKind.Heap);
        Assert.Equal(RangeResult.Done, map.Protect(2 * Page, 4 * Page, R | W | X));
        Assert.Equal(new[]
        {
            (0ul, 2ul, R, RangeKind.Image, 1u),
            (2ul, 4ul, R | W | X, RangeKind.Image, 1u),
            (4ul, 6ul, R | W | X, RangeKind.Heap, 0u),
            (6ul, 8ul, R | W, RangeKind.Heap, 0u),
        }, Ranges(map));
    }

    [Fact]
    public void Unmap_across_two_ranges_trims_both()
    {
        var map = Create(8);
        Map(ref map, 0, 10, R);
        Map(ref map, 10, 10, R | W);
        Assert.Equal(RangeResult.Done, map.Unmap(6 * Page, 8 * Page));
        Assert.Equal(new[]
        {
            (0ul, 6ul, R, RangeKind.Anonymous, 0u),
            (14ul, 20ul, R | W, RangeKind.Anonymous, 0u),
        }, Ranges(map));
    }

    [Fact]
    public void Unmap_in_the_middle_splits_and_unmapping_holes_is_harmless()
    {
        var map = Create(8);
        Map(ref map, 0, 10, R);
        Assert.Equal(RangeResult.Done, map.Unmap(4 * Page, Page));
        Assert.Equal(new[] { (0ul, 4ul, R, RangeKind.Anonymous, 0u), (5ul, 10ul, R, RangeKind.Anonymous, 0u) }, Ranges(map));
        Assert.Equal(RangeResult.Done, map.Unmap(4 * Page, Page));
        Assert.Equal(RangeResult.Done, map.Unmap(100 * Page, 50 * Page));
        Assert.Equal(2, map.Count);
        Assert.Equal(RangeResult.Done, map.Unmap(0, 1000 * Page));
        Assert.Equal(0, map.Count);
    }

    [Fact]
    public void Huge_reservation_costs_one_entry()
    {
        var map = Create(4);
        ulong start = 0x10000000000, length = 0x40000000000;   // 4 TiB of PROT_NONE
        Assert.Equal(RangeResult.Done, map.Map(start, length, 0, RangeKind.Reserved));
        Assert.Equal(1, map.Count);
        Assert.True(map.IsMapped(start, length));
        Assert.Equal(RangeResult.Done, map.Map(start + 0x100000000, 0x200000, R | W, RangeKind.Anonymous));
        Assert.Equal(3, map.Count);
    }

    [Fact]
    public void Find_IsMapped_and_IsFree_agree_with_the_ranges()
    {
        var map = Create(8);
        Map(ref map, 10, 5, R);
        Map(ref map, 15, 5, R | W);
        Map(ref map, 30, 1, R);
        Assert.Equal(-1, map.Find(9 * Page + Page - 1));
        Assert.Equal(0, map.Find(10 * Page));
        Assert.Equal(1, map.Find(20 * Page - 1));
        Assert.Equal(-1, map.Find(20 * Page));
        Assert.Equal(2, map.Find(30 * Page + 5));
        Assert.True(map.IsMapped(10 * Page, 10 * Page));     // spans two touching ranges
        Assert.False(map.IsMapped(10 * Page, 11 * Page));
        Assert.False(map.IsMapped(29 * Page, 2 * Page));
        Assert.True(map.IsFree(20 * Page, 10 * Page));
        Assert.False(map.IsFree(20 * Page, 11 * Page));
        Assert.False(map.IsFree(0, 11 * Page));
    }

    [Fact]
    public void FindFree_is_top_down_and_skips_holes_too_small()
    {
        var map = Create(8);
        Map(ref map, 10, 10, R);    // [10, 20)
        Map(ref map, 22, 8, R);     // hole [20, 22) of 2 pages
        Map(ref map, 35, 5, R);     // hole [30, 35) of 5 pages
        // Top of [0, 40) is taken; the highest hole that fits 3 pages is [30, 35): its top 3 pages.
        Assert.Equal(32 * Page, map.FindFree(3 * Page, Page, 40 * Page));
        Assert.Equal(20 * Page, map.FindFree(2 * Page, Page, 30 * Page));
        Assert.Equal(4 * Page, map.FindFree(6 * Page, Page, 40 * Page));
        Assert.Equal(100 * Page - 4 * Page, map.FindFree(4 * Page, Page, 100 * Page));
    }

    [Fact]
    public void FindFree_respects_both_limits_and_returns_zero_when_nothing_fits()
    {
        var map = Create(8);
        Map(ref map, 10, 10, R);
        Assert.Equal(0ul, map.FindFree(11 * Page, Page, 20 * Page));      // [1, 10) has 9 pages
        Assert.Equal(Page, map.FindFree(9 * Page, Page, 20 * Page));
        Assert.Equal(0ul, map.FindFree(9 * Page, 2 * Page, 20 * Page));
        Assert.Equal(20 * Page, map.FindFree(5 * Page, 20 * Page, 25 * Page));
        Assert.Equal(0ul, map.FindFree(5 * Page, 21 * Page, 25 * Page));
        Assert.Equal(24 * Page, map.FindFree(Page, 2 * Page + 1, 25 * Page + 100));   // limits rounded inwards
        Assert.Equal(0ul, map.FindFree(0, Page, 40 * Page));
        Assert.Equal(0ul, map.FindFree(Page + 1, Page, 40 * Page));
    }

    [Fact]
    public void Unaligned_empty_or_wrapping_ranges_are_invalid()
    {
        var map = Create(8);
        Assert.Equal(RangeResult.Invalid, map.Map(1, Page, R, RangeKind.Anonymous));
        Assert.Equal(RangeResult.Invalid, map.Map(0, Page + 1, R, RangeKind.Anonymous));
        Assert.Equal(RangeResult.Invalid, map.Map(Page, 0, R, RangeKind.Anonymous));
        Assert.Equal(RangeResult.Invalid, map.Map(0xfffffffffffff000, 2 * Page, R, RangeKind.Anonymous));
        Assert.Equal(RangeResult.Invalid, map.Map(0xfffffffffffff000, Page, R, RangeKind.Anonymous));   // End would be 2^64
        Assert.Equal(RangeResult.Invalid, map.Unmap(Page, 0));
        Assert.Equal(RangeResult.Invalid, map.Protect(Page + 8, Page, R));
        Assert.Equal(0, map.Count);
    }

    [Fact]
    public void Full_map_reports_out_of_capacity_and_keeps_state()
    {
        var map = Create(3);
        Map(ref map, 0, 10, R);
        Map(ref map, 20, 10, R);
        Map(ref map, 40, 10, R);
        var before = Ranges(map);
        Assert.Equal(RangeResult.OutOfCapacity, Map(ref map, 60, 1, R));
        Assert.Equal(RangeResult.OutOfCapacity, Map(ref map, 2, 1, R | W));     // would split
        Assert.Equal(RangeResult.OutOfCapacity, map.Unmap(22 * Page, Page));
        Assert.Equal(RangeResult.OutOfCapacity, map.Protect(45 * Page, Page, R | W));
        Assert.Equal(before, Ranges(map));
    }

    [Fact]
    public void Full_map_still_takes_operations_that_do_not_grow_it()
    {
        var map = Create(3);
        Map(ref map, 0, 10, R);
        Map(ref map, 20, 10, R | W);
        Map(ref map, 40, 10, R);
        Assert.Equal(RangeResult.Done, Map(ref map, 10, 10, R));                  // extends the first range
        Assert.Equal(RangeResult.Done, map.Protect(15 * Page, 5 * Page, R | W));   // moves a boundary
        Assert.Equal(RangeResult.Done, map.Unmap(45 * Page, 5 * Page));           // trims the last
        Assert.Equal(new[]
        {
            (0ul, 15ul, R, RangeKind.Anonymous, 0u),
            (15ul, 30ul, R | W, RangeKind.Anonymous, 0u),
            (40ul, 45ul, R, RangeKind.Anonymous, 0u),
        }, Ranges(map));
    }

    [Fact]
    public void Protect_across_many_ranges_fits_a_full_map_when_the_result_does()
    {
        // Splitting the first range first would need a fourth entry; the result needs only two.
        var map = Create(3);
        Map(ref map, 0, 10, R | W);
        Map(ref map, 10, 10, R | X);
        Map(ref map, 20, 10, R);
        Assert.Equal(RangeResult.Done, map.Protect(5 * Page, 25 * Page, R));
        Assert.Equal(new[] { (0ul, 5ul, R | W, RangeKind.Anonymous, 0u), (5ul, 30ul, R, RangeKind.Anonymous, 0u) }, Ranges(map));

        var mirrored = Create(3);
        Map(ref mirrored, 0, 10, R);
        Map(ref mirrored, 10, 10, R | X);
        Map(ref mirrored, 20, 10, R | W);
        Assert.Equal(RangeResult.Done, mirrored.Protect(0, 25 * Page, R));
        Assert.Equal(new[] { (0ul, 25ul, R, RangeKind.Anonymous, 0u), (25ul, 30ul, R | W, RangeKind.Anonymous, 0u) }, Ranges(mirrored));
    }

    // A per-page model: each page's (protection, kind, tag), or null when unmapped.
    private sealed class PageModel
    {
        public readonly (uint Prot, RangeKind Kind, uint Tag)?[] Pages;
        public PageModel(int pages) { Pages = new (uint, RangeKind, uint)?[pages]; }
        public PageModel Clone() { var m = new PageModel(Pages.Length); Pages.CopyTo(m.Pages, 0); return m; }

        // The canonical (fully merged) range list the map must hold.
        public List<(ulong, ulong, uint, RangeKind, uint)> Canonical()
        {
            var list = new List<(ulong, ulong, uint, RangeKind, uint)>();
            for (int p = 0; p < Pages.Length;)
            {
                if (Pages[p] is not { } a) { p++; continue; }
                int q = p + 1;
                while (q < Pages.Length && Pages[q] == a) q++;
                list.Add(((ulong)p, (ulong)q, a.Prot, a.Kind, a.Tag));
                p = q;
            }
            return list;
        }
    }

    [Theory]
    [InlineData(1, 12)]
    [InlineData(2, 24)]
    [InlineData(3, 64)]
    [InlineData(4, 1000)]
    [InlineData(5, 8)]
    [InlineData(6, 300)]
    public void Random_operations_match_a_per_page_model(int seed, int capacity)
    {
        const int pages = 4096;
        var model = new PageModel(pages);
        var map = Create(capacity);
        int outOfCapacity = 0, done = 0;

        PropertyRun.Steps(seed, 4000, (random, step) =>
        {
            int op = random.Next(5);
            int first = random.Next(pages);
            int count = 1 + (random.Next(4) == 0 ? random.Next(pages - first) : random.Next(Math.Min(64, pages - first)));
            uint prot = (uint)random.Next(3) switch { 0 => R, 1 => R | W, _ => R | X };
            var kind = (RangeKind)random.Next(2);
            uint tag = (uint)random.Next(2);
            var next = model.Clone();
            RangeResult result;
            switch (op)
            {
                case 0:
                case 1:
                    for (int p = first; p < first + count; p++) next.Pages[p] = (prot, kind, tag);
                    result = map.Map((ulong)first * Page, (ulong)count * Page, prot, kind, tag);
                    break;
                case 2:
                    for (int p = first; p < first + count; p++) next.Pages[p] = null;
                    result = map.Unmap((ulong)first * Page, (ulong)count * Page);
                    break;
                case 3:
                {
                    bool allMapped = true;
                    for (int p = first; p < first + count; p++)
                    {
                        if (next.Pages[p] is { } a) next.Pages[p] = (prot, a.Kind, a.Tag); else allMapped = false;
                    }
                    result = map.Protect((ulong)first * Page, (ulong)count * Page, prot);
                    if (!allMapped)
                    {
                        Assert.Equal(RangeResult.NotMapped, result);
                        next = model;
                    }
                    break;
                }
                default:
                {
                    ulong found = map.FindFree((ulong)count * Page, Page, (ulong)pages * Page);
                    Assert.Equal(HighestFreeRun(model, count), found / Page);
                    result = RangeResult.Done;
                    break;
                }
            }

            var expected = next.Canonical();
            if (result == RangeResult.OutOfCapacity)
            {
                Assert.True(expected.Count > capacity, $"step {step}: refused although {expected.Count} entries fit in {capacity}");
                next = model;
                outOfCapacity++;
            }
            else
            {
                Assert.True(result == RangeResult.Done || result == RangeResult.NotMapped, $"step {step}: {result}");
                done++;
            }
            Assert.Equal(next.Canonical(), Ranges(map).ToList());
            model = next;

            ulong probe = (ulong)random.Next(pages);
            int index = map.Find(probe * Page + (ulong)random.Next((int)Page));
            Assert.Equal(model.Pages[probe] is null, index < 0);
            if (index >= 0) Assert.True(map.Range(index).Start <= probe * Page && probe * Page < map.Range(index).End);
            int span = 1 + random.Next(8);
            if (probe + (ulong)span <= pages)
            {
                bool all = true, none = true;
                for (ulong p = probe; p < probe + (ulong)span; p++) { all &= model.Pages[p] is not null; none &= model.Pages[p] is null; }
                Assert.Equal(all, map.IsMapped(probe * Page, (ulong)span * Page));
                Assert.Equal(none, map.IsFree(probe * Page, (ulong)span * Page));
            }
            AssertInvariants(map, capacity);
        });
        Assert.True(done > 1000);
        if (capacity < 64) Assert.True(outOfCapacity > 10, $"only {outOfCapacity} refusals: the test did not reach capacity");
    }

    // What the map promises whatever happened: within capacity, page-aligned non-empty ranges,
    // sorted without overlap, and no two touching neighbours that should have merged.
    private static void AssertInvariants(in VirtualRangeMap map, int capacity)
    {
        Assert.True(map.Count <= capacity, $"{map.Count} entries in a map of {capacity}");
        for (int i = 0; i < map.Count; i++)
        {
            var r = map.Range(i);
            Assert.True(r.Start < r.End && r.Start % Page == 0 && r.End % Page == 0, $"range {i} is [{r.Start:x}, {r.End:x})");
            if (i == 0) continue;
            var l = map.Range(i - 1);
            Assert.True(l.End <= r.Start, $"ranges {i - 1} and {i} overlap or are out of order");
            Assert.False(l.End == r.Start && l.Protection == r.Protection && l.Kind == r.Kind && l.Tag == r.Tag, $"ranges {i - 1} and {i} should have merged");
        }
    }

    // The first page of the highest run of `count` free pages inside pages [1, total), or 0.
    private static ulong HighestFreeRun(PageModel model, int count)
    {
        int run = 0;
        for (int p = model.Pages.Length - 1; p >= 1; p--)
        {
            run = model.Pages[p] is null ? run + 1 : 0;
            if (run == count) return (ulong)p;
        }
        return 0;
    }
}
