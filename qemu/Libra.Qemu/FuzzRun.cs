using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Libra.Qemu;

// What one fuzzing boot came to (docs/robustness.md): the fuzzer's own figures from its last
// progress line or its summary, whether the kernel panicked or hung, and the seed that repeats it.
public sealed record FuzzOutcome(ulong Seed, int Threads, int Seconds, long Calls, int Distinct, int Panics, int Hangs, int ExitStatus,
    string? Summary, IReadOnlyList<string> Anomalies, string? Failure, string Log, long InjectedFailures = 0)
{
    // No panic, no hang, no anomaly, and the fuzzer reached its summary and exited with 0 (a fuzzer
    // killed by a signal on Libra but not natively is a kernel bug too).
    public bool Clean => Panics == 0 && Hangs == 0 && Anomalies.Count == 0 && ExitStatus == 0 && Summary is not null;

    public string Figures =>
        $"{Calls} calls, {Distinct} distinct syscalls, {Panics} panics, {Hangs} hangs, {Anomalies.Count} anomalies, fuzzer exit status {ExitStatus}" +
        (InjectedFailures > 0 ? $", {InjectedFailures} kernel allocations failed on purpose" : "");
}

// Boots the syscall fuzzer (Apps/Probes/Fuzz/fuzz.c) on Libra with an empty scratch directory as its
// share for `seconds`, watching its progress lines: a kernel PANIC line is a panic; no progress line
// for `Silence` (or no end by the deadline) is a hang, and then the kernel's state dump (NMI) is in
// the log. `build.ps1 fuzz` and FuzzTests both come here.
public static partial class FuzzRun
{
    // The fuzzer prints a progress line every second; a minute without one is a hang (TCG is slow,
    // but not that slow). Boot: from QEMU's start to the fuzzer's first line.
    public static readonly TimeSpan Silence = TimeSpan.FromSeconds(60);
    public static readonly TimeSpan Boot = TimeSpan.FromSeconds(120);

    [GeneratedRegex(@"^fuzz: progress (\d+) s calls=(\d+) distinct=(\d+)")]
    private static partial Regex ProgressLine();

