using System.Buffers.Binary;
using System.Text;
using Libra.Loader;
using Xunit;

namespace Libra.Tests.Unit;

public class InitialStackTests
{
    private const ulong StackTop = 0x7ffffffde000;

    private static byte[] Strings(params string[] strings) =>
        Encoding.UTF8.GetBytes(string.Concat(strings.Select(s => s + "\0")));

    private static readonly byte[] Random16 = Enumerable.Range(0xa0, 16).Select(i => (byte)i).ToArray();

    private static AuxiliaryValues Values()
    {
        var values = AuxiliaryValues.Defaults();
        values.Phdr = 0x555555554040;
        values.PhNum = 9;
        values.Entry = 0x5555555eed80;
        values.HwCap = 0x178bfbff;
        values.HwCap2 = 2;
        values.Uid = 1000; values.Euid = 1001; values.Gid = 1002; values.Egid = 1003;
        values.MinSigStackSize = 3376;
        return values;
    }

    // The stack as the program sees it at _start: argc, argv, envp and auxv read back from memory.
    private sealed class Stack
    {
        public readonly byte[] Memory;
        public readonly ulong Rsp;
        public readonly ulong Floor;
        public readonly long Argc;
        public readonly List<ulong> Argv = new(), Envp = new();
        public readonly List<(ulong Type, ulong Value)> Auxv = new();
        public readonly ulong AuxvEnd;

        public Stack(byte[] memory, ulong rsp, ulong top = StackTop)
        {
            Memory = memory;
            Rsp = rsp;
            Floor = top - (ulong)memory.Length;
            ulong at = rsp;
            Argc = (long)Word(at); at += 8;
            for (ulong p; (p = Word(at)) != 0; at += 8) Argv.Add(p);
            at += 8;
            for (ulong p; (p = Word(at)) != 0; at += 8) Envp.Add(p);
            at += 8;
            while (true)
            {
                ulong type = Word(at), value = Word(at + 8);
                at += 16;
                Auxv.Add((type, value));
                if (type == 0) break;
            }
            AuxvEnd = at;
        }

        public ulong Word(ulong address) => BinaryPrimitives.ReadUInt64LittleEndian(Memory.AsSpan((int)(address - Floor), 8));
        public byte Byte(ulong address) => Memory[(int)(address - Floor)];

        public string CString(ulong address)
        {
            int start = (int)(address - Floor), end = Array.IndexOf(Memory, (byte)0, start);
            return Encoding.UTF8.GetString(Memory, start, end - start);
        }

        public ulong Aux(AuxType type) => Auxv.Single(e => e.Type == (ulong)type).Value;
        public bool Has(AuxType type) => Auxv.Any(e => e.Type == (ulong)type);
    }

    private static InitialStackError Build(byte[] memory, string[] args, string[] env, string execFn, AuxiliaryValues values, out ulong rsp, byte[]? random = null)
    {
        byte[] a = Strings(args), e = Strings(env);
        return InitialStack.Build(memory, StackTop, a, args.Length, e, env.Length, Encoding.UTF8.GetBytes(execFn), random ?? Random16, in values, out rsp);
    }

    private static Stack BuildStack(string[] args, string[] env, string execFn = "/bin/app", AuxiliaryValues? values = null, int size = 8192)
    {
        var memory = new byte[size];
        Assert.Equal(InitialStackError.None, Build(memory, args, env, execFn, values ?? Values(), out ulong rsp));
        return new Stack(memory, rsp);
    }

    [Fact]
    public void Argc_argv_and_envp_point_at_their_strings()
    {
        var stack = BuildStack(new[] { "/bin/app", "--verbose", "" }, new[] { "HOME=/root", "PATH=/bin" });
        Assert.Equal(3, stack.Argc);
        Assert.Equal(new[] { "/bin/app", "--verbose", "" }, stack.Argv.Select(stack.CString));
        Assert.Equal(new[] { "HOME=/root", "PATH=/bin" }, stack.Envp.Select(stack.CString));
    }

    [Fact]
    public void Strings_sit_at_the_top_in_Linux_order()
    {
        var stack = BuildStack(new[] { "app", "x" }, new[] { "A=1" }, "/usr/bin/app");
        // fs/exec.c: 8 zero bytes at the very top, the filename below, then envp and argv strings.
        Assert.Equal(0ul, stack.Word(StackTop - 8));
        ulong execFn = stack.Aux(AuxType.ExecFn);
        Assert.Equal(StackTop - 8 - 13, execFn);
        Assert.Equal("/usr/bin/app", stack.CString(execFn));
        Assert.Equal(execFn - 4, stack.Envp[0]);
        Assert.Equal(stack.Envp[0] - 2, stack.Argv[1]);
        Assert.Equal(stack.Argv[1] - 4, stack.Argv[0]);
        // Then, 16-byte aligned below the argument strings, "x86_64" and the random bytes.
        ulong platform = stack.Aux(AuxType.Platform);
        Assert.Equal((stack.Argv[0] & ~15ul) - 7, platform);
        Assert.Equal(platform - 16, stack.Aux(AuxType.Random));
    }

