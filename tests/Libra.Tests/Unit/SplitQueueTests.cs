using System.Runtime.InteropServices;
using Libra.Drivers.Virtio;
using Xunit;
using VirtqBuffer = Libra.Drivers.Virtio.SplitQueue.Buffer;

namespace Libra.Tests.Unit;

// Tests in one class run one after another, so the static barrier probe is not shared.
public unsafe class SplitQueueTests
{
    private static VirtqBuffer[] Buffers(int count, ulong cookie, bool writable, uint length = 64)
    {
        var buffers = new VirtqBuffer[count];
        for (int i = 0; i < count; i++) buffers[i] = new VirtqBuffer(Address(cookie, writable, i), length + (uint)i);
        return buffers;
    }

    // Addresses that say which request, direction and position a segment belongs to.
    private static ulong Address(ulong cookie, bool writable, int position) =>
        0x1_0000_0000ul + (cookie << 12) + (writable ? 0x800ul : 0) + (ulong)position * 0x40;

    private static ushort Add(QueueHarness h, int readable, int writable, ulong cookie)
    {
        Assert.True(h.Queue.TryAddChain(Buffers(readable, cookie, false), Buffers(writable, cookie, true), cookie, out ushort head));
        return head;
    }

    private static void AssertSegmentsOf(VirtqueueDevice.Request request, int readable, int writable, ulong cookie)
    {
        Assert.Equal(readable + writable, request.Segments.Length);
        for (int i = 0; i < readable + writable; i++)
        {
            bool w = i >= readable;
            int position = w ? i - readable : i;
            Assert.Equal(w, request.Segments[i].Writable);
            Assert.Equal(Address(cookie, w, position), request.Segments[i].Address);
            Assert.Equal(64u + (uint)position, request.Segments[i].Length);
        }
    }

    [Theory]
    [InlineData((ushort)1, 16u, 8u, 14u)]
    [InlineData((ushort)128, 2048u, 262u, 1030u)]
    [InlineData((ushort)256, 4096u, 518u, 2054u)]
    [InlineData((ushort)32768, 524288u, 65542u, 262150u)]
    public void Sizes_follow_the_virtqueue_part_table(ushort size, uint desc, uint avail, uint used)
    {
        SplitQueue.Sizes(size, out uint d, out uint a, out uint u);
        Assert.Equal((desc, avail, used), (d, a, u));
        uint total = SplitQueue.ContiguousLayout(size, out uint availOffset, out uint usedOffset);
        Assert.Equal(desc, availOffset);
        Assert.Equal(0u, usedOffset % SplitQueue.UsedAlignment);
        Assert.True(usedOffset >= availOffset + avail && usedOffset < availOffset + avail + 4);
        Assert.Equal(usedOffset + used, total);
    }

    [Fact]
    public void A_128_entry_queue_fits_one_page()
    {
        Assert.True(SplitQueue.ContiguousLayout(128, out _, out _) <= 4096);
    }

    [Theory]
    [InlineData((ushort)0)]
    [InlineData((ushort)3)]
    [InlineData((ushort)100)]
    [InlineData((ushort)0xc000)]
    [InlineData((ushort)0xffff)]
    public void Sizes_that_are_not_powers_of_two_up_to_32768_are_refused(ushort size)
    {
        byte* memory = (byte*)NativeMemory.AlignedAlloc(4096, 4096);
        var slots = (SplitQueue.Slot*)NativeMemory.AllocZeroed(16);
        try
        {
            SplitQueue queue = default;
            Assert.Equal(SplitQueueError.BadQueueSize, queue.InitializeContiguous(size, memory, (ulong)memory, slots, false, null));
            Assert.Equal(0, queue.FreeCount);
        }
        finally
        {
            NativeMemory.AlignedFree(memory);
            NativeMemory.Free(slots);
        }
    }

