using System.Runtime.InteropServices;
using Libra.Threads;
using Xunit;

namespace Libra.Tests.Unit;

// Tests in one class run one after another, so the static list of woken owners is not shared.
public unsafe class FutexQueueTests : IDisposable
{
    private const uint Any = FutexQueue.MatchAny;
    private static readonly List<long> s_woken = new();
    private static bool s_queuedWhenWoken;

    private readonly FutexWaiter* _waiters;
    private const int WaiterCount = 64;

    public FutexQueueTests()
    {
        _waiters = (FutexWaiter*)NativeMemory.AllocZeroed((nuint)(WaiterCount * sizeof(FutexWaiter)));
        s_base = (long)_waiters;
        s_woken.Clear();
        s_queuedWhenWoken = false;
    }

    public void Dispose() => NativeMemory.Free(_waiters);

    // Owner is the waiter itself, so the callback can check that the waiter left the queue first.
    private static void OnWoken(void* owner)
    {
        var waiter = (FutexWaiter*)owner;
        s_queuedWhenWoken |= waiter->Queued;
        s_woken.Add(Id(waiter));
    }

    private static long s_base;
    private static long Id(FutexWaiter* waiter) => ((long)waiter - s_base) / sizeof(FutexWaiter);

    private FutexWaiter* Waiter(int id, ulong key, uint bitset = Any)
    {
        FutexWaiter* w = &_waiters[id];
        w->Key = key;
        w->Bitset = bitset;
        w->Owner = w;
        return w;
    }

    private static (ulong, ulong) KeysInOneBucket()
    {
        ulong a = 0x7f0000001000;
        for (ulong b = a + 4; ; b += 4)
            if (FutexQueue.BucketOf(b) == FutexQueue.BucketOf(a)) return (a, b);
    }

    private static (ulong, ulong) KeysInTwoBuckets()
    {
        ulong a = 0x7f0000001000;
        for (ulong b = a + 4; ; b += 4)
            if (FutexQueue.BucketOf(b) != FutexQueue.BucketOf(a)) return (a, b);
    }

    [Fact]
    public void Wake_wakes_oldest_first()
    {
        var queue = new FutexQueue();
        for (int i = 0; i < 5; i++) Assert.True(queue.Enqueue(Waiter(i, 0x1000)));
        Assert.Equal(5, queue.Waiting(0x1000));
        Assert.Equal(2, queue.Wake(0x1000, 2, Any, &OnWoken));
        Assert.Equal(new long[] { 0, 1 }, s_woken);
        Assert.Equal(3, queue.Wake(0x1000, int.MaxValue, Any, &OnWoken));
        Assert.Equal(new long[] { 0, 1, 2, 3, 4 }, s_woken);
        Assert.False(s_queuedWhenWoken);
        Assert.Equal(0, queue.Waiting(0x1000));
    }

    [Fact]
    public void Wake_returns_how_many_it_woke_when_fewer_wait()
    {
        var queue = new FutexQueue();
        queue.Enqueue(Waiter(0, 0x1000));
        Assert.Equal(1, queue.Wake(0x1000, 10, Any, &OnWoken));
        Assert.Equal(0, queue.Wake(0x1000, 10, Any, &OnWoken));
        Assert.Equal(0, queue.Wake(0x2000, 10, Any, null));
    }

    [Fact]
    public void Wake_with_count_zero_wakes_one_like_Linux()
    {
        var queue = new FutexQueue();
        queue.Enqueue(Waiter(0, 0x1000));
        queue.Enqueue(Waiter(1, 0x1000));
        Assert.Equal(1, queue.Wake(0x1000, 0, Any, &OnWoken));
        Assert.Equal(new long[] { 0 }, s_woken);
    }

    [Fact]
    public void Wake_skips_waiters_whose_bitset_does_not_match()
    {
        var queue = new FutexQueue();
        queue.Enqueue(Waiter(0, 0x1000, 0b01));
        queue.Enqueue(Waiter(1, 0x1000, 0b10));
        queue.Enqueue(Waiter(2, 0x1000, 0b11));
        queue.Enqueue(Waiter(3, 0x1000, 0b10));
        Assert.Equal(2, queue.Wake(0x1000, 2, 0b10, &OnWoken));
        Assert.Equal(new long[] { 1, 2 }, s_woken);
        Assert.Equal(1, queue.Wake(0x1000, 5, 0b10, &OnWoken));
        Assert.Equal(new long[] { 1, 2, 3 }, s_woken);
        Assert.Equal(0, queue.Wake(0x1000, 5, 0, &OnWoken));
        Assert.Equal(1, queue.Wake(0x1000, 5, Any, &OnWoken));
        Assert.Equal(new long[] { 1, 2, 3, 0 }, s_woken);
    }

