using System.Buffers.Binary;
using System.Text;
using Libra.Shims.NineP;
using Xunit;

namespace Libra.Tests.Unit;

// The 9P2000.L codec against bytes computed by hand from diod's protocol.md, and every way a reply can lie.
public class NinePCodecTests
{
    private const uint Msize = 8192;
    private const int EIO = -5;

    private static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", ""));

    private static byte[] Encode(Func<byte[], int> encoder, int capacity = 8192)
    {
        var buffer = new byte[capacity];
        int n = encoder(buffer);
        Assert.True(n > 0, $"encoder failed with {n}");
        Assert.Equal((uint)n, BinaryPrimitives.ReadUInt32LittleEndian(buffer));
        return buffer[..n];
    }

    // A reply built with the codec's own writer; the field order is checked by the golden tests.
    internal delegate void Body(ref NinePWriter w);
    internal static byte[] Reply(NinePType type, ushort tag, Body body)
    {
        var buffer = new byte[1 << 18];
        var w = new NinePWriter(buffer, type, tag);
        body(ref w);
        int n = w.Finish();
        Assert.True(n > 0);
        return buffer[..n];
    }

    private static NinePQid Qid(byte type, uint version, ulong path) => new() { Type = type, Version = version, Path = path };

    // --- golden T-messages --------------------------------------------------------------------

    [Fact]
    public void Tversion_matches_the_spec_bytes()
    {
        // size 21, type 100, NOTAG, msize 8192, "9P2000.L"
        var m = Encode(b => NinePCodec.Tversion(b, 8192));
        Assert.Equal(Hex("15000000 64 ffff 00200000 0800 395032303030 2e4c"), m);
    }

    [Fact]
    public void Tattach_matches_the_spec_bytes()
    {
        var m = Encode(b => NinePCodec.Tattach(b, 1, 0, NinePProtocol.NoFid, ""u8, "/tmp"u8, 0));
        Assert.Equal(Hex("1b000000 68 0100 00000000 ffffffff 0000 0400 2f746d70 00000000"), m);
    }

    [Fact]
    public void Twalk_sends_each_slash_separated_name_as_a_string()
    {
        var m = Encode(b => NinePCodec.Twalk(b, 2, 0, 1, "a/bc"u8));
        Assert.Equal(Hex("18000000 6e 0200 00000000 01000000 0200 0100 61 0200 6263"), m);
    }

    [Fact]
    public void Twalk_of_an_empty_path_clones_the_fid()
    {
        var m = Encode(b => NinePCodec.Twalk(b, 2, 7, 8, ""u8));
        Assert.Equal(Hex("11000000 6e 0200 07000000 08000000 0000"), m);
        Assert.Equal(m, Encode(b => NinePCodec.Twalk(b, 2, 7, 8, "//"u8)));
    }

    [Fact]
    public void Twalk_skips_empty_components()
    {
        Assert.Equal(Encode(b => NinePCodec.Twalk(b, 2, 0, 1, "a/bc"u8)), Encode(b => NinePCodec.Twalk(b, 2, 0, 1, "/a//bc/"u8)));
    }

    [Fact]
    public void Twalk_refuses_more_than_MAXWELEM_names()
    {
        var buffer = new byte[8192];
        string sixteen = string.Join('/', Enumerable.Range(0, 16).Select(i => "n" + i));
        Assert.True(NinePCodec.Twalk(buffer, 1, 0, 1, Encoding.ASCII.GetBytes(sixteen)) > 0);
        Assert.Equal(-7, NinePCodec.Twalk(buffer, 1, 0, 1, Encoding.ASCII.GetBytes(sixteen + "/x")));  // E2BIG
    }

    [Fact]
    public void SplitWalk_cuts_a_long_path_after_16_names()
    {
        string path = "/" + string.Join('/', Enumerable.Range(0, 20).Select(i => "n" + i));
        var bytes = Encoding.ASCII.GetBytes(path);
        NinePCodec.SplitWalk(bytes, NinePProtocol.MaxWalkNames, out var first, out var rest);
        Assert.Equal(16, NinePCodec.WalkNameCount(first));
        Assert.Equal("n16/n17/n18/n19", Encoding.ASCII.GetString(rest));
        NinePCodec.SplitWalk(rest, NinePProtocol.MaxWalkNames, out first, out rest);
        Assert.Equal(4, NinePCodec.WalkNameCount(first));
        Assert.Equal(0, rest.Length);
    }

    [Fact]
    public void Tread_matches_the_spec_bytes()
    {
        var m = Encode(b => NinePCodec.Tread(b, 3, 1, 0x0102030405060708, 4096));
        Assert.Equal(Hex("17000000 74 0300 01000000 0807060504030201 00100000"), m);
    }

