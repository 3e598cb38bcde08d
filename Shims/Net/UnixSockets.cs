using Libra.Arch.X64;
using Libra.Diagnostics;
using Libra.Memory;
using Libra.Threads;

namespace Libra.Shims.Net
{
    // One AF_UNIX socket inside the guest (net/unix/af_unix.c): stream sockets carry bytes into the
    // peer's ring; datagram sockets carry records [u32 length][u32 address length][address][data]
    // into the receiver's ring. Names are the guest's own: a bound path is not created in the shared
    // directory, and it is free again when its socket closes (on Linux the socket file stays until
    // unlinked).
    internal unsafe struct UnixEndpoint
    {
        internal const int RcvShutdown = 1, SendShutdown = 2, BothShutdown = 3;

        internal Socket* Socket;
        internal UnixEndpoint* Peer;        // stream: the other end; datagram: the connected destination
        internal ByteRing Incoming;
        internal int Shutdown;              // sk_shutdown: what is over for this end
        internal bool WasConnected;         // tells EPIPE (the peer went) from ENOTCONN (never connected)
        internal bool PeerGone;
        internal byte* Name;                // the bound sockaddr_un (or, for an accepted end, the listener's), or null
        internal bool Bound;                // Name was bound here, so connect and sendto find it
        internal int NameLength;
        internal int Backlog, Pending;
        internal UnixEndpoint* AcceptHead, AcceptTail, NextPending;
        internal UnixEndpoint* NextEndpoint;    // every endpoint, for names and for senders to a closing one
        internal PollQueue Queue;
    }

    internal static unsafe class UnixSockets
    {
        private const ulong StreamCapacity = 64 * 1024;
        private const ulong DatagramCapacity = 208 * 1024;
        private const int RecordHeader = 8;
        private const int PathOffset = 2;         // offsetof(struct sockaddr_un, sun_path)
        private const int MaxAddress = 110;       // sizeof(struct sockaddr_un)

        internal static SocketOperations* Ops;
        private static UnixEndpoint* s_endpoints;
        private static uint s_autobind;

        internal static void Initialize()
        {
            Ops = SocketOperations.New();
            Ops->Attach = &Attach;
            Ops->Bind = &Bind;
            Ops->Listen = &Listen;
            Ops->Accept = &Accept;
            Ops->Connect = &Connect;
            Ops->Send = &Send;
            Ops->Receive = &Receive;
            Ops->Shutdown = &Shutdown;
            Ops->Name = &Name;
            Ops->Poll = &Poll;
            Ops->Queue = &Queue;
            Ops->Release = &Release;
            Ops->Available = &Available;
        }

        private static UnixEndpoint* Of(Socket* socket) => (UnixEndpoint*)socket->Family;

        internal static long Attach(Socket* socket)
        {
            // No room for the endpoint or its ring: ENOMEM, as unix_create1 when sk_alloc fails; the
            // socket stays without a family part and its release frees only itself.
            var endpoint = (UnixEndpoint*)KernelHeap.TryAllocateZeroed((ulong)sizeof(UnixEndpoint));
            if (endpoint == null) return -Errno.ENOMEM;
            endpoint->Socket = socket;
            endpoint->Incoming = ByteRing.Create(socket->IsStream ? StreamCapacity : DatagramCapacity);
            if (!endpoint->Incoming.IsAllocated)
            {
                KernelHeap.Free(endpoint);
                return -Errno.ENOMEM;
            }
            endpoint->NextEndpoint = s_endpoints;
            s_endpoints = endpoint;
            socket->Family = endpoint;
            return 0;
        }

        // Connects two fresh sockets to each other (socketpair, and a connection and its accepted end).
        internal static void Join(Socket* first, Socket* second)
        {
            UnixEndpoint* a = Of(first), b = Of(second);
            a->Peer = b;
            b->Peer = a;
            a->WasConnected = b->WasConnected = true;
        }

        private static UnixEndpoint* FindBound(byte* name, int length)
        {
            for (UnixEndpoint* e = s_endpoints; e != null; e = e->NextEndpoint)
            {
                if (!e->Bound || e->NameLength != length) continue;
                int i = 0;
                while (i < length && e->Name[i] == name[i]) i++;
                if (i == length) return e;
            }
            return null;
        }

