using System.Runtime.InteropServices;
using Libra.Drivers.Virtio;
using Xunit;

namespace Libra.Tests.Unit;

// The device half of a split virtqueue, written from the spec and QEMU's hw/virtio/virtio.c rather than
// from SplitQueue: it reads the descriptor table and available ring and writes the used ring in the
// same memory the driver uses. It pops only after a kick and services the queue as virtio-blk's
// handler does (notifications off, pop until empty, notifications on, re-check), so a notification
// the driver wrongly suppresses leaves requests stranded, and the tests see it.
internal sealed unsafe class VirtqueueDevice
{
    public sealed record Segment(ulong Address, uint Length, bool Writable);
    public sealed record Request(ushort Head, Segment[] Segments, ushort[] Descriptors)
    {
        public uint WritableBytes => (uint)Segments.Where(s => s.Writable).Sum(s => (long)s.Length);
    }

    private readonly SplitQueue.Descriptor* _desc;
    private readonly byte* _avail, _used;
    private readonly ushort _size;
    private readonly bool _eventIndex;
    private readonly HashSet<ushort> _owned = new();   // descriptors of chains popped and not yet used
    private ushort _lastAvail, _usedIndex, _signalledUsed;
    private bool _signalledValid;

    public bool KickPending { get; private set; }
    public bool Servicing { get; private set; }
    public int Kicks { get; private set; }
    public int Interrupts { get; private set; }
    public readonly List<Request> Held = new();         // popped, not yet completed

    public VirtqueueDevice(void* descriptors, void* avail, void* used, ushort size, bool eventIndex)
    {
        _desc = (SplitQueue.Descriptor*)descriptors;
        _avail = (byte*)avail;
        _used = (byte*)used;
        _size = size;
        _eventIndex = eventIndex;
    }

    public ushort AvailIndex => *(ushort*)(_avail + 2);
    public ushort AvailFlags => *(ushort*)_avail;
    public ushort AvailRing(int i) => *(ushort*)(_avail + 4 + 2 * i);
    public ushort UsedEvent => *(ushort*)(_avail + 4 + 2 * _size);
    public ushort UsedIndex => *(ushort*)(_used + 2);
    public ushort LastAvail => _lastAvail;
    public ushort UsedFlags { get => *(ushort*)_used; set => *(ushort*)_used = value; }
    public ushort AvailEvent { get => *(ushort*)(_used + 4 + 8 * _size); set => *(ushort*)(_used + 4 + 8 * _size) = value; }
    public bool RingEmpty => AvailIndex == _lastAvail;

    public void Kick()
    {
        Kicks++;
        KickPending = true;
    }

    // virtqueue_split_pop: the head at last_avail_idx, then the chain, checked as QEMU checks it.
    public bool TryPop(out Request request)
    {
        request = null!;
        if (RingEmpty) return false;
        Assert.True((ushort)(AvailIndex - _lastAvail) <= _size, "avail.idx ran more than the queue size ahead");
        ushort head = AvailRing(_lastAvail % _size);
        _lastAvail++;
        if (_eventIndex) AvailEvent = _lastAvail;   // vring_set_avail_event(vq, vq->last_avail_idx)

        var segments = new List<Segment>();
        var descriptors = new List<ushort>();
        ushort index = head;
        while (true)
        {
            Assert.True(index < _size, $"descriptor {index} is outside the table");
            Assert.True(descriptors.Count < _size, "descriptor chain loops");
            Assert.True(_owned.Add(index), $"descriptor {index} is already in a chain the device holds");
            SplitQueue.Descriptor d = _desc[index];
            Assert.Equal(0, d.Flags & SplitQueue.DescriptorIndirect);
            bool writable = (d.Flags & SplitQueue.DescriptorWrite) != 0;
            // virtio 1.2 §2.7.4.2: readable descriptors never follow writable ones (QEMU: "Incorrect order for descriptors").
            Assert.False(!writable && segments.Any(s => s.Writable), "a readable descriptor follows a writable one");
            segments.Add(new Segment(d.Address, d.Length, writable));
            descriptors.Add(index);
            if ((d.Flags & SplitQueue.DescriptorNext) == 0) break;
            index = d.Next;
        }
        request = new Request(head, segments.ToArray(), descriptors.ToArray());
        Held.Add(request);
        return true;
    }

