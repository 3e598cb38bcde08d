using System.Net.Sockets;
using System.Text;

namespace Libra.Qemu;

// The guest's console channels: COM1 carries the application's stdout out and its stdin in
// (ConsoleInput's framing), COM2 the application's stderr, and the debug console (port 0xE9) the
// kernel log. Each is a unix socket this process listens on and QEMU connects to at start-up.
public sealed class GuestChannels : IDisposable
{
    private readonly string _directory;
    private readonly Socket _console, _stderr, _log;
    private readonly TaskCompletionSource _kernelLogStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string ConsoleSocket { get; }
    public string StderrSocket { get; }
    public string LogSocket { get; }
    // Where a file server outside QEMU (diod) listens, when QemuMachine.FileServer says so.
    public string FileServerSocket { get; }
    // Where the Side daemon listens for QEMU's libra.net port, when QemuMachine.Network says so.
    public string NetworkSocket { get; }
    // QEMU's QMP monitor (it listens here): DumpStateAsync asks the kernel for its state dump.
    public string MonitorSocket { get; }

    private GuestChannels()
    {
        _directory = Path.Combine(Path.GetTempPath(), "libra-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(_directory);
        ConsoleSocket = Path.Combine(_directory, "console.sock");
        StderrSocket = Path.Combine(_directory, "stderr.sock");
        LogSocket = Path.Combine(_directory, "log.sock");
        FileServerSocket = Path.Combine(_directory, "fileserver.sock");
        NetworkSocket = Path.Combine(_directory, "net.sock");
        MonitorSocket = Path.Combine(_directory, "qmp.sock");
        _console = Listen(ConsoleSocket);
        _stderr = Listen(StderrSocket);
        _log = Listen(LogSocket);
    }

    public static GuestChannels Create() => new();

    private static Socket Listen(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));
        socket.Listen(1);
        return socket;
    }

    // Asks the kernel for a state dump (threads, descriptors, sockets: LibraKernel/Diagnostics/
    // StateDump.cs) by injecting an NMI through QMP; the dump arrives in the kernel log. False when
    // QEMU's monitor did not answer (QEMU gone, or not started with this machine's channels).
    public async Task<bool> DumpStateAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(MonitorSocket), cancel.Token);
            using var stream = new NetworkStream(socket, ownsSocket: false);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            // QMP (qemu docs/interop/qmp-spec): a greeting, then capabilities negotiation, then commands;
            // each command's answer is a line with "return" or "error" (events may come between).
            await reader.ReadLineAsync(cancel.Token);
            foreach (string command in new[] { "qmp_capabilities", "inject-nmi" })
            {
                await stream.WriteAsync(Encoding.UTF8.GetBytes($"{{\"execute\":\"{command}\"}}\n"), cancel.Token);
                string? answer;
                do answer = await reader.ReadLineAsync(cancel.Token);
                while (answer is not null && !answer.Contains("\"return\"", StringComparison.Ordinal) && !answer.Contains("\"error\"", StringComparison.Ordinal));
                if (answer is null || answer.Contains("\"error\"", StringComparison.Ordinal)) return false;
            }
            return true;
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException) { return false; }
    }

    // Copies the application's stdout to `destination` until QEMU closes the channel, and `input`
    // (null: none, end of file at once) to the application's stdin. The stdin copy is abandoned when
    // the guest stops first.
    public async Task PumpConsoleAsync(Stream destination, Stream? input, CancellationToken cancel)
    {
        using var connection = await _console.AcceptAsync(cancel);
        using var stream = new NetworkStream(connection, ownsSocket: false);
        _ = ForwardInputAsync(input, stream, cancel);
        await CopyAsync(stream, destination, cancel);
    }

    // The kernel resets COM1's FIFOs when it sets the UART up, dropping whatever arrived before, and
    // logs its first line after that: stdin waits for that line (PumpLogAsync must run).
    private async Task ForwardInputAsync(Stream? input, Stream stream, CancellationToken cancel)
    {
        try { await _kernelLogStarted.Task.WaitAsync(cancel); }
        catch (OperationCanceledException) { return; }
        await ConsoleInput.ForwardAsync(input, stream, cancel);
    }

    // Copies the application's stderr to `destination` until QEMU closes the channel.
    public async Task PumpStderrAsync(Stream destination, CancellationToken cancel)
    {
        using var connection = await _stderr.AcceptAsync(cancel);
        using var stream = new NetworkStream(connection, ownsSocket: false);
        await CopyAsync(stream, destination, cancel);
    }

    private static async Task CopyAsync(Stream stream, Stream destination, CancellationToken cancel)
    {
        var buffer = new byte[4096];
        int n;
        while ((n = await stream.ReadAsync(buffer, cancel)) > 0)
        {
            await destination.WriteAsync(buffer.AsMemory(0, n), cancel);
            await destination.FlushAsync(cancel);
        }
    }

    // Hands each kernel log line to `onLine` until QEMU closes the channel.
    public async Task PumpLogAsync(Action<string> onLine, CancellationToken cancel)
    {
        using var connection = await _log.AcceptAsync(cancel);
        using var stream = new NetworkStream(connection, ownsSocket: false);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        while (await reader.ReadLineAsync(cancel) is { } line)
        {
            _kernelLogStarted.TrySetResult();
            onLine(line);
        }
    }

    // The status the kernel reported in its last words ("libra: exit status N"), if any.
    public static int? ExitStatusIn(string line)
    {
        const string marker = "libra: exit status ";
        int at = line.IndexOf(marker, StringComparison.Ordinal);
        return at >= 0 && int.TryParse(line.AsSpan(at + marker.Length).Trim(), out int status) ? status : null;
    }

    public void Dispose()
    {
        _console.Dispose();
        _stderr.Dispose();
        _log.Dispose();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }
}