    [Fact]
    public void Twrite_carries_its_data_and_TwriteHeader_counts_data_sent_apart()
    {
        var m = Encode(b => NinePCodec.Twrite(b, 4, 2, 16, "hey"u8));
        Assert.Equal(Hex("1a000000 76 0400 02000000 1000000000000000 03000000 686579"), m);
        var header = new byte[NinePProtocol.TwriteHeaderSize];
        Assert.Equal(NinePProtocol.TwriteHeaderSize, NinePCodec.TwriteHeader(header, 4, 2, 16, 3));
        Assert.Equal(m[..NinePProtocol.TwriteHeaderSize], header);
    }

    [Fact]
    public void Tlcreate_matches_the_spec_bytes()
    {
        // fid 5, "f", O_RDWR|O_CREAT, mode 0644, gid 0
        var m = Encode(b => NinePCodec.Tlcreate(b, 4, 5, "f"u8, NinePProtocol.OpenReadWrite | NinePProtocol.OpenCreate, 0x1a4, 0));
        Assert.Equal(Hex("1a000000 0e 0400 05000000 0100 66 42000000 a4010000 00000000"), m);
    }

    [Fact]
    public void Small_T_messages_match_the_spec_bytes()
    {
        Assert.Equal(Hex("0b000000 78 0900 05000000"), Encode(b => NinePCodec.Tclunk(b, 9, 5)));
        Assert.Equal(Hex("0b000000 7a 0900 05000000"), Encode(b => NinePCodec.Tremove(b, 9, 5)));
        Assert.Equal(Hex("0b000000 16 0900 05000000"), Encode(b => NinePCodec.Treadlink(b, 9, 5)));
        Assert.Equal(Hex("0b000000 08 0900 05000000"), Encode(b => NinePCodec.Tstatfs(b, 9, 5)));
        Assert.Equal(Hex("09000000 6c 0a00 0300"), Encode(b => NinePCodec.Tflush(b, 10, 3)));
        Assert.Equal(Hex("0f000000 0c 0900 05000000 02800000"), Encode(b => NinePCodec.Tlopen(b, 9, 5, 0x8002)));
        Assert.Equal(Hex("13000000 18 0900 05000000 ff3f000000000000"), Encode(b => NinePCodec.Tgetattr(b, 9, 5, NinePProtocol.GetattrAll)));
        Assert.Equal(Hex("0f000000 32 0900 05000000 01000000"), Encode(b => NinePCodec.Tfsync(b, 9, 5, 1)));
        Assert.Equal(Hex("17000000 28 0900 05000000 2a00000000000000 00100000"), Encode(b => NinePCodec.Treaddir(b, 9, 5, 42, 4096)));
    }

    [Fact]
    public void Directory_T_messages_match_the_spec_bytes()
    {
        Assert.Equal(Hex("18000000 48 0100 02000000 0300 646972 ed010000 e8030000"),
            Encode(b => NinePCodec.Tmkdir(b, 1, 2, "dir"u8, 0x1ed, 1000)));
        Assert.Equal(Hex("14000000 4c 0100 02000000 0300 646972 00020000"),
            Encode(b => NinePCodec.Tunlinkat(b, 1, 2, "dir"u8, NinePProtocol.UnlinkRemoveDirectory)));
        Assert.Equal(Hex("16000000 4a 0100 02000000 0100 61 03000000 0200 6262"),
            Encode(b => NinePCodec.Trenameat(b, 1, 2, "a"u8, 3, "bb"u8)));
        Assert.Equal(Hex("12000000 14 0100 04000000 02000000 0100 62"),
            Encode(b => NinePCodec.Trename(b, 1, 4, 2, "b"u8)));
        Assert.Equal(Hex("17000000 10 0100 02000000 0100 6c 0300 746774 00000000"),
            Encode(b => NinePCodec.Tsymlink(b, 1, 2, "l"u8, "tgt"u8, 0)));
        Assert.Equal(Hex("12000000 46 0100 02000000 04000000 0100 68"),
            Encode(b => NinePCodec.Tlink(b, 1, 2, 4, "h"u8)));
        Assert.Equal(Hex("1e000000 12 0100 02000000 0100 70 b6110000 00000000 00000000 00000000"),
            Encode(b => NinePCodec.Tmknod(b, 1, 2, "p"u8, 0x11b6, 0, 0, 0)));
    }

    [Fact]
    public void Tsetattr_writes_every_field_in_order()
    {
        var attr = new NinePSetAttr { Valid = NinePProtocol.SetattrSize | NinePProtocol.SetattrMtimeSet, Mode = 1, Uid = 2, Gid = 3, Size = 4, AtimeSec = 5, AtimeNsec = 6, MtimeSec = 7, MtimeNsec = 8 };
        var m = Encode(b => NinePCodec.Tsetattr(b, 1, 9, attr));
        Assert.Equal(Hex("43000000 1a 0100 09000000 08010000 01000000 02000000 03000000" +
            "0400000000000000 0500000000000000 0600000000000000 0700000000000000 0800000000000000"), m);
    }