    [Fact]
    public void The_largest_queue_initializes_with_every_descriptor_free()
    {
        using var h = new QueueHarness(SplitQueue.MaxSize, eventIndex: true);
        Assert.Equal(SplitQueue.MaxSize, h.Queue.FreeCount);
        Assert.Equal(SplitQueue.MaxSize, h.Queue.Size);
        Add(h, 1, 1, 7);
        h.Queue.Publish();
        var request = h.Device.Pop();
        h.Device.Complete(request, 3);
        Assert.True(h.Queue.TryTakeUsed(out ulong cookie, out uint length));
        Assert.Equal((7ul, 3u), (cookie, length));
        Assert.Equal(SplitQueue.MaxSize, h.Queue.FreeCount);
    }

    [Fact]
    public void Areas_that_break_the_alignment_table_or_are_missing_are_refused()
    {
        byte* memory = (byte*)NativeMemory.AlignedAlloc(8192, 4096);
        var slots = (SplitQueue.Slot*)NativeMemory.AllocZeroed((nuint)(8 * sizeof(SplitQueue.Slot)));
        try
        {
            SplitQueue q = default;
            ulong p = (ulong)memory;
            Assert.Equal(SplitQueueError.Misaligned, q.Initialize(8, memory + 8, p + 8, memory + 1024, p + 1024, memory + 2048, p + 2048, slots, false, null));
            Assert.Equal(SplitQueueError.Misaligned, q.Initialize(8, memory, p, memory + 1025, p + 1025, memory + 2048, p + 2048, slots, false, null));
            Assert.Equal(SplitQueueError.Misaligned, q.Initialize(8, memory, p, memory + 1024, p + 1024, memory + 2050, p + 2050, slots, false, null));
            Assert.Equal(SplitQueueError.Misaligned, q.Initialize(8, memory, p + 4, memory + 1024, p + 1024, memory + 2048, p + 2048, slots, false, null));
            Assert.Equal(SplitQueueError.MissingMemory, q.Initialize(8, memory, p, null, 0, memory + 2048, p + 2048, slots, false, null));
            Assert.Equal(SplitQueueError.MissingMemory, q.Initialize(8, memory, p, memory + 1024, p + 1024, memory + 2048, p + 2048, null, false, null));
            // The minimum alignments are enough: avail at 2, used at 4.
            Assert.Equal(SplitQueueError.None, q.Initialize(8, memory, p, memory + 1026, p + 1026, memory + 2052, p + 2052, slots, false, null));
            Assert.Equal((p, p + 1026, p + 2052), (q.DescriptorAreaPhysical, q.DriverAreaPhysical, q.DeviceAreaPhysical));
        }
        finally
        {
            NativeMemory.AlignedFree(memory);
            NativeMemory.Free(slots);
        }
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(0, 1)]
    [InlineData(2, 0)]
    [InlineData(1, 1)]
    [InlineData(0, 2)]
    [InlineData(3, 0)]
    [InlineData(2, 1)]
    [InlineData(1, 2)]
    [InlineData(0, 3)]
    public void Chains_of_one_to_three_descriptors_put_readable_before_writable_and_link_with_next(int readable, int writable)
    {
        using var h = new QueueHarness(8, eventIndex: false);
        ushort head = Add(h, readable, writable, 42);
        Assert.Equal(8 - readable - writable, h.Queue.FreeCount);
        h.Queue.Publish();

        var request = h.Device.Pop();
        Assert.Equal(head, request.Head);
        AssertSegmentsOf(request, readable, writable, 42);

        h.Device.Complete(request, request.WritableBytes);
        Assert.True(h.Queue.TryTakeUsed(out ulong cookie, out uint length));
        Assert.Equal(42ul, cookie);
        Assert.Equal(request.WritableBytes, length);
        Assert.Equal(8, h.Queue.FreeCount);
        Assert.False(h.Queue.TryTakeUsed(out _, out _));
    }

    [Fact]
    public void An_empty_chain_is_refused()
    {
        using var h = new QueueHarness(8, eventIndex: false);
        Assert.False(h.Queue.TryAddChain(ReadOnlySpan<VirtqBuffer>.Empty, ReadOnlySpan<VirtqBuffer>.Empty, 1, out _));
        Assert.Equal(8, h.Queue.FreeCount);
        Assert.False(h.Queue.NeedsNotify());
    }

