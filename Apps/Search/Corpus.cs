using System.IO.Compression;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace Libra.Apps.Search;

sealed record CorpusDocument(string Id, string Title, string Url, string Text);

// One input file of the corpus; Read yields its documents. Bytes drive the progress estimate.
abstract record CorpusSource(string Path, long Bytes)
{
    public abstract IEnumerable<CorpusDocument> Read();
}

// Finds documents in a folder holding extracted Debian packages (dpkg-deb -x), whatever their number:
//   usr/share/games/fortunes/NAME         fortune cookies, '%' lines between them (fortunes)
//   usr/share/dictd/NAME.index + .dict.dz dictd dictionaries, one document per entry (dict-gcide, dict-wn)
//   **/*.html                              web-like pages: title, text, path as URL (javadoc, Sphinx, handbook)
// Symbolic links are not followed, so a page reachable by two paths is indexed once.
static class Corpus
{
    public static List<CorpusSource> Find(string root)
    {
        var found = new List<CorpusSource>();
        var rootInfo = new DirectoryInfo(root);
        if (!rootInfo.Exists) throw new UsageException($"corpus folder '{root}' does not exist");
        Walk(rootInfo, rootInfo.FullName, found);
        found.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path)); // a stable order gives stable document numbers
        return found;
    }

    static void Walk(DirectoryInfo dir, string root, List<CorpusSource> found)
    {
        foreach (var entry in dir.EnumerateFileSystemInfos().OrderBy(e => e.Name, StringComparer.Ordinal))
        {
            if (entry.LinkTarget != null) continue;
            string rel = Path.GetRelativePath(root, entry.FullName).Replace('\\', '/');
            if (entry is DirectoryInfo sub)
            {
                if (sub.Name is "_sources" or "_static" or "_images" or "_downloads") continue; // Sphinx copies, not pages
                if (rel.Contains("/debian-handbook/html/") && sub.Parent?.Name == "html" && sub.Name != "en-US") continue;
                Walk(sub, root, found);
                continue;
            }
            var file = (FileInfo)entry;
            if (rel.Contains("/games/fortunes/") && file.Extension == "")
                found.Add(new FortuneFile(file.FullName, file.Length, rel));
            else if (rel.Contains("/dictd/") && file.Name.EndsWith(".index"))
            {
                string dict = Path.ChangeExtension(file.FullName, ".dict.dz");
                if (File.Exists(dict)) found.Add(new DictdFile(dict, new FileInfo(dict).Length, file.FullName));
            }
            else if (file.Extension is ".html" or ".htm")
                found.Add(new HtmlPage(file.FullName, file.Length, rel));
        }
    }

    static string Squash(string s) => Regex.Replace(s, @"\s+", " ").Trim();

    sealed record FortuneFile(string Path, long Bytes, string Rel) : CorpusSource(Path, Bytes)
    {
        public override IEnumerable<CorpusDocument> Read()
        {
            string name = System.IO.Path.GetFileName(Path);
            int n = 0;
            var text = new StringBuilder();
            foreach (string line in File.ReadLines(Path).Append("%"))
            {
                if (line != "%") { text.AppendLine(line); continue; }
                string body = text.ToString().Trim();
                text.Clear();
                if (body.Length == 0) continue;
                n++;
                string title = Squash(body.Split('\n')[0]);
                if (title.Length > 80) title = title[..80];
                yield return new CorpusDocument($"fortunes/{name}:{n}", title, $"/{Rel}#{n}", body);
            }
        }
    }

    sealed record DictdFile(string Path, long Bytes, string IndexPath) : CorpusSource(Path, Bytes)
    {
        public override IEnumerable<CorpusDocument> Read()
        {
            string name = System.IO.Path.GetFileName(IndexPath)[..^".index".Length];
            byte[] data;
            using (var gz = new GZipStream(File.OpenRead(Path), CompressionMode.Decompress)) // dictzip is gzip
            using (var ms = new MemoryStream())
            {
                gz.CopyTo(ms);
                data = ms.ToArray();
            }
            var seen = new HashSet<(long, long)>();
            foreach (string line in File.ReadLines(IndexPath))
            {
                string[] f = line.Split('\t');
                if (f.Length < 3 || f[0].StartsWith("00-") || f[0].StartsWith("00database")) continue;
                long offset = Base64(f[1]), length = Base64(f[2]);
                if (offset < 0 || length <= 0 || offset + length > data.Length || !seen.Add((offset, length))) continue;
                string text = Encoding.UTF8.GetString(data, (int)offset, (int)length);
                yield return new CorpusDocument($"{name}:{offset}", f[0], $"dict://{name}/{Uri.EscapeDataString(f[0])}", text);
            }
        }

        // dictd's index numbers: base 64, most significant digit first (dictd's b64 alphabet).
        static long Base64(string s)
        {
            const string digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            long v = 0;
            foreach (char c in s)
            {
                int d = digits.IndexOf(c);
                if (d < 0) return -1;
                v = v * 64 + d;
            }
            return v;
        }
    }

    sealed record HtmlPage(string Path, long Bytes, string Rel) : CorpusSource(Path, Bytes)
    {
        static readonly Regex Drop = new(@"<(script|style|head|nav)\b.*?</\1\s*>|<!--.*?-->", RegexOptions.Singleline | RegexOptions.IgnoreCase | RegexOptions.Compiled);
        static readonly Regex TitleTag = new(@"<title[^>]*>(.*?)</title\s*>", RegexOptions.Singleline | RegexOptions.IgnoreCase | RegexOptions.Compiled);
        static readonly Regex Tag = new(@"<[^>]*>", RegexOptions.Compiled);

        public override IEnumerable<CorpusDocument> Read()
        {
            string html = File.ReadAllText(Path);
            var m = TitleTag.Match(html);
            string title = m.Success ? Squash(WebUtility.HtmlDecode(Tag.Replace(m.Groups[1].Value, " "))) : System.IO.Path.GetFileNameWithoutExtension(Path);
            string text = Squash(WebUtility.HtmlDecode(Tag.Replace(Drop.Replace(html, " "), " ")));
            yield return new CorpusDocument(Rel, title, "/" + Rel, text);
        }
    }
}