        // A sockaddr_un made canonical: a path name ends at its NUL (length = 2 + strlen + 1, as
        // unix_mkname_bsd counts it); an abstract name (sun_path[0] == 0) keeps its exact length.
        private static long Canonical(byte* address, int length)
        {
            if (length < PathOffset || *(ushort*)address != SocketCalls.AF_UNIX) return -Errno.EINVAL;
            if (length > MaxAddress) return -Errno.EINVAL;
            if (length == PathOffset || address[PathOffset] == 0) return length;
            int end = PathOffset;
            while (end < length && address[end] != 0) end++;
            if (end == MaxAddress) return -Errno.EINVAL;
            address[end] = 0;
            return end + 1;
        }

        private static long Bind(Socket* socket, byte* address, int length)
        {
            UnixEndpoint* self = Of(socket);
            long canonical = Canonical(address, length);
            if (canonical < 0) return canonical;
            if (self->Name != null) return -Errno.EINVAL;
            byte* name = address;
            byte* generated = stackalloc byte[PathOffset + 6];
            if (canonical == PathOffset)
            {
                // Autobind: an abstract name of five hex digits (unix_autobind).
                *(ushort*)generated = SocketCalls.AF_UNIX;
                generated[PathOffset] = 0;
                uint n = ++s_autobind;
                for (int i = 0; i < 5; i++) generated[PathOffset + 5 - i] = (byte)"0123456789abcdef"[(int)((n >> (i * 4)) & 0xf)];
                name = generated;
                canonical = PathOffset + 6;
            }
            if (FindBound(name, (int)canonical) != null) return -Errno.EADDRINUSE;
            if (!SetName(self, name, (int)canonical)) return -Errno.ENOMEM;
            self->Bound = true;
            return 0;
        }

        // False when the kernel heap cannot hold the name.
        private static bool SetName(UnixEndpoint* endpoint, byte* name, int length)
        {
            endpoint->Name = (byte*)KernelHeap.TryAllocateZeroed((ulong)length);
            if (endpoint->Name == null) return false;
            Native.MemMove(endpoint->Name, name, (nuint)length);
            endpoint->NameLength = length;
            return true;
        }

        private static long Listen(Socket* socket, int backlog)
        {
            UnixEndpoint* self = Of(socket);
            if (self->Peer != null || self->WasConnected) return -Errno.EINVAL;
            if (self->Name == null) return -Errno.EINVAL;
            self->Backlog = backlog;
            socket->Listening = true;
            return 0;
        }

        private static long Accept(Socket* socket, bool nonBlocking, Socket** accepted)
        {
            UnixEndpoint* self = Of(socket);
            ulong deadline = SocketCalls.DeadlineAfter(socket->ReceiveTimeout);
            while (self->AcceptHead == null)
            {
                if (nonBlocking) return -Errno.EAGAIN;
                WakeReason reason = self->Queue.Wait(PollEvents.In, deadline);
                if (reason == WakeReason.Interrupted) return -Errno.ERESTARTSYS;
                if (reason == WakeReason.TimedOut && self->AcceptHead == null) return -Errno.EAGAIN;
            }
            UnixEndpoint* next = self->AcceptHead;
            self->AcceptHead = next->NextPending;
            if (self->AcceptHead == null) self->AcceptTail = null;
            next->NextPending = null;
            self->Pending--;
            // Room in the backlog again: a blocked connect may go on.
            self->Queue.Notify(PollEvents.Out);
            *accepted = next->Socket;
            return 0;
        }

