using System;
using Libra.Arch.X64;
using Libra.Diagnostics;
using Libra.Memory;

namespace Libra.Shims.NineP
{
    // The 9P2000.L client the file calls use: one session (version, attach) over a transport that
    // carries one request and brings back its reply. Each call takes a tag and a pair of msize
    // buffers, so calls from many threads are in flight at once on distinct tags. Every operation
    // returns 0 (or a count) or -errno: the server's Rlerror, or EIO for a broken reply or transport.
    internal static unsafe class NinePClient
    {
        // What a transport does: send request[0..length), receive the reply into reply[0..capacity);
        // the reply's length, or -errno.
        internal struct Transport
        {
            internal delegate*<byte*, int, byte*, int, int> Transact;
        }

        internal const uint ProposedMsize = 256 * 1024;
        private const int MaxFids = 64 * 64;
        private const int MaxPooledBuffers = 16;

        private struct FidWords { internal fixed ulong Words[MaxFids / 64]; }
        private struct BufferPool { internal fixed ulong Buffers[MaxPooledBuffers]; }

        private static Transport s_transport;
        private static uint s_msize;
        private static uint s_root;
        private static FidWords s_fidWords;
        private static NinePFids s_fids;
        private static NinePTags s_tags;
        private static BufferPool s_pool;
        private static int s_pooled;
        internal static bool Mounted;
        // The server was found to lack Trenameat / Tunlinkat (diod 1.0.24): use the fallbacks from then on.
        private static bool s_noRenameat, s_noUnlinkat;

        internal static uint Msize => s_msize;
        internal static int FidsInUse => s_fids.InUse;
        // The largest Tread/Twrite payload one call carries.
        internal static int MaxIo => (int)s_msize - NinePProtocol.IoHeaderSize;

        // version then attach: the export's root becomes the fid every walk starts from.
        internal static int Mount(Transport transport, ReadOnlySpan<byte> attachName)
        {
            s_transport = transport;
            fixed (ulong* words = s_fidWords.Words) s_fids = new NinePFids(words, MaxFids / 64);
            s_msize = ProposedMsize;
            byte* request = TakeBuffer(), reply = TakeBuffer();
            int length = NinePCodec.Tversion(new Span<byte>(request, (int)s_msize), ProposedMsize);
            int received = s_transport.Transact(request, length, reply, (int)s_msize);
            uint msize = default;
            ReadOnlySpan<byte> version = default;
            int error = received < 0 ? received : NinePCodec.Rversion(new ReadOnlySpan<byte>(reply, received), ProposedMsize, out msize, out version);
            if (error == 0 && !NinePCodec.IsVersion(version)) error = -(int)Errno.EPROTONOSUPPORT;
            ReturnBuffer(request);
            ReturnBuffer(reply);
            if (error != 0) return error;
            s_msize = msize;
            if (!s_fids.TryAllocate(out s_root)) return -(int)Errno.EMFILE;
            Call call = Begin();
            if (!call.Ok) return -(int)Errno.ENOMEM;
            byte* user = stackalloc byte[4];
            user[0] = (byte)'r'; user[1] = (byte)'o'; user[2] = (byte)'o'; user[3] = (byte)'t';
            length = NinePCodec.Tattach(call.RequestSpan, call.Tag, s_root, NinePProtocol.NoFid, new ReadOnlySpan<byte>(user, 4), attachName, 0);
            received = Exchange(ref call, length);
            error = received < 0 ? received : NinePCodec.Rattach(call.ReplySpan(received), s_msize, call.Tag, out _);
            End(ref call);
            Mounted = error == 0;
            return error;
        }

        // Walks from the root along `path` (names separated by '/', no "." or ".."), in steps of
        // MAXWELEM names, to a new fid; ENOENT when a name is missing.
        internal static int Walk(ReadOnlySpan<byte> path, out uint fid, out NinePQid qid) => Walk(s_root, path, out fid, out qid, out _);

        // The same, also giving the index of the first name before the last that is a symbolic link
        // (-1 if none): a server may walk through links on the host (diod) or stop at them (QEMU's);
        // either way the caller must resolve the link itself, against the guest's root.
        internal static int Walk(ReadOnlySpan<byte> path, out uint fid, out NinePQid qid, out int linkIndex) =>
            Walk(s_root, path, out fid, out qid, out linkIndex);

