// threads: the threading the runtime builds on futexes, signals and timers. Threads and joins,
// Monitor (lock, Wait, Pulse), SemaphoreSlim, ManualResetEventSlim, Interlocked, thread statics, the
// thread pool (Task.Run, async/await, Parallel.For), System.Threading.Timer, Thread.Sleep and
// Stopwatch (sanity bounds only), cancellation with a timeout.
using System.Runtime.Intrinsics;
using System.Diagnostics;
using Libra.Probes;

// Threads, Interlocked and joins.
{
    long counter = 0;
    var threads = Enumerable.Range(0, 4).Select(_ => new Thread(() =>
    {
        for (int i = 0; i < 100_000; i++) Interlocked.Increment(ref counter);
    })).ToArray();
    foreach (var t in threads) t.Start();
    foreach (var t in threads) t.Join();
    Probe.Check("4 threads x 100000 Interlocked.Increment = 400000", Interlocked.Read(ref counter) == 400_000);
}

// A lock protecting a plain counter.
{
    var gate = new object();
    long counter = 0;
    var threads = Enumerable.Range(0, 4).Select(_ => new Thread(() =>
    {
        for (int i = 0; i < 20_000; i++) lock (gate) counter++;
    })).ToArray();
    foreach (var t in threads) t.Start();
    foreach (var t in threads) t.Join();
    Probe.Check("4 threads x 20000 increments under lock = 80000", counter == 80_000);
}

// Monitor.Wait/Pulse ping-pong: two threads take strict turns.
{
    var gate = new object();
    int turn = 0;
    var order = new List<int>();
    const int Rounds = 500;
    Thread Player(int me) => new(() =>
    {
        for (int i = 0; i < Rounds; i++)
            lock (gate)
            {
                while (turn != me) Monitor.Wait(gate);
                order.Add(me);
                turn = 1 - me;
                Monitor.PulseAll(gate);
            }
    });
    var a = Player(0);
    var b = Player(1);
    a.Start(); b.Start();
    a.Join(); b.Join();
    bool alternating = order.Count == 2 * Rounds && order.Select((v, i) => v == i % 2).All(x => x);
    Probe.Check("Monitor.Wait/Pulse ping-pong, 500 strict turns each", alternating);
}

// SemaphoreSlim bounds concurrency.
{
    var semaphore = new SemaphoreSlim(2);
    int inside = 0, maxInside = 0, done = 0;
    var tasks = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
    {
        await semaphore.WaitAsync();
        try
        {
            int now = Interlocked.Increment(ref inside);
            int seen;
            while ((seen = Volatile.Read(ref maxInside)) < now && Interlocked.CompareExchange(ref maxInside, now, seen) != seen) { }
            await Task.Delay(5);
            Interlocked.Decrement(ref inside);
            Interlocked.Increment(ref done);
        }
        finally { semaphore.Release(); }
    })).ToArray();
    Task.WaitAll(tasks);
    Probe.Check("SemaphoreSlim(2): 8 tasks done, never more than 2 inside", done == 8 && maxInside is >= 1 and <= 2, $"max inside {maxInside}");
}

// ManualResetEventSlim releases every waiter.
{
    using var gate = new ManualResetEventSlim(false);
    int released = 0;
    var waiters = Enumerable.Range(0, 3).Select(_ => new Thread(() => { gate.Wait(); Interlocked.Increment(ref released); })).ToArray();
    foreach (var t in waiters) t.Start();
    Thread.Sleep(20);
    bool noneEarly = Volatile.Read(ref released) == 0;
    gate.Set();
    foreach (var t in waiters) t.Join();
    Probe.Check("ManualResetEventSlim: no waiter passes before Set, all 3 after", noneEarly && released == 3);
    using var never = new ManualResetEventSlim(false);
    var sw = Stopwatch.StartNew();
    bool signaled = never.Wait(50);
    Probe.Check("a wait on an unset event times out after >= 40 ms", !signaled && sw.ElapsedMilliseconds >= 40, $"{sw.ElapsedMilliseconds} ms");
}

// AutoResetEvent (a kernel-style wait handle) hands over one at a time.
{
    using var handoff = new AutoResetEvent(false);
    int got = 0;
    var t = new Thread(() => { for (int i = 0; i < 100; i++) { handoff.WaitOne(); got++; } });
    t.Start();
    for (int i = 0; i < 100; i++) { handoff.Set(); while (Volatile.Read(ref got) <= i && t.IsAlive) Thread.Yield(); }
    t.Join();
    Probe.Check("AutoResetEvent: 100 hand-overs", got == 100);
}

// Thread statics are per thread.
{
    var values = new int[4];
    var threads = Enumerable.Range(0, 4).Select(i => new Thread(() =>
    {
        PerThread.Value = i * 10;
        Thread.Sleep(10);
        values[i] = PerThread.Value;
    })).ToArray();
    PerThread.Value = -1;
    foreach (var t in threads) t.Start();
    foreach (var t in threads) t.Join();
    Probe.Check("[ThreadStatic] values are per thread", values.SequenceEqual([0, 10, 20, 30]) && PerThread.Value == -1);
    var local = new ThreadLocal<int>(() => Environment.CurrentManagedThreadId);
    int mine = local.Value;
    int other = 0;
    var ot = new Thread(() => other = local.Value);
    ot.Start(); ot.Join();
    Probe.Check("ThreadLocal<T> initialises once per thread", mine != other && local.Value == mine);
}

