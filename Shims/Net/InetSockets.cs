using System;
using Libra.Arch.X64;
using Libra.Diagnostics;
using Libra.Memory;
using Libra.Threads;

namespace Libra.Shims.Net
{
    // An AF_INET or AF_INET6 TCP socket: a real host socket owned by the Side daemon, and here its
    // state as the Side's frames feed it (SideSocket: rx queue, accept queue, tx window, so_error),
    // so that readiness is local and a keep-alive request costs no blocking round trip
    // (reference/sockets.md §3). Accepted connections exist from their ACCEPTED frame on (their DATA
    // may follow at once) and get a descriptor at accept(). A UDP socket is one too, its datagrams
    // in Datagrams (InetDatagrams.cs).
    internal unsafe struct InetSocket
    {
        internal uint Id;
        internal SideSocket State;
        internal Socket* Socket;            // null until accept() hands an accepted connection out
        internal uint* Accepts;
        internal int Family;
        internal PollQueue Queue;
        internal InetSocket* NextInBucket;
        internal SideDatagrams* Datagrams;  // UDP: the pushed datagrams (InetDatagrams.cs); null for TCP
        internal GuestLoopback Loopback;    // a connection inside the guest, or a listener's queue of them (GuestLoopback.cs)
        internal int LocalLength, PeerLength;
        internal fixed byte Local[SocketCalls.AddressCapacity];
        internal fixed byte Peer[SocketCalls.AddressCapacity];
    }

    internal static unsafe class InetSockets
    {
        private const int MaxChunk = SideProtocol.MaxPayload;

        // Frames dropped because they broke the protocol for their socket.
        internal static ulong ProtocolBreaks;

        internal static SocketOperations* Ops;

        internal static void Initialize()
        {
            SideRxQueue.CopyOut = &UserMemory.CopyChecked;
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
            Ops->SetOption = &SetOption;
            Ops->TakeError = &TakeError;
        }

        private static InetSocket* Of(Socket* socket) => (InetSocket*)socket->Family;

        // A socket's state, not on the link yet (a guest connection's server end never is); null when
        // the kernel heap cannot hold it. Its receive blocks come from the heap as bytes arrive.
        internal static InetSocket* Allocate(uint id, int family, uint txWindow)
        {
            var inet = (InetSocket*)KernelHeap.TryAllocateZeroed((ulong)sizeof(InetSocket));
            if (inet == null) return null;
            inet->Id = id;
            inet->Family = family;
            inet->State.Initialize(id, NetworkLink.RxWindow, &KernelHeap.TryAllocateZeroed, &KernelHeap.Free, null, 0, txWindow);
            return inet;
        }

        // socket(AF_INET/AF_INET6, SOCK_STREAM or SOCK_DGRAM): SOCKET one-way once the link is up.
        internal static long Attach(Socket* socket)
        {
            if (socket->Protocol != 0 && socket->Protocol != (socket->IsStream ? SocketCalls.IPPROTO_TCP : SocketCalls.IPPROTO_UDP)) return -Errno.EPROTONOSUPPORT;
            long error = NetworkLink.WaitReady();
            if (error != 0) return error;
            uint capability = socket->Domain == SocketCalls.AF_INET6 ? SideProtocol.CapIPv6 : SideProtocol.CapIPv4;
            if ((NetworkLink.Terms.Capabilities & capability) == 0) return -Errno.EAFNOSUPPORT;
            // No memory for the state: ENOBUFS, as inet_create's failed sk_alloc.
            InetSocket* inet = Allocate(NetworkLink.NewId(), socket->Domain, NetworkLink.Terms.TxWindow);
            if (inet == null) return -Errno.ENOBUFS;
            if (!socket->IsStream && !InetDatagrams.Prepare(inet)) { Free(inet); return -Errno.ENOBUFS; }
            NetworkLink.Add(inet);
            inet->Socket = socket;
            socket->Family = inet;
            return Announce(socket, inet);
        }