        // The same from the directory `start`, which stays as it was.
        private static int Walk(uint start, ReadOnlySpan<byte> path, out uint fid, out NinePQid qid) => Walk(start, path, out fid, out qid, out _);

        private static int Walk(uint start, ReadOnlySpan<byte> path, out uint fid, out NinePQid qid, out int linkIndex)
        {
            qid = default;
            linkIndex = -1;
            int totalNames = NinePCodec.WalkNameCount(path), walked = 0;
            if (!s_fids.TryAllocate(out fid)) return -(int)Errno.ENFILE;
            uint from = start;
            bool first = true;
            do
            {
                NinePCodec.SplitWalk(path, NinePProtocol.MaxWalkNames, out ReadOnlySpan<byte> step, out path);
                int names = NinePCodec.WalkNameCount(step);
                Call call = Begin();
                if (!call.Ok) { Forget(fid, !first); return -(int)Errno.ENOMEM; }
                int length = NinePCodec.Twalk(call.RequestSpan, call.Tag, from, fid, step);
                int received = Exchange(ref call, length);
                Span<NinePQid> qids = stackalloc NinePQid[NinePProtocol.MaxWalkNames];
                int count = default;
                int error = received < 0 ? received : NinePCodec.Rwalk(call.ReplySpan(received), s_msize, call.Tag, qids, out count);
                if (error == -(int)Errno.EIO) ReportBadReply(ref call, received);
                End(ref call);
                for (int i = 0; error == 0 && linkIndex < 0 && i < count; i++)
                    if (walked + i < totalNames - 1 && qids[i].IsSymlink) linkIndex = walked + i;
                walked += count;
                // A partial walk leaves newfid unset (9P2000 walk(5)): the first missing name.
                if (error == 0 && count < names) error = -(int)Errno.ENOENT;
                if (error != 0) { Forget(fid, !first); return error; }
                if (count > 0) qid = qids[count - 1];
                else if (first) error = GetQid(fid, out qid);
                from = fid;
                first = false;
                if (error != 0) { Forget(fid, true); return error; }
            }
            while (path.Length > 0 && NinePCodec.WalkNameCount(path) > 0);
            return 0;
        }

        private static int GetQid(uint fid, out NinePQid qid)
        {
            int error = GetAttr(fid, NinePProtocol.GetattrMode, out NinePAttr attr);
            qid = attr.Qid;
            return error;
        }

        private static void Forget(uint fid, bool established)
        {
            if (established) Clunk(fid);
            else s_fids.Free(fid);
        }

        internal static int Open(uint fid, uint flags, out uint iounit)
        {
            NinePQid qid = default;
            iounit = 0;
            Call call = Begin();
            if (!call.Ok) return -(int)Errno.ENOMEM;
            int received = Exchange(ref call, NinePCodec.Tlopen(call.RequestSpan, call.Tag, fid, flags));
            int error = received < 0 ? received : NinePCodec.Rlopen(call.ReplySpan(received), s_msize, call.Tag, out qid, out iounit);
            if (error == -(int)Errno.EIO) ReportBadReply(ref call, received);
            End(ref call);
            return error;
        }

        // Creates `name` in the directory `fid` and opens it; `fid` then stands for the new file.
        internal static int Create(uint fid, ReadOnlySpan<byte> name, uint flags, uint mode, out NinePQid qid)
        {
            qid = default;
            Call call = Begin();
            if (!call.Ok) return -(int)Errno.ENOMEM;
            int received = Exchange(ref call, NinePCodec.Tlcreate(call.RequestSpan, call.Tag, fid, name, flags, mode, 0));
            int error = received < 0 ? received : NinePCodec.Rlcreate(call.ReplySpan(received), s_msize, call.Tag, out qid, out _);
            if (error == -(int)Errno.EIO) ReportBadReply(ref call, received);
            End(ref call);
            return error;
        }

        // Reads at most MaxIo bytes at `offset` into `buffer` (kernel or checked user memory).
        internal static int Read(uint fid, ulong offset, byte* buffer, int count)
        {
            if (count > MaxIo) count = MaxIo;
            Call call = Begin();
            if (!call.Ok) return -(int)Errno.ENOMEM;
            int received = Exchange(ref call, NinePCodec.Tread(call.RequestSpan, call.Tag, fid, offset, (uint)count));
            ReadOnlySpan<byte> data = default;
            int error = received < 0 ? received : NinePCodec.Rread(call.ReplySpan(received), s_msize, call.Tag, out data);
            if (error == -(int)Errno.EIO) ReportBadReply(ref call, received);
            if (error == 0)
            {
                error = data.Length;
                fixed (byte* source = data) Native.MemMove(buffer, source, (nuint)data.Length);
            }
            End(ref call);
            return error;
        }

