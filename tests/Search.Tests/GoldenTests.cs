using System.Text.Json;
using Xunit;

namespace Libra.Search.Tests;

// Golden top-k on the fortunes corpus: ids and BM25 scores recorded from the native AOT binary
// (golden/fortunes-topk.json) must come back the same natively, in the Linux guest and on Libra,
// scores to 1e-6.
// SEARCH_UPDATE_GOLDEN=1 rewrites the file from the native binary (after an intended change).
public sealed record GoldenHit(string Id, double Score);
public sealed record GoldenQuery(string Query, int TotalHits, List<GoldenHit> Hits);

public static class Golden
{
    public static readonly string[] Queries =
    [
        "larry wall", "computer", "love money", "+love +money", "\"free software\"", "god -devil", "title:perl",
        "program*", "wom?n", "unix~", "science fiction", "\"the meaning of life\"", "cat dog mouse", "zzyzxqwv",
    ];

    static readonly JsonSerializerOptions Options = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public static List<GoldenQuery> Load(string path) =>
        JsonSerializer.Deserialize<List<GoldenQuery>>(File.ReadAllText(path), Options) ?? throw new InvalidDataException(path);

    public static void Save(string path, List<GoldenQuery> golden) => File.WriteAllText(path, JsonSerializer.Serialize(golden, Options) + "\n");

    public static async Task<GoldenQuery> Ask(HttpClient http, string query)
    {
        var body = JsonDocument.Parse(await http.GetStringAsync($"/search?q={Uri.EscapeDataString(query)}&k=10")).RootElement;
        return new GoldenQuery(query, body.GetProperty("totalHits").GetInt32(),
            body.GetProperty("hits").EnumerateArray().Select(h => new GoldenHit(h.GetProperty("id").GetString()!, h.GetProperty("score").GetDouble())).ToList());
    }

    public static void AssertSame(GoldenQuery expected, GoldenQuery actual)
    {
        Assert.Equal(expected.Query, actual.Query);
        Assert.True(expected.TotalHits == actual.TotalHits, $"'{expected.Query}': {actual.TotalHits} hits, golden {expected.TotalHits}");
        Assert.Equal(expected.Hits.Select(h => h.Id), actual.Hits.Select(h => h.Id));
        for (int i = 0; i < expected.Hits.Count; i++)
            Assert.True(Math.Abs(expected.Hits[i].Score - actual.Hits[i].Score) <= 1e-6,
                $"'{expected.Query}' hit {i}: score {actual.Hits[i].Score}, golden {expected.Hits[i].Score}");
    }
}

public sealed class NativeGoldenTests(NativeFixture native) : IClassFixture<NativeFixture>
{
    [Fact]
    public async Task Native_top_k_matches_the_golden_file()
    {
        var artifacts = Artifacts.Shared.Value;
        var actual = new List<GoldenQuery>();
        foreach (string q in Golden.Queries) actual.Add(await Golden.Ask(native.Http, q));
        if (Environment.GetEnvironmentVariable("SEARCH_UPDATE_GOLDEN") == "1") Golden.Save(artifacts.GoldenFile, actual);
        var golden = Golden.Load(artifacts.GoldenFile);
        Assert.Equal(golden.Select(g => g.Query), actual.Select(a => a.Query));
        Assert.Contains(golden, g => g.Hits.Count == 10);
        for (int i = 0; i < golden.Count; i++) Golden.AssertSame(golden[i], actual[i]);
    }
}

// The golden answers and the error statuses from a target in a virtual machine, booted once per class.
public abstract class GuestGoldenTests<TFixture>(TFixture guest) where TFixture : TargetFixture
{
    [Fact]
    public async Task Top_k_matches_the_golden_file()
    {
        var golden = Golden.Load(Artifacts.Shared.Value.GoldenFile);
        foreach (var g in golden) Golden.AssertSame(g, await Golden.Ask(guest.Http, g.Query));
    }

    [Fact]
    public async Task Speaks_the_same_error_contract()
    {
        using var missing = await guest.Http.GetAsync("/search");
        Assert.Equal(400, (int)missing.StatusCode);
        using var bad = await guest.Http.GetAsync("/search?q=%22open");
        Assert.Equal(400, (int)bad.StatusCode);
        using var nope = await guest.Http.GetAsync("/nope");
        Assert.Equal(404, (int)nope.StatusCode);
    }
}

