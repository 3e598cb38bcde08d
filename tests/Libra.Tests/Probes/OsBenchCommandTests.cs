using System.Text.Json;
using Xunit;
using Xunit.Abstractions;

namespace Libra.Tests.Probes;

// `build.ps1 osbench -Smoke` end to end (issue 12), so the command never rots: the probe natively, in
// the Linux guest over 9P with cache=none and cache=loose, and on Libra, one report with every row for
// each target that ran. A target that cannot run here must say why. Shapes only, never speed.
[Collection("qemu")]
public class OsBenchCommandTests(ITestOutputHelper output)
{
    static readonly string[] Rows =
    [
        "getppid", "clock_gettime_monotonic", "gettimeofday", "sched_yield", "futex_pingpong_round_trip", "pipe_pingpong_round_trip",
        "eventfd_pingpong_round_trip", "thread_create_join", "futex_wake_to_run_spinning_waker", "anon_page_fault_4k", "mmap_munmap_64k",
        "nanosleep_1ms_achieved", "nanosleep_100us_achieved", "file_stat", "file_open_read_4k_close", "file_write_sequential",
        "file_read_sequential", "tcp_loopback_pingpong_round_trip", "published_port_pingpong_round_trip",
        "task_delay_1ms_achieved",        // osbench-dotnet, after osbench
    ];

    [Fact]
    public void Osbench_smoke_reports_every_row_for_native_both_Linux_guests_and_Libra()
    {
        string results = Path.Combine(Path.GetTempPath(), "libra-osbench-smoke-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            string root = ProbeCatalog.RepositoryRoot;
            ProbeResult run = ProbeProcess.Run("dotnet", ["pwsh", Path.Combine(root, "build.ps1"), "osbench", "-Smoke", "-Results", results], null, root,
                TimeSpan.FromMinutes(10));
            output.WriteLine(run.Stdout);
            Assert.True(run.ExitStatus == 0, run.Stdout + run.Stderr);
            var report = JsonDocument.Parse(File.ReadAllText(Directory.GetFiles(results, "osbench-*-smoke.json").Single())).RootElement;
            Assert.Single(Directory.GetFiles(results, "osbench-*-smoke.md"));
            Assert.Single(Directory.GetFiles(results, "osbench-*-smoke.png"));

            var targets = report.GetProperty("targets").EnumerateArray().ToList();
            Assert.Equal(new[] { "libra", "linux-guest-9p-loose", "linux-guest-9p-none", "native" },
                targets.Select(t => t.GetProperty("name").GetString()!).Order(StringComparer.Ordinal));
            var ran = new List<string>();
            foreach (var t in targets)
            {
                string name = t.GetProperty("name").GetString()!;
                if (t.TryGetProperty("skipped", out var reason))
                {
                    Assert.False(string.IsNullOrWhiteSpace(reason.GetString()), $"{name} skipped without a reason");
                    output.WriteLine($"{name} skipped: {reason.GetString()}");
                }
                else ran.Add(name);
            }
            // Native and Libra can always run where the suite runs (it builds the kernel).
            Assert.Contains("native", ran);
            Assert.Contains("libra", ran);

            var runs = report.GetProperty("runs").EnumerateArray().ToList();
            Assert.Equal(ran.Order(), runs.Select(r => r.GetProperty("target").GetString()!).Order());
            foreach (var r in runs)
            {
                var rows = r.GetProperty("rows").EnumerateArray().ToDictionary(x => x.GetProperty("row").GetString()!);
                Assert.Equal(Rows, rows.Keys);
                foreach (var row in rows.Values)
                {
                    Assert.True(row.GetProperty("samples").GetInt32() > 0);
                    Assert.True(row.GetProperty("medianNs").GetDouble() > 0);
                    Assert.True(row.GetProperty("p99Ns").GetDouble() >= row.GetProperty("medianNs").GetDouble());
                }
                // Sleeps are never early, on any target; the file rows say how much they moved.
                Assert.True(rows["nanosleep_1ms_achieved"].GetProperty("medianNs").GetDouble() >= 1_000_000);
                Assert.True(rows["nanosleep_100us_achieved"].GetProperty("medianNs").GetDouble() >= 100_000);
                Assert.Equal(4L * 1024 * 1024, rows["file_read_sequential"].GetProperty("bytes").GetInt64());
            }
            Assert.Empty(report.GetProperty("failures").EnumerateArray());

            // Each row has Libra's ratio to the Linux guest (cache=none) when the guest ran.
            if (ran.Contains("linux-guest-9p-none"))
                foreach (var row in report.GetProperty("summary").EnumerateArray())
                    Assert.True(row.GetProperty("libraVsGuestNone").GetProperty("median").GetDouble() > 0, row.ToString());
        }
        finally
        {
            if (Directory.Exists(results)) Directory.Delete(results, recursive: true);
        }
    }
}
