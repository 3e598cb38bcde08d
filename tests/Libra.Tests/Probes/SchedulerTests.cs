using System.Text.Json;
using System.Text.RegularExpressions;
using Libra.Qemu;
using Xunit;
using Xunit.Abstractions;

namespace Libra.Tests.Probes;

// The tickless one-shot timer and prompt wake-ups (LibraKernel/Threads/Scheduler.cs), pinned by what
// the kernel counts in its exit log ("scheduler: N switches, N preemptions at the end of a slice,
// N for a woken thread, N timer interrupts"), never by how long anything took.
[Collection("qemu")]
public partial class SchedulerTests(ITestOutputHelper output)
{
    [GeneratedRegex(@"scheduler: (\d+) switches, (\d+) preemptions at the end of a slice, (\d+) for a woken thread, (\d+) timer interrupts")]
    private static partial Regex SchedulerLine();

    private static (long Switches, long SlicePreemptions, long WakePreemptions, long TimerInterrupts) Counters(BootResult result)
    {
        Match match = SchedulerLine().Match(result.Output);
        Assert.True(match.Success, "no scheduler line in the exit log:\n" + result.Output);
        return (long.Parse(match.Groups[1].Value), long.Parse(match.Groups[2].Value), long.Parse(match.Groups[3].Value), long.Parse(match.Groups[4].Value));
    }

    [Fact]
    public async Task One_second_of_sleep_takes_a_handful_of_timer_interrupts_not_a_hundred_ticks()
    {
        var probe = ProbeCatalog.Get("osbench-check") with { Args = ["--sleep", "1000"] };
        BootResult result = await ProbeOnLibra.RunAsync(probe);
        output.WriteLine(result.Output);
        Assert.Equal(0, result.GuestStatus);
        Assert.Equal("slept 1000 ms\n", result.Stdout);
        // A 100 Hz tick took about 104 here; tickless, the one sleep needs one interrupt (the timer is
        // armed at most 1 s ahead, so two at worst), plus whatever the runtime's start-up asks for.
        var counters = Counters(result);
        Assert.InRange(counters.TimerInterrupts, 1, 10);
    }

    [Fact]
    public async Task A_thread_woken_while_another_runs_gets_the_CPU_at_the_wakers_next_exit_to_ring_3()
    {
        // --check runs futex ping-pongs and 20 wake-ups whose waker spins in ring 3 afterwards until the
        // woken thread has run: each of those gives way for the woken thread, never waiting for a slice.
        BootResult result = await ProbeOnLibra.RunAsync(ProbeCatalog.Get("osbench-check"));
        output.WriteLine(result.Output);
        Assert.Equal(0, result.GuestStatus);
        Assert.Equal(ProbeCatalog.ExpectedStdout(ProbeCatalog.Get("osbench-check")), result.Stdout);
        var counters = Counters(result);
        Assert.True(counters.WakePreemptions >= 20, $"{counters.WakePreemptions} preemptions for a woken thread");
        Assert.True(counters.SlicePreemptions >= 1, "two spinning threads must be preempted at the end of their slices");
    }

    [Fact]
    public async Task Osbench_runs_to_completion_on_Libra_with_a_JSON_row_per_primitive()
    {
        var probe = ProbeCatalog.Get("osbench-check") with { Args = ["--smoke"] };
        BootResult result = await ProbeOnLibra.RunAsync(probe);
        output.WriteLine(result.Stdout);
        Assert.True(result.GuestStatus == 0, result.Output + "\n" + result.Stderr);
        var rows = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement).ToList();
        Assert.Equal(
            ["getppid", "clock_gettime_monotonic", "gettimeofday", "sched_yield", "futex_pingpong_round_trip", "pipe_pingpong_round_trip",
             "eventfd_pingpong_round_trip", "thread_create_join", "futex_wake_to_run_spinning_waker", "anon_page_fault_4k", "mmap_munmap_64k",
             "nanosleep_1ms_achieved", "nanosleep_100us_achieved"],
            rows.Select(r => r.GetProperty("row").GetString()));
        foreach (var row in rows)
        {
            Assert.True(row.GetProperty("samples").GetInt32() > 0);
            Assert.True(row.GetProperty("median_ns").GetDouble() > 0);
            Assert.True(row.GetProperty("p99_ns").GetDouble() >= row.GetProperty("median_ns").GetDouble());
        }
        // Sleeps are never early, whatever the timer's resolution.
        double Median(string row) => rows.Single(r => r.GetProperty("row").GetString() == row).GetProperty("median_ns").GetDouble();
        Assert.True(Median("nanosleep_1ms_achieved") >= 1_000_000);
        Assert.True(Median("nanosleep_100us_achieved") >= 100_000);
    }
}