    [Fact]
    public void Tauth_matches_the_spec_bytes()
    {
        Assert.Equal(Hex("16000000 66 0100 00000000 0100 75 0200 2f61 ffffffff"),
            Encode(b => NinePCodec.Tauth(b, 1, 0, "u"u8, "/a"u8, NinePProtocol.NoUid)));
    }

    [Fact]
    public void An_encoder_reports_a_message_that_does_not_fit()
    {
        var small = new byte[22];
        Assert.Equal(-NinePProtocol.EMSGSIZE, NinePCodec.Tread(small, 1, 1, 0, 1));
        Assert.Equal(23, NinePCodec.Tread(new byte[23], 1, 1, 0, 1));
        Assert.Equal(-NinePProtocol.EMSGSIZE, NinePCodec.Twrite(new byte[30], 1, 1, 0, new byte[8]));
        Assert.Equal(-NinePProtocol.EMSGSIZE, NinePCodec.Tversion(new byte[4], 8192));
    }

    [Fact]
    public void A_name_longer_than_a_9P_string_is_ENAMETOOLONG()
    {
        var name = new byte[70000];
        Array.Fill(name, (byte)'x');
        Assert.Equal(-36, NinePCodec.Tmkdir(new byte[1 << 17], 1, 1, name, 0, 0));
    }

    // --- golden R-messages --------------------------------------------------------------------

    [Fact]
    public void Rlerror_becomes_the_negative_Linux_errno()
    {
        Assert.Equal(-2, NinePCodec.Rclunk(Hex("0b000000 07 0100 02000000"), Msize, 1));      // ENOENT
        Assert.Equal(-95, NinePCodec.Rrenameat(Hex("0b000000 07 0100 5f000000"), Msize, 1));  // EOPNOTSUPP
        Assert.Equal(-2, NinePCodec.Rlopen(Hex("0b000000 07 0100 02000000"), Msize, 1, out _, out _));
        Assert.Equal(-4095, NinePCodec.Rread(Hex("0b000000 07 0100 ff0f0000"), Msize, 1, out _));
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(4096u)]
    [InlineData(0xffffffffu)]
    public void Rlerror_outside_the_errno_range_is_EIO(uint ecode)
    {
        var m = Reply(NinePType.Rlerror, 1, (ref NinePWriter w) => w.U32(ecode));
        Assert.Equal(EIO, NinePCodec.Rclunk(m, Msize, 1));
    }

    [Fact]
    public void Rlerror_with_a_short_or_long_body_is_EIO()
    {
        Assert.Equal(EIO, NinePCodec.Rclunk(Hex("0a000000 07 0100 020000"), Msize, 1));
        Assert.Equal(EIO, NinePCodec.Rclunk(Hex("0c000000 07 0100 02000000 00"), Msize, 1));
    }

    [Fact]
    public void Rlopen_decodes_the_spec_bytes()
    {
        var m = Hex("18000000 0d 0100 80 01000000 2a00000000000000 00100000");
        Assert.Equal(0, NinePCodec.Rlopen(m, Msize, 1, out var qid, out uint iounit));
        Assert.True(qid.IsDirectory);
        Assert.Equal(1u, qid.Version);
        Assert.Equal(42ul, qid.Path);
        Assert.Equal(4096u, iounit);
    }

    [Fact]
    public void Rread_decodes_the_spec_bytes()
    {
        var m = Hex("0f000000 75 0300 04000000 64617461");
        Assert.Equal(0, NinePCodec.Rread(m, Msize, 3, out var data));
        Assert.Equal("data", Encoding.ASCII.GetString(data));
    }

    [Fact]
    public void Rversion_decodes_and_refuses_a_larger_msize()
    {
        var m = Hex("15000000 65 ffff 00100000 0800 395032303030 2e4c");
        Assert.Equal(0, NinePCodec.Rversion(m, 8192, out uint msize, out var version));
        Assert.Equal(4096u, msize);
        Assert.True(NinePCodec.IsVersion(version));
        Assert.False(NinePCodec.IsVersion("unknown"u8));
        Assert.False(NinePCodec.IsVersion("9P2000.u"u8));
        Assert.Equal(EIO, NinePCodec.Rversion(m, 4095, out _, out _));  // message bigger than msize too
        var bigger = Hex("15000000 65 ffff 00400000 0800 395032303030 2e4c");
        Assert.Equal(EIO, NinePCodec.Rversion(bigger, 8192, out _, out _));
    }

