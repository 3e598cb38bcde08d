using System.Runtime.InteropServices;
using Libra.Shims;
using Xunit;

namespace Libra.Tests.Unit;

// epoll_wait's rules for an instance's ready list (Shims/Files/EpollReadyList.cs; epoll(7), Linux's
// ep_send_events), the ones a lost edge would come from: an edge-triggered item is reported once per
// notification and never lost while its file stays ready behind a full `max`; a level-triggered
// one stays; a one-shot one is disarmed until re-armed; a stale notification reports nothing; an
// item that cannot be copied out stays ready.
public sealed unsafe class EpollReadyListTests : IDisposable
{
    private const uint In = 0x001, Out = 0x004, ET = EpollReadyList.EPOLLET, OneShot = EpollReadyList.EPOLLONESHOT;

    // An item as the tests see it: the link first, then what its file reports now.
    private struct Item
    {
        internal ReadyLink Link;
        internal uint Mask;
    }

    private static readonly List<(int Index, uint Mask, ulong Data)> s_emitted = [];
    private static int s_failAt = -1;
    private static Action? s_duringEmit;

    private readonly Item* _items = (Item*)NativeMemory.AllocZeroed(8, (nuint)sizeof(Item));
    private EpollReadyList _list;

    public EpollReadyListTests()
    {
        s_emitted.Clear();
        s_failAt = -1;
        s_duringEmit = null;
    }

    public void Dispose() => NativeMemory.Free(_items);

    private static uint MaskOf(ReadyLink* link) => ((Item*)link)->Mask & (((Item*)link)->Link.Events | 0x018);

    private static bool Emit(ulong context, int index, uint mask, ulong data)
    {
        if (index == s_failAt) return false;
        s_emitted.Add((index, mask, data));
        s_duringEmit?.Invoke();
        return true;
    }

    private ReadyLink* Watch(int i, uint events, uint mask)
    {
        _items[i].Link.Events = events;
        _items[i].Link.Data = (ulong)(100 + i);
        _items[i].Mask = mask;
        return &_items[i].Link;
    }

    private ulong[] Harvest(int max = 16)
    {
        s_emitted.Clear();
        fixed (EpollReadyList* list = &_list) list->Harvest(max, &MaskOf, &Emit, 0);
        return s_emitted.Select(e => e.Data).ToArray();
    }

    [Fact]
    public void An_item_notified_many_times_is_on_the_list_once_and_reported_once()
    {
        ReadyLink* a = Watch(0, In | ET, In);
        _list.Add(a);
        _list.Add(a);
        _list.Add(a);
        Assert.Equal(1, _list.Count);
        Assert.Equal([100ul], Harvest());
    }

    [Fact]
    public void An_edge_triggered_item_is_reported_again_only_after_its_file_notifies_again()
    {
        ReadyLink* a = Watch(0, In | Out | ET, In | Out);
        _list.Add(a);
        Assert.Equal([100ul], Harvest());
        Assert.Empty(Harvest());            // still readable, but no new edge: nothing (EPOLLET)
        _list.Add(a);                       // more bytes arrive: a new edge
        Assert.Equal([100ul], Harvest());
        Assert.Equal(In | Out, s_emitted[0].Mask);
    }

    [Fact]
    public void A_level_triggered_item_is_reported_while_its_file_is_ready_then_leaves_the_list()
    {
        ReadyLink* a = Watch(0, In, In);
        _list.Add(a);
        Assert.Equal([100ul], Harvest());
        Assert.Equal([100ul], Harvest());
        _items[0].Mask = 0;                 // the bytes were read
        Assert.Empty(Harvest());
        Assert.Equal(0, _list.Count);
    }

    [Fact]
    public void A_one_shot_item_is_disarmed_after_one_report_until_it_is_re_armed()
    {
        ReadyLink* a = Watch(0, In | OneShot, In);
        _list.Add(a);
        Assert.Equal([100ul], Harvest());
        Assert.True(a->Disarmed);
        _list.Add(a);
        Assert.Empty(Harvest());
        a->Disarmed = false;                // EPOLL_CTL_MOD
        _list.Add(a);
        Assert.Equal([100ul], Harvest());
    }

    [Fact]
    public void A_stale_notification_reports_nothing_and_reports_only_the_events_asked_for()
    {
        ReadyLink* a = Watch(0, In | ET, 0);
        ReadyLink* b = Watch(1, In | ET, In | Out);
        _list.Add(a);
        _list.Add(b);
        Assert.Equal([101ul], Harvest());
        Assert.Equal(In, s_emitted[0].Mask);
        Assert.Equal(0, _list.Count);
    }

    [Fact]
    public void Items_beyond_max_are_reported_first_next_time_before_level_triggered_ones_reported_now()
    {
        ReadyLink* lt = Watch(0, In, In);
        ReadyLink* b = Watch(1, In | ET, In);
        ReadyLink* c = Watch(2, In | ET, In);
        _list.Add(lt);
        _list.Add(b);
        _list.Add(c);
        Assert.Equal([100ul, 101ul], Harvest(max: 2));
        Assert.Equal([102ul, 100ul], Harvest(max: 2));
        Assert.Equal([100ul], Harvest(max: 2));
    }

    [Fact]
    public void An_item_notified_during_a_harvest_is_kept_for_the_next_one_and_an_edge_is_not_lost()
    {
        ReadyLink* a = Watch(0, In | ET, In);
        ReadyLink* b = Watch(1, In | ET, In);
        ReadyLink* lt = Watch(2, In, In);
        _list.Add(a);
        _list.Add(lt);
        bool once = false;
        s_duringEmit = () =>
        {
            if (once) return;
            once = true;
            _list.Add(b);   // a new file became ready while the first event was copied out
            _list.Add(a);   // and the first one's file notified again
        };
        Assert.Equal([100ul, 102ul], Harvest());
        // Those that notified meanwhile come first, then the level-triggered item; nothing is lost.
        s_duringEmit = null;
        Assert.Equal([101ul, 100ul, 102ul], Harvest());
    }

    [Fact]
    public void An_event_that_cannot_be_copied_out_stays_ready_and_only_a_first_failure_is_an_error()
    {
        ReadyLink* a = Watch(0, In | ET, In);
        ReadyLink* b = Watch(1, In | ET, In);
        _list.Add(a);
        _list.Add(b);
        s_failAt = 0;
        int count;
        fixed (EpollReadyList* list = &_list) count = list->Harvest(16, &MaskOf, &Emit, 0);
        Assert.Equal(-1, count);
        Assert.Equal(2, _list.Count);
        s_failAt = 1;
        fixed (EpollReadyList* list = &_list) count = list->Harvest(16, &MaskOf, &Emit, 0);
        Assert.Equal(1, count);
        Assert.Equal(1, _list.Count);
        s_failAt = -1;
        Assert.Equal([101ul], Harvest());
    }

    [Fact]
    public void Removing_an_item_from_the_middle_or_the_end_keeps_the_list_whole()
    {
        ReadyLink* a = Watch(0, In | ET, In);
        ReadyLink* b = Watch(1, In | ET, In);
        ReadyLink* c = Watch(2, In | ET, In);
        _list.Add(a);
        _list.Add(b);
        _list.Add(c);
        _list.Remove(b);
        _list.Remove(c);
        _list.Add(c);
        Assert.False(b->Ready);
        Assert.Equal([100ul, 102ul], Harvest());
    }
}
