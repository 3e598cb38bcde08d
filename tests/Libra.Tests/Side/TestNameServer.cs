using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Libra.Tests.Side;

// A tiny DNS server on 127.0.0.1 for tests (RFC 1035 §4.1): every A question gets one answer, the
// given address; every other question (AAAA) an empty NOERROR answer. It records the names asked.
internal sealed class TestNameServer : IDisposable
{
    private readonly UdpClient _socket = new(new IPEndPoint(IPAddress.Loopback, 0));
    private readonly byte[] _address;
    private readonly Task _serving;
    private readonly List<string> _questions = new();

    internal TestNameServer(IPAddress answer)
    {
        _address = answer.GetAddressBytes();
        _serving = Task.Run(Serve);
    }

    internal ushort Port => (ushort)((IPEndPoint)_socket.Client.LocalEndPoint!).Port;
    internal IReadOnlyList<string> Questions { get { lock (_questions) return _questions.ToList(); } }

    private async Task Serve()
    {
        while (true)
        {
            UdpReceiveResult query;
            try { query = await _socket.ReceiveAsync(); }
            catch (ObjectDisposedException) { return; }
            catch (SocketException) { return; }
            byte[]? answer = Answer(query.Buffer);
            if (answer is not null) await _socket.SendAsync(answer, query.RemoteEndPoint);
        }
    }

    // The reply to one query: its id and question, then the answer (a pointer to the question's name).
    private byte[]? Answer(byte[] query)
    {
        if (query.Length < 12) return null;
        int at = 12;
        var name = new StringBuilder();
        while (at < query.Length && query[at] != 0)
        {
            int length = query[at];
            if (at + 1 + length > query.Length) return null;
            if (name.Length > 0) name.Append('.');
            name.Append(Encoding.ASCII.GetString(query, at + 1, length));
            at += 1 + length;
        }
        if (at + 5 > query.Length) return null;
        ushort type = (ushort)(query[at + 1] << 8 | query[at + 2]);
        int questionEnd = at + 5;
        lock (_questions) _questions.Add(name.ToString());
        bool a = type == 1;
        var reply = new List<byte> { query[0], query[1], 0x81, 0x80, 0, 1, 0, (byte)(a ? 1 : 0), 0, 0, 0, 0 };
        reply.AddRange(query.AsSpan(12, questionEnd - 12).ToArray());
        if (a) reply.AddRange([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, .. _address]);
        return reply.ToArray();
    }

    public void Dispose()
    {
        _socket.Dispose();
        _serving.Wait(TimeSpan.FromSeconds(5));
    }
}
