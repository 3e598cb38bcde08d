using Libra.Arch.X64;

namespace Libra.Shims
{
    // A syscall's six arguments in the x86-64 order (rdi, rsi, rdx, r10, r8, r9) and the caller's
    // saved frame, for the few calls that change it (rt_sigreturn, clone).
    internal unsafe struct SyscallArgs
    {
        internal ulong A0, A1, A2, A3, A4, A5;
        internal InterruptFrame* Frame;

        internal int Int0 => (int)A0;
        internal int Int1 => (int)A1;
        internal int Int2 => (int)A2;
        internal int Int3 => (int)A3;
    }
}
