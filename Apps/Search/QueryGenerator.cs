using System.Text;
using System.Text.RegularExpressions;
using Lucene.Net.Index;
using Lucene.Net.Store;

namespace Libra.Apps.Search;

// `search queries`: a reproducible query set drawn from the index's own term statistics.
// No query log ships with the corpus, so terms are ranked by document frequency (stop words are
// already gone from the index; boilerplate in more than 20% of documents is dropped too), and:
//   Zipf        1-4 terms (weights 30/40/20/10), each rank r drawn with p(r) ∝ 1/r, OR-ed
//   HighTerm, MedTerm, LowTerm   one term from the high/medium/low document-frequency bucket
//   OrHighHigh, OrHighMed, AndHighMed   two terms, OR-ed or both required (luceneutil's classes)
//   Phrase      two adjacent words taken from a stored document, quoted
// One line per query: "<class>\t<query>"; the same seed gives the same file on every machine.
static class QueryGenerator
{
    static readonly (string Class, int Weight)[] Mix =
        [("Zipf", 30), ("HighTerm", 10), ("MedTerm", 10), ("LowTerm", 10), ("OrHighHigh", 10), ("OrHighMed", 10), ("AndHighMed", 10), ("Phrase", 10)];

    public static int Run(QueryOptions options)
    {
        using var dir = new NIOFSDirectory(new DirectoryInfo(options.Index), NoLockFactory.GetNoLockFactory());
        using var reader = DirectoryReader.Open(dir);
        int n = reader.NumDocs;
        var ranked = new List<(string Term, int Df)>();
        TermsEnum terms = MultiFields.GetTerms(reader, IndexSchema.Body).GetEnumerator();
        while (terms.MoveNext())
        {
            string t = terms.Term.Utf8ToString();
            int df = terms.DocFreq;
            if (df >= 2 && df <= n / 5 && t.Length is >= 3 and <= 20 && t.All(c => c is >= 'a' and <= 'z')) ranked.Add((t, df));
        }
        if (ranked.Count < 10) throw new UsageException($"the index has only {ranked.Count} usable terms");
        ranked.Sort((a, b) => b.Df != a.Df ? b.Df.CompareTo(a.Df) : string.CompareOrdinal(a.Term, b.Term));

        string[] high = Bucket(ranked, n / 50, int.MaxValue), med = Bucket(ranked, n / 1000, n / 50), low = Bucket(ranked, 3, n / 1000);
        if (high.Length == 0) high = ranked.Take(Math.Max(1, ranked.Count / 100)).Select(r => r.Term).ToArray();
        if (med.Length == 0) med = high;
        if (low.Length == 0) low = med;
        var known = new HashSet<string>(ranked.Select(r => r.Term));

        // Cumulative 1/r weights for the Zipf draw.
        var cumulative = new double[ranked.Count];
        double sum = 0;
        for (int r = 0; r < ranked.Count; r++) cumulative[r] = sum += 1.0 / (r + 1);

        var random = new Random(options.Seed);
        string Zipf() => ranked[Math.Min(ranked.Count - 1, ~Array.BinarySearch(cumulative, random.NextDouble() * sum) is var i && i >= 0 ? i : ~i)].Term;
        string Pick(string[] bucket) => bucket[random.Next(bucket.Length)];
        int totalWeight = Mix.Sum(m => m.Weight);

        var counts = new Dictionary<string, int>();
        var output = new StringBuilder();
        for (int q = 0; q < options.Count; q++)
        {
            int w = random.Next(totalWeight);
            string cls = Mix.First(m => (w -= m.Weight) < 0).Class;
            string? text = cls switch
            {
                "Zipf" => string.Join(' ', Enumerable.Range(0, TermCount(random.Next(100))).Select(_ => Zipf()).Distinct()),
                "HighTerm" => Pick(high),
                "MedTerm" => Pick(med),
                "LowTerm" => Pick(low),
                "OrHighHigh" => $"{Pick(high)} {Pick(high)}",
                "OrHighMed" => $"{Pick(high)} {Pick(med)}",
                "AndHighMed" => $"+{Pick(high)} +{Pick(med)}",
                _ => Phrase(reader, random, known),
            };
            if (text == null) { q--; continue; }
            counts[cls] = counts.GetValueOrDefault(cls) + 1;
            output.Append(cls).Append('\t').Append(text).Append('\n');
        }
        File.WriteAllText(options.Output, output.ToString());
        Console.WriteLine($"queries: {options.Count} written to {options.Output} (seed {options.Seed}; {ranked.Count} terms: " +
            $"{high.Length} high, {med.Length} medium, {low.Length} low); " + string.Join(", ", Mix.Select(m => $"{m.Class} {counts.GetValueOrDefault(m.Class)}")));
        return 0;
    }

    static int TermCount(int percent) => percent < 30 ? 1 : percent < 70 ? 2 : percent < 90 ? 3 : 4;

    static string[] Bucket(List<(string Term, int Df)> ranked, int minDf, int maxDf) =>
        ranked.Where(r => r.Df >= minDf && r.Df < maxDf).Select(r => r.Term).ToArray();

    static readonly Regex Word = new("[A-Za-z]+", RegexOptions.Compiled);

    static string? Phrase(DirectoryReader reader, Random random, HashSet<string> known)
    {
        string? text = reader.Document(random.Next(reader.MaxDoc)).Get(IndexSchema.Text);
        if (text == null) return null;
        var words = Word.Matches(text);
        if (words.Count < 2) return null;
        int start = random.Next(words.Count - 1);
        for (int i = start; i < words.Count - 1; i++)
        {
            Match a = words[i], b = words[i + 1];
            // Adjacent in the text, with only spaces between them, and both searchable terms.
            if (!text.AsSpan(a.Index + a.Length, b.Index - a.Index - a.Length).IsWhiteSpace()) continue;
            string x = a.Value.ToLowerInvariant(), y = b.Value.ToLowerInvariant();
            if (known.Contains(x) && known.Contains(y)) return $"\"{x} {y}\"";
        }
        return null;
    }
}
