using System.Net;
using System.Text.Json;
using Libra.Bench.Targets;
using Xunit;

namespace Libra.Search.Tests;

// The HTTP contract of issue 5, against the published NativeAOT binary (AOT-only failures are the
// common ones with Lucene.Net, so the JIT build proves little): the same assertions natively and on
// Libra, each target booted once for its class.
public abstract class HttpContractTests<TFixture>(TFixture target) where TFixture : TargetFixture
{
    readonly HttpClient http = target.Http;

    async Task<(HttpStatusCode Status, JsonElement Body)> GetJson(string path, HttpMethod? method = null)
    {
        using var response = await http.SendAsync(new HttpRequestMessage(method ?? HttpMethod.Get, path));
        string text = await response.Content.ReadAsStringAsync();
        var body = text.Length > 0 && response.Content.Headers.ContentType?.MediaType == "application/json"
            ? JsonDocument.Parse(text).RootElement.Clone() : default;
        return (response.StatusCode, body);
    }

    [Fact]
    public async Task Search_answers_hits_with_id_title_url_score_and_highlighted_snippet()
    {
        var (status, body) = await GetJson("/search?q=larry+wall&k=3");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("larry wall", body.GetProperty("query").GetString());
        Assert.True(body.GetProperty("totalHits").GetInt32() > 3);
        Assert.True(body.GetProperty("tookMicros").GetInt64() > 0);
        var hits = body.GetProperty("hits").EnumerateArray().ToList();
        Assert.Equal(3, hits.Count);
        foreach (var h in hits)
        {
            Assert.StartsWith("fortunes/", h.GetProperty("id").GetString());
            Assert.False(string.IsNullOrEmpty(h.GetProperty("title").GetString()));
            Assert.StartsWith("/", h.GetProperty("url").GetString());
            Assert.True(h.GetProperty("score").GetSingle() > 0);
        }
        Assert.Contains("<b>", hits[0].GetProperty("snippet").GetString());
        float[] scores = hits.Select(h => h.GetProperty("score").GetSingle()).ToArray();
        Assert.Equal(scores.OrderByDescending(s => s), scores);
    }

    [Fact]
    public async Task K_defaults_to_ten()
    {
        var (status, body) = await GetJson("/search?q=love");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(10, body.GetProperty("hits").GetArrayLength());
    }

    [Fact]
    public async Task A_query_matching_nothing_is_an_empty_result_not_an_error()
    {
        var (status, body) = await GetJson("/search?q=zzyzxqwv");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(0, body.GetProperty("totalHits").GetInt32());
        Assert.Equal(0, body.GetProperty("hits").GetArrayLength());
    }

    [Theory]
    [InlineData("/search", "missing")]
    [InlineData("/search?q=", "missing")]
    [InlineData("/search?q=%20%20", "missing")]
    [InlineData("/search?q=%22unterminated", "Cannot parse")]
    [InlineData("/search?q=(love", "Cannot parse")]
    [InlineData("/search?q=*leading", "Cannot parse")]
    [InlineData("/search?q=love&k=0", "'k'")]
    [InlineData("/search?q=love&k=abc", "'k'")]
    [InlineData("/search?q=love&k=100000", "'k'")]
    public async Task Bad_input_is_400_with_a_message(string path, string messagePart)
    {
        var (status, body) = await GetJson(path);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(messagePart, body.GetProperty("error").GetString());
    }

