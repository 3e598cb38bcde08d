using Libra.Arch.X64;

namespace Libra.Drivers
{
    // The 16550 UART at COM1 (I/O 0x3F8): the console. Polled, 115200 baud 8N1, no interrupts.
    internal static class Uart16550
    {
        private const ushort Base = 0x3f8;
        private const ushort Data = Base + 0, InterruptEnable = Base + 1, FifoControl = Base + 2,
            LineControl = Base + 3, ModemControl = Base + 4, LineStatus = Base + 5, Scratch = Base + 7;
        private const byte TransmitHoldingEmpty = 0x20;

        private static bool s_present;

        internal static void Initialize()
        {
            Native.OutByte(Scratch, 0x5a);
            s_present = Native.InByte(Scratch) == 0x5a;
            if (!s_present) return;
            Native.OutByte(InterruptEnable, 0);
            Native.OutByte(LineControl, 0x80);      // DLAB: the next two registers are the divisor
            Native.OutByte(Data, 1);                // 115200 / 1
            Native.OutByte(InterruptEnable, 0);
            Native.OutByte(LineControl, 0x03);      // 8 bits, no parity, one stop bit
            Native.OutByte(FifoControl, 0xc7);      // enable and clear the FIFOs
            Native.OutByte(ModemControl, 0x03);     // DTR, RTS
        }

        internal static void Write(byte value)
        {
            if (!s_present) return;
            while ((Native.InByte(LineStatus) & TransmitHoldingEmpty) == 0) Native.Pause();
            Native.OutByte(Data, value);
        }
    }
}
