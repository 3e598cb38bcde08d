using System;
using Libra.Memory;

namespace Libra.Shims
{
    // Where each file system is mounted. A guest path belongs to the mount with the longest mount
    // point that is a whole-name prefix of it (Linux's lookup_mnt, on normalized paths: since
    // PathName reduces ".." lexically, "/tmp/.." is "/" before any file system sees it).
    internal static unsafe class MountTable
    {
        internal const int Capacity = 16;
        private struct Mounts { internal fixed ulong Entries[Capacity]; }
        private static Mounts s_mounts;
        private static ushort s_root;                // "/" and its NUL: the inner path of a mount point itself

        private static ulong s_devices;

        internal static int Count { get; private set; }

        internal static FileSystem* At(int i) => (FileSystem*)s_mounts.Entries[i];

        // A new file system (operations, state, identity) mounted at a normalized path; the
        // newest mount at a point hides the older one, as on Linux. Null when the table is full.
        internal static FileSystem* Mount(string mountPoint, FileSystemOperations* ops, void* state, string type, string source, long magic, bool readOnly) =>
            Count == Capacity ? null : Added(New(mountPoint, ops, state, type, source, magic, readOnly));

        internal static FileSystem* Mount(ReadOnlySpan<byte> mountPoint, FileSystemOperations* ops, void* state, string type, ReadOnlySpan<byte> source, long magic, bool readOnly) =>
            Count == Capacity ? null : Added(New(mountPoint, ops, state, type, source, magic, readOnly));

        private static FileSystem* Added(FileSystem* fs)
        {
            s_mounts.Entries[Count++] = (ulong)fs;
            return fs;
        }

        internal static bool Add(FileSystem* fs)
        {
            if (Count == Capacity) return false;
            s_mounts.Entries[Count++] = (ulong)fs;
            return true;
        }

        // A file system that is not in the table (a layer of another).
        internal static FileSystem* New(string mountPoint, FileSystemOperations* ops, void* state, string type, string source, long magic, bool readOnly)
        {
            byte* point = stackalloc byte[FileSystem.MountPointMax];
            byte* name = stackalloc byte[64];
            return New(new ReadOnlySpan<byte>(point, Ascii(mountPoint, point, FileSystem.MountPointMax)), ops, state, type,
                new ReadOnlySpan<byte>(name, Ascii(source, name, 64)), magic, readOnly);
        }

        internal static FileSystem* New(ReadOnlySpan<byte> mountPoint, FileSystemOperations* ops, void* state, string type, ReadOnlySpan<byte> source, long magic, bool readOnly)
        {
            s_root = (ushort)'/';
            var fs = (FileSystem*)KernelHeap.AllocateZeroed((ulong)sizeof(FileSystem));
            fs->Ops = ops;
            fs->State = state;
            fs->ReadOnly = readOnly;
            fs->Magic = magic;
            int length = mountPoint.Length < FileSystem.MountPointMax ? mountPoint.Length : FileSystem.MountPointMax - 1;
            for (int i = 0; i < length; i++) fs->MountPoint[i] = mountPoint[i];
            fs->MountPointLength = length;
            FileSystem.SetText(fs->Type, 16, type);
            for (int i = 0; i < source.Length && i < 63; i++) fs->Source[i] = source[i];
            s_devices++;
            fs->Device = 0x20ul + s_devices;
            return fs;
        }

        private static int Ascii(string text, byte* output, int capacity)
        {
            int n = text.Length < capacity ? text.Length : capacity - 1;
            for (int i = 0; i < n; i++) output[i] = (byte)text[i];
            return n;
        }

        // The file system a normalized guest path is in, and the path inside it (a pointer into
        // `path`, or "/" for the mount point itself); null when nothing is mounted at "/".
        internal static FileSystem* Find(byte* path, int length, out byte* inner, out int innerLength)
        {
            FileSystem* best = null;
            for (int i = Count - 1; i >= 0; i--)
            {
                FileSystem* fs = At(i);
                if (!Covers(fs, path, length)) continue;
                if (best == null || fs->MountPointLength > best->MountPointLength) best = fs;
            }
            inner = null;
            innerLength = 0;
            if (best == null) return null;
            int cut = best->MountPointLength == 1 ? 0 : best->MountPointLength;
            if (cut == length) { fixed (ushort* root = &s_root) inner = (byte*)root; innerLength = 1; }
            else { inner = path + cut; innerLength = length - cut; }
            return best;
        }

        private static bool Covers(FileSystem* fs, byte* path, int length)
        {
            int n = fs->MountPointLength;
            if (n == 1) return true;
            if (length < n) return false;
            for (int i = 0; i < n; i++) if (path[i] != fs->MountPoint[i]) return false;
            return length == n || path[n] == (byte)'/';
        }

        // Whether a normalized guest path is a mount point (rmdir and rename of one: EBUSY).
        internal static bool IsMountPoint(byte* path, int length)
        {
            for (int i = 0; i < Count; i++)
            {
                FileSystem* fs = At(i);
                if (fs->MountPointLength != length || length == 1) continue;
                bool same = true;
                for (int k = 0; k < length && same; k++) same = path[k] == fs->MountPoint[k];
                if (same) return true;
            }
            return false;
        }

        // /proc/mounts (fs/proc_namespace.c show_vfsmnt): "source mountpoint type options 0 0".
        internal static void Write(ref TextBuilder text)
        {
            for (int i = 0; i < Count; i++)
            {
                FileSystem* fs = At(i);
                AppendField(ref text, fs->Source, 64); text.Append((byte)' ');
                text.AppendAscii(fs->MountPoint, fs->MountPointLength); text.Append((byte)' ');
                AppendField(ref text, fs->Type, 16);
                text.Append(fs->ReadOnly ? " ro" : " rw");
                text.Append(" 0 0\n");
            }
        }

        // /proc/self/mountinfo (proc(5)): "id parent major:minor root mountpoint options - type source options".
        internal static void WriteInfo(ref TextBuilder text)
        {
            for (int i = 0; i < Count; i++)
            {
                FileSystem* fs = At(i);
                text.Decimal((ulong)i + 1); text.Append(" 1 0:"); text.Decimal(fs->Device); text.Append(" / ");
                text.AppendAscii(fs->MountPoint, fs->MountPointLength);
                text.Append(fs->ReadOnly ? " ro - " : " rw - ");
                AppendField(ref text, fs->Type, 16); text.Append((byte)' ');
                AppendField(ref text, fs->Source, 64);
                text.Append(fs->ReadOnly ? " ro\n" : " rw\n");
            }
        }

        private static void AppendField(ref TextBuilder text, byte* field, int capacity)
        {
            int n = 0;
            while (n < capacity && field[n] != 0) n++;
            text.AppendAscii(field, n);
        }
    }
}
