using System;

namespace Libra.Diagnostics
{
    // Number formatting into a caller's buffer (shared by the kernel log and host tests).
    internal static class NumberText
    {
        // Writes value right-aligned at the end of buffer; returns the digit count.
        internal static int FormatDecimal(ulong value, Span<char> buffer)
        {
            int at = buffer.Length;
            do
            {
                buffer[--at] = (char)('0' + (int)(value % 10));
                value /= 10;
            } while (value != 0);
            return buffer.Length - at;
        }

        // Parses an unsigned decimal or 0x-prefixed hexadecimal number; false when malformed or too large.
        internal static bool TryParse(ReadOnlySpan<char> text, out ulong value)
        {
            value = 0;
            if (text.Length == 0) return false;
            bool hex = text.Length > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
            int start = hex ? 2 : 0;
            ulong radix = hex ? 16ul : 10ul;
            for (int i = start; i < text.Length; i++)
            {
                char c = text[i];
                ulong digit;
                if (c >= '0' && c <= '9') digit = (ulong)(c - '0');
                else if (hex && c >= 'a' && c <= 'f') digit = (ulong)(c - 'a' + 10);
                else if (hex && c >= 'A' && c <= 'F') digit = (ulong)(c - 'A' + 10);
                else return false;
                if (value > (ulong.MaxValue - digit) / radix) return false;
                value = value * radix + digit;
            }
            return true;
        }
    }
}
