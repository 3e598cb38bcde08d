using System;

namespace Libra.Shims.Net
{
    // A guest UDP socket's state as the Side protocol feeds it: the datagrams DGRAM pushed (each
    // whole, with the address it came from), the rx credit they hold, the tx window TX_CREDIT
    // refills, so_error, and the guest's own connect and shutdown. Readiness() is Linux's
    // datagram_poll over that state; facts return the bits to notify (IN on every arrival, as ET
    // epoll fires per datagram), calls lower them. The ring is the caller's (kernel heap in the guest,
    // pinned memory in tests). Pure logic: no locks, no waits.
    internal unsafe struct SideDatagrams
    {
        // A record in the ring: u32 datagram length, u32 address length, the address (at most a
        // sockaddr_in6), then the bytes.
        private const uint RecordHeader = 8;
        // What one datagram costs in rx credit beyond its bytes: its record header and address, so
        // that a flood of empty datagrams is bounded by the window like any other.
        internal const uint Overhead = 64;

        internal bool Bound, Connected, ConnectPending;
        internal int SoError;                   // positive errno; returned once by the next call or SO_ERROR
        internal int ConnectError;              // CONNECT_FAILED's errno, for the connect() waiting on it
        internal bool ReadShut, WriteShut;
        internal SideWindow Tx;
        internal uint TxLowWater;               // OUT from here up: any datagram fits (a quarter of 256 KiB > 64 KiB)
        internal uint RxUncredited;             // credit of consumed datagrams, not yet returned by CREDIT

        private byte* _ring;
        private uint _capacity, _head, _used, _charged, _count;

        // The cost of a datagram of `length` bytes in rx credit (the Side charges the same).
        internal static uint Cost(int length) => (uint)length + Overhead;

        internal void Initialize(byte* ring, uint capacity, uint txWindow)
        {
            this = default;
            _ring = ring;
            _capacity = capacity;
            Tx = new SideWindow(txWindow);
            TxLowWater = txWindow / 4 > 0 ? txWindow / 4 : 1;
        }

        internal uint Count => _count;

        // The ring Initialize was given, for its owner to free.
        internal byte* Ring => _ring;

        // FIONREAD on a datagram socket: the size of the next datagram (0 when none).
        internal uint NextLength => _count == 0 ? 0 : ReadU32(_head);

        internal uint Readiness()
        {
            uint mask = 0;
            if (SoError != 0) mask |= PollBits.Err;
            if (ReadShut) mask |= PollBits.RdHup | PollBits.In | PollBits.RdNorm;
            if (ReadShut && WriteShut) mask |= PollBits.Hup;
            if (_count > 0) mask |= PollBits.In | PollBits.RdNorm;
            if (Tx.Available >= TxLowWater) mask |= PollBits.Out | PollBits.WrNorm | PollBits.WrBand;
            return mask;
        }

        private int Notify(uint before, uint arrival)
        {
            uint after = Readiness();
            return (int)((after & ~before) | (after & arrival));
        }

        // ---- facts from the Side; -EPROTO when the frame breaks the protocol and nothing changed ----

        // DGRAM: one datagram and its source. Beyond the credit the Side was given is a broken Side.
        internal int OnDatagram(ReadOnlySpan<byte> from, ReadOnlySpan<byte> bytes)
        {
            uint cost = Cost(bytes.Length);
            if (cost > _capacity - _charged) return -(int)Errno.EPROTO;
            uint before = Readiness();
            int fromLength = from.Length < SideProtocol.SockaddrIn6Size ? from.Length : SideProtocol.SockaddrIn6Size;
            uint at = (_head + _used) % _capacity;
            WriteU32(at, (uint)bytes.Length);
            WriteU32(at + 4, (uint)fromLength);
            Write(at + RecordHeader, from.Slice(0, fromLength));
            Write(at + RecordHeader + (uint)fromLength, bytes);
            _used += RecordHeader + (uint)fromLength + (uint)bytes.Length;
            _charged += cost;
            _count++;
            return Notify(before, PollBits.In | PollBits.RdNorm);
        }

