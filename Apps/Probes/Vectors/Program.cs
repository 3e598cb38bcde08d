// vectors: an x86-64-v3 (AVX2) build. Four threads keep running sums in 256-bit registers for 200 ms
// each, so on one CPU they are preempted many times mid-loop, while the GC suspends them by signal;
// every sum must come out exact. It checks the OS keeps AVX state across switches and signal frames.
using System.Diagnostics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Libra.Probes;

Probe.Check("AVX2 is available to this x86-64-v3 build", Avx2.IsSupported);

const int Threads = 4, Length = 1024;
var results = new (double Sum, long Rounds)[Threads];
var stop = false;
var allocator = new Thread(() =>
{
    // Garbage, so the GC runs (and suspends the vector threads) while they compute.
    while (!Volatile.Read(ref stop)) GC.KeepAlive(new byte[64 * 1024]);
});
allocator.Start();
var workers = Enumerable.Range(0, Threads).Select(t => new Thread(() => results[t] = Sum(t + 1, 200))).ToArray();
foreach (var w in workers) w.Start();
foreach (var w in workers) w.Join();
Volatile.Write(ref stop, true);
allocator.Join();
bool exact = Enumerable.Range(0, Threads).All(t => results[t].Sum == (double)(t + 1) * results[t].Rounds * Length);
Probe.Check("256-bit sums on 4 preempted threads are exact", exact, string.Join(", ", results));
Probe.Check("each thread made progress", results.All(r => r.Rounds > 0));

return Probe.Finish("vectors");

static unsafe (double Sum, long Rounds) Sum(double value, int milliseconds)
{
    var data = new double[Length];
    Array.Fill(data, value);
    var total = Vector256<double>.Zero;
    var clock = Stopwatch.StartNew();
    long rounds = 0;
    // The clock is read only every 500 rounds: between reads there is no call, so the sum stays in a
    // YMM register across loop iterations (a call would spill it) and a preemption lands there.
    fixed (double* p = data)
    {
        while (clock.ElapsedMilliseconds < milliseconds)
        {
            total = Stretch(p, total);
            rounds += 500;
        }
    }
    return (Vector256.Sum(total), rounds);
}

[System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
static unsafe Vector256<double> Stretch(double* p, Vector256<double> total)
{
    var acc = total;
    for (int r = 0; r < 500; r++)
        for (int i = 0; i < Length; i += 4)
            acc = Avx.Add(acc, Avx.LoadVector256(p + i));
    return acc;
}
