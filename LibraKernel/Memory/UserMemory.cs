using Libra.Arch.X64;
using Libra.Diagnostics;

namespace Libra.Memory
{
    // The application's memory, in the lower half of the kernel's own page tables: its areas live in
    // a VirtualRangeMap (what was asked for, with protection), and page frames are committed only
    // when first touched (demand-zero), so a reservation of tens of GiB costs one range entry.
    // Page-table entries always reflect their area's protection; a populated page made PROT_NONE
    // keeps its frame in a not-present entry (KeptFrame) so its contents survive.
    internal static unsafe class UserMemory
    {
        internal const int ProtRead = 1, ProtWrite = 2, ProtExec = 4;
        private const uint ProtReadWrite = 3;
        private const int MaxRanges = 16384;
        // A software bit of a not-present entry: the address field still holds the page's frame.
        private const ulong KeptFrame = 1ul << 9;
        // A software bit of a present entry: the frame is the kernel's (the vDSO data page), shown to
        // the application read-only whatever mprotect asks (Linux's vvar cannot be made writable or
        // executable either) and never freed with its mapping.
        private const ulong KernelFrame = 1ul << 10;
        // Beyond this many pages changed at once, reloading CR3 beats invlpg per page.
        private const ulong FlushAllThreshold = 64;

        private static VirtualRangeMap s_map;
        private static ulong s_breakStart, s_break;
        internal static ulong CommittedPages;

        internal static void Initialize()
        {
            var storage = (VirtualRange*)KernelHeap.AllocateZeroed((ulong)(MaxRanges * sizeof(VirtualRange)));
            s_map.Initialize(storage, MaxRanges);
        }

        internal static VirtualRangeMap* Map
        {
            get { fixed (VirtualRangeMap* map = &s_map) return map; }
        }

        internal static ulong BreakStart => s_breakStart;
        internal static ulong Break => s_break;

        internal static bool IsUserRange(ulong start, ulong length) =>
            start >= Layout.UserLowest && length <= Layout.UserEnd && start <= Layout.UserEnd - length;

        // Linux's access_ok: the range lies in the lower half, null page included (a copy there then
        // faults and fails): the only check some calls make before writing, and only when they write.
        internal static bool IsInUserHalf(ulong start, ulong length) =>
            length <= Layout.UserEnd && start <= Layout.UserEnd - length;

        // Places an area: at `address` exactly when `fixedAddress`, else at the hint if that is free,
        // else top-down below UserMmapTop. Returns the address, or 0 when there is no room.
        internal static ulong Reserve(ulong address, ulong length, int prot, RangeKind kind, bool fixedAddress)
        {
            length = PageUp(length);
            if (length == 0) return 0;
            if (fixedAddress)
            {
                if (!IsUserRange(address, length)) return 0;
                ReleasePages(address, length);
                return s_map.Map(address, length, (uint)prot, kind) == RangeResult.Done ? address : 0;
            }
            if (address != 0 && IsUserRange(address, length) && IsFree(address, length))
                return s_map.Map(address, length, (uint)prot, kind) == RangeResult.Done ? address : 0;
            ulong found = s_map.FindFree(length, Layout.UserLowest, Layout.UserMmapTop);
            if (found == 0) return 0;
            return s_map.Map(found, length, (uint)prot, kind) == RangeResult.Done ? found : 0;
        }

        internal static bool IsFree(ulong start, ulong length) => s_map.IsFree(start, PageUp(length));

        internal static void Unmap(ulong start, ulong length)
        {
            length = PageUp(length);
            s_map.Unmap(start, length);
            ReleasePages(start, length);
        }

        // False when part of the range is not mapped (mprotect's ENOMEM).
        internal static bool Protect(ulong start, ulong length, int prot)
        {
            length = PageUp(length);
            if (s_map.Protect(start, length, (uint)prot) != RangeResult.Done) return false;
            PageTable* tables = KernelAddressSpace.Tables;
            ulong address = start, end = start + length, changed = 0;
            ulong* leaf;
            while ((leaf = tables->NextLeaf(ref address, end)) != null)
            {
                ulong frame = *leaf & PageTable.AddressMask;
                if ((*leaf & KernelFrame) != 0) *leaf = frame | KernelFrame | EntryFlags(ProtRead);
                else *leaf = prot == 0 ? frame | KeptFrame : frame | EntryFlags(prot);
                if (++changed <= FlushAllThreshold) Native.InvalidatePage(address);
                address += Layout.PageSize;
            }
            if (changed > FlushAllThreshold) Native.WriteCr3(Native.ReadCr3());
            return true;
        }

