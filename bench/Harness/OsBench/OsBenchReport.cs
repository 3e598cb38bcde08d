using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Libra.Bench.OsBench;

// One row of the probe's output: per-operation median and p99 (ns) of one run; `Bytes` per operation
// for the rows whose cost is throughput (sequential file reads and writes).
public sealed record ProbeRow(string Row, double MedianNs, double P99Ns, int Samples, long Bytes);

// One run of the probe on one target in one round, with the host's load average when it started.
public sealed record ProbeRun(int Round, string Target, string LoadAverage, double Seconds, List<ProbeRow> Rows);

public sealed record ProbeTargetInfo(string Name, string Description, string? Skipped = null);

// A row over the rounds on one target: the runs' medians and p99s, each as median [smallest–largest].
public sealed record TargetCell(string Target, Spread Median, Spread P99);

// A row of the report: each target's cell, and Libra's per-round ratio to each Linux guest.
public sealed record RowSummary(string Row, long Bytes, List<TargetCell> Cells, Spread? LibraVsGuestNone, Spread? LibraVsGuestLoose);

public sealed class OsBenchReport
{
    public string Timestamp { get; } = DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
    public bool Smoke { get; init; }
    public int Rounds { get; init; }
    public required string Machine { get; init; }
    public required string Commit { get; init; }
    public List<ProbeTargetInfo> Targets { get; } = [];
    public List<ProbeRun> Runs { get; } = [];
    public List<string> Failures { get; } = [];
    public List<RowSummary> Summary { get; } = [];

    // What each row measures, in the probe's order; rows the probe adds later show under their id.
    static readonly Dictionary<string, string> Labels = new()
    {
        ["getppid"] = "null syscall (getppid)",
        ["clock_gettime_monotonic"] = "clock_gettime(MONOTONIC)",
        ["gettimeofday"] = "gettimeofday",
        ["sched_yield"] = "sched_yield (one thread)",
        ["futex_pingpong_round_trip"] = "futex wake→wait ping-pong, round trip",
        ["pipe_pingpong_round_trip"] = "pipe ping-pong, round trip",
        ["eventfd_pingpong_round_trip"] = "eventfd ping-pong, round trip",
        ["thread_create_join"] = "thread create+join",
        ["futex_wake_to_run_spinning_waker"] = "futex wake-up to run, waker spinning",
        ["anon_page_fault_4k"] = "anonymous page fault, per 4 KiB page",
        ["mmap_munmap_64k"] = "mmap+munmap 64 KiB",
        ["nanosleep_1ms_achieved"] = "nanosleep(1 ms), achieved",
        ["nanosleep_100us_achieved"] = "nanosleep(100 µs), achieved",
        ["task_delay_1ms_achieved"] = ".NET await Task.Delay(1), achieved",
        ["file_stat"] = "9P: stat of an existing file",
        ["file_open_read_4k_close"] = "9P: open+read 4 KiB+close",
        ["file_write_sequential"] = "9P: sequential write",
        ["file_read_sequential"] = "9P: sequential read",
        ["tcp_loopback_pingpong_round_trip"] = "TCP loopback ping-pong, round trip",
        [PublishedPort.Row] = "published port: TCP ping-pong from the host, round trip",
    };

    public static string Label(string row) => Labels.GetValueOrDefault(row, row);

    public void Summarize()
    {
        var order = Labels.Keys.ToList();
        var rows = Runs.SelectMany(r => r.Rows.Select(x => x.Row)).Distinct()
            .OrderBy(r => order.IndexOf(r) is int i && i >= 0 ? i : int.MaxValue).ToList();
        foreach (string row in rows)
        {
            var cells = new List<TargetCell>();
            foreach (var t in Targets.Where(t => t.Skipped == null))
            {
                var values = Runs.Where(r => r.Target == t.Name).SelectMany(r => r.Rows.Where(x => x.Row == row)).ToList();
                if (values.Count > 0) cells.Add(new TargetCell(t.Name, Spread.Of(values.Select(v => v.MedianNs)), Spread.Of(values.Select(v => v.P99Ns))));
            }
            long bytes = Runs.SelectMany(r => r.Rows).FirstOrDefault(x => x.Row == row)?.Bytes ?? 0;
            Summary.Add(new RowSummary(row, bytes, cells, RatioPerRound(row, "libra", ProbeTargets.Baseline), RatioPerRound(row, "libra", "linux-guest-9p-loose")));
        }
    }

