using System.Runtime.CompilerServices;

namespace Libra.Probes;

// What every probe prints: one line per checked fact, "<fact>: ok" or "<fact>: FAILED", and a last
// summary line. Only facts go to stdout, never addresses, times, counts of CPUs or thread ids, so the
// output is the same on every run and every machine (Linux or Libra) and tests compare it whole.
// Measured values, when a check fails, go to stderr, which the tests do not compare.
public static class Probe
{
    static int failures;

    public static void Line(string text) => Console.Out.WriteLine(text);

    public static bool Check(string fact, bool ok, string? detail = null)
    {
        Console.Out.WriteLine(ok ? $"{fact}: ok" : $"{fact}: FAILED");
        if (!ok)
        {
            Interlocked.Increment(ref failures);
            if (detail != null) Console.Error.WriteLine($"{fact}: {detail}");
        }
        return ok;
    }

    // Runs one check whose body may throw; an exception is a failure, described on stderr.
    public static void Check(string fact, Func<bool> body)
    {
        bool ok;
        string? detail = null;
        try { ok = body(); }
        catch (Exception e) { ok = false; detail = e.ToString(); }
        Check(fact, ok, detail);
    }

    public static int Failures => Volatile.Read(ref failures);

    // The last line; returns the exit status: 0 when every check passed, 1 otherwise.
    public static int Finish(string probe)
    {
        Console.Out.WriteLine(failures == 0 ? $"{probe}: all checks passed" : $"{probe}: {failures} check(s) FAILED");
        return failures == 0 ? 0 : 1;
    }

    // Keeps the JIT/ILC from folding a value it could otherwise see is constant.
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static T Opaque<T>(T value) => value;
}
