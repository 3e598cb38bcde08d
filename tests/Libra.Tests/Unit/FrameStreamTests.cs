using System.Runtime.InteropServices;
using Libra.Shims;
using Xunit;

namespace Libra.Tests.Unit;

// FrameStream in its protocol-neutral form, with the Side protocol's framing (sockets.md §3.2:
// len[4] type[2] flags[2] sock[4] tag[4], 16 to 16+65536 bytes): replies reach the call waiting on
// their 32-bit tag, unsolicited frames reach the inbox one by one, a frame too big for its consumer
// fails only that consumer, and a length outside the format's bounds breaks the stream.
public sealed unsafe class FrameStreamTests : IDisposable
{
    const int HeaderSize = 16;
    const uint MaxFrame = 16 + 65536;
    static readonly FrameFormat Side = new(HeaderSize, HeaderSize, MaxFrame, tagOffset: 12, tagBytes: 4);

    const int Calls = 4;
    const int CallCapacity = 512;
    readonly FrameStream* _stream;
    readonly FrameCall* _calls;
    readonly FrameCall* _inbox;
    readonly byte* _buffers;
    static readonly List<byte[]> s_inboxFrames = new();
    static readonly List<int> s_inboxFailures = new();
    static int s_completions;

    public FrameStreamTests()
    {
        _stream = (FrameStream*)NativeMemory.AllocZeroed((nuint)sizeof(FrameStream));
        _calls = (FrameCall*)NativeMemory.AllocZeroed((nuint)(Calls * sizeof(FrameCall)));
        _inbox = (FrameCall*)NativeMemory.AllocZeroed((nuint)sizeof(FrameCall));
        _buffers = (byte*)NativeMemory.AllocZeroed(Calls * CallCapacity + MaxFrame);
        Reset(inboxCapacity: (int)MaxFrame);
    }

    public void Dispose()
    {
        NativeMemory.Free(_stream);
        NativeMemory.Free(_calls);
        NativeMemory.Free(_inbox);
        NativeMemory.Free(_buffers);
    }

    // The owner's callback: the inbox's frame must be taken now, before the next one overwrites it.
    static void Completed(FrameCall* call)
    {
        s_completions++;
        if (call->Tag != InboxMark) return;
        if (call->Result < 0) s_inboxFailures.Add(call->Result);
        else s_inboxFrames.Add(new ReadOnlySpan<byte>(call->Buffer, call->Result).ToArray());
    }

    // The inbox's Tag is the owner's to use: here it tells the callback which consumer completed.
    const uint InboxMark = 0xfeedface;

    void Reset(int inboxCapacity, bool withInbox = true)
    {
        *_stream = new FrameStream(Side, &Completed);
        NativeMemory.Clear(_calls, (nuint)(Calls * sizeof(FrameCall)));
        *_inbox = new FrameCall { Tag = InboxMark, Buffer = _buffers + Calls * CallCapacity, Capacity = inboxCapacity };
        if (withInbox) _stream->SetInbox(_inbox);
        s_inboxFrames.Clear();
        s_inboxFailures.Clear();
        s_completions = 0;
    }

    FrameCall* Call(int index, uint tag)
    {
        FrameCall* call = &_calls[index];
        call->Tag = tag;
        call->Buffer = _buffers + index * CallCapacity;
        call->Capacity = CallCapacity;
        Assert.True(_stream->Register(call));
        return call;
    }

    // A Side frame: len[4] type[2] flags[2] sock[4] tag[4], then `payload` bytes counting up from `seed`.
    static byte[] Frame(ushort type, uint sock, uint tag, int payload, byte seed = 0)
    {
        var frame = new byte[HeaderSize + payload];
        BitConverter.TryWriteBytes(frame.AsSpan(0, 4), (uint)frame.Length);
        BitConverter.TryWriteBytes(frame.AsSpan(4, 2), type);
        BitConverter.TryWriteBytes(frame.AsSpan(8, 4), sock);
        BitConverter.TryWriteBytes(frame.AsSpan(12, 4), tag);
        for (int i = 0; i < payload; i++) frame[HeaderSize + i] = (byte)(seed + i);
        return frame;
    }

    void Feed(ReadOnlySpan<byte> bytes) => FrameFeeding.Feed(_stream, bytes);

    static byte[] FrameOf(FrameCall* call) => FrameFeeding.Contents(call);

    // A reply (tag 7), two one-way pushes (tag 0) and a reply whose tag needs all four bytes, cut in
    // three pieces at every pair of positions: each reply reaches its call, each push the inbox, in order.
    [Fact]
    public void Replies_and_pushes_split_at_every_pair_of_positions_reach_their_calls_and_the_inbox_in_order()
    {
        byte[] reply = Frame(2, 1, 7, 20, seed: 3), push1 = Frame(9, 0x80000001, 0, 0), push2 = Frame(9, 0x80000001, 0, 11, seed: 50),
            wide = Frame(4, 2, 0x00070000, 5, seed: 200);
        byte[] stream = [.. push1, .. reply, .. push2, .. wide];
        for (int i = 0; i <= stream.Length; i++)
            for (int j = i; j <= stream.Length; j++)
            {
                Reset(inboxCapacity: (int)MaxFrame);
                FrameCall* seven = Call(0, 7), wideCall = Call(1, 0x00070000);
                Feed(stream.AsSpan(0, i));
                Feed(stream.AsSpan(i, j - i));
                Feed(stream.AsSpan(j));
                Assert.True(seven->Done && wideCall->Done, $"split at {i}, {j}");
                Assert.Equal(reply, FrameOf(seven));
                Assert.Equal(wide, FrameOf(wideCall));
                Assert.Equal([push1, push2], s_inboxFrames);
                Assert.Equal(4, s_completions);
                Assert.Equal(0, _stream->Waiting);
                Assert.Equal(FrameStreamProblem.None, _stream->Problem);
            }
    }