        private static long Connect(Socket* socket, byte* address, int length, bool nonBlocking)
        {
            UnixEndpoint* self = Of(socket);
            if (*(ushort*)address == SocketCalls.AF_UNSPEC && !socket->IsStream)
            {
                self->Peer = null;      // a datagram socket dissolves its association
                return 0;
            }
            long canonical = Canonical(address, length);
            if (canonical < 0) return canonical;
            if (canonical == PathOffset) return -Errno.EINVAL;
            UnixEndpoint* target = FindBound(address, (int)canonical);
            if (target == null) return address[PathOffset] == 0 ? -Errno.ECONNREFUSED : -Errno.ENOENT;
            if (target->Socket->Type != socket->Type) return -Errno.EPROTOTYPE;
            if (!socket->IsStream)
            {
                self->Peer = target;
                self->PeerGone = false;
                return 0;
            }
            if (self->Peer != null || self->WasConnected) return -Errno.EISCONN;
            if (socket->Listening) return -Errno.EINVAL;
            if (!target->Socket->Listening) return -Errno.ECONNREFUSED;
            // unix_stream_connect: a full backlog (more than backlog waiting) blocks the connect.
            while (target->Pending > target->Backlog)
            {
                if (nonBlocking) return -Errno.EAGAIN;
                if (target->Queue.Wait(PollEvents.Out, 0) == WakeReason.Interrupted) return -Errno.ERESTARTSYS;
                if (!IsLive(target) || !target->Socket->Listening) return -Errno.ECONNREFUSED;
            }
            // The accepted end, made now (unix_stream_connect's sk_alloc): ENOMEM when it does not fit.
            Socket* server = SocketCalls.NewSocket(SocketCalls.AF_UNIX, socket->Type, 0, false, out OpenFile* serverFile);
            if (server == null) return -Errno.ENOMEM;
            if (Attach(server) != 0 || !SetName(Of(server), target->Name, target->NameLength))
            {
                FileTable.ReleaseUnused(serverFile);
                return -Errno.ENOMEM;
            }
            UnixEndpoint* serverEnd = Of(server);
            Join(socket, server);
            serverEnd->NextPending = null;
            if (target->AcceptTail == null) target->AcceptHead = serverEnd; else target->AcceptTail->NextPending = serverEnd;
            target->AcceptTail = serverEnd;
            target->Pending++;
            target->Queue.Notify(PollEvents.In | PollEvents.RdNorm);
            return 0;
        }

        private static long Send(Socket* socket, byte* data, ulong length, int flags, byte* address, int addressLength, bool nonBlocking)
        {
            UnixEndpoint* self = Of(socket);
            if ((flags & SocketCalls.MSG_OOB) != 0) return -Errno.EOPNOTSUPP;
            if (socket->IsStream) return SendStream(self, data, length, flags, address, nonBlocking);
            return SendDatagram(self, data, length, address, addressLength, nonBlocking);
        }

        private static long SendStream(UnixEndpoint* self, byte* data, ulong length, int flags, byte* address, bool nonBlocking)
        {
            if (address != null) return self->WasConnected ? -Errno.EISCONN : -Errno.EOPNOTSUPP;
            ulong deadline = SocketCalls.DeadlineAfter(self->Socket->SendTimeout);
            ulong sent = 0;
            while (true)
            {
                if ((self->Shutdown & UnixEndpoint.SendShutdown) != 0 || self->PeerGone) return sent > 0 ? (long)sent : -Errno.EPIPE;
                if (self->Peer == null) return -Errno.ENOTCONN;
                UnixEndpoint* peer = self->Peer;
                if (sent == length) return (long)sent;
                if (!peer->Incoming.IsFull)
                {
                    ulong room = peer->Incoming.Space, put = peer->Incoming.Put(data + sent, length - sent);
                    sent += put;
                    if (put > 0) peer->Queue.Notify(PollEvents.In | PollEvents.RdNorm);
                    if (put < room && sent < length) return sent > 0 ? (long)sent : -Errno.EFAULT;     // a page went away
                    continue;
                }
                if (nonBlocking) return sent > 0 ? (long)sent : -Errno.EAGAIN;
                WakeReason reason = self->Queue.Wait(PollEvents.Out, deadline);
                if (reason == WakeReason.Interrupted) return sent > 0 ? (long)sent : -Errno.ERESTARTSYS;
                if (reason == WakeReason.TimedOut && self->Peer != null && self->Peer->Incoming.IsFull) return sent > 0 ? (long)sent : -Errno.EAGAIN;
            }
        }

