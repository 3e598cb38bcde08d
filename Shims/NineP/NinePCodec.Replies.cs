using System;
using System.Runtime.CompilerServices;

namespace Libra.Shims.NineP
{
    // R-message decoders. Each takes the bytes received, the session's msize and the request's tag, and
    // returns 0 with the fields, or -errno: the server's Rlerror ecode, or EIO for a reply that is
    // malformed (size[4] past the buffer or msize, short or trailing fields, a string past the end)
    // or of the wrong type for the request. Spans handed back point into `reply`.
    internal static partial class NinePCodec
    {
        // 9P2000.L Rversion: msize[4] version[s] on NOTAG. The server may lower msize, never raise it
        // (diod protocol.md "version"); `proposed` is the msize this client sent.
        internal static int Rversion(ReadOnlySpan<byte> reply, uint proposed, out uint msize, out ReadOnlySpan<byte> version)
        {
            msize = 0;
            version = default;
            int error = NinePReader.Open(reply, proposed, NinePProtocol.NoTag, NinePType.Rversion, out NinePReader r);
            if (error != 0) return error;
            uint agreed = r.U32();
            ReadOnlySpan<byte> name = r.String();
            if (r.End() != 0 || agreed > proposed) return -(int)Errno.EIO;
            msize = agreed;
            version = name;
            return 0;
        }

        // 9P2000.L Rauth: aqid[13]. diod -n answers Tauth with Rlerror ENOENT: no auth needed.
        internal static int Rauth(ReadOnlySpan<byte> reply, uint msize, ushort tag, out NinePQid qid) =>
            QidReply(reply, msize, tag, NinePType.Rauth, out qid);

        // 9P2000.L Rattach: qid[13] of the export's root.
        internal static int Rattach(ReadOnlySpan<byte> reply, uint msize, ushort tag, out NinePQid qid) =>
            QidReply(reply, msize, tag, NinePType.Rattach, out qid);

        // 9P2000.L Rmkdir: qid[13] of the new directory.
        internal static int Rmkdir(ReadOnlySpan<byte> reply, uint msize, ushort tag, out NinePQid qid) =>
            QidReply(reply, msize, tag, NinePType.Rmkdir, out qid);

        // 9P2000.L Rsymlink: qid[13] of the new link.
        internal static int Rsymlink(ReadOnlySpan<byte> reply, uint msize, ushort tag, out NinePQid qid) =>
            QidReply(reply, msize, tag, NinePType.Rsymlink, out qid);

        // 9P2000.L Rmknod: qid[13] of the new node.
        internal static int Rmknod(ReadOnlySpan<byte> reply, uint msize, ushort tag, out NinePQid qid) =>
            QidReply(reply, msize, tag, NinePType.Rmknod, out qid);

        private static int QidReply(ReadOnlySpan<byte> reply, uint msize, ushort tag, NinePType expected, out NinePQid qid)
        {
            qid = default;
            int error = NinePReader.Open(reply, msize, tag, expected, out NinePReader r);
            if (error != 0) return error;
            NinePQid value = r.Qid();
            if (r.End() != 0) return -(int)Errno.EIO;
            qid = value;
            return 0;
        }

        // 9P2000.L Rwalk: nwqid[2] qid[13]*, one qid per name walked. Fewer qids than names means the walk
        // stopped at a missing name and newfid was not made (diod protocol.md "walk"); more than
        // MAXWELEM or than `qids` holds is malformed.
        internal static int Rwalk(ReadOnlySpan<byte> reply, uint msize, ushort tag, Span<NinePQid> qids, out int count)
        {
            count = 0;
            int error = NinePReader.Open(reply, msize, tag, NinePType.Rwalk, out NinePReader r);
            if (error != 0) return error;
            int n = r.U16();
            if (n > NinePProtocol.MaxWalkNames || n > qids.Length || r.Remaining != n * NinePProtocol.QidSize) return -(int)Errno.EIO;
            for (int i = 0; i < n; i++) qids[i] = r.Qid();
            if (r.End() != 0) return -(int)Errno.EIO;
            count = n;
            return 0;
        }

        // 9P2000.L Rlopen: qid[13] iounit[4] (0: no limit beyond msize − 24).
        internal static int Rlopen(ReadOnlySpan<byte> reply, uint msize, ushort tag, out NinePQid qid, out uint iounit) =>
            OpenReply(reply, msize, tag, NinePType.Rlopen, out qid, out iounit);

        // 9P2000.L Rlcreate: qid[13] iounit[4] of the created, now open, file.
        internal static int Rlcreate(ReadOnlySpan<byte> reply, uint msize, ushort tag, out NinePQid qid, out uint iounit) =>
            OpenReply(reply, msize, tag, NinePType.Rlcreate, out qid, out iounit);

