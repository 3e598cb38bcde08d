using System;

namespace Libra.Loader
{
    // The kernel command line with an image: the image's .libra/cmdline (its default words, in the
    // same syntax) first, then the real command line's, so a later libra.app= or libra.env=NAME=
    // wins; the application's arguments are the real line's when it has a "--", else the image's
    // (docs/image.md, the image contract).
    internal static class ImageCommandLine
    {
        // The index of a lone "--" word, or -1.
        internal static int FindSeparator(ReadOnlySpan<char> line)
        {
            for (int i = 0; i + 1 < line.Length; i++)
                if (line[i] == '-' && line[i + 1] == '-' && (i == 0 || IsSpace(line[i - 1])) && (i + 2 == line.Length || IsSpace(line[i + 2])))
                    return i;
            return -1;
        }

        private static bool IsSpace(char c) => c == ' ' || c == '\n' || c == '\r' || c == '\t';

        // The merged line into `output`; its length, or -1 when it does not fit. Line breaks and tabs
        // in the image's file count as spaces.
        internal static int Merge(ReadOnlySpan<char> baked, ReadOnlySpan<char> real, Span<char> output)
        {
            int bakedSeparator = FindSeparator(baked);
            int realSeparator = FindSeparator(real);
            ReadOnlySpan<char> bakedOptions = bakedSeparator >= 0 ? baked.Slice(0, bakedSeparator) : baked;
            ReadOnlySpan<char> realOptions = realSeparator >= 0 ? real.Slice(0, realSeparator) : real;
            ReadOnlySpan<char> arguments = realSeparator >= 0 ? real.Slice(realSeparator) : bakedSeparator >= 0 ? baked.Slice(bakedSeparator) : default;
            int length = 0;
            if (!Append(bakedOptions, output, ref length) || !Append(realOptions, output, ref length) || !Append(arguments, output, ref length)) return -1;
            return length > 0 ? length - 1 : 0;     // without the last word's trailing space
        }

        // `text` (without its outer spaces) and a space at output[length..], line breaks and tabs as spaces.
        private static bool Append(ReadOnlySpan<char> text, Span<char> output, ref int length)
        {
            while (text.Length > 0 && IsSpace(text[0])) text = text.Slice(1);
            while (text.Length > 0 && IsSpace(text[text.Length - 1])) text = text.Slice(0, text.Length - 1);
            if (text.Length == 0) return true;
            if (length + text.Length + 1 > output.Length) return false;
            for (int i = 0; i < text.Length; i++)
                output[length++] = IsSpace(text[i]) ? ' ' : text[i];
            output[length++] = ' ';
            return true;
        }
    }
}
