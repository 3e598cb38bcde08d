using System.Buffers.Binary;
using Libra.Loader;
using Xunit;

namespace Libra.Tests.Unit;

public unsafe class ElfImageTests
{
    private const uint PtLoad = 1, PtDynamic = 2, PtInterp = 3, PtPhdr = 6, PtTls = 7, PtGnuStack = 0x6474e551;
    private const uint R = 4, W = 2, X = 1;

    private record struct Phdr(uint Type, uint Flags, ulong Offset, ulong Vaddr, ulong FileSize, ulong MemorySize, ulong Align = 0x1000);

    // Writes an ELF-64 header, the program headers right after it, and enough file for every segment.
    private sealed class ElfBuilder
    {
        public byte Class = 2, Data = 1, Version = 1;
        public ushort Type = 2, Machine = 62, PhentSize = 56;
        public ulong Entry = 0x401000, PhOff = 64;
        public int? PhNumOverride;
        public int? Length;
        public List<Phdr> Phdrs = new();

        public ElfBuilder Add(Phdr p) { Phdrs.Add(p); return this; }

        public byte[] Build()
        {
            ulong end = PhOff + (ulong)Phdrs.Count * 56;
            foreach (var p in Phdrs) end = Math.Max(end, p.Offset + p.FileSize);
            var file = new byte[Length ?? (int)end];
            var full = new byte[Math.Max(file.Length, (int)end)];
            full[0] = 0x7f; full[1] = (byte)'E'; full[2] = (byte)'L'; full[3] = (byte)'F';
            full[4] = Class; full[5] = Data; full[6] = Version;
            var s = full.AsSpan();
            BinaryPrimitives.WriteUInt16LittleEndian(s[16..], Type);
            BinaryPrimitives.WriteUInt16LittleEndian(s[18..], Machine);
            BinaryPrimitives.WriteUInt32LittleEndian(s[20..], 1);
            BinaryPrimitives.WriteUInt64LittleEndian(s[24..], Entry);
            BinaryPrimitives.WriteUInt64LittleEndian(s[32..], PhOff);
            BinaryPrimitives.WriteUInt16LittleEndian(s[52..], 64);
            BinaryPrimitives.WriteUInt16LittleEndian(s[54..], PhentSize);
            BinaryPrimitives.WriteUInt16LittleEndian(s[56..], (ushort)(PhNumOverride ?? Phdrs.Count));
            for (int i = 0; i < Phdrs.Count; i++)
            {
                var p = Phdrs[i];
                var h = s[(int)(PhOff + (ulong)i * 56)..];
                BinaryPrimitives.WriteUInt32LittleEndian(h, p.Type);
                BinaryPrimitives.WriteUInt32LittleEndian(h[4..], p.Flags);
                BinaryPrimitives.WriteUInt64LittleEndian(h[8..], p.Offset);
                BinaryPrimitives.WriteUInt64LittleEndian(h[16..], p.Vaddr);
                BinaryPrimitives.WriteUInt64LittleEndian(h[24..], p.Vaddr);
                BinaryPrimitives.WriteUInt64LittleEndian(h[32..], p.FileSize);
                BinaryPrimitives.WriteUInt64LittleEndian(h[40..], p.MemorySize);
                BinaryPrimitives.WriteUInt64LittleEndian(h[48..], p.Align);
            }
            Array.Copy(full, file, file.Length);
            return file;
        }
    }

    // A static non-PIE executable as ld lays it out: R (headers), RX, RW with .tbss and .bss.
    private static ElfBuilder StaticExecutable() => new ElfBuilder()
        .Add(new Phdr(PtLoad, R, 0, 0x400000, 0x1000, 0x1000))
        .Add(new Phdr(PtLoad, R | X, 0x1000, 0x401000, 0x2000, 0x2000))
        .Add(new Phdr(PtLoad, R | W, 0x3e10, 0x404e10, 0x100, 0x2000))
        .Add(new Phdr(PtTls, R, 0x3e10, 0x404e10, 0x10, 0x40, 16))
        .Add(new Phdr(PtGnuStack, R | W, 0, 0, 0, 0, 16));