    [Fact]
    public void A_chain_longer_than_4_GiB_is_refused()
    {
        using var h = new QueueHarness(8, eventIndex: false);
        var big = new[] { new VirtqBuffer(0x1000, uint.MaxValue), new VirtqBuffer(0x2000, 1) };   // exactly 2^32: allowed
        Assert.True(h.Queue.TryAddChain(big, default, 1, out _));
        var tooBig = new[] { new VirtqBuffer(0x1000, uint.MaxValue) };
        Assert.False(h.Queue.TryAddChain(tooBig, new[] { new VirtqBuffer(0x2000, 2) }, 2, out _));
        Assert.Equal(6, h.Queue.FreeCount);
    }

    private static ushort* s_availIndexAtBarrier;
    private static readonly List<ushort> s_barrierSaw = new();
    private static void RecordingBarrier() => s_barrierSaw.Add(*s_availIndexAtBarrier);

    [Fact]
    public void Chains_stay_invisible_until_published_and_the_fence_comes_before_the_index()
    {
        s_barrierSaw.Clear();
        using var h = new QueueHarness(8, eventIndex: false, &RecordingBarrier);
        s_availIndexAtBarrier = (ushort*)(h.Rings + h.AvailOffset + 2);
        Add(h, 1, 1, 1);
        Add(h, 2, 0, 2);
        Assert.Equal(0, h.Device.AvailIndex);
        Assert.False(h.Device.TryPop(out _));
        Assert.Empty(s_barrierSaw);

        h.Queue.Publish();
        Assert.Equal(2, h.Device.AvailIndex);
        Assert.Equal(new ushort[] { 0 }, s_barrierSaw);   // fenced while avail.idx still read 0
        h.Queue.Publish();                                // nothing new: no second fence, no change
        Assert.Single(s_barrierSaw);
        Assert.Equal(2, h.Device.AvailIndex);
    }

    [Fact]
    public void NeedsNotify_publishes_what_was_added()
    {
        using var h = new QueueHarness(8, eventIndex: false);
        Add(h, 1, 0, 1);
        Assert.True(h.Queue.NeedsNotify());
        Assert.Equal(1, h.Device.AvailIndex);
        Assert.False(h.Queue.NeedsNotify());   // nothing published since: nothing to notify
    }

    [Fact]
    public void Exhaustion_fails_without_side_effects_and_recovers_as_chains_return()
    {
        using var h = new QueueHarness(4, eventIndex: false);
        for (ulong c = 0; c < 4; c++) Add(h, 1, 0, c);
        Assert.Equal(0, h.Queue.FreeCount);
        Assert.False(h.Queue.TryAddChain(Buffers(1, 9, false), default, 9, out _));
        h.Queue.Publish();
        Assert.Equal(4, h.Device.AvailIndex);

        var requests = Enumerable.Range(0, 4).Select(_ => h.Device.Pop()).ToList();
        h.Device.Complete(requests[2], 0);
        Assert.True(h.Queue.TryTakeUsed(out ulong cookie, out _));
        Assert.Equal(2ul, cookie);
        Assert.Equal(1, h.Queue.FreeCount);
        Assert.False(h.Queue.TryAddChain(Buffers(1, 9, false), Buffers(2, 9, true), 9, out _));   // needs 3
        Assert.Equal(1, h.Queue.FreeCount);
        h.Queue.Publish();
        Assert.Equal(4, h.Device.AvailIndex);                                                   // the failed add left no trace

        Add(h, 0, 1, 10);
        Assert.Equal(0, h.Queue.FreeCount);
        h.Device.Complete(new[] { (requests[0], 0u), (requests[1], 0u), (requests[3], 0u) });
        for (int i = 0; i < 3; i++) Assert.True(h.Queue.TryTakeUsed(out _, out _));
        Assert.Equal(3, h.Queue.FreeCount);
        Add(h, 1, 2, 11);
        h.Queue.Publish();
        AssertSegmentsOf(h.Device.Pop(), 0, 1, 10);
        AssertSegmentsOf(h.Device.Pop(), 1, 2, 11);
    }

