using System.Text.Json;
using Libra.Bench.Targets;

namespace Libra.Bench.OsBench;

// `build.ps1 osbench`: the osbench probe (Apps/Probes/OsBench) on every target in one invocation,
// each round visiting the targets in a rotated order (A B C D, B C D A, ...) so that the drift of a
// shared, loaded machine falls on all of them alike; then the report (OsBenchReport).
static class OsBenchRun
{
    public static async Task<int> RunAsync(Args a, CancellationToken ct)
    {
        if (a.Binary == null) throw new ArgumentException("osbench needs --binary (the osbench probe)");
        var targets = a.Targets.Count > 0
            ? a.Targets.Select(n => ProbeTargets.All.FirstOrDefault(t => t.Name == n) ?? throw new ArgumentException(
                $"unknown target '{n}' (known: {string.Join(", ", ProbeTargets.All.Select(t => t.Name))})")).ToList()
            : ProbeTargets.All.ToList();
        var settings = new ProbeSettings
        {
            Probe = Path.GetFullPath(a.Binary), DotnetProbe = a.DotnetBinary == null ? null : Path.GetFullPath(a.DotnetBinary), GuestKernel = a.Kernel, GuestInitrd = a.Initrd, LibraKernel = a.LibraKernel,
            Qemu = QemuProfile.Default(a.Smp ?? 1, a.Memory ?? 1024, a.LibraKernel),
            Limit = TimeSpan.FromMinutes(a.Smoke ? 5 : 15),
        };
        int rounds = a.Rounds ?? (a.Smoke ? 1 : 5);
        string[] options = a.Smoke ? ["--smoke", "--serve"] : ["--serve"];
        var report = new OsBenchReport { Smoke = a.Smoke, Rounds = rounds, Machine = Machine.Describe(settings.Qemu), Commit = Git.Describe() };
        foreach (var t in targets) report.Targets.Add(new ProbeTargetInfo(t.Name, t.Describe(settings)));
        foreach (var (name, reason) in a.Skip)
        {
            report.Targets.RemoveAll(t => t.Name == name);
            report.Targets.Add(new ProbeTargetInfo(name, "", Skipped: reason));
            targets.RemoveAll(t => t.Name == name);
            Console.WriteLine($"osbench: {name} skipped: {reason}");
        }
        Console.WriteLine($"osbench: targets {string.Join(", ", targets.Select(t => t.Name))}; {rounds} round(s){(a.Smoke ? ", smoke" : "")}; {report.Machine}");

        bool failed = false;
        for (int round = 1; round <= rounds; round++)
        {
            for (int i = 0; i < targets.Count; i++)
            {
                var target = targets[(i + round - 1) % targets.Count];
                string load = LoadAverage();
                var watch = System.Diagnostics.Stopwatch.StartNew();
                try
                {
                    using var work = new WorkDirectory(settings);
                    int hostPort = Launch.FreePort();
                    var run = target.RunAsync(settings, work, WorkDirectory.CProbe, options, hostPort, ct);
                    ProbeRow? published = null;
                    Exception? clientFailure = null;
                    try { published = await PublishedPort.MeasureAsync(work.Scratch, hostPort, a.Smoke, run, ct); }
                    catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException) { clientFailure = e; }
                    // A closed connection ends the probe; one never made leaves it to the target's time limit.
                    string stdout = await run;
                    if (clientFailure != null) throw new IOException($"{target.Name}: the published port's client failed: {clientFailure.Message}");
                    var rows = ParseRows(stdout);
                    if (rows.Count == 0) throw new InvalidOperationException($"{target.Name}: the probe printed no rows:\n{stdout}");
                    if (published == null) throw new InvalidOperationException($"{target.Name}: the probe never served its published port");
                    rows.Add(published);
                    // The .NET rows: a second run (a second boot on the guests), the same directory.
                    if (settings.DotnetProbe != null)
                    {
                        string dotnet = await target.RunAsync(settings, work, WorkDirectory.DotnetProbe, a.Smoke ? ["--smoke"] : [], Launch.FreePort(), ct);
                        var dotnetRows = ParseRows(dotnet);
                        if (dotnetRows.Count == 0) throw new InvalidOperationException($"{target.Name}: {WorkDirectory.DotnetProbe} printed no rows:\n{dotnet}");
                        rows.AddRange(dotnetRows);
                    }
                    report.Runs.Add(new ProbeRun(round, target.Name, load, watch.Elapsed.TotalSeconds, rows));
                    Console.WriteLine($"osbench: round {round} {target.Name,-20} {rows.Count} rows in {watch.Elapsed.TotalSeconds:F0} s (load {load})");
                }
                catch (Exception e) when (e is InvalidOperationException or TimeoutException or IOException)
                {
                    failed = true;
                    report.Failures.Add($"round {round} {target.Name}: {e.Message.Split('\n')[0]}");
                    Console.Error.WriteLine($"osbench: round {round} {target.Name} failed: {e.Message}");
                }
            }
        }

        report.Summarize();
        var written = report.Write(a.Results!);
        Console.WriteLine(File.ReadAllText(written.Markdown));
        Console.WriteLine($"osbench: wrote {written.Json}, {written.Markdown}" + (written.Png != null ? $", {written.Png}" : " (no plot)"));
        return failed ? 1 : 0;
    }

    // One row per line of JSON, as the probe prints them.
    public static List<ProbeRow> ParseRows(string stdout) =>
        stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(line => line.StartsWith('{'))
            .Select(line => JsonDocument.Parse(line).RootElement)
            .Select(r => new ProbeRow(r.GetProperty("row").GetString()!, r.GetProperty("median_ns").GetDouble(), r.GetProperty("p99_ns").GetDouble(),
                r.GetProperty("samples").GetInt32(), r.TryGetProperty("bytes", out var b) ? b.GetInt64() : 0))
            .ToList();

    static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";
}

// The commit the report was measured on, with "+dirty" when the work tree has changes.
static class Git
{
    public static string Describe()
    {
        string? Run(params string[] args)
        {
            try
            {
                var start = new System.Diagnostics.ProcessStartInfo("git") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
                foreach (var w in args) start.ArgumentList.Add(w);
                using var p = System.Diagnostics.Process.Start(start)!;
                string text = p.StandardOutput.ReadToEnd().Trim();
                p.WaitForExit();
                return p.ExitCode == 0 ? text : null;
            }
            catch (System.ComponentModel.Win32Exception) { return null; }
        }
        string? head = Run("rev-parse", "--short", "HEAD");
        if (head == null) return "?";
        return Run("status", "--porcelain", "--untracked-files=no") is { Length: > 0 } ? head + "+dirty" : head;
    }
}
