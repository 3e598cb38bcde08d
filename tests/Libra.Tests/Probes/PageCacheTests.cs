using System.Text.RegularExpressions;
using Libra.Qemu;
using Libra.Tests.Boot;
using Xunit;

namespace Libra.Tests.Probes;

// The page cache (Shims/PageCache.cs): a file on a read-only share read a second time on the same
// descriptor (pread, then a file mapping) comes from the cache, with the same bytes, and costs the
// server nothing more, over QEMU's 9P server and over diod.
[Collection("qemu")]
public class PageCacheTests
{
    // 16 whole 64 KiB blocks and a short 17th.
    const int FileSize = 16 * 65536 + 123;
    const int Blocks = 17;

    static byte[] Data()
    {
        var data = new byte[FileSize];
        new Random(10).NextBytes(data);
        return data;
    }

    static string Fnv(byte[] data)
    {
        ulong hash = 1469598103934665603;
        foreach (byte b in data) hash = (hash ^ b) * 1099511628211;
        return hash.ToString("x16");
    }

    // The counters the exit report gives: page cache hits and misses, and the requests the server got.
    sealed record Run(string Stdout, long Hits, long Misses, long Requests);

    static async Task<Run> ReadAsync(string mode, FileServer server, string kernelOptions = "")
    {
        WorkDirectory share = WorkDirectory.Create();
        try
        {
            File.WriteAllBytes(Path.Combine(share.Path, "data.bin"), Data());
            ProbeCase probe = ProbeCatalog.Get("vfs") with { Args = [mode], WorksInDirectory = true, FileServer = server };
            BootResult result = await ProbeOnLibra.RunAsync(probe, kernelOptions: kernelOptions, directory: share, readOnlyShare: true);
            Assert.True(result.GuestStatus == 0, result.Output + "\n" + result.Stderr);
            Match cache = Regex.Match(result.Output, @"page cache (\d+) hits, (\d+) misses");
            // virtio-9p counts its requests; over diod each request is one write to the port.
            Match requests = server == FileServer.Qemu
                ? Regex.Match(result.Output, @"(\d+) virtio-9p requests")
                : Regex.Match(result.Output, @"'libra\.9p' \d+ bytes in, \d+ bytes out in (\d+) writes");
            Assert.True(requests.Success, result.Output);
            return new Run(result.Stdout, cache.Success ? long.Parse(cache.Groups[1].Value) : 0, cache.Success ? long.Parse(cache.Groups[2].Value) : 0,
                long.Parse(requests.Groups[1].Value));
        }
        finally { share.Delete(); }
    }

    [Theory]
    [InlineData(FileServer.Qemu)]
    [InlineData(FileServer.Diod)]
    public async Task A_file_on_a_read_only_share_read_again_comes_from_the_cache_with_the_same_bytes(FileServer server)
    {
        string hash = Fnv(Data());
        Run once = await ReadAsync("--read-once", server);
        Run twice = await ReadAsync("--read-twice", server);
        Assert.Equal($"read: {FileSize} bytes, fnv {hash}\n", once.Stdout);
        Assert.Equal($"read: {FileSize} bytes, fnv {hash}\npread: {FileSize} bytes, fnv {hash}\nmmap: {FileSize} bytes, fnv {hash}\n", twice.Stdout);
        // Each block fetched once, in the first pass; the second pass is all hits and sends nothing.
        Assert.Equal(Blocks, once.Misses);
        Assert.Equal(Blocks, twice.Misses);
        Assert.True(twice.Hits > once.Hits, $"hits: {once.Hits} reading once, {twice.Hits} reading twice");
        Assert.Equal(once.Requests, twice.Requests);
    }

    // libra.page_cache=0: the same bytes, each read asks the server again.
    [Fact]
    public async Task Without_the_cache_the_second_read_goes_to_the_server_again()
    {
        Run once = await ReadAsync("--read-once", FileServer.Qemu, "libra.page_cache=0");
        Run twice = await ReadAsync("--read-twice", FileServer.Qemu, "libra.page_cache=0");
        Assert.Equal(0, twice.Hits + twice.Misses);
        Assert.Equal(3, twice.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.True(twice.Requests > once.Requests + Blocks, $"requests: {once.Requests} reading once, {twice.Requests} reading twice");
    }
}