        private static long SendDatagram(UnixEndpoint* self, byte* data, ulong length, byte* address, int addressLength, bool nonBlocking)
        {
            UnixEndpoint* target;
            if (address != null)
            {
                long canonical = Canonical(address, addressLength);
                if (canonical < 0) return canonical;
                target = FindBound(address, (int)canonical);
                if (target == null) return address[PathOffset] == 0 ? -Errno.ECONNREFUSED : -Errno.ENOENT;
                if (target->Socket->Type != self->Socket->Type) return -Errno.EPROTOTYPE;
            }
            else
            {
                if (self->PeerGone) return -Errno.ECONNREFUSED;
                if (self->Peer == null) return -Errno.ENOTCONN;
                target = self->Peer;
            }
            if ((self->Shutdown & UnixEndpoint.SendShutdown) != 0) return -Errno.EPIPE;
            ulong record = RecordHeader + (ulong)self->NameLength + length;
            if (record > DatagramCapacity) return -Errno.EMSGSIZE;
            ulong deadline = SocketCalls.DeadlineAfter(self->Socket->SendTimeout);
            while (target->Incoming.Space < record)
            {
                if (nonBlocking) return -Errno.EAGAIN;
                WakeReason reason = target->Queue.Wait(PollEvents.Out, deadline);
                if (reason == WakeReason.Interrupted) return -Errno.ERESTARTSYS;
                if (reason == WakeReason.TimedOut && target->Incoming.Space < record) return -Errno.EAGAIN;
                if (!IsLive(target)) return -Errno.ECONNREFUSED;
            }
            uint* header = stackalloc uint[2];
            header[0] = (uint)length;
            header[1] = (uint)self->NameLength;
            target->Incoming.Put((byte*)header, RecordHeader);
            if (self->NameLength > 0) target->Incoming.Put(self->Name, (ulong)self->NameLength);
            ulong put = target->Incoming.Put(data, length);
            if (put < length)
            {
                // The data's pages went away since the check: no record is left half written.
                target->Incoming.Unput(RecordHeader + (ulong)self->NameLength + put);
                return -Errno.EFAULT;
            }
            target->Queue.Notify(PollEvents.In | PollEvents.RdNorm);
            return (long)length;
        }

        private static bool IsLive(UnixEndpoint* endpoint)
        {
            for (UnixEndpoint* e = s_endpoints; e != null; e = e->NextEndpoint) if (e == endpoint) return true;
            return false;
        }

        private static long Receive(Socket* socket, byte* buffer, ulong length, int flags, byte* address, int* addressLength, bool nonBlocking, int* messageFlags)
        {
            UnixEndpoint* self = Of(socket);
            if ((flags & SocketCalls.MSG_OOB) != 0) return -Errno.EOPNOTSUPP;
            ulong deadline = SocketCalls.DeadlineAfter(socket->ReceiveTimeout);
            bool peek = (flags & SocketCalls.MSG_PEEK) != 0;
            if (!socket->IsStream)
            {
                while (self->Incoming.IsEmpty)
                {
                    if ((self->Shutdown & UnixEndpoint.RcvShutdown) != 0) return 0;
                    if (nonBlocking) return -Errno.EAGAIN;
                    WakeReason reason = self->Queue.Wait(PollEvents.In, deadline);
                    if (reason == WakeReason.Interrupted) return -Errno.ERESTARTSYS;
                    if (reason == WakeReason.TimedOut && self->Incoming.IsEmpty) return -Errno.EAGAIN;
                }
                return TakeRecord(self, buffer, length, flags, address, addressLength, messageFlags);
            }
            if (socket->Listening) return -Errno.EINVAL;
            if (address != null) *addressLength = 0;
            ulong received = 0;
            bool waitAll = (flags & SocketCalls.MSG_WAITALL) != 0 && !peek;
            while (true)
            {
                if (!self->Incoming.IsEmpty && length > 0)
                {
                    ulong want = length - received, held = self->Incoming.Count;
                    ulong n = peek ? self->Incoming.Peek(buffer + received, want) : self->Incoming.Take(buffer + received, want);
                    received += n;
                    if (n < want && n < held) return received > 0 ? (long)received : -Errno.EFAULT;     // a page went away
                    if (!peek && self->Peer != null) self->Peer->Queue.Notify(PollEvents.Out | PollEvents.WrNorm);
                    if (!waitAll || received == length) return (long)received;
                    continue;
                }
                if (length == 0) return 0;
                if (socket->Error != 0)
                {
                    if (received > 0) return (long)received;
                    long error = -socket->Error;
                    socket->Error = 0;
                    return error;
                }
                if ((self->Shutdown & UnixEndpoint.RcvShutdown) != 0 || self->PeerGone) return (long)received;
                if (self->Peer == null) return received > 0 ? (long)received : -Errno.EINVAL;
                if (nonBlocking) return received > 0 ? (long)received : -Errno.EAGAIN;
                WakeReason reason = self->Queue.Wait(PollEvents.In, deadline);
                if (reason == WakeReason.Interrupted) return received > 0 ? (long)received : -Errno.ERESTARTSYS;
                if (reason == WakeReason.TimedOut && self->Incoming.IsEmpty) return received > 0 ? (long)received : -Errno.EAGAIN;
            }
        }

