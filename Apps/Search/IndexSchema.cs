using Lucene.Net.Analysis.Standard;
using Lucene.Net.Util;

namespace Libra.Apps.Search;

// The fields of one document; the index builder and the searcher agree through this file.
static class IndexSchema
{
    public const LuceneVersion Version = LuceneVersion.LUCENE_48;
    public const string Id = "id";         // stored, exact: "<source>:<path or entry>"
    public const string Title = "title";   // stored, analyzed
    public const string Url = "url";       // stored, exact: path inside the package, as a URL
    public const string Body = "body";     // analyzed, not stored: title + text; the default query field
    public const string Text = "text";     // stored only: the start of the text, for snippets
    public const int StoredTextChars = 16 * 1024;

    public static StandardAnalyzer NewAnalyzer() => new(Version);
}
