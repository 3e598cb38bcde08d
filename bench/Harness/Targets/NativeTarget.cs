using System.Diagnostics;

namespace Libra.Bench.Targets;

// The binary as an ordinary process on the host: the baseline every other target is divided by.
public sealed class NativeTarget : ITarget
{
    public string Name => "native";

    public string Describe(TargetSettings s) => $"host process{(s.ServerCores != null ? $", taskset -c {s.ServerCores}" : "")}";

    public async Task<RunningTarget> StartAsync(TargetSettings s, CancellationToken ct)
    {
        int port = s.Port != 0 ? s.Port : Launch.FreePort();
        var args = new List<string> { "serve", "--index", s.Index, "--address", "127.0.0.1", "--port", port.ToString() };
        if (s.LoadIntoRam) args.Add("--ram");
        var log = new StringWriter();
        var clock = Stopwatch.StartNew();
        var p = Launch.Start(s.Binary, args, s.ServerCores, TextWriter.Synchronized(log),
            new Dictionary<string, string> { ["DOTNET_EnableDiagnostics"] = "0" });
        var boot = await Launch.WaitForFirstAnswerAsync(p, port, clock, TimeSpan.FromSeconds(60), () => log.ToString(), ct);
        return new RunningTarget(Name, p, ServiceEndpoint.Loopback(port), boot, null, null);
    }
}