        // One datagram record out of the ring; a short buffer truncates it (MSG_TRUNC in msg_flags,
        // and its real length returned when asked for with MSG_TRUNC).
        private static long TakeRecord(UnixEndpoint* self, byte* buffer, ulong length, int flags, byte* address, int* addressLength, int* messageFlags)
        {
            bool peek = (flags & SocketCalls.MSG_PEEK) != 0;
            uint* header = stackalloc uint[2];
            self->Incoming.Peek((byte*)header, RecordHeader);
            ulong dataLength = header[0], nameLength = header[1];
            ulong record = RecordHeader + nameLength + dataLength;
            // No room to copy the record: ENOMEM and the datagram stays queued.
            byte* copy = (byte*)KernelHeap.TryAllocateZeroed(record);
            if (copy == null) return -Errno.ENOMEM;
            if (peek) self->Incoming.Peek(copy, record); else self->Incoming.Take(copy, record);
            ulong n = dataLength < length ? dataLength : length;
            bool copied = UserMemory.CopyChecked(buffer, copy + RecordHeader + nameLength, n) == n;
            if (address != null)
            {
                if (nameLength > 0) Native.MemMove(address, copy + RecordHeader, (nuint)nameLength);
                else *(ushort*)address = SocketCalls.AF_UNIX;
                *addressLength = nameLength > 0 ? (int)nameLength : PathOffset;
            }
            KernelHeap.Free(copy);
            if (!peek) NotifySenders(self);
            if (!copied) return -Errno.EFAULT;     // the datagram is consumed, as unix_dgram_recvmsg's failed copy leaves it
            if (n < dataLength) *messageFlags |= SocketCalls.MSG_TRUNC;
            return (flags & SocketCalls.MSG_TRUNC) != 0 ? (long)dataLength : (long)n;
        }

        // Room in a datagram socket's ring: wake senders blocked on it and connected senders' pollers.
        private static void NotifySenders(UnixEndpoint* self)
        {
            self->Queue.Notify(PollEvents.Out | PollEvents.WrNorm);
            for (UnixEndpoint* e = s_endpoints; e != null; e = e->NextEndpoint)
                if (e->Peer == self) e->Queue.Notify(PollEvents.Out | PollEvents.WrNorm);
        }

        private static long Shutdown(Socket* socket, int how)
        {
            UnixEndpoint* self = Of(socket);
            if (socket->IsStream && self->Peer == null && !self->WasConnected) return -Errno.ENOTCONN;
            int mode = how + 1;     // SHUT_RD → RCV_SHUTDOWN, SHUT_WR → SEND_SHUTDOWN, SHUT_RDWR → both
            self->Shutdown |= mode;
            self->Queue.Notify(PollEvents.Any);
            UnixEndpoint* peer = self->Peer;
            if (socket->IsStream && peer != null)
            {
                if ((mode & UnixEndpoint.RcvShutdown) != 0) peer->Shutdown |= UnixEndpoint.SendShutdown;
                if ((mode & UnixEndpoint.SendShutdown) != 0) peer->Shutdown |= UnixEndpoint.RcvShutdown;
                peer->Queue.Notify(PollEvents.Any);
            }
            return 0;
        }

