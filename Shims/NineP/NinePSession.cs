using System;

namespace Libra.Shims.NineP
{
    // One 9P2000.L session, the only 9P client there is: version and attach, then each file operation
    // the kernel makes as one or two round trips over a NinePTransport. A call takes a tag and a
    // request and a reply buffer (msize each, pooled) for as long as it is in flight, so calls from
    // many threads are out at once on distinct tags (the transport blocks its caller; others run). The
    // kernel runs one, held in a static by NinePClient; the host tests run this same code over a
    // socket to diod or a scripted server. It needs no kernel service beyond its transport, and it
    // must stay where it is put (it is used by reference, never copied once mounted).
    // Every operation returns 0 (or a count) or -errno: the server's Rlerror, EIO for a reply that does
    // not decode or a transport that failed, ENOMEM when no tag or buffer is free, ENFILE when no fid is.
    internal unsafe struct NinePSession
    {
        private const int MaxPooledBuffers = 16;

        private struct BufferPool { internal fixed ulong Buffers[MaxPooledBuffers]; }

        private NinePTransport _transport;
        private int _bufferSize;
        private uint _msize;
        private uint _root;
        private NinePFids _fids;
        private NinePTags _tags;
        private BufferPool _pool;
        private int _pooled;
        // The server was found to lack Trenameat / Tunlinkat (diod 1.0.24): the fallbacks from then on.
        private bool _noRenameat, _noUnlinkat;

        // Buffers hold `bufferSize` bytes, the msize Mount proposes; fidWords is the fid bitmap (64 fids
        // a word), which stays the caller's.
        internal NinePSession(NinePTransport transport, int bufferSize, ulong* fidWords, int fidWordCount)
        {
            this = default;
            _transport = transport;
            _bufferSize = bufferSize;
            _msize = (uint)bufferSize;
            _root = NinePProtocol.NoFid;
            _fids = new NinePFids(fidWords, fidWordCount);
        }

        internal uint Msize => _msize;
        internal uint RootFid => _root;
        // The largest Tread/Twrite payload one call carries (P9_IOHDRSZ below msize).
        internal int MaxIo => (int)_msize - NinePProtocol.IoHeaderSize;
        internal int FidsInUse => _fids.InUse;
        internal int TagsInUse => _tags.InUse;
        internal int PooledBuffers => _pooled;
        // What the server was found to lack (diod 1.0.24 lacks both: EOPNOTSUPP).
        internal bool UsesRenameFallback => _noRenameat;
        internal bool UsesUnlinkFallback => _noUnlinkat;

        // Tversion proposing the buffer size, then Tattach of `attachName` as root: the export's root
        // becomes the fid every walk starts from. EPROTONOSUPPORT for a server of another dialect, EIO
        // for one that agrees to an msize below 4096 (QEMU's P9_MIN_MSIZE).
        internal int Mount(ReadOnlySpan<byte> attachName)
        {
            _msize = (uint)_bufferSize;
            Call call = Begin();
            if (!call.Ok) return -(int)Errno.ENOMEM;
            int received = Exchange(ref call, NinePCodec.Tversion(call.RequestSpan, _msize));
            uint agreed = 0;
            ReadOnlySpan<byte> version = default;
            int error = Finish(ref call, received, received < 0 ? received : NinePCodec.Rversion(call.ReplySpan(received), _msize, out agreed, out version));
            if (error != 0) return error;
            if (!NinePCodec.IsVersion(version)) return -(int)Errno.EPROTONOSUPPORT;
            if (agreed < NinePProtocol.MinMsize) return -(int)Errno.EIO;
            _msize = agreed;

            if (!_fids.TryAllocate(out uint root)) return -(int)Errno.ENFILE;
            call = Begin();
            if (!call.Ok) { _fids.Free(root); return -(int)Errno.ENOMEM; }
            byte* user = stackalloc byte[4];
            user[0] = (byte)'r'; user[1] = (byte)'o'; user[2] = (byte)'o'; user[3] = (byte)'t';
            int length = NinePCodec.Tattach(call.RequestSpan, call.Tag, root, NinePProtocol.NoFid, new ReadOnlySpan<byte>(user, 4), attachName, 0);
            received = Exchange(ref call, length);
            error = Finish(ref call, received, received < 0 ? received : NinePCodec.Rattach(call.ReplySpan(received), _msize, call.Tag, out _));
            // A refused attach makes no fid on the server (diod protocol.md "attach").
            if (error != 0) { _fids.Free(root); return error; }
            _root = root;
            return 0;
        }

