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
