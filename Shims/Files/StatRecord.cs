using Libra.Arch.X64;
using Libra.Memory;
using Libra.Time;

namespace Libra.Shims
{
    // What stat tells of a file, as every file system fills it; written out as struct stat or
    // struct statx.
    internal unsafe struct StatRecord
    {
        internal ulong Device, Inode, Links, Rdev, Size, BlockSize, Blocks;
        internal uint Mode, Uid, Gid;
        internal ulong AtimeSec, AtimeNsec, MtimeSec, MtimeNsec, CtimeSec, CtimeNsec, BtimeSec, BtimeNsec;
        internal bool HasBirthTime;

        // A file with no stored times or owner: the boot's wall clock, root, one link (two for a directory).
        internal static StatRecord Plain(ulong device, uint mode, ulong inode, ulong size)
        {
            StatRecord r = default;
            r.Device = device;
            r.Mode = mode;
            r.Inode = inode;
            r.Links = (mode & 0xf000) == FileTable.S_IFDIR ? 2ul : 1ul;
            r.Size = size;
            r.BlockSize = 4096;
            r.Blocks = (size + 511) / 512;
            ulong seconds = Clock.RealtimeOffset / 1_000_000_000;
            r.AtimeSec = r.MtimeSec = r.CtimeSec = seconds;
            return r;
        }

        // struct stat (x86-64, 144 bytes): dev@0 ino@8 nlink@16 mode@24 uid@28 gid@32 rdev@40 size@48
        // blksize@56 blocks@64 atime@72 mtime@88 ctime@104.
        internal long WriteStat(ulong address)
        {
            byte* stat = stackalloc byte[144];
            Native.MemSet(stat, 0, 144);
            *(ulong*)(stat + 0) = Device;
            *(ulong*)(stat + 8) = Inode;
            *(ulong*)(stat + 16) = Links;
            *(uint*)(stat + 24) = Mode;
            *(uint*)(stat + 28) = Uid;
            *(uint*)(stat + 32) = Gid;
            *(ulong*)(stat + 40) = Rdev;
            *(ulong*)(stat + 48) = Size;
            *(ulong*)(stat + 56) = BlockSize;
            *(ulong*)(stat + 64) = Blocks;
            *(ulong*)(stat + 72) = AtimeSec; *(ulong*)(stat + 80) = AtimeNsec;
            *(ulong*)(stat + 88) = MtimeSec; *(ulong*)(stat + 96) = MtimeNsec;
            *(ulong*)(stat + 104) = CtimeSec; *(ulong*)(stat + 112) = CtimeNsec;
            return UserMemory.CopyToUser(address, stat, 144) ? 0 : -Errno.EFAULT;
        }

        // struct statx (include/uapi/linux/stat.h, 256 bytes).
        internal long WriteStatx(ulong address)
        {
            byte* x = stackalloc byte[256];
            Native.MemSet(x, 0, 256);
            const uint STATX_BASIC_STATS = 0x7ff, STATX_BTIME = 0x800;
            *(uint*)(x + 0) = STATX_BASIC_STATS | (HasBirthTime ? STATX_BTIME : 0);
            *(uint*)(x + 4) = (uint)BlockSize;
            *(uint*)(x + 16) = (uint)Links;
            *(uint*)(x + 20) = Uid;
            *(uint*)(x + 24) = Gid;
            *(ushort*)(x + 28) = (ushort)Mode;
            *(ulong*)(x + 32) = Inode;
            *(ulong*)(x + 40) = Size;
            *(ulong*)(x + 48) = Blocks;
            *(ulong*)(x + 64) = AtimeSec; *(uint*)(x + 72) = (uint)AtimeNsec;
            *(ulong*)(x + 80) = BtimeSec; *(uint*)(x + 88) = (uint)BtimeNsec;
            *(ulong*)(x + 96) = CtimeSec; *(uint*)(x + 104) = (uint)CtimeNsec;
            *(ulong*)(x + 112) = MtimeSec; *(uint*)(x + 120) = (uint)MtimeNsec;
            *(uint*)(x + 128) = (uint)(Rdev >> 8) & 0xfff; *(uint*)(x + 132) = (uint)(Rdev & 0xff);
            *(uint*)(x + 136) = (uint)(Device >> 8); *(uint*)(x + 140) = (uint)(Device & 0xff);
            return UserMemory.CopyToUser(address, x, 256) ? 0 : -Errno.EFAULT;
        }
    }
}
