// exceptions: hardware faults turned into managed exceptions (a null dereference is a SIGSEGV below
// 4 KiB, an integer division by zero a SIGFPE), thrown and caught exceptions, rethrow with the stack
// trace, finally blocks and filters in .NET's two-pass order, exceptions on other threads and tasks.
// With --unhandled it ends with an unhandled exception (the runtime aborts: SIGABRT, status 134).
// With --wild-call it dies of SIGSEGV (status 139), as a shell reports it.
using System.Runtime.CompilerServices;
using Libra.Probes;

// With --wild-call it calls a function pointer into unmapped memory: the fault is outside managed
// code, so the runtime lets it kill the process (SIGSEGV, status 139).
if (args.Contains("--wild-call"))
{
    Probe.Line("calling through a wild function pointer");
    Wild.Call(Probe.Opaque((nint)0x10000));
    Probe.Line("not reached");
    return 0;
}

if (args.Contains("--unhandled"))
{
    Probe.Line("throwing an exception nothing catches");
    Thrower.Level1();
    Probe.Line("not reached");
    return 0;
}

// Hardware faults.
Probe.Check("null field read -> NullReferenceException", Expect<NullReferenceException>(() => Probe.Opaque<Holder?>(null)!.Field));
Probe.Check("null field write -> NullReferenceException", Expect<NullReferenceException>(() => { Probe.Opaque<Holder?>(null)!.Field = 1; return 0; }));
Probe.Check("null field past the first page -> NullReferenceException", Expect<NullReferenceException>(() => Probe.Opaque<FarHolder?>(null)!.Far));
Probe.Check("virtual call on null -> NullReferenceException", Expect<NullReferenceException>(() => Probe.Opaque<Holder?>(null)!.Virtual()));
Probe.Check("interface call on null -> NullReferenceException", Expect<NullReferenceException>(() => Probe.Opaque<IValue?>(null)!.Value()));
Probe.Check("null array length -> NullReferenceException", Expect<NullReferenceException>(() => Probe.Opaque<int[]?>(null)!.Length));
Probe.Check("null delegate call -> NullReferenceException", Expect<NullReferenceException>(() => Probe.Opaque<Func<int>?>(null)!()));
Probe.Check("int division by zero -> DivideByZeroException", Expect<DivideByZeroException>(() => 10 / Probe.Opaque(0)));
Probe.Check("long remainder by zero -> DivideByZeroException", Expect<DivideByZeroException>(() => (int)(10L % Probe.Opaque(0L))));
Probe.Check("int.MinValue / -1 -> OverflowException", Expect<OverflowException>(() => Probe.Opaque(int.MinValue) / Probe.Opaque(-1)));
Probe.Check("null dereference on another thread is caught there", OnThread(() => Expect<NullReferenceException>(() => Probe.Opaque<Holder?>(null)!.Field)));
Probe.Check("many faults in a row (1000 null dereferences)", Enumerable.Range(0, 1000).All(_ => Expect<NullReferenceException>(() => Probe.Opaque<Holder?>(null)!.Field)));

// Exceptions the runtime throws.
Probe.Check("index out of range -> IndexOutOfRangeException", Expect<IndexOutOfRangeException>(() => (new int[3])[Probe.Opaque(3)]));
Probe.Check("bad cast -> InvalidCastException", Expect<InvalidCastException>(() => ((string)Probe.Opaque<object>(42)).Length));
Probe.Check("checked overflow -> OverflowException", Expect<OverflowException>(() => checked(Probe.Opaque(int.MaxValue) + 1)));

// Thrown, caught, rethrown.
try { Thrower.Catcher(); }
catch (InvalidOperationException e)
{
    Probe.Check("rethrown exception keeps its type and message", e.Message == "level 3");
    string trace = e.StackTrace ?? "";
    string[] names = ["Thrower.Level3", "Thrower.Level2", "Thrower.Level1", "Thrower.Catcher"];
    var found = names.Where(n => trace.Contains(n)).OrderBy(n => trace.IndexOf(n, StringComparison.Ordinal));
    Probe.Line($"stack trace names, innermost first: {string.Join(", ", found)}");
}
try { Thrower.Wrapper(); }
catch (ApplicationException e)
{
    Probe.Check("inner exception kept", e.InnerException is InvalidOperationException { Message: "level 3" });
}

