using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using HdrHistogram;

namespace Libra.Bench;

public sealed class TargetInfo
{
    public required string Name { get; init; }
    public required string Description { get; init; }
    public double BootToFirstAnswerMs { get; init; }
    public long? ConfiguredMemoryMiB { get; init; }
    public long HostResidentMiB { get; set; }
    public double PeakRate { get; set; }
    public long PeakErrors { get; set; }
    public double PingP50Ms { get; set; }
    public double PingP99Ms { get; set; }
    public JsonElement? ServerStats { get; set; }
    // Kernel counters per request (Libra): /ping at the middle rate, search at the middle rate.
    public Dictionary<string, double>? PingCost { get; set; }
    public Dictionary<string, double>? SearchCost { get; set; }
    // What the OS under the service counts per request, every target (ServerCost): the same windows.
    public Dictionary<string, double>? PingOsCost { get; set; }
    public Dictionary<string, double>? SearchOsCost { get; set; }
}

// A target this machine cannot run (linux-guest-tap without root), listed with the reason.
public sealed record SkippedTarget(string Name, string Reason);

public sealed record ClassLatency(long Count, double P50Ms, double P99Ms);

public sealed record RunResult(int Round, string Target, double Rate, double AchievedRate, long Completed, long Errors, long Dropped,
    double P50Ms, double P90Ms, double P99Ms, double P999Ms, double MaxMs, Dictionary<string, ClassLatency> ByClass)
{
    public static RunResult From(int round, string target, double rate, LoadResult r)
    {
        double P(LongHistogram h, double p) => h.TotalCount == 0 ? double.NaN : Bench.Ms(h.GetValueAtPercentile(p));
        return new RunResult(round, target, rate, r.AchievedRate, r.Completed, r.Errors, r.Dropped,
            P(r.All, 50), P(r.All, 90), P(r.All, 99), P(r.All, 99.9), r.All.TotalCount == 0 ? double.NaN : Bench.Ms(r.All.GetMaxValue()),
            r.ByClass.Where(c => c.Value.TotalCount > 0).ToDictionary(c => c.Key, c => new ClassLatency(c.Value.TotalCount, P(c.Value, 50), P(c.Value, 99))));
    }
}

// Median over rounds, with the smallest and largest round beside it (the spread, not a formal interval).
public sealed record Spread(double Median, double Min, double Max)
{
    public static Spread Of(IEnumerable<double> values)
    {
        var v = values.Where(x => !double.IsNaN(x)).Order().ToArray();
        if (v.Length == 0) return new(double.NaN, double.NaN, double.NaN);
        double med = v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
        return new(med, v[0], v[^1]);
    }
}

public sealed record SummaryRow(string Target, double Rate, Spread Achieved, Spread P50Ms, Spread P90Ms, Spread P99Ms, Spread P999Ms,
    Spread MaxMs, Spread? P50VsNative, Spread? P99VsNative, Spread? P50VsGuest, Spread? P99VsGuest, Spread? P50VsGuestTap, Spread? P99VsGuestTap,
    long Errors, long Dropped, Dictionary<string, ClassLatency> ByClass)
{
    public (Spread? P50, Spread? P99) Versus(string baseline) =>
        baseline == Report.GuestTap ? (P50VsGuestTap, P99VsGuestTap) : (P50VsGuest, P99VsGuest);
}

public sealed record Curve(string Target, double Rate, List<double[]> Points);

public sealed class Report
{
    // Issue 10's aims are stated against the Linux guest on the same QEMU profile: behind QEMU's user
    // networking (slirp), and on a tap, Linux's best networking on this machine.
    public const string Guest = "linux-guest", GuestTap = "linux-guest-tap";

    // Which baselines a target is divided by: native for every other; the guest behind slirp for all
    // but native; the guest on a tap for targets that are not a Linux guest themselves (Libra).
    static bool Compares(string target, string baseline) => target != baseline && baseline switch
    {
        "native" => true,
        Guest => target != "native",
        _ => target is not ("native" or Guest),
    };

    public string Timestamp { get; } = DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
    public required string Corpus { get; init; }
    public required Plan Plan { get; init; }
    public bool Smoke { get; init; }
    public bool IndexInRam { get; init; }
    public int Queries { get; init; }
    public required string Machine { get; init; }
    public double[] Rates { get; set; } = [];
    public List<TargetInfo> Targets { get; } = [];
    public List<SkippedTarget> Skipped { get; } = [];
    public List<RunResult> Runs { get; } = [];
    public List<SummaryRow> Summary { get; } = [];
    public List<Curve> Curves { get; } = [];

