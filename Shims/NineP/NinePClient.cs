using System;
using Libra.Diagnostics;
using Libra.Memory;

namespace Libra.Shims.NineP
{
    // The kernel's 9P2000.L client, which the file calls use: its one NinePSession (the operations,
    // host-tested) mounted over the transport the kernel found (virtio-9p or the virtio-serial
    // stream), with msize buffers from physically contiguous pages and malformed replies said in the
    // kernel log. Calls from many threads are in flight at once on distinct tags.
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

        private struct FidWords { internal fixed ulong Words[MaxFids / 64]; }

        private static FidWords s_fidWords;
        private static NinePSession s_session;
        internal static bool Mounted;

        internal static uint Msize => s_session.Msize;
        internal static int FidsInUse => s_session.FidsInUse;
        // The largest Tread/Twrite payload one call carries.
        internal static int MaxIo => s_session.MaxIo;

        // version then attach: the export's root becomes the fid every walk starts from.
        internal static int Mount(Transport transport, ReadOnlySpan<byte> attachName)
        {
            NinePTransport session = default;
            session.Context = transport.Transact;
            session.Transact = &Transact;
            session.AllocateBuffer = &AllocateBuffer;
            session.FreeBuffer = &FreeBuffer;
            session.MalformedReply = &ReportMalformedReply;
            session.CopyData = &UserMemory.CopyChecked;
            fixed (ulong* words = s_fidWords.Words) s_session = new NinePSession(session, (int)ProposedMsize, words, MaxFids / 64);
            int error = s_session.Mount(attachName);
            Mounted = error == 0;
            return error;
        }

        // Walks from the root along `path` (names separated by '/', no "." or "..") to a new fid.
        internal static int Walk(ReadOnlySpan<byte> path, out uint fid, out NinePQid qid) => s_session.Walk(s_session.RootFid, path, out fid, out qid);

        // The same, also giving the index of the first name before the last that is a symbolic link
        // (-1 if none), for the caller to resolve against the guest's root (NinePSession.Walk).
        internal static int Walk(ReadOnlySpan<byte> path, out uint fid, out NinePQid qid, out int linkIndex) =>
            s_session.Walk(s_session.RootFid, path, out fid, out qid, out linkIndex);

        internal static int Open(uint fid, uint flags, out uint iounit) => s_session.Open(fid, flags, out _, out iounit);

        // Creates `name` in the directory `fid` and opens it; `fid` then stands for the new file.
        internal static int Create(uint fid, ReadOnlySpan<byte> name, uint flags, uint mode, out NinePQid qid) =>
            s_session.Create(fid, name, flags, mode, out qid);

        // Reads at most MaxIo bytes at `offset` into `buffer` (kernel or checked user memory).
        internal static int Read(uint fid, ulong offset, byte* buffer, int count) => s_session.Read(fid, offset, buffer, count);

        internal static int Write(uint fid, ulong offset, byte* data, int count) => s_session.Write(fid, offset, data, count);

        internal static int GetAttr(uint fid, ulong mask, out NinePAttr attr) => s_session.GetAttr(fid, mask, out attr);

        internal static int SetAttr(uint fid, in NinePSetAttr attr) => s_session.SetAttr(fid, in attr);

        // Copies one Rreaddir payload (dirents from `offset`) into `buffer`; its length, or -errno.
        internal static int ReadDirectory(uint fid, ulong offset, byte* buffer, int capacity) =>
            s_session.ReadDirectory(fid, offset, buffer, capacity);

        internal static int Link(uint directoryFid, uint fid, ReadOnlySpan<byte> name) => s_session.Link(directoryFid, fid, name);

        internal static int Symlink(uint directoryFid, ReadOnlySpan<byte> name, ReadOnlySpan<byte> target) =>
            s_session.Symlink(directoryFid, name, target, out _);

        internal static int MakeDirectory(uint directoryFid, ReadOnlySpan<byte> name, uint mode) =>
            s_session.MakeDirectory(directoryFid, name, mode, out _);

        // unlink/rmdir of `name` in directoryFid (with the Tremove fallback, NinePFallback).
        internal static int Unlink(uint directoryFid, ReadOnlySpan<byte> name, uint flags) => s_session.Unlink(directoryFid, name, flags);

        // rename of oldName in oldDirectory to newName in newDirectory (with the Trename fallback).
        internal static int Rename(uint oldDirectory, ReadOnlySpan<byte> oldName, uint newDirectory, ReadOnlySpan<byte> newName) =>
            s_session.Rename(oldDirectory, oldName, newDirectory, newName);

        internal static int StatFs(uint fid, out NinePStatFs statfs) => s_session.StatFs(fid, out statfs);

        // The link's target into `buffer` (not NUL-terminated); its length, or -errno.
        internal static int ReadLink(uint fid, byte* buffer, int capacity) => s_session.ReadLink(fid, buffer, capacity);

        internal static int Fsync(uint fid, bool dataOnly) => s_session.Fsync(fid, dataOnly);

        // Releases the fid on the server and here; an error still frees it (the server forgets it too).
        internal static int Clunk(uint fid) => s_session.Clunk(fid);

        // The session's transport: the context is the kernel transport's own Transact.
        private static int Transact(void* context, byte* request, int length, byte* reply, int capacity) =>
            ((delegate*<byte*, int, byte*, int, int>)context)(request, length, reply, capacity);

        // msize-sized, physically contiguous buffers (a transport hands them to its device as they are).
        private static byte* AllocateBuffer(void* context, int bytes) => PhysicalMemory.AllocatePages(Pages(bytes));

        private static void FreeBuffer(void* context, byte* buffer, int bytes) => PhysicalMemory.FreePages(buffer, Pages(bytes));

        private static ulong Pages(int bytes) => ((ulong)bytes + Layout.PageSize - 1) / Layout.PageSize;

        // A reply that does not decode fails its call with EIO; the log says what arrived.
        private static void ReportMalformedReply(void* context, byte* request, byte* reply, int received)
        {
            KernelLog.Begin(); KernelLog.Write("9p: malformed or unexpected reply to message type "); KernelLog.Decimal(request[4]);
            KernelLog.Write(" (tag "); KernelLog.Decimal(*(ushort*)(request + 5)); KernelLog.Write("): "); KernelLog.Decimal((ulong)received);
            KernelLog.Write(" bytes");
            if (received >= NinePProtocol.HeaderSize)
            {
                KernelLog.Write(", size field "); KernelLog.Decimal(*(uint*)reply); KernelLog.Write(", type "); KernelLog.Decimal(reply[4]);
                KernelLog.Write(", tag "); KernelLog.Decimal(*(ushort*)(reply + 5));
            }
            KernelLog.Write("; the call fails with EIO"); KernelLog.End();
        }
    }
}
