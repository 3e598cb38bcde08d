using System.Diagnostics;
using Libra.Bench.Targets;
using Xunit;

namespace Libra.Search.Tests;

// What every test needs, built once per run by the repository's own entry point:
// `build.ps1 search -Corpus fortunes -Prepare` publishes the AOT binary (when a source changed),
// fetches and indexes the fortunes corpus and packs the Linux guest's initramfs; all cached in .cache/.
public sealed class Artifacts
{
    public static readonly Lazy<Artifacts> Shared = new(() => new Artifacts());

    public string Root { get; }
    public string Binary => Path.Combine(Root, ".cache/search/bin/search");
    public string Index => Path.Combine(Root, ".cache/search/index-fortunes");
    public string Queries => Path.Combine(Root, ".cache/search/queries-fortunes.tsv");
    public string Initrd => Path.Combine(Root, ".cache/guest/initrd-fortunes.cpio");
    public string Kernel => Directory.GetFiles(Path.Combine(Root, ".cache/guest/kernel/boot"), "vmlinuz-*").Single();
    public string GoldenFile => Path.Combine(Root, "tests/Search.Tests/golden/fortunes-topk.json");
    public string Corpus => Path.Combine(Root, ".cache/corpus/fortunes");
    public string LibraKernel => Environment.GetEnvironmentVariable("LIBRA_KERNEL_IMAGE") ?? Path.Combine(Root, "artifacts/kernel/libra.elf");

    Artifacts()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir != null && !File.Exists(Path.Combine(dir, "build.ps1"))) dir = Path.GetDirectoryName(dir);
        Root = dir ?? throw new InvalidOperationException("cannot find the repository root (build.ps1) above the test binaries");
        var (code, output) = Run.Process("dotnet", ["pwsh", Path.Combine(Root, "build.ps1"), "search", "-Corpus", "fortunes", "-Prepare"], Root,
            TimeSpan.FromMinutes(10));
        if (code != 0) throw new InvalidOperationException($"build.ps1 search -Prepare failed ({code}):\n{output}");
    }

    public TargetSettings Settings() => new()
    {
        Binary = Binary, Index = Index, Kernel = Kernel, Initrd = Initrd, LibraKernel = LibraKernel,
        ServerCores = null, // tests run side by side; no pinning
        Qemu = QemuProfile.Default(1, 2048, LibraKernel),
    };
}

public static class Run
{
    public static (int Code, string Output) Process(string exe, string[] args, string cwd, TimeSpan limit)
    {
        var psi = new ProcessStartInfo(exe) { WorkingDirectory = cwd, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var output = new System.Text.StringBuilder();
        p.OutputDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        if (!p.WaitForExit(limit))
        {
            p.Kill(entireProcessTree: true);
            return (-1, $"timed out after {limit}\n{output}");
        }
        p.WaitForExit();
        return (p.ExitCode, output.ToString());
    }
}

// One running target per fixture, stopped when the fixture is disposed.
public abstract class TargetFixture : IAsyncLifetime
{
    protected abstract string TargetName { get; }
    public RunningTarget Target { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var artifacts = Artifacts.Shared.Value;
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(6));
        Target = await Registry.All[TargetName].StartAsync(artifacts.Settings(), cts.Token);
        Http = Target.Endpoint.NewHttpClient(TimeSpan.FromSeconds(60));
    }

    public async Task DisposeAsync()
    {
        Http?.Dispose();
        if (Target != null) await Target.DisposeAsync();
    }
}

public sealed class NativeFixture : TargetFixture { protected override string TargetName => "native"; }
public sealed class GuestFixture : TargetFixture { protected override string TargetName => "linux-guest"; }
public sealed class LibraFixture : TargetFixture { protected override string TargetName => "libra"; }