    [Fact]
    public async Task An_over_long_query_is_414()
    {
        var (status, body) = await GetJson("/search?q=" + new string('a', 1500));
        Assert.Equal(HttpStatusCode.RequestUriTooLong, status);
        Assert.Contains("longer", body.GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_request_line_beyond_Kestrel_limits_is_rejected_not_500()
    {
        using var response = await http.GetAsync("/search?q=" + new string('a', 20000));
        Assert.InRange((int)response.StatusCode, 400, 499);
    }

    [Theory]
    [InlineData("/search?q=a*")]                 // prefix expanding to many terms
    [InlineData("/search?q=%2B%2B%2B")]          // stray operators
    [InlineData("/search?q=title%3A%22%22")]     // an empty phrase in a field
    [InlineData("/search?q=love~0.5")]           // fuzzy
    [InlineData("/search?q=%5Ba+TO+c%5D")]       // term range
    [InlineData("/search?q=%C3%A9t%C3%A9+%E2%98%83")] // non-ASCII
    public async Task Odd_queries_never_cause_a_500(string path)
    {
        using var response = await http.GetAsync(path);
        Assert.True((int)response.StatusCode is 200 or 400, $"{path} gave {(int)response.StatusCode}");
    }

    [Fact]
    public async Task Unknown_path_is_404()
    {
        using var response = await http.GetAsync("/nope");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Wrong_method_is_405()
    {
        using var response = await http.PostAsync("/search?q=love", new StringContent(""));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
    }

    [Fact]
    public async Task Ping_health_and_stats_answer()
    {
        Assert.Equal("pong\n", await http.GetStringAsync("/ping"));
        var (hs, health) = await GetJson("/health");
        Assert.Equal(HttpStatusCode.OK, hs);
        Assert.Equal("ok", health.GetProperty("status").GetString());
        Assert.Equal(14396, health.GetProperty("documents").GetInt32());

        await GetJson("/search?q=computer");
        var (ss, stats) = await GetJson("/stats");
        Assert.Equal(HttpStatusCode.OK, ss);
        Assert.Equal(14396, stats.GetProperty("documents").GetInt32());
        Assert.True(stats.GetProperty("indexBytes").GetInt64() > 1_000_000);
        Assert.Equal("NIOFSDirectory", stats.GetProperty("directory").GetString());
        Assert.True(stats.GetProperty("os").GetProperty("cpuMicros").GetInt64() > 0);
        var latency = stats.GetProperty("latency");
        Assert.True(latency.GetProperty("queriesServed").GetInt64() >= 1);
        Assert.True(latency.GetProperty("p99Micros").GetInt64() >= latency.GetProperty("p50Micros").GetInt64());
    }
}

public sealed class NativeHttpContractTests(NativeFixture native) : HttpContractTests<NativeFixture>(native), IClassFixture<NativeFixture>;

public sealed class LibraHttpContractTests(LibraFixture libra) : HttpContractTests<LibraFixture>(libra), IClassFixture<LibraFixture>;

// Start-up options and shutdown, each on a process of its own.
public sealed class ProcessTests
{
    readonly Artifacts artifacts = Artifacts.Shared.Value;

    [Theory]
    [InlineData(15)] // SIGTERM
    [InlineData(2)]  // SIGINT
    public async Task A_signal_stops_the_service_cleanly_with_status_0(int signal)
    {
        int port = Launch.FreePort();
        var log = new StringWriter();
        var p = Launch.Start(artifacts.Binary, ["serve", "--index", artifacts.Index, "--port", port.ToString()], null, TextWriter.Synchronized(log));
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await Launch.WaitForFirstAnswerAsync(p, port, System.Diagnostics.Stopwatch.StartNew(), TimeSpan.FromMinutes(2), () => log.ToString(), cts.Token);
        Launch.Signal(p.Id, signal);
        await p.WaitForExitAsync(cts.Token);
        Assert.Equal(0, p.ExitCode);
        Assert.Contains("search: stopped after", log.ToString());
    }

    [Fact]
    public async Task Options_come_from_the_environment_and_ram_loading_gives_the_same_answers()
    {
        int port = Launch.FreePort();
        var log = new StringWriter();
        var p = Launch.Start(artifacts.Binary, ["serve"], null, TextWriter.Synchronized(log), new Dictionary<string, string>
        {
            ["SEARCH_INDEX"] = artifacts.Index, ["SEARCH_PORT"] = port.ToString(), ["SEARCH_RAM"] = "1", ["SEARCH_ADDRESS"] = "127.0.0.1",
        });
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            await Launch.WaitForFirstAnswerAsync(p, port, System.Diagnostics.Stopwatch.StartNew(), TimeSpan.FromMinutes(2), () => log.ToString(), cts.Token);
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
            var stats = JsonDocument.Parse(await http.GetStringAsync("/stats")).RootElement;
            Assert.Equal("RAMDirectory", stats.GetProperty("directory").GetString());
            var golden = Golden.Load(artifacts.GoldenFile);
            foreach (var g in golden.Take(4)) Golden.AssertSame(g, await Golden.Ask(http, g.Query));
        }
        finally
        {
            Launch.Signal(p.Id, 15);
            await p.WaitForExitAsync();
        }
    }

    [Fact]
    public void Missing_index_option_is_a_usage_error_not_a_crash()
    {
        var (code, output) = Run.Process(artifacts.Binary, ["serve"], artifacts.Root, TimeSpan.FromMinutes(1));
        Assert.Equal(2, code);
        Assert.Contains("missing --index", output);
    }

    [Fact]
    public void The_query_set_is_the_same_for_the_same_seed()
    {
        string a = Path.GetTempFileName(), b = Path.GetTempFileName();
        try
        {
            foreach (string file in new[] { a, b })
            {
                var (code, output) = Run.Process(artifacts.Binary, ["queries", "--index", artifacts.Index, "--out", file, "--count", "500", "--seed", "7"],
                    artifacts.Root, TimeSpan.FromMinutes(2));
                Assert.True(code == 0, output);
            }
            string[] lines = File.ReadAllLines(a);
            Assert.Equal(500, lines.Length);
            Assert.Equal(lines, File.ReadAllLines(b));
            var classes = lines.Select(l => l.Split('\t')[0]).Distinct().ToHashSet();
            Assert.Superset(new HashSet<string> { "Zipf", "HighTerm", "MedTerm", "LowTerm", "OrHighHigh", "OrHighMed", "AndHighMed", "Phrase" }, classes);
        }
        finally { File.Delete(a); File.Delete(b); }
    }
}