    readonly Dictionary<(string, double), LoadResult> merged = new();

    public void AddHistogram(string target, double rate, LoadResult r)
    {
        if (!merged.TryGetValue((target, rate), out var m))
            merged[(target, rate)] = m = new LoadResult { All = LoadResult.NewHistogram(), ByClass = new() };
        m.All.Add(r.All);
        foreach (var (c, h) in r.ByClass)
        {
            if (!m.ByClass.TryGetValue(c, out var mh)) m.ByClass[c] = mh = LoadResult.NewHistogram();
            mh.Add(h);
        }
    }

    static readonly double[] CurvePercentiles = [0, 10, 25, 50, 75, 90, 95, 98, 99, 99.5, 99.8, 99.9, 99.95, 99.99, 100];

    public void Summarize()
    {
        foreach (var group in Runs.GroupBy(r => (r.Target, r.Rate)))
        {
            var runs = group.ToList();
            // Against a baseline target in the same round and at the same rate.
            Spread? Ratio(Func<RunResult, double> pick, string baseline)
            {
                if (!Compares(group.Key.Target, baseline) || !Runs.Any(r => r.Target == baseline)) return null;
                return Spread.Of(runs.Select(r => pick(r) / pick(Runs.First(n => n.Target == baseline && n.Rate == r.Rate && n.Round == r.Round))));
            }
            var m = merged[(group.Key.Target, group.Key.Rate)];
            double P(LongHistogram h, double p) => Bench.Ms(h.GetValueAtPercentile(p));
            Summary.Add(new SummaryRow(group.Key.Target, group.Key.Rate, Spread.Of(runs.Select(r => r.AchievedRate)), Spread.Of(runs.Select(r => r.P50Ms)),
                Spread.Of(runs.Select(r => r.P90Ms)), Spread.Of(runs.Select(r => r.P99Ms)), Spread.Of(runs.Select(r => r.P999Ms)), Spread.Of(runs.Select(r => r.MaxMs)),
                Ratio(r => r.P50Ms, "native"), Ratio(r => r.P99Ms, "native"),
                Ratio(r => r.P50Ms, Guest), Ratio(r => r.P99Ms, Guest), Ratio(r => r.P50Ms, GuestTap), Ratio(r => r.P99Ms, GuestTap),
                runs.Sum(r => r.Errors), runs.Sum(r => r.Dropped),
                m.ByClass.Where(c => c.Value.TotalCount > 0).OrderBy(c => c.Key, StringComparer.Ordinal)
                    .ToDictionary(c => c.Key, c => new ClassLatency(c.Value.TotalCount, P(c.Value, 50), P(c.Value, 99)))));
            if (m.All.TotalCount > 0)
                Curves.Add(new Curve(group.Key.Target, group.Key.Rate, CurvePercentiles.Select(p => new[] { p, P(m.All, p) }).ToList()));
        }
    }

