namespace Libra.Shims.NineP
{
    // 9P2000.L message numbers (diod protocol.md, Linux include/net/9p/9p.h enum p9_msg_t): T is even, R = T + 1.
    internal enum NinePType : byte
    {
        Tlerror = 6, Rlerror = 7,
        Tstatfs = 8, Rstatfs = 9,
        Tlopen = 12, Rlopen = 13,
        Tlcreate = 14, Rlcreate = 15,
        Tsymlink = 16, Rsymlink = 17,
        Tmknod = 18, Rmknod = 19,
        Trename = 20, Rrename = 21,
        Treadlink = 22, Rreadlink = 23,
        Tgetattr = 24, Rgetattr = 25,
        Tsetattr = 26, Rsetattr = 27,
        Txattrwalk = 30, Rxattrwalk = 31,
        Txattrcreate = 32, Rxattrcreate = 33,
        Treaddir = 40, Rreaddir = 41,
        Tfsync = 50, Rfsync = 51,
        Tlock = 52, Rlock = 53,
        Tgetlock = 54, Rgetlock = 55,
        Tlink = 70, Rlink = 71,
        Tmkdir = 72, Rmkdir = 73,
        Trenameat = 74, Rrenameat = 75,
        Tunlinkat = 76, Runlinkat = 77,
        Tversion = 100, Rversion = 101,
        Tauth = 102, Rauth = 103,
        Tattach = 104, Rattach = 105,
        Tflush = 108, Rflush = 109,
        Twalk = 110, Rwalk = 111,
        Tread = 116, Rread = 117,
        Twrite = 118, Rwrite = 119,
        Tclunk = 120, Rclunk = 121,
        Tremove = 122, Rremove = 123,
    }

    // Protocol constants (diod protocol.md, Linux include/net/9p/9p.h).
    internal static class NinePProtocol
    {
        internal const ushort NoTag = 0xffff;           // Tversion's tag; never allocated
        internal const uint NoFid = 0xffffffff;         // "no auth fid" in Tattach; never allocated
        internal const uint NoUid = 0xffffffff;         // NONUNAME: n_uname not given
        internal const int MaxWalkNames = 16;           // MAXWELEM: names per Twalk
        internal const int HeaderSize = 7;              // size[4] type[1] tag[2]
        internal const int QidSize = 13;                // type[1] version[4] path[8]
        internal const int IoHeaderSize = 24;           // P9_IOHDRSZ: Tread/Twrite payload ≤ msize − 24
        internal const int RreadHeaderSize = 11;        // size[4] type[1] tag[2] count[4]
        internal const int TwriteHeaderSize = 23;       // size[4] type[1] tag[2] fid[4] offset[8] count[4]
        internal const int ReaddirHeaderSize = 11;      // Rreaddir's size[4] type[1] tag[2] count[4] (Linux's P9_READDIRHDRSZ, 24, is a count margin)
        internal const uint MinMsize = 4096;            // QEMU's P9_MIN_MSIZE; smaller Tversions are refused

        // Qid.Type bits (9P2000.L qid type).
        internal const byte QidDirectory = 0x80, QidAppend = 0x40, QidExclusive = 0x20, QidMount = 0x10,
            QidAuth = 0x08, QidTemporary = 0x04, QidSymlink = 0x02, QidFile = 0x00;

        // Tgetattr request_mask / Rgetattr valid bits (9P2000.L Tgetattr, P9_GETATTR_*).
        internal const ulong GetattrMode = 0x1, GetattrNlink = 0x2, GetattrUid = 0x4, GetattrGid = 0x8,
            GetattrRdev = 0x10, GetattrAtime = 0x20, GetattrMtime = 0x40, GetattrCtime = 0x80, GetattrIno = 0x100,
            GetattrSize = 0x200, GetattrBlocks = 0x400, GetattrBtime = 0x800, GetattrGen = 0x1000,
            GetattrDataVersion = 0x2000, GetattrBasic = 0x7ff, GetattrAll = 0x3fff;

        // Tsetattr valid bits (9P2000.L Tsetattr, P9_ATTR_*); without *Set the server stamps its current time.
        internal const uint SetattrMode = 0x1, SetattrUid = 0x2, SetattrGid = 0x4, SetattrSize = 0x8,
            SetattrAtime = 0x10, SetattrMtime = 0x20, SetattrCtime = 0x40, SetattrAtimeSet = 0x80, SetattrMtimeSet = 0x100;

        // Tunlinkat flags: Linux AT_REMOVEDIR (9P2000.L Tunlinkat passes the unlinkat(2) flag through).
        internal const uint UnlinkRemoveDirectory = 0x200;

        // Tlopen/Tlcreate flags are 9P2000.L's P9_DOTL_* values, which equal Linux x86-64's O_* numbers.
        internal const uint OpenReadOnly = 0, OpenWriteOnly = 1, OpenReadWrite = 2, OpenCreate = 0x40,
            OpenExclusive = 0x80, OpenTruncate = 0x200, OpenAppend = 0x400, OpenDirectory = 0x10000;

        // Not in Shims/Errno: the encoders' "message does not fit the buffer" (Linux EMSGSIZE).
        internal const int EMSGSIZE = 90;
    }
}
