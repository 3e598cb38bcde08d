using System;

namespace Libra.Shims.NineP
{
    // A server's unique file identity (9P2000.L qid: type[1] version[4] path[8]); Path is the inode-like key.
    internal struct NinePQid
    {
        internal byte Type;
        internal uint Version;
        internal ulong Path;

        internal bool IsDirectory => (Type & NinePProtocol.QidDirectory) != 0;
        internal bool IsSymlink => (Type & NinePProtocol.QidSymlink) != 0;
    }

    // Rgetattr's body in wire order (9P2000.L Rgetattr); only the fields whose bit is set in Valid are meaningful.
    internal struct NinePAttr
    {
        internal ulong Valid;
        internal NinePQid Qid;
        internal uint Mode, Uid, Gid;
        internal ulong Nlink, Rdev, Size, BlockSize, Blocks;
        internal ulong AtimeSec, AtimeNsec, MtimeSec, MtimeNsec, CtimeSec, CtimeNsec, BtimeSec, BtimeNsec;
        internal ulong Generation, DataVersion;
    }

    // Tsetattr's body after the fid (9P2000.L Tsetattr); Valid selects the fields the server applies.
    internal struct NinePSetAttr
    {
        internal uint Valid, Mode, Uid, Gid;
        internal ulong Size, AtimeSec, AtimeNsec, MtimeSec, MtimeNsec;
    }

    // Rstatfs's body (9P2000.L Rstatfs), the fields of Linux struct statfs.
    internal struct NinePStatFs
    {
        internal uint Type, BlockSize;
        internal ulong Blocks, BlocksFree, BlocksAvailable, Files, FilesFree, FsId;
        internal uint NameLength;
    }

    // One entry of an Rreaddir payload (9P2000.L Treaddir: qid[13] offset[8] type[1] name[s]). Offset is
    // the cookie for the next Treaddir; Type is a Linux DT_* value; Name points into the reply buffer.
    internal ref struct NinePDirent
    {
        internal NinePQid Qid;
        internal ulong Offset;
        internal byte Type;
        internal ReadOnlySpan<byte> Name;
    }
}