    public (string Json, string Markdown, string? Png) Write(string folder)
    {
        Directory.CreateDirectory(folder);
        string stem = Path.Combine(folder, Timestamp + (Smoke ? "-smoke" : ""));
        var options = new JsonSerializerOptions { WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
        File.WriteAllText(stem + ".json", JsonSerializer.Serialize(this, options));
        string? png = Plot(stem);
        File.WriteAllText(stem + ".md", Markdown(png));
        return (stem + ".json", stem + ".md", png);
    }

    static string F(double v, int digits = 2) => double.IsNaN(v) ? "–" : v.ToString("F" + digits, CultureInfo.InvariantCulture);
    static string S(Spread? s, int digits = 2) => s == null ? "1" : $"{F(s.Median, digits)} [{F(s.Min, digits)}–{F(s.Max, digits)}]";

    string Markdown(string? png)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"# Search latency, {Timestamp} UTC{(Smoke ? " (smoke)" : "")}");
        sb.AppendLine();
        sb.AppendLine($"Corpus `{Corpus}`, {Queries} generated queries (k=10), the index {(IndexInRam ? "loaded into RAM at start (--ram)" : "read from its files")} on every target. Machine: {Machine}.");
        sb.AppendLine($"Plan: {Plan}. Latency from each request's intended send time (open loop, HdrHistogram).");
        sb.AppendLine("Values: median over rounds [smallest–largest round]; ratios divide by native in the same round.");
        sb.AppendLine();
        sb.AppendLine("## Targets");
        sb.AppendLine();
        sb.AppendLine("| target | boot to first answer | peak (closed loop) | /ping p50 / p99 | host RSS | guest memory | server working set | how |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|");
        foreach (var t in Targets)
        {
            string ws = t.ServerStats is { } s && s.TryGetProperty("workingSetBytes", out var w) ? $"{w.GetInt64() / (1024 * 1024)} MiB" : "–";
            sb.AppendLine($"| {t.Name} | {F(t.BootToFirstAnswerMs, 0)} ms | {F(t.PeakRate, 0)} req/s | {F(t.PingP50Ms)} / {F(t.PingP99Ms)} ms | {t.HostResidentMiB} MiB | " +
                $"{(t.ConfiguredMemoryMiB is { } m ? $"{m} MiB (-m)" : "–")} | {ws} | {t.Description} |");
        }
        foreach (var skipped in Skipped) sb.AppendLine($"| {skipped.Name} | skipped: {skipped.Reason} | | | | | | |");
        sb.AppendLine();
        sb.AppendLine("## Latency at fixed rates (ms)");
        sb.AppendLine();
        sb.AppendLine("| target | rate | achieved | p50 | p90 | p99 | p99.9 | max | p50 ÷ native | p99 ÷ native | errors |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in Summary.OrderBy(r => r.Rate).ThenBy(r => r.Target == "native" ? 0 : 1).ThenBy(r => r.Target))
            sb.AppendLine($"| {r.Target} | {F(r.Rate, 0)}/s | {F(r.Achieved.Median, 0)}/s | {S(r.P50Ms)} | {S(r.P90Ms)} | {S(r.P99Ms)} | {S(r.P999Ms)} | {S(r.MaxMs)} | " +
                $"{S(r.P50VsNative)} | {S(r.P99VsNative)} | {r.Errors + r.Dropped} |");
        AgainstGuest(sb, Guest, "the Linux guest (QEMU user networking)");
        AgainstGuest(sb, GuestTap, "the Linux guest on a tap (Linux's best networking here)");
        double mid = Rates.Length > 0 ? Rates[Rates.Length / 2] : 0;
        foreach (var t in Targets.Where(t => t.PingCost != null || t.SearchCost != null))
        {
            // The guest kernel's counters over the measured windows at the middle rate, divided by
            // the requests served meanwhile (idle work such as timer interrupts included).
            sb.AppendLine();
            sb.AppendLine($"## The cost of one request on {t.Name} at {F(mid, 0)}/s (guest kernel counters)");
            sb.AppendLine();
            sb.AppendLine("| counter | per /ping | per search |");
            sb.AppendLine("|---|---|---|");
            foreach (string c in (t.PingCost?.Keys ?? Enumerable.Empty<string>()).Union(t.SearchCost?.Keys ?? Enumerable.Empty<string>()))
                sb.AppendLine($"| {c} | {(t.PingCost?.TryGetValue(c, out var p) == true ? F(p, 1) : "–")} | {(t.SearchCost?.TryGetValue(c, out var q) == true ? F(q, 1) : "–")} |");
        }
        var withOs = Targets.Where(t => t.PingOsCost != null || t.SearchOsCost != null).ToList();
        if (withOs.Count > 0)
        {
            // The service's own view on every target (its /stats): CPU time of the process, and the
            // OS's context switches and interrupts where it has /proc/stat (natively the whole host's).
            sb.AppendLine();
            sb.AppendLine($"## The cost of one request on every target at {F(mid, 0)}/s (the OS under the service, from /stats)");
            sb.AppendLine();
            sb.AppendLine("| target | CPU µs per /ping | per search | switches per /ping | per search | interrupts per /ping | per search |");
            sb.AppendLine("|---|---|---|---|---|---|---|");
            foreach (var t in withOs)
            {
                string Cell(Dictionary<string, double>? d, string k) => d?.TryGetValue(k, out var v) == true ? F(v, 1) : "–";
                sb.AppendLine($"| {t.Name}{(t.Name == "native" ? " (host-wide switches, interrupts)" : "")} | {Cell(t.PingOsCost, "cpu_us")} | {Cell(t.SearchOsCost, "cpu_us")} | " +
                    $"{Cell(t.PingOsCost, "switches")} | {Cell(t.SearchOsCost, "switches")} | {Cell(t.PingOsCost, "interrupts")} | {Cell(t.SearchOsCost, "interrupts")} |");
            }
        }
        var midRows = Summary.Where(r => r.Rate == mid).OrderBy(r => r.Target == "native" ? 0 : 1).ToList();
        if (midRows.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine($"## Per query class at {F(mid, 0)}/s, all rounds (p50 / p99 ms)");
            sb.AppendLine();
            sb.AppendLine("| class | " + string.Join(" | ", midRows.Select(r => r.Target)) + " |");
            sb.AppendLine("|---|" + string.Concat(midRows.Select(_ => "---|")));
            foreach (string cls in midRows.SelectMany(r => r.ByClass.Keys).Distinct().Order(StringComparer.Ordinal))
                sb.AppendLine($"| {cls} | " + string.Join(" | ", midRows.Select(r => r.ByClass.TryGetValue(cls, out var c) ? $"{F(c.P50Ms)} / {F(c.P99Ms)}" : "–")) + " |");
        }
        if (png != null) { sb.AppendLine(); sb.AppendLine($"![latency percentiles]({Path.GetFileName(png)})"); }
        return sb.ToString();
    }