        internal static int Write(uint fid, ulong offset, byte* data, int count)
        {
            if (count > MaxIo) count = MaxIo;
            Call call = Begin();
            if (!call.Ok) return -(int)Errno.ENOMEM;
            int length = NinePCodec.Twrite(call.RequestSpan, call.Tag, fid, offset, new ReadOnlySpan<byte>(data, count));
            int received = Exchange(ref call, length);
            uint written = default;
            int error = received < 0 ? received : NinePCodec.Rwrite(call.ReplySpan(received), s_msize, call.Tag, out written);
            if (error == -(int)Errno.EIO) ReportBadReply(ref call, received);
            End(ref call);
            return error == 0 ? (int)written : error;
        }

        internal static int GetAttr(uint fid, ulong mask, out NinePAttr attr)
        {
            attr = default;
            Call call = Begin();
            if (!call.Ok) return -(int)Errno.ENOMEM;
            int received = Exchange(ref call, NinePCodec.Tgetattr(call.RequestSpan, call.Tag, fid, mask));
            int error = received < 0 ? received : NinePCodec.Rgetattr(call.ReplySpan(received), s_msize, call.Tag, out attr);
            if (error == -(int)Errno.EIO) ReportBadReply(ref call, received);
            End(ref call);
            return error;
        }

        internal static int SetAttr(uint fid, in NinePSetAttr attr)
        {
            Call call = Begin();
            if (!call.Ok) return -(int)Errno.ENOMEM;
            int received = Exchange(ref call, NinePCodec.Tsetattr(call.RequestSpan, call.Tag, fid, in attr));
            int error = received < 0 ? received : NinePCodec.Rsetattr(call.ReplySpan(received), s_msize, call.Tag);
            if (error == -(int)Errno.EIO) ReportBadReply(ref call, received);
            End(ref call);
            return error;
        }

        // Copies one Rreaddir payload (dirents from `offset`) into `buffer`; its length, or -errno.
        internal static int ReadDirectory(uint fid, ulong offset, byte* buffer, int capacity)
        {
            if (capacity > MaxIo) capacity = MaxIo;
            Call call = Begin();
            if (!call.Ok) return -(int)Errno.ENOMEM;
            int received = Exchange(ref call, NinePCodec.Treaddir(call.RequestSpan, call.Tag, fid, offset, (uint)capacity));
            NinePDirents entries = default;
            int error = received < 0 ? received : NinePCodec.Rreaddir(call.ReplySpan(received), s_msize, call.Tag, out entries);
            if (error == -(int)Errno.EIO) ReportBadReply(ref call, received);
            if (error == 0)
            {
                int length = received - NinePProtocol.ReaddirHeaderSize;
                Native.MemMove(buffer, call.Reply + NinePProtocol.ReaddirHeaderSize, (nuint)length);
                error = length;
            }
            End(ref call);
            return error;
        }

        internal static int Symlink(uint directoryFid, ReadOnlySpan<byte> name, ReadOnlySpan<byte> target)
        {
            Call call = Begin();
            if (!call.Ok) return -(int)Errno.ENOMEM;
            int received = Exchange(ref call, NinePCodec.Tsymlink(call.RequestSpan, call.Tag, directoryFid, name, target, 0));
            NinePQid qid = default;
            int error = received < 0 ? received : NinePCodec.Rsymlink(call.ReplySpan(received), s_msize, call.Tag, out qid);
            if (error == -(int)Errno.EIO) ReportBadReply(ref call, received);
            End(ref call);
            return error;
        }

        internal static int MakeDirectory(uint directoryFid, ReadOnlySpan<byte> name, uint mode)
        {
            Call call = Begin();
            if (!call.Ok) return -(int)Errno.ENOMEM;
            int received = Exchange(ref call, NinePCodec.Tmkdir(call.RequestSpan, call.Tag, directoryFid, name, mode, 0));
            int error = received < 0 ? received : NinePCodec.Rmkdir(call.ReplySpan(received), s_msize, call.Tag, out _);
            if (error == -(int)Errno.EIO) ReportBadReply(ref call, received);
            End(ref call);
            return error;
        }