    [Fact]
    public void Rwalk_decodes_every_qid()
    {
        var m = Hex("23000000 6f 0200 0200 80 00000000 0100000000000000 00 07000000 0200000000000000");
        var qids = new NinePQid[NinePProtocol.MaxWalkNames];
        Assert.Equal(0, NinePCodec.Rwalk(m, Msize, 2, qids, out int count));
        Assert.Equal(2, count);
        Assert.Equal(Qid(0x80, 0, 1), qids[0]);
        Assert.Equal(Qid(0, 7, 2), qids[1]);
        Assert.Equal(EIO, NinePCodec.Rwalk(m, Msize, 2, qids.AsSpan(0, 1), out _));  // more qids than names asked
    }

    [Fact]
    public void Rwalk_with_more_than_MAXWELEM_qids_is_EIO()
    {
        var m = Reply(NinePType.Rwalk, 1, (ref NinePWriter w) =>
        {
            w.U16(17);
            for (int i = 0; i < 17; i++) w.Qid(Qid(0, 0, (ulong)i));
        });
        Assert.Equal(EIO, NinePCodec.Rwalk(m, Msize, 1, new NinePQid[32], out _));
    }

    [Fact]
    public void Rgetattr_decodes_every_field_in_order()
    {
        var m = Reply(NinePType.Rgetattr, 6, (ref NinePWriter w) =>
        {
            w.U64(NinePProtocol.GetattrAll);
            w.Qid(Qid(0, 3, 99));
            w.U32(0x81a4); w.U32(1000); w.U32(1001);
            for (ulong v = 1; v <= 15; v++) w.U64(v * 11);
        });
        Assert.Equal(160, m.Length);
        Assert.Equal(0, NinePCodec.Rgetattr(m, Msize, 6, out var a));
        Assert.Equal(NinePProtocol.GetattrAll, a.Valid);
        Assert.Equal(Qid(0, 3, 99), a.Qid);
        Assert.Equal((0x81a4u, 1000u, 1001u), (a.Mode, a.Uid, a.Gid));
        Assert.Equal(new ulong[] { 11, 22, 33, 44, 55, 66, 77, 88, 99, 110, 121, 132, 143, 154, 165 },
            new[] { a.Nlink, a.Rdev, a.Size, a.BlockSize, a.Blocks, a.AtimeSec, a.AtimeNsec, a.MtimeSec, a.MtimeNsec,
                a.CtimeSec, a.CtimeNsec, a.BtimeSec, a.BtimeNsec, a.Generation, a.DataVersion });
    }

    [Fact]
    public void Rstatfs_decodes_every_field_in_order()
    {
        var m = Hex("43000000 09 0100 97190201 00100000 0100000000000000 0200000000000000 0300000000000000" +
            "0400000000000000 0500000000000000 0600000000000000 ff000000");
        Assert.Equal(0, NinePCodec.Rstatfs(m, Msize, 1, out var s));
        Assert.Equal(0x01021997u, s.Type);
        Assert.Equal(4096u, s.BlockSize);
        Assert.Equal((1ul, 2ul, 3ul, 4ul, 5ul, 6ul), (s.Blocks, s.BlocksFree, s.BlocksAvailable, s.Files, s.FilesFree, s.FsId));
        Assert.Equal(255u, s.NameLength);
    }

    [Fact]
    public void Qid_replies_decode()
    {
        var q = Hex("80 05000000 0900000000000000");
        foreach (var (type, decode) in new (NinePType, Func<byte[], (int, NinePQid)>)[]
        {
            (NinePType.Rattach, b => (NinePCodec.Rattach(b, Msize, 1, out var x), x)),
            (NinePType.Rauth, b => (NinePCodec.Rauth(b, Msize, 1, out var x), x)),
            (NinePType.Rmkdir, b => (NinePCodec.Rmkdir(b, Msize, 1, out var x), x)),
            (NinePType.Rsymlink, b => (NinePCodec.Rsymlink(b, Msize, 1, out var x), x)),
            (NinePType.Rmknod, b => (NinePCodec.Rmknod(b, Msize, 1, out var x), x)),
        })
        {
            var m = Hex("14000000").Concat(new[] { (byte)type }).Concat(Hex("0100")).Concat(q).ToArray();
            Assert.Equal((0, Qid(0x80, 5, 9)), decode(m));
        }
    }

    [Fact]
    public void Rwrite_and_Rreadlink_decode()
    {
        Assert.Equal(0, NinePCodec.Rwrite(Hex("0b000000 77 0100 00100000"), Msize, 1, out uint count));
        Assert.Equal(4096u, count);
        Assert.Equal(0, NinePCodec.Rreadlink(Hex("0c000000 17 0100 0300 746774"), Msize, 1, out var target));
        Assert.Equal("tgt", Encoding.ASCII.GetString(target));
    }

