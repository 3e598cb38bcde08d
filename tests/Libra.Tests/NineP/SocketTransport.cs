using System.Net.Sockets;
using System.Runtime.InteropServices;
using Libra.Shims.NineP;

namespace Libra.Tests.NineP;

// NinePSession's transport over a stream socket (the host stand-in for virtio-9p): the request and its
// data go out back to back; the reply's size[4] says how much to read, which fills Reply, then ReplyData.
internal static unsafe class SocketTransport
{
    private const int EIO = 5;

    public static delegate*<void*, NinePExchange*, int> Function => &Exchange;

    // The context NinePSession hands back: a GCHandle to the socket (free it after the client).
    public static void* Context(Socket socket) => (void*)GCHandle.ToIntPtr(GCHandle.Alloc(socket));
    public static void Release(void* context) => GCHandle.FromIntPtr((nint)context).Free();

    private static int Exchange(void* context, NinePExchange* x)
    {
        var socket = (Socket)GCHandle.FromIntPtr((nint)context).Target!;
        try
        {
            Send(socket, new ReadOnlySpan<byte>(x->Request, x->RequestLength));
            if (x->RequestDataLength > 0) Send(socket, new ReadOnlySpan<byte>(x->RequestData, x->RequestDataLength));
            if (x->ReplyCapacity < 4) return -EIO;
            Receive(socket, new Span<byte>(x->Reply, 4));
            uint size = NinePCodec.SizeOf(new ReadOnlySpan<byte>(x->Reply, 4));
            if (size < NinePProtocol.HeaderSize || size > (ulong)x->ReplyCapacity + (ulong)x->ReplyDataCapacity) return -EIO;
            int first = (int)Math.Min(size, (uint)x->ReplyCapacity);
            Receive(socket, new Span<byte>(x->Reply + 4, first - 4));
            if (size > first) Receive(socket, new Span<byte>(x->ReplyData, (int)size - first));
            x->Received = (int)size;
            return 0;
        }
        catch (SocketException) { return -EIO; }
        catch (IOException) { return -EIO; }
    }

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
