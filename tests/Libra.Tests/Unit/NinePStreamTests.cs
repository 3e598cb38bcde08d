using System.Runtime.InteropServices;
using Libra.Shims;
using Libra.Shims.NineP;
using Xunit;

namespace Libra.Tests.Unit;

// FrameStream with 9P's framing (NinePStream.Format), the reassembly of 9P replies from a byte
// stream (the virtio-serial port to diod) and their delivery by tag: whatever the split, every caller
// gets exactly its reply; a broken stream fails the callers with EIO instead of leaving them waiting.
public sealed unsafe class NinePStreamTests : IDisposable
{
    const int Capacity = 256;
    // A reply well past every caller's buffer, but believable.
    const uint Large = 8192;

    // The stream, the calls and their reply buffers live in native memory: the stream keeps pointers.
    readonly FrameStream* _stream;
    readonly FrameCall* _calls;
    readonly byte* _replies;
    static int s_completions;

    public NinePStreamTests()
    {
        _stream = (FrameStream*)NativeMemory.AllocZeroed((nuint)sizeof(FrameStream));
        _calls = (FrameCall*)NativeMemory.AllocZeroed((nuint)(8 * sizeof(FrameCall)));
        _replies = (byte*)NativeMemory.AllocZeroed(8 * Capacity);
        Reset();
    }

    public void Dispose()
    {
        NativeMemory.Free(_stream);
        NativeMemory.Free(_calls);
        NativeMemory.Free(_replies);
    }

    static void Completed(FrameCall* call) => s_completions++;

    void Reset()
    {
        *_stream = new FrameStream(NinePStream.Format, &Completed);
        NativeMemory.Clear(_calls, (nuint)(8 * sizeof(FrameCall)));
        NativeMemory.Clear(_replies, 8 * Capacity);
        s_completions = 0;
    }

    FrameCall* Call(int index, ushort tag, int capacity = Capacity)
    {
        FrameCall* call = &_calls[index];
        call->Tag = tag;
        call->Buffer = _replies + index * Capacity;
        call->Capacity = capacity;
        Assert.True(_stream->Register(call));
        return call;
    }

    // A reply frame: size[4] type[1] tag[2] then `body` bytes counting up from `seed`.
    static byte[] Frame(byte type, ushort tag, int body, byte seed = 0)
    {
        var frame = new byte[7 + body];
        BitConverter.TryWriteBytes(frame.AsSpan(0, 4), (uint)frame.Length);
        frame[4] = type;
        BitConverter.TryWriteBytes(frame.AsSpan(5, 2), tag);
        for (int i = 0; i < body; i++) frame[7 + i] = (byte)(seed + i);
        return frame;
    }

    void Feed(ReadOnlySpan<byte> bytes) => FrameFeeding.Feed(_stream, bytes);

    static byte[] ReplyOf(FrameCall* call) => FrameFeeding.Contents(call);

    // Three replies in an order unlike the requests', one of them a bare header (Rclunk) and one for
    // Tversion's NOTAG, fed in three pieces cut at every pair of positions.
    [Fact]
    public void Replies_split_at_every_pair_of_positions_reach_the_callers_of_their_tags()
    {
        byte[] a = Frame(117, 9, 40, seed: 1), b = Frame(121, 5, 0), c = Frame(101, NinePProtocol.NoTag, 13, seed: 100);
        byte[] stream = [.. a, .. b, .. c];
        for (int i = 0; i <= stream.Length; i++)
            for (int j = i; j <= stream.Length; j++)
            {
                Reset();
                FrameCall* callB = Call(0, 5), callA = Call(1, 9), callC = Call(2, NinePProtocol.NoTag);
                Feed(stream.AsSpan(0, i));
                Feed(stream.AsSpan(i, j - i));
                Feed(stream.AsSpan(j));
                Assert.True(callA->Done && callB->Done && callC->Done, $"split at {i}, {j}");
                Assert.Equal(a, ReplyOf(callA));
                Assert.Equal(b, ReplyOf(callB));
                Assert.Equal(c, ReplyOf(callC));
                Assert.Equal(3, s_completions);
                Assert.Equal(0, _stream->Waiting);
                Assert.Equal(FrameStreamProblem.None, _stream->Problem);
            }
    }

    [Fact]
    public void A_reply_fed_one_byte_at_a_time_completes_only_with_its_last_byte()
    {
        byte[] frame = Frame(25, 3, 60, seed: 7);
        FrameCall* call = Call(0, 3);
        for (int i = 0; i < frame.Length; i++)
        {
            Assert.False(call->Done, $"done after {i} bytes");
            Feed(frame.AsSpan(i, 1));
        }
        Assert.True(call->Done);
        Assert.Equal(frame, ReplyOf(call));
    }

