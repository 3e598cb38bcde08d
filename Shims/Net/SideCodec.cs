using System;

namespace Libra.Shims.Net
{
    // HELLO (guest → Side): the guest's protocol version, the largest payload it takes, and the
    // receive window it grants every socket the Side pushes bytes to.
    internal struct SideHello
    {
        internal uint Version;
        internal uint MaxPayload;
        internal uint RxWindow;
        internal ushort Flags;          // the header's: SideProtocol.HelloUnbatched
    }

    // HELLO's REPLY result: the session's terms. TxWindow is the bytes the guest may have in flight
    // per socket (DATA not yet returned by TX_CREDIT); AcceptCredit is unused by the Side and zero.
    internal struct SideHelloReply
    {
        internal uint Version;
        internal uint Capabilities;     // SideProtocol.Cap*
        internal uint MaxPayload;
        internal uint TxWindow;
    }

    internal struct SideSocketRequest
    {
        internal int Family;
        internal int Type;              // SOCK_STREAM or SOCK_DGRAM, without SOCK_NONBLOCK/SOCK_CLOEXEC
        internal int Protocol;
    }

    // Encoders return the frame's length or -EMSGSIZE; decoders take a frame's payload (SideProtocol.Parse)
    // and return 0 or -EPROTO. Addresses are len[2] + raw Linux sockaddr; counts and errnos are u32.
    internal static class SideCodec
    {
        // The largest credit one CREDIT/TX_CREDIT/ACCEPT_CREDIT may carry: bigger is a broken peer.
        internal const uint MaxCredit = 1u << 30;

        // Checks a header against the catalogue: a known type, sent in the right direction, naming a
        // socket where the type needs one (SOCKET only a guest id), with a tag where a reply is owed.
        internal static int CheckHeader(in SideHeader header, bool fromGuest)
        {
            ushort type = (ushort)header.Type;
            if (!SideProtocol.IsKnown(type)) return -(int)Errno.EPROTO;
            bool guestType = type < (ushort)SideType.Reply || header.Type == SideType.Data;
            bool sideType = type >= (ushort)SideType.Reply || header.Type == SideType.Data;
            if (fromGuest ? !guestType : !sideType) return -(int)Errno.EPROTO;
            switch (header.Type)
            {
                case SideType.Hello:
                    return header.Socket == 0 && header.Tag != 0 ? 0 : -(int)Errno.EPROTO;
                case SideType.Reply:
                    return header.Tag != 0 ? 0 : -(int)Errno.EPROTO;
                case SideType.Socket:
                    return SideProtocol.IsGuestId(header.Socket) ? 0 : -(int)Errno.EPROTO;
                case SideType.GetSockOpt:
                case SideType.Bind:
                case SideType.Listen:
                case SideType.Ioctl:
                    return header.Socket != 0 && header.Tag != 0 ? 0 : -(int)Errno.EPROTO;
                default:
                    return header.Socket != 0 ? 0 : -(int)Errno.EPROTO;
            }
        }

        // ---- guest → Side ----

        internal static int Hello(Span<byte> buffer, uint tag, in SideHello hello)
        {
            var w = new SideWriter(buffer, SideType.Hello, hello.Flags, 0, tag);
            w.U32(hello.Version);
            w.U32(hello.MaxPayload);
            w.U32(hello.RxWindow);
            return w.Finish();
        }

        internal static int DecodeHello(ReadOnlySpan<byte> payload, out SideHello hello)
        {
            var r = new SideReader(payload);
            hello = default;
            hello.Version = r.U32();
            hello.MaxPayload = r.U32();
            hello.RxWindow = r.U32();
            if (hello.RxWindow == 0 || hello.RxWindow > MaxCredit) r.Fail();
            return r.End();
        }

        internal static int Socket(Span<byte> buffer, uint socket, in SideSocketRequest request)
        {
            var w = new SideWriter(buffer, SideType.Socket, 0, socket, 0);
            w.U32((uint)request.Family);
            w.U32((uint)request.Type);
            w.U32((uint)request.Protocol);
            return w.Finish();
        }

