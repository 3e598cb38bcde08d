using Libra.Memory;

namespace Libra.Loader
{
    // Why an executable cannot run; Describe gives the one-line phrase the loader prints.
    internal enum ElfError
    {
        None,
        Empty,
        Truncated,
        NotElf,
        Not64Bit,
        NotLittleEndian,
        WrongMachine,
        NotExecutable,
        NeedsInterpreter,
        NoLoadableSegments,
        BadSegment,
        TooManySegments,
    }

    // One PT_LOAD entry (ELF-64 gABI §Program header). For a position-independent image the addresses
    // are relative to the load base.
    internal struct ElfSegment
    {
        // p_flags bits (gABI §Segment permissions).
        internal const uint FlagExecute = 1;
        internal const uint FlagWrite = 2;
        internal const uint FlagRead = 4;

        internal ulong Vaddr;
        internal ulong Offset;
        internal ulong FileSize;
        internal ulong MemorySize;
        internal uint Flags;

        internal bool Readable => (Flags & FlagRead) != 0;
        internal bool Writable => (Flags & FlagWrite) != 0;
        internal bool Executable => (Flags & FlagExecute) != 0;

        // The same permissions as Linux PROT_* bits (READ=1, WRITE=2, EXEC=4), as mmap/mprotect use them.
        internal uint Protection => (Readable ? 1u : 0u) | (Writable ? 2u : 0u) | (Executable ? 4u : 0u);
    }

    // A static x86-64 Linux executable (ET_EXEC, or ET_DYN static-pie) parsed and validated in place.
    // Parse reads only [data, data + length); nothing else is touched or kept.
    internal unsafe struct ElfImage
    {
        internal const int MaxSegments = 16;
        internal const ushort MachineX86_64 = 62;
        // Linux x86-64 TASK_SIZE_MAX: the top of user space minus the guard page (arch/x86 page_64_types.h).
        internal const ulong UserTop = 0x00007ffffffff000;
        // Linux's default vm.mmap_min_addr: a fixed executable may not map below it (security/Kconfig).
        internal const ulong LowestFixedAddress = 0x10000;

        // ELF-64 gABI §ELF header and §Program header constants.
        private const int HeaderSize = 64;
        private const ushort ProgramHeaderSize = 56;
        private const ushort TypeExecutable = 2, TypeShared = 3;   // ET_EXEC, ET_DYN
        private const uint PtLoad = 1, PtDynamic = 2, PtInterp = 3, PtPhdr = 6, PtTls = 7;
        private const uint PtGnuStack = 0x6474e551;

        private struct SegmentTable
        {
            internal fixed ulong Vaddr[MaxSegments];
            internal fixed ulong Offset[MaxSegments];
            internal fixed ulong FileSize[MaxSegments];
            internal fixed ulong MemorySize[MaxSegments];
            internal fixed uint Flags[MaxSegments];
        }

        private SegmentTable _segments;
        private int _segmentCount;

        internal ushort Type;
        internal ushort Machine;
        internal bool IsPositionIndependent;
        internal bool HasDynamicSection;
        internal ulong Entry;
        internal ulong PhdrOffset;
        internal ushort PhdrCount;
        internal ushort PhdrEntrySize;
        internal ulong LowestAddress;
        internal ulong HighestAddress;
        // The largest PT_LOAD p_align: a PIE's load base must be a multiple of it (Linux maximum_alignment).
        internal ulong MaximumAlignment;

        internal bool HasTls;
        internal ulong TlsVaddr;
        internal ulong TlsFileSize;
        internal ulong TlsMemorySize;
        internal ulong TlsAlign;

        // PT_GNU_STACK with PF_X; without PT_GNU_STACK x86-64 Linux also gives a non-executable stack.
        internal bool StackExecutable;

        // Where the program headers are in memory (link-time address), for AT_PHDR.
        internal bool HasPhdrAddress;
        internal ulong PhdrVaddr;

        internal int SegmentCount => _segmentCount;

        internal ElfSegment Segment(int i)
        {
            ElfSegment s;
            s.Vaddr = _segments.Vaddr[i];
            s.Offset = _segments.Offset[i];
            s.FileSize = _segments.FileSize[i];
            s.MemorySize = _segments.MemorySize[i];
            s.Flags = _segments.Flags[i];
            return s;
        }

        // The run-time address of a link-time address: PIE images are shifted by the load base.
        internal ulong Relocate(ulong linkAddress, ulong loadBase) => IsPositionIndependent ? linkAddress + loadBase : linkAddress;

        // AT_PHDR: the program headers' run-time address, or 0 when no segment maps them.
        internal ulong PhdrAddress(ulong loadBase) => HasPhdrAddress ? Relocate(PhdrVaddr, loadBase) : 0;

        // AT_ENTRY: the run-time entry point.
        internal ulong EntryAddress(ulong loadBase) => Relocate(Entry, loadBase);

