using System.Text.RegularExpressions;
using Libra.Qemu;
using Libra.Tests.Boot;
using Xunit;

namespace Libra.Tests.Probes;

// What only Libra's own limits show: the faults probe's pipes run out of kernel memory before they
// run out of descriptors in a small machine, and the kernel's exit report says where its heap stood.
[Collection("qemu")]
public class ResourceLimitTests
{
    // 2,046 pipes of 64 KiB do not fit in 96 MiB: the pipe that does not fit gets ENFILE (as Linux's
    // create_pipe_files), not a kernel panic; closing them all gives every byte back.
    [Fact]
    public Task Pipes_until_the_kernel_heap_runs_out_give_ENFILE_and_the_heap_returns_to_where_it_started() =>
        UntilTheHeapRunsOut("faults-pipes");

    // 2,046 unix socketpairs (two 64 KiB rings each) do not fit either: socketpair answers ENOMEM or
    // ENFILE at the pair that does not fit, what it had made goes again, and closing them all gives
    // every byte back.
    [Fact]
    public Task Socketpairs_until_the_kernel_heap_runs_out_give_an_errno_and_the_heap_returns_to_where_it_started() =>
        UntilTheHeapRunsOut("faults-socketpairs");

    // With one kernel heap allocation in four failing on purpose (libra.fail_alloc=4, as Linux's
    // failslab), each call of the churn either works or answers a memory errno (ENOMEM, ENOSPC,
    // ENFILE, EAGAIN, ENOLCK, ENOBUFS), what worked did what it should, and the kernel keeps no more
    // heap at exit than after the same run without failures: no error path leaks.
    [Fact]
    public async Task Failing_kernel_allocations_give_memory_errnos_and_leak_nothing()
    {
        ProbeCase probe = ProbeCatalog.Get("faults-churn");
        BootResult plain = await ProbeOnLibra.RunAsync(probe);
        BootResult failing = await ProbeOnLibra.RunAsync(probe, kernelOptions: "libra.fail_alloc=4");
        foreach (BootResult result in new[] { plain, failing })
        {
            string context = $"kernel log:\n{result.Output}\n--- stderr\n{result.Stderr}";
            Assert.DoesNotContain("PANIC", result.Output);
            Assert.True(ProbeCatalog.ExpectedStdout(probe) == result.Stdout, $"stdout:\n{result.Stdout}\n{context}");
        }
        Match injected = Regex.Match(failing.Output, @"; (\d+) allocations failed by libra.fail_alloc");
        Assert.True(injected.Success && long.Parse(injected.Groups[1].Value) > 500, "too few allocations failed on purpose\n" + failing.Output);
        long plainAtExit = HeapAtExit(plain), failingAtExit = HeapAtExit(failing);
        Assert.True(failingAtExit <= plainAtExit, $"the kernel heap holds {failingAtExit} KiB at exit with failing allocations, {plainAtExit} KiB without\n{failing.Output}");
    }

    private static long HeapAtExit(BootResult result)
    {
        Match heap = Regex.Match(result.Output, @"kernel heap: (\d+) KiB in use at exit");
        Assert.True(heap.Success, "no kernel heap line in the exit report\n" + result.Output);
        return long.Parse(heap.Groups[1].Value);
    }

    private static async Task UntilTheHeapRunsOut(string caseName)
    {
        ProbeCase probe = ProbeCatalog.Get(caseName);
        BootResult result = await ProbeOnLibra.RunAsync(probe, memory: "96M");
        string context = $"kernel log:\n{result.Output}\n--- stderr\n{result.Stderr}";
        Assert.DoesNotContain("PANIC", result.Output);
        Assert.True(ProbeCatalog.ExpectedStdout(probe) == result.Stdout, $"stdout:\n{result.Stdout}\n{context}");
        Match heap = Regex.Match(result.Output, @"kernel heap: (\d+) KiB in use at exit, (\d+) KiB when the application started, peak (\d+) KiB");
        Assert.True(heap.Success, "no kernel heap line in the exit report\n" + context);
        long atExit = long.Parse(heap.Groups[1].Value), atStart = long.Parse(heap.Groups[2].Value), peak = long.Parse(heap.Groups[3].Value);
        Assert.True(peak > 64 * 1024, $"the {probe.Args[0]} never filled the heap (peak {peak} KiB)\n" + context);
        Assert.True(atExit <= atStart, $"the kernel heap holds {atExit - atStart} KiB more at exit than at the start\n" + context);
    }
}
