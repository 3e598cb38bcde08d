using System.Runtime.InteropServices;
using Libra.Shims.Net;
using Xunit;

namespace Libra.Tests.Unit;

// A socket's receive queue (Shims/Net/SideRxQueue.cs): bytes come out as they went in, across
// blocks, and the memory it holds follows what is queued, not the window.
public sealed unsafe class SideRxQueueTests
{
    private static int s_live, s_allocations, s_failAfter = int.MaxValue;

    private static void* Allocate(ulong size)
    {
        if (s_allocations >= s_failAfter) return null;
        s_allocations++;
        s_live++;
        Assert.Equal((ulong)SideRxQueue.BlockSize, size);
        return NativeMemory.AllocZeroed((nuint)size);
    }

    private static void Free(void* block)
    {
        s_live--;
        NativeMemory.Free(block);
    }

    private static SideRxQueue NewQueue()
    {
        s_live = s_allocations = 0;
        s_failAfter = int.MaxValue;
        var queue = new SideRxQueue();
        queue.Initialize(&Allocate, &Free);
        return queue;
    }

    [Fact]
    public void Bytes_come_out_in_order_across_blocks_whatever_the_sizes_of_appends_and_reads()
    {
        var queue = NewQueue();
        var random = new Random(7);
        var reference = new Queue<byte>();
        byte next = 0;
        for (int round = 0; round < 2000; round++)
        {
            if (random.Next(2) == 0)
            {
                var bytes = new byte[random.Next(0, 3 * SideRxQueue.BlockBytes)];
                for (int i = 0; i < bytes.Length; i++) { bytes[i] = next++; reference.Enqueue(bytes[i]); }
                Assert.True(queue.Append(bytes));
            }
            else
            {
                bool peek = random.Next(4) == 0;
                var into = new byte[random.Next(0, 3 * SideRxQueue.BlockBytes)];
                int n = queue.Read(into, peek);
                Assert.Equal(Math.Min(into.Length, reference.Count), n);
                var expected = peek ? reference.Take(n).ToArray() : Enumerable.Range(0, n).Select(_ => reference.Dequeue()).ToArray();
                Assert.Equal(expected, into.AsSpan(0, n).ToArray());
            }
            Assert.Equal((uint)reference.Count, queue.Count);
        }
        queue.Clear();
        Assert.Equal(0, s_live);
    }

    [Fact]
    public void A_drained_queue_keeps_one_block_and_a_keep_alive_exchange_allocates_nothing_more()
    {
        var queue = NewQueue();
        Assert.True(queue.Append(new byte[10 * SideRxQueue.BlockBytes + 5]));
        Assert.Equal(11u, queue.Blocks);
        Assert.Equal(10 * SideRxQueue.BlockBytes + 5, queue.Read(new byte[20 * SideRxQueue.BlockBytes], peek: false));
        Assert.Equal(1u, queue.Blocks);
        int before = s_allocations;
        for (int request = 0; request < 100; request++)
        {
            Assert.True(queue.Append(new byte[300]));
            Assert.Equal(300, queue.Read(new byte[1000], peek: false));
        }
        Assert.Equal(before, s_allocations);
        Assert.Equal(1u, queue.Blocks);
        queue.Clear();
        Assert.Equal(0u, queue.Blocks);
        Assert.Equal(0, s_live);
    }

    [Fact]
    public void An_append_that_cannot_get_its_blocks_changes_nothing()
    {
        var queue = NewQueue();
        Assert.True(queue.Append(new byte[100]));
        s_failAfter = s_allocations + 1;
        Assert.False(queue.Append(new byte[3 * SideRxQueue.BlockBytes]));
        Assert.Equal(100u, queue.Count);
        var into = new byte[200];
        Assert.Equal(100, queue.Read(into, peek: false));
        queue.Clear();
        Assert.Equal(0, s_live);
    }
}
