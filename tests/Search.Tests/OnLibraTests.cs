using Libra.Qemu;
using Xunit;

namespace Libra.Search.Tests;

// The search service's file work on Libra: the very same static binary indexes the real corpus with
// Lucene.Net in a directory exported over 9P. The index it writes must describe the corpus exactly as
// the native one does, which the query set derived from its term statistics shows byte for byte.
public sealed class OnLibraTests
{
    [Fact]
    public async Task Index_built_on_Libra_over_9P_yields_the_same_query_set_as_the_native_index()
    {
        var artifacts = Artifacts.Shared.Value;
        string work = Path.Combine(Path.GetTempPath(), "libra-search-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            Directory.CreateDirectory(work);
            CopyDirectory(artifacts.Corpus, Path.Combine(work, "corpus"));
            var machine = new QemuMachine
            {
                KernelImage = artifacts.LibraKernel, Memory = "1G", InitialRamDisk = artifacts.Binary, SharedDirectory = work,
                CommandLine = AppCommandLine.Build("", artifacts.Binary, [], ["index", "--corpus", "/corpus", "--out", "/index"], false),
            };
            BootResult libra = await BootRun.RunAsync(machine, TimeSpan.FromMinutes(5));
            Assert.True(libra.GuestStatus == 0, $"indexing on Libra failed ({libra.GuestStatus}):\n{libra.Output}\n{libra.Stderr}");
            Assert.Contains("index: done: 14396 documents", libra.Stdout + libra.Stderr);

            string fromLibra = Path.Combine(work, "libra.tsv"), fromNative = Path.Combine(work, "native.tsv");
            var (code1, out1) = Run.Process(artifacts.Binary, ["queries", "--index", Path.Combine(work, "index"), "--out", fromLibra], work, TimeSpan.FromMinutes(2));
            var (code2, out2) = Run.Process(artifacts.Binary, ["queries", "--index", artifacts.Index, "--out", fromNative], work, TimeSpan.FromMinutes(2));
            Assert.True(code1 == 0, out1);
            Assert.True(code2 == 0, out2);
            Assert.Equal(File.ReadAllText(fromNative), File.ReadAllText(fromLibra));
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }

    static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        foreach (string dir in Directory.GetDirectories(from)) CopyDirectory(dir, Path.Combine(to, Path.GetFileName(dir)));
    }
}
