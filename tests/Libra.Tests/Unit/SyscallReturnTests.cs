using Libra.Arch.X64;
using Xunit;

namespace Libra.Tests.Unit;

// When a system call may leave with SYSRET instead of IRETQ (LibraKernel/Arch/X64/SyscallReturn.cs).
public class SyscallReturnTests
{
    const ulong Rip = 0x401234, Flags = 0x246;       // IF, ZF, PF: what a syscall usually leaves in R11

    [Fact]
    public void A_call_returning_where_SYSCALL_left_it_uses_SYSRET() =>
        Assert.True(SyscallReturn.CanSysret(Rip, Flags, rcx: Rip, r11: Flags, syscallSegments: true));

    [Fact]
    public void A_frame_rewritten_for_a_signal_handler_needs_IRETQ() =>
        Assert.False(SyscallReturn.CanSysret(0x402000, Flags, rcx: Rip, r11: Flags, syscallSegments: true));

    [Fact]
    public void A_context_from_rt_sigreturn_whose_RCX_or_R11_differ_needs_IRETQ()
    {
        Assert.False(SyscallReturn.CanSysret(Rip, Flags, rcx: 7, r11: Flags, syscallSegments: true));
        Assert.False(SyscallReturn.CanSysret(Rip, Flags, rcx: Rip, r11: 0x202, syscallSegments: true));
    }

    [Fact]
    public void Other_segments_than_the_syscalls_need_IRETQ() =>
        Assert.False(SyscallReturn.CanSysret(Rip, Flags, rcx: Rip, r11: Flags, syscallSegments: false));

    [Theory]
    [InlineData(0x00007ffffffff000ul)]      // the last page below the canonical boundary (Linux's TASK_SIZE_MAX)
    [InlineData(0x0000800000000000ul)]      // non-canonical: Intel's SYSRET would #GP in ring 0
    [InlineData(0xffffffff80000000ul)]      // the kernel's half
    public void A_return_address_outside_user_space_needs_IRETQ(ulong rip) =>
        Assert.False(SyscallReturn.CanSysret(rip, Flags, rcx: rip, r11: Flags, syscallSegments: true));

    [Theory]
    [InlineData(0x100ul)]       // TF: SYSRET would trap at once after returning
    [InlineData(0x10000ul)]     // RF: SYSRET cannot restore it
    public void Trap_or_resume_flag_needs_IRETQ(ulong flag) =>
        Assert.False(SyscallReturn.CanSysret(Rip, Flags | flag, rcx: Rip, r11: Flags | flag, syscallSegments: true));
}