    // `target` ÷ `baseline` for one row, each round's run against the same round's; null when either is missing.
    Spread? RatioPerRound(string row, string target, string baseline)
    {
        double? Median(int round, string name) => Runs.FirstOrDefault(r => r.Round == round && r.Target == name)?.Rows.FirstOrDefault(x => x.Row == row)?.MedianNs;
        var ratios = Runs.Select(r => r.Round).Distinct()
            .Select(round => (Median(round, target), Median(round, baseline)))
            .Where(p => p.Item1 is > 0 && p.Item2 is > 0)
            .Select(p => p.Item1!.Value / p.Item2!.Value).ToList();
        return ratios.Count > 0 ? Spread.Of(ratios) : null;
    }

    public (string Json, string Markdown, string? Png) Write(string folder)
    {
        Directory.CreateDirectory(folder);
        string stem = Path.Combine(folder, "osbench-" + Timestamp + (Smoke ? "-smoke" : ""));
        var options = new JsonSerializerOptions { WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };
        File.WriteAllText(stem + ".json", JsonSerializer.Serialize(this, options));
        string? png = Plot(stem);
        File.WriteAllText(stem + ".md", Markdown(png));
        return (stem + ".json", stem + ".md", png);
    }

    static string F(double v, int digits) => double.IsNaN(v) ? "–" : v.ToString("N" + digits, CultureInfo.InvariantCulture);

    // Microseconds with three significant digits or so: 0.025, 1.31, 33.4, 1,128.
    static string Us(double ns)
    {
        double us = ns / 1000;
        return F(us, us < 1 ? 3 : us < 10 ? 2 : us < 100 ? 1 : 0);
    }

    static string MBps(long bytes, double ns) => F(bytes / (ns / 1e9) / 1e6, 0);

    static string Cell(RowSummary row, TargetCell? c)
    {
        if (c == null) return "–";
        if (row.Bytes > 0)   // throughput: MB/s of the median run [slowest–fastest run]
            return $"{MBps(row.Bytes, c.Median.Median)} MB/s [{MBps(row.Bytes, c.Median.Max)}–{MBps(row.Bytes, c.Median.Min)}]";
        return $"{Us(c.Median.Median)} [{Us(c.Median.Min)}–{Us(c.Median.Max)}] ({Us(c.P99.Median)})";
    }

    static string Ratio(Spread? s) => s == null ? "–" : $"{F(s.Median, 2)} [{F(s.Min, 2)}–{F(s.Max, 2)}]";

