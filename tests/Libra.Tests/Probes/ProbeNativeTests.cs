using Xunit;
using Xunit.Abstractions;

namespace Libra.Tests.Probes;

// The native half of the differential tests: every probe of the catalog run on the host Linux must
// print exactly its expected stdout and exit with its status. The Libra half runs the same catalog
// on the kernel and compares with the same files.
public class ProbeNativeTests(ITestOutputHelper output)
{
    [Theory]
    [MemberData(nameof(ProbeCatalog.Names), MemberType = typeof(ProbeCatalog))]
    public void Probe_prints_its_expected_stdout_and_exits_with_its_status(string name)
    {
        var probe = ProbeCatalog.Get(name);
        var result = ProbeProcess.Run(probe);
        output.WriteLine(result.ToString());
        Assert.Equal(ProbeCatalog.ExpectedStdout(probe), result.Stdout);
        Assert.Equal(probe.ExitStatus, result.ExitStatus);
        foreach (var line in probe.StderrContains) Assert.Contains(line, result.Stderr);
        // No bound on the time taken beyond ProbeProcess's hang guard: tests check behaviour, not
        // wall-clock time (a 5 s bound failed memory and files on a loaded 2-core machine).
    }

    [Theory]
    [MemberData(nameof(ProbeCatalog.Names), MemberType = typeof(ProbeCatalog))]
    public void Probe_output_is_the_same_on_a_second_run(string name)
    {
        var probe = ProbeCatalog.Get(name);
        var first = ProbeProcess.Run(probe);
        var second = ProbeProcess.Run(probe);
        output.WriteLine(first.ToString());
        output.WriteLine(second.ToString());
        Assert.Equal(first.Stdout, second.Stdout);
        Assert.Equal(first.ExitStatus, second.ExitStatus);
    }

    [Fact]
    public void Probes_are_static_executables_hello_pie_is_static_pie()
    {
        foreach (var binary in ProbeCatalog.Binaries)
        {
            var elf = Elf.Read(Path.Combine(ProbeArtifacts.Directory, binary));
            output.WriteLine($"{binary}: {elf.Type}, PT_INTERP {elf.HasInterpreter}, PT_DYNAMIC {elf.HasDynamic}");
            Assert.Equal(binary == "hello-pie" ? Elf.Dyn : Elf.Exec, elf.Type);
            Assert.False(elf.HasInterpreter, $"{binary} asks for a dynamic loader");
        }
    }

    [Fact]
    public void The_catalog_covers_every_published_probe_and_every_expected_file()
    {
        var published = Directory.GetFiles(ProbeArtifacts.Directory).Select(Path.GetFileName)
            .Where(f => !f!.StartsWith('.')).Order().ToArray();
        Assert.Equal(published, ProbeCatalog.Binaries.Concat(ProbeCatalog.DrivenByTheirOwnTests).Concat(ProbeCatalog.Tools).Order().ToArray());
        var expected = Directory.GetFiles(Path.Combine(ProbeCatalog.RepositoryRoot, "tests/Libra.Tests/Probes/expected"), "*.stdout")
            .Select(Path.GetFileNameWithoutExtension).Order().ToArray();
        Assert.Equal(expected, ProbeCatalog.All.Select(c => c.ExpectedStdout).Concat(ProbeCatalog.DrivenByTheirOwnTests).Distinct().Order().ToArray());
        Assert.Equal(ProbeCatalog.All.Count, ProbeCatalog.All.Select(c => c.Name).Distinct().Count());
    }

    [Fact]
    public void Expected_outputs_are_all_ok_lines()
    {
        // No expected file records a failed check.
        foreach (var probe in ProbeCatalog.All)
        {
            string text = ProbeCatalog.ExpectedStdout(probe);
            Assert.DoesNotContain("FAILED", text);
            Assert.EndsWith("\n", text);
        }
    }
}