        internal static ElfError Parse(byte* data, ulong length, out ElfImage image)
        {
            image = default;
            if (length == 0 || data == null) return ElfError.Empty;

            ElfError ident = CheckIdent(data, length);
            if (ident != ElfError.None) return ident;

            image.Type = U16(data, 16);
            image.Machine = U16(data, 18);
            image.Entry = U64(data, 24);
            image.PhdrOffset = U64(data, 32);
            image.PhdrEntrySize = U16(data, 54);
            image.PhdrCount = U16(data, 56);

            if (image.Machine != MachineX86_64) return ElfError.WrongMachine;
            if (image.Type != TypeExecutable && image.Type != TypeShared) return ElfError.NotExecutable;
            image.IsPositionIndependent = image.Type == TypeShared;

            // Linux binfmt_elf load_elf_phdrs: exactly Elf64_Phdr-sized entries, at most 64 KiB of them.
            if (image.PhdrCount == 0) return ElfError.NoLoadableSegments;
            if (image.PhdrEntrySize != ProgramHeaderSize) return ElfError.BadSegment;
            ulong tableSize = (ulong)image.PhdrCount * ProgramHeaderSize;
            if (tableSize > 65536) return ElfError.TooManySegments;
            if (image.PhdrOffset > length || tableSize > length - image.PhdrOffset) return ElfError.Truncated;

            bool hasPhdrSegment = false;
            int loads = 0;
            for (int i = 0; i < image.PhdrCount; i++)
            {
                byte* ph = data + image.PhdrOffset + (ulong)i * ProgramHeaderSize;
                uint type = U32(ph, 0);
                uint flags = U32(ph, 4);
                ulong offset = U64(ph, 8);
                ulong vaddr = U64(ph, 16);
                ulong fileSize = U64(ph, 32);
                ulong memorySize = U64(ph, 40);
                ulong align = U64(ph, 48);

                if (type == PtInterp) return ElfError.NeedsInterpreter;
                if (type == PtDynamic) image.HasDynamicSection = true;
                if (type == PtGnuStack) image.StackExecutable = (flags & ElfSegment.FlagExecute) != 0;
                if (type == PtPhdr)
                {
                    hasPhdrSegment = true;
                    image.HasPhdrAddress = true;
                    image.PhdrVaddr = vaddr;
                }
                if (type == PtTls)
                {
                    if (image.HasTls || fileSize > memorySize || !IsPowerOfTwoOrZero(align)) return ElfError.BadSegment;
                    if (offset > length || fileSize > length - offset) return ElfError.Truncated;
                    image.HasTls = true;
                    image.TlsVaddr = vaddr;
                    image.TlsFileSize = fileSize;
                    image.TlsMemorySize = memorySize;
                    image.TlsAlign = align;
                }
                if (type != PtLoad || memorySize == 0) continue;

                ElfError bad = CheckLoad(ref image, offset, vaddr, fileSize, memorySize, align, length, loads);
                if (bad != ElfError.None) return bad;
                if (loads == MaxSegments) return ElfError.TooManySegments;
                image._segments.Vaddr[loads] = vaddr;
                image._segments.Offset[loads] = offset;
                image._segments.FileSize[loads] = fileSize;
                image._segments.MemorySize[loads] = memorySize;
                image._segments.Flags[loads] = flags & (ElfSegment.FlagRead | ElfSegment.FlagWrite | ElfSegment.FlagExecute);
                loads++;
                image._segmentCount = loads;
            }
            if (loads == 0) return ElfError.NoLoadableSegments;

            image.LowestAddress = image._segments.Vaddr[0] & ~(Layout.PageSize - 1);
            ulong end = image._segments.Vaddr[loads - 1] + image._segments.MemorySize[loads - 1];
            image.HighestAddress = (end + Layout.PageSize - 1) & ~(Layout.PageSize - 1);
            if (image.HighestAddress < end) return ElfError.BadSegment;
            if (image.IsPositionIndependent)
            {
                // The whole image must fit in user space wherever it is placed.
                if (image.HighestAddress - image.LowestAddress > UserTop - LowestFixedAddress) return ElfError.BadSegment;
            }
            else
            {
                if (image.HighestAddress > UserTop || image.LowestAddress < LowestFixedAddress) return ElfError.BadSegment;
            }

            // Linux create_elf_tables takes AT_PHDR from the PT_LOAD whose file range holds e_phoff.
            if (!hasPhdrSegment)
            {
                for (int i = 0; i < loads; i++)
                {
                    ulong offset = image._segments.Offset[i];
                    if (image.PhdrOffset >= offset && image.PhdrOffset - offset < image._segments.FileSize[i])
                    {
                        image.HasPhdrAddress = true;
                        image.PhdrVaddr = image._segments.Vaddr[i] + (image.PhdrOffset - offset);
                        break;
                    }
                }
            }
            return ElfError.None;
        }