        private static int OpenReply(ReadOnlySpan<byte> reply, uint msize, ushort tag, NinePType expected, out NinePQid qid, out uint iounit)
        {
            qid = default;
            iounit = 0;
            int error = NinePReader.Open(reply, msize, tag, expected, out NinePReader r);
            if (error != 0) return error;
            NinePQid q = r.Qid();
            uint unit = r.U32();
            if (r.End() != 0) return -(int)Errno.EIO;
            qid = q;
            iounit = unit;
            return 0;
        }

        // 9P2000.L Rread: count[4] data[count]; `data` is a view of the bytes in `reply`.
        internal static int Rread(ReadOnlySpan<byte> reply, uint msize, ushort tag, out ReadOnlySpan<byte> data)
        {
            data = default;
            int error = NinePReader.Open(reply, msize, tag, NinePType.Rread, out NinePReader r);
            if (error != 0) return error;
            uint count = r.U32();
            if (r.Failed || count != (uint)r.Remaining) return -(int)Errno.EIO;
            data = r.Bytes((int)count);
            return 0;
        }

        // Rread received in two pieces: its 11-byte header in `header` and the data straight into the
        // caller's buffer of `payloadCapacity` bytes (Linux p9_virtio_zc_request). `received` is the
        // total the transport wrote (a virtio used-ring length). An Rlerror fits the header exactly.
        internal static int RreadHeader(ReadOnlySpan<byte> header, int received, int payloadCapacity, uint msize, ushort tag, out int count)
        {
            count = 0;
            if (header.Length < NinePProtocol.RreadHeaderSize || received < NinePProtocol.HeaderSize || payloadCapacity < 0) return -(int)Errno.EIO;
            uint size = Unsafe.As<byte, uint>(ref Unsafe.AsRef(in header[0]));
            byte type = header[4];
            ushort replyTag = Unsafe.As<byte, ushort>(ref Unsafe.AsRef(in header[5]));
            if (replyTag != tag || size > msize || size > (uint)received) return -(int)Errno.EIO;
            if (type == (byte)NinePType.Rlerror)
            {
                if (size != NinePProtocol.RreadHeaderSize) return -(int)Errno.EIO;
                return NinePReader.LinuxError(Unsafe.As<byte, uint>(ref Unsafe.AsRef(in header[7])));
            }
            if (type != (byte)NinePType.Rread) return -(int)Errno.EIO;
            uint n = Unsafe.As<byte, uint>(ref Unsafe.AsRef(in header[7]));
            if (n > (uint)payloadCapacity || size != NinePProtocol.RreadHeaderSize + n) return -(int)Errno.EIO;
            count = (int)n;
            return 0;
        }

        // 9P2000.L Rwrite: count[4], the bytes the server took (it may take fewer than sent).
        internal static int Rwrite(ReadOnlySpan<byte> reply, uint msize, ushort tag, out uint count)
        {
            count = 0;
            int error = NinePReader.Open(reply, msize, tag, NinePType.Rwrite, out NinePReader r);
            if (error != 0) return error;
            uint n = r.U32();
            if (r.End() != 0) return -(int)Errno.EIO;
            count = n;
            return 0;
        }

        // 9P2000.L Rgetattr: valid[8] qid[13] mode[4] uid[4] gid[4] nlink[8] rdev[8] size[8] blksize[8]
        // blocks[8] atime/mtime/ctime/btime sec[8] nsec[8] gen[8] data_version[8].
        internal static int Rgetattr(ReadOnlySpan<byte> reply, uint msize, ushort tag, out NinePAttr attr)
        {
            attr = default;
            int error = NinePReader.Open(reply, msize, tag, NinePType.Rgetattr, out NinePReader r);
            if (error != 0) return error;
            NinePAttr a;
            a.Valid = r.U64();
            a.Qid = r.Qid();
            a.Mode = r.U32();
            a.Uid = r.U32();
            a.Gid = r.U32();
            a.Nlink = r.U64();
            a.Rdev = r.U64();
            a.Size = r.U64();
            a.BlockSize = r.U64();
            a.Blocks = r.U64();
            a.AtimeSec = r.U64();
            a.AtimeNsec = r.U64();
            a.MtimeSec = r.U64();
            a.MtimeNsec = r.U64();
            a.CtimeSec = r.U64();
            a.CtimeNsec = r.U64();
            a.BtimeSec = r.U64();
            a.BtimeNsec = r.U64();
            a.Generation = r.U64();
            a.DataVersion = r.U64();
            if (r.End() != 0) return -(int)Errno.EIO;
            attr = a;
            return 0;
        }

