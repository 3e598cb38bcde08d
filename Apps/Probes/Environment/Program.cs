// environment: what a program learns from its process and the machine. Processor count, clocks
// (TickCount64, Stopwatch, DateTime), command line and environment variables, seeded and secure
// random numbers, GUIDs, host and OS names, the current directory, and the exit status set through
// Environment.ExitCode when Main returns.
// Options: --exit-code N (default 0); --crypto adds RandomNumberGenerator, which on Linux loads OpenSSL
// (libssl.so.3, libcrypto.so.3) with dlopen even in a static executable.
using System.Diagnostics;
using System.Security.Cryptography;
using Libra.Probes;

// The command line: Main's args and Environment.GetCommandLineArgs (argv[0] first).
Probe.Line($"args: {string.Join(" | ", args)}");
string[] commandLine = Environment.GetCommandLineArgs();
Probe.Check("GetCommandLineArgs is argv[0] followed by Main's args", commandLine.Length == args.Length + 1 && commandLine.Skip(1).SequenceEqual(args));
Probe.Check("argv[0] names the program", Path.GetFileName(commandLine[0]) == "environment", commandLine[0]);
Probe.Check("Environment.ProcessPath is an absolute path or null", Environment.ProcessPath is null || Path.IsPathRooted(Environment.ProcessPath), Environment.ProcessPath);

// Environment variables.
Probe.Line($"PROBE_VALUE={Environment.GetEnvironmentVariable("PROBE_VALUE") ?? "(not set)"}");
Probe.Check("an unset variable reads as null", Environment.GetEnvironmentVariable("PROBE_SURELY_NOT_SET_1729") is null);
Environment.SetEnvironmentVariable("PROBE_SET_HERE", "value set in process");
Probe.Check("a variable set in the process reads back", Environment.GetEnvironmentVariable("PROBE_SET_HERE") == "value set in process");
Probe.Check("GetEnvironmentVariables includes PROBE_VALUE when set",
    Environment.GetEnvironmentVariable("PROBE_VALUE") is null || Environment.GetEnvironmentVariables().Contains("PROBE_VALUE"));

// The machine.
Probe.Check("ProcessorCount >= 1", Environment.ProcessorCount >= 1, $"{Environment.ProcessorCount}");
Probe.Check("64-bit process on a 64-bit OS", Environment.Is64BitProcess && Environment.Is64BitOperatingSystem);
Probe.Check("OSVersion is Unix", Environment.OSVersion.Platform == PlatformID.Unix, Environment.OSVersion.ToString());
Probe.Check("OperatingSystem.IsLinux", OperatingSystem.IsLinux());
Probe.Check("MachineName is not empty", !string.IsNullOrEmpty(Environment.MachineName));
Probe.Check("ProcessId > 0", Environment.ProcessId > 0, $"{Environment.ProcessId}");
Probe.Check("CurrentDirectory is an absolute path", Path.IsPathRooted(Environment.CurrentDirectory), Environment.CurrentDirectory);
Probe.Check("NewLine is \\n", Environment.NewLine == "\n");

// Clocks: monotonic, advancing with sleeps, agreeing with each other, wall clock in a sane range.
{
    long previous = Environment.TickCount64;
    bool monotonic = true;
    for (int i = 0; i < 10_000; i++) { long now = Environment.TickCount64; monotonic &= now >= previous; previous = now; }
    Probe.Check("TickCount64 never goes back (10000 reads)", monotonic);
    long ts = Stopwatch.GetTimestamp();
    monotonic = true;
    for (int i = 0; i < 10_000; i++) { long now = Stopwatch.GetTimestamp(); monotonic &= now >= ts; ts = now; }
    Probe.Check("Stopwatch.GetTimestamp never goes back (10000 reads)", monotonic);
    Probe.Check("Stopwatch is high resolution, Frequency 1 GHz", Stopwatch.IsHighResolution && Stopwatch.Frequency == 1_000_000_000, $"{Stopwatch.Frequency}");

    long tick0 = Environment.TickCount64;
    long stamp0 = Stopwatch.GetTimestamp();
    DateTime wall0 = DateTime.UtcNow;
    Thread.Sleep(200);
    double tickMs = Environment.TickCount64 - tick0;
    double stampMs = Stopwatch.GetElapsedTime(stamp0).TotalMilliseconds;
    double wallMs = (DateTime.UtcNow - wall0).TotalMilliseconds;
    Probe.Check("Sleep(200) advances TickCount64 by >= 180 ms and < 10 s", tickMs >= 180 && tickMs < 10_000, $"{tickMs} ms");
    Probe.Check("Sleep(200) advances Stopwatch by >= 190 ms and < 10 s", stampMs >= 190 && stampMs < 10_000, $"{stampMs} ms");
    Probe.Check("Sleep(200) advances UtcNow by >= 180 ms and < 10 s", wallMs >= 180 && wallMs < 10_000, $"{wallMs} ms");
    Probe.Check("TickCount64 and Stopwatch agree within 50 ms", Math.Abs(tickMs - stampMs) < 50, $"{tickMs} vs {stampMs} ms");

    DateTime utc = DateTime.UtcNow;
    Probe.Check("UtcNow is in [2025, 2100)", utc.Year >= 2025 && utc.Year < 2100, utc.ToString("o"));
    Probe.Check("UtcNow has Kind Utc", utc.Kind == DateTimeKind.Utc);
    Probe.Check("Now is within 14 hours of UtcNow", Math.Abs((DateTime.Now - DateTime.UtcNow).TotalHours) <= 14.01);
    Probe.Check("DateTimeOffset.UtcNow agrees with DateTime.UtcNow within 1 s",
        Math.Abs((DateTimeOffset.UtcNow.UtcDateTime - DateTime.UtcNow).TotalSeconds) < 1);
}

// Random numbers: a seeded Random is the same sequence everywhere; the others only differ.
{
    var seeded = new Random(20071);
    Probe.Line($"Random(20071).Next(1000) x 8: {string.Join(" ", Enumerable.Range(0, 8).Select(_ => seeded.Next(1000)))}");
    var bytes = new byte[8];
    seeded.NextBytes(bytes);
    Probe.Line($"Random(20071) then NextBytes(8): {Convert.ToHexString(bytes)}");
    Probe.Check("Random.Shared draws differ", Enumerable.Range(0, 4).Select(_ => Random.Shared.NextInt64()).Distinct().Count() > 1);
    Probe.Check("new Random() instances differ", new Random().NextInt64() != new Random().NextInt64() || new Random().NextInt64() != new Random().NextInt64());
    if (args.Contains("--crypto"))
    {
        // On Linux this is OpenSSL's RAND_bytes: the static binary dlopens libssl.so.3 and libcrypto.so.3.
        byte[] a = RandomNumberGenerator.GetBytes(32), b = RandomNumberGenerator.GetBytes(32);
        Probe.Check("RandomNumberGenerator.GetBytes: not all zero, two draws differ", a.Any(x => x != 0) && !a.SequenceEqual(b));
    }
    Guid g1 = Guid.NewGuid(), g2 = Guid.NewGuid();
    Probe.Check("Guid.NewGuid: version 4, two differ", g1 != g2 && g1.Version == 4);
}

// Exit status through Environment.ExitCode when Main returns normally.
int exitCode = 0;
int at = Array.IndexOf(args, "--exit-code");
if (at >= 0 && (at + 1 >= args.Length || !int.TryParse(args[at + 1], out exitCode))) exitCode = 2;
Probe.Line($"exit status requested: {exitCode}");
int status = Probe.Finish("environment");
Environment.ExitCode = status != 0 ? status : exitCode;
