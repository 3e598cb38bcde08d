using System;
using Libra.Drivers;

namespace Libra.Diagnostics
{
    // The kernel log: text and numbers to the debug console (Drivers/DebugConsole.cs) with no allocation, usable from any context,
    // including the panic path. Lines the kernel writes start with "libra: ".
    internal static class KernelLog
    {
        internal static void Write(string text)
        {
            for (int i = 0; i < text.Length; i++) Write(text[i]);
        }

        internal static void Write(ReadOnlySpan<char> text)
        {
            for (int i = 0; i < text.Length; i++) Write(text[i]);
        }

        internal static unsafe void WriteAscii(byte* text, int maxLength)
        {
            for (int i = 0; i < maxLength && text[i] != 0; i++) Write((char)text[i]);
        }

        internal static void Write(char c)
        {
            DebugConsole.Write(c < 0x80 ? (byte)c : (byte)'?');
        }

        internal static void Line(string text)
        {
            Write("libra: ");
            Write(text);
            Write('\n');
        }

        internal static void Begin() => Write("libra: ");

        internal static void End() => Write('\n');

        internal static void Hex(ulong value, int digits = 16)
        {
            Write("0x");
            for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) Write("0123456789abcdef"[(int)((value >> shift) & 0xf)]);
        }

        internal static void Decimal(ulong value)
        {
            Span<char> buffer = stackalloc char[20];
            int n = NumberText.FormatDecimal(value, buffer);
            Write(buffer.Slice(20 - n));
        }

        // Writes value/1000 with three decimals, e.g. milliseconds from microseconds.
        internal static void Thousandths(ulong value)
        {
            Decimal(value / 1000);
            Write('.');
            ulong rest = value % 1000;
            Write((char)('0' + rest / 100));
            Write((char)('0' + rest / 10 % 10));
            Write((char)('0' + rest % 10));
        }

        internal static void Size(ulong bytes)
        {
            if (bytes >= 1ul << 30 && bytes % (1ul << 30) == 0) { Decimal(bytes >> 30); Write(" GiB"); }
            else if (bytes >= 1ul << 20) { Decimal(bytes >> 20); Write(" MiB"); }
            else { Decimal(bytes >> 10); Write(" KiB"); }
        }
    }
}