        // 9P2000.L Rreaddir: count[4] data[count], walked with NinePDirents (count 0: end of directory).
        internal static int Rreaddir(ReadOnlySpan<byte> reply, uint msize, ushort tag, out NinePDirents entries)
        {
            entries = default;
            int error = NinePReader.Open(reply, msize, tag, NinePType.Rreaddir, out NinePReader r);
            if (error != 0) return error;
            uint count = r.U32();
            if (r.Failed || count != (uint)r.Remaining) return -(int)Errno.EIO;
            entries = new NinePDirents(r.Bytes((int)count));
            return 0;
        }

        // 9P2000.L Rreadlink: target[s].
        internal static int Rreadlink(ReadOnlySpan<byte> reply, uint msize, ushort tag, out ReadOnlySpan<byte> target)
        {
            target = default;
            int error = NinePReader.Open(reply, msize, tag, NinePType.Rreadlink, out NinePReader r);
            if (error != 0) return error;
            ReadOnlySpan<byte> value = r.String();
            if (r.End() != 0) return -(int)Errno.EIO;
            target = value;
            return 0;
        }

        // 9P2000.L Rstatfs: type[4] bsize[4] blocks[8] bfree[8] bavail[8] files[8] ffree[8] fsid[8] namelen[4].
        internal static int Rstatfs(ReadOnlySpan<byte> reply, uint msize, ushort tag, out NinePStatFs statfs)
        {
            statfs = default;
            int error = NinePReader.Open(reply, msize, tag, NinePType.Rstatfs, out NinePReader r);
            if (error != 0) return error;
            NinePStatFs s;
            s.Type = r.U32();
            s.BlockSize = r.U32();
            s.Blocks = r.U64();
            s.BlocksFree = r.U64();
            s.BlocksAvailable = r.U64();
            s.Files = r.U64();
            s.FilesFree = r.U64();
            s.FsId = r.U64();
            s.NameLength = r.U32();
            if (r.End() != 0) return -(int)Errno.EIO;
            statfs = s;
            return 0;
        }

        // The replies with an empty body: Rclunk, Rremove, Rsetattr, Rfsync, Rflush, Rlink, Rrename,
        // Rrenameat, Runlinkat (9P2000.L), by the type `expected`.
        internal static int Rempty(ReadOnlySpan<byte> reply, uint msize, ushort tag, NinePType expected)
        {
            int error = NinePReader.Open(reply, msize, tag, expected, out NinePReader r);
            if (error != 0) return error;
            return r.End();
        }

        internal static int Rclunk(ReadOnlySpan<byte> reply, uint msize, ushort tag) => Rempty(reply, msize, tag, NinePType.Rclunk);
        internal static int Rremove(ReadOnlySpan<byte> reply, uint msize, ushort tag) => Rempty(reply, msize, tag, NinePType.Rremove);
        internal static int Rsetattr(ReadOnlySpan<byte> reply, uint msize, ushort tag) => Rempty(reply, msize, tag, NinePType.Rsetattr);
        internal static int Rfsync(ReadOnlySpan<byte> reply, uint msize, ushort tag) => Rempty(reply, msize, tag, NinePType.Rfsync);
        internal static int Rflush(ReadOnlySpan<byte> reply, uint msize, ushort tag) => Rempty(reply, msize, tag, NinePType.Rflush);
        internal static int Rlink(ReadOnlySpan<byte> reply, uint msize, ushort tag) => Rempty(reply, msize, tag, NinePType.Rlink);
        internal static int Rrename(ReadOnlySpan<byte> reply, uint msize, ushort tag) => Rempty(reply, msize, tag, NinePType.Rrename);
        internal static int Rrenameat(ReadOnlySpan<byte> reply, uint msize, ushort tag) => Rempty(reply, msize, tag, NinePType.Rrenameat);
        internal static int Runlinkat(ReadOnlySpan<byte> reply, uint msize, ushort tag) => Rempty(reply, msize, tag, NinePType.Runlinkat);

        // The tag of a received message, for a transport that matches replies to requests (0xffff when
        // too short to have one, which no request uses but Tversion).
        internal static ushort TagOf(ReadOnlySpan<byte> message) =>
            message.Length < NinePProtocol.HeaderSize ? NinePProtocol.NoTag : Unsafe.As<byte, ushort>(ref Unsafe.AsRef(in message[5]));

        // The size[4] a received message claims (0 when fewer than 4 bytes are there): how many bytes
        // a stream transport must read in all.
        internal static uint SizeOf(ReadOnlySpan<byte> message) =>
            message.Length < 4 ? 0 : Unsafe.As<byte, uint>(ref Unsafe.AsRef(in message[0]));
    }
}