    [Theory]
    [InlineData(NinePType.Rclunk)]
    [InlineData(NinePType.Rremove)]
    [InlineData(NinePType.Rsetattr)]
    [InlineData(NinePType.Rfsync)]
    [InlineData(NinePType.Rflush)]
    [InlineData(NinePType.Rlink)]
    [InlineData(NinePType.Rrename)]
    [InlineData(NinePType.Rrenameat)]
    [InlineData(NinePType.Runlinkat)]
    internal void Empty_replies_decode_and_refuse_a_body(NinePType type)
    {
        var m = new byte[] { 7, 0, 0, 0, (byte)type, 1, 0 };
        Assert.Equal(0, NinePCodec.Rempty(m, Msize, 1, type));
        Assert.Equal(0, EmptyByName(type, m));
        var withBody = new byte[] { 8, 0, 0, 0, (byte)type, 1, 0, 0 };
        Assert.Equal(EIO, EmptyByName(type, withBody));
    }

    private static int EmptyByName(NinePType type, byte[] m) => type switch
    {
        NinePType.Rclunk => NinePCodec.Rclunk(m, Msize, 1),
        NinePType.Rremove => NinePCodec.Rremove(m, Msize, 1),
        NinePType.Rsetattr => NinePCodec.Rsetattr(m, Msize, 1),
        NinePType.Rfsync => NinePCodec.Rfsync(m, Msize, 1),
        NinePType.Rflush => NinePCodec.Rflush(m, Msize, 1),
        NinePType.Rlink => NinePCodec.Rlink(m, Msize, 1),
        NinePType.Rrename => NinePCodec.Rrename(m, Msize, 1),
        NinePType.Rrenameat => NinePCodec.Rrenameat(m, Msize, 1),
        NinePType.Runlinkat => NinePCodec.Runlinkat(m, Msize, 1),
        _ => throw new ArgumentException(type.ToString()),
    };

    // --- Rreaddir -----------------------------------------------------------------------------

