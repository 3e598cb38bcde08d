namespace Libra.Arch.X64
{
    // What Arch/X64/Interrupts.S leaves on the stack: the general registers it pushed (r15 last),
    // the vector and error code, then the CPU's own frame (Intel SDM vol. 3A §6.14.1).
    internal struct InterruptFrame
    {
        // The vector the SYSCALL entry records, past the IDT's 256.
        internal const ulong SyscallVector = 0x100;
        // Bytes from a ring-3 entry's frame to the top of its kernel stack: 22 quadwords.
        internal const ulong SizeOnStack = 22 * 8;
        // The FXSAVE image just below the frame (Intel SDM vol. 1 §10.5.1).
        internal const ulong FxSaveSize = 512;

        internal ulong R15, R14, R13, R12, R11, R10, R9, R8, Rbp, Rdi, Rsi, Rdx, Rcx, Rbx, Rax;
        internal ulong Vector, ErrorCode;
        internal ulong Rip, Cs, Rflags, Rsp, Ss;

        internal bool FromUser => (Cs & 3) == 3;
    }
}
