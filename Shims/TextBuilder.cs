namespace Libra.Shims
{
    // Text for synthetic files, written into a caller's byte buffer without allocation; output
    // past the end is dropped and Overflowed says so.
    internal unsafe struct TextBuilder
    {
        private byte* _buffer;
        private ulong _capacity;
        internal ulong Length;
        internal bool Overflowed;

        internal TextBuilder(byte* buffer, ulong capacity)
        {
            _buffer = buffer;
            _capacity = capacity;
            Length = 0;
            Overflowed = false;
        }

        internal void Append(byte value)
        {
            if (Length < _capacity) _buffer[Length++] = value;
            else Overflowed = true;
        }

        internal void Append(string text)
        {
            for (int i = 0; i < text.Length; i++) Append((byte)text[i]);
        }

        internal void AppendAscii(byte* text, int maxLength)
        {
            for (int i = 0; i < maxLength && text[i] != 0; i++) Append(text[i]);
        }

        internal void Decimal(ulong value, int minimumWidth = 0)
        {
            byte* digits = stackalloc byte[20];
            int count = 0;
            do { digits[count++] = (byte)('0' + value % 10); value /= 10; } while (value != 0);
            for (int i = count; i < minimumWidth; i++) Append((byte)' ');
            while (count > 0) Append(digits[--count]);
        }

        // Spaces up to `width` bytes written since `from` (printf's %-Ns for the field that began there).
        internal void PadFrom(ulong from, int width)
        {
            while (Length - from < (ulong)width && !Overflowed) Append((byte)' ');
        }

        internal void Hex(ulong value, int minimumDigits)
        {
            byte* digits = stackalloc byte[16];
            int count = 0;
            do { digits[count++] = (byte)"0123456789abcdef"[(int)(value & 0xf)]; value >>= 4; } while (value != 0);
            for (int i = count; i < minimumDigits; i++) Append((byte)'0');
            while (count > 0) Append(digits[--count]);
        }
    }
}
