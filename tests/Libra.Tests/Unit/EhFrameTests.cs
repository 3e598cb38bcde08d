using System.Diagnostics;
using Libra.Diagnostics;
using Xunit;

namespace Libra.Tests.Unit;

public unsafe class EhFrameTests
{
    private const ulong SectionAddress = 0xffffffff8010d000;
    private const ulong FunctionStart = 0xffffffff80107000;

    // A CIE shaped like ILC's ("zLR", code align 1, data align -8, CFA = rsp + 8, rip at cfa-8) and one
    // FDE for a function doing `push rbp` (+1), `mov rbp, rsp` (+3), then 0x40 bytes of body.
    private static byte[] Section()
    {
        var s = new MemoryStream();
        var w = new BinaryWriter(s);
        byte[] cie = [0, 0, 0, 0, 1, (byte)'z', (byte)'L', (byte)'R', 0, 1, 0x78, 16, 2, 0x1b, 0x1b, 0x0c, 7, 8, 0x90, 1, 0, 0];
        w.Write((uint)cie.Length); w.Write(cie);
        long fdeStart = s.Position;
        var fde = new MemoryStream();
        var f = new BinaryWriter(fde);
        f.Write((uint)fdeStart);                                           // from this field back to the CIE's id field (offset 4)
        long pcField = fdeStart + 8;
        f.Write(unchecked((int)(FunctionStart - (SectionAddress + (ulong)pcField))));   // pcrel sdata4
        f.Write((int)0x44);                                                // range
        f.Write((byte)4); f.Write(0);                                      // augmentation data: LSDA
        f.Write([0x41, 0x0e, 16, 0x86, 2, 0x43, 0x0d, 6, 0, 0]);            // advance 1; cfa+16; rbp at cfa-16; advance 3; cfa=rbp
        w.Write((uint)fde.Length); w.Write(fde.ToArray());
        w.Write(0u);
        return s.ToArray();
    }

    private static UnwindRule? Rule(byte[] section, ulong pc)
    {
        fixed (byte* p = section)
        {
            var frames = new EhFrame(p, (ulong)section.Length, SectionAddress);
            return frames.FindRule(pc, out var rule) ? rule : null;
        }
    }

    [Fact]
    public void At_entry_the_return_address_is_just_above_rsp()
    {
        var rule = Rule(Section(), FunctionStart)!.Value;
        Assert.Equal((UnwindRule.Rsp, 8L, false, -8L), (rule.CfaRegister, rule.CfaOffset, rule.RbpSaved, rule.ReturnAddressOffset));
    }

    [Fact]
    public void After_push_rbp_the_cfa_moves_and_rbp_is_saved()
    {
        var rule = Rule(Section(), FunctionStart + 1)!.Value;
        Assert.Equal((UnwindRule.Rsp, 16L, true, -16L), (rule.CfaRegister, rule.CfaOffset, rule.RbpSaved, rule.RbpOffset));
    }

    [Fact]
    public void In_the_body_the_cfa_is_based_on_rbp()
    {
        var rule = Rule(Section(), FunctionStart + 0x30)!.Value;
        Assert.Equal((UnwindRule.Rbp, 16L, true), (rule.CfaRegister, rule.CfaOffset, rule.RbpSaved));
    }

    [Fact]
    public void Addresses_outside_every_FDE_have_no_rule()
    {
        Assert.Null(Rule(Section(), FunctionStart + 0x44));
        Assert.Null(Rule(Section(), FunctionStart - 1));
    }
}