        // SOCKET one-way: the Side makes the host socket behind `inet`'s id.
        private static long Announce(Socket* socket, InetSocket* inet)
        {
            byte* frame = NetworkLink.TakeBuffer();
            var request = new SideSocketRequest { Family = socket->Domain, Type = socket->Type, Protocol = 0 };
            return NetworkLink.SendFrame(frame, SideCodec.Socket(Span(frame), inet->Id, in request));
        }

        private static Span<byte> Span(byte* frame) => new Span<byte>(frame, SideProtocol.MaxFrame);

        // Tells every waiter and epoll instance of the bits a frame or a call raised.
        internal static void Notify(InetSocket* inet, int bits)
        {
            if (bits > 0) inet->Queue.Notify((uint)bits);
        }

        // One socket's line in a state dump.
        internal static void Describe(InetSocket* inet)
        {
            ref SideSocket state = ref inet->State;
            KernelLog.Begin(); KernelLog.Write("dump:   side socket "); KernelLog.Decimal(inet->Id); KernelLog.Write(' ');
            KernelLog.Write(state.State switch
            {
                SideSocketState.Created => "created", SideSocketState.Bound => "bound", SideSocketState.Listening => "listening",
                SideSocketState.Connecting => "connecting", SideSocketState.Connected => "connected", _ => "failed",
            });
            if (inet->Datagrams != null) KernelLog.Write(" udp");
            if (inet->Loopback.Active) KernelLog.Write(" inside the guest");
            if (inet->Socket == null) KernelLog.Write(" (not accepted yet)");
            KernelLog.Write(" ready "); KernelLog.Hex(state.Readiness(), 4);
            KernelLog.Write(", rx "); KernelLog.Decimal(state.Buffered); KernelLog.Write(" B uncredited "); KernelLog.Decimal(state.RxUncredited);
            KernelLog.Write(", tx in flight "); KernelLog.Decimal(state.Tx.InFlight); KernelLog.Write(" of "); KernelLog.Decimal(state.Tx.Size);
            if (state.State == SideSocketState.Listening) { KernelLog.Write(", accepts queued "); KernelLog.Decimal(state.Pending); KernelLog.Write(" taken "); KernelLog.Decimal(state.AcceptsTaken); }
            if (state.PeerClosed) KernelLog.Write(", peer closed");
            if (state.Hangup) KernelLog.Write(", hung up");
            if (state.ReadShut) KernelLog.Write(", read shut");
            if (state.WriteShut) KernelLog.Write(", write shut");
            if (state.SoError != 0) { KernelLog.Write(", so_error "); KernelLog.Decimal((ulong)state.SoError); }
            KernelLog.Write(inet->Queue.IsEmpty ? ", no waiters" : ", has waiters");
            KernelLog.End();
        }