        // unlink/rmdir of `name` in directoryFid: Tunlinkat, or, on a server without it, Twalk to the
        // name and Tremove (NinePFallback).
        internal static int Unlink(uint directoryFid, ReadOnlySpan<byte> name, uint flags)
        {
            int error;
            if (!s_noUnlinkat)
            {
                Call call = Begin();
                if (!call.Ok) return -(int)Errno.ENOMEM;
                int received = Exchange(ref call, NinePCodec.Tunlinkat(call.RequestSpan, call.Tag, directoryFid, name, flags));
                error = received < 0 ? received : NinePCodec.Runlinkat(call.ReplySpan(received), s_msize, call.Tag);
                if (error == -(int)Errno.EIO) ReportBadReply(ref call, received);
                End(ref call);
                if (!NinePFallback.IsUnsupported(error)) return error;
                s_noUnlinkat = true;
            }
            error = Walk(directoryFid, name, out uint fid, out NinePQid qid);
            if (error != 0) return error;
            error = NinePFallback.RemoveKindError(qid.IsDirectory, flags);
            if (error != 0) { Clunk(fid); return error; }
            return Remove(fid);
        }

        // rename of oldName in oldDirectory to newName in newDirectory: Trenameat, or, on a server
        // without it, Twalk to the old name and Trename (NinePFallback).
        internal static int Rename(uint oldDirectory, ReadOnlySpan<byte> oldName, uint newDirectory, ReadOnlySpan<byte> newName)
        {
            int error, received;
            Call call;
            if (!s_noRenameat)
            {
                call = Begin();
                if (!call.Ok) return -(int)Errno.ENOMEM;
                received = Exchange(ref call, NinePCodec.Trenameat(call.RequestSpan, call.Tag, oldDirectory, oldName, newDirectory, newName));
                error = received < 0 ? received : NinePCodec.Rrenameat(call.ReplySpan(received), s_msize, call.Tag);
                if (error == -(int)Errno.EIO) ReportBadReply(ref call, received);
                End(ref call);
                if (!NinePFallback.IsUnsupported(error)) return error;
                s_noRenameat = true;
            }
            error = Walk(oldDirectory, oldName, out uint fid, out _);
            if (error != 0) return error;
            call = Begin();
            if (!call.Ok) { Clunk(fid); return -(int)Errno.ENOMEM; }
            received = Exchange(ref call, NinePCodec.Trename(call.RequestSpan, call.Tag, fid, newDirectory, newName));
            error = received < 0 ? received : NinePCodec.Rrename(call.ReplySpan(received), s_msize, call.Tag);
            if (error == -(int)Errno.EIO) ReportBadReply(ref call, received);
            End(ref call);
            Clunk(fid);
            return error;
        }

        internal static int StatFs(uint fid, out NinePStatFs statfs)
        {
            statfs = default;
            Call call = Begin();
            if (!call.Ok) return -(int)Errno.ENOMEM;
            int received = Exchange(ref call, NinePCodec.Tstatfs(call.RequestSpan, call.Tag, fid));
            int error = received < 0 ? received : NinePCodec.Rstatfs(call.ReplySpan(received), s_msize, call.Tag, out statfs);
            if (error == -(int)Errno.EIO) ReportBadReply(ref call, received);
            End(ref call);
            return error;
        }

        // The link's target into `buffer` (not NUL-terminated); its length, or -errno.
        internal static int ReadLink(uint fid, byte* buffer, int capacity)
        {
            Call call = Begin();
            if (!call.Ok) return -(int)Errno.ENOMEM;
            int received = Exchange(ref call, NinePCodec.Treadlink(call.RequestSpan, call.Tag, fid));
            ReadOnlySpan<byte> target = default;
            int error = received < 0 ? received : NinePCodec.Rreadlink(call.ReplySpan(received), s_msize, call.Tag, out target);
            if (error == -(int)Errno.EIO) ReportBadReply(ref call, received);
            if (error == 0)
            {
                int n = target.Length < capacity ? target.Length : capacity;
                fixed (byte* source = target) Native.MemMove(buffer, source, (nuint)n);
                error = n;
            }
            End(ref call);
            return error;
        }

