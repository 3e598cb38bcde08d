using System.Net.Sockets;
using System.Text;
using Libra.Bench.Targets;

namespace Libra.Bench;

// One keep-alive HTTP/1.1 connection, one request in flight; just enough HTTP for the search
// service's answers (status line, Content-Length, body), so the generator costs little per request.
public sealed class HttpConnection : IDisposable
{
    readonly Socket socket;
    byte[] buffer = new byte[16 * 1024];

    HttpConnection(Socket s) => socket = s;

    public static async Task<HttpConnection> ConnectAsync(ServiceEndpoint endpoint, CancellationToken ct) =>
        new(await endpoint.ConnectAsync(ct));

    // Sends one request and reads its whole response; returns the status code.
    public async ValueTask<int> SendAsync(byte[] request, CancellationToken ct)
    {
        await socket.SendAsync(request, SocketFlags.None, ct);
        int have = 0, headerEnd = -1, total = -1;
        while (true)
        {
            if (have == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2);
            int n = await socket.ReceiveAsync(buffer.AsMemory(have), SocketFlags.None, ct);
            if (n == 0) throw new IOException("the server closed the connection");
            have += n;
            if (headerEnd < 0)
            {
                headerEnd = buffer.AsSpan(0, have).IndexOf("\r\n\r\n"u8);
                if (headerEnd < 0) continue;
                headerEnd += 4;
                total = headerEnd + ContentLength(buffer.AsSpan(0, headerEnd));
            }
            if (have >= total) return Status(buffer);
        }
    }

    static int Status(byte[] b) => (b[9] - '0') * 100 + (b[10] - '0') * 10 + (b[11] - '0');

    static int ContentLength(ReadOnlySpan<byte> head)
    {
        string text = Encoding.ASCII.GetString(head);
        int at = text.IndexOf("\r\ncontent-length:", StringComparison.OrdinalIgnoreCase);
        if (at < 0) throw new InvalidDataException("a response without Content-Length");
        int start = at + "\r\ncontent-length:".Length, end = text.IndexOf('\r', start);
        return int.Parse(text.AsSpan(start, end - start).Trim());
    }

    public void Dispose() => socket.Dispose();
}
