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
        // The FPU/SSE/AVX state area below the frame: an XSAVE image of x87|SSE|AVX (Intel SDM vol. 1
        // §13.4) when the kernel enabled XSAVE, else a 512-byte FXSAVE image (§10.5.1), in 1 KiB
        // aligned to 64 bytes; its first 512 bytes are the FXSAVE layout either way.
        internal const ulong StateAreaSize = 1024, StateAreaAlignment = 64, FxSaveSize = 512;
        internal const int XsaveHeaderOffset = 512;

        // Where the entry stubs put the state area for a frame.
        internal static unsafe byte* StateArea(InterruptFrame* frame) =>
            (byte*)(((ulong)frame - StateAreaSize) & ~(StateAreaAlignment - 1));

        // A fresh state: FCW 0x37F and MXCSR 0x1F80 (Linux's fpstate_init), every XSAVE component in
        // its initial configuration (XSTATE_BV = 0).
        internal static unsafe void ResetState(byte* area)
        {
            Native.MemSet(area, 0, (nuint)StateAreaSize);
            *(ushort*)area = 0x37f;
            *(uint*)(area + 24) = 0x1f80;
        }

        internal ulong R15, R14, R13, R12, R11, R10, R9, R8, Rbp, Rdi, Rsi, Rdx, Rcx, Rbx, Rax;
        internal ulong Vector, ErrorCode;
        internal ulong Rip, Cs, Rflags, Rsp, Ss;

        internal bool FromUser => (Cs & 3) == 3;
    }
}
