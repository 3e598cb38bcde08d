using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Libra.Bench.Targets;

// Starting a process (pinned with taskset), finding a free port, and waiting for the first answer.
public static partial class Launch
{
    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int SysKill(int pid, int signal);

    public static void Signal(int pid, int signal) => SysKill(pid, signal);

    // Moves every thread of a running process (and so the threads it starts later) onto `cores`.
    public static void Pin(int pid, string cores)
    {
        if (!File.Exists("/usr/bin/taskset")) return;
        using var p = Process.Start(new ProcessStartInfo("/usr/bin/taskset", ["-a", "-p", "-c", cores, pid.ToString()])
            { RedirectStandardOutput = true, UseShellExecute = false })!;
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
    }

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    public static Process Start(string exe, IEnumerable<string> args, string? cores, TextWriter output,
        IDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo
        {
            FileName = cores != null && File.Exists("/usr/bin/taskset") ? "/usr/bin/taskset" : exe,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (psi.FileName != exe) { psi.ArgumentList.Add("-c"); psi.ArgumentList.Add(cores!); psi.ArgumentList.Add(exe); }
        foreach (string a in args) psi.ArgumentList.Add(a);
        if (env != null) foreach (var (k, v) in env) psi.Environment[k] = v;
        var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {exe}");
        var gate = new object();
        p.OutputDataReceived += (_, e) => { if (e.Data != null) lock (gate) output.WriteLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (gate) output.WriteLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    public static Task<TimeSpan> WaitForFirstAnswerAsync(Process p, int port, Stopwatch started, TimeSpan limit,
        Func<string> describeFailure, CancellationToken ct) =>
        WaitForFirstAnswerAsync(p, ServiceEndpoint.Loopback(port), started, limit, describeFailure, ct);

    // Polls until GET /search answers 200; the time from `started` is the boot-to-first-answer time.
    public static async Task<TimeSpan> WaitForFirstAnswerAsync(Process p, ServiceEndpoint endpoint, Stopwatch started, TimeSpan limit,
        Func<string> describeFailure, CancellationToken ct)
    {
        using var http = endpoint.NewHttpClient(TimeSpan.FromSeconds(5));
        var uri = new Uri(endpoint.BaseUri, "search?q=the&k=1");
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            if (p.HasExited) throw new InvalidOperationException($"the target exited with status {p.ExitCode} before answering\n{describeFailure()}");
            if (started.Elapsed > limit)
            {
                try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                throw new TimeoutException($"no answer at {endpoint.BaseUri} within {limit.TotalSeconds:F0} s\n{describeFailure()}");
            }
            try
            {
                using var r = await http.GetAsync(uri, ct);
                if (r.IsSuccessStatusCode) return started.Elapsed;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested) { }
            await Task.Delay(20, ct);
        }
    }
}