    internal static byte[] Dirent(NinePQid qid, ulong offset, byte type, string name)
    {
        var bytes = new byte[NinePProtocol.QidSize + 8 + 1 + 2 + name.Length];
        bytes[0] = qid.Type;
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(1), qid.Version);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(5), qid.Path);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(13), offset);
        bytes[21] = type;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(22), (ushort)name.Length);
        Encoding.ASCII.GetBytes(name, bytes.AsSpan(24));
        return bytes;
    }

    internal static byte[] Rreaddir(ushort tag, byte[] data) =>
        Reply(NinePType.Rreaddir, tag, (ref NinePWriter w) => { w.U32((uint)data.Length); w.Bytes(data); });

    [Fact]
    public void Rreaddir_entries_come_back_in_order()
    {
        var data = Dirent(Qid(0x80, 0, 10), 1, 4, ".").Concat(Dirent(Qid(0, 2, 11), 2, 8, "file")).ToArray();
        Assert.Equal(0, NinePCodec.Rreaddir(Rreaddir(1, data), Msize, 1, out var entries));
        Assert.True(entries.Next(out var e));
        Assert.Equal((Qid(0x80, 0, 10), 1ul, (byte)4, "."), (e.Qid, e.Offset, e.Type, Encoding.ASCII.GetString(e.Name)));
        Assert.True(entries.Next(out e));
        Assert.Equal((Qid(0, 2, 11), 2ul, (byte)8, "file"), (e.Qid, e.Offset, e.Type, Encoding.ASCII.GetString(e.Name)));
        Assert.False(entries.Next(out _));
        Assert.Equal(0, entries.Error);
    }

    [Fact]
    public void Rreaddir_with_count_zero_is_the_end_of_the_directory()
    {
        Assert.Equal(0, NinePCodec.Rreaddir(Hex("0b000000 29 0100 00000000"), Msize, 1, out var entries));
        Assert.False(entries.Next(out _));
        Assert.Equal(0, entries.Error);
    }

    [Fact]
    public void A_dirent_whose_name_runs_past_the_payload_ends_the_walk_with_EIO()
    {
        var good = Dirent(Qid(0, 0, 1), 1, 8, "ok");
        var bad = Dirent(Qid(0, 0, 2), 2, 8, "long");
        BinaryPrimitives.WriteUInt16LittleEndian(bad.AsSpan(22), 200);
        Assert.Equal(0, NinePCodec.Rreaddir(Rreaddir(1, good.Concat(bad).ToArray()), Msize, 1, out var entries));
        Assert.True(entries.Next(out _));
        Assert.False(entries.Next(out _));
        Assert.Equal(EIO, entries.Error);
        Assert.False(entries.Next(out _));
    }

    [Fact]
    public void Every_truncation_of_a_dirent_ends_the_walk_with_EIO()
    {
        var d = Dirent(Qid(0, 0, 1), 1, 8, "name");
        for (int cut = 1; cut < d.Length; cut++)
        {
            Assert.Equal(0, NinePCodec.Rreaddir(Rreaddir(1, d[..cut]), Msize, 1, out var entries));
            Assert.False(entries.Next(out _));
            Assert.Equal(EIO, entries.Error);
        }
    }

    // --- malformed replies --------------------------------------------------------------------

    // One valid reply of each decoded kind, with the decoder to run on it (returns its status).
    public static IEnumerable<object[]> ValidReplies()
    {
        var q = Qid(0x80, 1, 2);
        yield return Case("Rversion", Reply(NinePType.Rversion, NinePProtocol.NoTag, (ref NinePWriter w) => { w.U32(Msize); w.Ascii(NinePCodec.Version); }),
            (m, s) => NinePCodec.Rversion(m, s, out _, out _));
        yield return Case("Rattach", Reply(NinePType.Rattach, 1, (ref NinePWriter w) => w.Qid(q)), (m, s) => NinePCodec.Rattach(m, s, 1, out _));
        yield return Case("Rwalk", Reply(NinePType.Rwalk, 1, (ref NinePWriter w) => { w.U16(2); w.Qid(q); w.Qid(q); }),
            (m, s) => NinePCodec.Rwalk(m, s, 1, new NinePQid[16], out _));
        yield return Case("Rlopen", Reply(NinePType.Rlopen, 1, (ref NinePWriter w) => { w.Qid(q); w.U32(0); }), (m, s) => NinePCodec.Rlopen(m, s, 1, out _, out _));
        yield return Case("Rlcreate", Reply(NinePType.Rlcreate, 1, (ref NinePWriter w) => { w.Qid(q); w.U32(0); }), (m, s) => NinePCodec.Rlcreate(m, s, 1, out _, out _));
        yield return Case("Rread", Reply(NinePType.Rread, 1, (ref NinePWriter w) => { w.U32(5); w.Bytes("hello"u8); }), (m, s) => NinePCodec.Rread(m, s, 1, out _));
        yield return Case("Rwrite", Reply(NinePType.Rwrite, 1, (ref NinePWriter w) => w.U32(5)), (m, s) => NinePCodec.Rwrite(m, s, 1, out _));
        yield return Case("Rgetattr", Reply(NinePType.Rgetattr, 1, (ref NinePWriter w) =>
        {
            w.U64(NinePProtocol.GetattrBasic); w.Qid(q); w.U32(1); w.U32(2); w.U32(3);
            for (int i = 0; i < 15; i++) w.U64((ulong)i);
        }), (m, s) => NinePCodec.Rgetattr(m, s, 1, out _));
        yield return Case("Rreaddir", Rreaddir(1, Dirent(q, 1, 4, "x")), (m, s) => NinePCodec.Rreaddir(m, s, 1, out _));
        yield return Case("Rmkdir", Reply(NinePType.Rmkdir, 1, (ref NinePWriter w) => w.Qid(q)), (m, s) => NinePCodec.Rmkdir(m, s, 1, out _));
        yield return Case("Rsymlink", Reply(NinePType.Rsymlink, 1, (ref NinePWriter w) => w.Qid(q)), (m, s) => NinePCodec.Rsymlink(m, s, 1, out _));
        yield return Case("Rreadlink", Reply(NinePType.Rreadlink, 1, (ref NinePWriter w) => w.String("target"u8)), (m, s) => NinePCodec.Rreadlink(m, s, 1, out _));
        yield return Case("Rstatfs", Reply(NinePType.Rstatfs, 1, (ref NinePWriter w) =>
        {
            w.U32(1); w.U32(2); for (int i = 0; i < 6; i++) w.U64((ulong)i); w.U32(255);
        }), (m, s) => NinePCodec.Rstatfs(m, s, 1, out _));
        yield return Case("Rclunk", Reply(NinePType.Rclunk, 1, (ref NinePWriter w) => { }), (m, s) => NinePCodec.Rclunk(m, s, 1));
        yield return Case("Rlerror", Reply(NinePType.Rlerror, 1, (ref NinePWriter w) => w.U32(2)), (m, s) => NinePCodec.Rclunk(m, s, 1));
    }

    public delegate int Decoder(byte[] message, uint msize);

    private static object[] Case(string name, byte[] message, Decoder decode) => new object[] { name, message, decode };

    private static int Expected(string name) => name == "Rlerror" ? -2 : 0;

    [Theory]
    [MemberData(nameof(ValidReplies))]
    public void A_valid_reply_decodes(string name, byte[] message, Decoder decode)
    {
        Assert.Equal(Expected(name), decode(message, Msize));
    }

    [Theory]
    [MemberData(nameof(ValidReplies))]
    public void Every_truncation_of_a_reply_is_EIO(string name, byte[] message, Decoder decode)
    {
        Assert.NotEmpty(name);
        for (int cut = 0; cut < message.Length; cut++)
            Assert.True(decode(message[..cut], Msize) == EIO, $"{name} cut to {cut} bytes");
    }

    [Theory]
    [MemberData(nameof(ValidReplies))]
    public void Every_truncation_with_a_matching_size_field_is_EIO(string name, byte[] message, Decoder decode)
    {
        // The size field agrees with the shortened buffer, so only the field checks can catch it.
        for (int cut = NinePProtocol.HeaderSize; cut < message.Length; cut++)
        {
            var m = message[..cut];
            BinaryPrimitives.WriteUInt32LittleEndian(m, (uint)cut);
            Assert.True(decode(m, Msize) == EIO, $"{name} cut to {cut} bytes");
        }
    }

    [Theory]
    [MemberData(nameof(ValidReplies))]
    public void A_size_field_past_the_bytes_received_is_EIO(string name, byte[] message, Decoder decode)
    {
        var longer = message.Concat(new byte[16]).ToArray();
        for (int extra = 1; extra <= 16; extra++)
        {
            var m = (byte[])message.Clone();
            BinaryPrimitives.WriteUInt32LittleEndian(m, (uint)(message.Length + extra));
            Assert.True(decode(m, Msize) == EIO, $"{name} claiming {extra} more bytes");
            // With the bytes there, the body has trailing garbage (or, for Rreaddir/Rread, a count that lies).
            BinaryPrimitives.WriteUInt32LittleEndian(longer, (uint)(message.Length + extra));
            Assert.True(decode(longer, Msize) == EIO, $"{name} with {extra} trailing bytes");
        }
        var huge = (byte[])message.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(huge, 0xffffffff);
        Assert.Equal(EIO, decode(huge, Msize));
    }

    [Theory]
    [MemberData(nameof(ValidReplies))]
    public void A_size_field_below_the_header_is_EIO(string name, byte[] message, Decoder decode)
    {
        for (uint size = 0; size < NinePProtocol.HeaderSize; size++)
        {
            var m = (byte[])message.Clone();
            BinaryPrimitives.WriteUInt32LittleEndian(m, size);
            Assert.True(decode(m, Msize) == EIO, $"{name} with size {size}");
        }
    }

    [Theory]
    [MemberData(nameof(ValidReplies))]
    public void A_reply_larger_than_msize_is_EIO(string name, byte[] message, Decoder decode)
    {
        // (Rversion's own msize field, 8192, must not exceed the msize proposed, so it passes only at 8192.)
        if (name != "Rversion") Assert.Equal(Expected(name), decode(message, (uint)message.Length));
        Assert.True(decode(message, (uint)message.Length - 1) == EIO, name);
    }

    [Theory]
    [MemberData(nameof(ValidReplies))]
    public void A_reply_with_another_tag_is_EIO(string name, byte[] message, Decoder decode)
    {
        var m = (byte[])message.Clone();
        m[5] ^= 0x40;
        Assert.True(decode(m, Msize) == EIO, name);
    }

    [Theory]
    [MemberData(nameof(ValidReplies))]
    public void A_reply_of_the_wrong_type_is_EIO(string name, byte[] message, Decoder decode)
    {
        for (int type = 0; type < 256; type++)
        {
            if (type == message[4] || type == (int)NinePType.Rlerror) continue;
            var m = (byte[])message.Clone();
            m[4] = (byte)type;
            Assert.True(decode(m, Msize) == EIO, $"{name} as type {type}");
        }
    }

    [Fact]
    public void Rread_whose_count_disagrees_with_its_size_is_EIO()
    {
        Assert.Equal(EIO, NinePCodec.Rread(Hex("0f000000 75 0300 05000000 64617461"), Msize, 3, out _));
        Assert.Equal(EIO, NinePCodec.Rread(Hex("0f000000 75 0300 03000000 64617461"), Msize, 3, out _));
        Assert.Equal(EIO, NinePCodec.Rread(Hex("0f000000 75 0300 ffffffff 64617461"), Msize, 3, out _));
    }

    [Fact]
    public void A_string_whose_length_runs_past_the_message_is_EIO()
    {
        Assert.Equal(EIO, NinePCodec.Rreadlink(Hex("0c000000 17 0100 0400 746774"), Msize, 1, out _));
        Assert.Equal(EIO, NinePCodec.Rreadlink(Hex("0c000000 17 0100 ffff 746774"), Msize, 1, out _));
    }

    // --- zero-copy Rread header ---------------------------------------------------------------

    [Fact]
    public void RreadHeader_accepts_a_reply_split_between_header_and_payload()
    {
        var header = Hex("0f000000 75 0300 04000000");
        Assert.Equal(0, NinePCodec.RreadHeader(header, 15, 4096, Msize, 3, out int count));
        Assert.Equal(4, count);
    }

    [Fact]
    public void RreadHeader_refuses_lies_and_passes_Rlerror_through()
    {
        var header = Hex("0f000000 75 0300 04000000");
        Assert.Equal(EIO, NinePCodec.RreadHeader(header, 14, 4096, Msize, 3, out _));          // fewer bytes arrived
        Assert.Equal(EIO, NinePCodec.RreadHeader(header, 15, 3, Msize, 3, out _));             // more than the buffer
        Assert.Equal(EIO, NinePCodec.RreadHeader(header, 15, 4096, 14, 3, out _));             // over msize
        Assert.Equal(EIO, NinePCodec.RreadHeader(header, 15, 4096, Msize, 4, out _));          // another tag
        Assert.Equal(EIO, NinePCodec.RreadHeader(header[..10], 15, 4096, Msize, 3, out _));    // header cut
        Assert.Equal(EIO, NinePCodec.RreadHeader(Hex("10000000 75 0300 04000000"), 16, 4096, Msize, 3, out _));  // size ≠ 11 + count
        Assert.Equal(EIO, NinePCodec.RreadHeader(Hex("0f000000 77 0300 04000000"), 15, 4096, Msize, 3, out _));  // not Rread
        Assert.Equal(-13, NinePCodec.RreadHeader(Hex("0b000000 07 0300 0d000000"), 11, 4096, Msize, 3, out _)); // EACCES
        Assert.Equal(EIO, NinePCodec.RreadHeader(Hex("0c000000 07 0300 0d000000"), 12, 4096, Msize, 3, out _));
    }

    // --- round trips --------------------------------------------------------------------------

    [Fact]
    public void A_T_message_reads_back_field_by_field()
    {
        // Decode a Tlcreate with the reader, as a server would: the writer and reader agree on layout.
        var m = Encode(b => NinePCodec.Tlcreate(b, 77, 12, "name.txt"u8, 0x241, 0x1b6, 100));
        Assert.Equal(0, NinePReaderProbe.Open(m, NinePType.Tlcreate, 77, out var fields));
        Assert.Equal("12 name.txt 577 438 100", fields);
    }

    [Fact]
    public void Twrite_round_trips_a_large_payload()
    {
        var payload = new byte[128 * 1024];
        new Random(1).NextBytes(payload);
        var buffer = new byte[payload.Length + NinePProtocol.IoHeaderSize];
        int n = NinePCodec.Twrite(buffer, 1, 3, 1 << 20, payload);
        Assert.Equal(NinePProtocol.TwriteHeaderSize + payload.Length, n);
        Assert.True(buffer.AsSpan(NinePProtocol.TwriteHeaderSize, payload.Length).SequenceEqual(payload));
        // The matching Rread of the same bytes decodes to a view of them.
        var reply = Reply(NinePType.Rread, 1, (ref NinePWriter w) => { w.U32((uint)payload.Length); w.Bytes(payload); });
        Assert.Equal(0, NinePCodec.Rread(reply, (uint)reply.Length, 1, out var data));
        Assert.True(data.SequenceEqual(payload));
    }

    [Fact]
    public void TagOf_and_SizeOf_read_the_header()
    {
        var m = Hex("0b000000 78 3412 05000000");
        Assert.Equal(0x1234, NinePCodec.TagOf(m));
        Assert.Equal(11u, NinePCodec.SizeOf(m));
        Assert.Equal(NinePProtocol.NoTag, NinePCodec.TagOf(m.AsSpan(0, 6)));
        Assert.Equal(0u, NinePCodec.SizeOf(m.AsSpan(0, 3)));
    }
}

// Reads a Tlcreate back with NinePReader (a T-message has the same header shape as an R-message).
internal static class NinePReaderProbe
{
    public static int Open(byte[] message, NinePType type, ushort tag, out string fields)
    {
        fields = "";
        int error = NinePReader.Open(message, 8192, tag, type, out var r);
        if (error != 0) return error;
        uint fid = r.U32();
        string name = Encoding.ASCII.GetString(r.String());
        uint flags = r.U32(), mode = r.U32(), gid = r.U32();
        fields = $"{fid} {name} {flags} {mode} {gid}";
        return r.End();
    }
}