    [Fact]
    public void Out_of_order_completion_returns_each_cookie_once_and_reuses_descriptors_safely()
    {
        using var h = new QueueHarness(8, eventIndex: false);
        int[] sizes = { 2, 1, 3, 2 };   // eight descriptors: the table is full
        for (int i = 0; i < 4; i++) Add(h, sizes[i] - 1, 1, (ulong)(100 + i));
        Assert.Equal(0, h.Queue.FreeCount);
        h.Queue.Publish();
        var requests = Enumerable.Range(0, 4).Select(_ => h.Device.Pop()).ToList();

        foreach (int i in new[] { 2, 0, 3, 1 })
        {
            h.Device.Complete(requests[i], 1);
            Assert.True(h.Queue.TryTakeUsed(out ulong cookie, out uint length));
            Assert.Equal((ulong)(100 + i), cookie);
            Assert.Equal(1u, length);
            // Reuse what came back at once: the device model fails if a descriptor it still holds is handed out again.
            Add(h, sizes[i] - 1, 1, (ulong)(200 + i));
            h.Queue.Publish();
            AssertSegmentsOf(h.Device.Pop(), sizes[i] - 1, 1, (ulong)(200 + i));
        }
        Assert.Equal(4, h.Device.Held.Count);
        h.Device.Complete(h.Device.Held.ToList().Select(r => (r, 0u)));
        var cookies = new List<ulong>();
        while (h.Queue.TryTakeUsed(out ulong c, out _)) cookies.Add(c);
        Assert.Equal(new ulong[] { 202, 200, 203, 201 }, cookies);
        Assert.Equal(8, h.Queue.FreeCount);
    }

    [Fact]
    public void Used_length_is_clamped_to_the_chain_writable_bytes()
    {
        using var h = new QueueHarness(8, eventIndex: false);
        Add(h, 1, 2, 1);   // writable 64 + 65 bytes
        Add(h, 2, 0, 2);   // nothing writable
        h.Queue.Publish();
        h.Device.Complete(h.Device.Pop(), 100_000);
        h.Device.Complete(h.Device.Pop(), 5);
        Assert.True(h.Queue.TryTakeUsed(out _, out uint first));
        Assert.Equal(129u, first);
        Assert.True(h.Queue.TryTakeUsed(out _, out uint second));
        Assert.Equal(0u, second);
    }

    [Fact]
    public void Without_event_idx_the_driver_notifies_unless_the_device_sets_no_notify()
    {
        using var h = new QueueHarness(8, eventIndex: false);
        Add(h, 1, 0, 1);
        Assert.True(h.Queue.NeedsNotify());
        h.Device.UsedFlags = SplitQueue.UsedNoNotify;
        Add(h, 1, 0, 2);
        Assert.False(h.Queue.NeedsNotify());
        h.Device.UsedFlags = 0;
        Add(h, 1, 0, 3);
        Add(h, 1, 0, 4);
        Assert.True(h.Queue.NeedsNotify());
        Assert.Equal(4, h.Device.AvailIndex);
    }

    [Fact]
    public void With_event_idx_the_driver_notifies_only_when_avail_event_is_crossed()
    {
        using var h = new QueueHarness(8, eventIndex: true);
        h.Device.SetNotification(true);                    // avail_event = 0: tell me about entry 0
        Add(h, 1, 0, 1);
        Assert.True(h.Queue.NeedsNotify());               // 0 is in [0, 1)
        Add(h, 1, 0, 2);
        Assert.False(h.Queue.NeedsNotify());              // the device has not come back for more: 0 is not in [1, 2)

        h.Device.Pop();
        h.Device.Pop();                                   // avail_event follows last_avail_idx = 2
        Add(h, 1, 0, 3);
        Add(h, 1, 0, 4);
        Add(h, 1, 0, 5);
        Assert.True(h.Queue.NeedsNotify());               // 2 is in [2, 5)
        h.Device.AvailEvent = 7;                          // asks to hear only about entry 7
        Add(h, 1, 0, 6);
        Assert.False(h.Queue.NeedsNotify());              // [5, 6)
        Add(h, 1, 0, 7);
        Add(h, 1, 0, 8);
        h.Device.UsedFlags = SplitQueue.UsedNoNotify;     // ignored under EVENT_IDX
        Assert.True(h.Queue.NeedsNotify());               // [6, 8) holds 7
    }

