using System.Net.Sockets;
using Libra.Qemu;
using Libra.Tests.Probes;

namespace Libra.Tests.Side;

// A host client's way in to a server that is still starting (on Libra, until the guest listens and
// the Side opens the published port, connects are refused): connect again every 200 ms until one
// is accepted. The server ending first is a failure that carries its output.
internal static class GuestListener
{
    internal static async Task<Socket> ConnectWhenListening(int port, Task server, TimeSpan patience)
    {
        var deadline = DateTime.UtcNow + patience;
        while (DateTime.UtcNow < deadline)
        {
            if (server.IsCompleted)
            {
                await server;
                string output = server switch
                {
                    Task<BootResult> boot => boot.Result.Output + "\n" + boot.Result.Stderr,
                    Task<ProbeResult> run => run.Result.ToString(),
                    _ => "",
                };
                throw new InvalidOperationException("the server ended before it listened:\n" + output);
            }
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await socket.ConnectAsync("127.0.0.1", port);
                return socket;
            }
            catch (SocketException)
            {
                socket.Dispose();
                await Task.Delay(200);
            }
        }
        throw new TimeoutException($"nothing listened on 127.0.0.1:{port} within {patience}");
    }
}