    [Fact]
    public void Auxv_has_every_entry_with_its_value()
    {
        var stack = BuildStack(new[] { "app" }, new[] { "A=1" });
        var values = Values();
        Assert.Equal(values.Phdr, stack.Aux(AuxType.Phdr));
        Assert.Equal(56ul, stack.Aux(AuxType.Phent));
        Assert.Equal(9ul, stack.Aux(AuxType.Phnum));
        Assert.Equal(4096ul, stack.Aux(AuxType.PageSize));
        Assert.Equal(0ul, stack.Aux(AuxType.Base));
        Assert.Equal(0ul, stack.Aux(AuxType.Flags));
        Assert.Equal(values.Entry, stack.Aux(AuxType.Entry));
        Assert.Equal((1000ul, 1001ul, 1002ul, 1003ul), (stack.Aux(AuxType.Uid), stack.Aux(AuxType.Euid), stack.Aux(AuxType.Gid), stack.Aux(AuxType.Egid)));
        Assert.Equal(0ul, stack.Aux(AuxType.Secure));
        Assert.Equal(100ul, stack.Aux(AuxType.ClockTicks));
        Assert.Equal(0x178bfbfful, stack.Aux(AuxType.HwCap));
        Assert.Equal(2ul, stack.Aux(AuxType.HwCap2));
        Assert.Equal(3376ul, stack.Aux(AuxType.MinSigStackSize));
        Assert.False(stack.Has(AuxType.SysinfoEhdr));
        Assert.Equal((0ul, 0ul), stack.Auxv[^1]);
        Assert.Equal(stack.Auxv.Count, stack.Auxv.Select(e => e.Type).Distinct().Count());
        // ARCH_DLINFO first, then create_elf_tables' order.
        Assert.Equal(new ulong[] { 51, 16, 6, 17, 3, 4, 5, 7, 8, 9, 11, 12, 13, 14, 23, 25, 26, 31, 15, 0 }, stack.Auxv.Select(e => e.Type));
    }

    [Fact]
    public void Optional_entries_appear_only_when_set()
    {
        var values = Values();
        values.SysinfoEhdr = 0x7ffff7fc1000;
        values.MinSigStackSize = 0;
        var stack = BuildStack(new[] { "app" }, Array.Empty<string>(), values: values);
        Assert.Equal(0x7ffff7fc1000ul, stack.Aux(AuxType.SysinfoEhdr));
        Assert.Equal(33ul, stack.Auxv[0].Type);
        Assert.False(stack.Has(AuxType.MinSigStackSize));
    }

    [Fact]
    public void At_random_platform_and_execfn_point_at_their_bytes()
    {
        var stack = BuildStack(new[] { "app" }, Array.Empty<string>(), "./app");
        ulong random = stack.Aux(AuxType.Random);
        for (int i = 0; i < 16; i++) Assert.Equal(Random16[i], stack.Byte(random + (ulong)i));
        Assert.Equal("x86_64", stack.CString(stack.Aux(AuxType.Platform)));
        Assert.Equal("./app", stack.CString(stack.Aux(AuxType.ExecFn)));
    }

    [Fact]
    public void Auxv_follows_envp_and_ends_within_16_zero_bytes_of_at_random()
    {
        var stack = BuildStack(new[] { "app", "1" }, new[] { "B=2" });
        ulong random = stack.Aux(AuxType.Random);
        Assert.True(random - stack.AuxvEnd < 16);
        for (ulong a = stack.AuxvEnd; a < random; a++) Assert.Equal(0, stack.Byte(a));
    }

    [Fact]
    public void Rsp_is_16_byte_aligned_for_every_argc_and_envc_parity()
    {
        for (int argc = 0; argc <= 5; argc++)
            for (int envc = 0; envc <= 5; envc++)
                for (int nameLength = 1; nameLength <= 16; nameLength += 5)
                {
                    var args = Enumerable.Range(0, argc).Select(i => new string('a', i + 1)).ToArray();
                    var env = Enumerable.Range(0, envc).Select(i => "V" + i + "=" + new string('v', i)).ToArray();
                    var stack = BuildStack(args, env, new string('/', nameLength));
                    Assert.Equal(0ul, stack.Rsp % 16);
                    Assert.Equal(argc, stack.Argc);
                    Assert.Equal(argc, stack.Argv.Count);
                    Assert.Equal(envc, stack.Envp.Count);
                }
    }

