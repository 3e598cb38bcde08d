using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using Libra.Drivers.Virtio;

namespace Libra.Bench.Micro;

// The driver's side of one virtio request: add a chain (the 9P request's readable descriptor and
// its reply's writable one), publish and decide on a notification, then take the completion back
// after a device model has used it, as a 9P call does. Rings live in unmanaged memory like DMA pages.
[MemoryDiagnoser]
public unsafe class SplitQueueBenchmarks
{
    private const ushort Size = 128;
    private byte* _rings;
    private SplitQueue.Slot* _slots;
    private SplitQueue _queue;
    private uint _usedOffset;
    private ushort _deviceAvail;

    [Params(false, true)]
    public bool EventIndex;

    [GlobalSetup]
    public void Setup()
    {
        uint bytes = SplitQueue.ContiguousLayout(Size, out _, out _usedOffset);
        _rings = (byte*)NativeMemory.AlignedAlloc(bytes, 4096);
        _slots = (SplitQueue.Slot*)NativeMemory.AllocZeroed((nuint)(Size * sizeof(SplitQueue.Slot)));
        fixed (SplitQueue* queue = &_queue)
            if (queue->InitializeContiguous(Size, _rings, (ulong)_rings, _slots, EventIndex, null) != SplitQueueError.None)
                throw new InvalidOperationException("queue setup");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        NativeMemory.AlignedFree(_rings);
        NativeMemory.Free(_slots);
    }

    [Benchmark(Description = "add 2-descriptor chain + notify check + device use + take used")]
    public ulong RoundTrip()
    {
        SplitQueue.Buffer* readable = stackalloc SplitQueue.Buffer[1];
        SplitQueue.Buffer* writable = stackalloc SplitQueue.Buffer[1];
        readable[0] = new SplitQueue.Buffer(0x1000, 64);
        writable[0] = new SplitQueue.Buffer(0x2000, 4096);
        _queue.TryAddChain(new ReadOnlySpan<SplitQueue.Buffer>(readable, 1), new ReadOnlySpan<SplitQueue.Buffer>(writable, 1), 42, out ushort head);
        bool notify = _queue.NeedsNotify();
        UseOne(head);
        _queue.TryTakeUsed(out ulong cookie, out uint length);
        return cookie + length + (notify ? 1u : 0u);
    }

    // What the device does with one available chain: append {head, 4096} to the used ring.
    private void UseOne(ushort head)
    {
        byte* used = _rings + _usedOffset;
        ushort usedIndex = *(ushort*)(used + 2);
        var element = (uint*)(used + 4 + (usedIndex % Size) * 8);
        element[0] = head;
        element[1] = 4096;
        *(ushort*)(used + 2) = (ushort)(usedIndex + 1);
        _deviceAvail++;
    }
}
