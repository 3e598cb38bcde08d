using System.Runtime.InteropServices;
using System.Diagnostics;
using System.Text;
using Libra.Qemu;

// libra-qemu run --kernel FILE [--app ELF | --image FILE] [--env NAME=VALUE]... [--share DIR [--read-only] [--file-server qemu|diod]] [--mount HOSTDIR:GUESTDIR[:ro]]...
//   [--publish [ADDR:]HOSTPORT:PORT]... [--net outbound|none] [--trace-syscalls] [--verbose]
//   [--kernel-log FILE] [--memory 512M] [--machine q35] [--cpus N] [--append TEXT] [--initrd FILE]
//   [--tcg] [--gdb] [--interrupt-log FILE] [--print-command] [-- ARG...]
// Boots Libra (with the application, if given): its stdout and stderr on this process's, this
// process's stdin as its stdin (end of file when it ends), the kernel log apart (to --kernel-log,
// and here with --verbose or when it reports a failure), and exits with the application's status.
// --publish or --net starts the Side daemon (the guest's network) before QEMU; its log lines (a
// refused bind or connect) go to stderr.
// libra-qemu fuzz --kernel FILE --app FUZZER --seconds N [--seed S] [--threads T] [--memory SIZE] [--log FILE] [--trace]
// Boots the syscall fuzzer on Libra for N seconds (FuzzRun) and prints its figures; exit status 1
// on a panic, a hang or a fuzzer that did not finish (docs/robustness.md).
// libra-qemu image --app ELF --out FILE [--name NAME] [--env NAME=VALUE]... [--library NAME|PATH]... [-- ARG...]
// Writes a Libra image (docs/image.md): the application at app/NAME and the defaults in .libra/cmdline
// (and, for a program that calls dlopen, the libraries with what they need: SharedLibraries).
// libra-qemu fuzz9p --kernel FILE --app FILELOOP [--replies N] [--seed S] [--rate R] [--ops N] [--verbose]
// Boots Libra with the workload fileloop on a diod share whose replies NinePReplyFuzzer mutates,
// boot after boot, until N replies have passed; one line per boot, the figures at the end; status 1
// when a boot panicked, hung or ended without the workload's summary.
const string RunUsage = "usage: libra-qemu run --kernel FILE [--app ELF | --image FILE] [--env NAME=VALUE]... [--share DIR [--read-only] [--file-server qemu|diod]] [--mount HOSTDIR:GUESTDIR[:ro]]... [--publish SPEC]... [--net outbound|none] [--dns ADDR[:PORT]] [--trace-syscalls] [--verbose] [--kernel-log FILE] " +
    "[--memory SIZE] [--machine NAME] [--cpus N] [--append TEXT] [--initrd FILE] [--tcg] [--gdb] [--interrupt-log FILE] [--print-command] [-- ARG...]";
const string FuzzNinePUsage = "usage: libra-qemu fuzz9p --kernel FILE --app FILELOOP [--replies N] [--seed S] [--rate R] [--ops N] [--verbose]";
const string FuzzUsage = "usage: libra-qemu fuzz --kernel FILE --app FUZZER --seconds N [--seed S] [--threads T] [--memory SIZE] [--fail-alloc N] [--log FILE] [--trace]";
const string ImageUsage = "usage: libra-qemu image --app ELF --out FILE [--name NAME] [--env NAME=VALUE]... [--library NAME|PATH]... [-- ARG...]";

static int Usage(string problem, string usage = RunUsage)
{
    Console.Error.WriteLine($"libra-qemu: {problem}");
    Console.Error.WriteLine(usage);
    return 2;
}

// A request that is well formed but cannot be carried out (a missing file, a directory where a
// file belongs): one line, status 2.
static int Refuse(string problem)
{
    Console.Error.WriteLine($"libra-qemu: {problem}");
    return 2;
}

static string EnvironmentPair(string pair) =>
    pair.IndexOf('=') > 0 ? pair : throw new ArgumentException($"--env expects NAME=VALUE, not '{pair}'");