        private static long Name(Socket* socket, bool peer, byte* address)
        {
            UnixEndpoint* self = Of(socket);
            UnixEndpoint* of = self;
            if (peer)
            {
                if (self->Peer == null) return -Errno.ENOTCONN;
                of = self->Peer;
            }
            if (of->Name == null)
            {
                *(ushort*)address = SocketCalls.AF_UNIX;
                return PathOffset;
            }
            Native.MemMove(address, of->Name, (nuint)of->NameLength);
            return of->NameLength;
        }

        // unix_poll / unix_dgram_poll.
        private static uint Poll(Socket* socket)
        {
            UnixEndpoint* self = Of(socket);
            uint mask = 0;
            if (socket->Error != 0) mask |= PollEvents.Err;
            if (socket->Listening) return mask | (self->AcceptHead != null ? PollEvents.In | PollEvents.RdNorm : 0);
            if (self->Shutdown == UnixEndpoint.BothShutdown || (self->PeerGone && socket->IsStream)) mask |= PollEvents.Hup;
            if ((self->Shutdown & UnixEndpoint.RcvShutdown) != 0 || (self->PeerGone && socket->IsStream))
                mask |= PollEvents.In | PollEvents.RdNorm | PollEvents.RdHup;
            if (!self->Incoming.IsEmpty) mask |= PollEvents.In | PollEvents.RdNorm;
            if (socket->IsStream)
            {
                if (self->Peer == null && !self->WasConnected) mask |= PollEvents.Hup;
                if (self->Peer == null || !self->Peer->Incoming.IsFull) mask |= PollEvents.Out | PollEvents.WrNorm | PollEvents.WrBand;
            }
            else if (self->Peer == null || self->Peer->Incoming.Space >= RecordHeader + (ulong)SocketCalls.AddressCapacity + 1024)
                mask |= PollEvents.Out | PollEvents.WrNorm | PollEvents.WrBand;
            return mask;
        }

        private static PollQueue* Queue(Socket* socket) => &Of(socket)->Queue;

        private static ulong Available(Socket* socket)
        {
            UnixEndpoint* self = Of(socket);
            if (socket->IsStream || self->Incoming.IsEmpty) return self->Incoming.Count;
            uint* header = stackalloc uint[2];
            self->Incoming.Peek((byte*)header, RecordHeader);
            return header[0];
        }

        // The last close: the peer sees both directions over (and ECONNRESET when this end left
        // data unread, as unix_release_sock does); connections never accepted are closed too.
        private static void Release(Socket* socket)
        {
            UnixEndpoint* self = Of(socket);
            if (s_endpoints == self) s_endpoints = self->NextEndpoint;
            else
            {
                UnixEndpoint* previous = s_endpoints;
                while (previous != null && previous->NextEndpoint != self) previous = previous->NextEndpoint;
                if (previous != null) previous->NextEndpoint = self->NextEndpoint;
            }
            for (UnixEndpoint* e = s_endpoints; e != null; e = e->NextEndpoint)
            {
                if (e->Peer != self) continue;
                e->Peer = null;
                e->PeerGone = true;
                if (e->Socket->IsStream)
                {
                    e->Shutdown = UnixEndpoint.BothShutdown;
                    if (!self->Incoming.IsEmpty) e->Socket->Error = (int)Errno.ECONNRESET;
                }
                e->Queue.Notify(PollEvents.Any);
            }
            while (self->AcceptHead != null)
            {
                UnixEndpoint* pending = self->AcceptHead;
                self->AcceptHead = pending->NextPending;
                pending->NextPending = null;
                FileTable.ReleaseUnused(pending->Socket->File);
            }
            self->Queue.Notify(PollEvents.Any);
            self->Incoming.Free();
            if (self->Name != null) KernelHeap.Free(self->Name);
            KernelHeap.Free(self);
        }
    }
}
