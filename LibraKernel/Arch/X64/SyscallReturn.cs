using Libra.Memory;

namespace Libra.Arch.X64
{
    // How a system call leaves the kernel: the bits libra_syscall hands back to its stub
    // (Arch/X64/Interrupts.S). SYSRET (Intel SDM vol. 2B, "SYSRET") is a few loads where IRETQ pops
    // and checks a whole frame, but it can return only to what SYSCALL left: RIP from RCX, RFLAGS
    // from R11, the CS and SS that STAR names. Compiled into the host tests (SyscallReturnTests).
    internal static class SyscallReturn
    {
        // The thread's whole vector state is in its area (it was switched out, or a signal, clone or
        // rt_sigreturn used the area): XRSTOR it; otherwise only XMM0-15 come back (UserVectorState.cs).
        internal const int RestoreWholeVectorState = 1;
        // The frame cannot be returned to with SYSRET: IRETQ.
        internal const int NeedsIret = 2;

        private const ulong TrapFlag = 0x100, ResumeFlag = 0x10000;

        // Linux's rules for the same choice (arch/x86/entry/common.c, do_syscall_64's SYSRET test):
        // RCX = RIP and R11 = RFLAGS (a signal handler's frame or rt_sigreturn's context breaks that);
        // the syscall's own user CS and SS; RIP below the top of user space, because Intel's SYSRET
        // with a non-canonical RCX takes its #GP in ring 0 on the user's RSP (CVE-2012-0217); and
        // neither RF (SYSRET cannot restore it) nor TF (SYSRET would trap right after it returns).
        internal static bool CanSysret(ulong rip, ulong rflags, ulong rcx, ulong r11, bool syscallSegments) =>
            rcx == rip && r11 == rflags && syscallSegments && rip < Layout.UserEnd &&
            (rflags & (TrapFlag | ResumeFlag)) == 0;
    }
}
