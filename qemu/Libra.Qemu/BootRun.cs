using System.Diagnostics;
using System.Text;

namespace Libra.Qemu;

// A finished boot as a test sees it: every kernel log line with the host time it arrived, the
// application's stdout and stderr, and the exit status (the kernel's own report when it made one).
public sealed record BootResult(IReadOnlyList<(TimeSpan At, string Text)> Lines, int GuestStatus, int QemuStatus, string QemuErrors,
    string Stdout = "", string Stderr = "", string FileServerLog = "", string NetworkLog = "")
{
    public string Output => string.Join("\n", Lines.Select(l => l.Text));

    public (TimeSpan At, string Text)? FirstLine(string contains) =>
        Lines.Where(l => l.Text.Contains(contains, StringComparison.Ordinal)).Select(l => ((TimeSpan, string)?)l).FirstOrDefault();
}

public static class BootRun
{
    // Boots `machine` (its Channels, file server and Side are made here), collects everything until QEMU
    // exits, and kills QEMU if it outlives `timeout`. `stdin` is the application's standard input
    // (null: end of file at once).
    public static async Task<BootResult> RunAsync(QemuMachine machine, TimeSpan timeout, byte[]? stdin = null)
    {
        using var channels = GuestChannels.Create();
        machine = machine.WithChannels(channels);
        using var fileServer = FileServerProcess.Start(machine);
        using var side = SideProcess.Start(machine);
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(machine.StartInfo(redirectOutput: true))
            ?? throw new InvalidOperationException("could not start qemu-system-x86_64");
        process.StandardInput.Close();
        var lines = new List<(TimeSpan, string)>();
        var errors = new StringBuilder();
        var stdout = new MemoryStream();
        var stderr = new MemoryStream();
        int? reported = null;
        using var cancel = new CancellationTokenSource(timeout);
        var qemuErrors = Task.Run(async () => errors.Append(await process.StandardError.ReadToEndAsync()));
        var log = channels.PumpLogAsync(line =>
        {
            lock (lines) lines.Add((clock.Elapsed, line));
            reported = GuestChannels.ExitStatusIn(line) ?? reported;
        }, cancel.Token);
        var appErrors = channels.PumpStderrAsync(stderr, cancel.Token);
        var console = channels.PumpConsoleAsync(stdout, stdin is null ? null : new MemoryStream(stdin), cancel.Token);
        var qemuOutput = process.StandardOutput.ReadToEndAsync(cancel.Token);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
            await Task.WhenAll(Settle(log), Settle(appErrors), Settle(console), Settle(qemuOutput));
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"QEMU did not exit within {timeout.TotalSeconds:0} s; kernel log so far:\n" +
                string.Join("\n", lines.Select(l => l.Item2)) + "\nstdout so far:\n" + Encoding.UTF8.GetString(stdout.ToArray()) +
                "\nstderr so far:\n" + Encoding.UTF8.GetString(stderr.ToArray()) +
                (fileServer is null ? "" : "\nfile server (" + fileServer.CommandLine + ") log:\n" + fileServer.Log) +
                (side is null ? "" : "\nSide (" + side.CommandLine + ") log:\n" + side.Log));
        }
        await qemuErrors;
        int status = reported ?? QemuMachine.GuestStatus(process.ExitCode);
        return new BootResult(lines, status, process.ExitCode, errors.ToString(), Encoding.UTF8.GetString(stdout.ToArray()), Encoding.UTF8.GetString(stderr.ToArray()),
            fileServer?.Log ?? "", side?.Log ?? "");
    }

    // A channel QEMU never connected (it failed at start) ends with QEMU; the accept is abandoned.
    private static async Task Settle(Task pump)
    {
        await Task.WhenAny(pump, Task.Delay(TimeSpan.FromSeconds(5)));
    }
}