public sealed class LinuxGuestGoldenTests(GuestFixture guest) : GuestGoldenTests<GuestFixture>(guest), IClassFixture<GuestFixture>;

public sealed class LibraGoldenTests(LibraFixture libra) : GuestGoldenTests<LibraFixture>(libra), IClassFixture<LibraFixture>;

// `build.ps1 bench -Smoke` end to end: every target (linux-guest-tap where it can run, else its skip
// line), a report, a plot. Asserts shapes, never times.
public sealed class BenchSmokeTests
{
    [Fact]
    public void Bench_smoke_writes_json_markdown_and_plot_for_native_both_linux_guests_and_libra()
    {
        var artifacts = Artifacts.Shared.Value;
        string results = Path.Combine(Path.GetTempPath(), "libra-bench-smoke-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var (code, output) = Run.Process("dotnet", ["pwsh", Path.Combine(artifacts.Root, "build.ps1"), "bench", "-Smoke", "-Results", results],
                artifacts.Root, TimeSpan.FromMinutes(15));
            Assert.True(code == 0, output);
            string json = Directory.GetFiles(results, "*-smoke.json").Single();
            Assert.Single(Directory.GetFiles(results, "*-smoke.md"));
            Assert.Single(Directory.GetFiles(results, "*-smoke.png"));
            var report = JsonDocument.Parse(File.ReadAllText(json)).RootElement;
            var targets = report.GetProperty("targets").EnumerateArray().Select(t => t.GetProperty("name").GetString()).ToList();
            var skipped = report.GetProperty("skipped").EnumerateArray().ToList();
            // The tap guest needs root and tun: it runs, or it is listed skipped with a reason, never dropped.
            if (skipped.Count == 0) Assert.Equal(["native", "linux-guest", "linux-guest-tap", "libra"], targets);
            else
            {
                Assert.Equal(["native", "linux-guest", "libra"], targets);
                Assert.Equal("linux-guest-tap", Assert.Single(skipped).GetProperty("name").GetString());
                Assert.False(string.IsNullOrWhiteSpace(skipped[0].GetProperty("reason").GetString()));
                Assert.Contains("| linux-guest-tap | skipped: ", File.ReadAllText(Directory.GetFiles(results, "*-smoke.md").Single()));
            }
            // The harness has exited: no network namespace of a harness that is gone may remain (libra-bench-<pid>-<n>).
            string[] namespaces = Directory.Exists("/run/netns") ? Directory.GetFiles("/run/netns", "libra-bench-*") : [];
            Assert.DoesNotContain(namespaces, n => !Directory.Exists("/proc/" + Path.GetFileName(n).Split('-')[2]));
            foreach (var t in report.GetProperty("targets").EnumerateArray())
            {
                Assert.True(t.GetProperty("bootToFirstAnswerMs").GetDouble() > 0);
                Assert.True(t.GetProperty("peakRate").GetDouble() > 0);
                Assert.True(t.GetProperty("hostResidentMiB").GetInt64() > 0);
            }
            // Libra's kernel counters, per request: every request is at least a read and a write.
            var libra = report.GetProperty("targets").EnumerateArray().Single(t => t.GetProperty("name").GetString() == "libra");
            foreach (string cost in new[] { "pingCost", "searchCost" })
            {
                Assert.True(libra.GetProperty(cost).ValueKind == JsonValueKind.Object, $"no {cost} for libra");
                Assert.True(libra.GetProperty(cost).GetProperty("syscalls").GetDouble() >= 2, $"{cost}: {libra.GetProperty(cost)}");
                Assert.True(libra.GetProperty(cost).GetProperty("side_frames_in").GetDouble() > 0, $"{cost}: {libra.GetProperty(cost)}");
            }
            Assert.Equal(targets.Order(), report.GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("target").GetString()).Distinct().Order());
            foreach (var run in report.GetProperty("runs").EnumerateArray())
            {
                Assert.True(run.GetProperty("completed").GetInt64() > 0);
                Assert.Equal(0, run.GetProperty("errors").GetInt64());
            }
        }
        finally
        {
            if (Directory.Exists(results)) Directory.Delete(results, recursive: true);
        }
    }
}
