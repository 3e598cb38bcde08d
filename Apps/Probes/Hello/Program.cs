// hello: the smallest probe. Prints a fixed greeting, each argument (not argv[0]) on its own line, the
// environment variable PROBE_GREETING, one line on stderr, and exits with `--exit N` (default 0)
// through Environment.Exit. With --clock, stderr says when Main began in CLOCK_MONOTONIC time: on
// Libra the milliseconds since boot (docs/image.md measures boot-to-Main with it).
using System.Diagnostics;
using Libra.Probes;

long mainTimestamp = Stopwatch.GetTimestamp();
if (args.Contains("--clock"))
    Console.Error.WriteLine($"hello: Main began at {mainTimestamp * 1000.0 / Stopwatch.Frequency:F1} ms of CLOCK_MONOTONIC");

Probe.Line("Hello from a Libra probe");
Probe.Line($"args: {args.Length}");
for (int i = 0; i < args.Length; i++) Probe.Line($"arg {i}: {args[i]}");
string? greeting = Environment.GetEnvironmentVariable("PROBE_GREETING");
Probe.Line(greeting is null ? "PROBE_GREETING is not set" : $"PROBE_GREETING={greeting}");
Console.Error.WriteLine("hello: this line goes to stderr");

int status = 0;
int at = Array.IndexOf(args, "--exit");
if (at >= 0 && (at + 1 >= args.Length || !int.TryParse(args[at + 1], out status)))
{
    Console.Error.WriteLine("hello: --exit needs a number");
    status = 2;
}
Probe.Line($"exit status {status}");
Environment.Exit(status);
