using System;
using Libra.Memory;
using Libra.Threads;

namespace Libra.Shims.Net
{
    // A TCP socket's part in a connection that never leaves the guest: connect() to a loopback
    // address (127.0.0.0/8, ::1) whose port a guest socket listens on pairs the two ends here
    // instead of through the Side daemon, as Linux's loopback keeps such a connection inside one
    // kernel. Each end keeps its SideSocket state (rx queue, tx window, shutdown, so_error, and so
    // its readiness exactly as for a Side connection); a send appends to the peer's rx queue as a
    // DATA frame would, a read returns the peer's tx credit at once as TX_CREDIT would.
    internal unsafe struct GuestLoopback
    {
        internal bool Active;               // this end's bytes go to Peer, not to the Side
        internal bool AbortOnClose;         // SO_LINGER {1, 0}: close resets the peer (tcp_close's abortive path)
        internal bool ConnectInProgress;    // a non-blocking connect said EINPROGRESS; the next connect says 0
        internal InetSocket* Peer;          // the other end; null once it closed
        internal InetSocket* NextPending;   // in the listener's queue until accepted
        internal InetSocket* NextEnd;       // every local end, for the ports in use
        // A listener's: the connections made to it inside the guest, not accepted yet.
        internal InetSocket* Head, Tail;
        internal int Pending, Backlog;
        internal bool Listed;
        internal InetSocket* NextListener;
    }

    internal static unsafe class GuestLoopbacks
    {
        // net.core.somaxconn's default (Linux 5.4+): listen() clamps its backlog to it.
        private const int MaxBacklog = 4096;
        // net.ipv4.ip_local_port_range's default.
        private const ushort FirstEphemeral = 32768, LastEphemeral = 60999;

        private static InetSocket* s_listeners;
        private static InetSocket* s_ends;
        private static ushort s_nextPort = FirstEphemeral;

        // listen(): guest connections to the listener's port now pair with it.
        internal static void Listen(InetSocket* listener, int backlog)
        {
            ref GuestLoopback own = ref listener->Loopback;
            own.Backlog = backlog < 0 ? 0 : backlog > MaxBacklog ? MaxBacklog : backlog;
            if (own.Listed) return;
            own.Listed = true;
            own.NextListener = s_listeners;
            s_listeners = listener;
        }

        // The guest's listener a connect to `destination` reaches: same family and port, bound to the
        // any address or to the destination itself. IPv4 reaches IPv4 listeners and ::1 IPv6 ones;
        // ::ffff:127.x (a dual-stack socket's IPv4) is left to the Side.
        private static InetSocket* ListenerFor(ReadOnlySpan<byte> destination)
        {
            if (!SideAddress.IsLoopback(destination) || SideAddress.IsV4Mapped(destination)) return null;
            for (InetSocket* l = s_listeners; l != null; l = l->Loopback.NextListener)
            {
                var bound = new ReadOnlySpan<byte>(l->Local, l->LocalLength);
                if (SideAddress.Family(bound) != SideAddress.Family(destination) || SideAddress.IsV4Mapped(bound)) continue;
                if (SideAddress.Port(bound) != SideAddress.Port(destination)) continue;
                if (SideAddress.IsAny(bound) || SideAddress.SameEndpoint(bound, destination)) return l;
            }
            return null;
        }

