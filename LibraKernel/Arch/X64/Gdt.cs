using Libra.Memory;

namespace Libra.Arch.X64
{
    // The GDT and the TSS (Intel SDM vol. 3A §3.4.5, §8.2.3). Selectors are laid out for SYSCALL/SYSRET:
    // kernel code, kernel data, then user data and user code (STAR wants user SS = base + 8, CS = base + 16).
    internal static unsafe class Gdt
    {
        internal const ushort KernelCode = 0x08, KernelData = 0x10, UserData = 0x18 | 3, UserCode = 0x20 | 3, TaskState = 0x28;

        // The 64-bit TSS (104 bytes, 4-byte packed): RSP0..2 at offset 4 for privilege changes, IST1..7
        // at offset 36 for the interrupt stacks, the I/O map base at offset 102.
        private struct Tss
        {
            internal const int Size = 104, RspOffset = 4, IstOffset = 36, IoMapBaseOffset = 102;
            internal fixed byte Bytes[Size];
        }

        private struct Table { internal fixed ulong Entries[7]; }
        private static Table s_table;
        private static Tss s_tss;

        internal static void Initialize()
        {
            fixed (ulong* gdt = s_table.Entries)
            fixed (Tss* tss = &s_tss)
            {
                gdt[0] = 0;
                gdt[1] = 0x00af9a000000ffff;     // kernel code: present, ring 0, executable, long mode
                gdt[2] = 0x00cf92000000ffff;     // kernel data
                gdt[3] = 0x00cff2000000ffff;     // user data: ring 3
                gdt[4] = 0x00affa000000ffff;     // user code: ring 3, long mode
                ulong tssBase = (ulong)tss, limit = Tss.Size - 1;
                gdt[5] = (limit & 0xffff) | ((tssBase & 0xffffff) << 16) | (0x89ul << 40) | (((limit >> 16) & 0xf) << 48) | (((tssBase >> 24) & 0xff) << 56);
                gdt[6] = tssBase >> 32;
                *(ushort*)(tss->Bytes + Tss.IoMapBaseOffset) = Tss.Size;

                byte* descriptor = stackalloc byte[10];
                *(ushort*)descriptor = 7 * 8 - 1;
                *(ulong*)(descriptor + 2) = (ulong)gdt;
                Native.LoadGdt(descriptor, KernelCode, KernelData);
                Native.LoadTaskRegister(TaskState);
            }
        }

        // Points interrupt stack `ist` (1..7) at the top of a stack.
        internal static void SetInterruptStack(int ist, ulong top)
        {
            fixed (Tss* tss = &s_tss) *(ulong*)(tss->Bytes + Tss.IstOffset + (ist - 1) * 8) = top;
        }

        // The stack the CPU switches to when an interrupt or exception arrives from ring 3.
        internal static void SetKernelStack(ulong top)
        {
            fixed (Tss* tss = &s_tss) *(ulong*)(tss->Bytes + Tss.RspOffset) = top;
        }
    }
}
