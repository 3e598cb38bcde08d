using System.Net.Sockets;
using System.Text;

namespace Libra.Qemu;

// The guest's output channels apart from COM1 (the application's stdout, on QEMU's own stdout):
// COM2 carries the application's stderr and the debug console (port 0xE9) the kernel log. Each is
// a unix socket this process listens on and QEMU connects to at start-up.
public sealed class GuestChannels : IDisposable
{
    private readonly string _directory;
    private readonly Socket _stderr, _log;

    public string StderrSocket { get; }
    public string LogSocket { get; }
    // Where a file server outside QEMU (diod) listens, when QemuMachine.FileServer says so.
    public string FileServerSocket { get; }
    // Where the Side daemon listens for QEMU's libra.net port, when QemuMachine.Network says so.
    public string NetworkSocket { get; }

    private GuestChannels()
    {
        _directory = Path.Combine(Path.GetTempPath(), "libra-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(_directory);
        StderrSocket = Path.Combine(_directory, "stderr.sock");
        LogSocket = Path.Combine(_directory, "log.sock");
        FileServerSocket = Path.Combine(_directory, "fileserver.sock");
        NetworkSocket = Path.Combine(_directory, "net.sock");
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

    // Copies the application's stderr to `destination` until QEMU closes the channel.
    public async Task PumpStderrAsync(Stream destination, CancellationToken cancel)
    {
        using var connection = await _stderr.AcceptAsync(cancel);
        using var stream = new NetworkStream(connection, ownsSocket: false);
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
        while (await reader.ReadLineAsync(cancel) is { } line) onLine(line);
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
        _stderr.Dispose();
        _log.Dispose();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }
}
