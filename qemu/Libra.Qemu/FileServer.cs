using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Libra.Qemu;

// Which 9P2000.L server exports QemuMachine.SharedDirectory: QEMU's own (virtio-9p-pci, -fsdev local),
// or diod on a unix socket that QEMU joins to a virtio-serial port named "libra.9p" (the kernel takes
// the virtio-9p device tagged "libra", else the port: Kernel.MountSharedDirectories).
public enum FileServer { Qemu, Diod }

public static class FileServers
{
    public static bool TryParse(string text, out FileServer server)
    {
        switch (text)
        {
            case "qemu": server = FileServer.Qemu; return true;
            case "diod": server = FileServer.Diod; return true;
        }
        server = default;
        return false;
    }

    public static string Name(FileServer server) => server == FileServer.Diod ? "diod" : "qemu";
}

// The file server could not start: one line that says why (and how to fix it).
public sealed class FileServerException(string message) : Exception(message);

// diod (Debian package `diod`) serving one directory on a unix socket, in the foreground, without
// authentication, every attach squashed to the user running it; started before QEMU, stopped after.
public sealed class DiodProcess : IDisposable
{
    public const string PortName = "libra.9p";
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    public string SocketPath { get; }
    // A relay in front of it (QemuMachine.FileServerRelay), stopped with it.
    internal IDisposable? Relay { get; set; }
    public string CommandLine { get; }
    // What diod wrote on stderr (-L stderr).
    public string Log { get { lock (_log) return _log.ToString(); } }

    [DllImport("libc")] private static extern uint getuid();

    private DiodProcess(string diod, string export, string socketPath)
    {
        SocketPath = socketPath;
        // -f foreground, -n no auth (Tauth answers ENOENT), -S -U squash every attach to one user,
        // -e the export (diod attaches only an aname naming it: QemuMachine passes libra.9p.aname),
        // -c /dev/null ignores /etc/diod.conf.
        string squash = getuid() == 0 ? "root" : Environment.UserName;
        string[] args = ["-f", "-n", "-S", "-U", squash, "-e", export, "-l", socketPath, "-L", "stderr", "-c", "/dev/null"];
        CommandLine = diod + " " + string.Join(' ', args);
        // Its working directory is the socket's (removed after the boot): a diod that crashes leaves its core there.
        var start = new ProcessStartInfo(diod) { RedirectStandardError = true, RedirectStandardOutput = true, RedirectStandardInput = true, UseShellExecute = false, WorkingDirectory = Path.GetDirectoryName(socketPath)! };
        foreach (var a in args) start.ArgumentList.Add(a);
        _process = Process.Start(start) ?? throw new FileServerException($"could not start {CommandLine}");
        _process.StandardInput.Close();
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_log) _log.AppendLine(e.Data); };
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_log) _log.AppendLine(e.Data); };
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
    }

    // Starts diod exporting `export` on `socketPath` and returns once it accepts connections.
    public static DiodProcess Start(string export, string socketPath)
    {
        string diod = Find() ?? throw new FileServerException(
            "the 9P server diod is not installed (Debian package diod, /usr/sbin/diod): sudo apt-get install diod, or run through build.ps1 run -FileServer diod, which installs it");
        var server = new DiodProcess(diod, export, socketPath);
        try { server.WaitUntilListening(TimeSpan.FromSeconds(15)); }
        catch { server.Dispose(); throw; }
        return server;
    }

    // diod lives in /usr/sbin, which a normal user's PATH often lacks.
    public static string? Find()
    {
        var directories = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Concat(["/usr/sbin", "/sbin", "/usr/local/sbin"]);
        foreach (var dir in directories)
            if (dir.Length > 0 && File.Exists(Path.Combine(dir, "diod"))) return Path.Combine(dir, "diod");
        return null;
    }

    // The socket file appears at bind, a moment before listen: wait until a connection succeeds, so
    // that QEMU's own connection cannot be refused.
    private void WaitUntilListening(TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
                throw new FileServerException($"diod exited with status {_process.ExitCode} at start ({CommandLine}): {Log.Trim().ReplaceLineEndings(" ")}");
            if (File.Exists(SocketPath))
            {
                try
                {
                    using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    probe.Connect(new UnixDomainSocketEndPoint(SocketPath));
                    return;
                }
                catch (SocketException) { }
            }
            Thread.Sleep(20);
        }
        throw new FileServerException($"diod did not listen on {SocketPath} within {limit.TotalSeconds:0} s ({CommandLine})");
    }

    public void Dispose()
    {
        Relay?.Dispose();
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
        try { File.Delete(SocketPath); } catch (IOException) { }
    }
}

// The file server a machine needs started before QEMU (null for QEMU's own); dispose it after QEMU.
public static class FileServerProcess
{
    public static DiodProcess? Start(QemuMachine machine)
    {
        if (machine.SharedDirectory is null || machine.FileServer != FileServer.Diod) return null;
        if (machine.Channels is null) throw new InvalidOperationException("the diod file server needs the machine's Channels");
        if (machine.FileServerRelay is null) return DiodProcess.Start(machine.SharedDirectory, machine.Channels.FileServerSocket);
        string behind = Path.Combine(Path.GetDirectoryName(machine.Channels.FileServerSocket)!, "diod-behind-relay.sock");
        var diod = DiodProcess.Start(machine.SharedDirectory, behind);
        diod.Relay = new StreamRelayHost(machine.Channels.FileServerSocket, behind, machine.FileServerRelay);
        return diod;
    }
}