        // Walks from the directory `start` (which stays as it was) along `path` (names separated by
        // '/', no "." or "..") to a new fid, in steps of MAXWELEM names on that one fid; "" clones
        // `start`, and its qid then comes from a Tgetattr. ENOENT when a name is missing, and no fid
        // is left behind. linkIndex is the index of the first name before the last that is a symbolic
        // link (-1 if none): a server may walk through links on the host (diod) or stop at them
        // (QEMU's); either way the caller must resolve the link itself, against the guest's root.
        internal int Walk(uint start, ReadOnlySpan<byte> path, out uint fid, out NinePQid qid, out int linkIndex)
        {
            qid = default;
            linkIndex = -1;
            int totalNames = NinePCodec.WalkNameCount(path), walked = 0;
            if (!_fids.TryAllocate(out fid)) { fid = NinePProtocol.NoFid; return -(int)Errno.ENFILE; }
            NinePQid* qids = stackalloc NinePQid[NinePProtocol.MaxWalkNames];
            uint from = start;
            bool first = true;
            do
            {
                NinePCodec.SplitWalk(path, NinePProtocol.MaxWalkNames, out ReadOnlySpan<byte> step, out path);
                int names = NinePCodec.WalkNameCount(step);
                Call call = Begin();
                if (!call.Ok) { Forget(ref fid, !first); return -(int)Errno.ENOMEM; }
                int received = Exchange(ref call, NinePCodec.Twalk(call.RequestSpan, call.Tag, from, fid, step));
                int count = 0;
                int error = received < 0 ? received : NinePCodec.Rwalk(call.ReplySpan(received), _msize, call.Tag,
                    new Span<NinePQid>(qids, NinePProtocol.MaxWalkNames), out count);
                // More qids than names asked for is a broken server.
                if (error == 0 && count > names) error = -(int)Errno.EIO;
                error = Finish(ref call, received, error);
                for (int i = 0; error == 0 && linkIndex < 0 && i < count; i++)
                    if (walked + i < totalNames - 1 && qids[i].IsSymlink) linkIndex = walked + i;
                walked += count;
                // A partial walk leaves newfid unset (9P2000 walk(5)): the first missing name.
                if (error == 0 && count < names) error = -(int)Errno.ENOENT;
                if (error != 0) { Forget(ref fid, !first); return error; }
                if (count > 0) qid = qids[count - 1];
                else if (first) error = GetQid(fid, out qid);
                from = fid;
                first = false;
                if (error != 0) { Forget(ref fid, true); return error; }
            }
            while (path.Length > 0 && NinePCodec.WalkNameCount(path) > 0);
            return 0;
        }

        internal int Walk(uint start, ReadOnlySpan<byte> path, out uint fid, out NinePQid qid) => Walk(start, path, out fid, out qid, out _);

        private int GetQid(uint fid, out NinePQid qid)
        {
            int error = GetAttr(fid, NinePProtocol.GetattrMode, out NinePAttr attr);
            qid = attr.Qid;
            return error;
        }

        // A walk that failed: its fid goes, from the server too once a step made it there.
        private void Forget(ref uint fid, bool established)
        {
            if (established) Clunk(fid);
            else _fids.Free(fid);
            fid = NinePProtocol.NoFid;
        }

        // Tlopen of a walked fid with Linux open flags.
        internal int Open(uint fid, uint flags, out NinePQid qid, out uint iounit)
        {
            qid = default;
            iounit = 0;
            Call call = Begin();
            if (!call.Ok) return -(int)Errno.ENOMEM;
            int received = Exchange(ref call, NinePCodec.Tlopen(call.RequestSpan, call.Tag, fid, flags));
            return Finish(ref call, received, received < 0 ? received : NinePCodec.Rlopen(call.ReplySpan(received), _msize, call.Tag, out qid, out iounit));
        }

