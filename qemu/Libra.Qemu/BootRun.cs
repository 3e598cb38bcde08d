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
    // (null: end of file at once). `whileRunning` runs beside the boot once QEMU has started (a test
    // that asks for a state dump); its failure is the run's, after QEMU exited.
    public static async Task<BootResult> RunAsync(QemuMachine machine, TimeSpan timeout, byte[]? stdin = null,
        Func<GuestChannels, Task>? whileRunning = null)
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
        // The pumps outlive the timeout by the state dump asked for then.
        using var stop = new CancellationTokenSource();
        var qemuErrors = Task.Run(async () => errors.Append(await process.StandardError.ReadToEndAsync()));
        var log = channels.PumpLogAsync(line =>
        {
            lock (lines) lines.Add((clock.Elapsed, line));
            reported = GuestChannels.ExitStatusIn(line) ?? reported;
        }, stop.Token);
        var appErrors = channels.PumpStderrAsync(stderr, stop.Token);
        var console = channels.PumpConsoleAsync(stdout, stdin is null ? null : new MemoryStream(stdin), stop.Token);
        var qemuOutput = process.StandardOutput.ReadToEndAsync(stop.Token);
        var beside = whileRunning is null ? Task.CompletedTask : Task.Run(() => whileRunning(channels));
        try
        {
            await process.WaitForExitAsync(cancel.Token);
            await Task.WhenAll(Settle(log), Settle(appErrors), Settle(console), Settle(qemuOutput));
        }
        catch (OperationCanceledException)
        {
            // What the kernel was doing when the time ran out: its state dump, in the log below.
            if (await channels.DumpStateAsync(TimeSpan.FromSeconds(5))) await Task.Delay(TimeSpan.FromSeconds(2));
            process.Kill(entireProcessTree: true);
            stop.Cancel();
            throw new TimeoutException($"QEMU did not exit within {timeout.TotalSeconds:0} s; kernel log so far:\n" +
                string.Join("\n", lines.Select(l => l.Item2)) + "\nstdout so far:\n" + Encoding.UTF8.GetString(stdout.ToArray()) +
                "\nstderr so far:\n" + Encoding.UTF8.GetString(stderr.ToArray()) +
                (fileServer is null ? "" : "\nfile server (" + fileServer.CommandLine + ") log:\n" + fileServer.Log) +
                (side is null ? "" : "\nSide (" + side.CommandLine + ") log:\n" + side.Log));
        }
        await qemuErrors;
        await beside;
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
