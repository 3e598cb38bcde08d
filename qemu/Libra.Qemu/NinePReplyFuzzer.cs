using System.Buffers.Binary;
using System.Collections.Concurrent;

namespace Libra.Qemu;

// What the 9P reply fuzzer did to a reply (docs/robustness.md "File-server fuzzing"). The first
// four put the stream out of step (the kernel must break it or find its feet, never panic); Drop
// leaves a call unanswered (libra.9p.timeout_ms gives it up); the others keep the framing.
public enum NinePMutation
{
    SizeLarger, SizeSmaller, SizeZero, SizeHuge,
    Drop,
    OtherReplyType, RequestType, Rlerror, UnknownType,
    InFlightTag, UnusedTag, NoTag,
    Qid, Name, Count, Stat, Truncate, Duplicate, Bytes,
}

// The fuzzer's figures, shared by the relay (which counts) and whoever reports.
public sealed class NinePFuzzFigures
{
    private long _replies;
    private readonly long[] _byMutation = new long[Enum.GetValues<NinePMutation>().Length];

    public long Replies => Interlocked.Read(ref _replies);
    public long Mutated => _byMutation.Sum();
    public long Count(NinePMutation m) => Interlocked.Read(ref _byMutation[(int)m]);

    internal void Reply() => Interlocked.Increment(ref _replies);
    internal void Mutation(NinePMutation m) => Interlocked.Increment(ref _byMutation[(int)m]);

    public string Describe() => string.Join(' ', Enum.GetValues<NinePMutation>().Select(m => $"{m}={Count(m)}"));
}

// A file-server relay (QemuMachine.FileServerRelay, in front of diod) that rewrites 9P2000.L
// replies: each reply is mutated with probability `rate` by one NinePMutation chosen by a generator
// seeded with `seed`. It cuts both directions into frames (size[4] type[1] tag[2]) and remembers
// each request's type and count by tag, so a reply can be given another call's tag or a count past
// what was asked. A misrouted reply is followed by the true one, so the call it belonged to is not
// left waiting; only Drop and the size mutations make the kernel wait or lose its step.
public sealed class NinePReplyFuzzer
{
    private const ushort NoTag = 0xffff;
    private readonly Random _random;
    private readonly double _rate;
    private readonly ConcurrentDictionary<ushort, (byte Type, uint Count)> _inFlight = new();
    // The share of mutations that break the framing or drop the reply: each costs the boot its
    // stream or a timeout, so they are rare.
    private readonly double _framingShare;

    public NinePFuzzFigures Figures { get; }

    // `framingShare`: the probability that a mutation is one of the four size mutations or Drop
    // (0 keeps the stream in step and every call answered).
    public NinePReplyFuzzer(int seed, double rate, NinePFuzzFigures figures, double framingShare = 1.0 / 8192)
    {
        _random = new Random(seed);
        _rate = rate;
        _framingShare = framingShare;
        Figures = figures;
    }

    public StreamRelay Relay => RunAsync;

    private async Task RunAsync(Stream fromGuest, Stream toServer, CancellationToken cancel)
    {
        var up = Task.Run(async () =>
        {
            await foreach (byte[] request in Frames(fromGuest, cancel))
            {
                ushort tag = BinaryPrimitives.ReadUInt16LittleEndian(request.AsSpan(5));
                // Tread, Treaddir, Twrite: fid[4] offset[8] count[4].
                uint count = request.Length >= 23 && request[4] is 116 or 40 or 118 ? BinaryPrimitives.ReadUInt32LittleEndian(request.AsSpan(19)) : 0;
                _inFlight[tag] = (request[4], count);
                await toServer.WriteAsync(request, cancel);
            }
            toServer.Close();
        }, cancel);
        await foreach (byte[] reply in Frames(toServer, cancel))
        {
            ushort tag = BinaryPrimitives.ReadUInt16LittleEndian(reply.AsSpan(5));
            _inFlight.TryGetValue(tag, out var request);
            Figures.Reply();
            List<byte[]> frames;
            // The mount's Tversion and Tattach are answered once a boot: their replies are spared
            // mostly, or nearly every boot would end at a refused mount.
            double rate = request.Type is 100 or 104 ? _rate / 16 : _rate;
            lock (_random) frames = _random.NextDouble() < rate ? Mutate(reply, request.Type, request.Count) : [reply];
            _inFlight.TryRemove(tag, out _);
            foreach (byte[] frame in frames) await fromGuest.WriteAsync(frame, cancel);
            await fromGuest.FlushAsync(cancel);
        }
        fromGuest.Close();
        await up;
    }

