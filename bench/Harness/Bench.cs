using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Libra.Bench.Targets;

namespace Libra.Bench;

// The comparison (workload.md, "Measuring latency fairly"): the same binary, index and query
// sequence on every target; first a closed-loop peak rate per target, then fixed open-loop rates
// at fractions of the slowest target's peak, targets interleaved in a shuffled order each round.
static class Bench
{
    public static async Task<int> RunAsync(Args a, CancellationToken ct)
    {
        if (a.Binary == null || a.Index == null || a.Queries == null) throw new ArgumentException("bench needs --binary, --index and --queries");
        var names = a.Targets.Count > 0 ? a.Targets : Registry.All.Keys.ToList();
        foreach (var n in names) if (!Registry.All.ContainsKey(n)) throw new ArgumentException($"unknown target '{n}' (known: {string.Join(", ", Registry.All.Keys)})");
        var plan = new Plan(
            Rounds: a.Rounds ?? (a.Smoke ? 1 : 5),
            Duration: a.Duration ?? (a.Smoke ? 1.5 : 10),
            Warmup: a.Warmup ?? (a.Smoke ? 0.5 : 2),
            InitialWarmup: a.Smoke ? 1 : 10,
            PeakSeconds: a.Smoke ? 1.5 : 5,
            Fractions: a.Rates ?? [0.25, 0.5, 0.75],
            Connections: 16,
            PeakConnections: 4);
        var queries = QuerySet.Load(a.Queries);
        var settings = a.Settings(Console.Out);
        Console.WriteLine($"bench: targets {string.Join(", ", names)}; {queries.Count} queries; {plan}");

        var report = new Report { Corpus = a.Corpus!, Plan = plan, Smoke = a.Smoke, IndexInRam = a.Ram, Queries = queries.Count, Machine = Machine.Describe(settings.Qemu) };
        var running = new Dictionary<string, RunningTarget>();
        try
        {
            foreach (string name in names)
            {
                var target = Registry.All[name];
                RunningTarget r;
                try { r = await target.StartAsync(settings, ct); }
                catch (TargetUnavailableException e)
                {
                    report.Skipped.Add(new SkippedTarget(name, e.Message));
                    Console.WriteLine($"bench: {name} skipped: {e.Message}");
                    continue;
                }
                running[name] = r;
                var info = new TargetInfo { Name = name, Description = target.Describe(settings), BootToFirstAnswerMs = r.BootToFirstAnswer.TotalMilliseconds,
                    ConfiguredMemoryMiB = r.ConfiguredMemoryBytes / (1024 * 1024) };
                report.Targets.Add(info);
                Console.WriteLine($"bench: {name} answered {info.BootToFirstAnswerMs:F0} ms after start ({info.Description})");
                await LoadGenerator.ClosedLoopAsync(r.Endpoint, queries, TimeSpan.FromSeconds(plan.InitialWarmup), plan.PeakConnections, ct);
                var peak = await LoadGenerator.ClosedLoopAsync(r.Endpoint, queries, TimeSpan.FromSeconds(plan.PeakSeconds), plan.PeakConnections, ct);
                info.PeakRate = peak.AchievedRate;
                info.PeakErrors = peak.Errors;
                Console.WriteLine($"bench: {name} peak {peak.AchievedRate:F0} req/s closed loop ({plan.PeakConnections} connections)");
            }

            if (running.Count == 0) { Console.WriteLine("bench: no target could run here"); return 1; }
            double slowest = report.Targets.Min(t => t.PeakRate);
            double[] rates = plan.Fractions.Select(f => Math.Max(1, Math.Round(f * slowest))).ToArray();
            report.Rates = rates;

            // The generator's own floor: /ping at the middle rate on each target.
            var ping = QuerySet.Single("/ping", "ping");
            foreach (var (name, r) in running)
            {
                var osBefore = await ServerCost.ReadAsync(r.Endpoint, ct);
                var p = await LoadGenerator.OpenLoopAsync(r.Endpoint, ping, rates[rates.Length / 2], TimeSpan.FromSeconds(plan.Warmup),
                    TimeSpan.FromSeconds(plan.Duration), plan.Connections, ct);
                var info = report.Targets.First(t => t.Name == name);
                var pingOs = new ServerCost();
                pingOs.Add(osBefore, await ServerCost.ReadAsync(r.Endpoint, ct), rates[rates.Length / 2] * (plan.Warmup + plan.Duration));
                info.PingOsCost = pingOs.PerRequest();
                info.PingP50Ms = Ms(p.All.GetValueAtPercentile(50));
                info.PingP99Ms = Ms(p.All.GetValueAtPercentile(99));
                if (r.Counters != null)
                {
                    var cost = new RequestCost();
                    cost.Add(r.Counters, p);
                    info.PingCost = cost.PerRequest();
                }
            }
            var searchCost = running.Where(t => t.Value.Counters != null).ToDictionary(t => t.Key, _ => new RequestCost());
            var searchOs = running.Keys.ToDictionary(name => name, _ => new ServerCost());

            var random = new Random(5);
            for (int round = 1; round <= plan.Rounds; round++)
            {
                foreach (string name in running.Keys.OrderBy(_ => random.Next()).ToList())
                    foreach (double rate in rates)
                    {
                        bool middle = rate == rates[rates.Length / 2];
                        var osBefore = middle ? await ServerCost.ReadAsync(running[name].Endpoint, ct) : null;
                        var res = await LoadGenerator.OpenLoopAsync(running[name].Endpoint, queries, rate, TimeSpan.FromSeconds(plan.Warmup),
                            TimeSpan.FromSeconds(plan.Duration), plan.Connections, ct);
                        var run = RunResult.From(round, name, rate, res);
                        if (middle && searchCost.TryGetValue(name, out var cost)) cost.Add(running[name].Counters!, res);
                        if (osBefore != null) searchOs[name].Add(osBefore, await ServerCost.ReadAsync(running[name].Endpoint, ct), rate * (plan.Warmup + plan.Duration));
                        report.Runs.Add(run);
                        report.AddHistogram(name, rate, res);
                        Console.WriteLine($"bench: round {round} {name,-12} {rate,7:F0}/s: achieved {run.AchievedRate,7:F0}/s  p50 {run.P50Ms,7:F2}  p99 {run.P99Ms,7:F2}  p99.9 {run.P999Ms,7:F2}  max {run.MaxMs,7:F2} ms" +
                            (run.Errors + run.Dropped > 0 ? $"  errors {run.Errors} dropped {run.Dropped}" : ""));
                    }
            }

            foreach (var (name, r) in running)
            {
                var info = report.Targets.First(t => t.Name == name);
                info.HostResidentMiB = r.HostResidentBytes() / (1024 * 1024);
                if (searchCost.TryGetValue(name, out var cost)) info.SearchCost = cost.PerRequest();
                info.SearchOsCost = searchOs[name].PerRequest();
                using var http = r.Endpoint.NewHttpClient(TimeSpan.FromSeconds(10));
                info.ServerStats = await http.GetFromJsonAsync<JsonElement>("stats", ct);
            }
        }
        finally
        {
            foreach (var r in running.Values) await r.DisposeAsync();
        }

        report.Summarize();
        var written = report.Write(a.Results!);
        Console.WriteLine(File.ReadAllText(written.Markdown));
        Console.WriteLine($"bench: wrote {written.Json}, {written.Markdown}" + (written.Png != null ? $", {written.Png}" : " (no plot)"));
        bool failed = report.Runs.Any(r => r.Completed == 0);
        return failed ? 1 : 0;
    }

    public static double Ms(long micros) => micros / 1000.0;
}

public sealed record Plan(int Rounds, double Duration, double Warmup, double InitialWarmup, double PeakSeconds, double[] Fractions,
    int Connections, int PeakConnections)
{
    public override string ToString() => $"{Rounds} round(s) x {Fractions.Length} rates ({string.Join("/", Fractions.Select(f => $"{f * 100:F0}%"))} of the slowest peak), " +
        $"{Duration} s measured after {Warmup} s warm-up, {Connections} keep-alive connections";
}

static class Machine
{
    public static string Describe(QemuProfile qemu)
    {
        string cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name"))?.Split(':', 2)[1].Trim() ?? "?";
        string kernel = File.Exists("/proc/sys/kernel/osrelease") ? File.ReadAllText("/proc/sys/kernel/osrelease").Trim() : "?";
        int cores = File.ReadLines("/proc/cpuinfo").Count(l => l.StartsWith("processor"));
        return $"{cores} cores, {cpu}, Linux {kernel}, QEMU accelerator {qemu.Accelerator}";
    }
}
