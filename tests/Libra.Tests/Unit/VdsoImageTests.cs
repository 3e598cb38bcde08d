using System.Runtime.InteropServices;
using System.Text;
using Libra.Tests.Boot;
using Libra.Vdso;
using Xunit;

namespace Libra.Tests.Unit;

// The built vDSO (artifacts/kernel/vdso.so, from LibraKernel/Vdso) read the way its users read it:
// static glibc 2.36 (elf/setup-vdso.h, dl-lookup.c: the GNU hash with its Bloom filter, else the
// SysV hash, and the symbol's version by name and hash) and Go (runtime/vdso_linux.go: the first
// PT_LOAD and PT_DYNAMIC, then either hash table and the LINUX_2.6 verdef index).
public class VdsoImageTests
{
    const uint PtLoad = 1, PtDynamic = 2, PtNote = 4, PtGnuEhFrame = 0x6474e550;
    const long DtNull = 0, DtHash = 4, DtStrtab = 5, DtSymtab = 6, DtRela = 7, DtStrsz = 10, DtRel = 17, DtTextrel = 22,
        DtGnuHash = 0x6ffffef5, DtVersym = 0x6ffffff0, DtVerdef = 0x6ffffffc, DtVerdefnum = 0x6ffffffd, DtSoname = 14;
    const byte SttFunc = 2, StbGlobal = 1, StbWeak = 2;
    const string Version = "LINUX_2.6";

    public static readonly string[] Exported = ["__vdso_clock_gettime", "__vdso_gettimeofday", "__vdso_time", "__vdso_getcpu", "__vdso_clock_getres"];

    static byte[] Image
    {
        get
        {
            string path = Path.Combine(LibraBoot.RepositoryRoot, "artifacts/kernel/vdso.so");
            if (!File.Exists(path)) throw new InvalidOperationException($"no vDSO at {path}; run: dotnet pwsh build.ps1 build (it builds one)");
            return File.ReadAllBytes(path);
        }
    }

    sealed class Vdso(byte[] bytes)
    {
        public readonly byte[] Bytes = bytes;
        public ushort U16(long at) => BitConverter.ToUInt16(Bytes, checked((int)at));
        public uint U32(long at) => BitConverter.ToUInt32(Bytes, checked((int)at));
        public ulong U64(long at) => BitConverter.ToUInt64(Bytes, checked((int)at));
        public string String(long at) { int end = Array.IndexOf(Bytes, (byte)0, checked((int)at)); return Encoding.ASCII.GetString(Bytes, (int)at, end - (int)at); }

        public IEnumerable<(uint Type, uint Flags, ulong Offset, ulong Vaddr, ulong FileSize, ulong MemSize)> Segments()
        {
            ulong phoff = U64(32);
            for (int i = 0; i < U16(56); i++)
            {
                long at = (long)phoff + i * U16(54);
                yield return (U32(at), U32(at + 4), U64(at + 8), U64(at + 16), U64(at + 32), U64(at + 40));
            }
        }

        // Go's loadOffset: the image is mapped at its base (here file offset 0), so an address is a file offset.
        public long LoadOffset { get { var load = Segments().First(s => s.Type == PtLoad); return (long)load.Offset - (long)load.Vaddr; } }

        public Dictionary<long, ulong> Dynamic()
        {
            var dynamic = Segments().First(s => s.Type == PtDynamic);
            var entries = new Dictionary<long, ulong>();
            for (long at = (long)dynamic.Offset; ; at += 16)
            {
                long tag = (long)U64(at);
                if (tag == DtNull) return entries;
                entries[tag] = U64(at + 8);
            }
        }

        public long Address(long tag) => (long)Dynamic()[tag] + LoadOffset;

        public (string Name, ulong Value, byte Info, ushort Section) Symbol(uint index)
        {
            long at = Address(DtSymtab) + index * 24;
            return (String(Address(DtStrtab) + U32(at)), U64(at + 8), Bytes[at + 4], U16(at + 6));
        }

        public ushort Versym(uint index) => U16(Address(DtVersym) + index * 2);

