using System.Runtime.InteropServices;
using Libra.Memory;
using Xunit;

namespace Libra.Tests.Unit;

public unsafe class HeapTests
{
    private static readonly List<IntPtr> s_pages = new();

    private static byte* AllocatePages(ulong count)
    {
        var pages = (byte*)NativeMemory.AlignedAlloc((nuint)(count * Layout.PageSize), 4096);
        new Span<byte>(pages, (int)(count * Layout.PageSize)).Fill(0xcc);   // dirty, as recycled frames are
        lock (s_pages) s_pages.Add((IntPtr)pages);
        return pages;
    }

    private static void FreePages(byte* pages, ulong count) => NativeMemory.AlignedFree(pages);

    private static Heap Create()
    {
        var heap = new Heap();
        heap.Initialize(&AllocatePages, &FreePages);
        return heap;
    }

    [Fact]
    public void Allocations_are_zeroed_16_byte_aligned_and_distinct()
    {
        var heap = Create();
        var seen = new HashSet<IntPtr>();
        foreach (ulong size in new ulong[] { 1, 8, 24, 100, 1000, 2000, 5000, 70000 })
        {
            byte* p = heap.Allocate(size);
            Assert.True(p != null);
            Assert.Equal(0ul, (ulong)p % 16);
            for (ulong i = 0; i < size; i++) Assert.Equal(0, p[i]);
            new Span<byte>(p, (int)size).Fill(0xab);
            Assert.True(seen.Add((IntPtr)p));
        }
    }

    [Fact]
    public void Freed_block_is_reused_for_the_same_size_class_and_comes_back_zeroed()
    {
        var heap = Create();
        byte* first = heap.Allocate(40);
        new Span<byte>(first, 40).Fill(0xee);
        heap.Free(first);
        byte* again = heap.Allocate(48);
        Assert.True(first == again);
        for (int i = 0; i < 48; i++) Assert.Equal(0, again[i]);
    }

    [Fact]
    public void BytesInUse_follows_allocations_and_frees_including_page_sized_ones()
    {
        var heap = Create();
        byte* small = heap.Allocate(100);               // 128-byte block
        byte* large = heap.Allocate(3 * Layout.PageSize); // 4 pages with the header
        Assert.Equal(128ul + 4 * Layout.PageSize, heap.BytesInUse);
        heap.Free(large);
        heap.Free(small);
        Assert.Equal(0ul, heap.BytesInUse);
    }

    [Theory]
    [InlineData(0ul, 0)]
    [InlineData(16ul, 0 + 1)]
    [InlineData(2032ul, 7)]
    [InlineData(2033ul, -1)]
    public void SizeClass_counts_the_header(ulong size, int expected) => Assert.Equal(expected, Heap.SizeClass(size));
}

// Tests in one class run one after another, so the page source's statics are not shared.
public unsafe class HeapPropertyTests
{
    private const ulong Page = Layout.PageSize;
    private static long s_pagesOut, s_pageBudget;
    private static bool s_refused;
    private static readonly Dictionary<IntPtr, ulong> s_runs = new();

    // Dirty pages (as recycled frames are) up to a budget, then null: the heap's out-of-memory path.
    private static byte* AllocatePages(ulong count)
    {
        if (s_pagesOut + (long)count > s_pageBudget) { s_refused = true; return null; }
        var pages = (byte*)NativeMemory.AlignedAlloc((nuint)(count * Page), 4096);
        new Span<byte>(pages, (int)(count * Page)).Fill(0xcc);
        s_pagesOut += (long)count;
        s_runs.Add((IntPtr)pages, count);
        return pages;
    }

    private static void FreePages(byte* pages, ulong count)
    {
        Assert.True(s_runs.Remove((IntPtr)pages, out ulong given) && given == count, "pages freed that the source did not hand out");
        s_pagesOut -= (long)count;
        NativeMemory.AlignedFree(pages);
    }

    // A block's size with its header, as BytesInUse counts it.
    private static ulong BlockBytes(ulong size)
    {
        int c = Heap.SizeClass(size);
        return c >= 0 ? Heap.ClassSize(c) : (size + 16 + Page - 1) / Page * Page;
    }

