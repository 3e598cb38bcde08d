using System.Diagnostics;
using System.Threading.Channels;
using HdrHistogram;
using Libra.Bench.Targets;

namespace Libra.Bench;

// Latencies in microseconds, whole and per query class.
public sealed class LoadResult
{
    public required LongHistogram All { get; init; }
    public required Dictionary<string, LongHistogram> ByClass { get; init; }
    public long Completed { get; set; }
    public long Errors { get; set; }
    public long Dropped { get; set; }
    public double Seconds { get; set; }
    // The measured window (after the warm-up) in Stopwatch ticks: what a target's counters are read over.
    public long MeasureStartTicks { get; set; }
    public long MeasureEndTicks { get; set; }
    public double AchievedRate => Seconds > 0 ? Completed / Seconds : 0;

    public static LongHistogram NewHistogram() => new(1, 600_000_000, 3);
}

public static class LoadGenerator
{
    // Open loop at a constant rate: request i is due at start + i/rate whether or not earlier ones
    // have been answered, and its latency is measured from that due time, so time spent queued
    // behind a slow answer counts (no coordinated omission). Keep-alive connections; requests in
    // the warm-up are sent but not recorded.
    public static async Task<LoadResult> OpenLoopAsync(ServiceEndpoint endpoint, QuerySet queries, double rate, TimeSpan warmup,
        TimeSpan duration, int connections, CancellationToken ct)
    {
        long warmupCount = (long)(rate * warmup.TotalSeconds);
        long total = warmupCount + Math.Max(1, (long)(rate * duration.TotalSeconds));
        var due = Channel.CreateUnbounded<(long Index, long DueTicks)>(new UnboundedChannelOptions { SingleWriter = true });
        var result = NewResult(queries);
        double ticksPerRequest = Stopwatch.Frequency / rate;
        long start = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 20;
        long measureStart = start + (long)(warmupCount * ticksPerRequest);
        long giveUp = start + (long)(total * ticksPerRequest) + 15 * Stopwatch.Frequency;
        long lastDone = measureStart;

        var pacer = new Thread(() =>
        {
            for (long i = 0; i < total && !ct.IsCancellationRequested; i++)
            {
                long at = start + (long)(i * ticksPerRequest);
                while (true)
                {
                    long wait = at - Stopwatch.GetTimestamp();
                    if (wait <= 0) break;
                    if (wait > Stopwatch.Frequency / 500) Thread.Sleep(1); else Thread.SpinWait(20);
                }
                due.Writer.TryWrite((i, at));
            }
            due.Writer.Complete();
        }) { IsBackground = true, Name = "pacer", Priority = ThreadPriority.Highest };

        var workers = new Task<LoadResult>[connections];
        for (int w = 0; w < connections; w++)
            workers[w] = Task.Run(async () =>
            {
                var mine = NewResult(queries);
                HttpConnection? conn = null;
                await foreach (var (i, dueTicks) in due.Reader.ReadAllAsync(ct))
                {
                    if (Stopwatch.GetTimestamp() > giveUp) { mine.Dropped++; continue; }
                    int q = (int)(i % queries.Count);
                    int status;
                    try
                    {
                        conn ??= await HttpConnection.ConnectAsync(endpoint, ct);
                        status = await conn.SendAsync(queries.Requests[q], ct);
                    }
                    catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or InvalidDataException)
                    {
                        conn?.Dispose(); conn = null; status = 0;
                    }
                    long now = Stopwatch.GetTimestamp();
                    if (i < warmupCount) continue;
                    if (status != 200) { mine.Errors++; continue; }
                    long micros = Math.Clamp((now - dueTicks) * 1_000_000 / Stopwatch.Frequency, 1, 600_000_000);
                    mine.All.RecordValue(micros);
                    mine.ByClass[queries.Classes[queries.ClassOf[q]]].RecordValue(micros);
                    mine.Completed++;
                    InterlockedMax(ref lastDone, now);
                }
                conn?.Dispose();
                return mine;
            }, ct);
        pacer.Start();
        foreach (var part in await Task.WhenAll(workers)) Merge(result, part);
        result.Seconds = Math.Max(1e-3, (double)(Interlocked.Read(ref lastDone) - measureStart) / Stopwatch.Frequency);
        result.MeasureStartTicks = measureStart;
        result.MeasureEndTicks = Interlocked.Read(ref lastDone);
        return result;
    }

    // Closed loop: each connection sends its next request as soon as the last is answered. Used
    // for warm-up and for the peak rate a target sustains, never for latency.
    public static async Task<LoadResult> ClosedLoopAsync(ServiceEndpoint endpoint, QuerySet queries, TimeSpan duration, int connections,
        CancellationToken ct)
    {
        var result = NewResult(queries);
        long next = -1;
        var clock = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, connections).Select(_ => Task.Run(async () =>
        {
            var mine = NewResult(queries);
            using var conn = await HttpConnection.ConnectAsync(endpoint, ct);
            while (clock.Elapsed < duration)
            {
                int q = (int)(Interlocked.Increment(ref next) % queries.Count);
                long t0 = Stopwatch.GetTimestamp();
                int status = await conn.SendAsync(queries.Requests[q], ct);
                if (status != 200) { mine.Errors++; continue; }
                long micros = Math.Max(1, (Stopwatch.GetTimestamp() - t0) * 1_000_000 / Stopwatch.Frequency);
                mine.All.RecordValue(Math.Min(micros, 600_000_000));
                mine.Completed++;
            }
            return mine;
        }, ct)).ToArray();
        foreach (var part in await Task.WhenAll(workers)) Merge(result, part);
        result.Seconds = clock.Elapsed.TotalSeconds;
        return result;
    }

    static LoadResult NewResult(QuerySet q) => new()
    {
        All = LoadResult.NewHistogram(),
        ByClass = q.Classes.ToDictionary(c => c, _ => LoadResult.NewHistogram()),
    };

    static void Merge(LoadResult into, LoadResult part)
    {
        into.All.Add(part.All);
        foreach (var (c, h) in part.ByClass) into.ByClass[c].Add(h);
        into.Completed += part.Completed;
        into.Errors += part.Errors;
        into.Dropped += part.Dropped;
    }

    static void InterlockedMax(ref long target, long value)
    {
        long seen;
        while (value > (seen = Interlocked.Read(ref target)) && Interlocked.CompareExchange(ref target, value, seen) != seen) { }
    }
}
