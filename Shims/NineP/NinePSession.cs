using System;

namespace Libra.Shims.NineP
{
    // One 9P2000.L session as a host-testable struct over any transport: setup, fid and tag
    // bookkeeping, and each file operation as one or two round trips, with the fallbacks Linux v9fs
    // uses for servers without Trenameat/Tunlinkat (diod 1.0.24). Requests go one at a time through
    // the caller's two msize buffers; the caller serialises calls. Every method returns 0 (or a
    // byte count) or -errno: a server Rlerror, EIO for a malformed reply, or the transport's error.
    internal unsafe struct NinePSession
    {
        // Moves one exchange (see NinePExchange) and returns 0 or -errno; context is the transport's.
        private delegate*<void*, NinePExchange*, int> _transport;
        private void* _context;
        private byte* _request;
        private byte* _reply;
        private int _bufferSize;
        private uint _msize;
        private uint _root;
        private NinePTags _tags;
        private NinePFids _fids;
        private bool _noRenameat;
        private bool _noUnlinkat;

        // `request` and `reply` hold bufferSize bytes each (the largest msize Connect may agree to);
        // fidWords is the fid bitmap (64 fids a word). All stay the caller's.
        internal NinePSession(delegate*<void*, NinePExchange*, int> transport, void* context, byte* request, byte* reply, int bufferSize, ulong* fidWords, int fidWordCount)
        {
            _transport = transport;
            _context = context;
            _request = request;
            _reply = reply;
            _bufferSize = bufferSize;
            _msize = 0;
            _root = NinePProtocol.NoFid;
            _tags = default;
            _fids = new NinePFids(fidWords, fidWordCount);
            _noRenameat = false;
            _noUnlinkat = false;
        }

        internal uint Msize => _msize;
        internal uint RootFid => _root;
        // The most file data one Tread/Twrite carries (P9_IOHDRSZ below msize).
        internal int MaxIo => (int)_msize - NinePProtocol.IoHeaderSize;
        internal int FidsInUse => _fids.InUse;
        // What the server was found to lack (diod 1.0.24 lacks both: EOPNOTSUPP).
        internal bool UsesRenameFallback => _noRenameat;
        internal bool UsesUnlinkFallback => _noUnlinkat;

        // Tversion then Tattach of `aname` as `uid` (diod protocol.md "A typical session"): 0 with RootFid
        // set, EIO when the server speaks another dialect or agrees to an msize below 4096.
        internal int Connect(uint msize, ReadOnlySpan<byte> aname, uint uid)
        {
            if (msize > (uint)_bufferSize) msize = (uint)_bufferSize;
            _msize = msize;   // the limit on the Rversion itself
            int got = Exchange(NinePCodec.Tversion(Request, msize));
            if (got < 0) return got;
            int error = NinePCodec.Rversion(Reply(got), msize, out uint agreed, out ReadOnlySpan<byte> version);
            if (error != 0) return error;
            if (!NinePCodec.IsVersion(version) || agreed < NinePProtocol.MinMsize) return -(int)Errno.EIO;
            _msize = agreed;

            if (!_fids.TryAllocate(out uint root)) return -(int)Errno.ENFILE;
            if (!BeginTag(out ushort tag)) { _fids.Free(root); return -(int)Errno.EAGAIN; }
            got = Exchange(NinePCodec.Tattach(Request, tag, root, NinePProtocol.NoFid, default, aname, uid));
            error = got < 0 ? got : NinePCodec.Rattach(Reply(got), _msize, tag, out NinePQid qid);
            _tags.Free(tag);
            if (error != 0) { _fids.Free(root); return error; }
            _root = root;
            return 0;
        }

