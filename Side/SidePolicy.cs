using System.Net;
using Libra.Shims.Net;

namespace Libra.Side;

// One `-Publish [ADDR:]HOSTPORT:GUESTPORT[/udp]` (or `-Publish PORT[/udp]`): the guest's listener on
// GuestPort is served on the host at Address:HostPort (127.0.0.1 when no address is given, like docker
// -p with an explicit loopback). As with docker, a publish is TCP unless it ends in /udp (/tcp says
// TCP explicitly); a guest port may be published once for each.
internal sealed record Publish(IPAddress? Address, ushort HostPort, ushort GuestPort, bool Udp = false)
{
    public override string ToString() => $"{(Address is null ? "127.0.0.1" : Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{Address}]" : Address.ToString())}:{HostPort}:{GuestPort}{(Udp ? "/udp" : "")}";

    // PORT | HOSTPORT:PORT | ADDR:HOSTPORT:PORT, an IPv6 ADDR in brackets ([::1]:8080:80), then /udp or /tcp.
    internal static Publish Parse(string spec)
    {
        string text = spec.Trim();
        bool udp = text.EndsWith("/udp", StringComparison.Ordinal);
        if (udp || text.EndsWith("/tcp", StringComparison.Ordinal)) text = text[..^4];
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
        if (parts.Length == 1) return new Publish(address, Port(parts[0], spec), Port(parts[0], spec), udp);
        if (parts.Length == 2) return new Publish(address, Port(parts[0], spec), Port(parts[1], spec), udp);
        throw new ArgumentException($"-Publish '{spec}': expected PORT, HOSTPORT:PORT or ADDR:HOSTPORT:PORT, then /udp or /tcp if you like");
    }

    private static ushort Port(string text, string spec) =>
        ushort.TryParse(text, out ushort port) && port != 0 ? port : throw new ArgumentException($"-Publish '{spec}': '{text}' is not a port (1-65535)");
}

// What the guest may do on the host: listen (or receive UDP) only where a Publish says, connect or
// send out only with `-Net outbound`. Decisions return 0 or a positive Linux errno and, for a
// refusal, why. With outbound, NameServer is where the guest's name server address
// (SideProtocol.NameServerAddress, which the guest's /etc/resolv.conf names) really is.
internal sealed class SidePolicy
{
    private readonly Dictionary<(ushort, bool), Publish> _byGuestPort = new();

    internal bool Outbound { get; }
    internal IPEndPoint? NameServer { get; }
    internal IReadOnlyCollection<Publish> Publishes => _byGuestPort.Values;

    internal SidePolicy(IEnumerable<Publish> publishes, bool outbound, IPEndPoint? nameServer = null)
    {
        Outbound = outbound;
        NameServer = outbound ? nameServer : null;
        foreach (var p in publishes)
            if (!_byGuestPort.TryAdd((p.GuestPort, p.Udp), p))
                throw new ArgumentException($"-Publish: guest port {p.GuestPort}{(p.Udp ? "/udp" : "")} is published twice ({_byGuestPort[(p.GuestPort, p.Udp)]} and {p})");
    }

    internal Publish? For(ushort guestPort, bool udp) => _byGuestPort.GetValueOrDefault((guestPort, udp));

    // --dns ADDR[:PORT] (IPv6 in brackets): the name server DNS queries to the guest's name server
    // address go to; port 53 unless given.
    internal static IPEndPoint ParseNameServer(string text)
    {
        if (IPEndPoint.TryParse(text, out var endPoint) && endPoint.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
            return endPoint.Port == 0 ? new IPEndPoint(endPoint.Address, 53) : endPoint;
        throw new ArgumentException($"--dns '{text}': expected an IPv4 ADDR[:PORT]");
    }

    // The host's own name server: the first IPv4 `nameserver` line of resolv.conf (null if none).
    internal static IPEndPoint? HostNameServer(string resolvConf = "/etc/resolv.conf")
    {
        if (!File.Exists(resolvConf)) return null;
        foreach (string line in File.ReadLines(resolvConf))
        {
            string[] words = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (words.Length >= 2 && words[0] == "nameserver" && IPAddress.TryParse(words[1], out var address) &&
                address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
                return new IPEndPoint(address, 53);
        }
        return null;
    }

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