        // A pushed fact about `inet` (NetworkLink.Dispatch, interrupts off).
        internal static void OnFrame(InetSocket* inet, in SideHeader header, ReadOnlySpan<byte> payload)
        {
            int bits;
            if (inet->Datagrams != null) bits = InetDatagrams.OnFrame(inet, in header, payload);
            else switch (header.Type)
            {
                case SideType.Data:
                    bits = inet->State.OnData(payload);
                    break;
                case SideType.Accepted:
                    if (SideCodec.DecodeAccepted(payload, out uint newId, out ReadOnlySpan<byte> peer, out ReadOnlySpan<byte> local) != 0) return;
                    // Only a listener with accept credit left takes a connection, and only under a new id.
                    bits = NetworkLink.Find(newId) != null ? -(int)Errno.EPROTO : inet->State.OnAccepted(newId);
                    if (bits < 0) break;
                    // Interrupts are off and no frame can be sent here: a connection whose state does
                    // not fit stays queued as a bare id, and accept closes it (Accept).
                    InetSocket* accepted = Allocate(newId, inet->Family, NetworkLink.Terms.TxWindow);
                    if (accepted == null) break;
                    NetworkLink.Add(accepted);
                    accepted->State.State = SideSocketState.Connected;
                    Remember(accepted, peer, local);
                    break;
                case SideType.Connected:
                    if (SideCodec.DecodeConnected(payload, out ReadOnlySpan<byte> mine, out ReadOnlySpan<byte> theirs) != 0) return;
                    bits = inet->State.OnConnected();
                    if (bits >= 0) Remember(inet, theirs, mine);
                    break;
                case SideType.ConnectFailed:
                    if (SideCodec.DecodeErrno(payload, out int failure) != 0) return;
                    bits = inet->State.OnConnectFailed(failure);
                    break;
                case SideType.Eof:
                    bits = inet->State.OnEof();
                    break;
                case SideType.Error:
                    if (SideCodec.DecodeErrno(payload, out int error) != 0) return;
                    bits = inet->State.OnError(error, header.Flags);
                    break;
                case SideType.TxCredit:
                    if (SideCodec.DecodeCount(payload, out uint credit) != 0) return;
                    bits = inet->State.OnTxCredit(credit);
                    break;
                default:
                    return;     // CLOSED, and what a socket never gets
            }
            if (bits < 0)
            {
                // A broken Side may send many: the first is logged, the rest counted for the exit report.
                if (ProtocolBreaks++ == 0)
                {
                    KernelLog.Begin(); KernelLog.Write("side: a frame of type "); KernelLog.Hex((ushort)header.Type, 2);
                    KernelLog.Write(" broke the protocol for socket "); KernelLog.Decimal(inet->Id); KernelLog.Write(" and is dropped (logged once)"); KernelLog.End();
                }
                return;
            }
            Notify(inet, bits);
        }

        internal static void Remember(InetSocket* inet, ReadOnlySpan<byte> peer, ReadOnlySpan<byte> local)
        {
            inet->PeerLength = peer.Length < SocketCalls.AddressCapacity ? peer.Length : SocketCalls.AddressCapacity;
            for (int i = 0; i < inet->PeerLength; i++) inet->Peer[i] = peer[i];
            inet->LocalLength = local.Length < SocketCalls.AddressCapacity ? local.Length : SocketCalls.AddressCapacity;
            for (int i = 0; i < inet->LocalLength; i++) inet->Local[i] = local[i];
        }

        internal static long CheckAddress(Socket* socket, byte* address, int length)
        {
            var span = new ReadOnlySpan<byte>(address, length);
            if (SideAddress.Validate(span) != 0) return -Errno.EINVAL;
            ushort family = SideAddress.Family(span);
            if (family != socket->Domain) return socket->Domain == SocketCalls.AF_INET ? -Errno.EAFNOSUPPORT : -Errno.EINVAL;
            return 0;
        }

        private static long Bind(Socket* socket, byte* address, int length)
        {
            InetSocket* inet = Of(socket);
            long error = CheckAddress(socket, address, length);
            if (error != 0) return error;
            if (inet->State.State != SideSocketState.Created) return -Errno.EINVAL;
            byte* frame = NetworkLink.TakeBuffer();
            uint tag = NetworkLink.RequestTag();
            byte* result = stackalloc byte[SocketCalls.AddressCapacity + 2];
            int resultLength = 0;
            error = NetworkLink.Request(frame, SideCodec.Bind(Span(frame), inet->Id, tag, new ReadOnlySpan<byte>(address, length)), tag,
                result, SocketCalls.AddressCapacity + 2, &resultLength);
            if (error != 0) return error;
            // The REPLY's result is the raw sockaddr the guest now has (its own view of the address).
            if (resultLength > 0) Remember(inet, new ReadOnlySpan<byte>(inet->Peer, inet->PeerLength), new ReadOnlySpan<byte>(result, resultLength));
            else Remember(inet, new ReadOnlySpan<byte>(inet->Peer, inet->PeerLength), new ReadOnlySpan<byte>(address, length));
            inet->State.State = SideSocketState.Bound;
            return 0;
        }