        // False for mprotect's EACCES: the vDSO data page may become neither writable nor executable
        // (Linux's vvar has neither VM_MAYWRITE nor VM_MAYEXEC).
        internal static bool MayProtect(ulong start, ulong length, int prot)
        {
            if ((prot & (ProtWrite | ProtExec)) == 0) return true;
            ulong end = start + PageUp(length);
            for (ulong address = start; address < end;)
            {
                int index = s_map.Find(address);
                if (index < 0) return true;     // a hole: Protect answers ENOMEM
                VirtualRange range = s_map.Range(index);
                if (range.Kind == RangeKind.Vvar) return false;
                address = range.End;
            }
            return true;
        }

        // MADV_DONTNEED: the pages read as zero on their next touch.
        internal static void Discard(ulong start, ulong length) => ReleasePages(start, PageUp(length));

        // brk(2): moves the program break within [start, the next mapping); returns the break in force.
        internal static ulong SetBreak(ulong requested)
        {
            if (requested < s_breakStart) return s_break;
            ulong oldEnd = PageUp(s_break), newEnd = PageUp(requested);
            if (newEnd > oldEnd)
            {
                if (!IsUserRange(oldEnd, newEnd - oldEnd) || !IsFree(oldEnd, newEnd - oldEnd)) return s_break;
                if (s_map.Map(oldEnd, newEnd - oldEnd, ProtReadWrite, RangeKind.Heap) != RangeResult.Done) return s_break;
            }
            else if (newEnd < oldEnd) Unmap(newEnd, oldEnd - newEnd);
            s_break = requested;
            return s_break;
        }

        internal static void SetBreakStart(ulong start)
        {
            s_breakStart = s_break = PageUp(start);
        }

        // A page fault at a user address: commits a zeroed frame (or brings back a kept one) when the
        // area allows the access. False means the access is not allowed: the caller raises SIGSEGV.
        internal static bool HandleFault(ulong address, ulong errorCode, out bool mapped)
        {
            mapped = false;
            int index = s_map.Find(address);
            if (index < 0) return false;
            mapped = true;
            int prot = (int)s_map.Range(index).Protection;
            bool write = (errorCode & 2) != 0, fetch = (errorCode & 16) != 0;
            if (prot == 0 || (write && (prot & ProtWrite) == 0) || (fetch && (prot & ProtExec) == 0)) return false;
            ulong page = address & ~(Layout.PageSize - 1);
            ulong* leaf = KernelAddressSpace.Tables->Leaf(page, true);
            if (leaf == null) return OutOfMemory(address);      // no frame for the page table either
            if ((*leaf & PageTable.Present) != 0)
            {
                // The kernel's page stays read-only whatever its area says: no retry would succeed.
                if ((*leaf & KernelFrame) != 0 && (write || fetch)) return false;
                // Another path already committed it (or a stale TLB entry): refresh and retry.
                Native.InvalidatePage(page);
                return true;
            }
            ulong frame = *leaf & PageTable.AddressMask;
            if ((*leaf & KeptFrame) == 0)
            {
                frame = PhysicalMemory.AllocateFrame();
                if (frame == 0) return OutOfMemory(address);
                CommittedPages++;
            }
            *leaf = frame | EntryFlags(prot);
            Native.InvalidatePage(page);
            return true;
        }

        // Whether the application may read (or write) every byte of [start, start + length): the
        // check a syscall makes before touching a user buffer (EFAULT otherwise).
        internal static bool IsAccessible(ulong start, ulong length, bool write) =>
            length == 0 || AccessibleLength(start, length, write) == length;

