using System;

namespace Libra.Loader
{
    // Auxiliary vector entry types (Linux include/uapi/linux/auxvec.h, arch/x86 uapi auxvec.h).
    internal enum AuxType : ulong
    {
        Null = 0,
        Phdr = 3,
        Phent = 4,
        Phnum = 5,
        PageSize = 6,
        Base = 7,
        Flags = 8,
        Entry = 9,
        Uid = 11,
        Euid = 12,
        Gid = 13,
        Egid = 14,
        Platform = 15,
        HwCap = 16,
        ClockTicks = 17,
        Secure = 23,
        Random = 25,
        HwCap2 = 26,
        RseqFeatureSize = 27,
        RseqAlign = 28,
        ExecFn = 31,
        SysinfoEhdr = 33,
        MinSigStackSize = 51,
    }

    // The values the kernel puts in the auxiliary vector; the string and random-byte addresses are
    // filled in by InitialStack.Build.
    internal struct AuxiliaryValues
    {
        internal ulong Phdr;             // run-time address of the program headers
        internal ulong PhEnt;            // sizeof(Elf64_Phdr) = 56
        internal ulong PhNum;
        internal ulong Entry;            // run-time entry point
        internal ulong Base;             // interpreter base: 0 for a static executable
        internal ulong Flags;
        internal ulong HwCap;            // CPUID.1:EDX
        internal ulong HwCap2;
        internal ulong ClockTicks;       // sysconf(_SC_CLK_TCK)
        internal ulong PageSize;
        internal ulong Uid, Euid, Gid, Egid;
        internal ulong Secure;
        internal ulong MinSigStackSize;  // omitted when 0 (glibc then computes it from CPUID)
        internal ulong SysinfoEhdr;      // vDSO base; omitted when 0
        internal ulong RseqFeatureSize;  // Linux >= 6.3 with rseq(2); omitted when 0, as without CONFIG_RSEQ
        internal ulong RseqAlign;        // omitted when 0

        // The fixed values Linux x86-64 reports, with everything else zero.
        internal static AuxiliaryValues Defaults()
        {
            AuxiliaryValues values = default;
            values.PhEnt = 56;
            values.ClockTicks = 100;
            values.PageSize = 4096;
            return values;
        }
    }

    internal enum InitialStackError
    {
        None,
        TooBig,      // E2BIG: the strings and tables do not fit the stack memory
        Malformed,   // EINVAL: a count does not match its strings, or the random bytes are not 16
    }

    // The initial process stack at the entry point, laid out as Linux fs/binfmt_elf.c create_elf_tables
    // (and fs/exec.c for the strings) does, without stack randomisation.
    internal static unsafe class InitialStack
    {
        private const int RandomBytes = 16;
        private const int PlatformBytes = 7;   // "x86_64" and its NUL (ELF_PLATFORM)

