using Libra.Arch.X64;

namespace Libra.Drivers
{
    // QEMU's debug console (-debugcon, I/O port 0xE9): the kernel log, on a channel of its own so
    // the application's stdout and stderr stay exactly what it wrote. One OUT per byte, no status.
    internal static class DebugConsole
    {
        private const ushort Port = 0xe9;

        internal static void Write(byte value) => Native.OutByte(Port, value);
    }
}
