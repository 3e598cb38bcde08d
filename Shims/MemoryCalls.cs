using Libra.Memory;

namespace Libra.Shims
{
    // Memory: mmap and friends over Memory/UserMemory.cs. Anonymous memory only for now: every
    // mapping is reserved at once and committed page by page on first touch.
    internal static unsafe class MemoryCalls
    {
        private const ulong MAP_SHARED = 1, MAP_PRIVATE = 2, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20,
            MAP_FIXED_NOREPLACE = 0x100000;
        private const int MADV_DONTNEED = 4, MADV_FREE = 8, MADV_REMOVE = 9;
        private const ulong MREMAP_MAYMOVE = 1, MREMAP_FIXED = 2;
        private const int ProtMask = UserMemory.ProtRead | UserMemory.ProtWrite | UserMemory.ProtExec;

        // mmap(addr, length, prot, flags, fd, offset)
        internal static long Mmap(SyscallArgs* a)
        {
            ulong address = a->A0, length = a->A1, flags = a->A3;
            int prot = (int)a->A2 & ProtMask;
            if (length == 0 || (address & (Layout.PageSize - 1)) != 0 || (flags & (MAP_SHARED | MAP_PRIVATE)) == 0) return -Errno.EINVAL;
            if ((flags & MAP_ANONYMOUS) == 0) return MapFile(address, length, prot, flags, (int)a->A4, a->A5);
            if (UserMemory.PageUp(length) < length) return -Errno.ENOMEM;
            bool fixedAddress = (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) != 0;
            if ((flags & MAP_FIXED_NOREPLACE) != 0 && !UserMemory.IsFree(address, UserMemory.PageUp(length))) return -Errno.EEXIST;
            ulong placed = UserMemory.Reserve(address, length, prot, RangeKind.Anonymous, fixedAddress);
            return placed == 0 ? -Errno.ENOMEM : (long)placed;
        }

        // A file mapping, MAP_PRIVATE (and MAP_SHARED without PROT_WRITE, which no one else writes
        // here): the pages are committed and filled from the file at once, and are then the
        // application's own. Writable shared mappings answer ENODEV.
        private static long MapFile(ulong address, ulong length, int prot, ulong flags, int fd, ulong offset)
        {
            OpenFile* file = FileTable.Use(fd);
            if (file == null) return -Errno.EBADF;
            if ((offset & (Layout.PageSize - 1)) != 0) return -Errno.EINVAL;
            if (!file->IsRegular || file->Ops->Read == null) return -Errno.ENODEV;
            if ((file->StatusFlags & FileTable.O_ACCMODE) == FileTable.O_WRONLY) return -Errno.EACCES;
            if ((flags & MAP_SHARED) != 0 && (prot & UserMemory.ProtWrite) != 0) return -Errno.ENODEV;
            bool fixedAddress = (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) != 0;
            if ((flags & MAP_FIXED_NOREPLACE) != 0 && !UserMemory.IsFree(address, UserMemory.PageUp(length))) return -Errno.EEXIST;
            ulong placed = UserMemory.Reserve(address, length, prot, RangeKind.Anonymous, fixedAddress);
            if (placed == 0) return -Errno.ENOMEM;
            if (!UserMemory.Populate(placed, UserMemory.PageUp(length))) { UserMemory.Unmap(placed, length); return -Errno.ENOMEM; }
            long filled = FillFromFile(file, placed, length, offset);
            if (filled < 0) { UserMemory.Unmap(placed, length); return filled; }
            return (long)placed;
        }

        // Copies file bytes [offset, offset + length) into committed pages through the direct map
        // (the mapping may be read-only); past the end of the file the pages stay zero.
        private static long FillFromFile(OpenFile* file, ulong address, ulong length, ulong offset)
        {
            const int Chunk = 64 * 1024;
            byte* bounce = (byte*)KernelHeap.TryAllocateZeroed(Chunk);
            if (bounce == null) return -Errno.ENOMEM;
            ulong done = 0;
            long result = 0;
            while (done < length)
            {
                int want = length - done < Chunk ? (int)(length - done) : Chunk;
                long n = ReadWriteCalls.ReadData(file, bounce, (ulong)want, offset + done);
                if (n < 0) { result = n; break; }
                if (n == 0) break;
                if (!UserMemory.WriteDirect(address + done, bounce, (ulong)n)) break;     // unmapped meanwhile
                done += (ulong)n;
                if (n < want) break;
            }
            KernelHeap.Free(bounce);
            return result;
        }