        // The verdef entries: (index, flags, hash, first name).
        public IEnumerable<(ushort Index, ushort Flags, uint Hash, string Name)> Verdefs()
        {
            long at = Address(DtVerdef);
            while (true)
            {
                ushort flags = U16(at + 2), index = U16(at + 4);
                uint hash = U32(at + 8), aux = U32(at + 12), next = U32(at + 16);
                yield return (index, flags, hash, String(Address(DtStrtab) + U32(at + aux)));
                if (next == 0) yield break;
                at += next;
            }
        }

        // Go's vdsoFindVersion: the index of a non-base definition with the version's hash and name.
        public int GoVersionIndex() =>
            Verdefs().Where(d => (d.Flags & 1) == 0 && d.Hash == ElfHash(Version) && d.Name == Version).Select(d => d.Index & 0x7fff).FirstOrDefault();

        // dl-lookup.c do_lookup_x over DT_GNU_HASH: the Bloom filter first, then the hash chain.
        public uint? GnuLookup(string name)
        {
            long table = Address(DtGnuHash);
            uint buckets = U32(table), symbolOffset = U32(table + 4), bloomSize = U32(table + 8), bloomShift = U32(table + 12);
            uint hash = GnuHash(name);
            ulong word = U64(table + 16 + 8 * ((hash / 64) % bloomSize));
            if (((word >> (int)(hash % 64)) & (word >> (int)((hash >> (int)bloomShift) % 64)) & 1) == 0) return null;
            long bucketTable = table + 16 + 8 * bloomSize, chains = bucketTable + 4 * buckets;
            uint index = U32(bucketTable + 4 * (hash % buckets));
            if (index == 0) return null;
            for (; ; index++)
            {
                uint chainHash = U32(chains + 4 * (index - symbolOffset));
                if ((chainHash | 1) == (hash | 1) && Symbol(index).Name == name) return index;
                if ((chainHash & 1) != 0) return null;
            }
        }

        // The SysV DT_HASH walk (glibc without DT_GNU_HASH; Go's fallback).
        public uint? SysvLookup(string name)
        {
            long table = Address(DtHash);
            uint buckets = U32(table), chains = U32(table + 4);
            for (uint index = U32(table + 8 + 4 * (ElfHash(name) % buckets)); index != 0; index = U32(table + 8 + 4 * buckets + 4 * index))
            {
                Assert.True(index < chains);
                if (Symbol(index).Name == name) return index;
            }
            return null;
        }
    }

    static uint ElfHash(string name)
    {
        uint h = 0;
        foreach (char c in name) { h = (h << 4) + c; uint g = h & 0xf0000000; if (g != 0) h ^= g >> 24; h &= ~g; }
        return h;
    }

    static uint GnuHash(string name)
    {
        uint h = 5381;
        foreach (char c in name) h = h * 33 + c;
        return h;
    }

    [Fact]
    public void The_vdso_is_a_64_bit_x86_shared_object_with_one_executable_load_from_address_0()
    {
        var vdso = new Vdso(Image);
        Assert.Equal("\x7f" + "ELF", Encoding.ASCII.GetString(vdso.Bytes, 0, 4));
        Assert.Equal(2, vdso.Bytes[4]);                 // ELFCLASS64
        Assert.Equal(1, vdso.Bytes[5]);                 // little-endian
        Assert.Equal(3, vdso.U16(16));                  // ET_DYN
        Assert.Equal(62, vdso.U16(18));                 // EM_X86_64
        var loads = vdso.Segments().Where(s => s.Type == PtLoad).ToList();
        var load = Assert.Single(loads);
        Assert.Equal(0ul, load.Offset);
        Assert.Equal(0ul, load.Vaddr);
        Assert.Equal(5u, load.Flags);                   // PF_R | PF_X
        Assert.Equal(load.FileSize, load.MemSize);      // nothing to zero: the kernel copies the file
        Assert.True((ulong)vdso.Bytes.Length <= 2 * 4096, "the kernel maps the whole file; keep it small");
        foreach (uint kind in new[] { PtDynamic, PtNote, PtGnuEhFrame })
            Assert.Contains(vdso.Segments(), s => s.Type == kind && s.Offset + s.FileSize <= load.FileSize);
    }