        // connect(): pairs `inet` with a new end queued on the guest's listener for `address` and
        // returns true with the call's result; false when no guest socket listens there (the Side's
        // connect goes on). Linux answers a non-blocking connect to a local listener EINPROGRESS even
        // though the handshake is already over when it returns (inet_stream_connect), so this does too.
        internal static bool TryConnect(Socket* socket, InetSocket* inet, byte* address, int length, bool nonBlocking, out long result)
        {
            result = 0;
            var destination = new ReadOnlySpan<byte>(address, length);
            InetSocket* listener = ListenerFor(destination);
            if (listener == null) return false;
            // A full backlog (more waiting than it allows, sk_acceptq_is_full) holds a blocking connect
            // until accept makes room; Linux would retry a non-blocking one's SYN a second later, here
            // it is queued past the backlog.
            while (!nonBlocking && listener->Loopback.Pending > listener->Loopback.Backlog)
            {
                if (listener->Queue.Wait(PollEvents.Out, 0) == WakeReason.Interrupted) { result = -Errno.ERESTARTSYS; return true; }
                listener = ListenerFor(destination);
                if (listener == null) return false;
            }

            // The server's end first: without memory for it, connect answers ENOBUFS (as a failed
            // sk_clone_lock leaves the client) and the client stays as it was.
            InetSocket* server = InetSockets.Allocate(0, inet->Family, NetworkLink.RxWindow);
            if (server == null) { result = -Errno.ENOBUFS; return true; }
            // The client's host socket is not needed any more: it leaves the link.
            NetworkLink.Remove(inet);
            if (NetworkLink.Ready)
            {
                byte* frame = NetworkLink.TakeBuffer();
                NetworkLink.SendFrame(frame, SideCodec.Empty(new Span<byte>(frame, SideProtocol.MaxFrame), SideType.Close, inet->Id));
            }
            Open(inet);
            Open(server);

            byte* local = stackalloc byte[SocketCalls.AddressCapacity];
            byte* peer = stackalloc byte[SocketCalls.AddressCapacity];
            int peerLength = Normalize(destination, SideAddress.Port(destination), new Span<byte>(peer, SocketCalls.AddressCapacity));
            int localLength = ClientAddress(inet, new Span<byte>(local, SocketCalls.AddressCapacity));
            InetSockets.Remember(inet, new ReadOnlySpan<byte>(peer, peerLength), new ReadOnlySpan<byte>(local, localLength));
            InetSockets.Remember(server, new ReadOnlySpan<byte>(local, localLength), new ReadOnlySpan<byte>(peer, peerLength));
            inet->Loopback.Peer = server;
            server->Loopback.Peer = inet;

            ref GuestLoopback queue = ref listener->Loopback;
            if (queue.Tail == null) queue.Head = server; else queue.Tail->Loopback.NextPending = server;
            queue.Tail = server;
            queue.Pending++;
            InetSockets.Notify(listener, (int)(PollBits.In | PollBits.RdNorm));
            InetSockets.Notify(inet, (int)(PollBits.Out | PollBits.WrNorm));
            if (nonBlocking)
            {
                inet->Loopback.ConnectInProgress = true;
                result = -Errno.EINPROGRESS;
            }
            return true;
        }

        // An end of a new guest connection: connected, its window the peer's receive window.
        private static void Open(InetSocket* end)
        {
            end->Id = 0;
            end->State.Initialize(0, NetworkLink.RxWindow, &KernelHeap.TryAllocateZeroed, &KernelHeap.Free, null, 0, NetworkLink.RxWindow);
            end->State.State = SideSocketState.Connected;
            end->Loopback.Active = true;
            end->Loopback.NextEnd = s_ends;
            s_ends = end;
        }

        // `address`'s family, host and `port` as the socket calls hand them out (flow info and scope zero).
        private static int Normalize(ReadOnlySpan<byte> address, ushort port, Span<byte> destination)
        {
            if (SideAddress.Family(address) == SideProtocol.AF_INET)
                return SideAddress.WriteIPv4(destination, address[4], address[5], address[6], address[7], port);
            return SideAddress.WriteIPv6(destination, address.Slice(8, 16), port);
        }

        // The client's own address: what it was bound to, its any address made the loopback one (the
        // source Linux picks on lo), its port 0 made a free ephemeral one.
        private static int ClientAddress(InetSocket* inet, Span<byte> destination)
        {
            var bound = new ReadOnlySpan<byte>(inet->Local, inet->LocalLength);
            ushort port = inet->LocalLength > 0 ? SideAddress.Port(bound) : (ushort)0;
            if (port == 0) port = FreePort();
            if (inet->LocalLength > 0 && !SideAddress.IsAny(bound)) return Normalize(bound, port, destination);
            if (inet->Family == SideProtocol.AF_INET) return SideAddress.WriteIPv4(destination, 127, 0, 0, 1, port);
            Span<byte> one = stackalloc byte[16];
            one.Clear();
            one[15] = 1;
            return SideAddress.WriteIPv6(destination, one, port);
        }

        // The next ephemeral port no guest connection or listener holds.
        private static ushort FreePort()
        {
            for (int tries = 0; tries <= LastEphemeral - FirstEphemeral; tries++)
            {
                ushort port = s_nextPort;
                s_nextPort = port == LastEphemeral ? FirstEphemeral : (ushort)(port + 1);
                if (!InUse(port)) return port;
            }
            return s_nextPort;
        }

        private static bool InUse(ushort port)
        {
            for (InetSocket* e = s_ends; e != null; e = e->Loopback.NextEnd)
                if (SideAddress.Port(new ReadOnlySpan<byte>(e->Local, e->LocalLength)) == port) return true;
            for (InetSocket* l = s_listeners; l != null; l = l->Loopback.NextListener)
                if (SideAddress.Port(new ReadOnlySpan<byte>(l->Local, l->LocalLength)) == port) return true;
            return false;
        }

