using System.Runtime.InteropServices;
using Libra.Memory;
using Xunit;

namespace Libra.Tests.Unit;

// The page-table builder over a byte buffer that plays physical memory; frames come from a bump pointer.
public unsafe class PageTableTests : IDisposable
{
    private const ulong MemoryBytes = 1 << 20;
    private static byte* s_memory;
    private static ulong s_next;

    public PageTableTests()
    {
        s_memory = (byte*)NativeMemory.AlignedAlloc((nuint)MemoryBytes, 4096);
        s_next = 4096;   // physical 0 stays unused, as in the kernel
    }

    public void Dispose() => NativeMemory.AlignedFree(s_memory);

    private static ulong AllocateFrame()
    {
        if (s_next >= MemoryBytes) return 0;
        ulong frame = s_next;
        s_next += 4096;
        return frame;
    }

    private static PageTable Create()
    {
        var tables = new PageTable();
        Assert.True(tables.Create(s_memory, &AllocateFrame));
        return tables;
    }

    [Fact]
    public void Small_pages_translate_back_with_their_flags()
    {
        var tables = Create();
        Assert.True(tables.Map(0xffffffff80100000, 0x100000, 3 * Layout.PageSize, PageTable.Writable | PageTable.NoExecute, largestLevel: 1));
        Assert.True(tables.Translate(0xffffffff80102abc, out ulong physical, out ulong flags));
        Assert.Equal(0x102abcul, physical);
        Assert.NotEqual(0ul, flags & PageTable.NoExecute);
        Assert.NotEqual(0ul, flags & PageTable.Writable);
        Assert.Equal(0ul, flags & PageTable.User);
        Assert.False(tables.Translate(0xffffffff80103000, out _, out _));
    }

    [Fact]
    public void Aligned_ranges_use_large_pages_and_unaligned_ones_fall_back_to_small_pages()
    {
        var tables = Create();
        ulong before = s_next;
        Assert.True(tables.Map(0xffff800000000000, 0, 1ul << 30, PageTable.Writable, largestLevel: 3));
        Assert.Equal(before + 4096, s_next);                      // a 1 GiB page needs only a PDPT below the root
        Assert.True(tables.Translate(0xffff80003fffffff, out ulong physical, out ulong flags));
        Assert.Equal(0x3ffffffful, physical);
        Assert.NotEqual(0ul, flags & PageTable.Large);

        Assert.True(tables.Map(0x400000, 0x200000, 0x201000, PageTable.User, largestLevel: 2));
        Assert.True(tables.Translate(0x5ff000, out physical, out flags));
        Assert.Equal(0x3ff000ul, physical);
        Assert.NotEqual(0ul, flags & PageTable.Large);
        Assert.True(tables.Translate(0x600000, out physical, out flags));
        Assert.Equal(0x400000ul, physical);
        Assert.Equal(0ul, flags & PageTable.Large);
    }

    [Fact]
    public void Mapping_inside_an_existing_large_page_is_refused()
    {
        var tables = Create();
        Assert.True(tables.Map(0x40000000, 0, Layout.LargePageSize, PageTable.Writable));
        Assert.False(tables.Map(0x40001000, 0x1000, Layout.PageSize, PageTable.Writable, largestLevel: 1));
    }

    [Fact]
    public void Running_out_of_frames_fails_the_mapping()
    {
        var tables = Create();
        s_next = MemoryBytes;
        Assert.False(tables.Map(0x1000, 0x1000, Layout.PageSize, 0, largestLevel: 1));
    }

    [Fact]
    public void Index_picks_the_nine_bits_of_each_level()
    {
        ulong address = 0xffffffff80123456;
        Assert.Equal(511, PageTable.Index(address, 4));
        Assert.Equal(510, PageTable.Index(address, 3));
        Assert.Equal(0, PageTable.Index(address, 2));
        Assert.Equal(0x123, PageTable.Index(address, 1));
    }
}