// The thread pool: Task.Run, async/await chains, Parallel.For.
{
    int result = Task.Run(() => 6 * 7).Result;
    Probe.Check("Task.Run result", result == 42);
    Probe.Check("async/await chain with Task.Delay and Task.Yield", Chain(10).GetAwaiter().GetResult() == 55);
    long sum = 0;
    Parallel.For(0, 100_000, () => 0L, (i, _, local) => local + i, local => Interlocked.Add(ref sum, local));
    Probe.Check("Parallel.For sum of 0..99999", sum == 4_999_950_000L);
    var all = Task.WhenAll(Enumerable.Range(0, 50).Select(i => Task.Run(async () => { await Task.Yield(); return i; }))).GetAwaiter().GetResult();
    Probe.Check("Task.WhenAll of 50 tasks", all.Sum() == 1225);
    var tcs = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
    var pending = Task.Run(async () => await tcs.Task + "!");
    ThreadPool.QueueUserWorkItem(_ => tcs.SetResult("done"));
    Probe.Check("TaskCompletionSource completed from a pool work item", pending.Wait(TimeSpan.FromSeconds(30)) && pending.Result == "done!");
}

// System.Threading.Timer fires repeatedly; then stops.
{
    int fired = 0;
    using var five = new ManualResetEventSlim(false);
    var sw = Stopwatch.StartNew();
    using (var timer = new Timer(_ => { if (Interlocked.Increment(ref fired) == 5) five.Set(); }, null, 10, 10))
    {
        Probe.Check("Timer fires 5 times (period 10 ms)", five.Wait(TimeSpan.FromSeconds(30)), $"{fired} times");
    }
    Probe.Check("5 periods of 10 ms take >= 40 ms", sw.ElapsedMilliseconds >= 40, $"{sw.ElapsedMilliseconds} ms");
    using var once = new ManualResetEventSlim(false);
    using var oneShot = new Timer(_ => once.Set(), null, 30, Timeout.Infinite);
    Probe.Check("one-shot Timer fires", once.Wait(TimeSpan.FromSeconds(30)));
}

// Sleep, Stopwatch and cancellation: lower bounds from the requested time, loose upper bounds.
{
    var sw = Stopwatch.StartNew();
    Thread.Sleep(100);
    long ms = sw.ElapsedMilliseconds;
    Probe.Check("Thread.Sleep(100) takes >= 90 ms and < 10 s", ms >= 90 && ms < 10_000, $"{ms} ms");
    sw.Restart();
    Task.Delay(50).Wait();
    ms = sw.ElapsedMilliseconds;
    Probe.Check("Task.Delay(50) takes >= 40 ms and < 10 s", ms >= 40 && ms < 10_000, $"{ms} ms");
    using var cts = new CancellationTokenSource(50);
    bool canceled = false;
    try { Task.Delay(Timeout.Infinite, cts.Token).Wait(); }
    catch (AggregateException e) when (e.InnerException is TaskCanceledException) { canceled = true; }
    Probe.Check("CancellationTokenSource(50 ms) cancels an endless Task.Delay", canceled);
    Probe.Check("Thread.Yield and Thread.Sleep(0) return", () => { Thread.Yield(); Thread.Sleep(0); return true; });
}

// Vector registers survive preemption: threads keep partial sums in 256-bit (or, without AVX, 128-bit)
// vectors across loops long enough for the scheduler to switch between them many times.
{
    // Each thread runs for 200 ms, so on one CPU the four are switched many times mid-loop.
    const int Threads = 4, Length = 1024;
    var results = new (double Sum, long Rounds)[Threads];
    var workers = Enumerable.Range(0, Threads).Select(t => new Thread(() => results[t] = VectorSum(t + 1, 200, Length))).ToArray();
    foreach (var w in workers) w.Start();
    foreach (var w in workers) w.Join();
    bool exact = Enumerable.Range(0, Threads).All(t => results[t].Sum == (double)(t + 1) * results[t].Rounds * Length);
    Probe.Check("vector sums on 4 preempted threads are exact", exact, string.Join(", ", results));
}

// A background thread does not keep the process alive.
new Thread(() => Thread.Sleep(Timeout.Infinite)) { IsBackground = true }.Start();

return Probe.Finish("threads");

// With AVX (a runtime check in AOT code: above the x86-64-v2 baseline) the partial sums live in YMM
// registers, whose upper halves only XSAVE keeps; without it, in XMM registers.
static (double Sum, long Rounds) VectorSum(double value, int milliseconds, int length)
{
    var data = new double[length];
    Array.Fill(data, value);
    var clock = System.Diagnostics.Stopwatch.StartNew();
    long rounds = 0;
    if (System.Runtime.Intrinsics.X86.Avx.IsSupported)
    {
        var total = System.Runtime.Intrinsics.Vector256<double>.Zero;
        while (clock.ElapsedMilliseconds < milliseconds)
        {
            for (int i = 0; i < length; i += 4)
                total = System.Runtime.Intrinsics.X86.Avx.Add(total, System.Runtime.Intrinsics.Vector256.Create(data[i], data[i + 1], data[i + 2], data[i + 3]));
            rounds++;
        }
        return (total.GetElement(0) + total.GetElement(1) + total.GetElement(2) + total.GetElement(3), rounds);
    }
    var sum = System.Runtime.Intrinsics.Vector128<double>.Zero;
    while (clock.ElapsedMilliseconds < milliseconds)
    {
        for (int i = 0; i < length; i += 2)
            sum = System.Runtime.Intrinsics.X86.Sse2.Add(sum, System.Runtime.Intrinsics.Vector128.Create(data[i], data[i + 1]));
        rounds++;
    }
    return (sum.GetElement(0) + sum.GetElement(1), rounds);
}

static async Task<int> Chain(int n)
{
    if (n == 0) return 0;
    if (n % 2 == 0) await Task.Delay(1); else await Task.Yield();
    return n + await Chain(n - 1);
}

static class PerThread
{
    [ThreadStatic] public static int Value;
}