        // Twalk from `fid` along '/'-separated `path` to a new fid (more than 16 names in several
        // walks); "" clones. qid is the last name's (default for a clone). A name that does not
        // exist is ENOENT and no fid is left behind.
        internal int Walk(uint fid, ReadOnlySpan<byte> path, out uint newFid, out NinePQid qid)
        {
            newFid = NinePProtocol.NoFid;
            qid = default;
            NinePQid* qids = stackalloc NinePQid[NinePProtocol.MaxWalkNames];
            uint from = fid;
            ReadOnlySpan<byte> rest = path;
            do
            {
                NinePCodec.SplitWalk(rest, NinePProtocol.MaxWalkNames, out ReadOnlySpan<byte> step, out rest);
                int names = NinePCodec.WalkNameCount(step);
                int error = WalkStep(from, step, names, qids, out uint to);
                if (from != fid) Clunk(from);
                if (error != 0) return error;
                from = to;
                if (names > 0) qid = qids[names - 1];
            } while (rest.Length > 0);
            newFid = from;
            return 0;
        }

        private int WalkStep(uint from, ReadOnlySpan<byte> names, int count, NinePQid* qids, out uint to)
        {
            if (!_fids.TryAllocate(out to)) return -(int)Errno.ENFILE;
            if (!BeginTag(out ushort tag)) { _fids.Free(to); return -(int)Errno.EAGAIN; }
            int got = Exchange(NinePCodec.Twalk(Request, tag, from, to, names));
            int walked = 0;
            int error = got < 0 ? got : NinePCodec.Rwalk(Reply(got), _msize, tag, new Span<NinePQid>(qids, NinePProtocol.MaxWalkNames), out walked);
            _tags.Free(tag);
            // Fewer qids than names: the walk stopped and newfid was not made (diod protocol.md "walk").
            if (error == 0 && walked != count) error = walked < count ? -(int)Errno.ENOENT : -(int)Errno.EIO;
            if (error != 0) { _fids.Free(to); to = NinePProtocol.NoFid; }
            return error;
        }

        // Tlopen: opens a walked fid with Linux open flags.
        internal int Open(uint fid, uint flags, out NinePQid qid, out uint iounit)
        {
            qid = default;
            iounit = 0;
            if (!BeginTag(out ushort tag)) return -(int)Errno.EAGAIN;
            int got = Exchange(NinePCodec.Tlopen(Request, tag, fid, flags));
            int error = got < 0 ? got : NinePCodec.Rlopen(Reply(got), _msize, tag, out qid, out iounit);
            _tags.Free(tag);
            return error;
        }

        // Tlcreate on a clone of directoryFid (which stays the directory): `file` is the new, open file.
        internal int Create(uint directoryFid, ReadOnlySpan<byte> name, uint flags, uint mode, uint gid, out uint file, out NinePQid qid, out uint iounit)
        {
            qid = default;
            iounit = 0;
            int error = Walk(directoryFid, default, out file, out _);
            if (error != 0) return error;
            if (!BeginTag(out ushort tag)) { Clunk(file); file = NinePProtocol.NoFid; return -(int)Errno.EAGAIN; }
            int got = Exchange(NinePCodec.Tlcreate(Request, tag, file, name, flags, mode, gid));
            error = got < 0 ? got : NinePCodec.Rlcreate(Reply(got), _msize, tag, out qid, out iounit);
            _tags.Free(tag);
            if (error != 0) { Clunk(file); file = NinePProtocol.NoFid; }
            return error;
        }

        // Tread of up to MaxIo bytes at `offset`, the data landing straight in `destination`: the byte
        // count (0 at end of file) or -errno.
        internal int Read(uint fid, ulong offset, Span<byte> destination)
        {
            int count = destination.Length < MaxIo ? destination.Length : MaxIo;
            if (!BeginTag(out ushort tag)) return -(int)Errno.EAGAIN;
            int n = NinePCodec.Tread(Request, tag, fid, offset, (uint)count);
            int result;
            if (n < 0) result = n;
            else
            {
                fixed (byte* data = destination)
                {
                    NinePExchange x = default;
                    x.Request = _request;
                    x.RequestLength = n;
                    x.Reply = _reply;
                    x.ReplyCapacity = NinePProtocol.RreadHeaderSize;
                    x.ReplyData = data;
                    x.ReplyDataCapacity = count;
                    result = _transport(_context, &x);
                    if (result == 0)
                    {
                        result = NinePCodec.RreadHeader(Reply(NinePProtocol.RreadHeaderSize), x.Received, count, _msize, tag, out int read);
                        if (result == 0) result = read;
                    }
                }
            }
            _tags.Free(tag);
            return result;
        }

