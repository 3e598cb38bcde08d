using System;
using Libra.Diagnostics;
using Libra.Memory;

namespace Libra.Shims.NineP
{
    // One of the kernel's 9P2000.L clients, which the file calls use: a NinePSession (the
    // operations, host-tested) mounted over the transport the kernel found (a virtio-9p device or the
    // virtio-serial stream), with msize buffers from physically contiguous pages and malformed
    // replies said in the kernel log. Calls from many threads are in flight at once on distinct
    // tags. The share at "/" is Root; each run -Mount is a client of its own, on its own device.
    internal unsafe struct NinePClient
    {
        // What a transport does: send request[0..length), receive the reply into reply[0..capacity);
        // the reply's length, or -errno. Context is handed back (the device).
        internal struct Transport
        {
            internal void* Context;
            internal delegate*<void*, byte*, int, byte*, int, int> Transact;
        }

        internal const uint ProposedMsize = 256 * 1024;
        private const int MaxFids = 64 * 64;

        private NinePSession _session;
        // st_dev of the files it serves (the mount's, MountTable.New).
        internal ulong Device;
        // File data is read through PageCache (a read-only mount: PageCache.Serve).
        internal bool CachesData;

        // The share at "/" (run -Share), or null.
        internal static NinePClient* Root;

        internal uint Msize => _session.Msize;
        internal int FidsInUse => _session.FidsInUse;
        // The largest Tread/Twrite payload one call carries.
        internal int MaxIo => _session.MaxIo;

        // version then attach: the export's root becomes the fid every walk starts from. The new
        // client, or null with the error.
        internal static NinePClient* Mount(Transport transport, ReadOnlySpan<byte> attachName, out int error)
        {
            NinePTransport session = default;
            session.Context = transport.Context;
            session.Transact = transport.Transact;
            session.AllocateBuffer = &AllocateBuffer;
            session.FreeBuffer = &FreeBuffer;
            session.MalformedReply = &ReportMalformedReply;
            session.CopyData = &UserMemory.CopyChecked;
            var client = (NinePClient*)KernelHeap.AllocateZeroed((ulong)sizeof(NinePClient));
            var words = (ulong*)KernelHeap.AllocateZeroed(MaxFids / 8);
            client->_session = new NinePSession(session, (int)ProposedMsize, words, MaxFids / 64);
            error = client->_session.Mount(attachName);
            if (error == 0) return client;
            KernelHeap.Free(words);
            KernelHeap.Free(client);
            return null;
        }

        // Walks from the root along `path` (names separated by '/', no "." or "..") to a new fid.
        internal int Walk(ReadOnlySpan<byte> path, out uint fid, out NinePQid qid) => _session.Walk(_session.RootFid, path, out fid, out qid);

        // The same, also giving the index of the first name before the last that is a symbolic link
        // (-1 if none), for the caller to resolve against the guest's root (NinePSession.Walk).
        internal int Walk(ReadOnlySpan<byte> path, out uint fid, out NinePQid qid, out int linkIndex) =>
            _session.Walk(_session.RootFid, path, out fid, out qid, out linkIndex);

        internal int Open(uint fid, uint flags, out uint iounit) => _session.Open(fid, flags, out _, out iounit);

        // Creates `name` in the directory `fid` and opens it; `fid` then stands for the new file.
        internal int Create(uint fid, ReadOnlySpan<byte> name, uint flags, uint mode, out NinePQid qid) =>
            _session.Create(fid, name, flags, mode, out qid);

        // Reads at most MaxIo bytes at `offset` into `buffer` (kernel or checked user memory).
        internal int Read(uint fid, ulong offset, byte* buffer, int count) => _session.Read(fid, offset, buffer, count);

        internal int Write(uint fid, ulong offset, byte* data, int count) => _session.Write(fid, offset, data, count);

        internal int GetAttr(uint fid, ulong mask, out NinePAttr attr) => _session.GetAttr(fid, mask, out attr);

        internal int SetAttr(uint fid, in NinePSetAttr attr) => _session.SetAttr(fid, in attr);

        // Copies one Rreaddir payload (dirents from `offset`) into `buffer`; its length, or -errno.
        internal int ReadDirectory(uint fid, ulong offset, byte* buffer, int capacity) =>
            _session.ReadDirectory(fid, offset, buffer, capacity);

        internal int Link(uint directoryFid, uint fid, ReadOnlySpan<byte> name) => _session.Link(directoryFid, fid, name);

        internal int Symlink(uint directoryFid, ReadOnlySpan<byte> name, ReadOnlySpan<byte> target) =>
            _session.Symlink(directoryFid, name, target, out _);

        internal int MakeDirectory(uint directoryFid, ReadOnlySpan<byte> name, uint mode) =>
            _session.MakeDirectory(directoryFid, name, mode, out _);

        // unlink/rmdir of `name` in directoryFid (with the Tremove fallback, NinePFallback).
        internal int Unlink(uint directoryFid, ReadOnlySpan<byte> name, uint flags) => _session.Unlink(directoryFid, name, flags);

        // rename of oldName in oldDirectory to newName in newDirectory (with the Trename fallback).
        internal int Rename(uint oldDirectory, ReadOnlySpan<byte> oldName, uint newDirectory, ReadOnlySpan<byte> newName) =>
            _session.Rename(oldDirectory, oldName, newDirectory, newName);

        internal int StatFs(uint fid, out NinePStatFs statfs) => _session.StatFs(fid, out statfs);

        // The link's target into `buffer` (not NUL-terminated); its length, or -errno.
        internal int ReadLink(uint fid, byte* buffer, int capacity) => _session.ReadLink(fid, buffer, capacity);

        internal int Fsync(uint fid, bool dataOnly) => _session.Fsync(fid, dataOnly);

        // Releases the fid on the server and here; an error still frees it (the server forgets it too).
        internal int Clunk(uint fid) => _session.Clunk(fid);

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
