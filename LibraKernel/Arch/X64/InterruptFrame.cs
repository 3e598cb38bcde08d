namespace Libra.Arch.X64
{
    // What Arch/X64/Interrupts.S leaves on the stack: the general registers it pushed (r15 last),
    // the vector and error code, then the CPU's own frame (Intel SDM vol. 3A §6.14.1).
    internal struct InterruptFrame
    {
        internal ulong R15, R14, R13, R12, R11, R10, R9, R8, Rbp, Rdi, Rsi, Rdx, Rcx, Rbx, Rax;
        internal ulong Vector, ErrorCode;
        internal ulong Rip, Cs, Rflags, Rsp, Ss;
    }
}