        internal static int DecodeSocket(ReadOnlySpan<byte> payload, out SideSocketRequest request)
        {
            var r = new SideReader(payload);
            request.Family = (int)r.U32();
            request.Type = (int)r.U32();
            request.Protocol = (int)r.U32();
            return r.End();
        }

        // SETSOCKOPT is one-way with tag 0 (the guest validated it), or answered by REPLY with a tag.
        internal static int SetSockOpt(Span<byte> buffer, uint socket, uint tag, int level, int name, ReadOnlySpan<byte> value)
        {
            if (value.Length > SideProtocol.MaxOptionSize) return -(int)Errno.EMSGSIZE;
            var w = new SideWriter(buffer, SideType.SetSockOpt, 0, socket, tag);
            w.U32((uint)level);
            w.U32((uint)name);
            w.Bytes(value);
            return w.Finish();
        }

        internal static int DecodeSetSockOpt(ReadOnlySpan<byte> payload, out int level, out int name, out ReadOnlySpan<byte> value)
        {
            var r = new SideReader(payload);
            level = (int)r.U32();
            name = (int)r.U32();
            value = r.Rest();
            if (value.Length > SideProtocol.MaxOptionSize) r.Fail();
            return r.End();
        }

        internal static int GetSockOpt(Span<byte> buffer, uint socket, uint tag, int level, int name, int maxLength)
        {
            var w = new SideWriter(buffer, SideType.GetSockOpt, 0, socket, tag);
            w.U32((uint)level);
            w.U32((uint)name);
            w.U32((uint)maxLength);
            return w.Finish();
        }

        internal static int DecodeGetSockOpt(ReadOnlySpan<byte> payload, out int level, out int name, out int maxLength)
        {
            var r = new SideReader(payload);
            level = (int)r.U32();
            name = (int)r.U32();
            uint max = r.U32();
            if (max > SideProtocol.MaxOptionSize) r.Fail();
            maxLength = (int)max;
            return r.End();
        }

        // BIND and CONNECT carry one address; CONNECT is one-way (CONNECTED or CONNECT_FAILED follows).
        internal static int Bind(Span<byte> buffer, uint socket, uint tag, ReadOnlySpan<byte> address) =>
            AddressOnly(buffer, SideType.Bind, socket, tag, address);

        internal static int Connect(Span<byte> buffer, uint socket, ReadOnlySpan<byte> address) =>
            AddressOnly(buffer, SideType.Connect, socket, 0, address);

        private static int AddressOnly(Span<byte> buffer, SideType type, uint socket, uint tag, ReadOnlySpan<byte> address)
        {
            var w = new SideWriter(buffer, type, 0, socket, tag);
            w.Address(address);
            return w.Finish();
        }

        internal static int DecodeAddress(ReadOnlySpan<byte> payload, out ReadOnlySpan<byte> address)
        {
            var r = new SideReader(payload);
            address = r.Address();
            return r.End();
        }

        // LISTEN: the backlog for the host's listen(), and how many accepted connections the Side may
        // push before the guest returns ACCEPT_CREDIT.
        internal static int Listen(Span<byte> buffer, uint socket, uint tag, int backlog, uint acceptCredit)
        {
            var w = new SideWriter(buffer, SideType.Listen, 0, socket, tag);
            w.U32((uint)backlog);
            w.U32(acceptCredit);
            return w.Finish();
        }

        internal static int DecodeListen(ReadOnlySpan<byte> payload, out int backlog, out uint acceptCredit)
        {
            var r = new SideReader(payload);
            backlog = (int)r.U32();
            acceptCredit = r.U32();
            if (acceptCredit > MaxCredit) r.Fail();
            return r.End();
        }

        // DATA, either way: the payload is the bytes.
        internal static int Data(Span<byte> buffer, uint socket, ReadOnlySpan<byte> bytes)
        {
            if (bytes.Length > SideProtocol.MaxPayload) return -(int)Errno.EMSGSIZE;
            var w = new SideWriter(buffer, SideType.Data, 0, socket, 0);
            w.Bytes(bytes);
            return w.Finish();
        }

