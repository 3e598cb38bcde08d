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
    // that asks for a state dump); its failure is the run's, after QEMU exited. `onStdoutLine` sees
    // each line of the application's stdout as it arrives, and `stop` ends the boot early the way
    // the timeout does (state dump, QEMU killed, TimeoutException): a watcher that saw it hang.
    public static async Task<BootResult> RunAsync(QemuMachine machine, TimeSpan timeout, byte[]? stdin = null,
        Func<GuestChannels, Task>? whileRunning = null, Action<string>? onStdoutLine = null, CancellationToken stop = default)
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
        Stream stdoutSink = onStdoutLine is null ? stdout : new LineTee(stdout, onStdoutLine);
        var stderr = new MemoryStream();
        int? reported = null;
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(stop);
        cancel.CancelAfter(timeout);
        // The pumps outlive the timeout by the state dump asked for then.
        using var pumpsStop = new CancellationTokenSource();
        var qemuErrors = Task.Run(async () => errors.Append(await process.StandardError.ReadToEndAsync()));
        var log = channels.PumpLogAsync(line =>
        {
            lock (lines) lines.Add((clock.Elapsed, line));
            reported = GuestChannels.ExitStatusIn(line) ?? reported;
        }, pumpsStop.Token);
        var appErrors = channels.PumpStderrAsync(stderr, pumpsStop.Token);
        var console = channels.PumpConsoleAsync(stdoutSink, stdin is null ? null : new MemoryStream(stdin), pumpsStop.Token);
        var qemuOutput = process.StandardOutput.ReadToEndAsync(pumpsStop.Token);
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
            pumpsStop.Cancel();
            string why = stop.IsCancellationRequested ? "the boot was stopped (it stopped making progress)" : $"QEMU did not exit within {timeout.TotalSeconds:0} s";
            throw new TimeoutException($"{why}; kernel log so far:\n" +
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

    // Copies what it is given to `inner` and hands each complete line, as UTF-8 text, to `onLine`.
    private sealed class LineTee(Stream inner, Action<string> onLine) : Stream
    {
        private readonly MemoryStream _partial = new();

        public override void Write(byte[] buffer, int offset, int count)
        {
            inner.Write(buffer, offset, count);
            for (int i = offset; i < offset + count; i++)
            {
                if (buffer[i] != (byte)'\n') { _partial.WriteByte(buffer[i]); continue; }
                onLine(Encoding.UTF8.GetString(_partial.GetBuffer(), 0, (int)_partial.Length));
                _partial.SetLength(0);
            }
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            Write(buffer, offset, count);
            return Task.CompletedTask;
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            byte[] copy = buffer.ToArray();
            Write(copy, 0, copy.Length);
            return ValueTask.CompletedTask;
        }

        public override void Flush() => inner.Flush();
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    // A channel QEMU never connected (it failed at start) ends with QEMU; the accept is abandoned.
    private static async Task Settle(Task pump)
    {
        await Task.WhenAny(pump, Task.Delay(TimeSpan.FromSeconds(5)));
    }
}