    // Random allocations (small, page-sized, impossible) and frees under a page budget, against a
    // dictionary of live blocks: each block is zeroed, 16-byte aligned, overlaps no live block and
    // keeps its contents while others change; a freed small block is the next one of its class;
    // BytesInUse is the sum of the live blocks; null comes only when the page source refused, and
    // changes nothing; everything freed leaves BytesInUse at zero and no page run outstanding.
    [Theory]
    [InlineData(1, 64)]
    [InlineData(2, 256)]
    [InlineData(3, 40)]
    [InlineData(4, 1024)]
    public void Random_operations_match_a_model_of_live_blocks(int seed, int pageBudget)
    {
        s_pagesOut = 0;
        s_pageBudget = pageBudget;
        s_runs.Clear();
        var heap = new Heap();
        heap.Initialize(&AllocatePages, &FreePages);
        var live = new Dictionary<IntPtr, (ulong Size, byte Fill)>();
        var freed = new Stack<IntPtr>[8];
        for (int c = 0; c < freed.Length; c++) freed[c] = new Stack<IntPtr>();
        ulong expectedInUse = 0;
        int nulls = 0;

        PropertyRun.Steps(seed, 5000, (random, step) =>
        {
            if (live.Count > 0 && random.Next(5) < 2)
            {
                var p = live.Keys.ElementAt(random.Next(live.Count));
                var (size, _) = live[p];
                live.Remove(p);
                heap.Free((byte*)p);
                expectedInUse -= BlockBytes(size);
                int c = Heap.SizeClass(size);
                if (c >= 0) freed[c].Push(p - 16);
            }
            else
            {
                ulong size = random.Next(20) switch
                {
                    0 => ulong.MaxValue - (ulong)random.Next(5000),     // impossible: null, nothing taken
                    1 => 1ul << random.Next(40, 64),
                    < 5 => (ulong)random.Next(2033, 5 * (int)Page),
                    _ => (ulong)random.Next(0, 2033),
                };
                bool impossible = size > 1ul << 39;
                int c = Heap.SizeClass(size);
                s_refused = false;
                ulong before = heap.BytesInUse;
                byte* p = heap.Allocate(size);
                if (p == null)
                {
                    Assert.True(impossible || s_refused, $"Allocate({size}) gave null although the page source never refused");
                    Assert.Equal(before, heap.BytesInUse);
                    nulls++;
                    return;
                }
                Assert.False(impossible, $"Allocate({size}) gave a block");
                Assert.Equal(0ul, (ulong)p % 16);
                if (c >= 0 && freed[c].Count > 0) Assert.Equal(freed[c].Pop(), (IntPtr)p - 16);
                ulong bytes = BlockBytes(size);
                foreach (var (q, (qSize, _)) in live)
                {
                    ulong qStart = (ulong)q - 16, qEnd = qStart + BlockBytes(qSize);
                    ulong start = (ulong)p - 16, end = start + bytes;
                    Assert.True(end <= qStart || start >= qEnd, $"block {start:x}+{bytes} overlaps live block {qStart:x}+{qEnd - qStart}");
                }
                var span = new Span<byte>(p, (int)size);
                Assert.True(span.IndexOfAnyExcept((byte)0) < 0, "a new block is not zeroed");
                byte fill = (byte)random.Next(1, 256);
                span.Fill(fill);
                live.Add((IntPtr)p, (size, fill));
                expectedInUse += bytes;
            }

            Assert.Equal(expectedInUse, heap.BytesInUse);
            if (step % 50 == 0)
                foreach (var (q, (qSize, qFill)) in live)
                    Assert.True(new Span<byte>((byte*)q, (int)qSize).IndexOfAnyExcept(qFill) < 0, $"live block {q:x} was overwritten");
        });

        foreach (var p in live.Keys) heap.Free((byte*)p);
        Assert.Equal(0ul, heap.BytesInUse);
        Assert.True(nulls > 0, "the run never reached an impossible size or the page budget");
        foreach (var (run, count) in s_runs) Assert.Equal(16ul, count);   // only chunks of small blocks stay
        foreach (var (run, count) in s_runs.ToList()) FreePages((byte*)run, count);
    }

    [Theory]
    [InlineData(ulong.MaxValue)]
    [InlineData(ulong.MaxValue - 15)]
    [InlineData(ulong.MaxValue - 4096)]
    public void A_size_that_wraps_with_the_header_gets_null_not_a_small_block(ulong size)
    {
        s_pagesOut = 0;
        s_pageBudget = 1 << 20;
        s_runs.Clear();
        var heap = new Heap();
        heap.Initialize(&AllocatePages, &FreePages);
        Assert.True(heap.Allocate(size) == null);
        Assert.Equal(0ul, heap.BytesInUse);
        Assert.Empty(s_runs);
    }
}