    [Theory]
    [InlineData((ushort)0xffff, (ushort)0x0001, (ushort)0xfffe, true)]    // event just before the wrap, crossed
    [InlineData((ushort)0x0000, (ushort)0x0001, (ushort)0xffff, true)]    // event at 0, crossed by the wrap
    [InlineData((ushort)0xfffd, (ushort)0x0001, (ushort)0xfffe, false)]   // event already behind old
    [InlineData((ushort)0x0001, (ushort)0x0001, (ushort)0xfffe, false)]   // event is new itself: not yet written
    [InlineData((ushort)0x1234, (ushort)0x1234, (ushort)0x1234, false)]   // nothing moved
    public void Event_index_test_holds_across_the_16_bit_wrap(ushort eventIndex, ushort newIndex, ushort oldIndex, bool expected) =>
        Assert.Equal(expected, SplitQueue.NeedEvent(eventIndex, newIndex, oldIndex));

    [Fact]
    public void Event_idx_notification_decisions_across_avail_idx_wrap()
    {
        using var h = new QueueHarness(4, eventIndex: true);
        for (int i = 0; i < 65534; i++)
        {
            Add(h, 1, 0, (ulong)i);
            h.Queue.NeedsNotify();
            h.Device.Complete(h.Device.Pop(), 0);
            Assert.True(h.Queue.TryTakeUsed(out _, out _));
        }
        Assert.Equal(65534, h.Device.AvailIndex);
        h.Device.SetNotification(true);                   // avail_event = 0xfffe
        Add(h, 1, 0, 1);
        Add(h, 1, 0, 2);
        Add(h, 1, 0, 3);                                  // avail.idx 0xfffe -> 0x0001
        Assert.True(h.Queue.NeedsNotify());
        Assert.Equal(1, h.Device.AvailIndex);
        h.Device.AvailEvent = 0;                          // entry 0 has been published already: no news
        Add(h, 0, 1, 4);
        Assert.False(h.Queue.NeedsNotify());
    }

    [Fact]
    public void Without_event_idx_interrupts_are_suppressed_with_the_avail_flag()
    {
        using var h = new QueueHarness(8, eventIndex: false);
        Add(h, 1, 0, 1);
        Add(h, 1, 0, 2);
        h.Queue.Publish();
        var a = h.Device.Pop();
        var b = h.Device.Pop();
        Assert.True(h.Device.Complete(a, 0));             // enabled by default

        h.Queue.DisableInterrupts();
        Assert.Equal(SplitQueue.AvailNoInterrupt, h.Device.AvailFlags);
        Assert.False(h.Device.Complete(b, 0));
        Assert.False(h.Queue.EnableInterrupts());         // two used buffers wait: take them before sleeping
        Assert.Equal(0, h.Device.AvailFlags);
        Assert.True(h.Queue.TryTakeUsed(out _, out _));
        Assert.True(h.Queue.TryTakeUsed(out _, out _));
        Assert.True(h.Queue.EnableInterrupts());          // nothing pending: safe to wait
    }

    [Fact]
    public void With_event_idx_interrupts_are_suppressed_with_used_event_and_the_flags_stay_zero()
    {
        using var h = new QueueHarness(8, eventIndex: true);
        for (ulong c = 0; c < 6; c++) Add(h, 1, 0, c);
        h.Queue.Publish();
        var r = Enumerable.Range(0, 6).Select(_ => h.Device.Pop()).ToList();

        Assert.True(h.Device.Complete(r[0], 0));          // used_event 0: entry 0 interrupts
        Assert.False(h.Device.Complete(r[1], 0));         // used_event still 0: no more until the driver catches up
        Assert.True(h.Queue.TryTakeUsed(out _, out _));
        Assert.Equal(1, h.Device.UsedEvent);              // taking moves used_event to the next entry
        Assert.True(h.Queue.TryTakeUsed(out _, out _));
        Assert.Equal(2, h.Device.UsedEvent);
        Assert.True(h.Device.Complete(r[2], 0));

        h.Queue.DisableInterrupts();
        Assert.Equal(0, h.Device.AvailFlags);             // virtio 1.2 §2.7.7: flags stay 0 under EVENT_IDX
        Assert.False(h.Device.Complete(r[3], 0));
        Assert.True(h.Queue.TryTakeUsed(out _, out _));
        Assert.True(h.Queue.TryTakeUsed(out _, out _));
        Assert.False(h.Device.Complete(r[4], 0));         // still suppressed after taking while disabled
        Assert.False(h.Queue.EnableInterrupts());         // r[4] is waiting
        Assert.True(h.Queue.TryTakeUsed(out _, out _));
        Assert.True(h.Queue.EnableInterrupts());
        Assert.True(h.Device.Complete(r[5], 0));
    }

