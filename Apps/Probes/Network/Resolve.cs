using System.Net;
using System.Net.Sockets;

// network --resolve NAME: the addresses NAME resolves to through the C library (getaddrinfo, with
// /etc/hosts and /etc/resolv.conf), one per line in order; "NAME: ERROR" and status 2 when it does
// not. On Libra with -Net outbound the name server is the Side's (127.0.0.11, forwarded to the host's).
static class ResolveName
{
    public static int Run(string name)
    {
        try
        {
            foreach (var address in Dns.GetHostAddresses(name).OrderBy(a => a.ToString(), StringComparer.Ordinal))
                Console.Out.WriteLine(address);
            return 0;
        }
        catch (SocketException e)
        {
            Console.Out.WriteLine($"{name}: {e.SocketErrorCode}");
            return 2;
        }
    }
}
