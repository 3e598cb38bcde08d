using HdrHistogram;

namespace Libra.Apps.Search;

// Server-side time per /search request (parse + search + stored fields + snippets), in µs.
sealed class LatencyStats
{
    readonly LongHistogram histogram = new(1, 60_000_000, 3);
    readonly object gate = new();
    long served, rejected;

    public void Record(long micros)
    {
        lock (gate) histogram.RecordValue(Math.Clamp(micros, 1, 60_000_000));
        Interlocked.Increment(ref served);
    }

    public void Reject() => Interlocked.Increment(ref rejected);

    public LatencySnapshot Snapshot()
    {
        lock (gate)
        {
            bool any = histogram.TotalCount > 0;
            long At(double p) => any ? histogram.GetValueAtPercentile(p) : 0;
            return new LatencySnapshot(Interlocked.Read(ref served), Interlocked.Read(ref rejected),
                At(50), At(90), At(99), At(99.9), any ? histogram.GetMaxValue() : 0);
        }
    }
}

sealed record LatencySnapshot(long QueriesServed, long QueriesRejected, long P50Micros, long P90Micros,
    long P99Micros, long P999Micros, long MaxMicros);