        // Writes into `memory`, whose last byte is user address stackTop - 1. `arguments` and
        // `environment` hold argumentCount and environmentCount NUL-terminated strings back to back;
        // `executableName` is AT_EXECFN (a trailing NUL is optional). On success stackPointer is the
        // 16-byte aligned RSP, pointing at argc.
        internal static InitialStackError Build(Span<byte> memory, ulong stackTop,
            ReadOnlySpan<byte> arguments, int argumentCount,
            ReadOnlySpan<byte> environment, int environmentCount,
            ReadOnlySpan<byte> executableName, ReadOnlySpan<byte> random,
            in AuxiliaryValues values, out ulong stackPointer)
        {
            stackPointer = 0;
            if (random.Length != RandomBytes) return InitialStackError.Malformed;
            if (!CountMatches(arguments, argumentCount) || !CountMatches(environment, environmentCount)) return InitialStackError.Malformed;
            if ((ulong)memory.Length > stackTop) return InitialStackError.Malformed;
            int nameLength = 0;
            while (nameLength < executableName.Length && executableName[nameLength] != 0) nameLength++;

            // Place everything first, so nothing is written when it does not fit.
            ulong floor = stackTop - (ulong)memory.Length;
            ulong p = stackTop;
            // fs/exec.c: bprm->p starts one pointer below the top, then the filename, envp, argv strings.
            if (!Take(ref p, 8, floor)) return InitialStackError.TooBig;
            ulong endMarker = p;
            if (!Take(ref p, (ulong)nameLength + 1, floor)) return InitialStackError.TooBig;
            ulong execFn = p;
            if (!Take(ref p, (ulong)environment.Length, floor)) return InitialStackError.TooBig;
            ulong environmentStart = p;
            if (!Take(ref p, (ulong)arguments.Length, floor)) return InitialStackError.TooBig;
            ulong argumentsStart = p;
            p &= ~15ul;  // arch_align_stack
            if (p < floor) return InitialStackError.TooBig;
            if (!Take(ref p, PlatformBytes, floor)) return InitialStackError.TooBig;
            ulong platform = p;
            if (!Take(ref p, RandomBytes, floor)) return InitialStackError.TooBig;
            ulong randomAddress = p;

            int auxEntries = 19 + (values.SysinfoEhdr != 0 ? 1 : 0) + (values.MinSigStackSize != 0 ? 1 : 0)
                + (values.RseqFeatureSize != 0 ? 1 : 0) + (values.RseqAlign != 0 ? 1 : 0);
            ulong items = (ulong)argumentCount + 1 + (ulong)environmentCount + 1 + 1;
            if (!Take(ref p, (ulong)auxEntries * 16, floor)) return InitialStackError.TooBig;
            if (!Take(ref p, items * 8, floor)) return InitialStackError.TooBig;
            p &= ~15ul;  // STACK_ROUND
            if (p < floor) return InitialStackError.TooBig;
            ulong rsp = p;

            // The strings area, top down.
            Zero(memory, floor, endMarker, 8);
            Copy(memory, floor, execFn, executableName.Slice(0, nameLength));
            memory[(int)(execFn + (ulong)nameLength - floor)] = 0;
            Copy(memory, floor, environmentStart, environment);
            Copy(memory, floor, argumentsStart, arguments);
            Zero(memory, floor, platform + PlatformBytes, argumentsStart - platform - PlatformBytes);
            int at = (int)(platform - floor);
            memory[at] = (byte)'x'; memory[at + 1] = (byte)'8'; memory[at + 2] = (byte)'6'; memory[at + 3] = (byte)'_';
            memory[at + 4] = (byte)'6'; memory[at + 5] = (byte)'4'; memory[at + 6] = 0;
            Copy(memory, floor, randomAddress, random);

            // argc, argv[], NULL, envp[], NULL, then auxv right above (the gap up to AT_RANDOM is zero).
            ulong w = rsp;
            Put(memory, floor, ref w, (ulong)argumentCount);
            PutPointers(memory, floor, ref w, arguments, argumentsStart);
            PutPointers(memory, floor, ref w, environment, environmentStart);

            // ARCH_DLINFO first, then the generic entries in create_elf_tables order.
            if (values.SysinfoEhdr != 0) PutAux(memory, floor, ref w, AuxType.SysinfoEhdr, values.SysinfoEhdr);
            if (values.MinSigStackSize != 0) PutAux(memory, floor, ref w, AuxType.MinSigStackSize, values.MinSigStackSize);
            PutAux(memory, floor, ref w, AuxType.HwCap, values.HwCap);
            PutAux(memory, floor, ref w, AuxType.PageSize, values.PageSize);
            PutAux(memory, floor, ref w, AuxType.ClockTicks, values.ClockTicks);
            PutAux(memory, floor, ref w, AuxType.Phdr, values.Phdr);
            PutAux(memory, floor, ref w, AuxType.Phent, values.PhEnt);
            PutAux(memory, floor, ref w, AuxType.Phnum, values.PhNum);
            PutAux(memory, floor, ref w, AuxType.Base, values.Base);
            PutAux(memory, floor, ref w, AuxType.Flags, values.Flags);
            PutAux(memory, floor, ref w, AuxType.Entry, values.Entry);
            PutAux(memory, floor, ref w, AuxType.Uid, values.Uid);
            PutAux(memory, floor, ref w, AuxType.Euid, values.Euid);
            PutAux(memory, floor, ref w, AuxType.Gid, values.Gid);
            PutAux(memory, floor, ref w, AuxType.Egid, values.Egid);
            PutAux(memory, floor, ref w, AuxType.Secure, values.Secure);
            PutAux(memory, floor, ref w, AuxType.Random, randomAddress);
            PutAux(memory, floor, ref w, AuxType.HwCap2, values.HwCap2);
            PutAux(memory, floor, ref w, AuxType.ExecFn, execFn);
            PutAux(memory, floor, ref w, AuxType.Platform, platform);
            if (values.RseqFeatureSize != 0) PutAux(memory, floor, ref w, AuxType.RseqFeatureSize, values.RseqFeatureSize);
            if (values.RseqAlign != 0) PutAux(memory, floor, ref w, AuxType.RseqAlign, values.RseqAlign);
            PutAux(memory, floor, ref w, AuxType.Null, 0);
            Zero(memory, floor, w, randomAddress - w);

            stackPointer = rsp;
            return InitialStackError.None;
        }

        // True when `strings` is exactly `count` NUL-terminated strings.
        private static bool CountMatches(ReadOnlySpan<byte> strings, int count)
        {
            if (count < 0) return false;
            if (strings.Length > 0 && strings[strings.Length - 1] != 0) return false;
            int found = 0;
            for (int i = 0; i < strings.Length; i++) if (strings[i] == 0) found++;
            return found == count;
        }

        private static bool Take(ref ulong p, ulong bytes, ulong floor)
        {
            if (p - floor < bytes) return false;
            p -= bytes;
            return true;
        }

        private static void Copy(Span<byte> memory, ulong floor, ulong address, ReadOnlySpan<byte> bytes)
        {
            int at = (int)(address - floor);
            for (int i = 0; i < bytes.Length; i++) memory[at + i] = bytes[i];
        }

        private static void Zero(Span<byte> memory, ulong floor, ulong address, ulong length)
        {
            int at = (int)(address - floor);
            for (int i = 0; i < (int)length; i++) memory[at + i] = 0;
        }

        private static void Put(Span<byte> memory, ulong floor, ref ulong address, ulong value)
        {
            int at = (int)(address - floor);
            for (int i = 0; i < 8; i++) memory[at + i] = (byte)(value >> (8 * i));
            address += 8;
        }

        private static void PutAux(Span<byte> memory, ulong floor, ref ulong address, AuxType type, ulong value)
        {
            Put(memory, floor, ref address, (ulong)type);
            Put(memory, floor, ref address, value);
        }

        // One pointer per string of `strings` (placed at user address `start`), then NULL.
        private static void PutPointers(Span<byte> memory, ulong floor, ref ulong address, ReadOnlySpan<byte> strings, ulong start)
        {
            int begin = 0;
            for (int i = 0; i < strings.Length; i++)
            {
                if (strings[i] != 0) continue;
                Put(memory, floor, ref address, start + (ulong)begin);
                begin = i + 1;
            }
            Put(memory, floor, ref address, 0);
        }
    }
}