        // accept(): the oldest guest connection queued on `listener`, or null.
        internal static InetSocket* TakePending(InetSocket* listener)
        {
            ref GuestLoopback queue = ref listener->Loopback;
            InetSocket* next = queue.Head;
            if (next == null) return null;
            queue.Head = next->Loopback.NextPending;
            if (queue.Head == null) queue.Tail = null;
            next->Loopback.NextPending = null;
            queue.Pending--;
            // Room in the backlog again: a connect held by it may go on.
            listener->Queue.Notify(PollEvents.Out);
            return next;
        }

        // What the listener's guest connections add to its readiness.
        internal static uint ListenerReadiness(InetSocket* listener) => listener->Loopback.Head != null ? PollBits.In | PollBits.RdNorm : 0;

        // A send's `count` bytes (already taken from the sender's window) into the peer's rx queue.
        // A peer that closed answers with a reset, as its kernel would to data for a closed socket.
        internal static void Deliver(InetSocket* from, byte* data, int count)
        {
            InetSocket* peer = from->Loopback.Peer;
            if (peer == null)
            {
                Reset(from);
                return;
            }
            bool wasHungUp = peer->State.Hangup;
            InetSockets.Notify(peer, peer->State.OnData(new ReadOnlySpan<byte>(data, count)));
            // The peer had no memory for the bytes and was reset (SideSocket.OnData): so is the sender.
            if (!wasHungUp && peer->State.Hangup) Reset(from);
        }

        // A read's consumed bytes go back to the peer's window at once.
        internal static void ReturnCredit(InetSocket* reader)
        {
            uint credit = reader->State.TakeCredit(1);
            InetSocket* peer = reader->Loopback.Peer;
            if (credit == 0 || peer == null) return;
            InetSockets.Notify(peer, peer->State.OnTxCredit(credit));
        }

        // shutdown(): SHUT_WR is the peer's end of stream (a FIN); SHUT_RD tells the peer nothing.
        internal static void Shutdown(InetSocket* inet, int how)
        {
            InetSocket* peer = inet->Loopback.Peer;
            if (how != SideProtocol.SHUT_RD && peer != null) InetSockets.Notify(peer, peer->State.OnEof());
        }

        // close() or connect(AF_UNSPEC) of one end: the peer reads the end of stream, or a reset when
        // this end left bytes unread or lingers 0 (tcp_close, tcp_disconnect).
        internal static void Disconnect(InetSocket* inet, bool reset)
        {
            InetSocket* peer = inet->Loopback.Peer;
            Unlist(inet);
            inet->Loopback.Active = false;
            inet->Loopback.Peer = null;
            if (peer == null) return;
            peer->Loopback.Peer = null;
            reset |= inet->State.Buffered > 0 || inet->Loopback.AbortOnClose;
            if (reset) Reset(peer); else InetSockets.Notify(peer, peer->State.OnEof());
        }

        // A reset arrives at `end`: ECONNRESET, or EPIPE where the peer had already ended its stream
        // (tcp_reset in CLOSE_WAIT); nothing more either way.
        private static void Reset(InetSocket* end)
        {
            int error = end->State.PeerClosed ? (int)Errno.EPIPE : (int)Errno.ECONNRESET;
            InetSockets.Notify(end, end->State.OnError(error, SideProtocol.ErrorReset | SideProtocol.ErrorHangup));
        }

        // A listener's close: it leaves the list, and the connections it never accepted are reset.
        internal static void CloseListener(InetSocket* listener)
        {
            if (!listener->Loopback.Listed) return;
            if (s_listeners == listener) s_listeners = listener->Loopback.NextListener;
            else
            {
                InetSocket* previous = s_listeners;
                while (previous != null && previous->Loopback.NextListener != listener) previous = previous->Loopback.NextListener;
                if (previous != null) previous->Loopback.NextListener = listener->Loopback.NextListener;
            }
            listener->Loopback.Listed = false;
            InetSocket* pending;
            while ((pending = TakePending(listener)) != null)
            {
                Disconnect(pending, reset: true);
                InetSockets.Close(pending);
            }
        }

        // The guest's own connections, for a state dump (they are not on the link).
        internal static void Dump()
        {
            for (InetSocket* e = s_ends; e != null; e = e->Loopback.NextEnd) InetSockets.Describe(e);
        }

        private static void Unlist(InetSocket* end)
        {
            if (s_ends == end) { s_ends = end->Loopback.NextEnd; return; }
            InetSocket* previous = s_ends;
            while (previous != null && previous->Loopback.NextEnd != end) previous = previous->Loopback.NextEnd;
            if (previous != null) previous->Loopback.NextEnd = end->Loopback.NextEnd;
        }
    }
}
