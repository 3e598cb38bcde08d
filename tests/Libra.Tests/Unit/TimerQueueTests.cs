using System.Runtime.InteropServices;
using Libra.Time;
using Xunit;
using Timer = Libra.Time.Timer;

namespace Libra.Tests.Unit;

// The kernel's timer queue (LibraKernel/Time/TimerQueue.cs), compiled from the kernel's own file.
// Tests in one class run one after another, so the static list of expired timers is not shared.
public unsafe class TimerQueueTests : IDisposable
{
    private const int TimerCount = 32;
    private static readonly List<int> s_expired = new();
    private static bool s_queuedWhenExpired;
    private static Timer* s_base;
    private static TimerQueue* s_queue;
    private readonly Timer* _timers;
    private readonly TimerQueue* _queue;

    public TimerQueueTests()
    {
        _timers = (Timer*)NativeMemory.AllocZeroed((nuint)(TimerCount * sizeof(Timer)));
        _queue = (TimerQueue*)NativeMemory.AllocZeroed((nuint)sizeof(TimerQueue));
        s_base = _timers;
        s_queue = _queue;
        s_expired.Clear();
        s_queuedWhenExpired = false;
        for (int i = 0; i < TimerCount; i++) _timers[i].Expire = &OnExpired;
    }

    public void Dispose()
    {
        NativeMemory.Free(_timers);
        NativeMemory.Free(_queue);
    }

    private static void OnExpired(Timer* timer)
    {
        s_queuedWhenExpired |= timer->Queued;
        s_expired.Add((int)(timer - s_base));
    }

    // Re-arms itself 100 ns later, as a periodic timer (setitimer, timerfd) will.
    private static void OnExpiredRearm(Timer* timer)
    {
        s_expired.Add((int)(timer - s_base));
        if (s_expired.Count < 3) s_queue->Add(timer, timer->Deadline + 100);
    }

    [Fact]
    public void Empty_queue_has_no_earliest_deadline_and_expires_nothing()
    {
        Assert.Equal(TimerQueue.Never, _queue->Earliest);
        Assert.Equal(0, _queue->ExpireUpTo(ulong.MaxValue - 1));
        Assert.Equal(0, _queue->Count);
    }

    [Fact]
    public void Timers_expire_in_deadline_order_whatever_order_they_were_added_in()
    {
        ulong[] deadlines = [500, 100, 900, 300, 700, 200];
        for (int i = 0; i < deadlines.Length; i++) _queue->Add(&_timers[i], deadlines[i]);
        Assert.Equal(100ul, _queue->Earliest);
        Assert.Equal(6, _queue->ExpireUpTo(1000));
        Assert.Equal([1, 5, 3, 0, 4, 2], s_expired);
        Assert.False(s_queuedWhenExpired, "a timer was still queued when its Expire ran");
        Assert.Equal(TimerQueue.Never, _queue->Earliest);
    }

    [Fact]
    public void Equal_deadlines_expire_in_the_order_they_were_added()
    {
        for (int i = 0; i < 5; i++) _queue->Add(&_timers[i], 42);
        _queue->ExpireUpTo(42);
        Assert.Equal([0, 1, 2, 3, 4], s_expired);
    }

    [Fact]
    public void Only_timers_at_or_before_now_expire_the_rest_stay_queued()
    {
        _queue->Add(&_timers[0], 100);
        _queue->Add(&_timers[1], 200);
        _queue->Add(&_timers[2], 201);
        Assert.Equal(2, _queue->ExpireUpTo(200));
        Assert.Equal([0, 1], s_expired);
        Assert.Equal(201ul, _queue->Earliest);
        Assert.True(_timers[2].Queued);
        Assert.Equal(1, _queue->Count);
    }

    [Fact]
    public void A_cancelled_timer_never_expires_and_cancelling_twice_is_harmless()
    {
        _queue->Add(&_timers[0], 100);
        _queue->Add(&_timers[1], 200);
        _queue->Add(&_timers[2], 300);
        Assert.True(_queue->Remove(&_timers[1]));
        Assert.False(_queue->Remove(&_timers[1]));
        Assert.True(_queue->Remove(&_timers[0]));
        Assert.Equal(300ul, _queue->Earliest);
        _queue->ExpireUpTo(1000);
        Assert.Equal([2], s_expired);
        Assert.False(_queue->Remove(&_timers[2]), "an expired timer is no longer queued");
    }

    [Fact]
    public void Adding_a_queued_timer_again_moves_it_to_its_new_deadline()
    {
        _queue->Add(&_timers[0], 100);
        _queue->Add(&_timers[1], 200);
        _queue->Add(&_timers[0], 300);
        Assert.Equal(2, _queue->Count);
        Assert.Equal(200ul, _queue->Earliest);
        _queue->ExpireUpTo(1000);
        Assert.Equal([1, 0], s_expired);
    }

    [Fact]
    public void An_expiring_timer_may_queue_itself_again_for_a_later_deadline()
    {
        _timers[0].Expire = &OnExpiredRearm;
        _queue->Add(&_timers[0], 100);
        Assert.Equal(1, _queue->ExpireUpTo(150));
        Assert.Equal(200ul, _queue->Earliest);
        Assert.Equal(2, _queue->ExpireUpTo(1000));
        Assert.Equal([0, 0, 0], s_expired);
        Assert.Equal(0, _queue->Count);
    }

    [Fact]
    public void Many_interleaved_adds_and_removes_keep_the_queue_sorted()
    {
        var random = new Random(12);
        var expected = new SortedSet<(ulong, int)>();
        for (int round = 0; round < 2000; round++)
        {
            int i = random.Next(TimerCount);
            if (_timers[i].Queued && random.Next(3) == 0)
            {
                expected.Remove((_timers[i].Deadline, i));
                Assert.True(_queue->Remove(&_timers[i]));
            }
            else
            {
                if (_timers[i].Queued) expected.Remove((_timers[i].Deadline, i));
                ulong deadline = (ulong)random.Next(1, 1_000_000) * (ulong)TimerCount + (ulong)i;   // distinct per timer
                _queue->Add(&_timers[i], deadline);
                expected.Add((deadline, i));
            }
            Assert.Equal(expected.Count, _queue->Count);
            Assert.Equal(expected.Count == 0 ? TimerQueue.Never : expected.Min.Item1, _queue->Earliest);
        }
        _queue->ExpireUpTo(ulong.MaxValue - 1);
        Assert.Equal(expected.Select(e => e.Item2), s_expired);
    }
}
