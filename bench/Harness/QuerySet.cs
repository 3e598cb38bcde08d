using System.Text;

namespace Libra.Bench;

// The generated query set ("<class>\t<query>" lines), turned into ready-to-send HTTP requests.
public sealed class QuerySet
{
    public string[] Classes { get; }
    public int[] ClassOf { get; }
    public byte[][] Requests { get; }
    public string[] Texts { get; }

    QuerySet(string[] classes, int[] classOf, byte[][] requests, string[] texts)
    {
        Classes = classes; ClassOf = classOf; Requests = requests; Texts = texts;
    }

    public int Count => Requests.Length;

    public static QuerySet Load(string path, int k = 10)
    {
        var classes = new List<string>();
        var classOf = new List<int>();
        var requests = new List<byte[]>();
        var texts = new List<string>();
        foreach (string line in File.ReadLines(path))
        {
            int tab = line.IndexOf('\t');
            if (tab <= 0) continue;
            string cls = line[..tab], q = line[(tab + 1)..];
            int c = classes.IndexOf(cls);
            if (c < 0) { classes.Add(cls); c = classes.Count - 1; }
            classOf.Add(c);
            texts.Add(q);
            requests.Add(Request($"/search?q={Uri.EscapeDataString(q)}&k={k}"));
        }
        if (requests.Count == 0) throw new InvalidDataException($"no queries in {path}");
        return new QuerySet(classes.ToArray(), classOf.ToArray(), requests.ToArray(), texts.ToArray());
    }

    public static QuerySet Single(string path, string cls) => new([cls], [0], [Request(path)], [path]);

    static byte[] Request(string pathAndQuery) =>
        Encoding.ASCII.GetBytes($"GET {pathAndQuery} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
}