        private static long Listen(Socket* socket, int backlog)
        {
            InetSocket* inet = Of(socket);
            if (inet->State.State == SideSocketState.Listening) return 0;
            if (inet->State.State != SideSocketState.Bound) return -Errno.EINVAL;
            uint credit = backlog < 1 ? 1u : (uint)backlog;
            var accepts = (uint*)KernelHeap.TryAllocateZeroed(credit * 4);
            if (accepts == null) return -Errno.ENOMEM;
            byte* frame = NetworkLink.TakeBuffer();
            uint tag = NetworkLink.RequestTag();
            long error = NetworkLink.Request(frame, SideCodec.Listen(Span(frame), inet->Id, tag, backlog, credit), tag, null, 0, null);
            if (error != 0) { KernelHeap.Free(accepts); return error; }
            inet->Accepts = accepts;
            inet->State.Initialize(inet->Id, NetworkLink.RxWindow, &KernelHeap.TryAllocateZeroed, &KernelHeap.Free, inet->Accepts, credit, NetworkLink.Terms.TxWindow);
            inet->State.Listening();
            socket->Listening = true;
            GuestLoopbacks.Listen(inet, backlog);
            return 0;
        }

        private static long Accept(Socket* socket, bool nonBlocking, Socket** accepted)
        {
            InetSocket* inet = Of(socket);
            ulong deadline = SocketCalls.DeadlineAfter(socket->ReceiveTimeout);
            uint id;
            InetSocket* connection;
            while (true)
            {
                connection = GuestLoopbacks.TakePending(inet);
                if (connection != null) return HandOut(socket, connection, accepted);
                int result = inet->State.Accept(out id);
                if (result == 0) break;
                if (result != -(int)Errno.EAGAIN) return result;
                if (nonBlocking) return -Errno.EAGAIN;
                WakeReason reason = inet->Queue.Wait(PollEvents.In, deadline);
                if (reason == WakeReason.Interrupted) return -Errno.ERESTARTSYS;
                if (reason == WakeReason.TimedOut) return -Errno.EAGAIN;
            }
            connection = NetworkLink.Find(id);
            uint credit = inet->State.TakeAcceptCredit();
            if (credit > 0)
            {
                byte* frame = NetworkLink.TakeBuffer();
                NetworkLink.SendFrame(frame, SideCodec.Count(Span(frame), SideType.AcceptCredit, inet->Id, credit));
            }
            if (connection == null)
            {
                // Its state did not fit when it arrived (OnFrame), or the link went down since.
                CloseId(id);
                return -Errno.ECONNABORTED;
            }
            return HandOut(socket, connection, accepted);
        }

        // An accepted connection gets its socket.
        private static long HandOut(Socket* listener, InetSocket* connection, Socket** accepted)
        {
            Socket* created = SocketCalls.NewSocket(listener->Domain, SocketCalls.SOCK_STREAM, 0, false, out _);
            if (created == null)
            {
                // No kernel memory for the accepted socket: the connection is closed and accept
                // answers ENFILE (sock_alloc's failure in do_accept).
                Close(connection);
                return -Errno.ENFILE;
            }
            created->Family = connection;
            connection->Socket = created;
            *accepted = created;
            return 0;
        }

