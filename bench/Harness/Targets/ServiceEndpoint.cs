using System.Net;
using System.Net.Sockets;

namespace Libra.Bench.Targets;

// Where a started target answers: its address, and the network namespace a client's socket must be
// made in to reach it (the harness's own for a port on 127.0.0.1; linux-guest-tap's for its guest).
public sealed class ServiceEndpoint(IPEndPoint address, NetworkNamespace? inside = null)
{
    public IPEndPoint Address => address;
    public Uri BaseUri { get; } = new($"http://{address}/");
    // How a person reaches it by hand (Ctrl-C serve prints it).
    public string Reach => inside == null ? BaseUri.ToString() : $"{BaseUri} inside network namespace {inside.Name} (ip netns exec {inside.Name} curl ...)";

    public static ServiceEndpoint Loopback(int port) => new(new IPEndPoint(IPAddress.Loopback, port));

    public async Task<Socket> ConnectAsync(CancellationToken ct)
    {
        var s = inside?.NewTcpSocket() ?? new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            s.NoDelay = true;
            await s.ConnectAsync(address, ct);
            return s;
        }
        catch { s.Dispose(); throw; }
    }

    // An HttpClient whose connections are made by ConnectAsync, so it reaches the target wherever it is.
    public HttpClient NewHttpClient(TimeSpan timeout) =>
        new(new SocketsHttpHandler { ConnectCallback = async (_, ct) => new NetworkStream(await ConnectAsync(ct), ownsSocket: true) })
            { BaseAddress = BaseUri, Timeout = timeout };
}