        // How many bytes from `start` on are mapped for the access asked for: `length` when all are,
        // 0 when the first is not or the range leaves user space.
        internal static ulong AccessibleLength(ulong start, ulong length, bool write)
        {
            if (length == 0 || !IsUserRange(start, length)) return 0;
            ulong address = start, end = start + length;
            while (address < end)
            {
                int index = s_map.Find(address);
                if (index < 0) break;
                VirtualRange range = s_map.Range(index);
                if ((range.Protection & ProtRead) == 0 || (write && (range.Protection & ProtWrite) == 0)) break;
                address = range.End;
            }
            return (address < end ? address : end) - start;
        }

        // Commits every page of [start, +length) now, whatever the area's protection (the loader).
        internal static bool Populate(ulong start, ulong length)
        {
            PageTable* tables = KernelAddressSpace.Tables;
            for (ulong page = start & ~(Layout.PageSize - 1); page < start + length; page += Layout.PageSize)
            {
                int index = s_map.Find(page);
                if (index < 0) return false;
                ulong* leaf = tables->Leaf(page, true);
                if (leaf == null) return false;
                if ((*leaf & (PageTable.Present | KeptFrame)) != 0) continue;
                ulong frame = PhysicalMemory.AllocateFrame();
                if (frame == 0) return false;
                CommittedPages++;
                int prot = (int)s_map.Range(index).Protection;
                *leaf = prot == 0 ? frame | KeptFrame : frame | EntryFlags(prot);
            }
            return true;
        }

        // Shows the kernel's page at `physical` to the application at `address`, read-only, in an area
        // of its own kind (the vDSO data page); it stays the kernel's when the area goes away.
        internal static bool MapKernelPage(ulong address, ulong physical, RangeKind kind)
        {
            if (Reserve(address, Layout.PageSize, ProtRead, kind, fixedAddress: true) != address) return false;
            ulong* leaf = KernelAddressSpace.Tables->Leaf(address, true);
            if (leaf == null) return false;
            *leaf = physical | KernelFrame | EntryFlags(ProtRead);
            Native.InvalidatePage(address);
            return true;
        }

        // Copies into committed user pages through the direct map, ignoring their protection; false
        // when a page is not committed (the application unmapped it meanwhile), nothing past it written.
        internal static bool WriteDirect(ulong address, byte* source, ulong length)
        {
            PageTable* tables = KernelAddressSpace.Tables;
            while (length > 0)
            {
                ulong* leaf = tables->Leaf(address, false);
                if (leaf == null || (*leaf & PageTable.AddressMask) == 0) return false;
                ulong inPage = address & (Layout.PageSize - 1);
                ulong count = Layout.PageSize - inPage < length ? Layout.PageSize - inPage : length;
                Native.MemMove(Layout.PhysicalToVirtual((*leaf & PageTable.AddressMask) + inPage), source, (nuint)count);
                address += count; source += count; length -= count;
            }
            return true;
        }

        // Syscall buffers: checked against the areas first (EFAULT), then copied directly, since the
        // application's pages are in the same tables; an untouched page commits on the kernel's fault,
        // and a page the areas no longer allow (another thread's munmap or mprotect since the check)
        // ends the copy through Arch/X64/UserCopy.S's fixup, so the call fails with EFAULT, not a panic.
        internal static bool CopyToUser(ulong destination, void* source, ulong length)
        {
            if (!IsAccessible(destination, length, write: true)) return false;
            return Native.UserCopy((void*)destination, source, length) == 0;
        }

        internal static bool CopyFromUser(void* destination, ulong source, ulong length)
        {
            if (!IsAccessible(source, length, write: false)) return false;
            return Native.UserCopy(destination, (void*)source, length) == 0;
        }

        // A copy between memory either side of which may be the application's, already checked with
        // IsAccessible (a file's read or write into a syscall's buffer) or at least IsUserRange (Linux's
        // access_ok): the bytes copied, fewer than `length` at the first page the areas do not allow.
        internal static ulong CopyChecked(void* destination, void* source, ulong length) =>
            length - Native.UserCopy(destination, source, length);