        private static long Connect(Socket* socket, byte* address, int length, bool nonBlocking)
        {
            InetSocket* inet = Of(socket);
            if (*(ushort*)address == SocketCalls.AF_UNSPEC && inet->Loopback.Active)
            {
                // tcp_disconnect: the peer is reset and the socket is unconnected again, on the link anew.
                GuestLoopbacks.Disconnect(inet, reset: true);
                inet->State.ReleaseBuffers();
                inet->Id = NetworkLink.NewId();
                inet->State.Initialize(inet->Id, NetworkLink.RxWindow, &KernelHeap.TryAllocateZeroed, &KernelHeap.Free, null, 0, NetworkLink.Terms.TxWindow);
                inet->PeerLength = 0;
                NetworkLink.Add(inet);
                return Announce(socket, inet);
            }
            if (*(ushort*)address == SocketCalls.AF_UNSPEC)
            {
                // connect(AF_UNSPEC): .NET's Disconnect: ABORT (RST), the socket is unconnected again.
                byte* abort = NetworkLink.TakeBuffer();
                return NetworkLink.SendFrame(abort, SideCodec.Empty(Span(abort), SideType.Abort, inet->Id));
            }
            long error = CheckAddress(socket, address, length);
            if (error != 0) return error;
            switch (inet->State.State)
            {
                case SideSocketState.Connecting: return -Errno.EALREADY;
                case SideSocketState.Connected:
                    // The connect after EINPROGRESS reports the connection made, once (inet_stream_connect).
                    if (!inet->Loopback.ConnectInProgress) return -Errno.EISCONN;
                    inet->Loopback.ConnectInProgress = false;
                    return 0;
                case SideSocketState.Listening: return -Errno.EISCONN;
                case SideSocketState.Failed: return -Errno.ECONNREFUSED;
            }
            if (GuestLoopbacks.TryConnect(socket, inet, address, length, nonBlocking, out long local)) return local;
            Remember(inet, new ReadOnlySpan<byte>(address, length), new ReadOnlySpan<byte>(inet->Local, inet->LocalLength));
            inet->State.Connecting();
            byte* frame = NetworkLink.TakeBuffer();
            error = NetworkLink.SendFrame(frame, SideCodec.Connect(Span(frame), inet->Id, new ReadOnlySpan<byte>(address, length)));
            if (error != 0) return error;
            if (nonBlocking) return -Errno.EINPROGRESS;
            while (inet->State.State == SideSocketState.Connecting)
                if (inet->Queue.Wait(PollEvents.Out, 0) == WakeReason.Interrupted) return -Errno.ERESTARTSYS;
            if (inet->State.State == SideSocketState.Failed) return -inet->State.TakeError();
            return 0;
        }

        private static long Send(Socket* socket, byte* data, ulong length, int flags, byte* address, int addressLength, bool nonBlocking)
        {
            InetSocket* inet = Of(socket);
            if ((flags & SocketCalls.MSG_OOB) != 0) return -Errno.EOPNOTSUPP;
            if (address != null && inet->State.State != SideSocketState.Connected) return -Errno.EOPNOTSUPP;
            ulong deadline = SocketCalls.DeadlineAfter(socket->SendTimeout);
            ulong sent = 0;
            while (sent < length || length == 0)
            {
                int want = length - sent > MaxChunk ? MaxChunk : (int)(length - sent);
                int allowed = inet->State.Send(want);
                if (allowed == -(int)Errno.EAGAIN)
                {
                    if (nonBlocking) return sent > 0 ? (long)sent : -Errno.EAGAIN;
                    WakeReason reason = inet->Queue.Wait(PollEvents.Out, deadline);
                    if (reason == WakeReason.Interrupted) return sent > 0 ? (long)sent : -Errno.ERESTARTSYS;
                    if (reason == WakeReason.TimedOut) return sent > 0 ? (long)sent : -Errno.EAGAIN;
                    continue;
                }
                if (allowed < 0) return sent > 0 ? (long)sent : allowed;
                if (length == 0) return 0;
                byte* frame = NetworkLink.TakeBuffer();
                int header = inet->Loopback.Active ? 0 : SideCodec.DataHeader(Span(frame), inet->Id, allowed);
                if (UserMemory.CopyChecked(frame + SideProtocol.HeaderSize, data + sent, (ulong)allowed) < (ulong)allowed)
                {
                    // The data's pages went away since the check: this frame does not go, its credit returns.
                    NetworkLink.ReturnBuffer(frame);
                    inet->State.Tx.Return((uint)allowed);
                    return sent > 0 ? (long)sent : -Errno.EFAULT;
                }
                long error = 0;
                if (inet->Loopback.Active)
                {
                    GuestLoopbacks.Deliver(inet, frame + SideProtocol.HeaderSize, allowed);
                    NetworkLink.ReturnBuffer(frame);
                }
                else error = NetworkLink.SendFrame(frame, header < 0 ? header : header + allowed);
                if (error != 0) return sent > 0 ? (long)sent : error;
                sent += (ulong)allowed;
            }
            return (long)sent;
        }

