using Libra.Memory;
using Libra.Signals;
using Libra.Threads;
using Libra.Time;

namespace Libra.Shims
{
    // poll, ppoll, select and pselect6 over any descriptor: each file reports its readiness mask
    // (FileOperations.Poll), and the caller sleeps with one wait entry on every watched file's poll
    // queue until one of them announces a change, the timeout, or a signal (fs/select.c do_poll).
    internal static unsafe class PollCalls
    {
        // What select's three sets mean as poll events (fs/select.c POLLIN_SET, POLLOUT_SET, POLLEX_SET).
        private const uint ReadSet = PollEvents.In | PollEvents.RdNorm | PollEvents.RdBand | PollEvents.Hup | PollEvents.Err;
        private const uint WriteSet = PollEvents.Out | PollEvents.WrNorm | PollEvents.WrBand | PollEvents.Err;
        private const uint ExceptSet = PollEvents.Pri;
        // What a file that cannot poll (a regular file) always is (DEFAULT_POLLMASK).
        internal const uint DefaultMask = PollEvents.In | PollEvents.Out | PollEvents.RdNorm | PollEvents.WrNorm;
        private const ulong SigKillAndStop = (1ul << 8) | (1ul << 18);

        // One descriptor a call watches, with its wait entry.
        private struct Watch
        {
            internal int Fd;
            internal uint Events, Revents;
            internal OpenFile* File;
            internal PollEntry Entry;
        }

        // The readiness mask of an open file now.
        internal static uint Events(OpenFile* file) => file->Ops->Poll != null ? file->Ops->Poll(file) : DefaultMask;

        // poll(fds, nfds, timeout_ms)
        internal static long Poll(SyscallArgs* a)
        {
            int timeout = (int)a->A2;
            ulong deadline = timeout < 0 ? 0 : Clock.Nanoseconds() + (ulong)timeout * 1_000_000 + 1;
            return PollFds(a->A0, a->A1, deadline, timeout == 0);
        }

        // ppoll(fds, nfds, timeout_ts, sigmask, sigsetsize)
        internal static long Ppoll(SyscallArgs* a)
        {
            long error = TimeoutFromTimespec(a->A2, out ulong deadline, out bool immediate);
            if (error != 0) return error;
            error = MaskSignals(a->A3, a->A4, out ulong saved);
            if (error != 0) return error;
            long result = PollFds(a->A0, a->A1, deadline, immediate);
            RestoreSignals(a->A3, saved, result);
            return result;
        }

        private static long PollFds(ulong fds, ulong count, ulong deadline, bool immediate)
        {
            if (count > FileTable.MaxFiles) return -Errno.EINVAL;
            if (!UserMemory.IsAccessible(fds, count * 8, write: true)) return -Errno.EFAULT;
            Watch* watches = count == 0 ? null : (Watch*)KernelHeap.TryAllocateZeroed(count * (ulong)sizeof(Watch));
            if (count != 0 && watches == null) return -Errno.ENOMEM;     // do_sys_poll's poll_list
            // struct pollfd { int fd; short events, revents; }, each copied: the array may go away
            // while the call sleeps (then EFAULT, as do_sys_poll's failed copy back).
            ulong entry = 0;
            long result = 0;
            for (ulong i = 0; i < count && result == 0; i++)
            {
                if (UserMemory.CopyChecked(&entry, (void*)(fds + i * 8), 8) < 8) result = -Errno.EFAULT;
                watches[i].Fd = (int)entry;
                watches[i].Events = (ushort)(entry >> 32) | PollEvents.Always;
            }
            if (result == 0) result = Wait(watches, (int)count, deadline, immediate);
            for (ulong i = 0; result >= 0 && i < count; i++)
            {
                short revents = (short)watches[i].Revents;
                if (UserMemory.CopyChecked((void*)(fds + i * 8 + 6), &revents, 2) < 2) result = -Errno.EFAULT;
            }
            if (watches != null) KernelHeap.Free(watches);
            return result;
        }