    [Fact]
    public void The_vdso_needs_no_relocation_and_names_itself_linux_vdso_so_1()
    {
        var vdso = new Vdso(Image);
        var dynamic = vdso.Dynamic();
        Assert.DoesNotContain(DtRela, dynamic.Keys);
        Assert.DoesNotContain(DtRel, dynamic.Keys);
        Assert.DoesNotContain(DtTextrel, dynamic.Keys);
        foreach (long tag in new[] { DtHash, DtGnuHash, DtStrtab, DtSymtab, DtStrsz, DtVersym, DtVerdef, DtVerdefnum })
            Assert.Contains(tag, dynamic.Keys);
        Assert.Equal("linux-vdso.so.1", vdso.String(vdso.Address(DtStrtab) + (long)dynamic[DtSoname]));
    }

    [Fact]
    public void LINUX_2_6_is_defined_with_its_elf_hash_as_glibc_and_go_look_it_up()
    {
        var vdso = new Vdso(Image);
        Assert.Equal(0x3ae75f6u, ElfHash(Version));     // the constant in glibc's and Go's lookups
        var definitions = vdso.Verdefs().ToList();
        Assert.Contains(definitions, d => (d.Flags & 1) != 0 && d.Name == "linux-vdso.so.1");
        Assert.Equal(2, vdso.GoVersionIndex());
    }

    [Theory]
    [MemberData(nameof(ExportedNames))]
    public void Each_call_is_found_by_both_hash_tables_as_a_versioned_function_in_the_text(string name)
    {
        var vdso = new Vdso(Image);
        uint? byGnu = vdso.GnuLookup(name), bySysv = vdso.SysvLookup(name);
        Assert.NotNull(byGnu);
        Assert.Equal(byGnu, bySysv);
        var symbol = vdso.Symbol(byGnu!.Value);
        Assert.Equal(SttFunc, symbol.Info & 0xf);
        Assert.Equal(StbGlobal, symbol.Info >> 4);
        Assert.NotEqual(0, symbol.Section);
        Assert.Equal(vdso.GoVersionIndex(), vdso.Versym(byGnu.Value) & 0x7fff);
        var load = vdso.Segments().Single(s => s.Type == PtLoad);
        Assert.InRange(symbol.Value, 64ul, load.MemSize - 1);

        // Linux exports the unprefixed name too, a weak alias of the same code.
        string alias = name["__vdso_".Length..];
        uint? aliasIndex = vdso.GnuLookup(alias);
        Assert.NotNull(aliasIndex);
        var aliasSymbol = vdso.Symbol(aliasIndex!.Value);
        Assert.Equal(StbWeak, aliasSymbol.Info >> 4);
        Assert.Equal(symbol.Value, aliasSymbol.Value);
        Assert.Equal(vdso.GoVersionIndex(), vdso.Versym(aliasIndex.Value) & 0x7fff);
    }

    [Fact]
    public void A_name_the_vdso_does_not_export_is_not_found()
    {
        var vdso = new Vdso(Image);
        Assert.Null(vdso.GnuLookup("__vdso_sgx_enter_enclave"));
        Assert.Null(vdso.SysvLookup("__vdso_sgx_enter_enclave"));
    }

    public static TheoryData<string> ExportedNames() => new(Exported);

    [Fact]
    public void The_kernel_view_of_the_data_page_matches_vdso_c()
    {
        // struct vdso_data in LibraKernel/Vdso/vdso.c: the pvclock structure KVM writes at offset 64.
        Assert.Equal(VdsoData.PvclockOffset, (int)Marshal.OffsetOf<VdsoData>(nameof(VdsoData.Pvclock)));
        Assert.Equal(32, (int)Marshal.OffsetOf<VdsoData>(nameof(VdsoData.RealtimeOffset)));
        Assert.Equal(40, (int)Marshal.OffsetOf<VdsoData>(nameof(VdsoData.ResolutionNs)));
        Assert.Equal(32, Marshal.SizeOf<PvclockTimeInfo>());
        Assert.Equal(96, Marshal.SizeOf<VdsoData>());
    }
}
