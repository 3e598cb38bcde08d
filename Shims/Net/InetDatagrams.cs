using System;
using Libra.Arch.X64;
using Libra.Memory;
using Libra.Threads;

namespace Libra.Shims.Net
{
    // An AF_INET or AF_INET6 UDP socket: a host UDP socket owned by the Side daemon, and here the
    // datagrams its DGRAM frames pushed (SideDatagrams), so that recv, poll and FIONREAD never wait
    // on the wire (docs/side-protocol.md). sendto is one-way within the tx window; bind, an
    // implicit bind before the first sendto, and connect wait for the Side's answer, since their
    // errors (a refused port, ENETUNREACH) are synchronous on Linux.
    internal static unsafe class InetDatagrams
    {
        internal static SocketOperations* Ops;

        internal static void Initialize()
        {
            Ops = SocketOperations.New();
            Ops->Attach = &Attach;
            Ops->Bind = &Bind;
            Ops->Connect = &Connect;
            Ops->Send = &Send;
            Ops->Receive = &Receive;
            Ops->Shutdown = &Shutdown;
            Ops->Name = &Name;
            Ops->Poll = &Poll;
            Ops->Queue = &Queue;
            Ops->Release = &Release;
            Ops->Available = &Available;
            Ops->SetOption = &InetSockets.SetOption;
            Ops->TakeError = &TakeError;
        }

        private static InetSocket* Of(Socket* socket) => (InetSocket*)socket->Family;

        private static Span<byte> Span(byte* frame) => new Span<byte>(frame, SideProtocol.MaxFrame);

        // socket(AF_INET/AF_INET6, SOCK_DGRAM): as a TCP socket's (InetSockets.Attach), with its
        // datagram state (Prepare) in place before the SOCKET frame leaves.
        private static long Attach(Socket* socket)
        {
            long error = NetworkLink.WaitReady();
            if (error != 0) return error;
            if ((NetworkLink.Terms.Capabilities & SideProtocol.CapUdp) == 0) return -Errno.EPROTONOSUPPORT;
            return InetSockets.Attach(socket);
        }

        // False when the kernel heap cannot hold the state (nothing is kept then).
        internal static bool Prepare(InetSocket* inet)
        {
            // Datagrams keep a ring of the whole window (records are not split); a UDP socket is rare
            // beside the connections whose memory SideRxQueue keeps to what is queued.
            var datagrams = (SideDatagrams*)KernelHeap.TryAllocateZeroed((ulong)sizeof(SideDatagrams));
            byte* ring = datagrams == null ? null : (byte*)KernelHeap.TryAllocateZeroed(NetworkLink.RxWindow);
            if (ring == null)
            {
                if (datagrams != null) KernelHeap.Free(datagrams);
                return false;
            }
            inet->Datagrams = datagrams;
            datagrams->Initialize(ring, NetworkLink.RxWindow, NetworkLink.Terms.TxWindow);
            return true;
        }

        // A pushed fact about the UDP socket `inet` (InetSockets.OnFrame, interrupts off): the bits to
        // notify, 0 for a frame with nothing to say, or -EPROTO when it broke the protocol.
        internal static int OnFrame(InetSocket* inet, in SideHeader header, ReadOnlySpan<byte> payload)
        {
            SideDatagrams* state = inet->Datagrams;
            switch (header.Type)
            {
                case SideType.Dgram:
                    if (SideCodec.DecodeAddressAndBytes(payload, out ReadOnlySpan<byte> from, out ReadOnlySpan<byte> bytes) != 0) return 0;
                    return state->OnDatagram(from, bytes);
                case SideType.Error:
                    return SideCodec.DecodeErrno(payload, out int error) == 0 ? state->OnError(error) : 0;
                case SideType.TxCredit:
                    return SideCodec.DecodeCount(payload, out uint credit) == 0 ? state->OnTxCredit(credit) : 0;
                case SideType.Connected:
                    if (SideCodec.DecodeConnected(payload, out ReadOnlySpan<byte> local, out ReadOnlySpan<byte> peer) != 0) return 0;
                    InetSockets.Remember(inet, peer, local);
                    state->OnConnected();
                    return (int)(PollBits.Out | PollBits.WrNorm);
                case SideType.ConnectFailed:
                    if (SideCodec.DecodeErrno(payload, out int failure) != 0) return 0;
                    state->OnConnectFailed(failure);
                    return (int)(PollBits.Out | PollBits.WrNorm);
                default:
                    return 0;   // CLOSED, and what a UDP socket never gets
            }
        }

        // The link went down: a pending ECONNRESET, and a connect() waiting for its answer gets it too.
        internal static void OnLinkDown(InetSocket* inet)
        {
            SideDatagrams* state = inet->Datagrams;
            if (state->ConnectPending) state->OnConnectFailed((int)Errno.ECONNRESET);
            state->OnError((int)Errno.ECONNRESET);
            inet->Queue.Notify(PollEvents.Any);
        }

