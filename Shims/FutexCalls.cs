using Libra.Memory;
using Libra.Threads;

namespace Libra.Shims
{
    // futex(2): WAIT/WAKE (with bitsets), REQUEUE and CMP_REQUEUE, relative and absolute timeouts on
    // CLOCK_MONOTONIC or CLOCK_REALTIME. One CPU and a kernel that is never preempted make the
    // check-then-sleep atomic with respect to every waker.
    internal static unsafe class FutexCalls
    {
        private const int FUTEX_WAIT = 0, FUTEX_WAKE = 1, FUTEX_REQUEUE = 3, FUTEX_CMP_REQUEUE = 4,
            FUTEX_WAIT_BITSET = 9, FUTEX_WAKE_BITSET = 10;
        private const int FUTEX_PRIVATE_FLAG = 128, FUTEX_CLOCK_REALTIME = 256;

        private static FutexQueue s_queue;

        // futex(uaddr, op, val, timeout | val2, uaddr2, val3)
        internal static long Futex(SyscallArgs* a)
        {
            ulong address = a->A0;
            int op = (int)a->A1, command = op & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
            uint value = (uint)a->A2;
            if ((address & 3) != 0) return -Errno.EINVAL;
            switch (command)
            {
                case FUTEX_WAIT:
                    return Wait(address, value, a->A3, absolute: false, realtime: false, FutexQueue.MatchAny);
                case FUTEX_WAIT_BITSET:
                    if ((uint)a->A5 == 0) return -Errno.EINVAL;
                    return Wait(address, value, a->A3, absolute: true, realtime: (op & FUTEX_CLOCK_REALTIME) != 0, (uint)a->A5);
                case FUTEX_WAKE:
                    return Wake(address, (int)value, FutexQueue.MatchAny);
                case FUTEX_WAKE_BITSET:
                    if ((uint)a->A5 == 0) return -Errno.EINVAL;
                    return Wake(address, (int)value, (uint)a->A5);
                case FUTEX_REQUEUE:
                case FUTEX_CMP_REQUEUE:
                    if (command == FUTEX_CMP_REQUEUE)
                    {
                        uint current;
                        if (!UserMemory.CopyFromUser(&current, address, 4)) return -Errno.EFAULT;
                        if (current != (uint)a->A5) return -Errno.EAGAIN;
                    }
                    fixed (FutexQueue* queue = &s_queue)
                        return queue->Requeue(address, a->A4, ClampCount(value), ClampCount((uint)a->A3), &OnWoken);
                default:
                    return -Errno.ENOSYS;
            }
        }

        internal static int WakeAddress(ulong address, int count) => (int)Wake(address, count, FutexQueue.MatchAny);

        private static long Wake(ulong address, int count, uint bitset)
        {
            fixed (FutexQueue* queue = &s_queue) return queue->Wake(address, count <= 0 ? 0 : count, bitset, &OnWoken);
        }

        private static long Wait(ulong address, uint expected, ulong timeoutAddress, bool absolute, bool realtime, uint bitset)
        {
            uint current;
            if (!UserMemory.CopyFromUser(&current, address, 4)) return -Errno.EFAULT;
            if (current != expected) return -Errno.EAGAIN;
            ulong deadline = 0;
            if (timeoutAddress != 0)
            {
                long result = TimeCalls.Deadline(timeoutAddress, absolute, realtime, out deadline);
                if (result != 0) return result;
            }
            Thread* self = Scheduler.Current;
            self->Futex.Key = address;
            self->Futex.Bitset = bitset;
            self->Futex.Owner = self;
            fixed (FutexQueue* queue = &s_queue)
            {
                queue->Enqueue(&self->Futex);
                WakeReason reason = Scheduler.Block(deadline);
                if (self->Futex.Queued) queue->Remove(&self->Futex);
                return reason switch
                {
                    WakeReason.Woken => 0,
                    WakeReason.TimedOut => -Errno.ETIMEDOUT,
                    // Without a timeout the wait restarts under SA_RESTART; with one it ends with
                    // EINTR after a handler (futex_wait: ERESTARTSYS, or a restart block).
                    _ => deadline == 0 ? -Errno.ERESTARTSYS : -Errno.EINTR,
                };
            }
        }

        private static int ClampCount(uint count) => count > int.MaxValue ? int.MaxValue : (int)count;

        private static void OnWoken(void* owner) => Scheduler.Wake((Thread*)owner, WakeReason.Woken);
    }
}
