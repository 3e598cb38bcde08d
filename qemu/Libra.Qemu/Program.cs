using System.Diagnostics;
using System.Text;
using Libra.Qemu;

// libra-qemu run --kernel FILE [--app ELF] [--env NAME=VALUE]... [--share DIR [--read-only] [--file-server qemu|diod]]
//   [--publish [ADDR:]HOSTPORT:PORT]... [--net outbound|none] [--trace-syscalls] [--verbose]
//   [--kernel-log FILE] [--memory 512M] [--machine q35] [--cpus N] [--append TEXT] [--initrd FILE]
//   [--tcg] [--gdb] [--interrupt-log FILE] [--print-command] [-- ARG...]
// Boots Libra (with the application, if given): its stdout and stderr on this process's, the
// kernel log apart (to --kernel-log, and here with --verbose or when it reports a failure), and
// exits with the application's status. --publish or --net starts the Side daemon (the guest's
// network) before QEMU; its log lines (a refused bind or connect) go to stderr.
static int Usage(string problem)
{
    Console.Error.WriteLine($"libra-qemu: {problem}");
    Console.Error.WriteLine("usage: libra-qemu run --kernel FILE [--app ELF] [--env NAME=VALUE]... [--share DIR [--read-only] [--file-server qemu|diod]] [--publish SPEC]... [--net outbound|none] [--dns ADDR[:PORT]] [--trace-syscalls] [--verbose] [--kernel-log FILE] " +
        "[--memory SIZE] [--machine NAME] [--cpus N] [--append TEXT] [--initrd FILE] [--tcg] [--gdb] [--interrupt-log FILE] [--print-command] [-- ARG...]");
    return 2;
}

if (args.Length == 0 || args[0] != "run") return Usage("expected the command 'run'");
string? kernel = null, initrd = null, interruptLog = null, app = null, kernelLog = null, share = null;
string memory = "512M", machineName = "q35", append = "";
FileServer fileServer = FileServer.Qemu;
int cpus = 1;
bool tcg = false, gdb = false, printCommand = false, trace = false, verbose = false, readOnly = false;
var environment = new List<string>();
var appArguments = new List<string>();
var publish = new List<string>();
string? net = null, dns = null;
for (int i = 1; i < args.Length; i++)
{
    string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"option {args[i]} needs a value");
    try
    {
        switch (args[i])
        {
            case "--kernel": kernel = Value(); break;
            case "--app": app = Value(); break;
            case "--env":
                string pair = Value();
                if (pair.IndexOf('=') <= 0) throw new ArgumentException($"--env expects NAME=VALUE, not '{pair}'");
                environment.Add(pair);
                break;
            case "--trace-syscalls": trace = true; break;
            case "--verbose": verbose = true; break;
            case "--kernel-log": kernelLog = Value(); break;
            case "--share": share = Value(); break;
            case "--read-only": readOnly = true; break;
            case "--file-server":
                string server = Value();
                if (!FileServers.TryParse(server, out fileServer)) throw new ArgumentException($"--file-server expects qemu or diod, not '{server}'");
                break;
            case "--publish": publish.Add(Value()); break;
            case "--net":
                net = Value();
                if (net is not ("outbound" or "none")) throw new ArgumentException($"--net expects outbound or none, not '{net}'");
                break;
            case "--dns": dns = Value(); break;
            case "--memory": memory = Value(); break;
            case "--machine": machineName = Value(); break;
            case "--cpus": cpus = int.Parse(Value()); break;
            case "--append": append = Value(); break;
            case "--initrd": initrd = Value(); break;
            case "--interrupt-log": interruptLog = Value(); break;
            case "--tcg": tcg = true; break;
            case "--gdb": gdb = true; break;
            case "--print-command": printCommand = true; break;
            case "--": appArguments.AddRange(args[(i + 1)..]); i = args.Length; break;
            default: return Usage($"unknown option '{args[i]}'");
        }
    }
    catch (Exception e) when (e is ArgumentException or FormatException) { return Usage(e.Message); }
}
if (kernel is null) return Usage("--kernel is required");
if (!File.Exists(kernel)) return Usage($"kernel image '{kernel}' does not exist (build it with: dotnet pwsh build.ps1 build)");
if (app is not null && initrd is not null) return Usage("give --app or --initrd, not both");
if (app is not null && !File.Exists(app)) return Usage($"application '{app}' does not exist");
if (initrd is not null && !File.Exists(initrd)) return Usage($"initrd '{initrd}' does not exist");
if (share is not null && !Directory.Exists(share)) return Usage($"shared directory '{share}' does not exist");
if (fileServer != FileServer.Qemu && share is null) return Usage($"--file-server {FileServers.Name(fileServer)} needs --share DIR");