    public Request Pop()
    {
        Assert.True(TryPop(out Request request), "the device found no available buffer");
        return request;
    }

    // virtio_queue_split_set_notification.
    public void SetNotification(bool enable)
    {
        if (_eventIndex) AvailEvent = AvailIndex;
        else UsedFlags = enable ? (ushort)0 : SplitQueue.UsedNoNotify;
    }

    // One step of a virtio-blk-style handler: take the kick, pop up to `maxPops`, and when the ring
    // runs dry re-enable notifications and look once more before going idle.
    public void ServiceStep(int maxPops)
    {
        if (!Servicing)
        {
            if (!KickPending) return;
            KickPending = false;
            Servicing = true;
            SetNotification(false);
        }
        for (int i = 0; i < maxPops; i++)
        {
            if (!TryPop(out _))
            {
                SetNotification(true);
                if (RingEmpty) Servicing = false;
                return;
            }
        }
    }

    // virtqueue_fill for each element, one virtqueue_flush, then virtio_notify's decision.
    public bool Complete(IEnumerable<(Request Request, uint Length)> completions)
    {
        ushort index = _usedIndex;
        foreach (var (request, length) in completions)
        {
            uint* element = (uint*)(_used + 4 + 8 * (index % _size));
            element[0] = request.Head;
            element[1] = length;
            index++;
            foreach (ushort d in request.Descriptors) _owned.Remove(d);
            Held.Remove(request);
        }
        _usedIndex = index;
        *(ushort*)(_used + 2) = _usedIndex;
        bool interrupt = ShouldInterrupt();
        if (interrupt) Interrupts++;
        return interrupt;
    }

    public bool Complete(Request request, uint length) => Complete(new[] { (request, length) });

    // Writes a used element that names `id` directly, as a buggy device might.
    public void PushRaw(uint id, uint length)
    {
        uint* element = (uint*)(_used + 4 + 8 * (_usedIndex % _size));
        element[0] = id;
        element[1] = length;
        _usedIndex++;
        *(ushort*)(_used + 2) = _usedIndex;
    }

    // virtio_split_should_notify (without NOTIFY_ON_EMPTY).
    private bool ShouldInterrupt()
    {
        if (!_eventIndex) return (AvailFlags & SplitQueue.AvailNoInterrupt) == 0;
        bool valid = _signalledValid;
        _signalledValid = true;
        ushort old = _signalledUsed;
        ushort now = _signalledUsed = _usedIndex;
        return !valid || (ushort)(now - UsedEvent - 1) < (ushort)(now - old);
    }
}

// A queue over one block of native memory laid out by SplitQueue.ContiguousLayout, with the device
// model on the same memory. Physical addresses are the virtual ones.
internal sealed unsafe class QueueHarness : IDisposable
{
    public SplitQueue Queue;
    public readonly VirtqueueDevice Device;
    public readonly byte* Rings;
    public readonly uint AvailOffset, UsedOffset;
    private readonly SplitQueue.Slot* _slots;

    public QueueHarness(ushort size, bool eventIndex, delegate*<void> barrier = null)
    {
        uint total = SplitQueue.ContiguousLayout(size, out AvailOffset, out UsedOffset);
        Rings = (byte*)NativeMemory.AlignedAlloc(total, 4096);
        new Span<byte>(Rings, (int)total).Fill(0xcc);   // Initialize must zero what the device reads
        _slots = (SplitQueue.Slot*)NativeMemory.AllocZeroed((nuint)(size * sizeof(SplitQueue.Slot)));
        Assert.Equal(SplitQueueError.None, Queue.InitializeContiguous(size, Rings, (ulong)Rings, _slots, eventIndex, barrier));
        Device = new VirtqueueDevice(Rings, Rings + AvailOffset, Rings + UsedOffset, size, eventIndex);
    }

    public void Dispose()
    {
        NativeMemory.AlignedFree(Rings);
        NativeMemory.Free(_slots);
    }
}
