using System.Buffers.Binary;

namespace Libra.Qemu;

// A relay in front of the Side daemon (QemuMachine.SideRelay) that mutates the Side's frames toward
// the guest (docs/side-protocol.md: len[4] type[2] flags[2] sock[4] tag[4] payload): each frame
// after the first (the reply to HELLO) with probability `rate`, by a generator seeded with `seed`:
// another type (a pushed one or any number), flags, socket id (0, another, the Side's range, all
// ones), tag, the payload cut short (the length field kept true), bytes of the payload, a payload
// field set to 0, 0x80000000 or all ones, the frame twice, or not at all. The guest's frames pass
// unchanged. After `breakAfter` frames toward the guest, or `breakAfterTime`, whichever comes
// first, it sends a length field no frame can have: the kernel must reset the link (every socket
// gets ECONNRESET) rather than hang a program waiting on a frame that was lost.
public sealed class SideFrameFuzzer(int seed, double rate, int breakAfter, TimeSpan breakAfterTime)
{
    private const int HeaderSize = 16;
    private readonly Random _random = new(seed);
    private long _frames, _mutated;

    public long Frames => Interlocked.Read(ref _frames);
    public long Mutated => Interlocked.Read(ref _mutated);

    public StreamRelay Relay => RunAsync;

    private async Task RunAsync(Stream fromGuest, Stream toSide, CancellationToken cancel)
    {
        var up = fromGuest.CopyToAsync(toSide, cancel);
        using var late = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        late.CancelAfter(breakAfterTime);
        try
        {
            await foreach (byte[] frame in Cut(toSide, late.Token))
            {
                long n = Interlocked.Increment(ref _frames);
                List<byte[]> frames = n > 1 && _random.NextDouble() < rate ? Mutate(frame) : [frame];
                if (frames.Count != 1 || frames[0] != frame) Interlocked.Increment(ref _mutated);
                foreach (byte[] f in frames) await fromGuest.WriteAsync(f, cancel);
                if (n >= breakAfter) break;
            }
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested) { }
        // Out of step: a length below the header.
        await fromGuest.WriteAsync(new byte[] { 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, cancel);
        await up;
    }

    private static async IAsyncEnumerable<byte[]> Cut(Stream stream, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancel)
    {
        var header = new byte[HeaderSize];
        while (true)
        {
            if (!await Fill(stream, header, cancel)) yield break;
            int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(header);
            if (length < HeaderSize) throw new IOException($"the Side sent a frame of length {length}");
            var frame = new byte[length];
            header.CopyTo(frame, 0);
            if (!await Fill(stream, frame.AsMemory(HeaderSize), cancel)) yield break;
            yield return frame;
        }
    }

    private static async Task<bool> Fill(Stream stream, Memory<byte> into, CancellationToken cancel)
    {
        for (int at = 0; at < into.Length;)
        {
            int n = await stream.ReadAsync(into[at..], cancel);
            if (n == 0) return false;
            at += n;
        }
        return true;
    }

    // The types the Side pushes (Shims/Net/SideProtocol.cs SideType, 0x81..0x89) and DATA (8).
    private static readonly ushort[] Pushed = [0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 8];

    // What to send instead of `frame` (none: it is dropped); every length field stays true.
    public List<byte[]> Mutate(byte[] frame)
    {
        byte[] m = (byte[])frame.Clone();
        switch (_random.Next(10))
        {
            case 0: BinaryPrimitives.WriteUInt16LittleEndian(m.AsSpan(4), Pushed[_random.Next(Pushed.Length)]); break;
            case 1: BinaryPrimitives.WriteUInt16LittleEndian(m.AsSpan(4), (ushort)_random.Next(0x10000)); break;
            case 2: BinaryPrimitives.WriteUInt16LittleEndian(m.AsSpan(6), (ushort)_random.Next(0x10000)); break;
            case 3:
                uint id = _random.Next(4) switch { 0 => 0, 1 => uint.MaxValue, 2 => 0x8000_0000u + (uint)_random.Next(8), _ => (uint)_random.Next(1, 8) };
                BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(8), id);
                break;
            case 4: BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(12), (uint)_random.NextInt64(0, 1L << 32)); break;
            case 5:
                m = m.AsSpan(0, _random.Next(HeaderSize, m.Length + 1)).ToArray();
                BinaryPrimitives.WriteUInt32LittleEndian(m, (uint)m.Length);
                break;
            case 6:
                if (m.Length > HeaderSize)
                    for (int i = _random.Next(1, 6); i > 0; i--) m[_random.Next(HeaderSize, m.Length)] = (byte)_random.Next(256);
                break;
            case 7:
                // A payload field (a count, an errno, an address length) set to an edge value.
                if (m.Length >= HeaderSize + 4)
                    BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(HeaderSize + 4 * _random.Next((m.Length - HeaderSize) / 4)),
                        _random.Next(3) switch { 0 => 0, 1 => uint.MaxValue, _ => 0x8000_0000 });
                break;
            case 8: return [m, (byte[])m.Clone()];
            default: return [];
        }
        return [m];
    }
}