    string Markdown(string? png)
    {
        var sb = new StringBuilder();
        var ran = Targets.Where(t => t.Skipped == null).ToList();
        sb.AppendLine($"# OS primitives, {Timestamp} UTC{(Smoke ? " (smoke)" : "")}");
        sb.AppendLine();
        sb.AppendLine($"`build.ps1 osbench{(Smoke ? " -Smoke" : "")}` at commit {Commit}: the static probe `osbench` (Apps/Probes/OsBench) on each target, " +
            $"{Rounds} round(s), each round visiting the targets in a rotated order. Machine: {Machine}.");
        var loads = Runs.Select(r => double.TryParse(r.LoadAverage.Split(' ')[0], CultureInfo.InvariantCulture, out double l) ? l : double.NaN)
            .Where(l => !double.IsNaN(l)).ToList();
        if (loads.Count > 0)
            sb.AppendLine($"Host load average (1 min) at the start of the runs: {F(loads.Min(), 1)} to {F(loads.Max(), 1)}, " +
                "each run's in the JSON (the machine is shared: other sessions build and test beside this run).");
        sb.AppendLine();
        sb.AppendLine("Cells: µs per operation, the median over rounds of each run's median [smallest–largest run] (median over rounds of each run's p99); " +
            "file throughput in MB/s [slowest–fastest run]. Ratios: Libra ÷ the Linux guest in the same round (below 1: Libra is faster), median [smallest–largest round].");
        sb.AppendLine();
        sb.AppendLine("## Targets");
        sb.AppendLine();
        foreach (var t in Targets) sb.AppendLine(t.Skipped == null ? $"- `{t.Name}`: {t.Description}" : $"- `{t.Name}`: skipped — {t.Skipped}");
        sb.AppendLine();
        sb.AppendLine("## Rows");
        sb.AppendLine();
        sb.AppendLine("| row | " + string.Join(" | ", ran.Select(t => t.Name)) + " | libra ÷ guest (9p none) | libra ÷ guest (9p loose) |");
        sb.AppendLine("|---|" + string.Concat(ran.Select(_ => "---|")) + "---|---|");
        foreach (var row in Summary)
            sb.AppendLine($"| {Label(row.Row)} | " + string.Join(" | ", ran.Select(t => Cell(row, row.Cells.FirstOrDefault(c => c.Target == t.Name)))) +
                $" | {Ratio(row.LibraVsGuestNone)} | {Ratio(row.LibraVsGuestLoose)} |");
        if (Failures.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("## Failed runs");
            sb.AppendLine();
            foreach (string f in Failures) sb.AppendLine($"- {f}");
        }
        if (png != null) { sb.AppendLine(); sb.AppendLine($"![each target's median ÷ the Linux guest's (9p none)]({Path.GetFileName(png)})"); }
        return sb.ToString();
    }

    // Each target's median per row divided by the baseline's (log scale), drawn by gnuplot.
    string? Plot(string stem)
    {
        var others = Targets.Where(t => t.Skipped == null && t.Name != ProbeTargets.Baseline).Select(t => t.Name).ToList();
        var rows = Summary.Where(r => r.Cells.Any(c => c.Target == ProbeTargets.Baseline)).ToList();
        if (rows.Count == 0 || others.Count == 0) return null;
        string data = stem + ".plot.dat", png = stem + ".png";
        var d = new StringBuilder();
        d.AppendLine("# row " + string.Join(' ', others));
        foreach (var r in rows)
        {
            double baseline = r.Cells.First(c => c.Target == ProbeTargets.Baseline).Median.Median;
            d.AppendLine($"\"{Label(r.Row)}\" " + string.Join(' ', others.Select(o => r.Cells.FirstOrDefault(c => c.Target == o) is { } c
                ? (c.Median.Median / baseline).ToString("G4", CultureInfo.InvariantCulture) : "NaN")));
        }
        File.WriteAllText(data, d.ToString());
        string plots = string.Join(", ", others.Select((o, i) => $"'{data}' using {i + 2}{(i == 0 ? ":xtic(1)" : "")} title '{o}'"));
        string script = $"""
            set terminal pngcairo size 1300,760 font 'sans,10' noenhanced
            set output '{png}'
            set bmargin 14
            set rmargin 12
            set title 'OS primitives: median per operation ÷ the Linux guest (9p cache=none){(Smoke ? " (smoke)" : "")}, {Timestamp} UTC'
            set style data histogram
            set style histogram cluster gap 1
            set style fill solid 0.8 border -1
            set logscale y
            set ylabel 'time ÷ Linux guest (below 1: faster)'
            set xtics rotate by -35 scale 0
            set grid ytics
            set key left top
            set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 2
            plot {plots}
            """;
        File.WriteAllText(stem + ".plot.gp", script);
        return Gnuplot.Run(stem + ".plot.gp") ? png : null;
    }
}
