using System;

namespace Libra.Loader
{
    // The application's argv and environment as the command line carries them: `libra.app=NAME`
    // (argv[0] and /proc/self/exe become "/NAME"; an absolute path, as an image names its
    // application, stays as it is), `libra.env=NAME=VALUE` once per variable (a later one for the
    // same NAME replaces the earlier), and every word after a lone `--` one argument. Values are
    // %XX-escaped so spaces and '=' survive.
    internal unsafe struct AppArguments
    {
        internal const int Capacity = 16 * 1024;
        internal const int NameCapacity = 256;

        internal struct Strings { internal fixed byte Bytes[Capacity]; }
        internal struct Name { internal fixed byte Bytes[NameCapacity]; }

        internal Strings Arguments, Environment;
        internal int ArgumentBytes, ArgumentCount, EnvironmentBytes, EnvironmentCount;
        internal Name ExePath;
        internal int ExePathLength;
        internal bool Overflowed;

        internal void SetName(ReadOnlySpan<char> escaped)
        {
            fixed (byte* path = ExePath.Bytes)
            {
                path[0] = (byte)'/';
                bool absolute = escaped.Length > 0 && escaped[0] == '/';
                int length = Decode(absolute ? escaped.Slice(1) : escaped, path + 1, NameCapacity - 2);
                if (length < 0) { Overflowed = true; length = 0; }
                ExePathLength = length + 1;
                path[ExePathLength] = 0;
            }
        }

        // argv[0] is the executable's path, as a shell passes it.
        internal void AddArgumentZero()
        {
            fixed (byte* path = ExePath.Bytes)
                Append(ref Arguments, ref ArgumentBytes, ref ArgumentCount, path, ExePathLength);
        }

        internal void AddArgument(ReadOnlySpan<char> escaped) => AddEscaped(escaped, ref Arguments, ref ArgumentBytes, ref ArgumentCount);

        internal void AddEnvironment(ReadOnlySpan<char> escaped)
        {
            byte* decoded = stackalloc byte[1024];
            int length = Decode(escaped, decoded, 1024);
            if (length < 0) { Overflowed = true; return; }
            int equals = 0;
            while (equals < length && decoded[equals] != (byte)'=') equals++;
            if (equals > 0 && equals < length) Forget(decoded, equals + 1);
            Append(ref Environment, ref EnvironmentBytes, ref EnvironmentCount, decoded, length);
        }

        // Removes the variable that starts with `prefix` ("NAME="), if there is one.
        private void Forget(byte* prefix, int prefixLength)
        {
            fixed (byte* strings = Environment.Bytes)
            {
                int at = 0;
                while (at < EnvironmentBytes)
                {
                    int end = at;
                    while (strings[end] != 0) end++;
                    bool same = end - at >= prefixLength;
                    for (int i = 0; same && i < prefixLength; i++) same = strings[at + i] == prefix[i];
                    if (!same) { at = end + 1; continue; }
                    int removed = end + 1 - at;
                    for (int i = at; i + removed < EnvironmentBytes; i++) strings[i] = strings[i + removed];
                    EnvironmentBytes -= removed;
                    EnvironmentCount--;
                    return;
                }
            }
        }

        private void AddEscaped(ReadOnlySpan<char> escaped, ref Strings strings, ref int bytes, ref int count)
        {
            byte* decoded = stackalloc byte[1024];
            int length = Decode(escaped, decoded, 1024);
            if (length < 0) { Overflowed = true; return; }
            Append(ref strings, ref bytes, ref count, decoded, length);
        }

        private void Append(ref Strings strings, ref int bytes, ref int count, byte* text, int length)
        {
            if (bytes + length + 1 > Capacity) { Overflowed = true; return; }
            fixed (byte* target = strings.Bytes)
            {
                for (int i = 0; i < length; i++) target[bytes + i] = text[i];
                target[bytes + length] = 0;
            }
            bytes += length + 1;
            count++;
        }

        // %XX escapes to bytes; the decoded length, or -1 when it does not fit.
        internal static int Decode(ReadOnlySpan<char> text, byte* output, int capacity)
        {
            int length = 0;
            for (int i = 0; i < text.Length; i++)
            {
                if (length >= capacity) return -1;
                char c = text[i];
                if (c == '%' && i + 2 < text.Length && HexValue(text[i + 1]) >= 0 && HexValue(text[i + 2]) >= 0)
                {
                    byte value = (byte)(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2]));
                    if (value != 0) output[length++] = value;    // %00 stands for an empty argument
                    i += 2;
                }
                else output[length++] = (byte)c;
            }
            return length;
        }

        private static int HexValue(char c) =>
            c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    }
}
