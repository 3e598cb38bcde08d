using System.Text;

namespace Libra.Apps.Search;

// A short window of the stored text around the first query term, terms wrapped in <b>…</b>.
// StandardAnalyzer only lowercases, so a case-insensitive whole-word match finds what it indexed,
// at a fraction of the cost of re-analyzing the text for every hit.
static class Snippet
{
    const int Width = 160;

    public static string Make(string text, string[] terms)
    {
        ReadOnlySpan<char> span = text;
        int first = -1;
        foreach (string t in terms)
        {
            int at = FindWord(span, t, 0);
            if (at >= 0 && (first < 0 || at < first)) first = at;
        }
        int start = first < 0 ? 0 : Math.Max(0, first - Width / 4);
        while (start > 0 && start < span.Length && !char.IsWhiteSpace(span[start - 1])) start++;
        int end = Math.Min(span.Length, start + Width);
        while (end < span.Length && end - start < Width + 20 && !char.IsWhiteSpace(span[end])) end++;
        ReadOnlySpan<char> window = span[start..end];

        var sb = new StringBuilder(window.Length + 32);
        if (start > 0) sb.Append('…');
        int pos = 0;
        while (pos < window.Length)
        {
            int best = -1, bestLen = 0;
            foreach (string t in terms)
            {
                int at = FindWord(window, t, pos);
                if (at >= 0 && (best < 0 || at < best)) { best = at; bestLen = t.Length; }
            }
            if (best < 0) { AppendClean(sb, window[pos..]); break; }
            AppendClean(sb, window[pos..best]);
            sb.Append("<b>");
            AppendClean(sb, window.Slice(best, bestLen));
            sb.Append("</b>");
            pos = best + bestLen;
        }
        if (end < span.Length) sb.Append('…');
        return sb.ToString();
    }

    static int FindWord(ReadOnlySpan<char> text, string word, int from)
    {
        if (word.Length == 0) return -1;
        while (from < text.Length)
        {
            int i = text[from..].IndexOf(word, StringComparison.OrdinalIgnoreCase);
            if (i < 0) return -1;
            i += from;
            bool left = i == 0 || !char.IsLetterOrDigit(text[i - 1]);
            int after = i + word.Length;
            bool right = after >= text.Length || !char.IsLetterOrDigit(text[after]);
            if (left && right) return i;
            from = i + 1;
        }
        return -1;
    }

    static void AppendClean(StringBuilder sb, ReadOnlySpan<char> s)
    {
        foreach (char c in s) sb.Append(char.IsWhiteSpace(c) ? ' ' : c);
    }
}
