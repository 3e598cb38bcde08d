using Libra.Memory;
using Libra.Threads;
using Libra.Time;

namespace Libra.Shims
{
    // timerfd_create, timerfd_settime, timerfd_gettime (fs/timerfd.c): a timer as a file. A read
    // takes the number of expirations since the last read as 8 bytes, sleeping while there are none
    // (EAGAIN when non-blocking), and poll, select and epoll see it readable while there are some.
    // As Linux, a periodic timer is re-armed by the read (or timerfd_gettime) that consumes its
    // expiry, and the periods that passed meanwhile are counted then.
    internal static unsafe class TimerFd
    {
        private const int TFD_TIMER_ABSTIME = 1, TFD_TIMER_CANCEL_ON_SET = 2;

        private struct TimerFile
        {
            internal IntervalTimer Timer;
            internal int Clock;
            internal ulong Ticks;       // expirations not yet read
            internal bool Expired;      // the deadline passed and the timer waits for a read to go on
            internal PollQueue Queue;
        }

        private static FileOperations* s_ops;

        internal static void Initialize()
        {
            s_ops = FileOperations.New();
            s_ops->Read = &Read;
            s_ops->Poll = &Poll;
            s_ops->Queue = &Queue;
            s_ops->Release = &Release;
        }

        // timerfd_create(clock, flags)
        internal static long Create(SyscallArgs* a)
        {
            int clock = (int)a->A0, flags = (int)a->A1;
            if ((flags & ~(FileTable.O_NONBLOCK | FileTable.O_CLOEXEC)) != 0) return -Errno.EINVAL;
            if (clock != TimeCalls.CLOCK_REALTIME && clock != TimeCalls.CLOCK_MONOTONIC && clock != TimeCalls.CLOCK_BOOTTIME &&
                clock != TimeCalls.CLOCK_REALTIME_ALARM && clock != TimeCalls.CLOCK_BOOTTIME_ALARM) return -Errno.EINVAL;
            var timer = (TimerFile*)KernelHeap.TryAllocateZeroed((ulong)sizeof(TimerFile));
            // An anonymous inode, mode 0600, as eventfd's.
            OpenFile* file = timer == null ? null : FileTable.TryNew(FileKind.TimerFd, s_ops, FileTable.O_RDWR | (flags & FileTable.O_NONBLOCK), 0x180);
            if (file == null) { KernelHeap.Free(timer); return -Errno.ENFILE; }
            timer->Clock = clock;
            file->Object = timer;
            file->Inode = 1;
            return FileTable.AllocateNew(file, (flags & FileTable.O_CLOEXEC) != 0);
        }

        private static TimerFile* Of(int fd)
        {
            OpenFile* file = FileTable.Use(fd);
            return file != null && file->Kind == FileKind.TimerFd ? (TimerFile*)file->Object : null;
        }

        private static void Expire(Timer* entry)
        {
            var timer = (TimerFile*)entry->Owner;
            timer->Expired = true;
            timer->Ticks++;
            timer->Queue.Notify(PollEvents.In | PollEvents.RdNorm);
        }

        // A periodic timer whose expiry is being consumed goes on from its next period after now;
        // the periods it passed beyond the one already counted are added to Ticks.
        private static void GoOn(TimerFile* timer)
        {
            if (!timer->Expired) return;
            timer->Expired = false;
            ulong periods = timer->Timer.Forward(Clock.Nanoseconds(), queue: true);
            if (periods > 1) timer->Ticks += periods - 1;
        }

        // timerfd_settime(fd, flags, new, old)
        internal static long SetTime(SyscallArgs* a)
        {
            int flags = (int)a->A1;
            if ((flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET)) != 0) return -Errno.EINVAL;
            long error = TimeCalls.ReadItimerspec(a->A2, out ulong value, out ulong interval);
            if (error != 0) return error;
            if (FileTable.Get((int)a->A0) == null) return -Errno.EBADF;
            TimerFile* timer = Of((int)a->A0);
            if (timer == null) return -Errno.EINVAL;
            Current(timer, out ulong oldValue, out ulong oldInterval);
            timer->Ticks = 0;
            timer->Expired = false;
            if (value == 0) timer->Timer.Disarm();
            else
            {
                ulong deadline = TimeCalls.TimerDeadline(timer->Clock, (flags & TFD_TIMER_ABSTIME) != 0, value);
                timer->Timer.Arm(deadline, interval, &Expire, timer);
            }
            if (a->A3 != 0 && !TimeCalls.WriteItimerspec(a->A3, oldValue, oldInterval)) return -Errno.EFAULT;
            return 0;
        }

        // timerfd_gettime(fd, value)
        internal static long GetTime(SyscallArgs* a)
        {
            if (FileTable.Get((int)a->A0) == null) return -Errno.EBADF;
            TimerFile* timer = Of((int)a->A0);
            if (timer == null) return -Errno.EINVAL;
            Current(timer, out ulong value, out ulong interval);
            return TimeCalls.WriteItimerspec(a->A1, value, interval) ? 0 : -Errno.EFAULT;
        }

        // The time left (0 once passed) and the period; a periodic timer goes on first. Timers that
        // are due fire first, so a late timer interrupt (a busy host under TCG) shows no stale state.
        private static void Current(TimerFile* timer, out ulong value, out ulong interval)
        {
            Timers.ExpireDue();
            if (timer->Timer.Interval != 0) GoOn(timer);
            interval = timer->Timer.Interval;
            long left = timer->Timer.Armed ? timer->Timer.Remaining(Clock.Nanoseconds()) : 0;
            value = left > 0 ? (ulong)left : 0;
        }

        private static long Read(OpenFile* file, byte* buffer, ulong length, ulong offset)
        {
            if (length < 8) return -Errno.EINVAL;
            var timer = (TimerFile*)file->Object;
            Timers.ExpireDue();
            while (timer->Ticks == 0)
            {
                if (file->IsNonBlocking) return -Errno.EAGAIN;
                if (timer->Queue.Wait(PollEvents.In, 0) == WakeReason.Interrupted) return -Errno.ERESTARTSYS;
            }
            GoOn(timer);
            *(ulong*)buffer = timer->Ticks;
            timer->Ticks = 0;
            return 8;
        }

        private static uint Poll(OpenFile* file) => ((TimerFile*)file->Object)->Ticks != 0 ? PollEvents.In | PollEvents.RdNorm : 0;

        private static PollQueue* Queue(OpenFile* file) => &((TimerFile*)file->Object)->Queue;

        private static void Release(OpenFile* file)
        {
            ((TimerFile*)file->Object)->Timer.Disarm();
            KernelHeap.Free(file->Object);
        }
    }
}
