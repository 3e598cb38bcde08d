using Libra.Memory;

namespace Libra.Shims
{
    // fcntl record locks (F_GETLK, F_SETLK, F_SETLKW) and open-file-description locks (F_OFD_*),
    // kept in the guest: there is one process, so its own POSIX locks never conflict with each other
    // (a new one replaces the overlapped part, fcntl(2)); an OFD lock belongs to its description and
    // conflicts with the process's locks and with other descriptions' (locks.c posix_locks_conflict).
    // A wait for a lock only this process could free never ends, so F_SETLKW answers EDEADLK then.
    internal static unsafe class RecordLocks
    {
        internal const int F_GETLK = 5, F_SETLK = 6, F_SETLKW = 7, F_OFD_GETLK = 36, F_OFD_SETLK = 37, F_OFD_SETLKW = 38;
        private const short F_RDLCK = 0, F_WRLCK = 1, F_UNLCK = 2;
        private const int ProcessId = 1;

        private struct Lock
        {
            internal Lock* Next;
            internal void* File;            // the file's identity (its mount and inode)
            internal ulong Inode;
            internal OpenFile* Owner;       // the description of an OFD lock; null: the process's
            internal ulong First, Last;     // bytes, inclusive
            internal short Type;
        }

        private static Lock* s_locks;

        internal static bool Handles(int command) => command is F_GETLK or F_SETLK or F_SETLKW or F_OFD_GETLK or F_OFD_SETLK or F_OFD_SETLKW;

        // struct flock (x86-64): l_type@0 (short), l_whence@2, l_start@8, l_len@16, l_pid@24.
        internal static long Control(OpenFile* file, int command, ulong address)
        {
            byte* flock = stackalloc byte[32];
            if (!UserMemory.CopyFromUser(flock, address, 32)) return -Errno.EFAULT;
            bool ofd = command >= F_OFD_GETLK;
            if (ofd && *(int*)(flock + 24) != 0) return -Errno.EINVAL;
            short type = *(short*)flock;
            if (type != F_RDLCK && type != F_WRLCK && type != F_UNLCK) return -Errno.EINVAL;
            long error = Range(file, *(short*)(flock + 2), *(long*)(flock + 8), *(long*)(flock + 16), out ulong first, out ulong last);
            if (error != 0) return error;
            OpenFile* owner = ofd ? file : null;
            void* identity = file->FileSystem != null ? file->FileSystem : file;
            if (command == F_GETLK || command == F_OFD_GETLK)
            {
                Lock* conflict = type == F_UNLCK ? null : FindConflict(identity, file->Inode, owner, first, last, type);
                if (conflict == null) *(short*)flock = F_UNLCK;
                else
                {
                    *(short*)flock = conflict->Type;
                    *(short*)(flock + 2) = 0;
                    *(long*)(flock + 8) = (long)conflict->First;
                    *(long*)(flock + 16) = conflict->Last == ulong.MaxValue ? 0 : (long)(conflict->Last - conflict->First + 1);
                    *(int*)(flock + 24) = conflict->Owner == null ? ProcessId : -1;
                }
                return UserMemory.CopyToUser(address, flock, 32) ? 0 : -Errno.EFAULT;
            }
            if (type == F_RDLCK && !file->CanRead || type == F_WRLCK && !file->CanWrite) return -Errno.EBADF;
            if (type != F_UNLCK && FindConflict(identity, file->Inode, owner, first, last, type) != null)
                return command == F_SETLKW || command == F_OFD_SETLKW ? -Errno.EDEADLK : -Errno.EAGAIN;
            // Both locks the change may need are had first, as posix_lock_inode's new_fl and new_fl2:
            // without them the call changes nothing and answers ENOLCK.
            var split = (Lock*)KernelHeap.TryAllocateZeroed((ulong)sizeof(Lock));
            Lock* added = type == F_UNLCK ? null : (Lock*)KernelHeap.TryAllocateZeroed((ulong)sizeof(Lock));
            if (split == null || type != F_UNLCK && added == null)
            {
                if (split != null) KernelHeap.Free(split);
                if (added != null) KernelHeap.Free(added);
                return -Errno.ENOLCK;
            }
            Clear(identity, file->Inode, owner, first, last, ref split);
            if (split != null) KernelHeap.Free(split);
            if (added != null)
            {
                added->File = identity; added->Inode = file->Inode; added->Owner = owner;
                added->First = first; added->Last = last; added->Type = type;
                // Kept in the order made: F_GETLK reports the oldest conflict first, as Linux's list does.
                Lock* tail = s_locks;
                while (tail != null && tail->Next != null) tail = tail->Next;
                if (tail == null) s_locks = added; else tail->Next = added;
            }
            return 0;
        }