        // Twrite of up to MaxIo bytes from `source` at `offset`, sent straight from the caller's memory:
        // the bytes the server took or -errno.
        internal int Write(uint fid, ulong offset, ReadOnlySpan<byte> source)
        {
            int count = source.Length < MaxIo ? source.Length : MaxIo;
            if (!BeginTag(out ushort tag)) return -(int)Errno.EAGAIN;
            int n = NinePCodec.TwriteHeader(Request, tag, fid, offset, (uint)count);
            int result;
            if (n < 0) result = n;
            else
            {
                fixed (byte* data = source)
                {
                    NinePExchange x = default;
                    x.Request = _request;
                    x.RequestLength = n;
                    x.RequestData = data;
                    x.RequestDataLength = count;
                    x.Reply = _reply;
                    x.ReplyCapacity = (int)_msize;
                    result = _transport(_context, &x);
                    if (result == 0)
                    {
                        result = NinePCodec.Rwrite(Reply(x.Received), _msize, tag, out uint written);
                        if (result == 0) result = written <= (uint)count ? (int)written : -(int)Errno.EIO;
                    }
                }
            }
            _tags.Free(tag);
            return result;
        }

        // Tclunk: the fid is forgotten whatever the reply (diod protocol.md "clunk").
        internal int Clunk(uint fid)
        {
            int error = Simple(NinePType.Tclunk, fid);
            _fids.Free(fid);
            if (fid == _root) _root = NinePProtocol.NoFid;
            return error;
        }

        // Tremove: removes fid's file; the fid is clunked whatever the reply.
        internal int Remove(uint fid)
        {
            int error = Simple(NinePType.Tremove, fid);
            _fids.Free(fid);
            return error;
        }

        // Tfsync (dataSync nonzero: fdatasync).
        internal int Fsync(uint fid, bool dataSync)
        {
            if (!BeginTag(out ushort tag)) return -(int)Errno.EAGAIN;
            int got = Exchange(NinePCodec.Tfsync(Request, tag, fid, dataSync ? 1u : 0u));
            int error = got < 0 ? got : NinePCodec.Rfsync(Reply(got), _msize, tag);
            _tags.Free(tag);
            return error;
        }

        private int Simple(NinePType type, uint fid)
        {
            if (!BeginTag(out ushort tag)) return -(int)Errno.EAGAIN;
            int n = type == NinePType.Tclunk ? NinePCodec.Tclunk(Request, tag, fid) : NinePCodec.Tremove(Request, tag, fid);
            int got = Exchange(n);
            int error = got < 0 ? got : NinePCodec.Rempty(Reply(got), _msize, tag, (NinePType)((byte)type + 1));
            _tags.Free(tag);
            return error;
        }

        // Tgetattr with a NinePProtocol.Getattr* mask.
        internal int GetAttr(uint fid, ulong mask, out NinePAttr attr)
        {
            attr = default;
            if (!BeginTag(out ushort tag)) return -(int)Errno.EAGAIN;
            int got = Exchange(NinePCodec.Tgetattr(Request, tag, fid, mask));
            int error = got < 0 ? got : NinePCodec.Rgetattr(Reply(got), _msize, tag, out attr);
            _tags.Free(tag);
            return error;
        }