        // select(nfds, readfds, writefds, exceptfds, timeval)
        internal static long Select(SyscallArgs* a)
        {
            ulong deadline = 0;
            bool immediate = false;
            if (a->A4 != 0)
            {
                long* tv = stackalloc long[2];
                if (!UserMemory.CopyFromUser(tv, a->A4, 16)) return -Errno.EFAULT;
                if (tv[0] < 0 || tv[1] < 0 || tv[1] >= 1_000_000) return -Errno.EINVAL;
                ulong ns = (ulong)tv[0] * 1_000_000_000 + (ulong)tv[1] * 1000;
                immediate = ns == 0;
                deadline = Clock.Nanoseconds() + ns + 1;
            }
            long result = SelectFds(a->Int0, a->A1, a->A2, a->A3, deadline, immediate);
            if (a->A4 != 0) WriteRemaining(a->A4, deadline, microseconds: true);
            return result;
        }

        // pselect6(nfds, readfds, writefds, exceptfds, timespec, { sigset*, size }*)
        internal static long Pselect6(SyscallArgs* a)
        {
            long error = TimeoutFromTimespec(a->A4, out ulong deadline, out bool immediate);
            if (error != 0) return error;
            ulong sigset = 0, sigsetSize = 0;
            if (a->A5 != 0)
            {
                ulong* pair = stackalloc ulong[2];
                if (!UserMemory.CopyFromUser(pair, a->A5, 16)) return -Errno.EFAULT;
                sigset = pair[0];
                sigsetSize = pair[1];
            }
            error = MaskSignals(sigset, sigsetSize, out ulong saved);
            if (error != 0) return error;
            long result = SelectFds(a->Int0, a->A1, a->A2, a->A3, deadline, immediate);
            RestoreSignals(sigset, saved, result);
            if (a->A4 != 0) WriteRemaining(a->A4, deadline, microseconds: false);
            return result;
        }

        private static long SelectFds(int nfds, ulong readAddress, ulong writeAddress, ulong exceptAddress, ulong deadline, bool immediate)
        {
            if (nfds < 0) return -Errno.EINVAL;
            if (nfds > FileTable.MaxFiles) nfds = FileTable.MaxFiles;
            ulong words = ((ulong)nfds + 63) / 64;
            const int Words = FileTable.MaxFiles / 64;
            ulong* sets = stackalloc ulong[3 * Words];
            ulong* addresses = stackalloc ulong[3];
            addresses[0] = readAddress; addresses[1] = writeAddress; addresses[2] = exceptAddress;
            for (int s = 0; s < 3; s++)
            {
                ulong* set = sets + s * Words;
                for (int w = 0; w < Words; w++) set[w] = 0;
                if (addresses[s] != 0 && !UserMemory.CopyFromUser(set, addresses[s], words * 8)) return -Errno.EFAULT;
                if (nfds % 64 != 0 && words > 0) set[words - 1] &= (1ul << (nfds % 64)) - 1;
            }
            int count = 0;
            for (int fd = 0; fd < nfds; fd++)
                if (((sets[fd / 64] | sets[Words + fd / 64] | sets[2 * Words + fd / 64]) & (1ul << (fd % 64))) != 0) count++;
            Watch* watches = count == 0 ? null : (Watch*)KernelHeap.TryAllocateZeroed((ulong)count * (ulong)sizeof(Watch));
            if (count != 0 && watches == null) return -Errno.ENOMEM;
            int n = 0;
            long result = 0;
            for (int fd = 0; fd < nfds && result == 0; fd++)
            {
                ulong bit = 1ul << (fd % 64);
                uint events = ((sets[fd / 64] & bit) != 0 ? ReadSet : 0) | ((sets[Words + fd / 64] & bit) != 0 ? WriteSet : 0) |
                    ((sets[2 * Words + fd / 64] & bit) != 0 ? ExceptSet : 0);
                if (events == 0) continue;
                if (FileTable.Get(fd) == null) result = -Errno.EBADF;
                watches[n].Fd = fd;
                watches[n].Events = events;
                n++;
            }
            if (result == 0) result = Wait(watches, count, deadline, immediate);
            if (result >= 0)
            {
                // Each set comes back with only its ready descriptors; the result counts bits, not descriptors.
                for (int s = 0; s < 3 * Words; s++) sets[s] = 0;
                result = 0;
                for (int i = 0; i < count; i++)
                {
                    int fd = watches[i].Fd;
                    ulong bit = 1ul << (fd % 64);
                    uint revents = watches[i].Revents;
                    if ((revents & ReadSet & watches[i].Events) != 0 && (watches[i].Events & PollEvents.In) != 0) { sets[fd / 64] |= bit; result++; }
                    if ((revents & WriteSet & watches[i].Events) != 0 && (watches[i].Events & PollEvents.Out) != 0) { sets[Words + fd / 64] |= bit; result++; }
                    if ((revents & ExceptSet & watches[i].Events) != 0) { sets[2 * Words + fd / 64] |= bit; result++; }
                }
                for (int s = 0; s < 3; s++)
                    if (addresses[s] != 0 && !UserMemory.CopyToUser(addresses[s], sets + s * Words, words * 8)) result = -Errno.EFAULT;
            }
            if (watches != null) KernelHeap.Free(watches);
            return result;
        }

