using Libra.Qemu;
using Libra.Tests.Boot;
using Xunit;

namespace Libra.Tests.Probes;

// The differential suite's Libra half: each catalog probe boots on Libra (under TCG here) with the
// same arguments and environment as natively, and must print the same stdout (the expected file
// the native tests pin) and exit with the same status.
[Collection("qemu")]
public class ProbeLibraTests
{
    // Cases that need what Libra does not offer yet are listed in the catalog's Needs.
    static readonly string[] Offered = [];

    public static IEnumerable<object[]> Cases =>
        ProbeCatalog.All.Where(c => c.Requirements.All(Offered.Contains)).Select(c => new object[] { c.Name });

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Probe_prints_the_same_stdout_and_exit_status_on_Libra_as_natively(string name)
    {
        ProbeCase probe = ProbeCatalog.Get(name);
        BootResult result = await ProbeOnLibra.RunAsync(probe);
        string context = $"kernel log:\n{result.Output}\n--- stderr\n{result.Stderr}";
        Assert.True(ProbeCatalog.ExpectedStdout(probe) == result.Stdout,
            $"stdout differs from expected/{probe.ExpectedStdout}.stdout:\n--- got\n{result.Stdout}\n{context}");
        Assert.True(probe.ExitStatus == result.GuestStatus, $"exit status {result.GuestStatus}, expected {probe.ExitStatus}\n{context}");
        foreach (string line in probe.StderrContains) Assert.Contains(line, result.Stderr);
        Assert.DoesNotContain("PANIC", result.Output);
    }
}

public static class ProbeOnLibra
{
    public static readonly TimeSpan Timeout = TimeSpan.FromMinutes(4);

    public static Task<BootResult> RunAsync(ProbeCase probe, bool traceSyscalls = false)
    {
        string binary = ProbeArtifacts.PathOf(probe);
        var environment = probe.Environment.Select(pair => $"{pair.Key}={pair.Value}");
        var machine = new QemuMachine
        {
            KernelImage = LibraBoot.KernelImage,
            Memory = "1G",
            InitialRamDisk = binary,
            CommandLine = AppCommandLine.Build("", binary, environment, probe.Args, traceSyscalls),
        };
        return BootRun.RunAsync(machine, Timeout);
    }
}
