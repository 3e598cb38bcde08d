using System;

namespace Libra.Shims.Net
{
    internal enum SideSocketState : byte { Created, Bound, Listening, Connecting, Connected, Failed }

    // Linux poll bits (include/uapi/linux/eventpoll.h, asm-generic/poll.h).
    internal static class PollBits
    {
        internal const uint In = 0x001, Out = 0x004, Err = 0x008, Hup = 0x010, RdNorm = 0x040, WrNorm = 0x100, WrBand = 0x200, RdHup = 0x2000;

        // reference/sockets.md §3.6 R3: what epoll_wait reports for an item asking for `requested`
        // (ERR and HUP always); 0 means the item leaves the ready list.
        internal static uint Report(uint mask, uint requested) => mask & (requested | Err | Hup);
    }

    // A guest TCP socket's state as the Side protocol feeds it (reference/sockets.md §3.1, §3.6):
    // the rx ring the Side pushes DATA into, the accept queue ACCEPTED fills, the tx window TX_CREDIT
    // refills, and so_error. Readiness() is a function of that state alone; every transition from a
    // frame returns the poll bits to notify (those that rose, and IN on every arrival, as Linux's ET
    // does: R1), and the calls (Receive, Send, Accept) lower bits just by changing state (R4), so an
    // EAGAIN is only ever returned while its bit is clear and the next rise is an edge. The buffers
    // are the caller's (kernel heap in the guest, pinned arrays in tests). Pure logic: no locks, no waits.
    internal unsafe struct SideSocket
    {
        internal uint Id;
        internal SideSocketState State;
        internal int SoError;                   // positive errno; read and cleared by SO_ERROR
        internal bool PeerClosed;               // EOF: the peer's FIN, after its DATA
        internal bool Hangup;                   // ERROR with the hangup flag: nothing more either way
        internal bool ReadShut, WriteShut;      // the guest's own shutdown()
        internal SideWindow Tx;
        internal uint TxLowWater;               // OUT only from here up (R6: no per-credit OUT storm)
        internal uint RxUncredited;             // consumed, not yet returned by CREDIT
        internal uint AcceptsTaken;             // accepted, not yet returned by ACCEPT_CREDIT

        private SideRxQueue _rx;
        private uint _rxWindow;
        private uint* _accepts;
        private uint _acceptCapacity, _acceptHead, _acceptCount;

        // `rxWindow` is the receive window the guest granted in HELLO, its bytes queued in blocks from
        // `allocate`; `accepts` holds as many ids as the accept credit a LISTEN grants; `txWindow` is
        // HELLO's reply's.
        internal void Initialize(uint id, uint rxWindow, delegate*<ulong, void*> allocate, delegate*<void*, void> free,
            uint* accepts, uint acceptCapacity, uint txWindow)
        {
            this = default;
            Id = id;
            _rxWindow = rxWindow;
            _rx.Initialize(allocate, free);
            _accepts = accepts;
            _acceptCapacity = acceptCapacity;
            Tx = new SideWindow(txWindow);
            TxLowWater = txWindow / 4 > 0 ? txWindow / 4 : 1;
        }

        internal uint Buffered => _rx.Count;

        // The receive queue's blocks, the spare included: what the socket holds in memory for its bytes.
        internal uint RxBlocks => _rx.Blocks;

        // Frees the receive queue's blocks (the socket's release).
        internal void ReleaseBuffers() => _rx.Clear();
        internal uint Pending => _acceptCount;

        // R7: the mask as Linux's tcp_poll would give it for this state.
        internal uint Readiness()
        {
            uint mask = 0;
            switch (State)
            {
                case SideSocketState.Created:
                case SideSocketState.Bound:
                    mask = PollBits.Out | PollBits.Hup;        // an unconnected TCP socket (TCP_CLOSE)
                    break;
                case SideSocketState.Listening:
                    if (_acceptCount > 0 || Hangup) mask = PollBits.In | PollBits.RdNorm;
                    if (Hangup) mask |= PollBits.Hup;
                    break;
                case SideSocketState.Connecting:
                    break;
                case SideSocketState.Failed:
                    mask = PollBits.Out | PollBits.WrNorm | PollBits.Hup;
                    break;
                case SideSocketState.Connected:
                    bool readClosed = PeerClosed || ReadShut || Hangup;
                    if (_rx.Count > 0 || readClosed) mask |= PollBits.In | PollBits.RdNorm;
                    if (readClosed) mask |= PollBits.RdHup;
                    if (WriteShut || Hangup || Tx.Available >= TxLowWater) mask |= PollBits.Out | PollBits.WrNorm;
                    if (Hangup || (readClosed && WriteShut)) mask |= PollBits.Hup;
                    break;
            }
            if (SoError != 0) mask |= PollBits.Err;
            return mask;
        }

        private int Notify(uint before, uint arrival)
        {
            uint after = Readiness();
            return (int)((after & ~before) | (after & arrival));
        }

        // ---- facts from the Side (R1); each returns the bits to notify, or -EPROTO when the frame
        // breaks the protocol (the Side went past the credit it was given) and nothing changed ----