    [Fact]
    public void Suppressed_interrupts_stay_suppressed_for_a_long_polled_run()
    {
        using var h = new QueueHarness(8, eventIndex: true);
        h.Queue.DisableInterrupts();
        int interrupts = 0;
        for (int i = 0; i < 70_000; i++)
        {
            Add(h, 1, 1, (ulong)i);
            h.Queue.Publish();
            if (h.Device.Complete(h.Device.Pop(), 1)) interrupts++;
            Assert.True(h.Queue.TryTakeUsed(out ulong cookie, out _));
            Assert.Equal((ulong)i, cookie);
        }
        Assert.Equal(1, interrupts);   // QEMU always signals the first used buffer (signalled_used not yet valid)
    }

    [Fact]
    public void A_used_element_outside_the_table_breaks_the_queue()
    {
        using var h = new QueueHarness(8, eventIndex: false);
        Add(h, 1, 0, 1);
        h.Queue.Publish();
        h.Device.PushRaw(8, 0);
        Assert.False(h.Queue.TryTakeUsed(out _, out _));
        Assert.True(h.Queue.IsBroken);
        Assert.False(h.Queue.TryAddChain(Buffers(1, 2, false), default, 2, out _));
    }

    [Fact]
    public void A_used_element_naming_a_descriptor_that_heads_no_chain_breaks_the_queue()
    {
        using var h = new QueueHarness(8, eventIndex: false);
        ushort head = Add(h, 2, 1, 1);
        h.Queue.Publish();
        var request = h.Device.Pop();
        h.Device.PushRaw(request.Descriptors[1], 0);   // the middle of the chain
        Assert.False(h.Queue.TryTakeUsed(out _, out _));
        Assert.True(h.Queue.IsBroken);
        Assert.Equal(head, request.Head);
    }

    [Fact]
    public void A_chain_returned_twice_breaks_the_queue_instead_of_freeing_it_twice()
    {
        using var h = new QueueHarness(8, eventIndex: false);
        Add(h, 1, 0, 1);
        h.Queue.Publish();
        var request = h.Device.Pop();
        h.Device.PushRaw(request.Head, 0);
        h.Device.PushRaw(request.Head, 0);
        Assert.True(h.Queue.TryTakeUsed(out _, out _));
        Assert.False(h.Queue.TryTakeUsed(out _, out _));
        Assert.True(h.Queue.IsBroken);
        Assert.Equal(8, h.Queue.FreeCount);
    }

    [Fact]
    public void A_used_index_more_than_the_queue_size_ahead_breaks_the_queue()
    {
        using var h = new QueueHarness(4, eventIndex: false);
        *(ushort*)(h.Rings + h.UsedOffset + 2) = 5;
        Assert.False(h.Queue.TryTakeUsed(out _, out _));
        Assert.True(h.Queue.IsBroken);
    }

