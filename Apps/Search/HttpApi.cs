using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Libra.Apps.Search;

// The HTTP JSON API on Kestrel (CreateSlimBuilder + minimal APIs, source-generated JSON).
static class HttpApi
{
    public static async Task<int> RunAsync(ServeOptions options)
    {
        var started = Stopwatch.StartNew();
        if (!IPAddress.TryParse(options.Address, out IPAddress? address))
            throw new UsageException($"--address '{options.Address}' is not an IP address");
        using var engine = new SearchEngine(options.Index, options.LoadIntoRam);
        var stats = new LatencyStats();

        // No configuration file watching (it would need inotify) and no logging on the hot path.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Listen(address, options.Port);
        });
        var app = builder.Build();

        app.MapGet("/ping", ctx =>
        {
            ctx.Response.ContentType = "text/plain";
            ctx.Response.ContentLength = Pong.Length;
            return ctx.Response.Body.WriteAsync(Pong).AsTask();
        });
        app.MapGet("/health", ctx =>
            Write(ctx, 200, new Health("ok", engine.Documents), Json.Api.Health));
        app.MapGet("/stats", ctx =>
            Write(ctx, 200, new Stats(engine.Documents, engine.IndexBytes, engine.DirectoryKind,
                Environment.WorkingSet, (long)(DateTime.UtcNow - Process.GetCurrentProcess().StartTime.ToUniversalTime()).TotalSeconds,
                stats.Snapshot(), OsCounters.Read()), Json.Api.Stats));
        app.MapGet("/search", ctx => Search(ctx, engine, stats));

        await app.StartAsync();
        // One line that scripts wait for; the time covers index open and Kestrel start.
        Console.WriteLine($"search: listening on http://{address}:{options.Port}/ ({engine.Documents} documents, " +
            $"{engine.DirectoryKind}, ready in {started.ElapsedMilliseconds} ms)");
        await app.WaitForShutdownAsync(); // SIGTERM and SIGINT land here through the host's console lifetime
        Console.WriteLine($"search: stopped after {stats.Snapshot().QueriesServed} queries");
        return 0;
    }

    static readonly byte[] Pong = "pong\n"u8.ToArray();

    static Task Search(HttpContext ctx, SearchEngine engine, LatencyStats stats)
    {
        var query = ctx.Request.Query;
        string? q = query["q"];
        if (string.IsNullOrWhiteSpace(q)) return Error(ctx, stats, 400, "missing query parameter 'q'");
        if (q.Length > SearchEngine.MaxQueryChars)
            return Error(ctx, stats, 414, $"query is longer than {SearchEngine.MaxQueryChars} characters");
        int k = 10;
        string? kText = query["k"];
        if (kText != null && (!int.TryParse(kText, out k) || k < 1 || k > SearchEngine.MaxK))
            return Error(ctx, stats, 400, $"'k' must be a whole number from 1 to {SearchEngine.MaxK}");
        try
        {
            SearchResult result = engine.Search(q, k);
            stats.Record(result.TookMicros);
            return Write(ctx, 200, result, Json.Api.SearchResult);
        }
        catch (BadQueryException e)
        {
            return Error(ctx, stats, 400, e.Message);
        }
        catch (Exception e)
        {
            // A bug of ours, not the user's: say so in the log with the query that found it.
            Console.Error.WriteLine($"search: internal error on q={q}: {e}");
            return Error(ctx, stats, 500, $"internal error: {e.GetType().Name}");
        }
    }

    static Task Error(HttpContext ctx, LatencyStats stats, int status, string message)
    {
        stats.Reject();
        return Write(ctx, status, new ErrorBody(message), Json.Api.ErrorBody);
    }

    // Serialized up front so every response carries Content-Length rather than chunked encoding.
    static Task Write<T>(HttpContext ctx, int status, T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
    {
        byte[] body = JsonSerializer.SerializeToUtf8Bytes(value, type);
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json; charset=utf-8";
        ctx.Response.ContentLength = body.Length;
        return ctx.Response.Body.WriteAsync(body).AsTask();
    }
}

sealed record Health(string Status, int Documents);
sealed record Stats(int Documents, long IndexBytes, string Directory, long WorkingSetBytes, long UptimeSeconds,
    LatencySnapshot Latency, OsCounters Os);

// What the operating system under the service says it has spent, as running totals, so that the
// bench can divide their growth over a measured run by the requests served (bench/README.md, "The
// cost of one request"): the process's CPU time (getrusage, user + system), and where /proc/stat
// exists, the whole machine's context switches (`ctxt`) and interrupts (`intr`'s total). Natively
// those two are the host's, with everything else on it; in a one-service guest they are the guest's.
sealed record OsCounters(long CpuMicros, long? ContextSwitches, long? Interrupts)
{
    public static OsCounters Read()
    {
        long cpu = (long)Environment.CpuUsage.TotalTime.TotalMicroseconds;
        long? switches = null, interrupts = null;
        try
        {
            foreach (string line in File.ReadLines("/proc/stat"))
            {
                if (line.StartsWith("ctxt ", StringComparison.Ordinal)) switches = long.Parse(line.AsSpan(5));
                else if (line.StartsWith("intr ", StringComparison.Ordinal))
                {
                    ReadOnlySpan<char> rest = line.AsSpan(5);
                    int space = rest.IndexOf(' ');
                    interrupts = long.Parse(space < 0 ? rest : rest[..space]);
                }
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return new OsCounters(cpu, switches, interrupts);
    }
}
sealed record ErrorBody(string Error);

[JsonSerializable(typeof(SearchResult))]
[JsonSerializable(typeof(Health))]
[JsonSerializable(typeof(Stats))]
[JsonSerializable(typeof(ErrorBody))]
partial class Json : JsonSerializerContext
{
    // camelCase names; snippets keep their <b> tags readable instead of \u003C escapes.
    public static Json Api { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