    [Fact]
    public void Keys_colliding_in_one_bucket_stay_separate()
    {
        var (a, b) = KeysInOneBucket();
        var queue = new FutexQueue();
        queue.Enqueue(Waiter(0, a));
        queue.Enqueue(Waiter(1, b));
        queue.Enqueue(Waiter(2, a));
        queue.Enqueue(Waiter(3, b));
        Assert.Equal(2, queue.Waiting(a));
        Assert.Equal(2, queue.Wake(b, 10, Any, &OnWoken));
        Assert.Equal(new long[] { 1, 3 }, s_woken);
        Assert.Equal(2, queue.Waiting(a));
        Assert.Equal(0, queue.Waiting(b));
        Assert.Equal(2, queue.Wake(a, 10, Any, &OnWoken));
        Assert.Equal(new long[] { 1, 3, 0, 2 }, s_woken);
    }

    [Fact]
    public void Remove_takes_a_waiter_out_and_is_idempotent()
    {
        var queue = new FutexQueue();
        FutexWaiter* w0 = Waiter(0, 0x1000), w1 = Waiter(1, 0x1000), w2 = Waiter(2, 0x1000);
        queue.Enqueue(w0); queue.Enqueue(w1); queue.Enqueue(w2);
        Assert.True(queue.Remove(w1));     // timed out
        Assert.False(w1->Queued);
        Assert.False(queue.Remove(w1));
        Assert.Equal(2, queue.Wake(0x1000, 10, Any, &OnWoken));
        Assert.Equal(new long[] { 0, 2 }, s_woken);
    }

    [Fact]
    public void Remove_after_wake_is_harmless()
    {
        var queue = new FutexQueue();
        FutexWaiter* w0 = Waiter(0, 0x1000), w1 = Waiter(1, 0x1000);
        queue.Enqueue(w0); queue.Enqueue(w1);
        queue.Wake(0x1000, 1, Any, &OnWoken);
        Assert.False(queue.Remove(w0));    // the timeout fired after the wake: nothing to do
        Assert.Equal(1, queue.Waiting(0x1000));
        Assert.True(queue.Enqueue(w0));    // and the thread can wait again
        Assert.Equal(2, queue.Wake(0x1000, 5, Any, &OnWoken));
        Assert.Equal(new long[] { 0, 1, 0 }, s_woken);
    }

    [Fact]
    public void Enqueue_of_a_queued_waiter_is_refused()
    {
        var queue = new FutexQueue();
        FutexWaiter* w = Waiter(0, 0x1000);
        Assert.True(queue.Enqueue(w));
        Assert.False(queue.Enqueue(w));
        Assert.Equal(1, queue.Waiting(0x1000));
    }

    [Fact]
    public void Requeue_wakes_some_moves_the_rest_and_returns_both_counts()
    {
        var (from, to) = KeysInTwoBuckets();
        var queue = new FutexQueue();
        for (int i = 0; i < 5; i++) queue.Enqueue(Waiter(i, from));
        queue.Enqueue(Waiter(10, to));
        // pthread_cond_broadcast: wake one, requeue all others onto the mutex.
        Assert.Equal(5, queue.Requeue(from, to, 1, int.MaxValue, &OnWoken));
        Assert.Equal(new long[] { 0 }, s_woken);
        Assert.Equal(0, queue.Waiting(from));
        Assert.Equal(5, queue.Waiting(to));
        for (int i = 1; i < 5; i++) Assert.Equal(to, _waiters[i].Key);
        // The moved waiters queue behind the one already waiting on `to`.
        queue.Wake(to, int.MaxValue, Any, &OnWoken);
        Assert.Equal(new long[] { 0, 10, 1, 2, 3, 4 }, s_woken);
    }

    [Fact]
    public void Requeue_limits_how_many_it_moves()
    {
        var (from, to) = KeysInTwoBuckets();
        var queue = new FutexQueue();
        for (int i = 0; i < 6; i++) queue.Enqueue(Waiter(i, from));
        Assert.Equal(4, queue.Requeue(from, to, 2, 2, &OnWoken));
        Assert.Equal(new long[] { 0, 1 }, s_woken);
        Assert.Equal(2, queue.Waiting(from));
        Assert.Equal(2, queue.Waiting(to));
        Assert.Equal(0, queue.Requeue(from, to, 0, 0, &OnWoken));
        Assert.Equal(2, queue.Requeue(from, to, 0, 10, &OnWoken));
        queue.Wake(to, int.MaxValue, Any, &OnWoken);
        Assert.Equal(new long[] { 0, 1, 2, 3, 4, 5 }, s_woken);
    }

    [Fact]
    public void Requeue_ignores_bitsets_like_Linux()
    {
        var (from, to) = KeysInTwoBuckets();
        var queue = new FutexQueue();
        queue.Enqueue(Waiter(0, from, 0b01));
        queue.Enqueue(Waiter(1, from, 0b10));
        Assert.Equal(2, queue.Requeue(from, to, 1, 1, &OnWoken));
        Assert.Equal(new long[] { 0 }, s_woken);
        Assert.Equal(1, queue.Waiting(to));
    }

