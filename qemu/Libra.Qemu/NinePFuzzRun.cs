using System.Text.RegularExpressions;

namespace Libra.Qemu;

// One run of the 9P reply fuzzer (build.ps1 fuzz9p; docs/robustness.md "File-server fuzzing"):
// boots Libra again and again with the workload `fileloop` (Apps/Probes/FileLoop) on a diod share
// behind a NinePReplyFuzzer, each boot with the next seed, until `Replies` replies have passed the
// fuzzer. A boot passes when it ends in time, without a panic, and the workload printed its summary.
public sealed class NinePFuzzRun
{
    public required string KernelImage { get; init; }
    public required string Workload { get; init; }
    public long Replies { get; init; } = 20_000;
    public int Seed { get; init; } = 1;
    public double Rate { get; init; } = 0.5;
    // File operations per workload thread and boot, and the threads.
    public int Operations { get; init; } = 10_000;
    public int Threads { get; init; } = 2;
    // libra.9p.timeout_ms: how long a dropped reply keeps its call waiting.
    public int CallTimeoutMs { get; init; } = 300;
    public double FramingShare { get; init; } = 1.0 / 8192;
    public TimeSpan BootTimeout { get; init; } = TimeSpan.FromMinutes(3);
    // Report every boot's kernel log too (to follow one seed).
    public bool Verbose { get; init; }

    public sealed record Boot(int Seed, long Replies, long Mutated, TimeSpan Took, int GuestStatus, string? Summary, string? Failure, bool ServerClosed);

    public sealed class Outcome
    {
        public NinePFuzzFigures Figures { get; } = new();
        public List<Boot> Boots { get; } = [];
        public int Panics => Boots.Count(b => b.Failure?.StartsWith("panic") == true);
        public int Hangs => Boots.Count(b => b.Failure?.StartsWith("hang") == true);
        public int Failures => Boots.Count(b => b.Failure is not null);
        // Boots whose mount was refused (a mutated Rversion or Rattach): the kernel said so and stopped.
        // Boots in which diod itself went away (it has crashed on what the guest asked after odd replies).
        public int ServerClosed => Boots.Count(b => b.ServerClosed);
        public int MountsRefused => Boots.Count(b => b.Failure is null && b.Summary is null);
        // The errnos the workload saw, summed over the boots: name → count.
        public SortedDictionary<string, long> Errnos { get; } = new(StringComparer.Ordinal);
        public long Operations, Succeeded, Wrong, Failed;
    }

    private static readonly Regex MountRefused = new(@"^libra: 9p: cannot (attach|mount|negotiate).*$", RegexOptions.Multiline);
    private static readonly Regex SummaryLine = new(@"^fileloop: ops (\d+) ok (\d+) wrong (\d+) failed (\d+); errnos:(.*); stopped early: (\d+) thread\(s\)$", RegexOptions.Multiline);

    // `report` gets one line per boot.
    public async Task<Outcome> RunAsync(Action<string>? report = null, CancellationToken cancel = default)
    {
        var outcome = new Outcome();
        for (int boot = 0; outcome.Figures.Replies < Replies && !cancel.IsCancellationRequested; boot++)
        {
            int seed = Seed + boot;
            long repliesBefore = outcome.Figures.Replies, mutatedBefore = outcome.Figures.Mutated;
            var fuzzer = new NinePReplyFuzzer(seed, Rate, outcome.Figures, FramingShare);
            string export = Directory.CreateTempSubdirectory("libra-fuzz9p-").FullName;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            BootResult? result = null;
            string? failure = null;
            try
            {
                var machine = new QemuMachine
                {
                    KernelImage = KernelImage, Memory = "512M", InitialRamDisk = Workload,
                    SharedDirectory = export, FileServer = FileServer.Diod, FileServerRelay = fuzzer.Relay,
                    CommandLine = AppCommandLine.Build($"libra.9p.timeout_ms={CallTimeoutMs}", Workload, [], ["/", Operations.ToString(), Threads.ToString()], false),
                };
                result = await BootRun.RunAsync(machine, BootTimeout);
            }
            catch (TimeoutException e) { failure = "hang: " + e.Message; }
            finally { try { Directory.Delete(export, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { } }
            Match summary = result is null ? Match.Empty : SummaryLine.Match(result.Stdout);
            if (result is not null)
            {
                if (result.Output.Contains("PANIC", StringComparison.Ordinal)) failure = "panic: " + result.Output;
                else if (!summary.Success && !MountRefused.IsMatch(result.Output)) failure = $"no summary (status {result.GuestStatus}): " + result.Output + "\n" + result.Stdout + result.Stderr;
            }
            if (summary.Success) Add(outcome, summary);
            var b = new Boot(seed, outcome.Figures.Replies - repliesBefore, outcome.Figures.Mutated - mutatedBefore, clock.Elapsed,
                result?.GuestStatus ?? -1, summary.Success ? summary.Value : null, failure,
                result?.Output.Contains("9p stream: the server closed the stream", StringComparison.Ordinal) == true);
            outcome.Boots.Add(b);
            report?.Invoke($"fuzz9p: boot {boot + 1} seed {seed}: {b.Replies} replies, {b.Mutated} mutated, {b.Took.TotalSeconds:0.0} s: " +
                (failure ?? b.Summary ?? "the mount was refused: " + MountRefused.Match(result!.Output).Value).Split('\n')[0]);
            if (failure is not null) report?.Invoke(failure);
            else if (Verbose && result is not null) report?.Invoke(result.Output);
        }
        return outcome;
    }

    private static void Add(Outcome outcome, Match summary)
    {
        outcome.Operations += long.Parse(summary.Groups[1].Value);
        outcome.Succeeded += long.Parse(summary.Groups[2].Value);
        outcome.Wrong += long.Parse(summary.Groups[3].Value);
        outcome.Failed += long.Parse(summary.Groups[4].Value);
        foreach (string pair in summary.Groups[5].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] parts = pair.Split('=');
            outcome.Errnos[parts[0]] = outcome.Errnos.GetValueOrDefault(parts[0]) + long.Parse(parts[1]);
        }
    }

    // The run's last lines: the figures the issue asks for.
    public static IEnumerable<string> Describe(Outcome o)
    {
        yield return $"fuzz9p: {o.Figures.Replies} replies, {o.Figures.Mutated} mutated, {o.Boots.Count} boots, {o.Panics} panics, {o.Hangs} hangs, {o.Failures - o.Panics - o.Hangs} boots without the workload's summary, {o.MountsRefused} mounts refused (a mutated Rversion or Rattach), {o.ServerClosed} boots in which diod closed the stream";
        yield return $"fuzz9p: mutations: {o.Figures.Describe()}";
        yield return $"fuzz9p: workload: {o.Operations} calls, {o.Succeeded} right, {o.Wrong} returned odd data, {o.Failed} failed; errnos: " +
            string.Join(' ', o.Errnos.Select(e => $"{e.Key}={e.Value}"));
    }
}
