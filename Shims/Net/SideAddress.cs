using System;
using System.Runtime.CompilerServices;

namespace Libra.Shims.Net
{
    // Linux sockaddr bytes as the Side protocol carries them (raw, both ends are Linux x86-64, so
    // sockaddr_in6 and ::ffff: mapping are bit-identical): sa_family in host order at 0, the port in
    // network order at 2, the IPv4 address at 4 (sockaddr_in) or the IPv6 one at 8 (sockaddr_in6).
    internal static class SideAddress
    {
        // 0 for a sockaddr Linux would take, else -EINVAL (too short, as inet_bind/inet6_bind check) or
        // -EAFNOSUPPORT (not AF_INET, AF_INET6, or AF_UNSPEC, which only connect uses: .NET's Disconnect).
        internal static int Validate(ReadOnlySpan<byte> address)
        {
            if (address.Length < 2 || address.Length > SideProtocol.SockaddrStorageSize) return -(int)Errno.EINVAL;
            switch (Family(address))
            {
                case SideProtocol.AF_INET: return address.Length >= SideProtocol.SockaddrInSize ? 0 : -(int)Errno.EINVAL;
                // 24 is SIN6_LEN_RFC2133 (no scope id), which Linux's inet6_bind and connect still accept.
                case SideProtocol.AF_INET6: return address.Length >= 24 ? 0 : -(int)Errno.EINVAL;
                case SideProtocol.AF_UNSPEC: return 0;
                default: return -(int)Errno.EAFNOSUPPORT;
            }
        }

        internal static ushort Family(ReadOnlySpan<byte> address) =>
            address.Length < 2 ? (ushort)0xffff : Unsafe.As<byte, ushort>(ref Unsafe.AsRef(in address[0]));

        // The port in host order (0 for AF_UNSPEC or a short address).
        internal static ushort Port(ReadOnlySpan<byte> address) =>
            address.Length < 4 ? (ushort)0 : (ushort)(address[2] << 8 | address[3]);

        internal static void SetPort(Span<byte> address, ushort port)
        {
            if (address.Length < 4) return;
            address[2] = (byte)(port >> 8);
            address[3] = (byte)port;
        }

        // 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104: what a guest reaches as "itself".
        internal static bool IsLoopback(ReadOnlySpan<byte> address)
        {
            ushort family = Family(address);
            if (family == SideProtocol.AF_INET) return address.Length >= 8 && address[4] == 127;
            if (family != SideProtocol.AF_INET6 || address.Length < 24) return false;
            if (IsV4Mapped(address)) return address[20] == 127;
            for (int i = 8; i < 23; i++) if (address[i] != 0) return false;
            return address[23] == 1;
        }

        // 0.0.0.0, :: and ::ffff:0.0.0.0: bound to every address of the host.
        internal static bool IsAny(ReadOnlySpan<byte> address)
        {
            ushort family = Family(address);
            if (family == SideProtocol.AF_INET) return address.Length >= 8 && address[4] == 0 && address[5] == 0 && address[6] == 0 && address[7] == 0;
            if (family != SideProtocol.AF_INET6 || address.Length < 24) return false;
            int start = IsV4Mapped(address) ? 20 : 8;
            for (int i = start; i < 24; i++) if (address[i] != 0) return false;
            return true;
        }

        // ::ffff:a.b.c.d (RFC 4291 §2.5.5.2), how a dual-stack socket names an IPv4 peer.
        internal static bool IsV4Mapped(ReadOnlySpan<byte> address)
        {
            if (Family(address) != SideProtocol.AF_INET6 || address.Length < 24) return false;
            for (int i = 8; i < 18; i++) if (address[i] != 0) return false;
            return address[18] == 0xff && address[19] == 0xff;
        }

        // 127.0.0.11:53 (or ::ffff:127.0.0.11:53): the guest's name server (SideProtocol.NameServerText).
        internal static bool IsNameServer(ReadOnlySpan<byte> address)
        {
            if (Port(address) != SideProtocol.NameServerPort) return false;
            int at = Family(address) == SideProtocol.AF_INET && address.Length >= 8 ? 4 : IsV4Mapped(address) ? 20 : -1;
            return at >= 0 && address[at] == 127 && address[at + 1] == 0 && address[at + 2] == 0 && address[at + 3] == SideProtocol.NameServerLastOctet;
        }

        // The same address and port, an IPv4 one and its ::ffff: mapping alike (flow info and scope ignored).
        internal static bool SameEndpoint(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
        {
            if (Port(a) != Port(b) || !IsInet(a) || !IsInet(b)) return false;
            for (int i = 0; i < 16; i++) if (Canonical(a, i) != Canonical(b, i)) return false;
            return true;
        }

        private static bool IsInet(ReadOnlySpan<byte> address) =>
            (Family(address) == SideProtocol.AF_INET && address.Length >= 8) || (Family(address) == SideProtocol.AF_INET6 && address.Length >= 24);

        // Byte i of the 16-byte IPv6 form of an IPv4 (::ffff:a.b.c.d) or IPv6 address.
        private static byte Canonical(ReadOnlySpan<byte> address, int i)
        {
            if (Family(address) == SideProtocol.AF_INET6) return address[8 + i];
            return i < 10 ? (byte)0 : i < 12 ? (byte)0xff : address[4 + i - 12];
        }

        // Writes sockaddr_in for a.b.c.d:port (the rest zero); returns its length.
        internal static int WriteIPv4(Span<byte> destination, byte a, byte b, byte c, byte d, ushort port)
        {
            if (destination.Length < SideProtocol.SockaddrInSize) return 0;
            destination.Slice(0, SideProtocol.SockaddrInSize).Clear();
            Unsafe.As<byte, ushort>(ref destination[0]) = SideProtocol.AF_INET;
            SetPort(destination, port);
            destination[4] = a; destination[5] = b; destination[6] = c; destination[7] = d;
            return SideProtocol.SockaddrInSize;
        }

        // Writes sockaddr_in6 for the 16 address bytes and port (flow info and scope zero); returns its length.
        internal static int WriteIPv6(Span<byte> destination, ReadOnlySpan<byte> address16, ushort port)
        {
            if (destination.Length < SideProtocol.SockaddrIn6Size || address16.Length != 16) return 0;
            destination.Slice(0, SideProtocol.SockaddrIn6Size).Clear();
            Unsafe.As<byte, ushort>(ref destination[0]) = SideProtocol.AF_INET6;
            SetPort(destination, port);
            for (int i = 0; i < 16; i++) destination[8 + i] = address16[i];
            return SideProtocol.SockaddrIn6Size;
        }
    }
}
