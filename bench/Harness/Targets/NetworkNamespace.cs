using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Libra.Bench.Targets;

// A network namespace the bench creates for one guest and removes after it (linux-guest-tap): it holds
// a tap device with the host side's address on a private /30, QEMU is started inside it (so it opens
// the tap there), and the load generator's sockets are made inside it by a thread that joins it with
// setns(2) (a network namespace is per thread, and a socket keeps the namespace it was made in). The
// only traffic is between the tap's host side and the guest; nothing is added to the host's own
// namespace. Names carry the harness's pid, so concurrent runs never collide, and a later run removes
// what a killed one left behind.
public sealed partial class NetworkNamespace : IDisposable
{
    public const string Tap = "tap0";
    public const string HostAddress = "10.99.0.1";
    public const string GuestAddress = "10.99.0.2";
    public const int PrefixLength = 30;

    const string Prefix = "libra-bench-";
    const string Named = "/run/netns";   // where `ip netns add` mounts a namespace by name
    const int CLONE_NEWNET = 0x40000000;  // setns(2) nstype

    static int created;
    static readonly List<NetworkNamespace> Live = [];

    public string Name { get; }
    bool removed;

    NetworkNamespace(string name) => Name = name;

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int SetNs(int fd, int nstype);

    // Why no namespace with a tap can be made here, or null when it can be tried.
    public static string? WhyUnavailable()
    {
        if (!Environment.IsPrivilegedProcess) return "needs root (it creates a network namespace and a tap device)";
        if (!File.Exists("/dev/net/tun")) return "no /dev/net/tun (the tun driver is not available)";
        if (FindIp() == null) return "no `ip` command (install iproute2)";
        return null;
    }

    // Creates the namespace, its loopback and its tap at HostAddress/PrefixLength, or throws
    // TargetUnavailableException with ip's own words when this machine refuses.
    public static NetworkNamespace Create()
    {
        if (WhyUnavailable() is { } why) throw new TargetUnavailableException(why);
        RemoveLeftovers();
        var ns = new NetworkNamespace($"{Prefix}{Environment.ProcessId}-{Interlocked.Increment(ref created)}");
        Ip("netns", "add", ns.Name);
        lock (Live)
        {
            if (Live.Count == 0) AppDomain.CurrentDomain.ProcessExit += (_, _) => RemoveAll();
            Live.Add(ns);
        }
        try
        {
            Ip("-n", ns.Name, "link", "set", "lo", "up");
            Ip("-n", ns.Name, "tuntap", "add", "dev", Tap, "mode", "tap");
            Ip("-n", ns.Name, "addr", "add", $"{HostAddress}/{PrefixLength}", "dev", Tap);
            Ip("-n", ns.Name, "link", "set", Tap, "up");
        }
        catch { ns.Dispose(); throw; }
        return ns;
    }

    // `exe args` run inside the namespace (ip netns exec execs it, so the process is exe itself).
    public (string Exe, IEnumerable<string> Args) Inside(string exe, IEnumerable<string> args) =>
        (FindIp()!, new[] { "netns", "exec", Name, exe }.Concat(args));

    // A TCP socket made inside the namespace: a fresh thread joins it and makes the socket there.
    public Socket NewTcpSocket()
    {
        Socket? socket = null;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var handle = File.OpenHandle(Path.Combine(Named, Name), FileMode.Open, FileAccess.Read);
                if (SetNs((int)handle.DangerousGetHandle(), CLONE_NEWNET) != 0)
                    throw new IOException($"setns({Name}) failed: errno {Marshal.GetLastPInvokeError()}");
                socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            }
            catch (Exception e) { failure = e; }
        }) { IsBackground = true, Name = "netns " + Name };
        thread.Start();
        thread.Join();
        return socket ?? throw new IOException($"no socket in network namespace {Name}", failure);
    }

    public void Dispose()
    {
        lock (Live)
        {
            if (removed) return;
            removed = true;
            Live.Remove(this);
        }
        // The tap goes with the namespace once QEMU, its last user, has exited.
        TryIp("netns", "del", Name);
    }

    static void RemoveAll()
    {
        foreach (var ns in Live.ToArray()) ns.Dispose();
    }

    // Namespaces of earlier harnesses that were killed before removing theirs.
    static void RemoveLeftovers()
    {
        if (!Directory.Exists(Named)) return;
        foreach (string path in Directory.GetFiles(Named, Prefix + "*"))
        {
            string[] parts = Path.GetFileName(path)[Prefix.Length..].Split('-');
            if (int.TryParse(parts[0], out int pid) && pid != Environment.ProcessId && !Directory.Exists($"/proc/{pid}"))
                TryIp("netns", "del", Path.GetFileName(path));
        }
    }

    static string? FindIp() =>
        new[] { "/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip" }.FirstOrDefault(File.Exists);

    static void Ip(params string[] args)
    {
        var (code, output) = RunIp(args);
        if (code != 0) throw new TargetUnavailableException($"`ip {string.Join(' ', args)}` failed: {output.Trim()}");
    }

    static void TryIp(params string[] args) => RunIp(args);

    static (int Code, string Output) RunIp(string[] args)
    {
        var psi = new ProcessStartInfo(FindIp() ?? "ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string output = p.StandardError.ReadToEnd() + p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output);
    }
}