        // e_ident: magic, class, data encoding, version (gABI §ELF Identification), checked only as far
        // as the file goes, so that a prefix of a valid header reads as truncated rather than "not ELF".
        private static ElfError CheckIdent(byte* data, ulong length)
        {
            const uint Magic = 0x464c457f;   // "\x7fELF"
            for (int i = 0; i < 4 && (ulong)i < length; i++)
                if (data[i] != (byte)(Magic >> (8 * i))) return ElfError.NotElf;
            if (length < 5) return ElfError.Truncated;
            if (data[4] == 1) return ElfError.Not64Bit;              // ELFCLASS32
            if (data[4] != 2) return ElfError.NotElf;
            if (length < 6) return ElfError.Truncated;
            if (data[5] == 2) return ElfError.NotLittleEndian;       // ELFDATA2MSB
            if (data[5] != 1) return ElfError.NotElf;
            if (length < 7) return ElfError.Truncated;
            if (data[6] != 1) return ElfError.NotElf;                // EV_CURRENT
            return length < HeaderSize ? ElfError.Truncated : ElfError.None;
        }

        // One PT_LOAD against the gABI rules and the segments already accepted (which are sorted by
        // p_vaddr, gABI §Program header: "loadable segment entries ... appear in ascending order").
        private static ElfError CheckLoad(ref ElfImage image, ulong offset, ulong vaddr, ulong fileSize, ulong memorySize, ulong align, ulong length, int loads)
        {
            if (fileSize > memorySize) return ElfError.BadSegment;
            if (offset > length || fileSize > length - offset) return ElfError.Truncated;
            if (vaddr + memorySize < vaddr) return ElfError.BadSegment;
            // Pages map file pages: p_vaddr ≡ p_offset (mod page size), and mod p_align when it is larger.
            if ((vaddr - offset) % Layout.PageSize != 0) return ElfError.BadSegment;
            if (!IsPowerOfTwoOrZero(align)) return ElfError.BadSegment;
            if (align > 1 && (vaddr - offset) % align != 0) return ElfError.BadSegment;
            if (align > image.MaximumAlignment) image.MaximumAlignment = align;
            if (loads > 0)
            {
                // Each page belongs to one segment, so its protection is that segment's.
                int last = loads - 1;
                ulong previousEnd = image._segments.Vaddr[last] + image._segments.MemorySize[last];
                ulong previousPageEnd = (previousEnd + Layout.PageSize - 1) & ~(Layout.PageSize - 1);
                if (vaddr < image._segments.Vaddr[last]) return ElfError.BadSegment;
                if ((vaddr & ~(Layout.PageSize - 1)) < previousPageEnd) return ElfError.BadSegment;
            }
            return ElfError.None;
        }

        // A fixed English phrase per error, for "cannot run <path>: <phrase>".
        internal static string Describe(ElfError error)
        {
            switch (error)
            {
                case ElfError.None: return "a valid static x86-64 executable";
                case ElfError.Empty: return "the file is empty";
                case ElfError.Truncated: return "the file is truncated";
                case ElfError.NotElf: return "not an ELF file";
                case ElfError.Not64Bit: return "a 32-bit ELF file (only 64-bit x86-64 executables run)";
                case ElfError.NotLittleEndian: return "a big-endian ELF file (x86-64 is little-endian)";
                case ElfError.WrongMachine: return "an ELF for another machine (not x86-64)";
                case ElfError.NotExecutable: return "not an executable (an object file, core dump or other ELF type)";
                case ElfError.NeedsInterpreter: return "a dynamically linked executable (it needs an interpreter; link it statically)";
                case ElfError.NoLoadableSegments: return "an executable with no loadable segments";
                case ElfError.BadSegment: return "a malformed program header (a segment is misaligned, overlapping or out of range)";
                case ElfError.TooManySegments: return "too many segments (at most 16 loadable ones)";
                default: return "an unknown ELF error";
            }
        }

        // The e_machine name a WrongMachine message may add (gABI §Machine); never null, because a
        // null test on a string ILC cannot prove non-literal fails to compile (RuntimeType missing).
        internal static string MachineName(ushort machine)
        {
            switch (machine)
            {
                case 3: return "i386";
                case 8: return "MIPS";
                case 20: return "PowerPC";
                case 21: return "PowerPC64";
                case 22: return "s390";
                case 40: return "ARM";
                case 62: return "x86-64";
                case 183: return "AArch64";
                case 243: return "RISC-V";
                case 258: return "LoongArch";
                default: return "an unknown machine";
            }
        }

        private static bool IsPowerOfTwoOrZero(ulong value) => (value & (value - 1)) == 0;

        private static ushort U16(byte* p, int offset) => *(ushort*)(p + offset);
        private static uint U32(byte* p, int offset) => *(uint*)(p + offset);
        private static ulong U64(byte* p, int offset) => *(ulong*)(p + offset);
    }
}