        // The shared core: scan every watched file; with nothing ready, sleep on all their queues
        // and scan again. The number of ready entries, or -EINTR.
        private static long Wait(Watch* watches, int count, ulong deadline, bool immediate)
        {
            for (int i = 0; i < count; i++)
            {
                watches[i].File = FileTable.Get(watches[i].Fd);
                if (watches[i].File != null) FileTable.Hold(watches[i].File);
            }
            bool registered = false;
            long result;
            while (true)
            {
                int ready = 0;
                for (int i = 0; i < count; i++)
                {
                    Watch* watch = &watches[i];
                    if (watch->Fd < 0) watch->Revents = 0;
                    else if (watch->File == null) watch->Revents = PollEvents.Nval;
                    else watch->Revents = Events(watch->File) & watch->Events;
                    if (watch->Revents != 0) ready++;
                }
                if (ready > 0 || immediate) { result = ready; break; }
                if (!registered)
                {
                    for (int i = 0; i < count; i++)
                    {
                        Watch* watch = &watches[i];
                        if (watch->File == null || watch->File->Ops->Queue == null) continue;
                        watch->Entry.Events = watch->Events;
                        watch->Entry.Thread = Scheduler.Current;
                        watch->File->Ops->Queue(watch->File)->Add(&watch->Entry);
                    }
                    registered = true;
                }
                WakeReason reason = Scheduler.Block(deadline);
                if (reason == WakeReason.Interrupted) { result = -Errno.EINTR; break; }
                if (reason == WakeReason.TimedOut) immediate = true;   // one last scan, then 0
            }
            for (int i = 0; i < count; i++)
            {
                PollQueue.Remove(&watches[i].Entry);
                if (watches[i].File != null) FileTable.Put(watches[i].File);
            }
            return result;
        }

        // A relative struct timespec timeout (null: none) as a Clock deadline.
        internal static long TimeoutFromTimespec(ulong address, out ulong deadline, out bool immediate)
        {
            deadline = 0;
            immediate = false;
            if (address == 0) return 0;
            long error = TimeCalls.Deadline(address, absolute: false, realtime: false, out deadline);
            if (error != 0) return error;
            immediate = deadline <= Clock.Nanoseconds() + 1;
            return 0;
        }

        // Linux writes the time left back into select's timeval and pselect6's timespec.
        private static void WriteRemaining(ulong address, ulong deadline, bool microseconds)
        {
            ulong now = Clock.Nanoseconds();
            ulong left = deadline > now ? deadline - now : 0;
            long* value = stackalloc long[2];
            value[0] = (long)(left / 1_000_000_000);
            value[1] = (long)(left % 1_000_000_000 / (microseconds ? 1000ul : 1ul));
            UserMemory.CopyToUser(address, value, 16);
        }

        // The signal mask of ppoll, pselect6 and epoll_pwait, in force while the call waits. A
        // signal it lets in ends the wait with EINTR and its handler runs under that mask; the
        // caller's own mask comes back with the handler's return, as after rt_sigsuspend
        // (RestoreSignals; Linux's restore_saved_sigmask_unless).
        internal static long MaskSignals(ulong sigsetAddress, ulong size, out ulong saved)
        {
            Thread* self = Scheduler.Current;
            saved = self->BlockedSignals;
            if (sigsetAddress == 0) return 0;
            if (size != 8) return -Errno.EINVAL;
            ulong mask;
            if (!UserMemory.CopyFromUser(&mask, sigsetAddress, 8)) return -Errno.EFAULT;
            self->BlockedSignals = mask & ~SigKillAndStop;
            return 0;
        }

        internal static void RestoreSignals(ulong sigsetAddress, ulong saved, long result)
        {
            if (sigsetAddress == 0) return;
            if (result != -Errno.EINTR) Scheduler.Current->BlockedSignals = saved;
            else SignalDelivery.RestoreMaskOnReturn(saved);
        }
    }
}