    // A static-pie as NativeAOT links it: PT_PHDR, four PT_LOADs from 0, PT_DYNAMIC, no PT_INTERP.
    private static ElfBuilder StaticPie() => new ElfBuilder { Type = 3, Entry = 0x9ad80 }
        .Add(new Phdr(PtPhdr, R, 64, 64, 6 * 56, 6 * 56, 8))
        .Add(new Phdr(PtLoad, R, 0, 0, 0x5000, 0x5000))
        .Add(new Phdr(PtLoad, R | X, 0x5000, 0x5000, 0x96000, 0x96000))
        .Add(new Phdr(PtLoad, R | W, 0x9b000, 0x9c000, 0x2000, 0x2000))
        .Add(new Phdr(PtLoad, R | W, 0x9d000, 0x9f000, 0x800, 0x5000))
        .Add(new Phdr(PtDynamic, R | W, 0x9b100, 0x9c100, 0x200, 0x200, 8));

    private static ElfError Parse(byte[] file, out ElfImage image)
    {
        fixed (byte* p = file) return ElfImage.Parse(p, (ulong)file.Length, out image);
    }

    private static ElfError Parse(ElfBuilder builder) => Parse(builder.Build(), out _);

    [Fact]
    public void Static_executable_is_accepted_with_its_segments_tls_and_phdr_address()
    {
        Assert.Equal(ElfError.None, Parse(StaticExecutable().Build(), out var image));
        Assert.False(image.IsPositionIndependent);
        Assert.Equal(0x401000ul, image.Entry);
        Assert.Equal(62, image.Machine);
        Assert.Equal(64ul, image.PhdrOffset);
        Assert.Equal(5, image.PhdrCount);
        Assert.Equal(56, image.PhdrEntrySize);
        Assert.Equal(3, image.SegmentCount);
        Assert.Equal(0x400000ul, image.LowestAddress);
        Assert.Equal(0x407000ul, image.HighestAddress);   // 0x404e10 + 0x2000 rounded up

        var data = image.Segment(2);
        Assert.Equal((0x404e10ul, 0x3e10ul, 0x100ul, 0x2000ul), (data.Vaddr, data.Offset, data.FileSize, data.MemorySize));
        Assert.True(data.Readable && data.Writable && !data.Executable);
        Assert.Equal(3u, data.Protection);
        Assert.Equal(5u, image.Segment(1).Protection);   // PROT_READ | PROT_EXEC

        Assert.True(image.HasTls);
        Assert.Equal((0x404e10ul, 0x10ul, 0x40ul, 16ul), (image.TlsVaddr, image.TlsFileSize, image.TlsMemorySize, image.TlsAlign));
        Assert.False(image.StackExecutable);
        // No PT_PHDR: the headers' address comes from the PT_LOAD that maps file offset 64.
        Assert.True(image.HasPhdrAddress);
        Assert.Equal(0x400040ul, image.PhdrAddress(0x12345000));   // a fixed image ignores the base
        Assert.Equal(0x401000ul, image.EntryAddress(0x12345000));
        Assert.Equal(0x1000ul, image.MaximumAlignment);
    }

    [Fact]
    public void Static_pie_is_accepted_and_its_addresses_move_with_the_load_base()
    {
        Assert.Equal(ElfError.None, Parse(StaticPie().Build(), out var image));
        Assert.True(image.IsPositionIndependent);
        Assert.True(image.HasDynamicSection);
        Assert.Equal(4, image.SegmentCount);
        Assert.Equal(0ul, image.LowestAddress);
        Assert.Equal(0xa4000ul, image.HighestAddress);
        Assert.False(image.HasTls);
        Assert.Equal(0x555555554000ul + 64, image.PhdrAddress(0x555555554000));
        Assert.Equal(0x555555554000ul + 0x9ad80, image.EntryAddress(0x555555554000));
    }

    [Fact]
    public void Pt_phdr_wins_over_the_segment_holding_the_headers()
    {
        var b = StaticExecutable();
        b.Phdrs.Insert(0, new Phdr(PtPhdr, R, 64, 0x400040, 6 * 56, 6 * 56, 8));
        Assert.Equal(ElfError.None, Parse(b.Build(), out var image));
        Assert.Equal(0x400040ul, image.PhdrVaddr);
        b.Phdrs[0] = b.Phdrs[0] with { Vaddr = 0x400800 };   // a PT_PHDR that disagrees is believed
        Assert.Equal(ElfError.None, Parse(b.Build(), out image));
        Assert.Equal(0x400800ul, image.PhdrVaddr);
    }

