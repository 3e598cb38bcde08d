using System.Diagnostics;
using System.Text;

namespace Libra.Qemu;

// The guest's network, as `run -Publish SPEC... -Net outbound|none -Dns ADDR[:PORT]` asks for it:
// which guest ports the host serves (docker -p syntax: PORT, HOSTPORT:PORT, ADDR:HOSTPORT:PORT, then
// /udp for UDP; 127.0.0.1 unless an address is given), whether the guest may connect out of the
// machine, and (with outbound) the name server its DNS queries go to (default: the host's).
public sealed record NetworkOptions(IReadOnlyList<string> Publish, bool Outbound, string? NameServer = null)
{
    public static NetworkOptions LoopbackOnly { get; } = new([], false);
}

// The Side daemon could not start: one line that says why.
public sealed class SideException(string message) : Exception(message);

// The Side daemon (Side/, Libra.Side) serving the guest link on a unix socket that QEMU joins to the
// virtserialport "libra.net"; started before QEMU, stopped after it (never by hand).
public sealed class SideProcess : IDisposable
{
    public const string PortName = "libra.net";
    private const string ReadyLine = "libra-side: listening on ";
    private readonly Process _process;
    private readonly StringBuilder _log = new();
    // A relay in front of it (QemuMachine.SideRelay), stopped with it.
    private IDisposable? _relay;
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string SocketPath { get; }
    public string CommandLine { get; }
    public int ProcessId => _process.Id;
    // Every line the daemon wrote on stderr (one per refused bind or connect, reset, ...).
    public string Log { get { lock (_log) return _log.ToString(); } }

    private SideProcess(string socketPath, NetworkOptions options, Action<string>? onLine)
    {
        SocketPath = socketPath;
        var (program, prefix) = Locate();
        var args = new List<string>(prefix) { "--socket", socketPath, "--net", options.Outbound ? "outbound" : "none" };
        foreach (var spec in options.Publish) args.AddRange(["--publish", spec]);
        if (options.NameServer is not null) args.AddRange(["--dns", options.NameServer]);
        CommandLine = program + " " + string.Join(' ', args);
        var start = new ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        _process = Process.Start(start) ?? throw new SideException($"could not start {CommandLine}");
        _process.StandardInput.Close();
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (_log) _log.AppendLine(e.Data);
            onLine?.Invoke(e.Data);
        };
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null && e.Data.StartsWith(ReadyLine, StringComparison.Ordinal)) _ready.TrySetResult();
        };
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
    }

    // Starts the daemon and returns once it listens on `socketPath`; `onLine` sees each log line.
    public static SideProcess Start(string socketPath, NetworkOptions options, Action<string>? onLine = null)
    {
        var side = new SideProcess(socketPath, options, onLine);
        try { side.WaitUntilListening(TimeSpan.FromSeconds(30)); }
        catch { side.Dispose(); throw; }
        return side;
    }

    // The Side a machine needs (null when it asks for no network); dispose it after QEMU.
    public static SideProcess? Start(QemuMachine machine, Action<string>? onLine = null)
    {
        if (machine.Network is null) return null;
        if (machine.Channels is null) throw new InvalidOperationException("the network needs the machine's Channels: its socket lives there");
        if (machine.SideRelay is null) return Start(machine.Channels.NetworkSocket, machine.Network, onLine);
        string behind = Path.Combine(Path.GetDirectoryName(machine.Channels.NetworkSocket)!, "side-behind-relay.sock");
        var side = Start(behind, machine.Network, onLine);
        side._relay = new StreamRelayHost(machine.Channels.NetworkSocket, behind, machine.SideRelay);
        return side;
    }

    // LIBRA_SIDE names a daemon to run (a NativeAOT build of Side/, or a Libra.Side.dll); otherwise
    // the Libra.Side.dll built next to this assembly, run by the dotnet host running us.
    private static (string Program, string[] Prefix) Locate()
    {
        string? chosen = Environment.GetEnvironmentVariable("LIBRA_SIDE");
        string dll = chosen ?? Path.Combine(AppContext.BaseDirectory, "Libra.Side.dll");
        if (!File.Exists(dll)) throw new SideException($"the Side daemon is not built ({dll} is missing): dotnet build Side/Libra.Side.csproj");
        if (!dll.EndsWith(".dll", StringComparison.Ordinal)) return (dll, []);
        string host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "";
        if (host.Length == 0 && Path.GetFileNameWithoutExtension(Environment.ProcessPath ?? "") == "dotnet") host = Environment.ProcessPath!;
        return (host.Length > 0 ? host : "dotnet", ["exec", dll]);
    }

    private void WaitUntilListening(TimeSpan limit)
    {
        var exited = _process.WaitForExitAsync();
        int which = Task.WaitAny([_ready.Task, exited], limit);
        if (which == 0) return;
        if (which == 1)
        {
            _process.WaitForExit();
            throw new SideException($"the Side daemon exited with status {_process.ExitCode} at start ({CommandLine}): {Log.Trim().ReplaceLineEndings(" ")}");
        }
        throw new SideException($"the Side daemon did not listen on {SocketPath} within {limit.TotalSeconds:0} s ({CommandLine})");
    }

    // Kills the daemon now (the guest link closes: QEMU tells the guest the port closed).
    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException) { }
    }

    public void Dispose()
    {
        _relay?.Dispose();
        Kill();
        _process.Dispose();
        try { File.Delete(SocketPath); } catch (IOException) { }
    }
}
