namespace Libra.Arch.X64
{
    // The interrupt descriptor table (Intel SDM vol. 3A §6.14.1): every vector goes to its stub in
    // Arch/X64/Interrupts.S. Each exception runs on an interrupt stack of its own kind, so a fault
    // on a broken kernel stack (or a double fault) still has a good stack to report from.
    internal static unsafe class Idt
    {
        internal const int DoubleFaultStack = 1, NmiStack = 2, MachineCheckStack = 3;
        internal const int FirstExternalVector = 32;

        private struct Table { internal fixed ulong Gates[256 * 2]; }
        private static Table s_table;

        internal static void Initialize()
        {
            ulong* stubs = Native.GetInterruptStubs();
            fixed (ulong* gates = s_table.Gates)
            {
                for (int vector = 0; vector < 256; vector++)
                {
                    // Everything else runs on the current kernel stack (TSS.RSP0 from ring 3), so a
                    // thread may block or be switched out inside a fault or the timer interrupt; a
                    // kernel stack overflow still reports, as a double fault on a stack of its own.
                    int ist = vector switch
                    {
                        8 => DoubleFaultStack,
                        2 => NmiStack,
                        18 => MachineCheckStack,
                        _ => 0,
                    };
                    // int3 and into may be used from ring 3 (DPL 3); anything else from there is a #GP.
                    ulong dpl = vector == 3 || vector == 4 ? 3ul : 0ul;
                    ulong handler = stubs[vector];
                    // Present, DPL 0, 64-bit interrupt gate (type 0xE): IF is cleared on entry.
                    gates[vector * 2] = (handler & 0xffff) | ((ulong)Gdt.KernelCode << 16) | ((ulong)ist << 32) |
                        ((0x8eul | (dpl << 5)) << 40) | (((handler >> 16) & 0xffff) << 48);
                    gates[vector * 2 + 1] = handler >> 32;
                }
                byte* descriptor = stackalloc byte[10];
                *(ushort*)descriptor = 256 * 16 - 1;
                *(ulong*)(descriptor + 2) = (ulong)gates;
                Native.LoadIdt(descriptor);
            }
        }
    }
}