    [Fact]
    public void Headers_outside_every_segment_leave_no_phdr_address()
    {
        var b = StaticExecutable();
        b.Phdrs[0] = new Phdr(PtLoad, R, 0x1000, 0x400000, 0x1000, 0x1000);
        b.Phdrs[1] = b.Phdrs[1] with { Offset = 0x2000 };
        Assert.Equal(ElfError.None, Parse(b.Build(), out var image));
        Assert.False(image.HasPhdrAddress);
        Assert.Equal(0ul, image.PhdrAddress(0));
    }

    [Fact]
    public void Gnu_stack_with_execute_permission_is_reported()
    {
        var b = StaticExecutable();
        b.Phdrs[4] = b.Phdrs[4] with { Flags = R | W | X };
        Assert.Equal(ElfError.None, Parse(b.Build(), out var image));
        Assert.True(image.StackExecutable);
    }

    [Fact]
    public void Empty_file_is_empty()
    {
        Assert.Equal(ElfError.Empty, Parse(Array.Empty<byte>(), out _));
        Assert.Equal(ElfError.Empty, ElfImage.Parse(null, 10, out _));
    }

    [Fact]
    public void Every_proper_prefix_of_a_valid_executable_is_truncated()
    {
        byte[] whole = StaticExecutable().Build();
        for (int length = 1; length < whole.Length; length++)
        {
            ElfError error;
            fixed (byte* p = whole) error = ElfImage.Parse(p, (ulong)length, out _);
            Assert.True(error == ElfError.Truncated, $"length {length}: {error}");
        }
        Assert.Equal(ElfError.None, Parse(whole, out _));
    }

    [Fact]
    public void Segment_data_beyond_the_end_of_the_file_is_truncated()
    {
        var b = StaticExecutable();
        b.Length = 0x3e10 + 0x80;
        Assert.Equal(ElfError.Truncated, Parse(b));
        var huge = StaticExecutable();
        huge.Phdrs[2] = huge.Phdrs[2] with { Offset = 0xfffffffffffffe10 };
        huge.Length = 0x3f10;
        Assert.Equal(ElfError.Truncated, Parse(huge));
    }