if (args.Length > 0 && args[0] == "image") return WriteImage(args);
if (args.Length > 0 && args[0] == "fuzz9p") return await FuzzNineP(args);
if (args.Length > 0 && args[0] == "fuzz") return await Fuzz(args);
if (args.Length == 0 || args[0] != "run") return Usage("expected the command 'run', 'image', 'fuzz' or 'fuzz9p'");
string? kernel = null, initrd = null, interruptLog = null, app = null, image = null, kernelLog = null, share = null;
string memory = "512M", machineName = "q35", append = "";
FileServer fileServer = FileServer.Qemu;
int cpus = 1;
bool tcg = false, gdb = false, printCommand = false, trace = false, verbose = false, readOnly = false;
var environment = new List<string>();
var appArguments = new List<string>();
var publish = new List<string>();
var mounts = new List<HostMount>();
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
            case "--image": image = Value(); break;
            case "--env": environment.Add(EnvironmentPair(Value())); break;
            case "--trace-syscalls": trace = true; break;
            case "--verbose": verbose = true; break;
            case "--kernel-log": kernelLog = Value(); break;
            case "--share": share = Value(); break;
            case "--read-only": readOnly = true; break;
            case "--file-server":
                string server = Value();
                if (!FileServers.TryParse(server, out fileServer)) throw new ArgumentException($"--file-server expects qemu or diod, not '{server}'");
                break;
            case "--mount":
                string spec = Value();
                mounts.Add(HostMount.Parse(spec, out string? mountProblem) ?? throw new ArgumentException(mountProblem));
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
if (!File.Exists(kernel)) return Refuse($"kernel image '{kernel}' does not exist (build it with: dotnet pwsh build.ps1 build)");
if (new[] { app, image, initrd }.Count(x => x is not null) > 1) return Usage("give one of --app, --image and --initrd");
if (app is not null && AppImage.ProblemWithApplication(app) is { } appProblem) return Refuse($"application {appProblem}");
if (image is not null && Directory.Exists(image)) return Refuse($"image '{image}' is a directory, not an image file");
if (image is not null && !File.Exists(image)) return Refuse($"image '{image}' does not exist (make one with: dotnet pwsh build.ps1 image)");
if (initrd is not null && !File.Exists(initrd)) return Refuse($"initrd '{initrd}' does not exist");
// A boot with nothing to run only makes sense for the kernel's own options (self-tests).
if (app is null && image is null && initrd is null && append.Length == 0) return Refuse("nothing to run: give --app ELF or --image FILE (or --append with the kernel's own options)");
if (share is not null && !Directory.Exists(share)) return Refuse(File.Exists(share) ? $"shared directory '{share}' is a file, not a directory" : $"shared directory '{share}' does not exist");
foreach (var mount in mounts)
    if (mount.Problem() is { } mountProblem) return Refuse(mountProblem);
if (mounts.Count > 8) return Usage("at most 8 --mount options");
if (mounts.GroupBy(m => m.GuestDirectory).FirstOrDefault(g => g.Count() > 1) is { } twice) return Usage($"two --mount options mount at '{twice.Key}'");
if (fileServer != FileServer.Qemu && share is null) return Usage($"--file-server {FileServers.Name(fileServer)} needs --share DIR");