        private static long Receive(Socket* socket, byte* buffer, ulong length, int flags, byte* address, int* addressLength, bool nonBlocking, int* messageFlags)
        {
            InetSocket* inet = Of(socket);
            if ((flags & SocketCalls.MSG_OOB) != 0) return -Errno.EINVAL;
            if (socket->Listening) return -Errno.ENOTCONN;
            bool peek = (flags & SocketCalls.MSG_PEEK) != 0;
            bool waitAll = (flags & SocketCalls.MSG_WAITALL) != 0 && !peek;
            ulong deadline = SocketCalls.DeadlineAfter(socket->ReceiveTimeout);
            ulong received = 0;
            while (true)
            {
                ulong want = length - received > int.MaxValue ? int.MaxValue : length - received;
                ulong buffered = inet->State.Buffered;
                int n = inet->State.Receive(new Span<byte>(buffer + received, (int)want), peek);
                // Fewer bytes than were there to take: the buffer went away since the check.
                bool faulted = n >= 0 && (ulong)n < want && (ulong)n < buffered;
                if (n > 0)
                {
                    received += (ulong)n;
                    if (!peek) ReturnCredit(inet);
                    if (faulted || !waitAll || received == length) break;
                    continue;
                }
                if (faulted) return received > 0 ? (long)received : -Errno.EFAULT;
                if (n == 0 || n != -(int)Errno.EAGAIN)
                {
                    if (received > 0) break;
                    return n;
                }
                if (length == 0) return 0;
                if (nonBlocking) return received > 0 ? (long)received : -Errno.EAGAIN;
                WakeReason reason = inet->Queue.Wait(PollEvents.In, deadline);
                if (reason == WakeReason.Interrupted) return received > 0 ? (long)received : -Errno.ERESTARTSYS;
                if (reason == WakeReason.TimedOut) return received > 0 ? (long)received : -Errno.EAGAIN;
            }
            if (address != null && addressLength != null) *addressLength = 0;
            return (long)received;
        }

        // CREDIT once a quarter of the window has been read (docs/side-protocol.md, how the guest is meant to use it), or at once unbatched.
        private static void ReturnCredit(InetSocket* inet)
        {
            if (inet->Loopback.Active) { GuestLoopbacks.ReturnCredit(inet); return; }
            uint credit = inet->State.TakeCredit(NetworkLink.CreditThreshold);
            if (credit == 0) return;
            byte* frame = NetworkLink.TakeBuffer();
            NetworkLink.SendFrame(frame, SideCodec.Count(Span(frame), SideType.Credit, inet->Id, credit));
        }

        private static long Shutdown(Socket* socket, int how)
        {
            InetSocket* inet = Of(socket);
            if (inet->State.State != SideSocketState.Connected) return -Errno.ENOTCONN;
            inet->State.Shutdown(how);
            Notify(inet, (int)inet->State.Readiness());
            if (inet->Loopback.Active) { GuestLoopbacks.Shutdown(inet, how); return 0; }
            byte* frame = NetworkLink.TakeBuffer();
            return NetworkLink.SendFrame(frame, SideCodec.Shutdown(Span(frame), inet->Id, how));
        }

        private static long Name(Socket* socket, bool peer, byte* address)
        {
            InetSocket* inet = Of(socket);
            if (peer)
            {
                if (inet->State.State != SideSocketState.Connected || inet->PeerLength == 0) return -Errno.ENOTCONN;
                Native.MemMove(address, inet->Peer, (nuint)inet->PeerLength);
                return inet->PeerLength;
            }
            return LocalName(socket, inet, address);
        }