        // Tlcreate: creates `name` in the directory `fid` and opens it; `fid` then stands for the new
        // file (on failure it is still the directory's).
        internal int Create(uint fid, ReadOnlySpan<byte> name, uint flags, uint mode, out NinePQid qid)
        {
            qid = default;
            Call call = Begin();
            if (!call.Ok) return -(int)Errno.ENOMEM;
            int received = Exchange(ref call, NinePCodec.Tlcreate(call.RequestSpan, call.Tag, fid, name, flags, mode, 0));
            return Finish(ref call, received, received < 0 ? received : NinePCodec.Rlcreate(call.ReplySpan(received), _msize, call.Tag, out qid, out _));
        }

        // Tread of at most MaxIo bytes at `offset`, copied into `buffer` (kernel or checked user
        // memory): the byte count (0 at end of file), or -errno. More data than asked for is EIO.
        internal int Read(uint fid, ulong offset, byte* buffer, int count)
        {
            if (count > MaxIo) count = MaxIo;
            Call call = Begin();
            if (!call.Ok) return -(int)Errno.ENOMEM;
            int received = Exchange(ref call, NinePCodec.Tread(call.RequestSpan, call.Tag, fid, offset, (uint)count));
            ReadOnlySpan<byte> data = default;
            int error = received < 0 ? received : NinePCodec.Rread(call.ReplySpan(received), _msize, call.Tag, out data);
            if (error == 0 && data.Length > count) error = -(int)Errno.EIO;
            if (error == 0)
            {
                int copied;
                fixed (byte* source = data) copied = CopyData(buffer, source, data.Length);
                // A buffer that ended early keeps what arrived; none of it: EFAULT.
                error = copied > 0 || data.Length == 0 ? copied : -(int)Errno.EFAULT;
            }
            return Finish(ref call, received, error);
        }

        // Twrite of at most MaxIo bytes from `data` at `offset`: the bytes the server took, or -errno.
        // A count above what was sent is EIO.
        internal int Write(uint fid, ulong offset, byte* data, int count)
        {
            if (count > MaxIo) count = MaxIo;
            Call call = Begin();
            if (!call.Ok) return -(int)Errno.ENOMEM;
            // The header, then the data moved in behind it from the caller's buffer (which may end early).
            int header = NinePCodec.TwriteHeader(call.RequestSpan, call.Tag, fid, offset, (uint)count);
            if (header > 0 && CopyData(call.Request + header, data, count) < count) return Finish(ref call, -1, -(int)Errno.EFAULT);
            int received = Exchange(ref call, header < 0 ? header : header + count);
            uint written = 0;
            int error = received < 0 ? received : NinePCodec.Rwrite(call.ReplySpan(received), _msize, call.Tag, out written);
            if (error == 0 && written > (uint)count) error = -(int)Errno.EIO;
            return Finish(ref call, received, error == 0 ? (int)written : error);
        }

        // Tgetattr with a NinePProtocol.Getattr* mask.
        internal int GetAttr(uint fid, ulong mask, out NinePAttr attr)
        {
            attr = default;
            Call call = Begin();
            if (!call.Ok) return -(int)Errno.ENOMEM;
            int received = Exchange(ref call, NinePCodec.Tgetattr(call.RequestSpan, call.Tag, fid, mask));
            return Finish(ref call, received, received < 0 ? received : NinePCodec.Rgetattr(call.ReplySpan(received), _msize, call.Tag, out attr));
        }

        // Tsetattr (truncate, chmod, chown, utimes).
        internal int SetAttr(uint fid, in NinePSetAttr attr)
        {
            Call call = Begin();
            if (!call.Ok) return -(int)Errno.ENOMEM;
            int received = Exchange(ref call, NinePCodec.Tsetattr(call.RequestSpan, call.Tag, fid, in attr));
            return Finish(ref call, received, received < 0 ? received : NinePCodec.Rsetattr(call.ReplySpan(received), _msize, call.Tag));
        }

