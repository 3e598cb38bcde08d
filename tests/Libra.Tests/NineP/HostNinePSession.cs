using System.Runtime.InteropServices;
using Libra.Shims.NineP;

namespace Libra.Tests.NineP;

// The kernel's NinePSession as the host tests run it: in native memory, where it stays put as the
// kernel's static does while calls are in flight; msize buffers from NativeMemory, counted; the
// malformed-reply reports (the kernel's log lines) kept for the test to read. Whatever answers the
// requests is an Exchange: a socket to diod (SocketTransport) or a scripted server.
internal sealed unsafe class HostNinePSession : IDisposable
{
    // One round trip as NinePTransport.Transact: the reply's length, or -errno.
    public delegate int Exchange(byte* request, int length, byte* reply, int capacity);

    public readonly record struct Report(NinePType RequestType, ushort Tag, int Received);

    private readonly Exchange _exchange;
    private readonly GCHandle _self;
    private readonly ulong* _fidWords;
    private readonly HashSet<nint> _buffers = new();

    public NinePSession* Session { get; }
    public List<Report> Reports { get; } = new();
    public int BuffersAllocated { get; private set; }
    public int BuffersLive => _buffers.Count;

    public HostNinePSession(Exchange exchange, int bufferSize, int fidWordCount = 64)
    {
        _exchange = exchange;
        _self = GCHandle.Alloc(this);
        _fidWords = (ulong*)NativeMemory.AllocZeroed((nuint)fidWordCount * sizeof(ulong));
        Session = (NinePSession*)NativeMemory.AllocZeroed((nuint)sizeof(NinePSession));
        NinePTransport transport = default;
        transport.Context = (void*)GCHandle.ToIntPtr(_self);
        transport.Transact = &Transact;
        transport.AllocateBuffer = &Allocate;
        transport.FreeBuffer = &Free;
        transport.MalformedReply = &Malformed;
        *Session = new NinePSession(transport, bufferSize, _fidWords, fidWordCount);
    }

    private static HostNinePSession Of(void* context) => (HostNinePSession)GCHandle.FromIntPtr((nint)context).Target!;

    private static int Transact(void* context, byte* request, int length, byte* reply, int capacity) =>
        Of(context)._exchange(request, length, reply, capacity);

    private static byte* Allocate(void* context, int bytes)
    {
        HostNinePSession host = Of(context);
        var buffer = (byte*)NativeMemory.Alloc((nuint)bytes);
        host._buffers.Add((nint)buffer);
        host.BuffersAllocated++;
        return buffer;
    }

    private static void Free(void* context, byte* buffer, int bytes)
    {
        if (!Of(context)._buffers.Remove((nint)buffer)) throw new InvalidOperationException("a buffer freed twice or never allocated");
        NativeMemory.Free(buffer);
    }

    private static void Malformed(void* context, byte* request, byte* reply, int received) =>
        Of(context).Reports.Add(new Report((NinePType)request[4], *(ushort*)(request + 5), received));

    public void Dispose()
    {
        Session->FreeBuffers();
        foreach (nint leaked in _buffers) NativeMemory.Free((void*)leaked);
        NativeMemory.Free(Session);
        NativeMemory.Free(_fidWords);
        _self.Free();
    }
}