        private static long Bind(Socket* socket, byte* address, int length)
        {
            InetSocket* inet = Of(socket);
            long error = InetSockets.CheckAddress(socket, address, length);
            if (error != 0) return error;
            if (inet->Datagrams->Bound) return -Errno.EINVAL;
            return RequestBind(inet, address, length);
        }

        // BIND and its REPLY: the address the guest now has (a port 0 gets the host's ephemeral one).
        private static long RequestBind(InetSocket* inet, byte* address, int length)
        {
            byte* frame = NetworkLink.TakeBuffer();
            uint tag = NetworkLink.RequestTag();
            byte* result = stackalloc byte[SocketCalls.AddressCapacity + 2];
            int resultLength = 0;
            long error = NetworkLink.Request(frame, SideCodec.Bind(Span(frame), inet->Id, tag, new ReadOnlySpan<byte>(address, length)), tag,
                result, SocketCalls.AddressCapacity + 2, &resultLength);
            if (error != 0) return error;
            var local = resultLength > 0 ? new ReadOnlySpan<byte>(result, resultLength) : new ReadOnlySpan<byte>(address, length);
            InetSockets.Remember(inet, new ReadOnlySpan<byte>(inet->Peer, inet->PeerLength), local);
            inet->Datagrams->Bound = true;
            return 0;
        }

        // Linux binds an unbound socket to an ephemeral port at its first sendto (inet_autobind);
        // here that is a BIND of the any address, port 0, so that getsockname shows the port.
        private static long BindImplicitly(Socket* socket)
        {
            InetSocket* inet = Of(socket);
            if (inet->Datagrams->Bound) return 0;
            byte* any = stackalloc byte[SideProtocol.SockaddrIn6Size];
            int length = socket->Domain == SocketCalls.AF_INET6 ? SideProtocol.SockaddrIn6Size : SideProtocol.SockaddrInSize;
            Native.MemSet(any, 0, (nuint)length);
            *(ushort*)any = (ushort)socket->Domain;
            return RequestBind(inet, any, length);
        }

        // connect: sets (or with AF_UNSPEC clears) the default peer, which sends without an address
        // go to and the host socket filters arrivals by. It waits for the Side's answer even on a
        // non-blocking socket: a UDP connect completes at once on Linux, its errors included.
        private static long Connect(Socket* socket, byte* address, int length, bool nonBlocking)
        {
            InetSocket* inet = Of(socket);
            SideDatagrams* state = inet->Datagrams;
            byte* frame;
            if (*(ushort*)address == SocketCalls.AF_UNSPEC)
            {
                state->Connected = false;
                inet->PeerLength = 0;
                frame = NetworkLink.TakeBuffer();
                return NetworkLink.SendFrame(frame, SideCodec.Connect(Span(frame), inet->Id, new ReadOnlySpan<byte>(address, length)));
            }
            long error = InetSockets.CheckAddress(socket, address, length);
            if (error != 0) return error;
            if (state->ConnectPending) return -Errno.EALREADY;
            state->ConnectPending = true;
            frame = NetworkLink.TakeBuffer();
            error = NetworkLink.SendFrame(frame, SideCodec.Connect(Span(frame), inet->Id, new ReadOnlySpan<byte>(address, length)));
            if (error != 0) { state->ConnectPending = false; return error; }
            while (state->ConnectPending) inet->Queue.Wait(PollEvents.Any, 0, interruptible: false);
            return state->ConnectError != 0 ? -state->ConnectError : 0;
        }

        private static long Send(Socket* socket, byte* data, ulong length, int flags, byte* address, int addressLength, bool nonBlocking)
        {
            InetSocket* inet = Of(socket);
            SideDatagrams* state = inet->Datagrams;
            if ((flags & SocketCalls.MSG_OOB) != 0) return -Errno.EOPNOTSUPP;
            if (address != null && addressLength >= 2 && *(ushort*)address == SocketCalls.AF_UNSPEC && state->Connected) address = null;
            if (address == null && !state->Connected) return -Errno.EDESTADDRREQ;
            if (address != null)
            {
                long invalid = InetSockets.CheckAddress(socket, address, addressLength);
                if (invalid != 0) return invalid;
                // No route out of the machine without -Net outbound (the Side refuses it too).
                if ((NetworkLink.Terms.Capabilities & SideProtocol.CapOutbound) == 0 && !SideAddress.IsLoopback(new ReadOnlySpan<byte>(address, addressLength)))
                    return -Errno.ENETUNREACH;
            }
            int addressRoom = address != null ? 2 + addressLength : 0;
            if (length > (ulong)(SideProtocol.MaxPayload - addressRoom)) return -Errno.EMSGSIZE;
            if (address != null)
            {
                long unbound = BindImplicitly(socket);
                if (unbound != 0) return unbound;
            }
            ulong deadline = SocketCalls.DeadlineAfter(socket->SendTimeout);
            while (true)
            {
                int allowed = state->Send((int)length);
                if (allowed == 0) break;
                if (allowed != -(int)Errno.EAGAIN) return allowed;
                if (nonBlocking) return -Errno.EAGAIN;
                WakeReason reason = inet->Queue.Wait(PollEvents.Out, deadline);
                if (reason == WakeReason.Interrupted) return -Errno.ERESTARTSYS;
                if (reason == WakeReason.TimedOut) return -Errno.EAGAIN;
            }
            var datagram = new ReadOnlySpan<byte>(data, (int)length);
            byte* frame = NetworkLink.TakeBuffer();
            int frameLength = address != null
                ? SideCodec.SendTo(Span(frame), inet->Id, new ReadOnlySpan<byte>(address, addressLength), datagram)
                : SideCodec.Data(Span(frame), inet->Id, datagram);
            long error = NetworkLink.SendFrame(frame, frameLength);
            return error != 0 ? error : (long)length;
        }