        // DATA's header alone, for a sender that reads the bytes straight into the frame after it.
        internal static int DataHeader(Span<byte> buffer, uint socket, int count)
        {
            if (count < 0 || count > SideProtocol.MaxPayload || buffer.Length < SideProtocol.HeaderSize) return -(int)Errno.EMSGSIZE;
            var w = new SideWriter(buffer.Slice(0, SideProtocol.HeaderSize), SideType.Data, 0, socket, 0);
            w.Finish();
            SetLength(buffer, SideProtocol.HeaderSize + count);
            return SideProtocol.HeaderSize;
        }

        // Patches len[4] of a frame whose payload was written after its header.
        internal static void SetLength(Span<byte> frame, int length) =>
            System.Runtime.CompilerServices.Unsafe.As<byte, uint>(ref frame[0]) = (uint)length;

        // SENDTO (guest → Side) and DGRAM (Side → guest): an address, then one datagram.
        internal static int SendTo(Span<byte> buffer, uint socket, ReadOnlySpan<byte> address, ReadOnlySpan<byte> datagram) =>
            AddressAndBytes(buffer, SideType.SendTo, socket, address, datagram);

        internal static int Dgram(Span<byte> buffer, uint socket, ReadOnlySpan<byte> from, ReadOnlySpan<byte> datagram) =>
            AddressAndBytes(buffer, SideType.Dgram, socket, from, datagram);

        private static int AddressAndBytes(Span<byte> buffer, SideType type, uint socket, ReadOnlySpan<byte> address, ReadOnlySpan<byte> bytes)
        {
            var w = new SideWriter(buffer, type, 0, socket, 0);
            w.Address(address);
            w.Bytes(bytes);
            return w.Finish();
        }

        internal static int DecodeAddressAndBytes(ReadOnlySpan<byte> payload, out ReadOnlySpan<byte> address, out ReadOnlySpan<byte> bytes)
        {
            var r = new SideReader(payload);
            address = r.Address();
            bytes = r.Rest();
            return r.End();
        }

        // CREDIT (guest → Side: rx bytes consumed), ACCEPT_CREDIT (connections the Side may push more),
        // TX_CREDIT (Side → guest: sent bytes that left the Side's queue). One u32, 1..MaxCredit.
        internal static int Count(Span<byte> buffer, SideType type, uint socket, uint count)
        {
            var w = new SideWriter(buffer, type, 0, socket, 0);
            w.U32(count);
            return w.Finish();
        }

        internal static int DecodeCount(ReadOnlySpan<byte> payload, out uint count)
        {
            var r = new SideReader(payload);
            count = r.U32();
            if (count == 0 || count > MaxCredit) r.Fail();
            return r.End();
        }

        internal static int Shutdown(Span<byte> buffer, uint socket, int how)
        {
            var w = new SideWriter(buffer, SideType.Shutdown, 0, socket, 0);
            w.U32((uint)how);
            return w.Finish();
        }

        internal static int DecodeShutdown(ReadOnlySpan<byte> payload, out int how)
        {
            var r = new SideReader(payload);
            uint value = r.U32();
            if (value > SideProtocol.SHUT_RDWR) r.Fail();
            how = (int)value;
            return r.End();
        }

        // ABORT, CLOSE (guest → Side), EOF, CLOSED (Side → guest): the header says it all.
        internal static int Empty(Span<byte> buffer, SideType type, uint socket)
        {
            var w = new SideWriter(buffer, type, 0, socket, 0);
            return w.Finish();
        }

        internal static int DecodeEmpty(ReadOnlySpan<byte> payload) => payload.Length == 0 ? 0 : -(int)Errno.EPROTO;

        internal static int Ioctl(Span<byte> buffer, uint socket, uint tag, uint code, ulong argument)
        {
            var w = new SideWriter(buffer, SideType.Ioctl, 0, socket, tag);
            w.U32(code);
            w.U64(argument);
            return w.Finish();
        }

        internal static int DecodeIoctl(ReadOnlySpan<byte> payload, out uint code, out ulong argument)
        {
            var r = new SideReader(payload);
            code = r.U32();
            argument = r.U64();
            return r.End();
        }

