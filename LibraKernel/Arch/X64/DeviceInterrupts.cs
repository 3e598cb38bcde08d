namespace Libra.Arch.X64
{
    // The vectors devices interrupt on (MSI-X messages name an IDT vector directly: PCI Local Bus 3.0
    // §6.8.2, Intel SDM vol. 3A §11.11.2) and the handler registered for each. Interrupts.Dispatch
    // sends a vector in this range here: end of interrupt first, then the handler, with interrupts
    // off on the interrupted thread's kernel stack, so a handler may wake threads but never blocks.
    // Each vector counts the interrupts it took, for the exit log.
    internal static unsafe class DeviceInterrupts
    {
        // Above the PIC's remapped 0x20..0x2f (the APIC timer is 0x20) and below the spurious 0xff.
        internal const int FirstVector = 0x30, VectorCount = 16;

        private struct Table
        {
            internal fixed ulong Handlers[VectorCount];
            internal fixed ulong Taken[VectorCount];
        }

        private static Table s_table;
        private static ulong s_unclaimed;

        // Registers `handler` for `vector`; false when the vector is outside the device range or has
        // a handler already.
        internal static bool Register(byte vector, delegate*<void> handler)
        {
            int index = vector - FirstVector;
            if (index < 0 || index >= VectorCount || handler == null || s_table.Handlers[index] != 0) return false;
            s_table.Handlers[index] = (ulong)handler;
            return true;
        }

        // Registers `handler` on the first free vector and returns it; 0 when none is left.
        internal static byte Allocate(delegate*<void> handler)
        {
            for (int index = 0; index < VectorCount; index++)
                if (s_table.Handlers[index] == 0 && Register((byte)(FirstVector + index), handler)) return (byte)(FirstVector + index);
            return 0;
        }

        internal static bool Covers(int vector) => vector >= FirstVector && vector < FirstVector + VectorCount;

        // From Interrupts.Dispatch for a vector Covers: acknowledges it and runs its handler.
        internal static void Dispatch(int vector)
        {
            int index = vector - FirstVector;
            LocalApic.EndOfInterrupt();
            ulong handler = s_table.Handlers[index];
            if (handler == 0) { s_unclaimed++; return; }
            s_table.Taken[index]++;
            ((delegate*<void>)handler)();
        }

        // Interrupts taken on `vector` (0 for a vector outside the range).
        internal static ulong Taken(byte vector)
        {
            int index = vector - FirstVector;
            return index < 0 || index >= VectorCount ? 0 : s_table.Taken[index];
        }

        // Interrupts on device vectors nobody registered (a device misprogrammed, or one left over
        // from the firmware).
        internal static ulong Unclaimed => s_unclaimed;
    }
}
