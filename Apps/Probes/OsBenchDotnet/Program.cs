// osbench-dotnet: the rows of `build.ps1 osbench` that only .NET can measure (issue 12), as the
// static C probe `osbench` prints its rows: one JSON object per line, per-operation median and p99.
//   osbench-dotnet [DIR] [--smoke]   the rows (DIR, the scratch directory, is accepted and unused)
//   osbench-dotnet --check           the same operations as correctness checks, lines that are the same
//                                    natively and on Libra (the differential suite's osbench-dotnet-check)
// Task.Delay(1): the time from the call to the continuation's run, as an ASP.NET handler or a retry
// loop sees a one-millisecond delay: .NET's timer thread waits on a condition variable (a futex with
// a timeout) for the earliest due timer, then the thread pool runs the continuation.
using System.Diagnostics;
using System.Globalization;

bool smoke = args.Contains("--smoke");
if (args.Contains("--check"))
{
    var watch = Stopwatch.StartNew();
    for (int i = 0; i < 20; i++) await Task.Delay(1);
    // Twenty delays of 1 ms: at least 20 ms (.NET rounds each due time to its millisecond tick, so
    // one may be short, never all), and they finished.
    Console.WriteLine($"Task.Delay(1) x 20 completed, together at least 10 ms: {(watch.Elapsed.TotalMilliseconds >= 10 ? "yes" : "no")}");
    watch.Restart();
    await Task.Delay(20);
    Console.WriteLine($"Task.Delay(20) lasted at least 19 ms: {(watch.Elapsed.TotalMilliseconds >= 19 ? "yes" : "no")}");
    return 0;
}

await Row("task_delay_1ms_achieved", smoke ? 20 : 200, () => Task.Delay(1));
return 0;

// Runs `operation` `samples` times after a few unmeasured ones, and prints its row.
static async Task Row(string name, int samples, Func<Task> operation)
{
    for (int i = 0; i < 5; i++) await operation();
    var ns = new double[samples];
    for (int i = 0; i < samples; i++)
    {
        long start = Stopwatch.GetTimestamp();
        await operation();
        ns[i] = Stopwatch.GetElapsedTime(start).TotalNanoseconds;
    }
    Array.Sort(ns);
    double median = ns[samples / 2], p99 = ns[Math.Min(samples - 1, samples * 99 / 100)];
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{{\"row\":\"{name}\",\"batch\":1,\"samples\":{samples},\"median_ns\":{median:F1},\"p99_ns\":{p99:F1}}}"));
}
