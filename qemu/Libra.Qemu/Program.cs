using System.Diagnostics;
using Libra.Qemu;

// libra-qemu run --kernel FILE [--memory 512M] [--machine q35] [--cpus N] [--append TEXT]
//   [--initrd FILE] [--tcg] [--gdb] [--interrupt-log FILE] [--print-command]
// Boots Libra with the serial console on this terminal and exits with the guest's status.
static int Usage(string problem)
{
    Console.Error.WriteLine($"libra-qemu: {problem}");
    Console.Error.WriteLine("usage: libra-qemu run --kernel FILE [--memory SIZE] [--machine NAME] [--cpus N] [--append TEXT] [--initrd FILE] [--tcg] [--gdb] [--interrupt-log FILE] [--print-command]");
    return 2;
}

if (args.Length == 0 || args[0] != "run") return Usage("expected the command 'run'");
string? kernel = null, initrd = null, interruptLog = null;
string memory = "512M", machineName = "q35", append = "";
int cpus = 1;
bool tcg = false, gdb = false, printCommand = false;
for (int i = 1; i < args.Length; i++)
{
    string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"option {args[i]} needs a value");
    try
    {
        switch (args[i])
        {
            case "--kernel": kernel = Value(); break;
            case "--memory": memory = Value(); break;
            case "--machine": machineName = Value(); break;
            case "--cpus": cpus = int.Parse(Value()); break;
            case "--append": append = Value(); break;
            case "--initrd": initrd = Value(); break;
            case "--interrupt-log": interruptLog = Value(); break;
            case "--tcg": tcg = true; break;
            case "--gdb": gdb = true; break;
            case "--print-command": printCommand = true; break;
            default: return Usage($"unknown option '{args[i]}'");
        }
    }
    catch (Exception e) when (e is ArgumentException or FormatException) { return Usage(e.Message); }
}
if (kernel is null) return Usage("--kernel is required");
if (!File.Exists(kernel)) return Usage($"kernel image '{kernel}' does not exist (build it with: dotnet pwsh build.ps1 build)");
if (initrd is not null && !File.Exists(initrd)) return Usage($"initrd '{initrd}' does not exist");

var machine = new QemuMachine
{
    KernelImage = kernel, Memory = memory, Machine = machineName, Cpus = cpus, CommandLine = append,
    InitialRamDisk = initrd, ForceAccelerator = tcg ? Accelerator.Tcg : null, WaitForDebugger = gdb, InterruptLog = interruptLog,
};
if (printCommand || gdb)
    Console.Error.WriteLine("libra-qemu: qemu-system-x86_64 " + string.Join(' ', machine.Arguments().Select(a => a.Contains(' ') ? $"'{a}'" : a)));
if (gdb) Console.Error.WriteLine($"libra-qemu: waiting for gdb: gdb {kernel} -ex 'target remote :1234'");

using var process = Process.Start(machine.StartInfo(redirectOutput: false));
if (process is null) { Console.Error.WriteLine("libra-qemu: could not start qemu-system-x86_64"); return 2; }
process.WaitForExit();
int status = QemuMachine.GuestStatus(process.ExitCode);
if (process.ExitCode == 0)
    Console.Error.WriteLine("libra-qemu: the guest stopped without reporting an exit status (a reset or triple fault); rerun with --interrupt-log FILE to see the faults");
return status;
