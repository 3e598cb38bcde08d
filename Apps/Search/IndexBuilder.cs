using System.Collections.Concurrent;
using System.Diagnostics;
using Lucene.Net.Documents;
using Lucene.Net.Index;
using Lucene.Net.Search.Similarities;
using Lucene.Net.Store;

namespace Libra.Apps.Search;

// `search index`: corpus folder -> one-segment BM25 index, with progress lines and a summary.
static class IndexBuilder
{
    public static int Run(IndexOptions options)
    {
        var clock = Stopwatch.StartNew();
        List<CorpusSource> sources = Corpus.Find(options.Corpus);
        if (sources.Count == 0) throw new UsageException($"no documents found under '{options.Corpus}'");
        long totalBytes = sources.Sum(s => s.Bytes);
        Console.WriteLine($"index: {sources.Count} input files, {totalBytes / 1e6:F1} MB, from {options.Corpus}");

        var output = new DirectoryInfo(options.Output);
        if (output.Exists) output.Delete(recursive: true);
        output.Create();

        // Parsing (HTML stripping, dictionary decompression) runs on its own thread, ahead of the writer.
        var queue = new BlockingCollection<(CorpusDocument Doc, long SourceBytes)>(4096);
        var parser = Task.Run(() =>
        {
            try
            {
                foreach (var source in sources)
                {
                    foreach (var doc in source.Read()) queue.Add((doc, 0));
                    queue.Add((null!, source.Bytes)); // a marker: this file is done
                }
            }
            finally { queue.CompleteAdding(); }
        });

        using var analyzer = IndexSchema.NewAnalyzer();
        using var dir = FSDirectory.Open(output);
        var config = new IndexWriterConfig(IndexSchema.Version, analyzer)
        {
            OpenMode = OpenMode.CREATE,
            Similarity = new BM25Similarity(),
            RAMBufferSizeMB = 256,
        };
        long docs = 0, doneBytes = 0, textChars = 0;
        var lastReport = Stopwatch.StartNew();
        using (var writer = new IndexWriter(dir, config))
        {
            foreach (var (doc, bytes) in queue.GetConsumingEnumerable())
            {
                if (doc == null) { doneBytes += bytes; }
                else
                {
                    writer.AddDocument(ToLucene(doc));
                    docs++;
                    textChars += doc.Text.Length;
                }
                if (lastReport.Elapsed.TotalSeconds >= 2)
                {
                    lastReport.Restart();
                    double secs = clock.Elapsed.TotalSeconds;
                    double rate = doneBytes / Math.Max(secs, 1e-3);
                    string eta = rate > 0 ? $"{(totalBytes - doneBytes) / rate:F0} s" : "?";
                    Console.WriteLine($"index: {docs} documents, {docs / secs:F0} docs/s, {100.0 * doneBytes / totalBytes:F0}% of input, ETA {eta}");
                }
            }
            parser.GetAwaiter().GetResult();
            Console.WriteLine($"index: {docs} documents added in {clock.Elapsed.TotalSeconds:F1} s; merging to one segment");
            writer.ForceMerge(1);
            writer.Commit();
        }

        long terms;
        using (var reader = DirectoryReader.Open(dir))
            terms = MultiFields.GetTerms(reader, IndexSchema.Body)?.Count ?? 0;
        long size = output.EnumerateFiles().Sum(f => f.Length);
        Console.WriteLine($"index: done: {docs} documents, {terms} distinct terms, {textChars / 1e6:F1} M characters of text, " +
            $"index {size / 1e6:F1} MB in {output.FullName}, {clock.Elapsed.TotalSeconds:F1} s");
        return 0;
    }

    static Document ToLucene(CorpusDocument d)
    {
        string stored = d.Text.Length > IndexSchema.StoredTextChars ? d.Text[..IndexSchema.StoredTextChars] : d.Text;
        return
        [
            new StringField(IndexSchema.Id, d.Id, Field.Store.YES),
            new TextField(IndexSchema.Title, d.Title, Field.Store.YES),
            new StringField(IndexSchema.Url, d.Url, Field.Store.YES),
            new TextField(IndexSchema.Body, d.Title + "\n" + d.Text, Field.Store.NO),
            new StoredField(IndexSchema.Text, stored),
        ];
    }
}
