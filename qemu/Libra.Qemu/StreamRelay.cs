using System.Net.Sockets;

namespace Libra.Qemu;

// What passes between QEMU (the guest's port) and the process behind it (diod, the Side), for tests
// and fuzzers that make it misbehave: the relay gets both connections and copies, changes or drops
// bytes as it likes (QemuMachine.FileServerRelay, QemuMachine.SideRelay).
public delegate Task StreamRelay(Stream fromGuest, Stream toServer, CancellationToken cancel);

// Listens where QEMU connects, and on its connection joins the relay to the process behind.
internal sealed class StreamRelayHost : IDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _cancel = new();

    internal StreamRelayHost(string listenPath, string behindPath, StreamRelay relay)
    {
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(listenPath));
        _listener.Listen(1);
        _ = Task.Run(async () =>
        {
            using var guest = await _listener.AcceptAsync(_cancel.Token);
            using var server = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await server.ConnectAsync(new UnixDomainSocketEndPoint(behindPath), _cancel.Token);
            using var fromGuest = new NetworkStream(guest, ownsSocket: false);
            using var toServer = new NetworkStream(server, ownsSocket: false);
            try { await relay(fromGuest, toServer, _cancel.Token); }
            catch (Exception e) when (e is IOException or OperationCanceledException or SocketException) { }
        });
    }

    public void Dispose()
    {
        _cancel.Cancel();
        _listener.Dispose();
    }
}
