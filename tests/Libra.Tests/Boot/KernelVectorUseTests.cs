using System.Diagnostics;
using System.Text.RegularExpressions;
using Xunit;

namespace Libra.Tests.Boot;

// The SYSCALL path saves only XMM0-15 of the application's vector state and leaves x87, MXCSR and
// the AVX upper halves in the CPU (LibraKernel/Arch/X64/UserVectorState.cs). That is right only
// while the kernel's code touches nothing else: no x87 or MMX instruction, no MXCSR write, no VEX
// encoding (which zeroes the upper halves), no YMM or ZMM register. This reads the built image.
public class KernelVectorUseTests
{
    // The boot stub's fninit, the entry stubs' own saves and restores of the whole state, and the
    // FS segment prefix objdump shows alone where it decodes the 32-bit boot stub as 64-bit code.
    static readonly HashSet<string> Allowed = ["fs", "fninit", "fxsave64", "fxrstor64", "xsave64", "xrstor64", "fxsave", "fxrstor", "xsave", "xrstor"];

    [Fact]
    public void Kernel_code_touches_no_vector_state_but_the_XMM_registers()
    {
        var start = new ProcessStartInfo("objdump", ["-d", "--no-show-raw-insn", LibraBoot.KernelImage])
        {
            RedirectStandardOutput = true,
        };
        using Process objdump = Process.Start(start)!;
        var offending = new List<string>();
        int instructions = 0;
        string? line;
        while ((line = objdump.StandardOutput.ReadLine()) is not null)
        {
            // "ffffffff80101234:\tmovaps %xmm0,(%rsp)"
            string[] columns = line.Split('\t');
            if (columns.Length < 2 || !columns[0].TrimEnd().EndsWith(':')) continue;
            instructions++;
            string text = columns[1].Trim();
            string mnemonic = text.Split(' ', 2)[0];
            if (Allowed.Contains(mnemonic)) continue;
            bool x87OrMmx = Regex.IsMatch(mnemonic, "^f[a-z0-9]*$") || mnemonic == "emms" || Regex.IsMatch(text, @"%(st|mm)\b|%mm[0-7]|%st\(");
            bool avx = mnemonic.StartsWith('v') && mnemonic is not ("verr" or "verw") || Regex.IsMatch(text, "%[yz]mm");
            bool mxcsrWrite = mnemonic == "ldmxcsr";
            if (x87OrMmx || avx || mxcsrWrite) offending.Add(line.Trim());
        }
        objdump.WaitForExit();
        Assert.Equal(0, objdump.ExitCode);
        Assert.True(instructions > 10_000, $"objdump listed only {instructions} instructions");
        Assert.True(offending.Count == 0, "the kernel uses vector state the SYSCALL path does not save:\n" + string.Join('\n', offending.Take(20)));
    }
}
