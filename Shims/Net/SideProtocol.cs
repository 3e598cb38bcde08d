using System;
using System.Runtime.CompilerServices;

namespace Libra.Shims.Net
{
    // The Side protocol's message types (docs/side-protocol.md; reference/sockets.md §3.3). Guest → Side
    // types are below 0x80, Side → guest types from 0x81; DATA (8) is the same frame both ways.
    internal enum SideType : ushort
    {
        Hello = 1, Socket = 2, SetSockOpt = 3, GetSockOpt = 4, Bind = 5, Listen = 6, Connect = 7, Data = 8,
        SendTo = 9, Credit = 10, AcceptCredit = 11, Shutdown = 12, Abort = 13, Close = 14, Ioctl = 15,
        Reply = 0x81, Accepted = 0x82, Dgram = 0x83, TxCredit = 0x84, Connected = 0x85, ConnectFailed = 0x86,
        Eof = 0x87, Error = 0x88, Closed = 0x89,
    }

    // A frame's 16-byte header: len[4] type[2] flags[2] sock[4] tag[4], little-endian (sockets.md §3.2).
    internal struct SideHeader
    {
        internal uint Length;       // the whole frame, header included
        internal SideType Type;
        internal ushort Flags;
        internal uint Socket;       // 0 for session messages (HELLO and its REPLY)
        internal uint Tag;          // request id of a request/reply pair; 0 = one-way
    }

    internal static class SideProtocol
    {
        internal const int HeaderSize = 16;
        internal const int MaxPayload = 65536;
        internal const int MaxFrame = HeaderSize + MaxPayload;
        internal const uint Version = 1;

        // Socket ids: the guest names the sockets it creates in [1, 2^31); the Side names the ones it
        // accepts in [2^31, 2^32). Neither end reuses an id within a session (no ABA on close races).
        internal const uint FirstSideId = 0x80000000;
        internal static bool IsGuestId(uint id) => id != 0 && id < FirstSideId;
        internal static bool IsSideId(uint id) => id >= FirstSideId;

        // Flags of ERROR: the connection was reset (ECONNRESET and the like) / both directions are over.
        internal const ushort ErrorReset = 1, ErrorHangup = 2;

        // Flag of HELLO: credit returned and frames sent one by one, not batched (libra.side_batching=off).
        internal const ushort HelloUnbatched = 1;

        // Capabilities in HELLO's reply: what the host can do, so that socket(AF_INET6) and the IPv6
        // probe answer EAFNOSUPPORT in the guest without a round trip.
        internal const uint CapIPv4 = 1, CapIPv6 = 2, CapUdp = 4, CapOutbound = 8, CapNameServer = 16;

        // The guest's name server (CapNameServer): its /etc/resolv.conf names 127.0.0.11 (docker's
        // embedded DNS address), and the Side sends what goes to port 53 there to the host's one.
        internal const byte NameServerLastOctet = 11;
        internal const ushort NameServerPort = 53;
        internal const string NameServerText = "127.0.0.11";

        // Linux values the codec checks (include/linux/socket.h, net.h).
        internal const ushort AF_UNSPEC = 0, AF_INET = 2, AF_INET6 = 10;
        internal const int SOCK_STREAM = 1, SOCK_DGRAM = 2;
        internal const int SHUT_RD = 0, SHUT_WR = 1, SHUT_RDWR = 2;
        internal const int SockaddrInSize = 16, SockaddrIn6Size = 28, SockaddrStorageSize = 128;
        // Option values and GETSOCKOPT results are small (linger is 8 bytes, the biggest whitelisted one).
        internal const int MaxOptionSize = 256;

        internal static bool IsKnown(ushort type) =>
            (type >= (ushort)SideType.Hello && type <= (ushort)SideType.Ioctl) ||
            (type >= (ushort)SideType.Reply && type <= (ushort)SideType.Closed);

        // The length of the frame whose first 4 bytes are given: HeaderSize..MaxFrame, or -1 when the
        // length field is malformed (a fatal stream error: there is no frame boundary left to find),
        // or 0 when fewer than 4 bytes are there yet.
        internal static int FrameLength(ReadOnlySpan<byte> start)
        {
            if (start.Length < 4) return 0;
            uint length = Unsafe.As<byte, uint>(ref Unsafe.AsRef(in start[0]));
            if (length < HeaderSize || length > MaxFrame) return -1;
            return (int)length;
        }

        // Splits one whole frame into header and payload. -EPROTO when the length field is malformed
        // or disagrees with the span (a reassembler hands over exactly one frame).
        internal static int Parse(ReadOnlySpan<byte> frame, out SideHeader header, out ReadOnlySpan<byte> payload)
        {
            header = default;
            payload = default;
            int length = FrameLength(frame);
            if (length <= 0 || length != frame.Length) return -(int)Errno.EPROTO;
            header.Length = (uint)length;
            header.Type = (SideType)Unsafe.As<byte, ushort>(ref Unsafe.AsRef(in frame[4]));
            header.Flags = Unsafe.As<byte, ushort>(ref Unsafe.AsRef(in frame[6]));
            header.Socket = Unsafe.As<byte, uint>(ref Unsafe.AsRef(in frame[8]));
            header.Tag = Unsafe.As<byte, uint>(ref Unsafe.AsRef(in frame[12]));
            payload = frame.Slice(HeaderSize);
            return 0;
        }
    }
}