    // The frames of a 9P stream, each whole (size[4] counts itself); ends with the stream.
    private static async IAsyncEnumerable<byte[]> Frames(Stream stream, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancel)
    {
        var pending = new MemoryStream();
        var buffer = new byte[65536];
        int n;
        while ((n = await stream.ReadAsync(buffer, cancel)) > 0)
        {
            pending.Write(buffer, 0, n);
            byte[] bytes = pending.GetBuffer();
            int at = 0, length = (int)pending.Length;
            while (length - at >= 7)
            {
                int size = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at));
                if (size < 7) throw new IOException($"the 9P server sent a frame of size {size}");
                if (length - at < size) break;
                yield return bytes.AsSpan(at, size).ToArray();
                at += size;
            }
            byte[] rest = bytes.AsSpan(at, length - at).ToArray();
            pending.SetLength(0);
            pending.Write(rest);
        }
    }

    // The frames to send instead of `reply` (none: it is dropped). `requestType` and `requested`
    // are its request's type and count (0 when unknown).
    public List<byte[]> Mutate(byte[] reply, byte requestType, uint requested)
    {
        NinePMutation mutation = Pick();
        Figures.Mutation(mutation);
        byte[] m = (byte[])reply.Clone();
        Span<byte> s = m;
        switch (mutation)
        {
            case NinePMutation.SizeLarger: SetSize(s, (uint)(m.Length + _random.Next(1, 64))); break;
            case NinePMutation.SizeSmaller: SetSize(s, (uint)_random.Next(0, m.Length)); break;
            case NinePMutation.SizeZero: SetSize(s, 0); break;
            case NinePMutation.SizeHuge: SetSize(s, _random.Next(2) == 0 ? uint.MaxValue : (uint)_random.Next(16 << 20, int.MaxValue)); break;
            case NinePMutation.Drop: return [];
            case NinePMutation.OtherReplyType: m[4] = ReplyTypes[_random.Next(ReplyTypes.Length)]; break;
            case NinePMutation.RequestType: m[4] = (byte)(ReplyTypes[_random.Next(ReplyTypes.Length)] - 1); break;
            case NinePMutation.Rlerror: return [Rlerror(m, ErrorCode())];
            case NinePMutation.UnknownType:
                byte type;
                do type = (byte)_random.Next(256); while (ReplyTypes.Contains(type) || ReplyTypes.Contains((byte)(type + 1)));
                m[4] = type;
                break;
            case NinePMutation.InFlightTag:
            {
                ushort own = BinaryPrimitives.ReadUInt16LittleEndian(s[5..]);
                ushort[] others = _inFlight.Keys.Where(t => t != own).ToArray();
                if (others.Length == 0) return Misrouted(m, UnusedTag());
                return Misrouted(m, others[_random.Next(others.Length)]);
            }
            case NinePMutation.UnusedTag: return Misrouted(m, UnusedTag());
            case NinePMutation.NoTag: return Misrouted(m, NoTag);
            case NinePMutation.Qid: MutateQid(s); break;
            case NinePMutation.Name: m = MutateName(m); break;
            case NinePMutation.Count: MutateCount(s, requested); break;
            case NinePMutation.Stat: MutateStat(s); break;
            case NinePMutation.Truncate:
                m = m.AsSpan(0, _random.Next(7, m.Length)).ToArray();
                if (m.Length == reply.Length) m = m.AsSpan(0, 7).ToArray();
                SetSize(m, (uint)m.Length);
                break;
            case NinePMutation.Duplicate: return [m, (byte[])m.Clone()];
            case NinePMutation.Bytes:
                if (m.Length == 7) goto case NinePMutation.UnknownType;
                for (int i = _random.Next(1, 5); i > 0; i--) m[_random.Next(7, m.Length)] = (byte)_random.Next(256);
                break;
        }
        return [m];
    }

    // Every 9P2000.L R-message type (Shims/NineP/NinePType.cs).
    private static readonly byte[] ReplyTypes = [7, 9, 13, 15, 17, 19, 21, 23, 25, 27, 31, 33, 41, 51, 53, 55, 71, 73, 75, 77, 101, 103, 105, 109, 111, 117, 119, 121, 123];

    private static readonly NinePMutation[] Breakers = [NinePMutation.SizeLarger, NinePMutation.SizeSmaller, NinePMutation.SizeZero, NinePMutation.SizeHuge, NinePMutation.Drop];
    private static readonly NinePMutation[] InStep = Enum.GetValues<NinePMutation>().Except(Breakers).ToArray();

    private NinePMutation Pick() =>
        _random.NextDouble() < _framingShare ? Breakers[_random.Next(Breakers.Length)] : InStep[_random.Next(InStep.Length)];

    private static void SetSize(Span<byte> frame, uint size) => BinaryPrimitives.WriteUInt32LittleEndian(frame, size);

    private ushort UnusedTag()
    {
        ushort tag;
        do tag = (ushort)_random.Next(0x10000); while (_inFlight.ContainsKey(tag) || tag == NoTag);
        return tag;
    }

    // A copy of the reply with another tag, then the reply itself: the call it was for is answered.
    private static List<byte[]> Misrouted(byte[] reply, ushort tag)
    {
        byte[] copy = (byte[])reply.Clone();
        BinaryPrimitives.WriteUInt16LittleEndian(copy.AsSpan(5), tag);
        return [copy, reply];
    }

    // An Rlerror ecode: a real errno, 0 (no error at all), or a number no errno has.
    private uint ErrorCode() => _random.Next(4) switch
    {
        0 => 0,
        1 => (uint)_random.Next(134, int.MaxValue) | (_random.Next(2) == 0 ? 0x8000_0000u : 0),
        _ => (uint)_random.Next(1, 134),
    };

    // 9P2000.L Rlerror: ecode[4], on the reply's tag.
    private static byte[] Rlerror(byte[] reply, uint ecode)
    {
        var frame = new byte[11];
        SetSize(frame, 11);
        frame[4] = 7;
        frame[5] = reply[5];
        frame[6] = reply[6];
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(7), ecode);
        return frame;
    }

    private uint Interesting32() => _random.Next(6) switch
    {
        0 => 0,
        1 => uint.MaxValue,
        2 => 0x8000_0000,
        3 => (uint)_random.Next(1, 16),
        _ => (uint)_random.NextInt64(0, 1L << 32),
    };

    private ulong Interesting64() => _random.Next(6) switch
    {
        0 => 0,
        1 => ulong.MaxValue,
        2 => 1UL << 63,
        3 => (ulong)_random.Next(1, 16),
        _ => (ulong)_random.NextInt64() << 1 ^ (ulong)_random.Next(2),
    };

    // The qid (type[1] version[4] path[8]) replies carry: Rlopen, Rlcreate, Rsymlink, Rmknod,
    // Rmkdir, Rattach, Rauth at 7; Rgetattr at 15 (after valid[8]); Rwalk's nwqid[2] qids at 9;
    // Rreaddir's entries at 11. Elsewhere some body bytes are changed instead.
    private void MutateQid(Span<byte> frame)
    {
        int at = frame[4] switch
        {
            13 or 15 or 17 or 19 or 73 or 103 or 105 => 7,
            25 => 15,
            111 or 41 when frame.Length >= 9 + 13 => frame[4] == 111 ? 9 + 13 * _random.Next(Math.Max(1, (frame.Length - 9) / 13)) : 11,
            _ => -1,
        };
        if (at < 0 || at + 13 > frame.Length) { RandomBody(frame); return; }
        byte[] types = [0x00, 0x80, 0x02, 0x40, 0x04, 0x08, 0x20, 0x01, 0xff];
        frame[at] = _random.Next(3) == 0 ? (byte)_random.Next(256) : types[_random.Next(types.Length)];
        BinaryPrimitives.WriteUInt32LittleEndian(frame[(at + 1)..], Interesting32());
        BinaryPrimitives.WriteUInt64LittleEndian(frame[(at + 5)..], Interesting64());
    }

    private void RandomBody(Span<byte> frame)
    {
        if (frame.Length > 7) frame[_random.Next(7, frame.Length)] = (byte)_random.Next(256);
        else frame[4] = (byte)_random.Next(256);
    }

    // A name's string (len[2] bytes): Rreadlink's target at 7, Rversion's version at 11, one of
    // Rreaddir's entry names (qid[13] offset[8] type[1] name[s], from 11). It becomes '..', a name
    // with '/', a NUL or bytes that are not UTF-8, an empty or a long one, or its length goes past
    // the frame's end.
    private byte[] MutateName(byte[] frame)
    {
        int at = frame[4] switch { 23 => 7, 101 => 11, 41 => PickDirent(frame), _ => -1 };
        if (at < 0 || at + 2 > frame.Length) { RandomBody(frame); return frame; }
        int length = BinaryPrimitives.ReadUInt16LittleEndian(frame.AsSpan(at));
        if (at + 2 + length > frame.Length) length = frame.Length - at - 2;
        byte[] name = _random.Next(8) switch
        {
            0 => ".."u8.ToArray(),
            1 => "a/../../b"u8.ToArray(),
            2 => "x\0y"u8.ToArray(),
            3 => [0xff, 0xfe, 0xc0, 0x80],
            4 => [],
            5 => Enumerable.Repeat((byte)'n', _random.Next(256, 4096)).ToArray(),
            6 => "/"u8.ToArray(),
            _ => [],
        };
        if (_random.Next(8) == 7)
        {
            // The same bytes, a length past the end of the frame.
            BinaryPrimitives.WriteUInt16LittleEndian(frame.AsSpan(at), (ushort)(frame.Length - at + _random.Next(1, 60000)));
            return frame;
        }
        byte[] result = [.. frame.AsSpan(0, at), .. BitConverter.GetBytes((ushort)name.Length), .. name, .. frame.AsSpan(at + 2 + length)];
        SetSize(result, (uint)result.Length);
        // Rreaddir's count[4] follows the entries' bytes.
        if (frame[4] == 41) BinaryPrimitives.WriteUInt32LittleEndian(result.AsSpan(7), (uint)(result.Length - 11));
        return result;
    }

    // The offset of a random Rreaddir entry's name, or -1 when there is none.
    private int PickDirent(byte[] frame)
    {
        var names = new List<int>();
        for (int at = 11; at + 24 <= frame.Length;)
        {
            int name = at + 13 + 8 + 1;
            names.Add(name);
            at = name + 2 + BinaryPrimitives.ReadUInt16LittleEndian(frame.AsSpan(name));
        }
        return names.Count == 0 ? -1 : names[_random.Next(names.Count)];
    }

    // The count of Rread, Rreaddir and Rwrite (at 7): past what was asked, past the frame, 0 or
    // huge; Rversion's msize; Rlopen's and Rlcreate's iounit (after the qid, at 20).
    private void MutateCount(Span<byte> frame, uint requested)
    {
        int at = frame[4] switch { 117 or 41 or 119 or 101 => 7, 13 or 15 => 20, _ => -1 };
        if (at < 0 || at + 4 > frame.Length) { RandomBody(frame); return; }
        uint value = _random.Next(4) switch
        {
            0 => requested + (uint)_random.Next(1, 4096),
            1 => (uint)(frame.Length - 11 + _random.Next(1, 4096)),
            _ => Interesting32(),
        };
        BinaryPrimitives.WriteUInt32LittleEndian(frame[at..], value);
    }

    // Rgetattr: valid[8] qid[13] mode[4] uid[4] gid[4] nlink[8] rdev[8] size[8] blksize[8]
    // blocks[8] then times and gen; Rstatfs: type[4] bsize[4] blocks[8] bfree[8] bavail[8]
    // files[8] ffree[8] fsid[8] namelen[4]. One to three of the fields get odd values.
    private void MutateStat(Span<byte> frame)
    {
        (int At, int Bytes)[] fields = frame[4] switch
        {
            25 => [(7, 8), (28, 4), (32, 4), (36, 4), (40, 8), (48, 8), (56, 8), (64, 8), (72, 8), (80, 8), (88, 8), (96, 8), (104, 8)],
            9 => [(7, 4), (11, 4), (15, 8), (23, 8), (31, 8), (39, 8), (47, 8), (55, 8), (63, 4)],
            _ => [],
        };
        int length = frame.Length;
        fields = fields.Where(f => f.At + f.Bytes <= length).ToArray();
        if (fields.Length == 0) { RandomBody(frame); return; }
        for (int i = _random.Next(1, 4); i > 0; i--)
        {
            var (at, bytes) = fields[_random.Next(fields.Length)];
            if (bytes == 4) BinaryPrimitives.WriteUInt32LittleEndian(frame[at..], Interesting32());
            else BinaryPrimitives.WriteUInt64LittleEndian(frame[at..], Interesting64());
        }
    }
}
