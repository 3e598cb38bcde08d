using System.Runtime;
using System.Runtime.CompilerServices;

namespace Libra.Arch.X64
{
    // The privileged instructions C# cannot express, implemented in Arch/X64/Native.S.
    internal static unsafe class Native
    {
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "libra_memmove")]
        internal static extern void* MemMove(void* destination, void* source, nuint length);

        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "libra_memset")]
        internal static extern void* MemSet(void* destination, int value, nuint length);

        // Arch/X64/UserCopy.S: copies whose page faults on the application's memory are recovered.
        // Bytes not copied (0 when all were).
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "libra_user_copy")]
        internal static extern ulong UserCopy(void* destination, void* source, ulong length);

        // Copies a NUL-terminated string up to `capacity` bytes: the index of its NUL (copied too),
        // `capacity` when there is none within it, -1 when a page fault stopped it.
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "libra_user_string")]
        internal static extern long UserString(byte* destination, void* source, ulong capacity);

        // Where a fault at `rip` resumes when rip is an instruction of a user copy; 0 otherwise.
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "libra_user_fixup")]
        internal static extern ulong UserCopyFixup(ulong rip);

        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "libra_outb")]
        internal static extern void OutByte(ushort port, byte value);

        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "libra_inb")]
        internal static extern byte InByte(ushort port);

        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "libra_outl")]
        internal static extern void OutDword(ushort port, uint value);

        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "libra_inl")]
        internal static extern uint InDword(ushort port);

        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "libra_rdtsc")]
        internal static extern ulong ReadTsc();

        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "libra_rdmsr")]
        internal static extern ulong ReadMsr(uint msr);

        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "libra_wrmsr")]
        internal static extern void WriteMsr(uint msr, ulong value);

        // Fills regs[0..3] with eax, ebx, ecx, edx of CPUID(leaf, subleaf).
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "libra_cpuid")]
        internal static extern void CpuId(uint leaf, uint subleaf, uint* regs);

        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "libra_read_cr0")]
        internal static extern ulong ReadCr0();

        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "libra_read_cr2")]
        internal static extern ulong ReadCr2();

        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "libra_read_cr3")]
        internal static extern ulong ReadCr3();

        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "libra_write_cr3")]
        internal static extern void WriteCr3(ulong value);

        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "libra_read_cr4")]
        internal static extern ulong ReadCr4();

        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "libra_lgdt")]
        internal static extern void LoadGdt(void* descriptor, ushort codeSelector, ushort dataSelector);

        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "libra_lidt")]
        internal static extern void LoadIdt(void* descriptor);

        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "libra_ltr")]
        internal static extern void LoadTaskRegister(ushort selector);

        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "libra_invlpg")]
        internal static extern void InvalidatePage(ulong address);

        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "libra_sti")]
        internal static extern void EnableInterrupts();

        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "libra_cli")]
        internal static extern void DisableInterrupts();

        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "libra_hlt")]
        internal static extern void Halt();

        // Enables interrupts and halts in one step (sti; hlt), then disables them again: the idle
        // loop's wait, which no wake-up between the check and the halt can slip past.
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "libra_wait_for_interrupt")]
        internal static extern void WaitForInterrupt();

        // A full fence, for memory a device reads (virtio rings) (Intel SDM vol. 2B MFENCE).
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "libra_mfence")]
        internal static extern void MemoryFence();

        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "libra_pause")]
        internal static extern void Pause();

        // RDRAND (Intel SDM vol. 2B); callers check Cpu.HasRdrand first.
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "libra_rdrand")]
        internal static extern ulong RdRand();

        // Stores the caller's resume address, its RSP after the return, and RBP in context[0..2].
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "libra_capture_context")]
        internal static extern void CaptureContext(ulong* context);

        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "libra_image_layout")]
        internal static extern Memory.ImageLayout* GetImageLayout();

        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "libra_interrupt_stub_table")]
        internal static extern ulong* GetInterruptStubs();

        // The kernel's context switch (Arch/X64/Interrupts.S): saves this stack's RSP in *saveRsp and
        // resumes the one at newRsp.
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "libra_switch")]
        internal static extern void Switch(ulong* saveRsp, ulong newRsp);

        // Completes a system call's save of the user vector state in its area (UserVectorState.cs).
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "libra_save_user_vector_state")]
        internal static extern void SaveUserVectorState(byte* area);

        // Where the SYSCALL entry finds the current thread's kernel stack top.
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "libra_kernel_rsp_slot")]
        internal static extern ulong* KernelRspSlot();

        // Fills entries[0] = the SYSCALL entry, entries[1] = the common interrupt exit.
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "libra_entry_points")]
        internal static extern void GetEntryPoints(ulong* entries);

        // Raises the CPU fault a self-test asks for (0 = #PF, 1 = #DE, 2 = #UD, 3 = #BP, 4 = #GP).
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "libra_raise_fault")]
        internal static extern void RaiseFault(int kind);
    }
}
