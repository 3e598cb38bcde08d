using Libra.Threads;

namespace Libra.Arch.X64
{
    // The application's FPU/SSE/AVX state while a thread is in a system call. The kernel's code
    // (NativeAOT, x86-64-v2) uses XMM registers for struct copies and zeroing, and nothing else of
    // the vector state: no x87 or MMX, no MXCSR writes, no VEX encodings, so the AVX upper halves
    // stay as they are (legacy SSE leaves them alone, Intel SDM vol. 1 §14.1.3). The syscall entry
    // therefore saves only XMM0-15 into the thread's state area and leaves x87, MXCSR and the upper
    // halves in the CPU (Thread.UserVectorsLive). Whatever needs the whole state in the area (a
    // switch to another thread, a signal frame, clone, rt_sigreturn) calls Save first; the syscall
    // then leaves with XRSTOR instead of restoring the XMM registers (SyscallReturn). Linux keeps
    // the whole state in the registers the same way and saves it at a switch (TIF_NEED_FPU_LOAD).
    // tests/Libra.Tests/Boot/KernelVectorUseTests.cs pins what the kernel's code may use.
    internal static unsafe class UserVectorState
    {
        // Puts the current thread's whole user vector state in its area, if only XMM0-15 are there.
        // Clobbers the caller's XMM registers (caller-saved in the SysV ABI, as for any call).
        internal static void Save(Thread* self)
        {
            if (self == null || !self->UserVectorsLive) return;
            Native.SaveUserVectorState(self->UserFxState);
            self->UserVectorsLive = false;
        }
    }
}