    [Fact]
    public void A_reply_for_a_tag_nobody_waits_for_is_dropped_and_the_next_one_still_arrives()
    {
        FrameCall* call = Call(0, 4);
        byte[] stray = Frame(117, 77, 30), mine = Frame(117, 4, 10, seed: 9);
        Feed([.. stray, .. mine]);
        Assert.Equal(FrameStreamProblem.UnknownTag, _stream->TakeProblem(out uint tag));
        Assert.Equal(77u, tag);
        Assert.True(call->Done);
        Assert.Equal(mine, ReplyOf(call));
        Assert.False(_stream->IsBroken);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(6u)]
    [InlineData(NinePStream.MaxSkippable + 1)]
    [InlineData(0xffffffffu)]
    public void A_size_field_out_of_range_fails_every_waiting_call_and_every_later_one_with_EIO(uint size)
    {
        FrameCall* first = Call(0, 1), second = Call(1, 2);
        byte[] frame = Frame(117, 1, 10);
        BitConverter.TryWriteBytes(frame.AsSpan(0, 4), size);
        Feed(frame);
        Assert.True(first->Done && second->Done);
        Assert.Equal(-(int)Errno.EIO, first->Result);
        Assert.Equal(-(int)Errno.EIO, second->Result);
        Assert.Equal(FrameStreamProblem.BadSize, _stream->TakeProblem(out uint reported));
        Assert.Equal(size, reported);
        Assert.True(_stream->IsBroken);
        FrameCall* later = &_calls[2];
        later->Tag = 3;
        Assert.False(_stream->Register(later));
        Feed(Frame(117, 3, 4));   // ignored: nothing can be in step any more
        Assert.False(later->Done);
    }

    [Fact]
    public void A_reply_larger_than_its_callers_buffer_fails_with_EIO_instead_of_overrunning_it()
    {
        FrameCall* call = Call(0, 6, capacity: 32);
        Feed(Frame(117, 6, 40));
        Assert.True(call->Done);
        Assert.Equal(-(int)Errno.EIO, call->Result);
        Assert.Equal(0, _replies[32]);
    }

    [Fact]
    public void An_oversized_reply_is_skipped_whole_and_the_stream_stays_in_step()
    {
        FrameCall* victim = Call(0, 6), bystander = Call(1, 7);
        byte[] huge = Frame(117, 6, (int)Large + 100);
        byte[] fine = Frame(117, 7, 10);
        Feed(huge.Concat(fine).ToArray());
        Assert.Equal(-(int)Errno.EIO, victim->Result);
        Assert.True(bystander->Done);
        Assert.Equal(fine, ReplyOf(bystander));
        Assert.False(_stream->IsBroken);
        FrameCall* later = Call(2, 8);
        Feed(Frame(117, 8, 4));
        Assert.True(later->Done && later->Result > 0);
    }

    [Fact]
    public void A_stream_that_closes_mid_reply_fails_the_waiting_calls_with_EIO()
    {
        FrameCall* call = Call(0, 8), other = Call(1, 9);
        byte[] frame = Frame(117, 8, 50);
        Feed(frame.AsSpan(0, 20));
        _stream->Close();
        Assert.True(call->Done && other->Done);
        Assert.Equal(-(int)Errno.EIO, call->Result);
        Assert.Equal(-(int)Errno.EIO, other->Result);
        Assert.Equal(FrameStreamProblem.ClosedMidFrame, _stream->TakeProblem(out uint partial));
        Assert.Equal(20u, partial);
    }

    [Fact]
    public void A_stream_that_closes_mid_header_also_says_so()
    {
        Call(0, 8);
        Feed(Frame(117, 8, 50).AsSpan(0, 3));
        _stream->Close();
        Assert.Equal(FrameStreamProblem.ClosedMidFrame, _stream->TakeProblem(out uint partial));
        Assert.Equal(3u, partial);
    }

    [Fact]
    public void A_second_call_on_a_waiting_tag_is_refused()
    {
        Call(0, 12);
        FrameCall* twin = &_calls[1];
        twin->Tag = 12;
        Assert.False(_stream->Register(twin));
        Assert.Equal(1, _stream->Waiting);
    }

    [Fact]
    public void A_cancelled_call_is_not_completed_and_its_reply_mid_way_is_dropped()
    {
        FrameCall* call = Call(0, 2), next = Call(1, 3);
        byte[] frame = Frame(117, 2, 30), after = Frame(117, 3, 5);
        Feed(frame.AsSpan(0, 10));
        _stream->Cancel(call);
        Feed([.. frame.AsSpan(10), .. after]);
        Assert.False(call->Done);
        Assert.True(next->Done);
        Assert.Equal(after, ReplyOf(next));
        Assert.Equal(1, s_completions);
    }
}