        // ---- Side → guest ----

        // REPLY: errno (0 = success, else a positive Linux errno) and the call's result bytes.
        internal static int Reply(Span<byte> buffer, uint socket, uint tag, int errno, ReadOnlySpan<byte> result)
        {
            if (errno < 0 || errno > 4095 || result.Length > SideProtocol.MaxOptionSize) return -(int)Errno.EMSGSIZE;
            var w = new SideWriter(buffer, SideType.Reply, 0, socket, tag);
            w.U32((uint)errno);
            w.Bytes(result);
            return w.Finish();
        }

        internal static int DecodeReply(ReadOnlySpan<byte> payload, out int errno, out ReadOnlySpan<byte> result)
        {
            var r = new SideReader(payload);
            errno = ReadErrno(ref r);
            result = r.Rest();
            if (result.Length > SideProtocol.MaxOptionSize) r.Fail();
            return r.End();
        }

        internal static int HelloReply(Span<byte> buffer, uint tag, in SideHelloReply reply)
        {
            var w = new SideWriter(buffer, SideType.Reply, 0, 0, tag);
            w.U32(0);
            w.U32(reply.Version);
            w.U32(reply.Capabilities);
            w.U32(reply.MaxPayload);
            w.U32(reply.TxWindow);
            return w.Finish();
        }

        internal static int DecodeHelloReply(ReadOnlySpan<byte> result, out SideHelloReply reply)
        {
            var r = new SideReader(result);
            reply.Version = r.U32();
            reply.Capabilities = r.U32();
            reply.MaxPayload = r.U32();
            reply.TxWindow = r.U32();
            if (reply.TxWindow == 0 || reply.TxWindow > MaxCredit) r.Fail();
            return r.End();
        }

        // ACCEPTED (sock = the listener): the new socket's Side id, its peer and its local address.
        internal static int Accepted(Span<byte> buffer, uint listener, uint newSocket, ReadOnlySpan<byte> peer, ReadOnlySpan<byte> local)
        {
            var w = new SideWriter(buffer, SideType.Accepted, 0, listener, 0);
            w.U32(newSocket);
            w.Address(peer);
            w.Address(local);
            return w.Finish();
        }

        internal static int DecodeAccepted(ReadOnlySpan<byte> payload, out uint newSocket, out ReadOnlySpan<byte> peer, out ReadOnlySpan<byte> local)
        {
            var r = new SideReader(payload);
            newSocket = r.U32();
            if (!SideProtocol.IsSideId(newSocket)) r.Fail();
            peer = r.Address();
            local = r.Address();
            return r.End();
        }

        // CONNECTED: the socket's local address (getsockname) and its peer (getpeername).
        internal static int Connected(Span<byte> buffer, uint socket, ReadOnlySpan<byte> local, ReadOnlySpan<byte> peer)
        {
            var w = new SideWriter(buffer, SideType.Connected, 0, socket, 0);
            w.Address(local);
            w.Address(peer);
            return w.Finish();
        }

        internal static int DecodeConnected(ReadOnlySpan<byte> payload, out ReadOnlySpan<byte> local, out ReadOnlySpan<byte> peer)
        {
            var r = new SideReader(payload);
            local = r.Address();
            peer = r.Address();
            return r.End();
        }

        // CONNECT_FAILED and ERROR carry one errno; ERROR's header flags say reset and/or hangup.
        internal static int ErrnoEvent(Span<byte> buffer, SideType type, uint socket, int errno, ushort flags)
        {
            if (errno <= 0 || errno > 4095) return -(int)Errno.EMSGSIZE;
            var w = new SideWriter(buffer, type, flags, socket, 0);
            w.U32((uint)errno);
            return w.Finish();
        }

        internal static int DecodeErrno(ReadOnlySpan<byte> payload, out int errno)
        {
            var r = new SideReader(payload);
            errno = ReadErrno(ref r);
            if (errno == 0) r.Fail();
            return r.End();
        }

        private static int ReadErrno(ref SideReader r)
        {
            uint value = r.U32();
            if (value > 4095) { r.Fail(); return 0; }
            return (int)value;
        }
    }
}
