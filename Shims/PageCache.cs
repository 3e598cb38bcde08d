using Libra.Arch.X64;
using Libra.Diagnostics;
using Libra.Memory;
using Libra.Shims.NineP;

namespace Libra.Shims
{
    // The page cache of 9P file data: read() and pread() (and the file mappings and sendfile that read
    // through them) of a file on a read-only 9P mount are answered from 64 KiB blocks kept in memory,
    // and a miss fetches the whole aligned block in one Tread; an open file's fstat is asked once. Only read-only mounts (run -Share DIR
    // -ReadOnly, -Mount HOST:GUEST:ro) use it: their files cannot change under the guest, provided
    // the host leaves a directory it shares read-only alone while the application runs (the same
    // promise Linux's v9fs cache=loose asks for). Writable mounts read through to the server every
    // time, as before. The bound is libra.page_cache=SIZE (0: off); the blocks are page frames, taken
    // only while memory is plentiful, and a block that cannot be had never fails a read: it goes to
    // the server uncached.
    internal static unsafe class PageCache
    {
        private const ulong DefaultLimit = 64ul << 20;
        private const ulong BlockPages = NinePBlockCache.BlockSize / Layout.PageSize;

        private static NinePBlockCache s_cache;
        private static ulong s_limit;
        // Blocks come only while this much memory stays free for the application.
        private static ulong s_keepFree;
        private static bool s_serving;

        // `limit`: libra.page_cache's bytes, or ulong.MaxValue when not given (64 MiB, at most an
        // eighth of the memory). Only the bound is set here: the cache's index is allocated when the
        // first read-only mount is served, so a machine without one gives the kernel heap nothing.
        internal static void Initialize(ulong limit)
        {
            if (limit == ulong.MaxValue) limit = PhysicalMemory.TotalBytes / 8 < DefaultLimit ? PhysicalMemory.TotalBytes / 8 : DefaultLimit;
            s_limit = limit / NinePBlockCache.BlockSize * NinePBlockCache.BlockSize;
            s_keepFree = PhysicalMemory.TotalBytes / 8;
        }

        // A read-only mount's client reads through the cache from now on (nothing when the cache is off).
        internal static void Serve(NinePClient* client)
        {
            int capacity = (int)(s_limit / NinePBlockCache.BlockSize);
            if (capacity == 0) return;
            if (s_cache.Capacity == 0)
            {
                int buckets = 1;
                while (buckets < capacity * 2) buckets <<= 1;
                var blocks = (NinePBlockCache.Block*)KernelHeap.AllocateZeroed((ulong)(capacity * sizeof(NinePBlockCache.Block)));
                var heads = (int*)KernelHeap.AllocateZeroed((ulong)buckets * sizeof(int));
                s_cache.Initialize(blocks, capacity, heads, buckets, &AllocateBlock, &FreeBlock);
            }
            client->CachesData = true;
            s_serving = true;
        }

        private static byte* AllocateBlock() =>
            PhysicalMemory.FreeBytes > s_keepFree + NinePBlockCache.BlockSize ? PhysicalMemory.AllocatePages(BlockPages) : null;

        private static void FreeBlock(byte* data) => PhysicalMemory.FreePages(data, BlockPages);

        // Up to `length` bytes at `offset` of an open file of a cached mount into `buffer` (checked
        // user memory or the kernel's): block by block, each from the cache or fetched whole.
        internal static long Read(OpenFile* file, byte* buffer, ulong length, ulong offset)
        {
            NinePClient* c = NinePFiles.ClientOf(file);
            ulong done = 0;
            while (done < length)
            {
                ulong at = offset + done;
                ulong index = at / NinePBlockCache.BlockSize;
                int within = (int)(at % NinePBlockCache.BlockSize);
                byte* data = s_cache.Find((ulong)c, file->Inode, index, out int valid);
                bool fresh = false;
                if (data == null)
                {
                    data = s_cache.Reserve();
                    if (data == null)
                    {
                        long rest = NinePFiles.ReadUncached(file, buffer + done, length - done, at);
                        return rest < 0 ? done > 0 ? (long)done : rest : (long)(done + (ulong)rest);
                    }
                    valid = Fill(c, file->Fid, index * NinePBlockCache.BlockSize, data);
                    if (valid < 0) { s_cache.Release(data); return done > 0 ? (long)done : valid; }
                    fresh = true;
                }
                int n = within < valid ? valid - within : 0;
                if ((ulong)n > length - done) n = (int)(length - done);
                bool copied = n == 0 || CopyOut(buffer + done, data + within, n);
                // An empty block (at or past the end) is not worth 64 KiB.
                if (fresh && valid > 0) s_cache.Insert((ulong)c, file->Inode, index, data, valid);
                else if (fresh) s_cache.Release(data);
                if (!copied) return done > 0 ? (long)done : -Errno.EFAULT;
                done += (ulong)n;
                if (valid < NinePBlockCache.BlockSize && within + n >= valid) break;    // the end of the file
            }
            return (long)done;
        }

        // fstat (and lseek's SEEK_END) of an open file on a cached mount: Tgetattr once, then the same
        // answer for as long as the description lives (kept in its Data, freed with it), since the
        // file cannot change. .NET's FileStream asks for the length before each positioned read.
        internal static long Stat(OpenFile* file, StatRecord* record)
        {
            if (file->Data != null) { *record = *(StatRecord*)file->Data; return 0; }
            long error = NinePFiles.Describe(NinePFiles.ClientOf(file), file->Fid, record);
            if (error != 0) return error;
            var kept = (StatRecord*)KernelHeap.TryAllocateZeroed((ulong)sizeof(StatRecord));
            if (kept == null) return 0;     // not kept: the next fstat asks the server again
            *kept = *record;
            file->Data = (byte*)kept;
            file->OwnsData = true;
            return 0;
        }

        // The block at `start` from the server, in as many Treads as msize needs: its length (short
        // only at the end of the file), or -errno.
        private static int Fill(NinePClient* c, uint fid, ulong start, byte* data)
        {
            int got = 0;
            while (got < NinePBlockCache.BlockSize)
            {
                int want = NinePBlockCache.BlockSize - got < c->MaxIo ? NinePBlockCache.BlockSize - got : c->MaxIo;
                int n = c->Read(fid, start + (ulong)got, data + got, want);
                if (n < 0) return n;
                got += n;
                if (n < want) break;
            }
            return got;
        }

        // Cached bytes to where the read asked: user memory through UserMemory's copy, the kernel's
        // own buffers (sendfile, file mappings) directly.
        private static bool CopyOut(byte* destination, byte* source, int count)
        {
            if (UserMemory.IsUserRange((ulong)destination, (ulong)count)) return UserMemory.CopyToUser((ulong)destination, source, (ulong)count);
            Native.MemMove(destination, source, (nuint)count);
            return true;
        }

        // One line for the exit report and the state dump.
        internal static void Report(string prefix)
        {
            if (!s_serving) return;
            KernelLog.Begin(); KernelLog.Write(prefix); KernelLog.Write("page cache "); KernelLog.Decimal(s_cache.Hits); KernelLog.Write(" hits, ");
            KernelLog.Decimal(s_cache.Misses); KernelLog.Write(" misses, "); KernelLog.Decimal(s_cache.BytesCached); KernelLog.Write(" bytes cached in ");
            KernelLog.Decimal((ulong)s_cache.Count); KernelLog.Write(" blocks (limit "); KernelLog.Size(s_limit); KernelLog.Write("), ");
            KernelLog.Decimal(s_cache.Evictions); KernelLog.Write(" evictions"); KernelLog.End();
        }
    }
}
