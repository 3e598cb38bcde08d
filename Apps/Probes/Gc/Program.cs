// gc: the garbage collector under load. Four workers allocate lists, arrays, strings and object graphs
// and verify checksums of what they built, while another thread spins in a loop with no calls (the GC
// can only stop it by signal: tgkill + a handler that suspends it), the main thread forces full
// blocking and compacting collections, and finalizers and weak references are checked.
using System.Runtime.CompilerServices;
using Libra.Probes;

const int Workers = 4;
const int Rounds = 60;

var spinner = new Spinner();
var spinThread = new Thread(spinner.Run) { IsBackground = true };
spinThread.Start();
while (Volatile.Read(ref spinner.Started) == 0) Thread.Yield();

int gen0Before = GC.CollectionCount(0);
int gen2Before = GC.CollectionCount(2);
var results = new bool[Workers];
var threads = new Thread[Workers];
for (int w = 0; w < Workers; w++)
{
    int id = w;
    threads[w] = new Thread(() => results[id] = Worker.Run(id, Rounds));
    threads[w].Start();
}
// Full, blocking, compacting collections while the workers and the spinner run.
for (int i = 0; i < 5; i++)
{
    GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
    Thread.Sleep(5);
}
foreach (var t in threads) t.Join();
for (int w = 0; w < Workers; w++) Probe.Check($"worker {w} checksums", results[w]);

spinner.Stop = true;
Probe.Check("spinning thread stopped by its flag", spinThread.Join(TimeSpan.FromSeconds(30)));
Probe.Check("spinning thread ran through the collections", Volatile.Read(ref spinner.Iterations) > 0);

Probe.Check("forced gen2 collections counted (>= 5)", GC.CollectionCount(2) - gen2Before >= 5,
    $"{GC.CollectionCount(2) - gen2Before} gen2 collections");
// The workers allocate about 400 MB in all, more than any gen0 budget (at most a few hundred MB).
Probe.Check("collections triggered by allocation, beyond the forced ones", GC.CollectionCount(0) - gen0Before > 5,
    $"{GC.CollectionCount(0) - gen0Before} gen0 collections");

// Finalizers run on the finalizer thread after a collection finds the objects dead.
Finalizable.MakeGarbage(100);
GC.Collect();
GC.WaitForPendingFinalizers();
Probe.Check("finalizers ran for dead objects (>= 90 of 100)", Volatile.Read(ref Finalizable.Finalized) >= 90,
    $"{Finalizable.Finalized} finalized");

// A weak reference to an object nothing else holds is cleared by a full collection.
var weak = Finalizable.MakeWeak();
GC.Collect(2, GCCollectionMode.Forced, blocking: true);
GC.WaitForPendingFinalizers();
GC.Collect(2, GCCollectionMode.Forced, blocking: true);
Probe.Check("weak reference cleared after collection", !weak.IsAlive);

// An object that stays referenced survives compaction with its contents intact.
var keep = Worker.BuildGraph(12345, 2000);
long before = Worker.Sum(keep);
for (int i = 0; i < 3; i++) GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
Probe.Check("live object graph intact after compacting collections", Worker.Sum(keep) == before);
GC.KeepAlive(keep);

// A pinned array keeps its address across a compacting collection.
Probe.Check("pinned array does not move", Worker.PinnedStaysPut());

return Probe.Finish("gc");

sealed class Spinner
{
    public volatile bool Stop;
    public int Started;
    public long Iterations;

    // A loop with no calls: no GC poll and no return address to hijack, so the runtime must interrupt
    // it with a signal to suspend it for a collection.
    public void Run()
    {
        Volatile.Write(ref Started, 1);
        long n = 0;
        while (!Stop) n++;
        Volatile.Write(ref Iterations, n);
    }
}

sealed class Node
{
    public Node? Next;
    public int Value;
    public int[] Payload = [];
}

static class Worker
{
    public static bool Run(int id, int rounds)
    {
        bool ok = true;
        var survivors = new List<object>();
        for (int round = 0; round < rounds; round++)
        {
            int seed = id * 1000 + round;
            // A list of boxed and unboxed values.
            var list = new List<int>();
            for (int i = 0; i < 2000; i++) list.Add(seed + i);
            long listSum = 0;
            foreach (int v in list) listSum += v;
            ok &= listSum == 2000L * seed + 1999L * 2000 / 2;

            // Arrays of various sizes, some large enough for the large object heap.
            int size = round % 10 == 0 ? 30_000 : 500 + round * 37;
            var array = new int[size];
            for (int i = 0; i < array.Length; i++) array[i] = i ^ seed;
            long arraySum = 0;
            for (int i = 0; i < array.Length; i++) arraySum += array[i] ^ seed;
            ok &= arraySum == (long)size * (size - 1) / 2;

            // Strings built and parsed back.
            var sb = new System.Text.StringBuilder();
            for (int i = 0; i < 200; i++) sb.Append(seed + i).Append(',');
            string text = sb.ToString();
            long parsed = 0;
            foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries)) parsed += long.Parse(part);
            ok &= parsed == 200L * seed + 199L * 200 / 2;

            // A linked graph, some of it kept across rounds so it ages into older generations.
            var graph = BuildGraph(seed, 300);
            ok &= Sum(graph) == GraphSum(seed, 300);
            if (round % 4 == 0) survivors.Add(graph);
            if (survivors.Count > 8) survivors.RemoveAt(0);

            // Short-lived garbage: 1.6 MB a round.
            object? last = null;
            for (int i = 0; i < 1600; i++) last = new byte[1000 + i % 24];
            ok &= last is byte[] { Length: 1000 + 1599 % 24 };
        }
        foreach (Node g in survivors) ok &= Sum(g) == GraphSum(g.Value, 300);
        return ok;
    }

    public static Node BuildGraph(int seed, int count)
    {
        Node? head = null;
        for (int i = count - 1; i >= 0; i--) head = new Node { Next = head, Value = seed + i, Payload = new int[i % 7 + 1] };
        for (var n = head; n != null; n = n.Next) n.Payload[0] = n.Value;
        return head!;
    }

    public static long Sum(Node head)
    {
        long sum = 0;
        for (Node? n = head; n != null; n = n.Next) sum += n.Value + n.Payload[0] + n.Payload.Length;
        return sum;
    }

    static long GraphSum(int seed, int count)
    {
        long sum = 0;
        for (int i = 0; i < count; i++) sum += 2L * (seed + i) + i % 7 + 1;
        return sum;
    }

    public static unsafe bool PinnedStaysPut()
    {
        var pinned = GC.AllocateArray<byte>(4096, pinned: true);
        fixed (byte* before = pinned)
        {
            for (int i = 0; i < 200; i++) _ = new byte[1000];
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            fixed (byte* after = pinned) return before == after;
        }
    }
}

sealed class Finalizable
{
    public static int Finalized;

    ~Finalizable() => Interlocked.Increment(ref Finalized);

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void MakeGarbage(int count)
    {
        for (int i = 0; i < count; i++) _ = new Finalizable();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static WeakReference MakeWeak() => new(new byte[100]);
}