    [Fact]
    public void Program_headers_beyond_the_file_are_truncated()
    {
        var b = StaticExecutable();
        b.PhOff = 0x3f00;   // 5 headers from here run past the 0x3f10-byte file
        b.Length = 0x3f10;
        Assert.Equal(ElfError.Truncated, Parse(b));
        byte[] file = StaticExecutable().Build();
        BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(32), ulong.MaxValue - 8);   // e_phoff
        Assert.Equal(ElfError.Truncated, Parse(file, out _));
    }

    [Theory]
    [InlineData(new byte[] { 0x7f, (byte)'E', (byte)'L', (byte)'G' })]
    [InlineData(new byte[] { (byte)'#', (byte)'!', (byte)'/', (byte)'b', (byte)'i', (byte)'n' })]
    [InlineData(new byte[] { 0x7f })]
    public void Other_files_are_not_elf(byte[] start)
    {
        var file = new byte[128];
        start.CopyTo(file, 0);
        if (start.Length == 1) file[1] = (byte)'X';
        Assert.Equal(ElfError.NotElf, Parse(file, out _));
    }

    [Fact]
    public void Bad_class_encoding_or_version_is_reported()
    {
        Assert.Equal(ElfError.Not64Bit, Parse(new ElfBuilder { Class = 1 }.Add(StaticExecutable().Phdrs[0])));
        Assert.Equal(ElfError.NotElf, Parse(new ElfBuilder { Class = 0 }.Add(StaticExecutable().Phdrs[0])));
        Assert.Equal(ElfError.NotLittleEndian, Parse(new ElfBuilder { Data = 2 }.Add(StaticExecutable().Phdrs[0])));
        Assert.Equal(ElfError.NotElf, Parse(new ElfBuilder { Version = 0 }.Add(StaticExecutable().Phdrs[0])));
    }

    [Fact]
    public void Aarch64_executable_is_wrong_machine_and_keeps_the_number()
    {
        var b = StaticExecutable();
        b.Machine = 183;
        Assert.Equal(ElfError.WrongMachine, Parse(b.Build(), out var image));
        Assert.Equal(183, image.Machine);
        Assert.Equal("AArch64", ElfImage.MachineName(image.Machine));
        Assert.Equal("an unknown machine", ElfImage.MachineName(0x1234));
    }

    [Theory]
    [InlineData((ushort)1)]   // ET_REL
    [InlineData((ushort)4)]   // ET_CORE
    [InlineData((ushort)0)]   // ET_NONE
    public void Objects_and_cores_are_not_executable(ushort type)
    {
        var b = StaticExecutable();
        b.Type = type;
        Assert.Equal(ElfError.NotExecutable, Parse(b));
    }

    [Fact]
    public void Dynamically_linked_executable_needs_an_interpreter()
    {
        var b = StaticPie();
        b.Phdrs.Insert(1, new Phdr(PtInterp, R, 0x200, 0x200, 28, 28, 1));
        Assert.Equal(ElfError.NeedsInterpreter, Parse(b));
    }

    [Fact]
    public void Executable_without_pt_load_has_no_loadable_segments()
    {
        var onlyStack = new ElfBuilder().Add(new Phdr(PtGnuStack, R | W, 0, 0, 0, 0, 16));
        Assert.Equal(ElfError.NoLoadableSegments, Parse(onlyStack));
        Assert.Equal(ElfError.NoLoadableSegments, Parse(new ElfBuilder { Length = 64 }));
        var emptyLoad = new ElfBuilder().Add(new Phdr(PtLoad, R, 0, 0x400000, 0, 0));
        Assert.Equal(ElfError.NoLoadableSegments, Parse(emptyLoad));
    }

    [Fact]
    public void Empty_pt_load_is_skipped()
    {
        var b = StaticExecutable();
        b.Phdrs.Insert(1, new Phdr(PtLoad, R, 0, 0x900000, 0, 0));   // out of order, but maps nothing
        Assert.Equal(ElfError.None, Parse(b.Build(), out var image));
        Assert.Equal(3, image.SegmentCount);
    }

    [Fact]
    public void File_size_above_memory_size_is_a_bad_segment()
    {
        var b = StaticExecutable();
        b.Phdrs[2] = b.Phdrs[2] with { FileSize = 0x2100 };
        b.Length = 0x6000;
        Assert.Equal(ElfError.BadSegment, Parse(b));
    }

    [Fact]
    public void Vaddr_and_offset_on_different_page_offsets_is_a_bad_segment()
    {
        var b = StaticExecutable();
        b.Phdrs[2] = b.Phdrs[2] with { Vaddr = 0x404e18 };
        Assert.Equal(ElfError.BadSegment, Parse(b));
    }

    [Fact]
    public void Alignment_that_is_not_a_power_of_two_or_not_honoured_is_a_bad_segment()
    {
        var b = StaticExecutable();
        b.Phdrs[1] = b.Phdrs[1] with { Align = 0x3000 };
        Assert.Equal(ElfError.BadSegment, Parse(b));
        b = StaticExecutable();
        b.Phdrs[2] = b.Phdrs[2] with { Align = 0x200000 };   // 0x404e10 - 0x3e10 is not 2 MiB aligned
        Assert.Equal(ElfError.BadSegment, Parse(b));
        b = StaticExecutable();
        b.Phdrs[3] = b.Phdrs[3] with { Align = 24 };         // PT_TLS
        Assert.Equal(ElfError.BadSegment, Parse(b));
    }

    [Fact]
    public void Large_alignment_is_reported_for_placing_a_pie()
    {
        var b = StaticPie();
        for (int i = 1; i <= 4; i++) b.Phdrs[i] = b.Phdrs[i] with { Align = i == 1 ? 0x200000ul : 0x1000ul };
        Assert.Equal(ElfError.None, Parse(b.Build(), out var image));
        Assert.Equal(0x200000ul, image.MaximumAlignment);
    }

    [Fact]
    public void Overlapping_or_page_sharing_or_unsorted_loads_are_bad_segments()
    {
        var overlap = StaticExecutable();
        overlap.Phdrs[1] = overlap.Phdrs[1] with { Vaddr = 0x400000, Offset = 0x0 };
        Assert.Equal(ElfError.BadSegment, Parse(overlap));

        var sharedPage = StaticExecutable();   // RX ends at 0x403000; RW may not start in that page
        sharedPage.Phdrs[2] = sharedPage.Phdrs[2] with { Vaddr = 0x402e10 };
        Assert.Equal(ElfError.BadSegment, Parse(sharedPage));

        var unsorted = StaticExecutable();
        (unsorted.Phdrs[1], unsorted.Phdrs[2]) = (unsorted.Phdrs[2], unsorted.Phdrs[1]);
        Assert.Equal(ElfError.BadSegment, Parse(unsorted));
    }

    [Fact]
    public void Fixed_executable_above_user_space_or_in_the_lowest_64_KiB_is_a_bad_segment()
    {
        var high = StaticExecutable();
        high.Phdrs[2] = high.Phdrs[2] with { Vaddr = 0x7ffffffffe10, MemorySize = 0x2000 };
        Assert.Equal(ElfError.BadSegment, Parse(high));

        var wrap = StaticExecutable();
        wrap.Phdrs[2] = wrap.Phdrs[2] with { Vaddr = 0xfffffffffffffe10, MemorySize = 0x2000 };
        Assert.Equal(ElfError.BadSegment, Parse(wrap));

        var low = new ElfBuilder { Entry = 0x1000 }.Add(new Phdr(PtLoad, R | X, 0, 0x1000, 0x1000, 0x1000));
        Assert.Equal(ElfError.BadSegment, Parse(low));

        var sameAsPie = new ElfBuilder { Type = 3, Entry = 0x1000 }.Add(new Phdr(PtLoad, R | X, 0, 0, 0x1000, 0x1000));
        Assert.Equal(ElfError.None, Parse(sameAsPie));
    }

    [Fact]
    public void Pie_spanning_more_than_user_space_is_a_bad_segment()
    {
        var b = StaticPie();
        b.Phdrs[4] = b.Phdrs[4] with { MemorySize = 0x7fffffff0000 };
        Assert.Equal(ElfError.BadSegment, Parse(b));
    }

    [Fact]
    public void Wrong_program_header_size_is_a_bad_segment()
    {
        var b = StaticExecutable();
        b.PhentSize = 64;
        Assert.Equal(ElfError.BadSegment, Parse(b));
    }

    [Fact]
    public void Seventeen_loads_are_too_many()
    {
        var b = new ElfBuilder();
        for (int i = 0; i < 17; i++) b.Add(new Phdr(PtLoad, R, (ulong)i * 0x1000, 0x400000 + (ulong)i * 0x1000, 0x1000, 0x1000));
        Assert.Equal(ElfError.TooManySegments, Parse(b));
        b.Phdrs.RemoveAt(16);
        Assert.Equal(ElfError.None, Parse(b.Build(), out var image));
        Assert.Equal(16, image.SegmentCount);

        var table = new ElfBuilder { PhNumOverride = 1200, Length = 64 + 1200 * 56 };   // > 64 KiB of headers
        Assert.Equal(ElfError.TooManySegments, Parse(table));
    }

    [Fact]
    public void Every_error_has_its_own_one_line_phrase()
    {
        Assert.Equal("the file is empty", ElfImage.Describe(ElfError.Empty));
        Assert.Equal("the file is truncated", ElfImage.Describe(ElfError.Truncated));
        Assert.Equal("not an ELF file", ElfImage.Describe(ElfError.NotElf));
        Assert.Equal("an ELF for another machine (not x86-64)", ElfImage.Describe(ElfError.WrongMachine));
        Assert.Equal("a dynamically linked executable (it needs an interpreter; link it statically)", ElfImage.Describe(ElfError.NeedsInterpreter));
        var phrases = new HashSet<string>();
        foreach (ElfError e in Enum.GetValues<ElfError>())
        {
            string phrase = ElfImage.Describe(e);
            Assert.False(string.IsNullOrEmpty(phrase));
            Assert.DoesNotContain('\n', phrase);
            Assert.True(phrases.Add(phrase), $"{e} shares its phrase");
        }
    }
}