        // Treaddir from `offset` (0, or the last entry's Offset) on an open directory fid: one Rreaddir
        // payload (packed 9P dirents, NinePDirents walks them) copied into `buffer`; its length (0 at
        // the end of the directory), or -errno. A payload above `capacity` is EIO.
        internal int ReadDirectory(uint fid, ulong offset, byte* buffer, int capacity)
        {
            // At most msize − 24 (P9_IOHDRSZ), as for Tread: diod answers a larger count with EIO.
            if (capacity > MaxIo) capacity = MaxIo;
            Call call = Begin();
            if (!call.Ok) return -(int)Errno.ENOMEM;
            int received = Exchange(ref call, NinePCodec.Treaddir(call.RequestSpan, call.Tag, fid, offset, (uint)capacity));
            NinePDirents entries = default;
            int error = received < 0 ? received : NinePCodec.Rreaddir(call.ReplySpan(received), _msize, call.Tag, out entries);
            if (error == 0 && entries.Length > capacity) error = -(int)Errno.EIO;
            if (error == 0)
            {
                error = entries.Length;
                Buffer.MemoryCopy(call.Reply + NinePProtocol.ReaddirHeaderSize, buffer, capacity, entries.Length);
            }
            return Finish(ref call, received, error);
        }

        // Tsymlink: `name` in directoryFid pointing at `target`.
        internal int Symlink(uint directoryFid, ReadOnlySpan<byte> name, ReadOnlySpan<byte> target, out NinePQid qid)
        {
            qid = default;
            Call call = Begin();
            if (!call.Ok) return -(int)Errno.ENOMEM;
            int received = Exchange(ref call, NinePCodec.Tsymlink(call.RequestSpan, call.Tag, directoryFid, name, target, 0));
            return Finish(ref call, received, received < 0 ? received : NinePCodec.Rsymlink(call.ReplySpan(received), _msize, call.Tag, out qid));
        }

        // Tlink: another name, `name` in directoryFid, for fid's file (a hard link).
        internal int Link(uint directoryFid, uint fid, ReadOnlySpan<byte> name)
        {
            Call call = Begin();
            if (!call.Ok) return -(int)Errno.ENOMEM;
            int received = Exchange(ref call, NinePCodec.Tlink(call.RequestSpan, call.Tag, directoryFid, fid, name));
            return Finish(ref call, received, received < 0 ? received : NinePCodec.Rlink(call.ReplySpan(received), _msize, call.Tag));
        }

        // Tmkdir in directoryFid.
        internal int MakeDirectory(uint directoryFid, ReadOnlySpan<byte> name, uint mode, out NinePQid qid)
        {
            qid = default;
            Call call = Begin();
            if (!call.Ok) return -(int)Errno.ENOMEM;
            int received = Exchange(ref call, NinePCodec.Tmkdir(call.RequestSpan, call.Tag, directoryFid, name, mode, 0));
            return Finish(ref call, received, received < 0 ? received : NinePCodec.Rmkdir(call.ReplySpan(received), _msize, call.Tag, out qid));
        }

        // unlink/rmdir of `name` in directoryFid: Tunlinkat, or, on a server without it, Twalk to the
        // name and Tremove (NinePFallback, as Linux v9fs_remove).
        internal int Unlink(uint directoryFid, ReadOnlySpan<byte> name, uint flags)
        {
            int error;
            if (!_noUnlinkat)
            {
                Call call = Begin();
                if (!call.Ok) return -(int)Errno.ENOMEM;
                int received = Exchange(ref call, NinePCodec.Tunlinkat(call.RequestSpan, call.Tag, directoryFid, name, flags));
                error = Finish(ref call, received, received < 0 ? received : NinePCodec.Runlinkat(call.ReplySpan(received), _msize, call.Tag));
                if (!NinePFallback.IsUnsupported(error)) return error;
                _noUnlinkat = true;
            }
            error = Walk(directoryFid, name, out uint fid, out NinePQid qid);
            if (error != 0) return error;
            error = NinePFallback.RemoveKindError(qid.IsDirectory, flags);
            if (error != 0) { Clunk(fid); return error; }
            return Remove(fid);
        }