    [Fact]
    public void Trailing_nul_on_the_executable_name_is_optional()
    {
        var a = BuildStack(new[] { "app" }, Array.Empty<string>(), "/app");
        var b = BuildStack(new[] { "app" }, Array.Empty<string>(), "/app\0");
        Assert.Equal(a.Memory, b.Memory);
        Assert.Equal(a.Rsp, b.Rsp);
    }

    [Fact]
    public void Too_small_memory_is_too_big_and_untouched_and_one_byte_more_fits()
    {
        string[] args = { "app", "--flag" }, env = { "X=1" };
        int needed = -1;
        for (int size = 0; size < 1024; size++)
        {
            var memory = new byte[size];
            Array.Fill(memory, (byte)0xee);
            var error = Build(memory, args, env, "/app", Values(), out _);
            if (error == InitialStackError.None) { needed = size; break; }
            Assert.Equal(InitialStackError.TooBig, error);
            Assert.All(memory, b => Assert.Equal(0xee, b));
        }
        Assert.True(needed > 0);
        for (int size = needed; size < needed + 64; size++)
            Assert.Equal(InitialStackError.None, Build(new byte[size], args, env, "/app", Values(), out _));
    }

    [Fact]
    public void Counts_that_do_not_match_the_strings_or_wrong_random_length_are_malformed()
    {
        var memory = new byte[4096];
        var values = Values();
        byte[] two = Strings("a", "b");
        Assert.Equal(InitialStackError.Malformed, InitialStack.Build(memory, StackTop, two, 3, default, 0, "x"u8, Random16, in values, out _));
        Assert.Equal(InitialStackError.Malformed, InitialStack.Build(memory, StackTop, "ab"u8, 1, default, 0, "x"u8, Random16, in values, out _));
        Assert.Equal(InitialStackError.Malformed, InitialStack.Build(memory, StackTop, two, 2, two, -1, "x"u8, Random16, in values, out _));
        Assert.Equal(InitialStackError.Malformed, InitialStack.Build(memory, StackTop, two, 2, default, 0, "x"u8, new byte[15], in values, out _));
        Assert.Equal(InitialStackError.Malformed, InitialStack.Build(memory, 100, two, 2, default, 0, "x"u8, Random16, in values, out _));
        Assert.Equal(InitialStackError.None, InitialStack.Build(memory, StackTop, two, 2, default, 0, "x"u8, Random16, in values, out _));
    }

    [Fact]
    public void Layout_matches_create_elf_tables_arithmetic()
    {
        // Recomputed from fs/exec.c and fs/binfmt_elf.c for argv {"ab"}, envp {}, execfn "/e".
        var stack = BuildStack(new[] { "ab" }, Array.Empty<string>(), "/e");
        ulong p = StackTop - 8;         // bprm->p = vm_end - sizeof(void *)
        p -= 3;                         // "/e"
        ulong execFn = p;
        p -= 3;                         // "ab"
        ulong argStart = p;
        p &= ~15ul;                     // arch_align_stack
        p -= 7;                         // "x86_64"
        p -= 16;                        // AT_RANDOM
        ulong random = p;
        ulong sp = p - 20 * 16;         // 20 auxv pairs with MINSIGSTKSZ and AT_NULL
        ulong rsp = (sp - (1 + 1 + 0 + 1 + 1) * 8) & ~15ul;   // STACK_ROUND(sp, argc+1 + envc+1 + 1)
        Assert.Equal(rsp, stack.Rsp);
        Assert.Equal(argStart, stack.Argv[0]);
        Assert.Equal(execFn, stack.Aux(AuxType.ExecFn));
        Assert.Equal(random, stack.Aux(AuxType.Random));
    }

