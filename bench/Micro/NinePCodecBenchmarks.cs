using System.Runtime.InteropServices;
using System.Text;
using BenchmarkDotNet.Attributes;
using Libra.Shims.NineP;

namespace Libra.Bench.Micro;

// The 9P2000.L messages on the file-I/O hot path: what one read(2)/write(2)/open(2)/stat(2)/getdents64(2)
// costs in encoding and decoding alone, before any transport. Payload sizes: a page, and a 128 KiB
// msize-sized transfer. Every benchmark works in preallocated buffers (MemoryDiagnoser shows 0 B).
[MemoryDiagnoser]
public class NinePReadWriteBenchmarks
{
    private const ushort Tag = 7;
    private const uint Fid = 3;
    private byte[] _request = null!;
    private byte[] _rread = null!;
    private byte[] _payload = null!;
    private byte[] _destination = null!;
    private uint _msize;

    [Params(4096, 128 * 1024)]
    public int Payload;

    [GlobalSetup]
    public void Setup()
    {
        _msize = (uint)(Payload + NinePProtocol.IoHeaderSize);
        _request = new byte[_msize];
        _payload = new byte[Payload];
        new Random(1).NextBytes(_payload);
        _destination = new byte[Payload];
        _rread = new byte[_msize];
        var w = new NinePWriter(_rread, NinePType.Rread, Tag);
        w.U32((uint)Payload);
        w.Bytes(_payload);
        if (w.Finish() != NinePProtocol.RreadHeaderSize + Payload) throw new InvalidOperationException("Rread setup");
    }

    [Benchmark(Description = "Tread encode")]
    public int TreadEncode() => NinePCodec.Tread(_request, Tag, Fid, 1 << 20, (uint)Payload);

    [Benchmark(Description = "Rread decode (view)")]
    public int RreadDecode()
    {
        NinePCodec.Rread(_rread, _msize, Tag, out var data);
        return data.Length;
    }

    [Benchmark(Description = "Rread decode + copy out")]
    public int RreadDecodeAndCopy()
    {
        NinePCodec.Rread(_rread, _msize, Tag, out var data);
        data.CopyTo(_destination);
        return data.Length;
    }

    [Benchmark(Description = "Rread split header")]
    public int RreadHeader()
    {
        NinePCodec.RreadHeader(_rread, _rread.Length, Payload, _msize, Tag, out int count);
        return count;
    }

    [Benchmark(Description = "Twrite encode (copies data)")]
    public int TwriteEncode() => NinePCodec.Twrite(_request, Tag, Fid, 1 << 20, _payload);

    [Benchmark(Description = "Twrite header only")]
    public int TwriteHeader() => NinePCodec.TwriteHeader(_request, Tag, Fid, 1 << 20, (uint)Payload);
}

[MemoryDiagnoser]
public class NinePMetadataBenchmarks
{
    private const ushort Tag = 9;
    private const uint Msize = 128 * 1024 + NinePProtocol.IoHeaderSize;
    private readonly byte[] _request = new byte[Msize];
    private readonly byte[] _path = Encoding.ASCII.GetBytes("usr/share/doc");
    private byte[] _rwalk = null!, _rgetattr = null!, _rreaddir = null!;
    private NinePQid[] _qids = null!;
    private ulong[] _fidWords = null!;
    private GCHandle _fidPin;
    private NinePFids _fids;
    private NinePTags _tags;

    [GlobalSetup]
    public unsafe void Setup()
    {
        _qids = new NinePQid[NinePProtocol.MaxWalkNames];
        var q = new NinePQid { Type = NinePProtocol.QidDirectory, Version = 1, Path = 1234 };
        _rwalk = Build(NinePType.Rwalk, (ref NinePWriter w) => { w.U16(3); w.Qid(q); w.Qid(q); w.Qid(q); });
        _rgetattr = Build(NinePType.Rgetattr, (ref NinePWriter w) =>
        {
            w.U64(NinePProtocol.GetattrBasic); w.Qid(q); w.U32(0x81a4); w.U32(1000); w.U32(1000);
            for (int i = 0; i < 15; i++) w.U64((ulong)i * 1000);
        });
        // 64 entries with names of 4 to 35 bytes, as a source tree's directory might hold.
        var data = new List<byte>();
        for (int i = 0; i < 64; i++)
        {
            var name = Encoding.ASCII.GetBytes("file-" + i + new string('x', i % 31));
            var entry = new byte[256];
            var ew = new NinePWriter(entry, 0, 0);   // the codec's field writers; the 7-byte header is dropped
            ew.Qid(q); ew.U64((ulong)i + 1); ew.U8(8); ew.String(name);
            data.AddRange(entry.AsSpan(NinePProtocol.HeaderSize, ew.Position - NinePProtocol.HeaderSize).ToArray());
        }
        var payload = data.ToArray();
        _rreaddir = Build(NinePType.Rreaddir, (ref NinePWriter w) => { w.U32((uint)payload.Length); w.Bytes(payload); });
        _fidWords = new ulong[64];
        _fidPin = GCHandle.Alloc(_fidWords, GCHandleType.Pinned);
        _fids = new NinePFids((ulong*)_fidPin.AddrOfPinnedObject(), _fidWords.Length);
        for (int i = 0; i < 1000; i++) _fids.TryAllocate(out _);   // a process with a thousand open fids
    }

    [GlobalCleanup]
    public void Cleanup() => _fidPin.Free();

    private delegate void Body(ref NinePWriter w);
    private static byte[] Build(NinePType type, Body body)
    {
        var buffer = new byte[Msize];
        var w = new NinePWriter(buffer, type, Tag);
        body(ref w);
        int n = w.Finish();
        if (n <= 0) throw new InvalidOperationException(type.ToString());
        return buffer[..n];
    }

    [Benchmark(Description = "Twalk encode, 3 names")]
    public int TwalkEncode() => NinePCodec.Twalk(_request, Tag, 1, 2, _path);

    [Benchmark(Description = "Rwalk decode, 3 qids")]
    public int RwalkDecode()
    {
        NinePCodec.Rwalk(_rwalk, Msize, Tag, _qids, out int count);
        return count;
    }

    [Benchmark(Description = "Tgetattr encode")]
    public int TgetattrEncode() => NinePCodec.Tgetattr(_request, Tag, 1, NinePProtocol.GetattrBasic);

    [Benchmark(Description = "Rgetattr decode")]
    public ulong RgetattrDecode()
    {
        NinePCodec.Rgetattr(_rgetattr, Msize, Tag, out var a);
        return a.Size + a.Mode;
    }

    [Benchmark(Description = "Rreaddir decode + iterate 64")]
    public int RreaddirIterate()
    {
        NinePCodec.Rreaddir(_rreaddir, Msize, Tag, out var entries);
        int total = 0;
        while (entries.Next(out var e)) total += e.Name.Length;
        return total;
    }

    [Benchmark(Description = "tag allocate + free")]
    public int TagCycle()
    {
        _tags.TryAllocate(out ushort tag);
        _tags.Free(tag);
        return tag;
    }

    [Benchmark(Description = "fid allocate + free (1000 in use)")]
    public uint FidCycle()
    {
        _fids.TryAllocate(out uint fid);
        _fids.Free(fid);
        return fid;
    }
}