    // Driver and device interleaved at random, the driver taking used buffers only from its interrupt
    // handler (as Linux's virtqueue callback does), the device popping only after kicks. A notification
    // the driver wrongly suppresses strands requests in the ring; a lost interrupt strands them in the
    // used ring; both end the run with requests outstanding. Long enough to wrap both 16-bit indices.
    [Theory]
    [InlineData(false, (ushort)8, 1)]
    [InlineData(true, (ushort)8, 2)]
    [InlineData(false, (ushort)16, 3)]
    [InlineData(true, (ushort)16, 4)]
    public void Random_interleaving_loses_no_request_notification_or_interrupt_and_wraps_the_indices(bool eventIndex, ushort size, int seed)
    {
        const int Total = 70_000;
        using var h = new QueueHarness(size, eventIndex);
        var random = new Random(seed);
        var outstanding = new Dictionary<ulong, (int Readable, int Writable)>();
        ulong nextCookie = 0;
        int taken = 0;

        // The interrupt is edge-like (MSI-X): one raised while the handler runs is delivered after it returns.
        bool inHandler = false, interruptPending = false;
        void OnInterrupt()
        {
            if (inHandler) { interruptPending = true; return; }
            inHandler = true;
            do
            {
                interruptPending = false;
                Handler();
            } while (interruptPending);
            inHandler = false;
            // The driver now sleeps: a used buffer it has not taken must have an interrupt on the way.
            Assert.False(h.Queue.HasUsed, "a used buffer is left with no interrupt to report it");
        }

        // Linux's pattern: callbacks off, drain, callbacks on, and drain again if buffers slipped in.
        void Handler()
        {
            do
            {
                h.Queue.DisableInterrupts();
                while (h.Queue.TryTakeUsed(out ulong cookie, out uint length))
                {
                    Assert.True(outstanding.Remove(cookie, out var shape), $"cookie {cookie} was not outstanding");
                    uint writableBytes = (uint)Enumerable.Range(0, shape.Writable).Sum(i => 64 + i);
                    Assert.Equal(Math.Min((uint)(cookie % 97), writableBytes), length);   // clamped to what the chain could take
                    taken++;
                }
                if (random.Next(3) == 0) CompleteSome(random.Next(1, 3));   // the device keeps going meanwhile
            } while (!h.Queue.EnableInterrupts());
        }

        void CompleteSome(int count)
        {
            var chosen = h.Device.Held.OrderBy(_ => random.Next()).Take(count).ToList();
            if (chosen.Count == 0) return;
            var completions = chosen.Select(r =>
            {
                ulong cookie = (r.Segments[0].Address - 0x1_0000_0000ul) >> 12;
                var shape = outstanding[cookie];
                AssertSegmentsOf(r, shape.Readable, shape.Writable, cookie);
                return (r, (uint)(cookie % 97));
            }).ToList();
            if (h.Device.Complete(completions)) OnInterrupt();
        }

        long steps = 0;
        while (nextCookie < Total)
        {
            Assert.True(++steps < 10_000_000, "the driver and device stalled");
            switch (random.Next(4))
            {
                case 0:   // the driver submits a batch
                    int batch = random.Next(1, 4);
                    for (int i = 0; i < batch && nextCookie < Total; i++)
                    {
                        int readable = random.Next(0, 3), writable = random.Next(readable == 0 ? 1 : 0, 3);
                        if (!h.Queue.TryAddChain(Buffers(readable, nextCookie, false), Buffers(writable, nextCookie, true), nextCookie, out _))
                        {
                            Assert.True(readable + writable > h.Queue.FreeCount);
                            break;
                        }
                        outstanding[nextCookie] = (readable, writable);
                        nextCookie++;
                    }
                    if (h.Queue.NeedsNotify()) h.Device.Kick();
                    break;
                case 1:
                    h.Device.ServiceStep(random.Next(1, 4));
                    break;
                default:
                    CompleteSome(random.Next(1, 4));
                    break;
            }
        }

        // Quiesce: the device finishes what it was told about, the driver what it was interrupted for.
        for (int round = 0; round < 1000 && (h.Device.KickPending || h.Device.Servicing || h.Device.Held.Count > 0); round++)
        {
            h.Device.ServiceStep(size);
            CompleteSome(size);
        }
        Assert.Empty(h.Device.Held);
        Assert.Equal(h.Device.AvailIndex, h.Device.LastAvail);   // nothing stranded in the available ring
        Assert.Empty(outstanding);                                // nothing stranded in the used ring
        Assert.Equal(Total, taken);
        Assert.Equal(size, h.Queue.FreeCount);
        Assert.Equal(unchecked((ushort)Total), h.Device.AvailIndex);         // both indices wrapped
        Assert.Equal(unchecked((ushort)Total), h.Device.UsedIndex);
        Assert.Equal(unchecked((ushort)Total), h.Queue.LastUsedIndex);
        Assert.False(h.Queue.IsBroken);
        Assert.True(h.Device.Kicks < Total);                      // suppression did suppress
    }
}