// Finally blocks and filters: the filter runs in the first pass, before inner finally blocks.
var log = new List<string>();
try
{
    try
    {
        try { log.Add("try"); throw new FormatException("f"); }
        finally { log.Add("inner finally"); }
    }
    catch (FormatException) when (Note(log, "filter false", false)) { log.Add("not this catch"); }
    finally { log.Add("middle finally"); }
}
catch (FormatException e) when (Note(log, "filter true", e.Message == "f")) { log.Add("catch"); }
finally { log.Add("outer finally"); }
Probe.Line($"order: {string.Join(", ", log)}");
Probe.Check("filters run before finally blocks, finally blocks innermost first",
    string.Join(",", log) == "try,filter false,filter true,inner finally,middle finally,catch,outer finally");

// A filter that throws counts as false.
bool caughtAfterBadFilter = false;
try
{
    try { throw new InvalidOperationException("x"); }
    catch (InvalidOperationException) when (ThrowingFilter()) { }
}
catch (InvalidOperationException) { caughtAfterBadFilter = true; }
Probe.Check("a filter that throws is treated as false", caughtAfterBadFilter);

// Finally runs on return and on break.
Probe.Check("finally runs on return and on break", FinallyOnReturnAndBreak());

// Tasks and other threads.
Probe.Check("await rethrows the task's exception", AwaitThrows().GetAwaiter().GetResult());
Probe.Check("Task.WaitAll gathers exceptions in an AggregateException", WaitAllAggregates());
Probe.Check("exception on another thread caught there", OnThread(() =>
{
    try { Thrower.Level1(); return false; } catch (InvalidOperationException) { return true; }
}));

return Probe.Finish("exceptions");

static bool Expect<T>(Func<int> action) where T : Exception
{
    try { action(); return false; }
    catch (T) { return true; }
    catch (Exception e) { Console.Error.WriteLine($"expected {typeof(T).Name}, got {e}"); return false; }
}

static bool OnThread(Func<bool> body)
{
    bool result = false;
    var t = new Thread(() => result = body());
    t.Start();
    t.Join();
    return result;
}

static bool Note(List<string> log, string what, bool result) { log.Add(what); return result; }

static bool ThrowingFilter() => throw new ArgumentException("from a filter");

static bool FinallyOnReturnAndBreak()
{
    var log = new List<string>();
    int r = Returns(log);
    for (int i = 0; i < 3; i++)
    {
        try { log.Add($"loop {i}"); if (i == 1) break; }
        finally { log.Add($"finally {i}"); }
    }
    return r == 1 && string.Join(",", log) == "try,finally,loop 0,finally 0,loop 1,finally 1";

    static int Returns(List<string> log)
    {
        try { log.Add("try"); return 1; }
        finally { log.Add("finally"); }
    }
}

static async Task<bool> AwaitThrows()
{
    try
    {
        await Task.Run(() => { Thrower.Level1(); });
        return false;
    }
    catch (InvalidOperationException e) { return e.Message == "level 3"; }
}

static bool WaitAllAggregates()
{
    var a = Task.Run(() => throw new FormatException("a"));
    var b = Task.Run(() => throw new TimeoutException("b"));
    try { Task.WaitAll(a, b); return false; }
    catch (AggregateException e)
    {
        var types = e.InnerExceptions.Select(x => x.GetType().Name).Order().ToArray();
        return types.SequenceEqual(["FormatException", "TimeoutException"]);
    }
}

interface IValue { int Value(); }

class Holder : IValue
{
    public int Field;
    [MethodImpl(MethodImplOptions.NoInlining)]
    public virtual int Virtual() => Field;
    public int Value() => Field;
}

// A field at an offset past the first 4 KiB: the compiler adds an explicit null check, because a
// fault there would not be recognised as a null dereference.
unsafe class FarHolder
{
    public Padding Pad = default;
    public int Far = 0;
}

unsafe struct Padding { public fixed byte Bytes[8192]; }

static class Thrower
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Catcher()
    {
        try { Level1(); }
        catch (InvalidOperationException) { throw; }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Wrapper()
    {
        try { Level1(); }
        catch (InvalidOperationException e) { throw new ApplicationException("wrapped", e); }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Level1() { Level2(); Probe.Opaque(1); }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Level2() { Level3(); Probe.Opaque(2); }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Level3() => throw new InvalidOperationException("level 3");
}

static unsafe class Wild
{
    public static void Call(nint address) => ((delegate* unmanaged<void>)address)();
}