        internal static int Fsync(uint fid, bool dataOnly)
        {
            Call call = Begin();
            if (!call.Ok) return -(int)Errno.ENOMEM;
            int received = Exchange(ref call, NinePCodec.Tfsync(call.RequestSpan, call.Tag, fid, dataOnly ? 1u : 0u));
            int error = received < 0 ? received : NinePCodec.Rfsync(call.ReplySpan(received), s_msize, call.Tag);
            if (error == -(int)Errno.EIO) ReportBadReply(ref call, received);
            End(ref call);
            return error;
        }

        // Releases the fid on the server and here; an error still frees it (the server forgets it too).
        internal static int Clunk(uint fid)
        {
            Call call = Begin();
            int error = -(int)Errno.ENOMEM;
            if (call.Ok)
            {
                int received = Exchange(ref call, NinePCodec.Tclunk(call.RequestSpan, call.Tag, fid));
                error = received < 0 ? received : NinePCodec.Rclunk(call.ReplySpan(received), s_msize, call.Tag);
                if (error == -(int)Errno.EIO) ReportBadReply(ref call, received);
                End(ref call);
            }
            s_fids.Free(fid);
            return error;
        }

        // Removes the fid's file; the fid is gone whatever the reply (Tremove clunks it).
        private static int Remove(uint fid)
        {
            Call call = Begin();
            if (!call.Ok) { Clunk(fid); return -(int)Errno.ENOMEM; }
            int received = Exchange(ref call, NinePCodec.Tremove(call.RequestSpan, call.Tag, fid));
            int error = received < 0 ? received : NinePCodec.Rremove(call.ReplySpan(received), s_msize, call.Tag);
            if (error == -(int)Errno.EIO) ReportBadReply(ref call, received);
            End(ref call);
            s_fids.Free(fid);
            return error;
        }

        // One request in flight: its tag and buffers.
        private struct Call
        {
            internal ushort Tag;
            internal byte* Request, Reply;
            internal bool Ok;

            internal Span<byte> RequestSpan => new Span<byte>(Request, (int)s_msize);

            internal ReadOnlySpan<byte> ReplySpan(int length) => new ReadOnlySpan<byte>(Reply, length);
        }

        private static Call Begin()
        {
            Call call = default;
            if (!s_tags.TryAllocate(out call.Tag)) return call;
            call.Request = TakeBuffer();
            call.Reply = TakeBuffer();
            call.Ok = call.Request != null && call.Reply != null;
            if (!call.Ok) End(ref call);
            return call;
        }

        private static int Exchange(ref Call call, int length)
        {
            if (length < 0) return length;
            return s_transport.Transact(call.Request, length, call.Reply, (int)s_msize);
        }

        // A reply that does not decode fails its call with EIO; the log says what arrived. A transport
        // failure (no reply at all) is the transport's to report, once, not once per call.
        private static void ReportBadReply(ref Call call, int received)
        {
            if (received < 0) return;
            KernelLog.Begin(); KernelLog.Write("9p: malformed or unexpected reply to message type "); KernelLog.Decimal(call.Request[4]);
            KernelLog.Write(" (tag "); KernelLog.Decimal(call.Tag); KernelLog.Write("): "); KernelLog.Decimal((ulong)received);
            KernelLog.Write(" bytes");
            if (received >= 7)
            {
                KernelLog.Write(", size field "); KernelLog.Decimal(*(uint*)call.Reply); KernelLog.Write(", type "); KernelLog.Decimal(call.Reply[4]);
                KernelLog.Write(", tag "); KernelLog.Decimal(*(ushort*)(call.Reply + 5));
            }
            KernelLog.Write("; the call fails with EIO"); KernelLog.End();
        }

        private static void End(ref Call call)
        {
            s_tags.Free(call.Tag);
            if (call.Request != null) ReturnBuffer(call.Request);
            if (call.Reply != null) ReturnBuffer(call.Reply);
            call.Ok = false;
        }

        // msize-sized, physically contiguous buffers (a transport may hand them to a device as is).
        private static byte* TakeBuffer()
        {
            if (s_pooled > 0) return (byte*)s_pool.Buffers[--s_pooled];
            return PhysicalMemory.AllocatePages((ProposedMsize + Layout.PageSize - 1) / Layout.PageSize);
        }

        private static void ReturnBuffer(byte* buffer)
        {
            if (s_pooled < MaxPooledBuffers) s_pool.Buffers[s_pooled++] = (ulong)buffer;
            else PhysicalMemory.FreePages(buffer, (ProposedMsize + Layout.PageSize - 1) / Layout.PageSize);
        }
    }
}
