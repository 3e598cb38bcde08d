using System.Diagnostics;

namespace Libra.Bench.Targets;

// Where the search service runs. A target starts the same static binary with the same index its own
// way and hands back an endpoint to send queries to; the load generator and the report know nothing
// else about it. A new target (Libra) is one more class and one line in Registry. A target that
// cannot run on this machine throws TargetUnavailableException from StartAsync: the bench reports it
// skipped with the reason and goes on with the others.
public interface ITarget
{
    string Name { get; }
    string Describe(TargetSettings s);
    Task<RunningTarget> StartAsync(TargetSettings s, CancellationToken ct);
}

public static class Registry
{
    public static readonly IReadOnlyDictionary<string, ITarget> All = new Dictionary<string, ITarget>
    {
        ["native"] = new NativeTarget(),
        ["linux-guest"] = new LinuxGuestTarget(GuestNetwork.User),
        ["linux-guest-tap"] = new LinuxGuestTarget(GuestNetwork.Tap),
        ["libra"] = new LibraTarget(),
    };
}

// What every target is given. QEMU targets share one machine profile so that they compare fairly.
public sealed record TargetSettings
{
    public required string Binary { get; init; }
    public required string Index { get; init; }
    public string? Kernel { get; init; }
    public string? Initrd { get; init; }
    public string? LibraKernel { get; init; }
    // More kernel options for the libra target (e.g. libra.virtio=poll): a specialisation to measure.
    public string LibraOptions { get; init; } = "";
    public bool LoadIntoRam { get; init; }
    public int Port { get; init; }
    public string? ServerCores { get; init; } = "1";   // taskset list for the server or QEMU; null: no pinning
    public QemuProfile Qemu { get; init; } = QemuProfile.Default();
    public TextWriter Log { get; init; } = TextWriter.Null;
}

// This machine cannot run the target (linux-guest-tap without root or tun); the message is the reason.
public sealed class TargetUnavailableException(string reason) : InvalidOperationException(reason);

// A started target; disposing it stops the service (SIGTERM, then kill), then its companions.
public sealed class RunningTarget(string name, Process process, ServiceEndpoint endpoint, TimeSpan bootToFirstAnswer,
    string? consoleLog, long? configuredMemoryBytes) : IAsyncDisposable
{
    public string Name => name;
    public Process Process => process;
    public ServiceEndpoint Endpoint => endpoint;
    public Uri BaseUri => endpoint.BaseUri;
    public TimeSpan BootToFirstAnswer => bootToFirstAnswer;
    public string? ConsoleLog => consoleLog;
    public long? ConfiguredMemoryBytes => configuredMemoryBytes;
    // Host processes that serve the target beside its own (Libra's Side daemon): counted in its RSS.
    public IReadOnlyList<int> HelperProcessIds { get; init; } = [];
    // What the target holds besides the process (the Side, sockets, log files), released after it stops.
    public IReadOnlyList<IDisposable> Companions { get; init; } = [];
    // The guest kernel's cost counters, where the target's kernel reports them (Libra).
    public KernelCounters? Counters { get; init; }

    // Resident memory of the whole target on the host (the server, or QEMU with its guest, and helpers).
    public long HostResidentBytes() => HelperProcessIds.Prepend(process.Id).Sum(ResidentBytes);

    static long ResidentBytes(int pid)
    {
        try
        {
            foreach (string line in File.ReadLines($"/proc/{pid}/status"))
                if (line.StartsWith("VmRSS:")) return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        }
        catch (IOException) { }
        return 0;
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            Launch.Signal(process.Id, 15);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try { await process.WaitForExitAsync(cts.Token); }
            catch (OperationCanceledException) { process.Kill(entireProcessTree: true); await process.WaitForExitAsync(); }
        }
        process.Dispose();
        foreach (var c in Companions) c.Dispose();
    }
}
