namespace Libra.Time
{
    // A deadline with an optional period on the kernel's timer queue: what ITIMER_REAL, POSIX timers
    // and timerfds are made of. As Linux's hrtimer users do, a periodic timer is not re-armed when it
    // fires but when its expiry is consumed (its signal taken, its timerfd read), moved past now by
    // the periods that passed meanwhile (Rearm, TimerArithmetic.Forward), so a short period nobody
    // consumes costs one interrupt, not one per period.
    internal unsafe struct IntervalTimer
    {
        internal Timer Entry;
        internal ulong Expires;     // the current period's deadline, Clock nanoseconds
        internal ulong Interval;    // the period; 0 for a one-shot
        internal bool Armed;        // set and not disarmed; a fired one-shot stays armed until its owner says

        internal bool Queued => Entry.Queued;

        // Sets the timer for `deadline` and then every `interval` (0: once); `expire` runs from the
        // timer interrupt when a deadline passes. `queue` false keeps it off the queue (SIGEV_NONE:
        // nothing happens at expiry, only timer_gettime counts down).
        internal void Arm(ulong deadline, ulong interval, delegate*<Timer*, void> expire, void* owner, bool queue = true)
        {
            fixed (IntervalTimer* self = &this)
            {
                Timers.Cancel(&self->Entry);
                Expires = deadline;
                Interval = interval;
                Armed = true;
                if (queue) Timers.Start(&self->Entry, deadline, expire, owner);
                else { Entry.Expire = expire; Entry.Owner = owner; }
            }
        }

        internal void Disarm()
        {
            fixed (IntervalTimer* self = &this) Timers.Cancel(&self->Entry);
            Armed = false;
            Interval = 0;
        }

        // Moves a periodic timer whose deadline passed to its next one after `now`; how many periods
        // it moved (0 for a one-shot, a disarmed timer, or one still ahead). `queue` puts it back on
        // the timer queue.
        internal ulong Forward(ulong now, bool queue)
        {
            if (!Armed || Interval == 0 || Entry.Queued) return 0;
            ulong periods = TimerArithmetic.Forward(ref Expires, now, Interval);
            if (queue)
                fixed (IntervalTimer* self = &this) Timers.Start(&self->Entry, Expires, Entry.Expire, Entry.Owner);
            return periods;
        }

        // Nanoseconds until the deadline; 0 or less once it passed.
        internal long Remaining(ulong now) => (long)(Expires - now);
    }
}