    [GeneratedRegex(@"""calls"":(\d+),""distinct"":(\d+)")]
    private static partial Regex SummaryFigures();

    [GeneratedRegex(@"(\d+) allocations failed by libra.fail_alloc")]
    private static partial Regex InjectedLine();

    public static async Task<FuzzOutcome> RunAsync(string kernel, string fuzzer, int seconds, ulong seed, int threads,
        Action<string>? report = null, string memory = "512M", bool trace = false, string kernelOptions = "", uint failAlloc = 0)
    {
        // libra.fail_alloc=N (KernelHeap): one kernel heap allocation in N fails once the fuzzer runs.
        if (failAlloc != 0) kernelOptions = $"{kernelOptions} libra.fail_alloc={failAlloc}".Trim();
        string scratch = Path.Combine(Path.GetTempPath(), "libra-fuzz-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(scratch);
        var arguments = new List<string> { "/", seconds.ToString(), seed.ToString(), threads.ToString() };
        if (trace) arguments.Add("--trace");
        var machine = new QemuMachine
        {
            KernelImage = kernel, Memory = memory, InitialRamDisk = fuzzer, SharedDirectory = scratch,
            CommandLine = AppCommandLine.Build(kernelOptions, fuzzer, [], arguments, traceSyscalls: false),
        };
        long calls = 0;
        int distinct = 0;
        string? summary = null;
        // What never happens natively: a thread that made no call for 10 s, a scratch directory it
        // could not go back into.
        var anomalies = new List<string>();
        var clock = Stopwatch.StartNew();
        long lastLineMs = 0;
        bool started = false;
        using var hang = new CancellationTokenSource();
        using var done = new CancellationTokenSource();
        void OnLine(string line)
        {
            Interlocked.Exchange(ref lastLineMs, clock.ElapsedMilliseconds);
            started = true;
            if (ProgressLine().Match(line) is { Success: true } progress)
            {
                calls = long.Parse(progress.Groups[2].Value);
                distinct = int.Parse(progress.Groups[3].Value);
                if (int.Parse(progress.Groups[1].Value) % 10 == 0) report?.Invoke($"fuzz: {progress.Groups[1].Value} s: {calls} calls, {distinct} distinct");
                return;
            }
            if (line.StartsWith("fuzz: summary ", StringComparison.Ordinal))
            {
                summary = line["fuzz: summary ".Length..];
                if (SummaryFigures().Match(summary) is { Success: true } figures)
                {
                    calls = long.Parse(figures.Groups[1].Value);
                    distinct = int.Parse(figures.Groups[2].Value);
                }
            }
            if (line.StartsWith("fuzz: stuck ", StringComparison.Ordinal) || line.StartsWith("fuzz: cannot go back", StringComparison.Ordinal))
                lock (anomalies) anomalies.Add(line);
            if (!trace || !line.StartsWith("fuzz: call ", StringComparison.Ordinal)) report?.Invoke(line);
        }
        // The watcher: no line for Silence (Boot before the first one) stops the boot as a hang.
        var watcher = Task.Run(async () =>
        {
            while (!done.IsCancellationRequested)
            {
                try { await Task.Delay(TimeSpan.FromSeconds(1), done.Token); } catch (OperationCanceledException) { return; }
                long quiet = clock.ElapsedMilliseconds - Interlocked.Read(ref lastLineMs);
                if (quiet > (started ? Silence : Boot).TotalMilliseconds) { hang.Cancel(); return; }
            }
        });
        int panics = 0, hangs = 0, exitStatus;
        long injected = 0;
        string? failure = null;
        string log;
        try
        {
            BootResult result = await BootRun.RunAsync(machine, TimeSpan.FromSeconds(seconds) + Boot + Silence, onStdoutLine: OnLine, stop: hang.Token);
            exitStatus = result.GuestStatus;
            log = result.Output + "\n--- fuzzer stdout\n" + result.Stdout + "--- fuzzer stderr\n" + result.Stderr;
            if (InjectedLine().Match(result.Output) is { Success: true } injectedLine) injected = long.Parse(injectedLine.Groups[1].Value);
            int panicAt = result.Lines.ToList().FindIndex(l => l.Text.Contains("PANIC", StringComparison.Ordinal));
            if (panicAt >= 0)
            {
                panics = 1;
                failure = string.Join("\n", result.Lines.Skip(panicAt).Take(80).Select(l => l.Text));
            }
            else if (exitStatus != 0 || summary is null)
                failure = $"the fuzzer ended with status {exitStatus} before its summary; its last lines:\n" +
                    string.Join("\n", result.Stdout.Split('\n').TakeLast(6)) + "\nkernel log's last lines:\n" + string.Join("\n", result.Lines.TakeLast(20).Select(l => l.Text));
        }
        catch (TimeoutException e)
        {
            // A hang: the message holds the kernel log with the state dump asked for by NMI.
            hangs = 1;
            exitStatus = QemuMachine.NoStatusExitCode;
            log = e.Message;
            var lines = e.Message.Split('\n');
            int dump = Array.FindIndex(lines, l => l.StartsWith("libra: dump", StringComparison.Ordinal));
            failure = lines[0] + "\n" + string.Join("\n", dump >= 0 ? lines.Skip(dump).TakeWhile(l => l != "stdout so far:").Take(120) : lines.TakeLast(60));
        }
        finally
        {
            done.Cancel();
            await watcher;
            DeleteScratch(scratch);
        }
        return new FuzzOutcome(seed, threads, seconds, calls, distinct, panics, hangs, exitStatus, summary, anomalies, failure, log, injected);
    }

    // The fuzzer may have taken every permission away (chmod 0) from what it made: give them back first.
    public static void DeleteScratch(string scratch)
    {
        static void Open(DirectoryInfo directory)
        {
            if (OperatingSystem.IsWindows()) return;
            try
            {
                directory.UnixFileMode |= UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
                foreach (var child in directory.EnumerateDirectories())
                    if (child.LinkTarget is null) Open(child);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        Open(new DirectoryInfo(scratch));
        try { Directory.Delete(scratch, recursive: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"libra-qemu: could not remove the fuzzer's scratch directory {scratch}: {e.Message}");
        }
    }
}