    // The stack Linux 6.18 built for `env -i A=1 PATH=/bin setarch -R ./dump one "" three`, where dump
    // is a -nostdlib static program whose _start writes every word from its RSP up to the 8 zero bytes
    // at the top (setarch -R: stack top 0x7ffffffff000, no arch_align_stack randomisation).
    private const string LinuxStack = """
        00007fffffffee00 0000000000000004
        00007fffffffee08 00007fffffffefd1
        00007fffffffee10 00007fffffffefd8
        00007fffffffee18 00007fffffffefdc
        00007fffffffee20 00007fffffffefdd
        00007fffffffee28 0000000000000000
        00007fffffffee30 00007fffffffefe3
        00007fffffffee38 00007fffffffefe7
        00007fffffffee40 0000000000000000
        00007fffffffee48 0000000000000021
        00007fffffffee50 00007ffff7ffd000
        00007fffffffee58 0000000000000033
        00007fffffffee60 0000000000000d30
        00007fffffffee68 0000000000000010
        00007fffffffee70 00000000178bfbff
        00007fffffffee78 0000000000000006
        00007fffffffee80 0000000000001000
        00007fffffffee88 0000000000000011
        00007fffffffee90 0000000000000064
        00007fffffffee98 0000000000000003
        00007fffffffeea0 0000000000400040
        00007fffffffeea8 0000000000000004
        00007fffffffeeb0 0000000000000038
        00007fffffffeeb8 0000000000000005
        00007fffffffeec0 0000000000000005
        00007fffffffeec8 0000000000000007
        00007fffffffeed0 0000000000000000
        00007fffffffeed8 0000000000000008
        00007fffffffeee0 0000000000000000
        00007fffffffeee8 0000000000000009
        00007fffffffeef0 0000000000401000
        00007fffffffeef8 000000000000000b
        00007fffffffef00 0000000000000000
        00007fffffffef08 000000000000000c
        00007fffffffef10 0000000000000000
        00007fffffffef18 000000000000000d
        00007fffffffef20 0000000000000000
        00007fffffffef28 000000000000000e
        00007fffffffef30 0000000000000000
        00007fffffffef38 0000000000000017
        00007fffffffef40 0000000000000000
        00007fffffffef48 0000000000000019
        00007fffffffef50 00007fffffffefb9
        00007fffffffef58 000000000000001a
        00007fffffffef60 0000000000000002
        00007fffffffef68 000000000000001f
        00007fffffffef70 00007fffffffeff1
        00007fffffffef78 000000000000000f
        00007fffffffef80 00007fffffffefc9
        00007fffffffef88 000000000000001b
        00007fffffffef90 000000000000001c
        00007fffffffef98 000000000000001c
        00007fffffffefa0 0000000000000020
        00007fffffffefa8 0000000000000000
        00007fffffffefb0 0000000000000000
        00007fffffffefb8 ca58f8777cc74200
        00007fffffffefc0 34338f9f55d4eb69
        00007fffffffefc8 0034365f363878e3
        00007fffffffefd0 00706d75642f2e00
        00007fffffffefd8 7268740000656e6f
        00007fffffffefe0 5000313d41006565
        00007fffffffefe8 6e69622f3d485441
        00007fffffffeff0 00706d75642f2e00
        00007fffffffeff8 0000000000000000
        """;

    [Fact]
    public void Stack_is_byte_for_byte_the_one_Linux_builds()
    {
        var linux = new SortedDictionary<ulong, ulong>();
        foreach (var line in LinuxStack.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = line.Split(' ');
            linux[Convert.ToUInt64(parts[0], 16)] = Convert.ToUInt64(parts[1], 16);
        }
        ulong linuxRsp = linux.Keys.First(), top = linux.Keys.Last() + 8;
        Assert.Equal(0x7ffffffff000ul, top);
        var linuxMemory = new byte[top - linuxRsp];
        foreach (var (address, word) in linux) BinaryPrimitives.WriteUInt64LittleEndian(linuxMemory.AsSpan((int)(address - linuxRsp)), word);
        var seen = new Stack(linuxMemory, linuxRsp, top);

        // The same inputs: the strings, the random bytes and the kernel's auxv values.
        var values = new AuxiliaryValues
        {
            SysinfoEhdr = seen.Aux(AuxType.SysinfoEhdr), MinSigStackSize = seen.Aux(AuxType.MinSigStackSize),
            HwCap = seen.Aux(AuxType.HwCap), PageSize = seen.Aux(AuxType.PageSize), ClockTicks = seen.Aux(AuxType.ClockTicks),
            Phdr = seen.Aux(AuxType.Phdr), PhEnt = seen.Aux(AuxType.Phent), PhNum = seen.Aux(AuxType.Phnum),
            Base = seen.Aux(AuxType.Base), Flags = seen.Aux(AuxType.Flags), Entry = seen.Aux(AuxType.Entry),
            Uid = seen.Aux(AuxType.Uid), Euid = seen.Aux(AuxType.Euid), Gid = seen.Aux(AuxType.Gid), Egid = seen.Aux(AuxType.Egid),
            Secure = seen.Aux(AuxType.Secure), HwCap2 = seen.Aux(AuxType.HwCap2),
            RseqFeatureSize = seen.Aux(AuxType.RseqFeatureSize), RseqAlign = seen.Aux(AuxType.RseqAlign),
        };
        ulong randomAt = seen.Aux(AuxType.Random);
        byte[] random = linuxMemory[(int)(randomAt - linuxRsp)..(int)(randomAt - linuxRsp + 16)];
        byte[] args = Strings("./dump", "one", "", "three"), env = Strings("A=1", "PATH=/bin");

        var memory = new byte[4096];
        Assert.Equal(InitialStackError.None, InitialStack.Build(memory, top, args, 4, env, 2, "./dump"u8, random, in values, out ulong rsp));
        Assert.Equal(linuxRsp, rsp);
        Assert.Equal(linuxMemory, memory[^linuxMemory.Length..]);
    }
}