        // rename of oldName in oldDirectory to newName in newDirectory: Trenameat, or, on a server
        // without it, Twalk to the old name and Trename (NinePFallback, as Linux v9fs_vfs_rename).
        internal int Rename(uint oldDirectory, ReadOnlySpan<byte> oldName, uint newDirectory, ReadOnlySpan<byte> newName)
        {
            int error, received;
            Call call;
            if (!_noRenameat)
            {
                call = Begin();
                if (!call.Ok) return -(int)Errno.ENOMEM;
                received = Exchange(ref call, NinePCodec.Trenameat(call.RequestSpan, call.Tag, oldDirectory, oldName, newDirectory, newName));
                error = Finish(ref call, received, received < 0 ? received : NinePCodec.Rrenameat(call.ReplySpan(received), _msize, call.Tag));
                if (!NinePFallback.IsUnsupported(error)) return error;
                _noRenameat = true;
            }
            error = Walk(oldDirectory, oldName, out uint fid, out _);
            if (error != 0) return error;
            call = Begin();
            if (!call.Ok) { Clunk(fid); return -(int)Errno.ENOMEM; }
            received = Exchange(ref call, NinePCodec.Trename(call.RequestSpan, call.Tag, fid, newDirectory, newName));
            error = Finish(ref call, received, received < 0 ? received : NinePCodec.Rrename(call.ReplySpan(received), _msize, call.Tag));
            Clunk(fid);
            return error;
        }

        // Tstatfs.
        internal int StatFs(uint fid, out NinePStatFs statfs)
        {
            statfs = default;
            Call call = Begin();
            if (!call.Ok) return -(int)Errno.ENOMEM;
            int received = Exchange(ref call, NinePCodec.Tstatfs(call.RequestSpan, call.Tag, fid));
            return Finish(ref call, received, received < 0 ? received : NinePCodec.Rstatfs(call.ReplySpan(received), _msize, call.Tag, out statfs));
        }

        // Treadlink: the link's target into `buffer` (not NUL-terminated, cut to fit as readlink(2)
        // does); its length, or -errno.
        internal int ReadLink(uint fid, byte* buffer, int capacity)
        {
            Call call = Begin();
            if (!call.Ok) return -(int)Errno.ENOMEM;
            int received = Exchange(ref call, NinePCodec.Treadlink(call.RequestSpan, call.Tag, fid));
            ReadOnlySpan<byte> target = default;
            int error = received < 0 ? received : NinePCodec.Rreadlink(call.ReplySpan(received), _msize, call.Tag, out target);
            if (error == 0)
            {
                int n = target.Length < capacity ? target.Length : capacity;
                fixed (byte* source = target) Buffer.MemoryCopy(source, buffer, capacity, n);
                error = n;
            }
            return Finish(ref call, received, error);
        }

        // Tfsync (dataOnly: fdatasync).
        internal int Fsync(uint fid, bool dataOnly)
        {
            Call call = Begin();
            if (!call.Ok) return -(int)Errno.ENOMEM;
            int received = Exchange(ref call, NinePCodec.Tfsync(call.RequestSpan, call.Tag, fid, dataOnly ? 1u : 0u));
            return Finish(ref call, received, received < 0 ? received : NinePCodec.Rfsync(call.ReplySpan(received), _msize, call.Tag));
        }

        // Tclunk: releases the fid on the server and here; an error still frees it (the server forgets
        // it too, diod protocol.md "clunk").
        internal int Clunk(uint fid)
        {
            Call call = Begin();
            int error = -(int)Errno.ENOMEM;
            if (call.Ok)
            {
                int received = Exchange(ref call, NinePCodec.Tclunk(call.RequestSpan, call.Tag, fid));
                error = Finish(ref call, received, received < 0 ? received : NinePCodec.Rclunk(call.ReplySpan(received), _msize, call.Tag));
            }
            _fids.Free(fid);
            return error;
        }

