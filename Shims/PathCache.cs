using Libra.Arch.X64;
using Libra.Memory;
using Libra.Shims.NineP;

namespace Libra.Shims
{
    // Walked fids of recently looked-up paths, so a stat of a path seen before costs one Tgetattr
    // instead of Twalk + Tgetattr + Tclunk. Both servers name a fid's file by its path (QEMU's local
    // backend and diod keep the path per fid), so a cached fid answers for whatever is at that path
    // now: a file removed meanwhile gives ENOENT and the entry is dropped. Only a rename moves fids
    // (QEMU rewrites the paths of the fids under it), so a rename empties the cache. Threads share
    // it: a fid in use is out of the cache (TryTake, then Put), and nothing here is held across the
    // blocking clunk.
    internal static unsafe class PathCache
    {
        private const int Capacity = 256;

        private struct Entry
        {
            internal ulong Hash, LastUse;
            internal byte* Path;
            internal int Length;
            internal bool Follow;
            internal uint Fid;
            internal NinePClient* Client;
        }

        private struct Entries { internal fixed byte Bytes[Capacity * 48]; }   // Capacity entries of 48 bytes
        private static Entries s_entries;
        private static ulong s_clock;
        internal static ulong Hits, Misses;
        internal static int Count;

        private static Entry* At(int i)
        {
            fixed (byte* bytes = s_entries.Bytes) return (Entry*)bytes + i;
        }

        // Bumped by every Clear: a fid walked or taken before a rename may name another file now.
        private static ulong s_generation;

        // What Put needs to know whether a rename came between: read it before the walk.
        internal static ulong Generation => s_generation;

        // Takes the path's cached fid out of the cache: the caller owns it until it gives it back
        // with Put or clunks it. Taken, not shared: every 9P call blocks, and a fid that another
        // thread clunks meanwhile (a rename's Clear, an eviction) would answer, once the fid number
        // is reused, for another file.
        internal static bool TryTake(NinePClient* client, byte* path, int length, bool follow, out uint fid, out ulong generation)
        {
            generation = s_generation;
            Entry* e = Find(client, path, length, follow);
            if (e == null)
            {
                fid = 0;
                Misses++;
                return false;
            }
            fid = e->Fid;
            Hits++;
            Forget(e);
            return true;
        }

        // Keeps `fid` for the path (the cache owns it from now on), evicting the least recently used;
        // `generation` is Generation from before the fid was walked or taken. A fid from before the
        // last Clear, or for a path already cached (another thread walked it too), is clunked instead.
        internal static void Put(NinePClient* client, byte* path, int length, bool follow, uint fid, ulong generation)
        {
            if (generation != s_generation || Find(client, path, length, follow) != null)
            {
                client->Clunk(fid);
                return;
            }
            // No memory for the path: the fid is not kept, as if it had been evicted.
            var kept = (byte*)KernelHeap.TryAllocateZeroed((ulong)length + 1);
            if (kept == null)
            {
                client->Clunk(fid);
                return;
            }
            Entry* victim = At(0);
            for (int i = 0; i < Capacity; i++)
            {
                Entry* e = At(i);
                if (e->Path == null) { victim = e; break; }
                if (e->LastUse < victim->LastUse) victim = e;
            }
            // The entry is filled before the evicted fid is clunked: the clunk blocks.
            NinePClient* evictedClient = victim->Client;
            uint evictedFid = victim->Fid;
            bool evicted = victim->Path != null;
            if (evicted) Forget(victim);
            victim->Path = kept;
            Native.MemMove(victim->Path, path, (nuint)length);
            victim->Length = length;
            victim->Hash = PathName.Hash(path, length);
            victim->Follow = follow;
            victim->Fid = fid;
            victim->Client = client;
            victim->LastUse = ++s_clock;
            Count++;
            if (evicted) evictedClient->Clunk(evictedFid);
        }

        // Clunks every cached fid (a rename moved the files under them); fids taken now are not
        // put back.
        internal static void Clear()
        {
            s_generation++;
            for (int i = 0; i < Capacity; i++)
            {
                Entry* e = At(i);
                if (e->Path == null) continue;
                NinePClient* client = e->Client;
                uint fid = e->Fid;
                Forget(e);
                client->Clunk(fid);
            }
        }

        private static Entry* Find(NinePClient* client, byte* path, int length, bool follow)
        {
            ulong hash = PathName.Hash(path, length);
            for (int i = 0; i < Capacity; i++)
            {
                Entry* e = At(i);
                if (e->Path != null && e->Client == client && e->Hash == hash && e->Length == length && e->Follow == follow && Same(e->Path, path, length))
                {
                    e->LastUse = ++s_clock;
                    return e;
                }
            }
            return null;
        }

        // Empties the entry without clunking its fid (the caller does, or owns it now).
        private static void Forget(Entry* e)
        {
            KernelHeap.Free(e->Path);
            *e = default;
            Count--;
        }

        private static bool Same(byte* a, byte* b, int length)
        {
            for (int i = 0; i < length; i++) if (a[i] != b[i]) return false;
            return true;
        }
    }
}