        // The bytes a struct flock names: from l_whence + l_start, l_len of them (0: to the end and
        // beyond; negative: the ones before).
        private static long Range(OpenFile* file, short whence, long start, long length, out ulong first, out ulong last)
        {
            first = last = 0;
            long basis = 0;
            if (whence == 1) basis = (long)file->Position;
            else if (whence == 2)
            {
                ulong size = 0;
                if (file->Ops->SeekEnd == null || file->Ops->SeekEnd(file, &size) != 0) return -Errno.EINVAL;
                basis = (long)size;
            }
            else if (whence != 0) return -Errno.EINVAL;
            long from = basis + start;
            if (length < 0) { from += length; length = -length; }
            if (from < 0) return -Errno.EINVAL;
            first = (ulong)from;
            last = length == 0 ? ulong.MaxValue : (ulong)(from + length - 1);
            return 0;
        }

        private static Lock* FindConflict(void* identity, ulong inode, OpenFile* owner, ulong first, ulong last, short type)
        {
            for (Lock* l = s_locks; l != null; l = l->Next)
            {
                if (l->File != identity || l->Inode != inode || l->Owner == owner) continue;
                if (l->Last < first || l->First > last) continue;
                if (l->Type == F_WRLCK || type == F_WRLCK) return l;
            }
            return null;
        }

        // Takes [first, last] out of the owner's locks on the file, splitting one that straddles it
        // into `split` (taken: null after; one lock at most straddles, the owner's locks never overlap).
        private static void Clear(void* identity, ulong inode, OpenFile* owner, ulong first, ulong last, ref Lock* split)
        {
            Lock* previous = null;
            for (Lock* l = s_locks; l != null;)
            {
                Lock* next = l->Next;
                if (l->File != identity || l->Inode != inode || l->Owner != owner || l->Last < first || l->First > last) { previous = l; l = next; continue; }
                if (l->First < first && l->Last > last)
                {
                    Lock* tail = split;
                    split = null;
                    *tail = *l;
                    tail->First = last + 1;
                    l->Last = first - 1;
                    l->Next = tail;
                    previous = tail;
                    l = next;
                    continue;
                }
                if (l->First < first) { l->Last = first - 1; previous = l; l = next; continue; }
                if (l->Last > last) { l->First = last + 1; previous = l; l = next; continue; }
                Unlink(previous, l);
                l = next;
            }
        }

        // A description's last reference went: its OFD locks go.
        internal static void ReleaseDescription(OpenFile* file)
        {
            if (s_locks == null) return;
            Lock* previous = null;
            for (Lock* l = s_locks; l != null;)
            {
                Lock* next = l->Next;
                if (l->Owner != file) previous = l;
                else Unlink(previous, l);
                l = next;
            }
        }

        private static void Unlink(Lock* previous, Lock* l)
        {
            if (previous == null) s_locks = l->Next; else previous->Next = l->Next;
            KernelHeap.Free(l);
        }

        // close(2) of any descriptor of a file drops the process's locks on it (fcntl(2)'s POSIX rule).
        internal static void ClosedByProcess(OpenFile* file)
        {
            if (s_locks == null) return;
            Lock* none = null;      // [0, the end] straddles nothing
            Clear(file->FileSystem != null ? file->FileSystem : file, file->Inode, null, 0, ulong.MaxValue, ref none);
        }
    }
}