        // ERROR: a pending error (ICMP-like: a refused or failed SENDTO); it does not end the socket.
        internal int OnError(int errno)
        {
            uint before = Readiness();
            SoError = errno;
            return Notify(before, PollBits.Err);
        }

        internal int OnTxCredit(uint count)
        {
            uint before = Readiness();
            if (!Tx.Return(count)) return -(int)Errno.EPROTO;
            return Notify(before, 0);
        }

        // CONNECTED / CONNECT_FAILED answer the connect() waiting for them.
        internal void OnConnected()
        {
            ConnectPending = false;
            Connected = Bound = true;
            ConnectError = 0;
        }

        internal void OnConnectFailed(int errno)
        {
            ConnectPending = false;
            ConnectError = errno;
        }

        // ---- the calls ----

        // recvfrom: the pending error first (as skb_recv_datagram), then the oldest datagram: up to
        // destination.Length of its bytes (the rest is lost unless peeking), its source into `from`;
        // the bytes copied, `length` the datagram's own. 0 once shut for reading and empty; -EAGAIN
        // only while IN is clear.
        internal int Receive(Span<byte> destination, bool peek, Span<byte> from, out int fromLength, out int length)
        {
            fromLength = length = 0;
            if (SoError != 0) return -TakeError();
            if (_count == 0) return ReadShut ? 0 : -(int)Errno.EAGAIN;
            length = (int)ReadU32(_head);
            fromLength = (int)ReadU32(_head + 4);
            for (int i = 0; i < fromLength && i < from.Length; i++) from[i] = _ring[(_head + RecordHeader + (uint)i) % _capacity];
            int copied = destination.Length < length ? destination.Length : length;
            uint data = (_head + RecordHeader + (uint)fromLength) % _capacity;
            // The data in at most two pieces (the ring wraps); a destination that ended early (the
            // application's buffer went away) still consumes the datagram: EFAULT, as udp_recvmsg.
            int first = copied < (int)(_capacity - data) ? copied : (int)(_capacity - data);
            bool faulted = SideRxQueue.Move(destination.Slice(0, first), _ring + data, first) < first ||
                (copied > first && SideRxQueue.Move(destination.Slice(first, copied - first), _ring, copied - first) < copied - first);
            if (!peek)
            {
                uint record = RecordHeader + (uint)fromLength + (uint)length;
                _head = (_head + record) % _capacity;
                _used -= record;
                _charged -= Cost(length);
                _count--;
                RxUncredited += Cost(length);
            }
            return faulted ? -(int)Errno.EFAULT : copied;
        }

        // sendto: whether a datagram of `length` bytes may go now (its frame is the caller's): the
        // pending error first, EPIPE once shut for writing, -EAGAIN only while OUT is clear.
        internal int Send(int length)
        {
            if (SoError != 0) return -TakeError();
            if (WriteShut) return -(int)Errno.EPIPE;
            if (!Tx.Consume((uint)length)) return -(int)Errno.EAGAIN;
            return 0;
        }

        internal int TakeError() => SideCalls.TakeError(ref SoError);

        internal void Shutdown(int how) => SideCalls.Shutdown(how, ref ReadShut, ref WriteShut);

        internal uint TakeCredit(uint threshold) => SideCalls.TakeCredit(ref RxUncredited, threshold);

        private uint ReadU32(uint at)
        {
            uint value = 0;
            for (uint i = 0; i < 4; i++) value |= (uint)_ring[(at + i) % _capacity] << (int)(8 * i);
            return value;
        }

        private void WriteU32(uint at, uint value)
        {
            for (uint i = 0; i < 4; i++) _ring[(at + i) % _capacity] = (byte)(value >> (int)(8 * i));
        }

        private void Write(uint at, ReadOnlySpan<byte> bytes)
        {
            for (int i = 0; i < bytes.Length; i++) _ring[(at + (uint)i) % _capacity] = bytes[i];
        }
    }
}
