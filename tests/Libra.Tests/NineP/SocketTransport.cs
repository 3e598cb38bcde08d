using System.Net.Sockets;
using Libra.Shims.NineP;

namespace Libra.Tests.NineP;

// A NinePSession transport over a stream socket (the host stand-in for virtio-9p and the
// virtio-serial stream): the request goes out whole; the reply's size[4] says how much to read.
// A reply larger than the call's buffer is read past and fails the call with EIO, as NinePStream does.
internal static unsafe class SocketTransport
{
    private const int EIO = 5;

    public static HostNinePSession.Exchange Over(Socket socket) => (request, length, reply, capacity) =>
    {
        try
        {
            Send(socket, new ReadOnlySpan<byte>(request, length));
            var header = new byte[4];
            Receive(socket, header);
            uint size = NinePCodec.SizeOf(header);
            if (size < NinePProtocol.HeaderSize) return -EIO;
            if (size > (uint)capacity)
            {
                Receive(socket, new byte[size - 4]);
                return -EIO;
            }
            header.CopyTo(new Span<byte>(reply, 4));
            Receive(socket, new Span<byte>(reply + 4, (int)size - 4));
            return (int)size;
        }
        catch (SocketException) { return -EIO; }
        catch (IOException) { return -EIO; }
    };

    private static void Send(Socket socket, ReadOnlySpan<byte> bytes)
    {
        while (bytes.Length > 0) bytes = bytes[socket.Send(bytes)..];
    }

    private static void Receive(Socket socket, Span<byte> into)
    {
        while (into.Length > 0)
        {
            int got = socket.Receive(into);
            if (got == 0) throw new IOException("the server closed the connection");
            into = into[got..];
        }
    }
}
