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

public unsafe class FrameAllocatorPropertyTests
{
    private const ulong Page = Layout.PageSize;

    // Random MarkFree/MarkUsed over unaligned byte ranges, single and contiguous allocations and frees,
    // against one bool per frame: after each operation every frame's state and the free count agree,
    // allocations take the lowest free (aligned) frames, and no frame is handed out twice.
    [Theory]
    [InlineData(1, 70)]
    [InlineData(2, 1000)]
    [InlineData(3, 4133)]
    [InlineData(4, 64)]
    [InlineData(5, 129)]
    public void Random_operations_match_a_bitmap_model(int seed, int frameCount)
    {
        var bitmap = GC.AllocateArray<ulong>((int)(FrameAllocator.BitmapBytes((ulong)frameCount) / 8), pinned: true);
        var frames = new FrameAllocator();
        fixed (ulong* p = bitmap) frames.Initialize(p, (ulong)frameCount);
        var used = Enumerable.Repeat(true, frameCount).ToArray();
        var handedOut = new List<(ulong Frame, ulong Count)>();

        PropertyRun.Steps(seed, 4000, (random, step) =>
        {
            ulong limit = (ulong)frameCount * Page + 3 * Page;   // ranges may run past the last frame
            ulong a = (ulong)random.NextInt64((long)limit), b = (ulong)random.NextInt64((long)limit);
            ulong start = Math.Min(a, b), end = Math.Max(a, b);
            if (random.Next(4) == 0) start = start / Page / 4 * Page;   // page-aligned and often low, frame 0 included
            if (random.Next(3) == 0) end = Math.Min(end, start + (ulong)random.Next(8) * Page + (ulong)random.Next(2) * 100);
            switch (random.Next(step < 20 ? 1 : 6))
            {
                case 0:
                    frames.MarkFree(start, end);
                    for (ulong f = (start + Page - 1) / Page; f < end / Page && f < (ulong)frameCount; f++)
                    {
                        if (f == 0) continue;   // frame 0 is Allocate's failure value: never free
                        used[f] = false;
                        handedOut.RemoveAll(h => h.Frame <= f && f < h.Frame + h.Count);
                    }
                    break;
                case 1:
                    frames.MarkUsed(start, end);
                    for (ulong f = start / Page; f < (end + Page - 1) / Page && f < (ulong)frameCount; f++) used[f] = true;
                    break;
                case 2:
                case 3:
                {
                    int expected = Array.IndexOf(used, false);
                    ulong got = frames.Allocate();
                    Assert.Equal(expected < 0 ? 0ul : (ulong)expected * Page, got);
                    if (expected >= 0) { used[expected] = true; handedOut.Add(((ulong)expected, 1)); }
                    break;
                }
                case 4:
                {
                    int count = 1 + random.Next(random.Next(4) == 0 ? 64 : 8);
                    int align = 1 << random.Next(5);
                    int expected = LowestFreeRun(used, count, align);
                    ulong got = frames.AllocateContiguous((ulong)count, (ulong)align);
                    Assert.Equal(expected < 0 ? 0ul : (ulong)expected * Page, got);
                    if (expected >= 0)
                    {
                        for (int f = expected; f < expected + count; f++) used[f] = true;
                        handedOut.Add(((ulong)expected, (ulong)count));
                    }
                    break;
                }
                default:
                {
                    if (handedOut.Count == 0) break;
                    int i = random.Next(handedOut.Count);
                    var (frame, count) = handedOut[i];
                    handedOut.RemoveAt(i);
                    frames.Free(frame * Page, count);
                    for (ulong f = frame; f < frame + count; f++) used[f] = false;
                    break;
                }
            }

            Assert.Equal((ulong)used.Count(u => !u), frames.FreeFrames);
            for (int f = 0; f < frameCount; f++)
                if (frames.IsUsed((ulong)f) != used[f]) Assert.Fail($"frame {f}: allocator says used={!used[f]}");
            Assert.True(frames.IsUsed((ulong)frameCount) && frames.IsUsed(ulong.MaxValue / Page));
        });
    }

    [Fact]
    public void Frame_zero_is_never_opened_because_zero_means_exhausted()
    {
        var bitmap = GC.AllocateArray<ulong>(1, pinned: true);
        var frames = new FrameAllocator();
        fixed (ulong* p = bitmap) frames.Initialize(p, 4);
        frames.MarkFree(0, 2 * Page);
        Assert.Equal(1ul, frames.FreeFrames);
        Assert.Equal(Page, frames.Allocate());
        Assert.Equal(0ul, frames.Allocate());       // exhausted, and no frame was handed out as "0"
        Assert.Equal(0ul, frames.AllocateContiguous(1));
        Assert.Equal(0ul, frames.FreeFrames);
    }

    // The first frame of the lowest run of `count` free frames starting at a multiple of `align`, or -1.
    private static int LowestFreeRun(bool[] used, int count, int align)
    {
        for (int f = 0; f + count <= used.Length; f += align)
        {
            int run = 0;
            while (run < count && !used[f + run]) run++;
            if (run == count) return f;
        }
        return -1;
    }
}