string commandLine = AppCommandLine.Build(append, app, environment, appArguments, trace);
using var channels = GuestChannels.Create();
var machine = new QemuMachine
{
    KernelImage = kernel, Memory = memory, Machine = machineName, Cpus = cpus, CommandLine = commandLine,
    InitialRamDisk = app ?? initrd, ForceAccelerator = tcg ? Accelerator.Tcg : null, WaitForDebugger = gdb,
    InterruptLog = interruptLog, Channels = channels, SharedDirectory = share is null ? null : Path.GetFullPath(share), SharedReadOnly = readOnly, FileServer = fileServer,
    Network = publish.Count > 0 || net is not null ? new NetworkOptions(publish, net == "outbound", dns) : null,
};
DiodProcess? diod;
try { diod = FileServerProcess.Start(machine); }
catch (FileServerException e)
{
    Console.Error.WriteLine($"libra-qemu: {e.Message}");
    return 2;
}
using var fileServerProcess = diod;
SideProcess? side;
try { side = SideProcess.Start(machine, line => Console.Error.WriteLine(line)); }
catch (SideException e)
{
    Console.Error.WriteLine($"libra-qemu: {e.Message}");
    return 2;
}
using var sideProcess = side;
if ((printCommand || gdb) && side is not null) Console.Error.WriteLine("libra-qemu: " + side.CommandLine);
if ((printCommand || gdb) && diod is not null) Console.Error.WriteLine("libra-qemu: " + diod.CommandLine);
if (printCommand || gdb)
    Console.Error.WriteLine("libra-qemu: qemu-system-x86_64 " + string.Join(' ', machine.Arguments().Select(a => a.Contains(' ') ? $"'{a}'" : a)));
if (gdb) Console.Error.WriteLine($"libra-qemu: waiting for gdb: gdb {kernel} -ex 'target remote :1234'");

using var process = Process.Start(machine.StartInfo(redirectOutput: false));
if (process is null) { Console.Error.WriteLine("libra-qemu: could not start qemu-system-x86_64"); return 2; }
using var logFile = kernelLog is null ? null : new StreamWriter(kernelLog, append: false, Encoding.UTF8) { AutoFlush = true };
int? reported = null;
var stderr = Console.OpenStandardError();
var pumps = Task.WhenAll(
    channels.PumpStderrAsync(stderr, CancellationToken.None),
    channels.PumpLogAsync(line =>
    {
        logFile?.WriteLine(line);
        reported = GuestChannels.ExitStatusIn(line) ?? reported;
        if (verbose || AppCommandLine.IsAttention(line)) Console.Error.WriteLine(line);
    }, CancellationToken.None));
process.WaitForExit();
await Task.WhenAny(pumps, Task.Delay(TimeSpan.FromSeconds(5)));
int status = reported ?? QemuMachine.GuestStatus(process.ExitCode);
if (reported is null && process.ExitCode == 0)
    Console.Error.WriteLine("libra-qemu: the guest stopped without reporting an exit status (a reset or triple fault); rerun with --interrupt-log FILE to see the faults");
return status;