    [Fact]
    public void A_frame_of_the_largest_size_the_format_allows_arrives_whole()
    {
        byte[] largest = Frame(3, 5, 0, (int)MaxFrame - HeaderSize, seed: 9);
        for (int at = 0; at < largest.Length; at += 4096) Feed(largest.AsSpan(at, Math.Min(4096, largest.Length - at)));
        Assert.Single(s_inboxFrames);
        Assert.Equal(largest, s_inboxFrames[0]);
        Assert.False(_stream->IsBroken);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(15u)]
    [InlineData(MaxFrame + 1)]
    [InlineData(0x80000000u)]
    public void A_length_outside_the_formats_bounds_breaks_the_stream_and_fails_every_waiting_and_later_call(uint length)
    {
        FrameCall* waiting = Call(0, 3);
        byte[] frame = Frame(1, 1, 3, 8);
        BitConverter.TryWriteBytes(frame.AsSpan(0, 4), length);
        Feed(frame);
        Assert.True(waiting->Done);
        Assert.Equal(-(int)Errno.EIO, waiting->Result);
        Assert.Equal(FrameStreamProblem.BadSize, _stream->TakeProblem(out uint reported));
        Assert.Equal(length, reported);
        Assert.True(_stream->IsBroken);
        FrameCall* later = &_calls[1];
        later->Tag = 4;
        Assert.False(_stream->Register(later));
        Feed(Frame(1, 1, 0, 4));   // nothing is in step any more: not even the inbox gets it
        Assert.Empty(s_inboxFrames);
    }

    [Fact]
    public void A_push_larger_than_the_inbox_but_within_the_format_is_skipped_whole_and_the_next_one_arrives()
    {
        Reset(inboxCapacity: 1024);
        byte[] big = Frame(9, 6, 0, 3000), next = Frame(9, 6, 0, 40, seed: 1);
        Feed([.. big, .. next]);
        Assert.Equal([-(int)Errno.EIO], s_inboxFailures);
        Assert.Equal([next], s_inboxFrames);
        Assert.Equal(FrameStreamProblem.Oversized, _stream->TakeProblem(out uint size));
        Assert.Equal((uint)big.Length, size);
        Assert.False(_stream->IsBroken);
    }

    [Fact]
    public void A_reply_larger_than_its_calls_buffer_fails_only_that_call()
    {
        FrameCall* victim = Call(0, 11), bystander = Call(1, 12);
        byte[] big = Frame(2, 1, 11, CallCapacity), fine = Frame(2, 1, 12, 10);
        Feed([.. big, .. fine]);
        Assert.Equal(-(int)Errno.EIO, victim->Result);
        Assert.Equal(fine, FrameOf(bystander));
        Assert.Equal(FrameStreamProblem.Oversized, _stream->TakeProblem(out uint size));
        Assert.Equal((uint)big.Length, size);
        Assert.Empty(s_inboxFrames);
    }

    [Fact]
    public void Without_an_inbox_a_frame_for_no_waiting_call_is_dropped_and_reported()
    {
        Reset(inboxCapacity: 0, withInbox: false);
        FrameCall* call = Call(0, 2);
        Feed([.. Frame(9, 1, 0x12345678, 30), .. Frame(2, 1, 2, 3)]);
        Assert.Equal(FrameStreamProblem.UnknownTag, _stream->TakeProblem(out uint tag));
        Assert.Equal(0x12345678u, tag);
        Assert.True(call->Done);
        Assert.Equal(HeaderSize + 3, call->Result);
    }

    [Fact]
    public void Closing_mid_frame_fails_the_waiting_calls_and_reports_the_bytes_received()
    {
        FrameCall* call = Call(0, 5);
        Feed(Frame(2, 1, 5, 100).AsSpan(0, 40));
        _stream->Close();
        Assert.Equal(-(int)Errno.EIO, call->Result);
        Assert.Equal(FrameStreamProblem.ClosedMidFrame, _stream->TakeProblem(out uint partial));
        Assert.Equal(40u, partial);
        Assert.Empty(s_inboxFrames);
    }
}

// What the FrameStream tests of every format share: bytes fed to a stream, and what a consumer got.
static unsafe class FrameFeeding
{
    public static void Feed(FrameStream* stream, ReadOnlySpan<byte> bytes)
    {
        fixed (byte* p = bytes) stream->Receive(p, bytes.Length);
    }

    public static byte[] Contents(FrameCall* call) => new ReadOnlySpan<byte>(call->Buffer, call->Result).ToArray();
}
