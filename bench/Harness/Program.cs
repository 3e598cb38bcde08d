using Libra.Bench;
using Libra.Bench.OsBench;
using Libra.Bench.Targets;

// bench: starts every target, measures peak and constant-rate latency, writes the report.
// osbench: runs the osbench probe natively, in the Linux guest (9P cache=none and loose) and on Libra.
// serve: starts one target and keeps it up until Ctrl-C (build.ps1 search -Guest), or with --query
// asks it one query, prints the answer and stops it (build.ps1 search -Query, the README's first command).
var a = Args.Parse(args);
using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
try
{
    return a.Command switch
    {
        "bench" => await Bench.RunAsync(a, cts.Token),
        "serve" => await ServeAsync(a, cts.Token),
        "osbench" => await OsBenchRun.RunAsync(a, cts.Token),
        _ => throw new ArgumentException($"unknown command '{a.Command}' (bench, serve, osbench)"),
    };
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"harness: {e.Message}");
    return 2;
}

static async Task<int> ServeAsync(Args a, CancellationToken ct)
{
    string name = a.Targets.FirstOrDefault() ?? "native";
    if (!Registry.All.TryGetValue(name, out var target)) throw new ArgumentException($"unknown target '{name}'");
    var settings = a.Settings(Console.Out) with { ServerCores = null, Port = a.Port };
    if (a.Query != null) return await OneQuery.RunAsync(target, settings, a.Query, ct);
    await using var running = await target.StartAsync(settings, ct);
    Console.WriteLine($"{name}: answering on {running.Endpoint.Reach} after {running.BootToFirstAnswer.TotalMilliseconds:F0} ms " +
        $"({target.Describe(settings)}); Ctrl-C stops it");
    try { await running.Process.WaitForExitAsync(ct); }
    catch (OperationCanceledException) { }
    return 0;
}

// Command-line options of the harness (build/search.ps1 passes them).
sealed class Args
{
    public string Command = "bench";
    public string? Binary, DotnetBinary, Index, Queries, Kernel, Initrd, LibraKernel, LibraOptions, Query, Corpus = "?", Results = "bench/results";
    public List<string> Targets = [];
    // Targets that cannot run here, with the reason (osbench reports them as skipped).
    public List<(string Target, string Reason)> Skip = [];
    public bool Smoke, Ram;
    public int? Rounds, Smp, Memory;
    public double? Duration, Warmup;
    public double[]? Rates;
    public int Port;

    public static Args Parse(string[] args)
    {
        var a = new Args();
        int i = 0;
        if (args.Length > 0 && !args[0].StartsWith("--")) a.Command = args[i++];
        for (; i < args.Length; i++)
        {
            string name = args[i];
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{name} needs a value");
            switch (name)
            {
                case "--binary": a.Binary = Next(); break;
                case "--dotnet-binary": a.DotnetBinary = Next(); break;
                case "--index": a.Index = Next(); break;
                case "--queries": a.Queries = Next(); break;
                case "--kernel": a.Kernel = Next(); break;
                case "--initrd": a.Initrd = Next(); break;
                case "--libra-kernel": a.LibraKernel = Next(); break;
                case "--query": a.Query = Next(); break;
                case "--libra-options": a.LibraOptions = Next(); break;
                case "--corpus": a.Corpus = Next(); break;
                case "--results": a.Results = Next(); break;
                case "--target": a.Targets.Add(Next()); break;
                case "--skip":
                    string[] skip = Next().Split('=', 2);
                    a.Skip.Add((skip[0], skip.Length > 1 ? skip[1] : "not available here"));
                    break;
                case "--smoke": a.Smoke = true; break;
                case "--ram": a.Ram = true; break;
                case "--rounds": a.Rounds = int.Parse(Next()); break;
                case "--smp": a.Smp = int.Parse(Next()); break;
                case "--memory": a.Memory = int.Parse(Next()); break;
                case "--port": a.Port = int.Parse(Next()); break;
                case "--duration": a.Duration = double.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture); break;
                case "--warmup": a.Warmup = double.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture); break;
                case "--rates": a.Rates = Next().Split(',').Select(r => double.Parse(r, System.Globalization.CultureInfo.InvariantCulture)).ToArray(); break;
                default: throw new ArgumentException($"unknown option '{name}'");
            }
        }
        return a;
    }

    public TargetSettings Settings(TextWriter log) => new()
    {
        Binary = Binary ?? "",
        Index = Index ?? "",
        Kernel = Kernel,
        Initrd = Initrd,
        LibraKernel = LibraKernel,
        LibraOptions = LibraOptions ?? "",
        LoadIntoRam = Ram,
        Qemu = QemuProfile.Default(Smp ?? 1, Memory ?? 2048, LibraKernel),
        Log = log,
    };
}
