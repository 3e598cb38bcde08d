using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Libra.Tests.NineP;

// A real 9P2000.L server for the codec: diod (Debian package `diod`) on a Unix socket, exporting a
// fresh temporary directory, in the foreground, without authentication, every user squashed to the
// one running the tests. Installed through apt-get when missing (as root, or with sudo -n).
public sealed class DiodServer : IDisposable
{
    private static readonly object s_installLock = new();
    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private readonly string _root;

    public string Export { get; }
    public string SocketPath { get; }
    public string CommandLine { get; }
    public string Log { get { lock (_log) return _log.ToString(); } }

    public static uint Uid => getuid();
    public static uint Gid => getgid();

    [DllImport("libc")] private static extern uint getuid();
    [DllImport("libc")] private static extern uint getgid();

    public DiodServer()
    {
        string diod = FindOrInstall();
        _root = Directory.CreateTempSubdirectory("libra-diod-").FullName;
        Export = Path.Combine(_root, "export");
        Directory.CreateDirectory(Export);
        SocketPath = Path.Combine(_root, "diod.sock");
        // -f foreground, -n no auth (Tauth answers ENOENT), -S -U squash every attach to one user
        // (root when we are root: diod then serves files as root), -c /dev/null ignores /etc/diod.conf.
        string squash = Uid == 0 ? "root" : Environment.UserName;
        var args = new[] { "-f", "-n", "-S", "-U", squash, "-e", Export, "-l", SocketPath, "-L", "stderr", "-c", "/dev/null" };
        CommandLine = diod + " " + string.Join(' ', args);
        var start = new ProcessStartInfo(diod) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        _process = Process.Start(start) ?? throw new InvalidOperationException("cannot start " + CommandLine);
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_log) _log.AppendLine(e.Data); };
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_log) _log.AppendLine(e.Data); };
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
        WaitUntilListening();
    }

    private void WaitUntilListening()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited) throw new InvalidOperationException($"diod exited with {_process.ExitCode}: {CommandLine}\n{Log}");
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
            Thread.Sleep(50);
        }
        throw new InvalidOperationException($"diod did not listen on {SocketPath} within 15 s: {CommandLine}\n{Log}");
    }

    public Socket Connect()
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = 10000, SendTimeout = 10000 };
        socket.Connect(new UnixDomainSocketEndPoint(SocketPath));
        return socket;
    }

    // diod lives in /usr/sbin, which a normal user's PATH may lack.
    private static string? Find()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Concat(new[] { "/usr/sbin", "/usr/bin", "/sbin" }))
            if (dir.Length > 0 && File.Exists(Path.Combine(dir, "diod"))) return Path.Combine(dir, "diod");
        return null;
    }

    private static string FindOrInstall()
    {
        lock (s_installLock)
        {
            string? found = Find();
            if (found is not null) return found;
            const string hint = "sudo apt-get install -y diod";
            bool root = Uid == 0;
            string? exe = root ? "apt-get" : File.Exists("/usr/bin/sudo") ? "sudo" : null;
            if (exe is null || !File.Exists("/usr/bin/apt-get"))
                throw new InvalidOperationException($"the 9P server diod is not installed and apt-get cannot install it here; run: {hint}");
            var prefix = root ? Array.Empty<string>() : new[] { "-n", "apt-get" };
            string output = Run(exe, prefix.Concat(new[] { "-q", "update" }));
            output += Run(exe, prefix.Concat(new[] { "-q", "install", "-y", "--no-install-recommends", "diod" }));
            return Find() ?? throw new InvalidOperationException($"apt-get did not install diod; run: {hint}\n{output}");
        }
    }

    private static string Run(string exe, IEnumerable<string> args)
    {
        var start = new ProcessStartInfo(exe) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        using var p = Process.Start(start)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return stdout + stderr.Result;
    }

    public void Dispose()
    {
        try { if (!_process.HasExited) { _process.Kill(); _process.WaitForExit(5000); } } catch (InvalidOperationException) { }
        _process.Dispose();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