        // Tsetattr (truncate, chmod, chown, utimes).
        internal int SetAttr(uint fid, in NinePSetAttr attr)
        {
            if (!BeginTag(out ushort tag)) return -(int)Errno.EAGAIN;
            int got = Exchange(NinePCodec.Tsetattr(Request, tag, fid, attr));
            int error = got < 0 ? got : NinePCodec.Rsetattr(Reply(got), _msize, tag);
            _tags.Free(tag);
            return error;
        }

        // Treaddir from `offset` (0, or the last entry's Offset) on an open directory fid; `entries`
        // views the reply buffer and holds until the next call. No entries: end of directory.
        internal int ReadDirectory(uint fid, ulong offset, out NinePDirents entries)
        {
            entries = default;
            if (!BeginTag(out ushort tag)) return -(int)Errno.EAGAIN;
            // Like Tread, at most msize − 24 (P9_IOHDRSZ): diod answers a larger count with EIO.
            uint count = (uint)MaxIo;
            int got = Exchange(NinePCodec.Treaddir(Request, tag, fid, offset, count));
            int error = got < 0 ? got : NinePCodec.Rreaddir(Reply(got), _msize, tag, out entries);
            _tags.Free(tag);
            return error;
        }

        // Tmkdir in directoryFid.
        internal int MakeDirectory(uint directoryFid, ReadOnlySpan<byte> name, uint mode, uint gid, out NinePQid qid)
        {
            qid = default;
            if (!BeginTag(out ushort tag)) return -(int)Errno.EAGAIN;
            int got = Exchange(NinePCodec.Tmkdir(Request, tag, directoryFid, name, mode, gid));
            int error = got < 0 ? got : NinePCodec.Rmkdir(Reply(got), _msize, tag, out qid);
            _tags.Free(tag);
            return error;
        }

        // Tsymlink: `name` in directoryFid pointing at `target`.
        internal int Symlink(uint directoryFid, ReadOnlySpan<byte> name, ReadOnlySpan<byte> target, uint gid, out NinePQid qid)
        {
            qid = default;
            if (!BeginTag(out ushort tag)) return -(int)Errno.EAGAIN;
            int got = Exchange(NinePCodec.Tsymlink(Request, tag, directoryFid, name, target, gid));
            int error = got < 0 ? got : NinePCodec.Rsymlink(Reply(got), _msize, tag, out qid);
            _tags.Free(tag);
            return error;
        }

        // Tmknod (FIFOs, sockets, devices) in directoryFid.
        internal int MakeNode(uint directoryFid, ReadOnlySpan<byte> name, uint mode, uint major, uint minor, uint gid, out NinePQid qid)
        {
            qid = default;
            if (!BeginTag(out ushort tag)) return -(int)Errno.EAGAIN;
            int got = Exchange(NinePCodec.Tmknod(Request, tag, directoryFid, name, mode, major, minor, gid));
            int error = got < 0 ? got : NinePCodec.Rmknod(Reply(got), _msize, tag, out qid);
            _tags.Free(tag);
            return error;
        }

        // Tlink: a hard link to fid named `name` in directoryFid.
        internal int Link(uint directoryFid, uint fid, ReadOnlySpan<byte> name)
        {
            if (!BeginTag(out ushort tag)) return -(int)Errno.EAGAIN;
            int got = Exchange(NinePCodec.Tlink(Request, tag, directoryFid, fid, name));
            int error = got < 0 ? got : NinePCodec.Rlink(Reply(got), _msize, tag);
            _tags.Free(tag);
            return error;
        }

        // Treadlink into `target`: the target's length (cut to fit, as readlink(2) does) or -errno.
        internal int ReadLink(uint fid, Span<byte> target)
        {
            if (!BeginTag(out ushort tag)) return -(int)Errno.EAGAIN;
            int got = Exchange(NinePCodec.Treadlink(Request, tag, fid));
            ReadOnlySpan<byte> value = default;
            int result = got < 0 ? got : NinePCodec.Rreadlink(Reply(got), _msize, tag, out value);
            _tags.Free(tag);
            if (result != 0) return result;
            int n = value.Length < target.Length ? value.Length : target.Length;
            for (int i = 0; i < n; i++) target[i] = value[i];
            return n;
        }