        internal int OnData(ReadOnlySpan<byte> bytes)
        {
            if (State != SideSocketState.Connected || (uint)bytes.Length > _rxWindow - _rx.Count) return -(int)Errno.EPROTO;
            uint before = Readiness();
            if (bytes.Length == 0) return 0;
            // Bytes the Side has sent cannot be asked for again: with no memory to keep them the stream
            // is broken, and the socket is reset (reads and writes then fail with ECONNRESET).
            if (!_rx.Append(bytes)) return OnError((int)Errno.ECONNRESET, SideProtocol.ErrorReset | SideProtocol.ErrorHangup);
            return Notify(before, PollBits.In | PollBits.RdNorm);
        }

        internal int OnAccepted(uint newSocket)
        {
            if (State != SideSocketState.Listening || _acceptCount == _acceptCapacity) return -(int)Errno.EPROTO;
            uint before = Readiness();
            _accepts[(_acceptHead + _acceptCount) % _acceptCapacity] = newSocket;
            _acceptCount++;
            return Notify(before, PollBits.In | PollBits.RdNorm);
        }

        internal int OnEof()
        {
            uint before = Readiness();
            PeerClosed = true;
            return Notify(before, 0);
        }

        // A pending error after the buffered bytes (Linux drains the queue before sock_error). During
        // a connect it is the connect's failure (the link went down before CONNECTED came).
        internal int OnError(int errno, ushort flags)
        {
            uint before = Readiness();
            SoError = errno;
            if ((flags & SideProtocol.ErrorHangup) != 0) Hangup = true;
            if (State == SideSocketState.Connecting) State = SideSocketState.Failed;
            return Notify(before, PollBits.Err);
        }

        internal int OnConnected()
        {
            if (State != SideSocketState.Connecting) return -(int)Errno.EPROTO;
            uint before = Readiness();
            State = SideSocketState.Connected;
            SoError = 0;
            return Notify(before, 0);
        }

        internal int OnConnectFailed(int errno)
        {
            if (State != SideSocketState.Connecting) return -(int)Errno.EPROTO;
            uint before = Readiness();
            State = SideSocketState.Failed;
            SoError = errno;
            return Notify(before, 0);
        }

        internal int OnTxCredit(uint count)
        {
            uint before = Readiness();
            if (!Tx.Return(count)) return -(int)Errno.EPROTO;
            return Notify(before, 0);
        }

        // ---- the calls (R4: falling edges come from these) ----

        internal void Connecting() => State = SideSocketState.Connecting;
        internal void Listening() => State = SideSocketState.Listening;

        // recv/recvfrom: buffered bytes first, then a pending error (once), then 0 at end of stream;
        // -EAGAIN only while IN is clear.
        internal int Receive(Span<byte> destination, bool peek)
        {
            if (State != SideSocketState.Connected) return State == SideSocketState.Failed ? TakeErrorOr(0) : -(int)Errno.ENOTCONN;
            if (_rx.Count == 0)
            {
                if (SoError != 0) return -TakeError();
                if (PeerClosed || ReadShut || Hangup) return 0;
                return -(int)Errno.EAGAIN;
            }
            int count = _rx.Read(destination, peek);
            if (!peek) RxUncredited += (uint)count;
            return count;
        }

        // send: how many of `length` bytes may go now (their DATA frames are the caller's); -EAGAIN
        // only while OUT is clear; a pending error first, then EPIPE once the stream is over.
        internal int Send(int length)
        {
            if (SoError != 0) return -TakeError();
            if (State != SideSocketState.Connected) return State == SideSocketState.Connecting ? -(int)Errno.EAGAIN : -(int)Errno.EPIPE;
            if (WriteShut || Hangup) return -(int)Errno.EPIPE;
            uint available = Tx.Available;
            if (available == 0) return -(int)Errno.EAGAIN;
            uint count = (uint)length < available ? (uint)length : available;
            Tx.Consume(count);
            return (int)count;
        }

        internal int Accept(out uint newSocket)
        {
            newSocket = 0;
            if (State != SideSocketState.Listening) return -(int)Errno.EINVAL;
            if (_acceptCount == 0 && Hangup) return SoError != 0 ? -TakeError() : -(int)Errno.EINVAL;  // the listener is gone with the link
            if (_acceptCount == 0) return -(int)Errno.EAGAIN;
            newSocket = _accepts[_acceptHead];
            _acceptHead = (_acceptHead + 1) % _acceptCapacity;
            _acceptCount--;
            AcceptsTaken++;
            return 0;
        }

        // getsockopt(SO_ERROR): the pending error, cleared.
        internal int TakeError() => SideCalls.TakeError(ref SoError);

        private int TakeErrorOr(int otherwise) => SoError != 0 ? -TakeError() : otherwise;

        internal void Shutdown(int how) => SideCalls.Shutdown(how, ref ReadShut, ref WriteShut);

        internal uint TakeCredit(uint threshold) => SideCalls.TakeCredit(ref RxUncredited, threshold);

        internal uint TakeAcceptCredit()
        {
            uint credit = AcceptsTaken;
            AcceptsTaken = 0;
            return credit;
        }
    }
}
