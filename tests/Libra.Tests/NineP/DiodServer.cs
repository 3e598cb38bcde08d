using System.Diagnostics;
using System.Net.Sockets;
using Libra.Qemu;
using System.Runtime.InteropServices;

namespace Libra.Tests.NineP;

// A real 9P2000.L server for the codec: diod (Debian package `diod`) on a Unix socket, exporting a
// fresh temporary directory, in the foreground, without authentication, every user squashed to the
// one running the tests. Installed through apt-get when missing (as root, or with sudo -n).
public sealed class DiodServer : IDisposable
{
    private static readonly object s_installLock = new();
    private readonly DiodProcess _process;
    private readonly string _root;

    public string Export { get; }
    public string SocketPath => _process.SocketPath;
    public string CommandLine => _process.CommandLine;
    public string Log => _process.Log;

    public static uint Uid => getuid();
    public static uint Gid => getgid();

    [DllImport("libc")] private static extern uint getuid();
    [DllImport("libc")] private static extern uint getgid();

    // diod itself starts as Libra.Qemu starts it for -FileServer diod (DiodProcess).
    public DiodServer()
    {
        FindOrInstall();
        _root = Directory.CreateTempSubdirectory("libra-diod-").FullName;
        Export = Path.Combine(_root, "export");
        Directory.CreateDirectory(Export);
        _process = DiodProcess.Start(Export, Path.Combine(_root, "diod.sock"));
    }

    public Socket Connect()
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = 10000, SendTimeout = 10000 };
        socket.Connect(new UnixDomainSocketEndPoint(SocketPath));
        return socket;
    }

    private static string FindOrInstall()
    {
        lock (s_installLock)
        {
            string? found = DiodProcess.Find();
            if (found is not null) return found;
            const string hint = "sudo apt-get install -y diod";
            bool root = Uid == 0;
            string? exe = root ? "apt-get" : File.Exists("/usr/bin/sudo") ? "sudo" : null;
            if (exe is null || !File.Exists("/usr/bin/apt-get"))
                throw new InvalidOperationException($"the 9P server diod is not installed and apt-get cannot install it here; run: {hint}");
            var prefix = root ? Array.Empty<string>() : new[] { "-n", "apt-get" };
            string output = Run(exe, prefix.Concat(new[] { "-q", "update" }));
            output += Run(exe, prefix.Concat(new[] { "-q", "install", "-y", "--no-install-recommends", "diod" }));
            return DiodProcess.Find() ?? throw new InvalidOperationException($"apt-get did not install diod; run: {hint}\n{output}");
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
        _process.Dispose();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