        // Single values in and out (a descriptor pair, an offset, a length): false for EFAULT.
        internal static bool WriteInt32(ulong destination, int value) => CopyToUser(destination, &value, 4);

        internal static bool WriteUInt64(ulong destination, ulong value) => CopyToUser(destination, &value, 8);

        internal static bool ReadInt32(ulong source, out int value)
        {
            int read = 0;
            bool done = CopyFromUser(&read, source, 4);
            value = read;
            return done;
        }

        internal static bool ReadUInt64(ulong source, out ulong value)
        {
            ulong read = 0;
            bool done = CopyFromUser(&read, source, 8);
            value = read;
            return done;
        }

        // A NUL-terminated user string into `buffer` (NUL included); its length, -1 for EFAULT, -2 when too long.
        internal static int CopyStringFromUser(ulong source, byte* buffer, int capacity)
        {
            int copied = 0;
            while (copied < capacity)
            {
                // One page at a time, each checked against the areas: the string may end before a hole.
                ulong at = source + (ulong)copied;
                ulong inPage = Layout.PageSize - (at & (Layout.PageSize - 1));
                ulong chunk = (ulong)(capacity - copied) < inPage ? (ulong)(capacity - copied) : inPage;
                if (!IsAccessible(at, chunk, write: false)) return -1;
                long found = Native.UserString(buffer + copied, (void*)at, chunk);
                if (found < 0) return -1;
                if ((ulong)found < chunk) return copied + (int)found;
                copied += (int)chunk;
            }
            return -2;
        }

        // Moves the pages of [from, +length) to [to, +length) (mremap); both areas are already placed.
        // False, with nothing moved, when there is no frame for a page table the target needs.
        internal static bool MovePages(ulong from, ulong to, ulong length)
        {
            PageTable* tables = KernelAddressSpace.Tables;
            ulong address = from, end = from + length;
            ulong* leaf;
            // The target's tables first, so that the move itself cannot fail half-way.
            while (tables->NextLeaf(ref address, end) != null)
            {
                if (tables->Leaf(to + (address - from), true) == null) return false;
                address += Layout.PageSize;
            }
            address = from;
            while ((leaf = tables->NextLeaf(ref address, end)) != null)
            {
                ulong* target = tables->Leaf(to + (address - from), false);
                *target = *leaf;
                *leaf = 0;
                Native.InvalidatePage(address);
                address += Layout.PageSize;
            }
            return true;
        }

        private static void ReleasePages(ulong start, ulong length)
        {
            PageTable* tables = KernelAddressSpace.Tables;
            ulong address = start, end = start + length, released = 0;
            ulong* leaf;
            while ((leaf = tables->NextLeaf(ref address, end)) != null)
            {
                if ((*leaf & KernelFrame) == 0)
                {
                    PhysicalMemory.FreeFrame(*leaf & PageTable.AddressMask);
                    CommittedPages--;
                }
                *leaf = 0;
                if (++released <= FlushAllThreshold) Native.InvalidatePage(address);
                address += Layout.PageSize;
            }
            if (released > FlushAllThreshold) Native.WriteCr3(Native.ReadCr3());
        }

        // No frame left for a page the application may use: it is killed as Linux's OOM killer would
        // (SIGKILL, status 137), with a line that says so instead of a misleading SIGSEGV.
        private static bool OutOfMemory(ulong address)
        {
            KernelLog.Begin(); KernelLog.Write("out of memory: no free page for the application at "); KernelLog.Hex(address);
            KernelLog.Write(" ("); KernelLog.Decimal(CommittedPages * Layout.PageSize >> 20); KernelLog.Write(" MiB committed); application killed by SIGKILL");
            KernelLog.End();
            Kernel.Exit(128 + 9);
            return false;
        }

        internal static ulong EntryFlags(int prot)
        {
            ulong flags = PageTable.Present | PageTable.User;
            if ((prot & ProtWrite) != 0) flags |= PageTable.Writable;
            if ((prot & ProtExec) == 0) flags |= PageTable.NoExecute;
            return flags;
        }

        internal static ulong PageUp(ulong value) => (value + Layout.PageSize - 1) & ~(Layout.PageSize - 1);
    }
}
