using System.Diagnostics;

namespace Libra.Tests.Probes;

// The published probes, built once per test run by the repository's own entry point
// (`build.ps1 probes`, which does nothing when they are up to date). LIBRA_PROBES_DIR points at
// already-built probes instead.
public static class ProbeArtifacts
{
    static readonly Lazy<string> directory = new(Prepare);

    public static string Directory => directory.Value;

    public static string PathOf(ProbeCase probe) => Path.Combine(Directory, probe.Binary);

    static string Prepare()
    {
        string? given = Environment.GetEnvironmentVariable("LIBRA_PROBES_DIR");
        if (!string.IsNullOrEmpty(given)) return given;
        string root = ProbeCatalog.RepositoryRoot;
        var result = ProbeProcess.Run("dotnet", ["pwsh", "-NoProfile", Path.Combine(root, "build.ps1"), "probes"], null, root, TimeSpan.FromMinutes(15));
        if (result.ExitStatus != 0)
            throw new InvalidOperationException($"build.ps1 probes failed ({result.ExitStatus}):\n{result.Stdout}\n{result.Stderr}");
        return Path.Combine(root, "artifacts/probes");
    }
}

public sealed record ProbeResult(int ExitStatus, string Stdout, string Stderr, TimeSpan Elapsed)
{
    public override string ToString() => $"exit status {ExitStatus} after {Elapsed.TotalMilliseconds:0} ms\n--- stdout\n{Stdout}--- stderr\n{Stderr}";
}

public static class ProbeProcess
{
    // Runs a probe natively with exactly the catalog's arguments and environment (a probe that works
    // in a directory gets `directory`, or a fresh temp dir, as its first argument).
    public static ProbeResult Run(ProbeCase probe, TimeSpan? limit = null, string? directory = null)
    {
        IEnumerable<string> args = probe.Args;
        if (probe.WorksInDirectory) args = args.Prepend(directory ?? WorkDirectory.Create().Path);
        return Run(ProbeArtifacts.PathOf(probe), args, probe.Environment, ProbeArtifacts.Directory, limit ?? TimeSpan.FromSeconds(60));
    }

    // Runs a program, collecting stdout and stderr apart. With an environment, the child gets only
    // that environment; without, it inherits this process's.
    public static ProbeResult Run(string exe, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment, string cwd, TimeSpan limit)
    {
        var psi = new ProcessStartInfo(exe)
        {
            WorkingDirectory = cwd,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (environment != null)
        {
            psi.Environment.Clear();
            foreach (var (key, value) in environment) psi.Environment[key] = value;
        }
        var watch = Stopwatch.StartNew();
        using var process = Process.Start(psi)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            throw new TimeoutException($"{exe} did not finish within {limit}:\n{stdout.Result}\n{stderr.Result}");
        }
        process.WaitForExit();
        return new ProbeResult(process.ExitCode, stdout.Result, stderr.Result, watch.Elapsed);
    }
}

// A fresh directory under the temp dir for a probe to work in, and what it holds afterwards.
public sealed class WorkDirectory
{
    public string Path { get; }

    private WorkDirectory(string path) => Path = path;

    public static WorkDirectory Create()
    {
        string path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "libra-work-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(path);
        return new WorkDirectory(path);
    }

    // Every entry below the directory: relative path, kind, permission bits, size and a content
    // hash, sorted, one per line.
    public string Tree()
    {
        var lines = new List<string>();
        foreach (var entry in new DirectoryInfo(Path).EnumerateFileSystemInfos("*", SearchOption.AllDirectories))
        {
            string relative = System.IO.Path.GetRelativePath(Path, entry.FullName);
            string mode = Convert.ToString((int)entry.UnixFileMode, 8);
            if (entry is FileInfo file)
                lines.Add($"{relative} file {mode} {file.Length} {Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(file.FullName)))[..16]}");
            else lines.Add($"{relative} dir {mode}");
        }
        lines.Sort(StringComparer.Ordinal);
        return string.Join("\n", lines);
    }

    public void Delete()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