string commandLine = AppCommandLine.Build(append, app, environment, appArguments, trace);
using var channels = GuestChannels.Create();
var machine = new QemuMachine
{
    KernelImage = kernel, Memory = memory, Machine = machineName, Cpus = cpus, CommandLine = commandLine,
    InitialRamDisk = app ?? image ?? initrd, ForceAccelerator = tcg ? Accelerator.Tcg : null, WaitForDebugger = gdb,
    InterruptLog = interruptLog, Channels = channels, SharedDirectory = share is null ? null : Path.GetFullPath(share), SharedReadOnly = readOnly, FileServer = fileServer,
    Network = publish.Count > 0 || net is not null ? new NetworkOptions(publish, net == "outbound", dns) : null,
    Mounts = mounts.Select(m => m with { HostDirectory = Path.GetFullPath(m.HostDirectory) }).ToList(),
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
// SIGQUIT (kill -QUIT, or Ctrl-\ where the terminal sends it here) asks the kernel for its state
// dump, printed on stderr, and the application runs on (docs/design.md, "State dump").
using var quit = PosixSignalRegistration.Create(PosixSignal.SIGQUIT, context =>
{
    context.Cancel = true;
    _ = channels.DumpStateAsync(TimeSpan.FromSeconds(5));
});
using var logFile = kernelLog is null ? null : new StreamWriter(kernelLog, append: false, Encoding.UTF8) { AutoFlush = true };
int? reported = null;
var stderr = Console.OpenStandardError();
var pumps = Task.WhenAll(
    channels.PumpConsoleAsync(Console.OpenStandardOutput(), Console.OpenStandardInput(), CancellationToken.None),
    channels.PumpStderrAsync(stderr, CancellationToken.None),
    channels.PumpLogAsync(line =>
    {
        logFile?.WriteLine(line);
        reported = GuestChannels.ExitStatusIn(line) ?? reported;
        // A traced call reads as strace -f shows one: "[TID] name(args) = result".
        if (trace && AppCommandLine.IsTrace(line)) Console.Error.WriteLine(verbose ? line : line[AppCommandLine.KernelLogPrefix.Length..]);
        else if (verbose || AppCommandLine.IsAttention(line)) Console.Error.WriteLine(line);
    }, CancellationToken.None));
process.WaitForExit();
await Task.WhenAny(pumps, Task.Delay(TimeSpan.FromSeconds(5)));
int status = reported ?? QemuMachine.GuestStatus(process.ExitCode);
if (reported is null && process.ExitCode == 0)
    Console.Error.WriteLine("libra-qemu: the guest stopped without reporting an exit status (a reset or triple fault); rerun with --interrupt-log FILE to see the faults");
return status;

// Hands each option after the command word to `take` (`value()` reads the word after it; false: an
// unknown option); the words after `--` go to `rest`. The first problem as one line, or null.
static string? EachOption(string[] args, List<string>? rest, Func<string, Func<string>, bool> take)
{
    for (int i = 1; i < args.Length; i++)
    {
        string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"option {args[i]} needs a value");
        if (args[i] == "--" && rest is not null) { rest.AddRange(args[(i + 1)..]); return null; }
        try { if (!take(args[i], Value)) return $"unknown option '{args[i]}'"; }
        catch (Exception e) when (e is ArgumentException or FormatException or OverflowException) { return e.Message; }
    }
    return null;
}

static async Task<int> Fuzz(string[] args)
{
    string? kernel = null, app = null, logFile = null;
    string memory = "512M";
    int seconds = 0, threads = 4;
    uint failAlloc = 0;
    ulong seed = (ulong)Random.Shared.NextInt64(1, 1_000_000);
    bool trace = false;
    string? wrong = EachOption(args, null, (option, value) =>
    {
        switch (option)
        {
            case "--kernel": kernel = value(); return true;
            case "--app": app = value(); return true;
            case "--seconds": seconds = int.Parse(value()); return true;
            case "--seed": seed = ulong.Parse(value()); return true;
            case "--threads": threads = int.Parse(value()); return true;
            case "--memory": memory = value(); return true;
            case "--log": logFile = value(); return true;
            case "--fail-alloc": failAlloc = uint.Parse(value()); return true;
            case "--trace": trace = true; return true;
            default: return false;
        }
    });
    if (wrong is not null) return Usage(wrong, FuzzUsage);
    if (kernel is null || app is null || seconds < 1) return Usage("fuzz needs --kernel FILE, --app FUZZER and --seconds N (at least 1)", FuzzUsage);
    if (threads is < 1 or > 16) return Usage("--threads is 1..16", FuzzUsage);
    if (!File.Exists(kernel)) return Refuse($"kernel image '{kernel}' does not exist (build it with: dotnet pwsh build.ps1 build)");
    if (AppImage.ProblemWithApplication(app) is { } problem) return Refuse($"fuzzer {problem}");
    if (failAlloc == 0 && args.Contains("--fail-alloc")) return Usage("--fail-alloc is N >= 1: one kernel heap allocation in N fails", FuzzUsage);
    Console.WriteLine($"fuzz: {seconds} s on Libra, seed {seed}, {threads} threads" + (failAlloc != 0 ? $", one kernel allocation in {failAlloc} failed" : ""));
    FuzzOutcome outcome = await FuzzRun.RunAsync(kernel, app, seconds, seed, threads, line => Console.WriteLine(line), memory, trace, failAlloc: failAlloc);
    if (logFile is not null) File.WriteAllText(logFile, outcome.Log);
    if (outcome.Failure is not null) Console.WriteLine(outcome.Failure);
    foreach (string line in outcome.Anomalies) Console.WriteLine(line);
    Console.WriteLine($"fuzz: seed {seed}, {threads} threads, {seconds} s: {outcome.Figures}");
    if (!outcome.Clean)
        Console.WriteLine($"fuzz: reproduce with: dotnet pwsh build.ps1 fuzz -Minutes {seconds / 60.0:0.##} -Seed {seed} -Threads {threads}" +
            (failAlloc != 0 ? $" -FailAlloc {failAlloc}" : "") + " (-Threads 1 repeats the same calls)");
    return outcome.Clean ? 0 : 1;
}

