using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Libra.Qemu;
using Libra.Shims;
using Libra.Shims.Net;
using Xunit;

namespace Libra.Tests.Unit;

// The Side's frames toward the guest, mutated as the Side fuzzer does (qemu/Libra.Qemu/SideFrameFuzzer.cs;
// docs/robustness.md "File-server fuzzing"), through the kernel's own code on the host: the framing
// (FrameStream with the Side's format), the header checks, every decoder and the socket and
// datagram states a frame lands in, as NetworkLink.Dispatch and InetSockets.OnFrame drive them. A
// frame is taken or refused; nothing reads past a span, and the states keep their bounds.
public sealed unsafe class SideFrameFuzzTests : IDisposable
{
    private const uint Window = 4096, TxWindow = 8192, DatagramWindow = 4096;
    private readonly uint* _accepts = (uint*)NativeMemory.AllocZeroed(8 * sizeof(uint));
    private readonly byte* _ring = (byte*)NativeMemory.AllocZeroed(DatagramWindow);

    public void Dispose()
    {
        NativeMemory.Free(_accepts);
        NativeMemory.Free(_ring);
    }

    private static readonly SideType[] Pushed =
        [SideType.Reply, SideType.Accepted, SideType.Dgram, SideType.TxCredit, SideType.Connected, SideType.ConnectFailed,
         SideType.Eof, SideType.Error, SideType.Closed, SideType.Data];

