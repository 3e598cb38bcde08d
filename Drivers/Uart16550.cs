using Libra.Arch.X64;

namespace Libra.Drivers
{
    // 16550 UARTs, polled at 115200 baud 8N1 with no interrupts: COM1 (I/O 0x3F8) carries the
    // application's stdout and COM2 (0x2F8) its stderr.
    internal static class Uart16550
    {
        internal const ushort Com1 = 0x3f8, Com2 = 0x2f8;
        private const ushort Data = 0, InterruptEnable = 1, FifoControl = 2, LineControl = 3, ModemControl = 4, LineStatus = 5, Scratch = 7;
        private const byte TransmitHoldingEmpty = 0x20;

        private static bool s_com1, s_com2;

        internal static void Initialize()
        {
            s_com1 = Initialize(Com1);
            s_com2 = Initialize(Com2);
        }

        private static bool Initialize(ushort port)
        {
            Native.OutByte((ushort)(port + Scratch), 0x5a);
            if (Native.InByte((ushort)(port + Scratch)) != 0x5a) return false;
            Native.OutByte((ushort)(port + InterruptEnable), 0);
            Native.OutByte((ushort)(port + LineControl), 0x80);      // DLAB: the next two registers are the divisor
            Native.OutByte((ushort)(port + Data), 1);                // 115200 / 1
            Native.OutByte((ushort)(port + InterruptEnable), 0);
            Native.OutByte((ushort)(port + LineControl), 0x03);      // 8 bits, no parity, one stop bit
            Native.OutByte((ushort)(port + FifoControl), 0xc7);      // enable and clear the FIFOs
            Native.OutByte((ushort)(port + ModemControl), 0x03);     // DTR, RTS
            return true;
        }

        internal static bool IsPresent(ushort port) => port == Com1 ? s_com1 : port == Com2 && s_com2;

        internal static void Write(ushort port, byte value)
        {
            if (!IsPresent(port)) return;
            while ((Native.InByte((ushort)(port + LineStatus)) & TransmitHoldingEmpty) == 0) Native.Pause();
            Native.OutByte((ushort)(port + Data), value);
        }
    }
}
