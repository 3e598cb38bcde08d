using Libra.Memory;
using Xunit;

namespace Libra.Tests.Unit;

public unsafe class FrameAllocatorTests
{
    private const ulong Page = Layout.PageSize;

    private static FrameAllocator Create(ulong[] bitmap, ulong frames)
    {
        var allocator = new FrameAllocator();
        fixed (ulong* p = bitmap) allocator.Initialize(p, frames);  // callers pass pinned arrays
        return allocator;
    }

    [Fact]
    public void Allocate_hands_out_the_lowest_free_frame_and_never_frame_zero()
    {
        var bitmap = GC.AllocateArray<ulong>(4, pinned: true);
        var frames = Create(bitmap, 256);
        frames.MarkFree(0, 256 * Page);
        frames.MarkUsed(0, Page);
        Assert.Equal(255ul, frames.FreeFrames);
        Assert.Equal(Page, frames.Allocate());
        Assert.Equal(2 * Page, frames.Allocate());
        Assert.Equal(253ul, frames.FreeFrames);
    }

    [Fact]
    public void MarkFree_takes_only_whole_frames_and_MarkUsed_every_touched_frame()
    {
        var bitmap = GC.AllocateArray<ulong>(1, pinned: true);
        var frames = Create(bitmap, 64);
        frames.MarkFree(Page + 1, 4 * Page - 1);      // frame 2 is the only whole frame in [4097, 16383)
        Assert.Equal(1ul, frames.FreeFrames);
        Assert.False(frames.IsUsed(2));
        frames.MarkFree(8 * Page, 16 * Page);
        frames.MarkUsed(9 * Page + 10, 10 * Page + 1); // touches frames 9 and 10
        Assert.True(frames.IsUsed(9));
        Assert.True(frames.IsUsed(10));
        Assert.False(frames.IsUsed(11));
    }

    [Fact]
    public void AllocateContiguous_respects_alignment_and_reports_exhaustion()
    {
        var bitmap = GC.AllocateArray<ulong>(2, pinned: true);
        var frames = Create(bitmap, 128);
        frames.MarkFree(Page, 128 * Page);
        ulong run = frames.AllocateContiguous(8, alignFrames: 16);
        Assert.Equal(16 * Page, run);
        for (ulong f = 16; f < 24; f++) Assert.True(frames.IsUsed(f));
        Assert.Equal(0ul, frames.AllocateContiguous(200));
    }

    [Fact]
    public void Freed_frames_are_handed_out_again()
    {
        var bitmap = GC.AllocateArray<ulong>(1, pinned: true);
        var frames = Create(bitmap, 8);
        frames.MarkFree(Page, 8 * Page);
        var all = new List<ulong>();
        for (ulong f; (f = frames.Allocate()) != 0;) all.Add(f);
        Assert.Equal(7, all.Count);
        frames.Free(3 * Page);
        Assert.Equal(3 * Page, frames.Allocate());
        Assert.Equal(0ul, frames.Allocate());
    }
}