        internal static long Munmap(SyscallArgs* a)
        {
            if ((a->A0 & (Layout.PageSize - 1)) != 0 || a->A1 == 0 || !UserMemory.IsUserRange(a->A0, a->A1)) return -Errno.EINVAL;
            UserMemory.Unmap(a->A0, a->A1);
            return 0;
        }

        internal static long Mprotect(SyscallArgs* a)
        {
            if ((a->A0 & (Layout.PageSize - 1)) != 0) return -Errno.EINVAL;
            if (a->A1 == 0) return 0;
            if (!UserMemory.IsUserRange(a->A0, a->A1)) return -Errno.ENOMEM;
            if (!UserMemory.MayProtect(a->A0, a->A1, (int)a->A2 & ProtMask)) return -Errno.EACCES;
            return UserMemory.Protect(a->A0, a->A1, (int)a->A2 & ProtMask) ? 0 : -Errno.ENOMEM;
        }

        internal static long Madvise(SyscallArgs* a)
        {
            if ((a->A0 & (Layout.PageSize - 1)) != 0) return -Errno.EINVAL;
            int advice = (int)a->A2;
            if (advice == MADV_DONTNEED || advice == MADV_FREE || advice == MADV_REMOVE)
            {
                if (!UserMemory.IsUserRange(a->A0, a->A1)) return -Errno.EINVAL;
                UserMemory.Discard(a->A0, a->A1);
            }
            return 0;
        }

        internal static long Brk(SyscallArgs* a) => (long)UserMemory.SetBreak(a->A0);

        // mremap(old, old_size, new_size, flags, new_address): shrink in place, grow in place when the
        // pages after are free, else move the pages when MREMAP_MAYMOVE allows.
        internal static long Mremap(SyscallArgs* a)
        {
            ulong old = a->A0, oldSize = UserMemory.PageUp(a->A1), newSize = UserMemory.PageUp(a->A2), flags = a->A3;
            if ((old & (Layout.PageSize - 1)) != 0 || newSize == 0 || (flags & MREMAP_FIXED) != 0) return -Errno.EINVAL;
            int index = UserMemory.Map->Find(old);
            if (index < 0) return -Errno.EFAULT;
            VirtualRange range = UserMemory.Map->Range(index);
            if (old + oldSize > range.End) return -Errno.EFAULT;
            if (newSize <= oldSize)
            {
                if (newSize < oldSize) UserMemory.Unmap(old + newSize, oldSize - newSize);
                return (long)old;
            }
            if (UserMemory.IsUserRange(old + oldSize, newSize - oldSize) && UserMemory.IsFree(old + oldSize, newSize - oldSize))
            {
                UserMemory.Reserve(old + oldSize, newSize - oldSize, (int)range.Protection, range.Kind, fixedAddress: true);
                return (long)old;
            }
            if ((flags & MREMAP_MAYMOVE) == 0) return -Errno.ENOMEM;
            ulong moved = UserMemory.Reserve(0, newSize, (int)range.Protection, range.Kind, fixedAddress: false);
            if (moved == 0) return -Errno.ENOMEM;
            if (!UserMemory.MovePages(old, moved, oldSize))
            {
                UserMemory.Unmap(moved, newSize);
                return -Errno.ENOMEM;
            }
            UserMemory.Unmap(old, oldSize);
            return (long)moved;
        }

        // mlock, munlock, msync: every committed page stays resident and there is no file to sync.
        internal static long Mlock(SyscallArgs* a) => 0;

        internal static long Mincore(SyscallArgs* a) => -Errno.ENOSYS;
    }
}