    // Every other target against one Linux guest: /ping shows the OS and network path alone, search
    // adds the query's compute, peak the whole machine.
    void AgainstGuest(StringBuilder sb, string baseline, string title)
    {
        var guest = Targets.FirstOrDefault(t => t.Name == baseline);
        var others = Targets.Where(t => Compares(t.Name, baseline)).ToList();
        if (guest == null || others.Count == 0) return;
        sb.AppendLine();
        sb.AppendLine($"## Against {title} (ratios; below 1 is faster)");
        sb.AppendLine();
        sb.AppendLine("| target | /ping p50 | /ping p99 | peak | " + string.Join(" | ", Rates.Select(r => $"search p50 / p99 at {F(r, 0)}/s")) + " |");
        sb.AppendLine("|---|---|---|---|" + string.Concat(Rates.Select(_ => "---|")));
        foreach (var t in others)
            sb.AppendLine($"| {t.Name} | {F(t.PingP50Ms / guest.PingP50Ms)} | {F(t.PingP99Ms / guest.PingP99Ms)} | {F(t.PeakRate / guest.PeakRate)} | " +
                string.Join(" | ", Rates.Select(rate => Summary.FirstOrDefault(r => r.Target == t.Name && r.Rate == rate) is { } row
                    ? $"{S(row.Versus(baseline).P50)} / {S(row.Versus(baseline).P99)}" : "–")) + " |");
    }

    // Percentile curves per target and rate, drawn by gnuplot (Debian's gnuplot-nox).
    string? Plot(string stem)
    {
        if (Curves.Count == 0) return null;
        string data = stem + ".plot.dat", png = stem + ".png";
        var d = new StringBuilder();
        var plots = new List<string>();
        int block = 0;
        foreach (var c in Curves.OrderBy(c => c.Target).ThenBy(c => c.Rate))
        {
            d.AppendLine($"# {c.Target} {c.Rate}");
            foreach (var p in c.Points.Where(p => p[0] < 100))
                d.AppendLine(string.Create(CultureInfo.InvariantCulture, $"{1 / (1 - p[0] / 100)} {Math.Max(p[1], 0.001)}"));
            d.AppendLine(); d.AppendLine();
            string dash = c.Target switch { "native" => "1", Guest => "2", GuestTap => "4", _ => "3" };
            plots.Add($"'{data}' index {block++} with linespoints dt {dash} lw 2 title '{c.Target} {c.Rate:F0}/s'");
        }
        File.WriteAllText(data, d.ToString());
        string script = $"""
            set terminal pngcairo size 1100,650 font 'sans,11'
            set output '{png}'
            set title 'Search latency by percentile (from intended send time), corpus {Corpus}{(Smoke ? " (smoke)" : "")}'
            set logscale x
            set logscale y
            set xtics ('0%%' 1, '50%%' 2, '90%%' 10, '99%%' 100, '99.9%%' 1000, '99.99%%' 10000)
            set xlabel 'percentile'
            set ylabel 'latency (ms)'
            set grid
            set key left top
            plot {string.Join(", \\\n     ", plots)}
            """;
        File.WriteAllText(stem + ".plot.gp", script);
        return Gnuplot.Run(stem + ".plot.gp") ? png : null;
    }
}

// Draws a plot script with gnuplot (Debian's gnuplot-nox); false when gnuplot is missing or fails.
static class Gnuplot
{
    public static bool Run(string script)
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo("gnuplot", script) { RedirectStandardError = true });
            if (p == null) return false;
            string err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) { Console.Error.WriteLine($"bench: gnuplot failed: {err}"); return false; }
            return true;
        }
        catch (System.ComponentModel.Win32Exception) { return false; }
    }
}