        // Tremove: removes the fid's file; the fid is gone whatever the reply (Tremove clunks it).
        internal int Remove(uint fid)
        {
            Call call = Begin();
            if (!call.Ok) { Clunk(fid); return -(int)Errno.ENOMEM; }
            int received = Exchange(ref call, NinePCodec.Tremove(call.RequestSpan, call.Tag, fid));
            int error = Finish(ref call, received, received < 0 ? received : NinePCodec.Rremove(call.ReplySpan(received), _msize, call.Tag));
            _fids.Free(fid);
            return error;
        }

        // Gives the pooled buffers back to the transport (a host test's teardown: the kernel's session
        // lives until the machine stops).
        internal void FreeBuffers()
        {
            while (_pooled > 0) _transport.FreeBuffer(_transport.Context, (byte*)_pool.Buffers[--_pooled], _bufferSize);
        }

        // One request in flight: its tag and buffers.
        private struct Call
        {
            internal ushort Tag;
            internal byte* Request, Reply;
            internal int Capacity;
            internal bool Ok;

            internal Span<byte> RequestSpan => new Span<byte>(Request, Capacity);

            internal ReadOnlySpan<byte> ReplySpan(int length) => new ReadOnlySpan<byte>(Reply, length);
        }

        private Call Begin()
        {
            Call call = default;
            if (!_tags.TryAllocate(out call.Tag)) return call;
            call.Request = TakeBuffer();
            call.Reply = TakeBuffer();
            call.Capacity = (int)_msize;
            call.Ok = call.Request != null && call.Reply != null;
            if (!call.Ok) End(ref call);
            return call;
        }

        // Sends the request (length from an encoder, or its -errno) and brings back the reply: its
        // length, or -errno. A length beyond msize is a transport that lies: EIO.
        // File data between a message and the caller's buffer, through the transport's CopyData when
        // it has one: the bytes moved.
        private int CopyData(byte* destination, byte* source, int length)
        {
            if (_transport.CopyData != null) return (int)_transport.CopyData(destination, source, (ulong)length);
            Buffer.MemoryCopy(source, destination, length, length);
            return length;
        }

        private int Exchange(ref Call call, int length)
        {
            if (length < 0) return length;
            int received = _transport.Transact(_transport.Context, call.Request, length, call.Reply, call.Capacity);
            if (received > call.Capacity)
            {
                ReportBadReply(ref call, received);
                return -(int)Errno.EIO;
            }
            return received;
        }

        // Ends the call with `result`, its decoded reply (a count, 0 or -errno): an EIO with a reply in
        // hand means the reply did not decode or made no sense, and is said.
        private int Finish(ref Call call, int received, int result)
        {
            if (result == -(int)Errno.EIO) ReportBadReply(ref call, received);
            End(ref call);
            return result;
        }

        // A reply that does not decode fails its call with EIO and is said once; a transport failure
        // (no reply at all) is the transport's to say, and a well-formed Rlerror EIO is the server's answer.
        private void ReportBadReply(ref Call call, int received)
        {
            if (received < 0 || _transport.MalformedReply == null) return;
            if (received == NinePProtocol.HeaderSize + 4 && *(uint*)call.Reply == (uint)received && call.Reply[4] == (byte)NinePType.Rlerror
                && *(ushort*)(call.Reply + 5) == call.Tag && *(uint*)(call.Reply + 7) == (uint)Errno.EIO) return;
            _transport.MalformedReply(_transport.Context, call.Request, call.Reply, received);
        }

        private void End(ref Call call)
        {
            _tags.Free(call.Tag);
            if (call.Request != null) ReturnBuffer(call.Request);
            if (call.Reply != null) ReturnBuffer(call.Reply);
            call.Request = call.Reply = null;
            call.Ok = false;
        }

        private byte* TakeBuffer()
        {
            if (_pooled > 0) return (byte*)_pool.Buffers[--_pooled];
            return _transport.AllocateBuffer(_transport.Context, _bufferSize);
        }

        private void ReturnBuffer(byte* buffer)
        {
            if (_pooled < MaxPooledBuffers) _pool.Buffers[_pooled++] = (ulong)buffer;
            else _transport.FreeBuffer(_transport.Context, buffer, _bufferSize);
        }
    }
}
