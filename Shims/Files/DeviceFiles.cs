using Libra.Arch.X64;
using Libra.Memory;
using Libra.Time;

namespace Libra.Shims
{
    // The kernel's own files: /dev/null, /dev/zero, /dev/urandom and /dev/random; the synthetic
    // /proc and /sys files (a snapshot taken at open, ProcFiles); and the synthetic directories (a
    // listing taken at open).
    internal static unsafe class DeviceFiles
    {
        private static FileOperations* s_null, s_zero, s_random, s_snapshot, s_directory;

        internal static void Initialize()
        {
            s_null = FileOperations.New();
            s_null->Read = &ReadNothing;
            s_null->Write = &WriteAnything;
            s_null->SeekEnd = &SizeZero;

            s_zero = FileOperations.New();
            s_zero->Read = &ReadZeros;
            s_zero->Write = &WriteAnything;
            s_zero->SeekEnd = &SizeZero;

            s_random = FileOperations.New();
            s_random->Read = &ReadRandom;
            s_random->Write = &WriteAnything;
            s_random->SeekEnd = &SizeZero;

            s_snapshot = FileOperations.New();
            s_snapshot->Read = &ReadSnapshot;
            s_snapshot->SeekEnd = &SnapshotSize;

            s_directory = FileOperations.New();
            s_directory->GetDents = &ListDirectory;
            s_directory->SeekEnd = &SizeZero;
        }

        // Each New* answers null when the kernel heap cannot hold a description (the open answers ENFILE).
        internal static OpenFile* NewNull(int flags) => FileTable.TryNew(FileKind.Null, s_null, flags, FileTable.S_IFCHR | 0x1b6);

        internal static OpenFile* NewZero(int flags) => FileTable.TryNew(FileKind.Null, s_zero, flags, FileTable.S_IFCHR | 0x1b6);

        internal static OpenFile* NewRandom(int flags) => FileTable.TryNew(FileKind.Random, s_random, flags, FileTable.S_IFCHR | 0x1b6);

        // A synthetic directory listing `names` (records of a DT_* byte, a name and a NUL; owned, and
        // freed here when there is no description).
        internal static OpenFile* NewDirectory(int flags, byte* names, ulong size)
        {
            OpenFile* file = FileTable.TryNew(FileKind.Directory, s_directory, flags, FileTable.S_IFDIR | 0x16d);
            if (file == null) { KernelHeap.Free(names); return null; }
            file->Data = names;
            file->Size = size;
            file->OwnsData = true;
            return file;
        }

        // A read-only regular file over `size` bytes at `data` (freed with the file when `owned`).
        internal static OpenFile* NewSnapshot(int flags, uint mode, byte* data, ulong size, bool owned)
        {
            OpenFile* file = FileTable.TryNew(FileKind.Synthetic, s_snapshot, flags, mode);
            if (file == null) { if (owned) KernelHeap.Free(data); return null; }
            file->Data = data;
            file->Size = size;
            file->OwnsData = owned;
            return file;
        }

        private static long ReadNothing(OpenFile* file, byte* buffer, ulong length, ulong offset) => 0;

        private static long ReadZeros(OpenFile* file, byte* buffer, ulong length, ulong offset)
        {
            Native.MemSet(buffer, 0, (nuint)length);
            return (long)length;
        }

        private static long ReadRandom(OpenFile* file, byte* buffer, ulong length, ulong offset)
        {
            EntropySource.Fill(buffer, length);
            return (long)length;
        }

        private static long WriteAnything(OpenFile* file, byte* buffer, ulong length, ulong offset) => (long)length;

        private static long SizeZero(OpenFile* file, ulong* size)
        {
            *size = 0;
            return 0;
        }

        private static long ReadSnapshot(OpenFile* file, byte* buffer, ulong length, ulong offset)
        {
            bool positioned = offset != ulong.MaxValue;
            ulong position = positioned ? offset : file->Position;
            if (position >= file->Size) return 0;
            ulong n = file->Size - position < length ? file->Size - position : length;
            n = UserMemory.CopyChecked(buffer, file->Data + position, n);
            if (n == 0) return -Errno.EFAULT;
            if (!positioned) file->Position += n;
            return (long)n;
        }

        private static long SnapshotSize(OpenFile* file, ulong* size)
        {
            *size = file->Size;
            return 0;
        }

        // getdents64 over the listing taken at open; the position is the next record's offset.
        private static long ListDirectory(OpenFile* file, ulong buffer, ulong capacity)
        {
            ulong written = 0;
            while (file->Position < file->Size)
            {
                byte* entry = file->Data + file->Position;
                int nameLength = 0;
                while (entry[1 + nameLength] != 0) nameLength++;
                ulong record = (ulong)(19 + nameLength + 1 + 7) & ~7ul;
                if (written + record > capacity) return written == 0 ? -Errno.EINVAL : (long)written;
                ulong next = file->Position + (ulong)nameLength + 2;
                byte* d = (byte*)(buffer + written);
                Native.MemSet(d, 0, (nuint)record);
                *(ulong*)d = (PathName.Hash(entry + 1, nameLength) & 0xffffffff) | 1;
                *(long*)(d + 8) = (long)next;
                *(ushort*)(d + 16) = (ushort)record;
                d[18] = entry[0];
                Native.MemMove(d + 19, entry + 1, (nuint)nameLength);
                written += record;
                file->Position = next;
            }
            return (long)written;
        }
    }
}
