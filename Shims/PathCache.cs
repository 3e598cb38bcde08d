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
        internal static void Put(NinePClient* client, byte* path, int length, bool follow, uint fid)
        {
            Entry* victim = At(0);
            for (int i = 0; i < Capacity; i++)
            {
                Entry* e = At(i);
                if (e->Path == null) { victim = e; break; }
                if (e->LastUse < victim->LastUse) victim = e;
            }
            Release(victim);
            victim->Path = (byte*)KernelHeap.AllocateZeroed((ulong)length + 1);
            Native.MemMove(victim->Path, path, (nuint)length);
            victim->Length = length;
            victim->Hash = PathName.Hash(path, length);
            victim->Follow = follow;
            victim->Fid = fid;
            victim->Client = client;
            victim->LastUse = ++s_clock;
            Count++;
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

        private static void Release(Entry* e)
        {
            if (e->Path == null) return;
            e->Client->Clunk(e->Fid);
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
