namespace Libra.Apps.Search;

sealed class UsageException(string message) : Exception(message);

// Reads `--name value` and `--flag` words; each subcommand names the ones it accepts.
sealed class ArgReader
{
    readonly Dictionary<string, string?> values = new();

    public ArgReader(string[] args, string[] valueNames, string[] flagNames)
    {
        for (int i = 0; i < args.Length; i++)
        {
            string word = args[i];
            string name = word.TrimStart('-');
            string? inline = null;
            int eq = name.IndexOf('=');
            if (eq >= 0) { inline = name[(eq + 1)..]; name = name[..eq]; }
            if (!word.StartsWith("--")) throw new UsageException($"unexpected argument '{word}'");
            if (flagNames.Contains(name)) { values[name] = inline ?? "1"; continue; }
            if (!valueNames.Contains(name)) throw new UsageException($"unknown option '--{name}'");
            if (inline == null)
            {
                if (i + 1 >= args.Length) throw new UsageException($"option '--{name}' needs a value");
                inline = args[++i];
            }
            values[name] = inline;
        }
    }

    public string? Get(string name, string? env = null) =>
        values.TryGetValue(name, out var v) ? v : env != null ? Environment.GetEnvironmentVariable(env) : null;

    public string Require(string name, string? env = null) =>
        Get(name, env) is { Length: > 0 } v ? v : throw new UsageException($"missing --{name}" + (env != null ? $" (or {env})" : ""));

    public int Int(string name, int fallback, string? env = null)
    {
        string? v = Get(name, env);
        if (string.IsNullOrEmpty(v)) return fallback;
        return int.TryParse(v, out int n) ? n : throw new UsageException($"--{name} must be a whole number, not '{v}'");
    }

    public bool Flag(string name, string? env = null) =>
        Get(name, env) is { } v && v is not ("" or "0" or "false" or "no");
}

sealed record ServeOptions(string Index, string Address, int Port, bool LoadIntoRam)
{
    public static ServeOptions Parse(string[] args)
    {
        var r = new ArgReader(args, ["index", "address", "port"], ["ram"]);
        int port = r.Int("port", 8080, "SEARCH_PORT");
        if (port is < 0 or > 65535) throw new UsageException($"--port {port} is out of range");
        return new ServeOptions(r.Require("index", "SEARCH_INDEX"), r.Get("address", "SEARCH_ADDRESS") ?? "127.0.0.1",
            port, r.Flag("ram", "SEARCH_RAM"));
    }
}

sealed record IndexOptions(string Corpus, string Output)
{
    public static IndexOptions Parse(string[] args)
    {
        var r = new ArgReader(args, ["corpus", "out"], []);
        return new IndexOptions(r.Require("corpus"), r.Require("out"));
    }
}

sealed record QueryOptions(string Index, string Output, int Count, int Seed)
{
    public static QueryOptions Parse(string[] args)
    {
        var r = new ArgReader(args, ["index", "out", "count", "seed"], []);
        return new QueryOptions(r.Require("index"), r.Require("out"), r.Int("count", 10000), r.Int("seed", 20071))
            is { Count: > 0 } o ? o : throw new UsageException("--count must be positive");
    }
}
