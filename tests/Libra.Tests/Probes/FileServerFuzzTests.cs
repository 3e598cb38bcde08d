using Libra.Qemu;
using Libra.Tests.Boot;
using Xunit;
using Xunit.Abstractions;

namespace Libra.Tests.Probes;

// The 9P reply fuzzer (build.ps1 fuzz9p, docs/robustness.md "File-server fuzzing"): its workload
// `fileloop` on a share, first with honest replies, then with half of diod's replies mutated.
[Collection("qemu")]
public class FileServerFuzzTests(ITestOutputHelper output)
{
    static string FileLoop => Path.Combine(ProbeArtifacts.Directory, "fileloop");

    [Theory]
    [InlineData(FileServer.Qemu)]
    [InlineData(FileServer.Diod)]
    public async Task Two_threads_making_file_calls_at_once_each_get_right_answers(FileServer server)
    {
        // The path cache once handed both threads the same cached fid and clunked it under one of
        // them (a rename's Clear, an eviction): EEXIST, EINVAL, wrong sizes and leaked fids.
        WorkDirectory export = WorkDirectory.Create();
        try
        {
            var machine = new QemuMachine
            {
                KernelImage = LibraBoot.KernelImage, Memory = "512M", InitialRamDisk = FileLoop, SharedDirectory = export.Path, FileServer = server,
                CommandLine = AppCommandLine.Build("", FileLoop, [], ["/", "1500", "2"], false),
            };
            BootResult result = await BootRun.RunAsync(machine, LibraBoot.Timeout);
            Assert.True(result.GuestStatus == 0, result.Output + "\n" + result.Stderr);
            Assert.Matches(@"fileloop: ops (\d+) ok \1 wrong 0 failed 0; errnos:; stopped early: 0 thread\(s\)", result.Stdout);
            Assert.Contains("9p: 0 fid(s) left open at exit", result.Output);
        }
        finally { export.Delete(); }
    }

    [Fact]
    public async Task Twenty_thousand_replies_half_of_them_mutated_neither_panic_nor_hang_the_kernel()
    {
        var run = new NinePFuzzRun { KernelImage = LibraBoot.KernelImage, Workload = FileLoop, Replies = 20_000, Seed = 1, Operations = 4000 };
        NinePFuzzRun.Outcome outcome = await run.RunAsync(output.WriteLine);
        foreach (string line in NinePFuzzRun.Describe(outcome)) output.WriteLine(line);
        Assert.Equal(0, outcome.Panics);
        Assert.Equal(0, outcome.Hangs);
        Assert.Equal(0, outcome.Failures);
        Assert.True(outcome.Figures.Mutated > 5000, NinePFuzzRun.Describe(outcome).First());
        // Calls whose replies were spared still work.
        Assert.True(outcome.Succeeded > 100, string.Join("\n", NinePFuzzRun.Describe(outcome)));
    }
}