        // recvfrom/recvmsg: one datagram per call; a short buffer truncates it (MSG_TRUNC in msg_flags,
        // and its whole length returned when the caller passed MSG_TRUNC), as udp_recvmsg does.
        private static long Receive(Socket* socket, byte* buffer, ulong length, int flags, byte* address, int* addressLength, bool nonBlocking, int* messageFlags)
        {
            InetSocket* inet = Of(socket);
            SideDatagrams* state = inet->Datagrams;
            if ((flags & SocketCalls.MSG_OOB) != 0) return -Errno.EOPNOTSUPP;
            bool peek = (flags & SocketCalls.MSG_PEEK) != 0;
            byte* from = stackalloc byte[SideProtocol.SockaddrIn6Size];
            ulong deadline = SocketCalls.DeadlineAfter(socket->ReceiveTimeout);
            int copied, fromLength, whole;
            while (true)
            {
                int room = length > int.MaxValue ? int.MaxValue : (int)length;
                copied = state->Receive(new Span<byte>(buffer, room), peek, new Span<byte>(from, SideProtocol.SockaddrIn6Size), out fromLength, out whole);
                if (copied != -(int)Errno.EAGAIN) break;
                if (nonBlocking) return -Errno.EAGAIN;
                WakeReason reason = inet->Queue.Wait(PollEvents.In, deadline);
                if (reason == WakeReason.Interrupted) return -Errno.ERESTARTSYS;
                if (reason == WakeReason.TimedOut) return -Errno.EAGAIN;
            }
            if (!peek && (copied >= 0 || copied == -(int)Errno.EFAULT)) ReturnCredit(inet);     // the datagram is gone either way
            if (copied < 0) return copied;
            if (address != null && addressLength != null)
            {
                Native.MemMove(address, from, (nuint)fromLength);
                *addressLength = fromLength;
            }
            if (copied < whole) *messageFlags |= SocketCalls.MSG_TRUNC;
            return (flags & SocketCalls.MSG_TRUNC) != 0 ? whole : copied;
        }

        // CREDIT once a quarter of the window has been consumed, as for TCP.
        private static void ReturnCredit(InetSocket* inet)
        {
            uint credit = inet->Datagrams->TakeCredit(NetworkLink.CreditThreshold);
            if (credit == 0) return;
            byte* frame = NetworkLink.TakeBuffer();
            NetworkLink.SendFrame(frame, SideCodec.Count(Span(frame), SideType.Credit, inet->Id, credit));
        }

        // shutdown is the guest's alone (the host socket keeps receiving; Linux keeps queueing too):
        // a recv then ends with 0 and poll reports RDHUP/HUP. ENOTCONN when not connected, after
        // taking effect, as inet_shutdown does for a TCP_CLOSE socket.
        private static long Shutdown(Socket* socket, int how)
        {
            InetSocket* inet = Of(socket);
            inet->Datagrams->Shutdown(how);
            inet->Queue.Notify(PollEvents.Any);
            return inet->Datagrams->Connected ? 0 : -Errno.ENOTCONN;
        }

        private static long Name(Socket* socket, bool peer, byte* address)
        {
            InetSocket* inet = Of(socket);
            if (peer)
            {
                if (!inet->Datagrams->Connected || inet->PeerLength == 0) return -Errno.ENOTCONN;
                Native.MemMove(address, inet->Peer, (nuint)inet->PeerLength);
                return inet->PeerLength;
            }
            return InetSockets.LocalName(socket, inet, address);
        }

        private static uint Poll(Socket* socket) => Of(socket)->Datagrams->Readiness();

        private static PollQueue* Queue(Socket* socket) => &Of(socket)->Queue;

        // FIONREAD/SIOCINQ: the next datagram's size (udp_ioctl's first_packet_length).
        private static ulong Available(Socket* socket) => Of(socket)->Datagrams->NextLength;

        private static int TakeError(Socket* socket) => Of(socket)->Datagrams->TakeError();

        private static void Release(Socket* socket) => InetSockets.Close(Of(socket));
    }
}
