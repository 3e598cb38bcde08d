using Libra.Qemu;
using Libra.Tests.Probes;
using Libra.Tests.Side;
using Xunit;
using Xunit.Abstractions;

namespace Libra.Tests.Boot;

// The kernel's state dump (LibraKernel/Diagnostics/StateDump.cs): an NMI injected through QEMU's
// monitor prints every thread with the call it is blocked in, every descriptor with its readiness,
// the epoll instances and the Side link's sockets, and the application runs on. BootRun asks for
// one before it kills a boot that timed out, so a hang in CI shows where everything waited.
[Collection("qemu")]
public class StateDumpTests(ITestOutputHelper output)
{
    private const int GuestPort = 5642;

    [Fact]
    public async Task A_state_dump_names_each_thread_s_blocking_call_and_each_socket_and_the_application_runs_on()
    {
        string binary = Path.Combine(ProbeArtifacts.Directory, "kestrel");
        int hostPort = SideGuest.FreePort();
        var machine = new QemuMachine
        {
            KernelImage = LibraBoot.KernelImage,
            Memory = "512M",
            InitialRamDisk = binary,
            Network = new NetworkOptions([$"{hostPort}:{GuestPort}"], Outbound: false),
            CommandLine = AppCommandLine.Build("", binary, [], [GuestPort.ToString()], false),
        };
        var started = new TaskCompletionSource<Task<BootResult>>();
        var boot = BootRun.RunAsync(machine, TimeSpan.FromMinutes(4), whileRunning: async channels =>
        {
            Task<BootResult> self = await started.Task;
            using (await GuestListener.ConnectWhenListening(hostPort, self, TimeSpan.FromMinutes(3))) { }
            // One answer first: the Side accepts for a listener as soon as it listens, before Kestrel's
            // first accept has put it in epoll, and the dump is to show it there.
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{hostPort}") };
            Assert.Equal("hello from Kestrel", (await http.GetStringAsync("/hello")).Trim());
            Assert.True(await channels.DumpStateAsync(TimeSpan.FromSeconds(10)), "QEMU's monitor did not take inject-nmi");
            await Task.Delay(TimeSpan.FromSeconds(2));
            // Still running: it answers, then quits.
            Assert.Equal("hello from Kestrel", (await http.GetStringAsync("/hello")).Trim());
            try { await http.GetStringAsync("/quit"); } catch (HttpRequestException) { }
        });
        started.SetResult(boot);
        BootResult result = await boot;
        output.WriteLine(result.Output);

        Assert.True(result.GuestStatus == 0, result.Output + "\n" + result.Stderr);
        string dump = string.Join("\n", result.Lines.Select(l => l.Text).Where(l => l.Contains("dump: ")));
        Assert.Matches(@"dump: thread 1 'kestrel' (running|runnable|blocked in \w+)", dump);
        // The runtime's threads idle in their calls (one may be between two of them at the instant).
        Assert.Matches(@"dump: thread \d+ '\.NET (Sockets|Finalizer)' blocked in (epoll_wait|futex)", dump);
        Assert.Matches(@"dump: fd \d+ socket non-blocking ready 0x[0-9a-f]+, has waiters, watched by epoll, inet stream listening side id \d+", dump);
        Assert.Matches(@"dump:   epoll: \d+ item\(s\), \d+ on the ready list", dump);
        Assert.Matches(@"dump: side link up, .*; \d+ socket\(s\)", dump);
        Assert.Matches(@"dump:   side socket \d+ listening ready 0x[0-9a-f]+", dump);
        Assert.Contains("dump: end", dump);
    }
}
