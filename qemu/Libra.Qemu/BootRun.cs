using System.Diagnostics;
using System.Text;

namespace Libra.Qemu;

// A finished boot as a test sees it: every serial line with the host time it arrived, and the status.
public sealed record BootResult(IReadOnlyList<(TimeSpan At, string Text)> Lines, int GuestStatus, int QemuStatus, string QemuErrors)
{
    public string Output => string.Join("\n", Lines.Select(l => l.Text));

    public (TimeSpan At, string Text)? FirstLine(string contains) =>
        Lines.Where(l => l.Text.Contains(contains, StringComparison.Ordinal)).Select(l => ((TimeSpan, string)?)l).FirstOrDefault();
}

public static class BootRun
{
    // Boots, collects the serial console until QEMU exits, and kills QEMU if it outlives `timeout`.
    public static async Task<BootResult> RunAsync(QemuMachine machine, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(machine.StartInfo(redirectOutput: true))
            ?? throw new InvalidOperationException("could not start qemu-system-x86_64");
        process.StandardInput.Close();
        var lines = new List<(TimeSpan, string)>();
        var errors = new StringBuilder();
        var stderr = Task.Run(async () => errors.Append(await process.StandardError.ReadToEndAsync()));
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            while (await process.StandardOutput.ReadLineAsync(cancel.Token) is { } line)
                lock (lines) lines.Add((clock.Elapsed, line));
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"QEMU did not exit within {timeout.TotalSeconds:0} s; output so far:\n" +
                string.Join("\n", lines.Select(l => l.Item2)));
        }
        await stderr;
        return new BootResult(lines, QemuMachine.GuestStatus(process.ExitCode), process.ExitCode, errors.ToString());
    }
}