    [Fact]
    public void Requeue_within_one_bucket_and_onto_the_same_key_terminates()
    {
        var (a, b) = KeysInOneBucket();
        var queue = new FutexQueue();
        for (int i = 0; i < 4; i++) queue.Enqueue(Waiter(i, a));
        Assert.Equal(4, queue.Requeue(a, b, 1, 100, &OnWoken));
        Assert.Equal(3, queue.Waiting(b));
        Assert.Equal(3, queue.Requeue(b, b, 0, 100, &OnWoken));
        Assert.Equal(3, queue.Waiting(b));
        Assert.Equal(3, queue.Wake(b, 10, Any, &OnWoken));
        Assert.Equal(new long[] { 0, 1, 2, 3 }, s_woken);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Random_operations_match_a_list_model(int seed)
    {
        var (a, b) = KeysInOneBucket();
        var (_, c) = KeysInTwoBuckets();
        ulong[] keys = { a, b, c };
        var model = new List<(int Id, ulong Key, uint Bits)>();   // every waiter, oldest first
        var queue = new FutexQueue();
        PropertyRun.Steps(seed, 5000, (random, step) =>
        {
            s_woken.Clear();
            int id = random.Next(WaiterCount);
            ulong key = keys[random.Next(3)], other = keys[random.Next(3)];
            uint bits = (uint)random.Next(1, 4);
            int n = random.Next(0, 4), m = random.Next(0, 4);
            switch (random.Next(4))
            {
                case 0:
                {
                    bool queued = model.Any(w => w.Id == id);
                    if (!queued) { Waiter(id, key, bits); model.Add((id, key, bits)); }
                    Assert.Equal(!queued, queue.Enqueue(&_waiters[id]));
                    break;
                }
                case 1:
                    Assert.Equal(model.RemoveAll(w => w.Id == id) == 1, queue.Remove(&_waiters[id]));
                    break;
                case 2:
                {
                    var expected = model.Where(w => w.Key == key && (w.Bits & bits) != 0).Take(Math.Max(n, 1)).ToList();
                    model.RemoveAll(expected.Contains);
                    Assert.Equal(expected.Count, queue.Wake(key, n, bits, &OnWoken));
                    Assert.Equal(expected.Select(w => (long)w.Id), s_woken);
                    break;
                }
                default:
                {
                    var matching = model.Where(w => w.Key == key).ToList();
                    var woken = matching.Take(n).ToList();
                    var moved = matching.Skip(n).Take(m).ToList();
                    model.RemoveAll(woken.Contains);
                    int result = queue.Requeue(key, other, n, m, &OnWoken);
                    Assert.Equal(woken.Count + moved.Count, result);
                    Assert.Equal(woken.Select(w => (long)w.Id), s_woken);
                    // Across buckets the moved waiters go to the end; within one they keep their place.
                    bool sameBucket = FutexQueue.BucketOf(key) == FutexQueue.BucketOf(other);
                    foreach (var w in moved)
                    {
                        int at = model.FindIndex(x => x.Id == w.Id);
                        if (sameBucket) model[at] = (w.Id, other, w.Bits);
                        else { model.RemoveAt(at); model.Add((w.Id, other, w.Bits)); }
                    }
                    break;
                }
            }
            foreach (ulong k in keys) Assert.Equal(model.Count(w => w.Key == k), queue.Waiting(k));
            Assert.False(s_queuedWhenWoken, "a waiter was still queued when its owner was woken");
            // Each waiter's own links agree with the model: queued exactly when the model holds it,
            // unlinked when not, and a queued one's neighbours point back at it.
            for (int i = 0; i < WaiterCount; i++)
            {
                FutexWaiter* w = &_waiters[i];
                bool inModel = model.Any(m => m.Id == i);
                Assert.True(w->Queued == inModel, $"waiter {i}: Queued={w->Queued}, model {inModel}");
                if (!w->Queued) Assert.True(w->Next == null && w->Prev == null, $"waiter {i} is off the queue but still linked");
                else
                {
                    if (w->Next != null) Assert.True(w->Next->Prev == w, $"waiter {i}: next does not point back");
                    if (w->Prev != null) Assert.True(w->Prev->Next == w, $"waiter {i}: prev does not point forward");
                }
            }
        });
        // Drain: each key's queue is in the model's order.
        foreach (ulong k in keys)
        {
            s_woken.Clear();
            queue.Wake(k, int.MaxValue, Any, &OnWoken);
            Assert.Equal(model.Where(w => w.Key == k).Select(w => (long)w.Id), s_woken);
        }
    }
}
