using Libra.Side;

// libra-side --socket PATH [--publish SPEC]... [--net outbound|none] [--dns ADDR[:PORT]]
// The host half of Libra's network: serves the guest link on the unix socket PATH (QEMU joins it to
// the virtserialport "libra.net") and owns the real sockets. Prints "libra-side: listening on PATH"
// on stdout once QEMU may connect; everything else it says is one line per event on stderr.
static int Usage(string problem)
{
    Console.Error.WriteLine($"libra-side: {problem}");
    Console.Error.WriteLine("usage: libra-side --socket PATH [--publish [ADDR:]HOSTPORT:PORT[/udp] | PORT[/udp]]... [--net outbound|none] [--dns ADDR[:PORT]]");
    return 2;
}

string? socketPath = null;
bool outbound = false;
System.Net.IPEndPoint? nameServer = null;
var publishes = new List<Publish>();
SidePolicy policy;
try
{
    for (int i = 0; i < args.Length; i++)
    {
        string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"option {args[i]} needs a value");
        switch (args[i])
        {
            case "--socket": socketPath = Value(); break;
            case "--publish": publishes.Add(Publish.Parse(Value())); break;
            case "--dns": nameServer = SidePolicy.ParseNameServer(Value()); break;
            case "--net":
                string net = Value();
                outbound = net switch
                {
                    "outbound" => true,
                    "none" => false,
                    _ => throw new ArgumentException($"--net expects outbound or none, not '{net}'"),
                };
                break;
            default: return Usage($"unknown option '{args[i]}'");
        }
    }
    if (socketPath is null) return Usage("--socket PATH is required");
    // With outbound the guest's name server is the host's own unless --dns names another.
    if (outbound) nameServer ??= SidePolicy.HostNameServer();
    policy = new SidePolicy(publishes, outbound, nameServer);
}
catch (ArgumentException e) { return Usage(e.Message); }
if (outbound && nameServer is null) Console.Error.WriteLine("libra-side: no IPv4 nameserver in /etc/resolv.conf and no --dns: the guest resolves only what /etc/hosts names");

var loop = new SideLoop(socketPath, policy, line => Console.Error.WriteLine("libra-side: " + line))
{
    Trace = Environment.GetEnvironmentVariable("LIBRA_SIDE_TRACE") == "1",
};
try { loop.Listen(); }
catch (IOException e) { Console.Error.WriteLine("libra-side: " + e.Message); return 1; }
Console.Out.WriteLine($"libra-side: listening on {socketPath}");
Console.Out.Flush();
loop.Run();
return 0;