        // Tstatfs.
        internal int StatFs(uint fid, out NinePStatFs statfs)
        {
            statfs = default;
            if (!BeginTag(out ushort tag)) return -(int)Errno.EAGAIN;
            int got = Exchange(NinePCodec.Tstatfs(Request, tag, fid));
            int error = got < 0 ? got : NinePCodec.Rstatfs(Reply(got), _msize, tag, out statfs);
            _tags.Free(tag);
            return error;
        }

        // unlink/rmdir of `name` in directoryFid: Tunlinkat, or, on a server without it, Twalk to the
        // name and Tremove (Linux v9fs_remove does the same).
        internal int Unlink(uint directoryFid, ReadOnlySpan<byte> name, uint flags)
        {
            if (!_noUnlinkat)
            {
                if (!BeginTag(out ushort tag)) return -(int)Errno.EAGAIN;
                int got = Exchange(NinePCodec.Tunlinkat(Request, tag, directoryFid, name, flags));
                int error = got < 0 ? got : NinePCodec.Runlinkat(Reply(got), _msize, tag);
                _tags.Free(tag);
                if (!NinePFallback.IsUnsupported(error)) return error;
                _noUnlinkat = true;
            }
            int walked = Walk(directoryFid, name, out uint fid, out NinePQid qid);
            if (walked != 0) return walked;
            int wrongKind = NinePFallback.RemoveKindError(qid.IsDirectory, flags);
            if (wrongKind != 0) { Clunk(fid); return wrongKind; }
            return Remove(fid);
        }

        // rename of oldName in oldDirectoryFid to newName in newDirectoryFid: Trenameat, or, on a server
        // without it, Twalk to the old name and Trename (Linux v9fs_vfs_rename does the same).
        internal int Rename(uint oldDirectoryFid, ReadOnlySpan<byte> oldName, uint newDirectoryFid, ReadOnlySpan<byte> newName)
        {
            int error;
            if (!_noRenameat)
            {
                if (!BeginTag(out ushort tag)) return -(int)Errno.EAGAIN;
                int got = Exchange(NinePCodec.Trenameat(Request, tag, oldDirectoryFid, oldName, newDirectoryFid, newName));
                error = got < 0 ? got : NinePCodec.Rrenameat(Reply(got), _msize, tag);
                _tags.Free(tag);
                if (!NinePFallback.IsUnsupported(error)) return error;
                _noRenameat = true;
            }
            error = Walk(oldDirectoryFid, oldName, out uint fid, out _);
            if (error != 0) return error;
            if (!BeginTag(out ushort renameTag)) { Clunk(fid); return -(int)Errno.EAGAIN; }
            int n = Exchange(NinePCodec.Trename(Request, renameTag, fid, newDirectoryFid, newName));
            error = n < 0 ? n : NinePCodec.Rrename(Reply(n), _msize, renameTag);
            _tags.Free(renameTag);
            Clunk(fid);
            return error;
        }

        private bool BeginTag(out ushort tag) => _tags.TryAllocate(out tag);

        private Span<byte> Request => new Span<byte>(_request, _msize == 0 ? _bufferSize : (int)_msize);

        private ReadOnlySpan<byte> Reply(int length) => new ReadOnlySpan<byte>(_reply, length);

        // Sends a whole request (length from an encoder, or its -errno) and receives a whole reply into
        // the reply buffer: the reply's length or -errno.
        private int Exchange(int requestLength)
        {
            if (requestLength < 0) return requestLength;
            NinePExchange x = default;
            x.Request = _request;
            x.RequestLength = requestLength;
            x.Reply = _reply;
            x.ReplyCapacity = (int)_msize;
            int error = _transport(_context, &x);
            if (error != 0) return error;
            if (x.Received < 0 || x.Received > (int)_msize) return -(int)Errno.EIO;
            return x.Received;
        }
    }
}
