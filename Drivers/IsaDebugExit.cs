using Libra.Arch.X64;

namespace Libra.Drivers
{
    // QEMU's isa-debug-exit device (-device isa-debug-exit,iobase=0xf4,iosize=4): writing v makes QEMU
    // exit with status (v << 1) | 1. Libra writes status + 1, so QEMU's own failure status (1) never
    // looks like a guest's; qemu/Libra.Qemu maps the code back (statuses 0..126 fit in 8 bits).
    internal static class IsaDebugExit
    {
        private const ushort Port = 0xf4;

        internal static void Exit(int status)
        {
            Native.OutDword(Port, (uint)status + 1);
            // Without the device (another VMM), stop here with interrupts off.
            while (true)
            {
                Native.DisableInterrupts();
                Native.Halt();
            }
        }
    }
}
