using System.Diagnostics;
using System.Globalization;

namespace Libra.Bench.Targets;

// Libra's cost counters as its kernel logs them with `libra.counters_ms=N`
// (LibraKernel/Diagnostics/CostCounters.cs): one line every N ms with running totals and the guest's
// clock, each stamped here with the host time it arrived. Two lines around a measured run give the
// cost of one request: each counter's growth divided by the requests served between them.
public sealed class KernelCounters
{
    // 200 ms: a smoke run measures 1.5 s windows, and a loaded host delivers the lines late and
    // bunched; a window needs two lines inside it (CI once got fewer with 500 ms).
    public const string Option = "libra.counters_ms=200";
    const string Marker = "libra: counters: ";
    readonly List<(long At, Dictionary<string, ulong> Values)> samples = [];

    // Takes a kernel log line; true when it was a counters line.
    public bool Offer(string line)
    {
        int at = line.IndexOf(Marker, StringComparison.Ordinal);
        if (at < 0) return false;
        var values = new Dictionary<string, ulong>();
        foreach (string field in line[(at + Marker.Length)..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = field.IndexOf('=');
            if (eq > 0 && ulong.TryParse(field[(eq + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out ulong v)) values[field[..eq]] = v;
        }
        if (!values.ContainsKey("ns")) return false;
        lock (samples) samples.Add((Stopwatch.GetTimestamp(), values));
        return true;
    }

    // The growth of each counter between the first line inside [from, to] and the last line inside it
    // (Stopwatch ticks), and the guest seconds between them; null when fewer than two lines fall inside.
    public (Dictionary<string, double> Growth, double GuestSeconds)? Between(long from, long to)
    {
        lock (samples)
        {
            var inside = samples.Where(s => s.At >= from && s.At <= to).ToList();
            if (inside.Count < 2) return null;
            var (first, last) = (inside[0].Values, inside[^1].Values);
            var growth = last.Where(kv => kv.Key != "ns" && first.ContainsKey(kv.Key)).ToDictionary(kv => kv.Key, kv => (double)(kv.Value - first[kv.Key]));
            return (growth, (last["ns"] - first["ns"]) / 1e9);
        }
    }
}

// Counter growth summed over runs, with the requests served meanwhile: the cost of one request.
public sealed class RequestCost
{
    public Dictionary<string, double> Totals { get; } = [];
    public double Requests { get; private set; }

    // One run at `rate` requests per second: its window's growth, the requests being rate × guest time.
    public void Add(KernelCounters counters, LoadResult run)
    {
        if (counters.Between(run.MeasureStartTicks, run.MeasureEndTicks) is not { } w || w.GuestSeconds <= 0) return;
        foreach (var (name, value) in w.Growth) Totals[name] = Totals.GetValueOrDefault(name) + value;
        Requests += run.AchievedRate * w.GuestSeconds;
    }

    public Dictionary<string, double>? PerRequest() =>
        Requests < 1 ? null : Totals.ToDictionary(kv => kv.Key, kv => kv.Value / Requests);
}