    // A well-formed frame of a type the Side sends, for socket 1.
    private static byte[] Valid(Random random)
    {
        var buffer = new byte[SideProtocol.MaxFrame];
        byte[] v4 = [2, 0, 0x1f, 0x90, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
        int length = random.Next(9) switch
        {
            0 => SideCodec.Data(buffer, 1, RandomBytes(random, random.Next(0, 3000))),
            1 => SideCodec.Accepted(buffer, 1, SideProtocol.FirstSideId + (uint)random.Next(4), v4, v4),
            2 => SideCodec.Connected(buffer, 1, v4, v4),
            3 => SideCodec.ErrnoEvent(buffer, SideType.ConnectFailed, 1, random.Next(1, 140), 0),
            4 => SideCodec.ErrnoEvent(buffer, SideType.Error, 1, random.Next(1, 140), (ushort)random.Next(4)),
            5 => SideCodec.Count(buffer, SideType.TxCredit, 1, (uint)random.Next(0, 20000)),
            6 => SideCodec.Empty(buffer, SideType.Eof, 1),
            7 => SideCodec.Dgram(buffer, 1, v4, RandomBytes(random, random.Next(0, 1500))),
            _ => SideCodec.Reply(buffer, 1, (uint)random.Next(1, 5), random.Next(0, 3), RandomBytes(random, random.Next(0, 40))),
        };
        return buffer.AsSpan(0, length).ToArray();
    }

    private static byte[] RandomBytes(Random random, int count)
    {
        var bytes = new byte[count];
        random.NextBytes(bytes);
        return bytes;
    }

    // What Dispatch and InetSockets.OnFrame do with one frame, for a stream socket and a datagram one.
    private static void Deliver(ReadOnlySpan<byte> frame, ref SideSocket stream, ref SideDatagrams datagrams)
    {
        if (SideProtocol.Parse(frame, out SideHeader header, out ReadOnlySpan<byte> payload) != 0) return;
        if (SideCodec.CheckHeader(in header, fromGuest: false) != 0) return;
        switch (header.Type)
        {
            case SideType.Reply:
                if (SideCodec.DecodeReply(payload, out _, out ReadOnlySpan<byte> result) == 0) SideCodec.DecodeHelloReply(result, out _);
                break;
            case SideType.Data: stream.OnData(payload); break;
            case SideType.Accepted:
                if (SideCodec.DecodeAccepted(payload, out uint id, out _, out _) == 0) stream.OnAccepted(id);
                break;
            case SideType.Connected:
                if (SideCodec.DecodeConnected(payload, out _, out _) == 0) { stream.OnConnected(); datagrams.OnConnected(); }
                break;
            case SideType.ConnectFailed:
                if (SideCodec.DecodeErrno(payload, out int failure) == 0) { stream.OnConnectFailed(failure); datagrams.OnConnectFailed(failure); }
                break;
            case SideType.Eof: stream.OnEof(); break;
            case SideType.Error:
                if (SideCodec.DecodeErrno(payload, out int error) == 0) { stream.OnError(error, header.Flags); datagrams.OnError(error); }
                break;
            case SideType.TxCredit:
                if (SideCodec.DecodeCount(payload, out uint credit) == 0) { stream.OnTxCredit(credit); datagrams.OnTxCredit(credit); }
                break;
            case SideType.Dgram:
                if (SideCodec.DecodeAddressAndBytes(payload, out ReadOnlySpan<byte> from, out ReadOnlySpan<byte> bytes) == 0) datagrams.OnDatagram(from, bytes);
                break;
        }
    }

    private SideSocket NewStream(Random random)
    {
        var s = new SideSocket();
        s.Initialize(1, Window, &SideSocketTests.Allocate, &SideSocketTests.Free, _accepts, 8, TxWindow);
        switch (random.Next(3))
        {
            case 0: s.Connecting(); break;
            case 1: s.Listening(); break;
            default: s.Connecting(); s.OnConnected(); break;
        }
        return s;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Mutated_frames_are_taken_or_refused_and_the_socket_states_keep_their_bounds(int seed)
    {
        var random = new Random(seed);
        var fuzzer = new SideFrameFuzzer(seed, 1, int.MaxValue, TimeSpan.MaxValue);
        var receive = new byte[8192];
        for (int round = 0; round < 200; round++)
        {
            SideSocket stream = NewStream(random);
            var datagrams = new SideDatagrams();
            datagrams.Initialize(_ring, DatagramWindow, TxWindow);
            for (int i = 0; i < 100; i++)
            {
                byte[] frame = Valid(random);
                foreach (byte[] f in random.Next(4) != 0 ? fuzzer.Mutate(frame) : [frame]) Deliver(f, ref stream, ref datagrams);
                Assert.True(stream.Buffered <= Window, $"{stream.Buffered} bytes held, over the window of {Window}");
                // The application's side reads whatever is there and frees room again.
                if (random.Next(4) == 0) stream.Receive(receive, peek: false);
                if (random.Next(4) == 0) stream.Accept(out _);
                stream.Readiness();
                datagrams.Readiness();
            }
            stream.ReleaseBuffers();
        }
    }

    [Fact]
    public void A_stream_of_mutated_frames_split_anywhere_stays_in_step_or_breaks_and_never_overruns_a_buffer()
    {
        var random = new Random(20261203);
        var fuzzer = new SideFrameFuzzer(20261203, 1, int.MaxValue, TimeSpan.MaxValue);
        for (int round = 0; round < 100; round++)
        {
            var bytes = new List<byte>();
            for (int i = 0; i < 50; i++)
            {
                byte[] frame = Valid(random);
                if (random.Next(5) == 0) frame = fuzzer.Mutate(frame).FirstOrDefault() ?? frame;
                // Now and then a length field that is not the frame's: too small, too big, zero, huge.
                if (random.Next(40) == 0)
                    BinaryPrimitives.WriteUInt32LittleEndian(frame, random.Next(4) switch { 0 => 3u, 1 => 0u, 2 => uint.MaxValue, _ => (uint)(frame.Length + random.Next(1, 100)) });
                bytes.AddRange(frame);
            }
            Feed(random, bytes.ToArray());
        }
    }

    private static void Check(FrameCall* call) =>
        Assert.True(call->Result <= call->Capacity, $"a frame of {call->Result} bytes in a buffer of {call->Capacity}");

    private static void Feed(Random random, byte[] bytes)
    {
        var format = new FrameFormat(SideProtocol.HeaderSize, SideProtocol.HeaderSize, SideProtocol.MaxFrame, tagOffset: 12, tagBytes: 4);
        var stream = new FrameStream(format, &Check);
        byte* inbox = (byte*)NativeMemory.AllocZeroed(SideProtocol.MaxFrame);
        try
        {
            FrameCall call = default;
            call.Buffer = inbox;
            call.Capacity = SideProtocol.MaxFrame;
            stream.SetInbox(&call);
            fixed (byte* data = bytes)
                for (int at = 0; at < bytes.Length && !stream.IsBroken;)
                {
                    int n = Math.Min(random.Next(1, 5000), bytes.Length - at);
                    stream.Receive(data + at, n);
                    at += n;
                }
            stream.Close();
            Assert.True(stream.IsBroken);
        }
        finally { NativeMemory.Free(inbox); }
    }
}
