using System.Diagnostics;
using Lucene.Net.Analysis;
using Lucene.Net.Index;
using Lucene.Net.QueryParsers.Classic;
using Lucene.Net.Search;
using Lucene.Net.Search.Similarities;
using Lucene.Net.Store;
using LuceneDirectory = Lucene.Net.Store.Directory;

namespace Libra.Apps.Search;

sealed class BadQueryException(string message) : Exception(message);

// One read-only index and the BM25 searcher over it; safe to call from many requests at once.
sealed class SearchEngine : IDisposable
{
    public const int MaxQueryChars = 1024;
    public const int MaxK = 1000;

    readonly LuceneDirectory directory;
    readonly DirectoryReader reader;
    readonly IndexSearcher searcher;
    readonly Analyzer analyzer = IndexSchema.NewAnalyzer();

    public int Documents => reader.NumDocs;
    public long IndexBytes { get; }
    public string DirectoryKind { get; }

    // NIOFSDirectory reads with positional reads (pread) and never maps files, so the service needs
    // no file-backed mmap from the OS beneath it; --ram copies every file into the heap at start-up.
    public SearchEngine(string path, bool loadIntoRam)
    {
        var info = new DirectoryInfo(path);
        if (!info.Exists) throw new UsageException($"index folder '{path}' does not exist");
        IndexBytes = info.EnumerateFiles().Sum(f => f.Length);
        var files = new NIOFSDirectory(info, NoLockFactory.GetNoLockFactory());
        if (loadIntoRam)
        {
            directory = new RAMDirectory(files, IOContext.READ_ONCE);
            files.Dispose();
            DirectoryKind = "RAMDirectory";
        }
        else
        {
            directory = files;
            DirectoryKind = "NIOFSDirectory";
        }
        reader = DirectoryReader.Open(directory);
        searcher = new IndexSearcher(reader) { Similarity = new BM25Similarity() };
    }

    public SearchResult Search(string text, int k)
    {
        long start = Stopwatch.GetTimestamp();
        Query query = Parse(text);
        TopDocs top;
        try
        {
            top = searcher.Search(query, k);
        }
        catch (BooleanQuery.TooManyClausesException)
        {
            throw new BadQueryException($"query expands to more than {BooleanQuery.MaxClauseCount} terms");
        }
        var terms = QueryTerms(query);
        var hits = new SearchHit[top.ScoreDocs.Length];
        for (int i = 0; i < hits.Length; i++)
        {
            ScoreDoc sd = top.ScoreDocs[i];
            var doc = searcher.Doc(sd.Doc);
            string title = doc.Get(IndexSchema.Title) ?? "";
            hits[i] = new SearchHit(doc.Get(IndexSchema.Id) ?? "", title, doc.Get(IndexSchema.Url) ?? "", sd.Score,
                Snippet.Make(doc.Get(IndexSchema.Text) ?? title, terms));
        }
        long micros = (long)Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        return new SearchResult(text, top.TotalHits, micros, hits);
    }

    Query Parse(string text)
    {
        // QueryParser is not thread-safe; one per request is cheap next to the search itself.
        var parser = new QueryParser(IndexSchema.Version, IndexSchema.Body, analyzer);
        try
        {
            return parser.Parse(text);
        }
        catch (ParseException e)
        {
            throw new BadQueryException(FirstLine(e.Message));
        }
        catch (BooleanQuery.TooManyClausesException)
        {
            throw new BadQueryException($"query has more than {BooleanQuery.MaxClauseCount} clauses");
        }
    }

    string[] QueryTerms(Query query)
    {
        var set = new HashSet<Term>();
        try
        {
            searcher.Rewrite(query).ExtractTerms(set);
        }
        catch (NotSupportedException)
        {
            // Some rewritten queries (e.g. constant-score wildcards) hold no terms to highlight.
        }
        return set.Where(t => t.Field == IndexSchema.Body || t.Field == IndexSchema.Title)
            .Select(t => t.Text).Distinct().ToArray();
    }

    static string FirstLine(string message)
    {
        int nl = message.IndexOfAny(['\r', '\n']);
        return nl < 0 ? message : message[..nl];
    }

    public void Dispose()
    {
        reader.Dispose();
        directory.Dispose();
        analyzer.Dispose();
    }
}

sealed record SearchHit(string Id, string Title, string Url, float Score, string Snippet);
sealed record SearchResult(string Query, int TotalHits, long TookMicros, SearchHit[] Hits);
