using System.Net;
using Libra.Shims.Net;

namespace Libra.Side;

// One `-Publish [ADDR:]HOSTPORT:GUESTPORT` (or `-Publish PORT`): the guest's listener on GuestPort is
// served on the host at Address:HostPort (127.0.0.1 when no address is given, like docker -p with an
// explicit loopback). A publish covers TCP and UDP alike.
internal sealed record Publish(IPAddress? Address, ushort HostPort, ushort GuestPort)
{
    public override string ToString() => $"{(Address is null ? "127.0.0.1" : Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{Address}]" : Address.ToString())}:{HostPort}:{GuestPort}";

    // PORT | HOSTPORT:PORT | ADDR:HOSTPORT:PORT, an IPv6 ADDR in brackets ([::1]:8080:80).
    internal static Publish Parse(string spec)
    {
        string text = spec.Trim();
        IPAddress? address = null;
        if (text.StartsWith('['))
        {
            int close = text.IndexOf(']');
            if (close < 0 || close + 1 >= text.Length || text[close + 1] != ':' || !IPAddress.TryParse(text[1..close], out address))
                throw new ArgumentException($"-Publish '{spec}': expected [IPV6]:HOSTPORT:PORT");
            text = text[(close + 2)..];
        }
        string[] parts = text.Split(':');
        if (address is null && parts.Length == 3)
        {
            if (!IPAddress.TryParse(parts[0], out address) || address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
                throw new ArgumentException($"-Publish '{spec}': '{parts[0]}' is not an IPv4 address (write IPv6 in brackets)");
            parts = parts[1..];
        }
        if (parts.Length == 1) return new Publish(address, Port(parts[0], spec), Port(parts[0], spec));
        if (parts.Length == 2) return new Publish(address, Port(parts[0], spec), Port(parts[1], spec));
        throw new ArgumentException($"-Publish '{spec}': expected PORT, HOSTPORT:PORT or ADDR:HOSTPORT:PORT");
    }

    private static ushort Port(string text, string spec) =>
        ushort.TryParse(text, out ushort port) && port != 0 ? port : throw new ArgumentException($"-Publish '{spec}': '{text}' is not a port (1-65535)");
}

// What the guest may do on the host: listen only where a Publish says, connect out only with
// `-Net outbound`. Decisions return 0 or a positive Linux errno and, for a refusal, why.
internal sealed class SidePolicy
{
    private readonly Dictionary<ushort, Publish> _byGuestPort = new();

    internal bool Outbound { get; }
    internal IReadOnlyCollection<Publish> Publishes => _byGuestPort.Values;

    internal SidePolicy(IEnumerable<Publish> publishes, bool outbound)
    {
        Outbound = outbound;
        foreach (var p in publishes)
            if (!_byGuestPort.TryAdd(p.GuestPort, p))
                throw new ArgumentException($"-Publish: guest port {p.GuestPort} is published twice ({_byGuestPort[p.GuestPort]} and {p})");
    }

    internal Publish? For(ushort guestPort) => _byGuestPort.GetValueOrDefault(guestPort);

    // The host address a guest socket of `family` (V6ONLY as given) binds for the publish: the
    // publish's address in the socket's family (IPv4 as ::ffff:a.b.c.d on a dual-stack IPv6 socket),
    // the loopback of that family by default. EADDRNOTAVAIL when the families cannot meet.
    internal static int HostAddress(Publish publish, int family, bool v6Only, out byte[] sockaddr)
    {
        sockaddr = new byte[SideProtocol.SockaddrIn6Size];
        var address = publish.Address;
        if (address is null) address = family == Linux.AF_INET6 && v6Only ? IPAddress.IPv6Loopback : IPAddress.Loopback;
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        bool v4 = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork;
        if (family == Linux.AF_INET)
        {
            if (!v4) return (int)Libra.Shims.Errno.EADDRNOTAVAIL;
            var b = address.GetAddressBytes();
            sockaddr = sockaddr[..SideAddress.WriteIPv4(sockaddr, b[0], b[1], b[2], b[3], publish.HostPort)];
            return 0;
        }
        if (v4 && v6Only) return (int)Libra.Shims.Errno.EADDRNOTAVAIL;
        SideAddress.WriteIPv6(sockaddr, (v4 ? address.MapToIPv6() : address).GetAddressBytes(), publish.HostPort);
        return 0;
    }
}