static int WriteImage(string[] args)
{
    string? app = null, output = null, name = null;
    var environment = new List<string>();
    var arguments = new List<string>();
    var libraries = new List<string>();
    string? wrong = EachOption(args, arguments, (option, value) =>
    {
        switch (option)
        {
            case "--app": app = value(); return true;
            case "--out": output = value(); return true;
            case "--name": name = value(); return true;
            case "--env": environment.Add(EnvironmentPair(value())); return true;
            case "--library": libraries.Add(value()); return true;
            default: return false;
        }
    });
    if (wrong is not null) return Usage(wrong, ImageUsage);
    if (app is null || output is null) return Usage("image needs --app ELF and --out FILE", ImageUsage);
    if (AppImage.ProblemWithApplication(app) is { } problem) return Refuse($"application {problem}");
    if (name is not null && (name.Length == 0 || name.Contains('/'))) return Usage($"--name '{name}' is not a file name", ImageUsage);
    if (Directory.Exists(output)) return Refuse($"--out '{output}' is a directory");
    SharedLibraries.Set? shared = null;
    try { if (libraries.Count > 0) shared = SharedLibraries.Resolve(libraries); }
    catch (ArgumentException e) { return Refuse(e.Message); }
    var entries = AppImage.Write(output, app, name, environment, arguments, shared);
    foreach (var entry in entries) Console.WriteLine($"  {entry.Path,-24} {entry.Size,14:N0} bytes");
    Console.WriteLine($"  {AppImage.CommandLinePath}: {AppImage.DefaultCommandLine(entries[0].Path, environment, arguments)}");
    Console.WriteLine($"image: {output} ({new FileInfo(output).Length:N0} bytes)");
    return 0;
}

static async Task<int> FuzzNineP(string[] args)
{
    string? kernel = null, app = null;
    long replies = 20_000;
    int seed = 1, ops = 10_000;
    double rate = 0.5;
    bool verbose = false;
    string? wrong = EachOption(args, null, (option, value) =>
    {
        switch (option)
        {
            case "--kernel": kernel = value(); return true;
            case "--app": app = value(); return true;
            case "--replies": replies = long.Parse(value()); return true;
            case "--seed": seed = int.Parse(value()); return true;
            case "--rate": rate = double.Parse(value(), System.Globalization.CultureInfo.InvariantCulture); return true;
            case "--ops": ops = int.Parse(value()); return true;
            case "--verbose": verbose = true; return true;
            default: return false;
        }
    });
    if (wrong is not null) return Usage(wrong, FuzzNinePUsage);
    if (kernel is null || app is null) return Usage("fuzz9p needs --kernel FILE and --app FILELOOP", FuzzNinePUsage);
    if (!File.Exists(kernel)) return Refuse($"kernel image '{kernel}' does not exist (build it with: dotnet pwsh build.ps1 build)");
    if (AppImage.ProblemWithApplication(app) is { } problem) return Refuse($"application {problem}");
    if (rate is < 0 or > 1) return Usage("--rate is a probability, 0 to 1", FuzzNinePUsage);
    var run = new NinePFuzzRun { KernelImage = kernel, Workload = app, Replies = replies, Seed = seed, Rate = rate, Operations = ops, Verbose = verbose };
    NinePFuzzRun.Outcome outcome;
    try { outcome = await run.RunAsync(Console.WriteLine); }
    catch (FileServerException e) { return Refuse(e.Message); }
    foreach (string line in NinePFuzzRun.Describe(outcome)) Console.WriteLine(line);
    return outcome.Failures == 0 ? 0 : 1;
}