        internal static long LocalName(Socket* socket, InetSocket* inet, byte* address)
        {
            if (inet->LocalLength > 0)
            {
                Native.MemMove(address, inet->Local, (nuint)inet->LocalLength);
                return inet->LocalLength;
            }
            // Not bound yet: the family's any address, port 0.
            int size = socket->Domain == SocketCalls.AF_INET6 ? SideProtocol.SockaddrIn6Size : SideProtocol.SockaddrInSize;
            Native.MemSet(address, 0, (nuint)size);
            *(ushort*)address = (ushort)socket->Domain;
            return size;
        }

        private static uint Poll(Socket* socket) => Of(socket)->State.Readiness() | GuestLoopbacks.ListenerReadiness(Of(socket));

        private static PollQueue* Queue(Socket* socket) => &Of(socket)->Queue;

        private static ulong Available(Socket* socket) => Of(socket)->State.Buffered;

        private static int TakeError(Socket* socket) => Of(socket)->State.TakeError();

        // The options the Side applies to the host socket go there one-way (docs/side-protocol.md).
        internal static long SetOption(Socket* socket, int level, int name, byte* value, int length)
        {
            bool forwarded = level switch
            {
                SocketCalls.SOL_SOCKET => name is SocketCalls.SO_REUSEADDR or SocketCalls.SO_REUSEPORT or SocketCalls.SO_KEEPALIVE or
                    SocketCalls.SO_LINGER or SocketCalls.SO_BROADCAST,
                SocketCalls.IPPROTO_TCP => name is 1 or 4 or 5 or 6,
                SocketCalls.IPPROTO_IP => name is 1 or 2,
                SocketCalls.IPPROTO_IPV6 => name is 16 or 26,
                _ => false,
            };
            InetSocket* inet = Of(socket);
            // SO_LINGER {1, 0} makes a guest connection's close a reset; the Side applies it to its own.
            if (level == SocketCalls.SOL_SOCKET && name == SocketCalls.SO_LINGER && length >= 8)
                inet->Loopback.AbortOnClose = ((int*)value)[0] != 0 && ((int*)value)[1] == 0;
            if (!forwarded || inet->Id == 0) return 0;
            byte* frame = NetworkLink.TakeBuffer();
            return NetworkLink.SendFrame(frame, SideCodec.SetSockOpt(Span(frame), inet->Id, 0, level, name, new ReadOnlySpan<byte>(value, length)));
        }

        // close(): CLOSE one-way; the id is dead at once (frames still arriving for it are dropped),
        // and connections accepted but never handed out go with a listener.
        private static void Release(Socket* socket)
        {
            InetSocket* inet = Of(socket);
            if (inet->State.State == SideSocketState.Listening)
            {
                while (inet->State.Accept(out uint pending) == 0)
                {
                    InetSocket* connection = NetworkLink.Find(pending);
                    if (connection != null) Close(connection); else CloseId(pending);
                }
                GuestLoopbacks.CloseListener(inet);
            }
            if (inet->Loopback.Active) GuestLoopbacks.Disconnect(inet, reset: false);
            Close(inet);
        }

        internal static void Close(InetSocket* inet)
        {
            NetworkLink.Remove(inet);
            CloseId(inet->Id);
            inet->Queue.Notify(PollEvents.Any);
            Free(inet);
        }

        // CLOSE one-way for a socket id the Side knows (a Side socket with no state in the guest is
        // closed by id alone; the Side drops a CLOSE for an id it no longer has).
        private static void CloseId(uint id)
        {
            if (!NetworkLink.Ready || id == 0) return;
            byte* frame = NetworkLink.TakeBuffer();
            NetworkLink.SendFrame(frame, SideCodec.Empty(Span(frame), SideType.Close, id));
        }

        // A socket's state and everything it holds, off the link already.
        private static void Free(InetSocket* inet)
        {
            inet->State.ReleaseBuffers();
            if (inet->Accepts != null) KernelHeap.Free(inet->Accepts);
            if (inet->Datagrams != null) { KernelHeap.Free(inet->Datagrams->Ring); KernelHeap.Free(inet->Datagrams); }
            KernelHeap.Free(inet);
        }
    }
}
