using Libra.Arch.X64;
using Libra.Memory;
using Libra.Shims.NineP;

namespace Libra.Shims
{
    // Walked fids of recently looked-up paths, so a stat of a path seen before costs one Tgetattr
    // instead of Twalk + Tgetattr + Tclunk. Both servers name a fid's file by its path (QEMU's local
    // backend and diod keep the path per fid), so a cached fid answers for whatever is at that path
    // now: a file removed meanwhile gives ENOENT and the entry is dropped. Only a rename moves fids
    // (QEMU rewrites the paths of the fids under it), so a rename empties the cache.
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

        internal static bool TryGet(NinePClient* client, byte* path, int length, bool follow, out uint fid)
        {
            ulong hash = PathName.Hash(path, length);
            for (int i = 0; i < Capacity; i++)
            {
                Entry* e = At(i);
                if (e->Path != null && e->Client == client && e->Hash == hash && e->Length == length && e->Follow == follow && Same(e->Path, path, length))
                {
                    e->LastUse = ++s_clock;
                    fid = e->Fid;
                    Hits++;
                    return true;
                }
            }
            fid = 0;
            Misses++;
            return false;
        }

        // Keeps `fid` for the path (the cache owns it from now on), evicting the least recently used.
        // The slot is filled before the evicted fid's Tclunk, which blocks: another thread meanwhile
        // sees the new entry, never the old one half gone.
        internal static void Put(NinePClient* client, byte* path, int length, bool follow, uint fid)
        {
            Entry* victim = At(0);
            for (int i = 0; i < Capacity; i++)
            {
                Entry* e = At(i);
                if (e->Path == null) { victim = e; break; }
                if (e->LastUse < victim->LastUse) victim = e;
            }
            Entry evicted = *victim;
            if (evicted.Path != null) Count--;
            victim->Path = (byte*)KernelHeap.AllocateZeroed((ulong)length + 1);
            Native.MemMove(victim->Path, path, (nuint)length);
            victim->Length = length;
            victim->Hash = PathName.Hash(path, length);
            victim->Follow = follow;
            victim->Fid = fid;
            victim->Client = client;
            victim->LastUse = ++s_clock;
            Count++;
            Forget(&evicted);
        }

        // Forgets the path (its fid stopped answering).
        internal static void Drop(NinePClient* client, byte* path, int length, bool follow)
        {
            ulong hash = PathName.Hash(path, length);
            for (int i = 0; i < Capacity; i++)
            {
                Entry* e = At(i);
                if (e->Path != null && e->Client == client && e->Hash == hash && e->Length == length && e->Follow == follow && Same(e->Path, path, length)) Release(e);
            }
        }

        internal static void Clear()
        {
            for (int i = 0; i < Capacity; i++) Release(At(i));
        }

        // Empties the slot first, then clunks: the Tclunk blocks, and a thread that ran meanwhile found
        // the entry still there, used its fid as it was being clunked, dropped it and clunked it again
        // (the client then handed that fid out twice: the server's EINVAL on the next walk; found by
        // `build.ps1 fuzz`: chdir("/") gave EINVAL).
        private static void Release(Entry* e)
        {
            if (e->Path == null) return;
            Entry gone = *e;
            *e = default;
            Count--;
            Forget(&gone);
        }

        private static void Forget(Entry* gone)
        {
            if (gone->Path == null) return;
            gone->Client->Clunk(gone->Fid);
            KernelHeap.Free(gone->Path);
        }

        private static bool Same(byte* a, byte* b, int length)
        {
            for (int i = 0; i < length; i++) if (a[i] != b[i]) return false;
            return true;
        }
    }
}
