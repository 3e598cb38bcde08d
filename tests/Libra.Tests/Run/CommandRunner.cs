using System.Diagnostics;
using System.Text;
using Libra.Tests.Boot;

namespace Libra.Tests.Run;

public sealed record CommandResult(int ExitStatus, string Stdout, string Stderr)
{
    public override string ToString() => $"exit status {ExitStatus}\n--- stdout\n{Stdout}--- stderr\n{Stderr}";
}

// Runs the repository's entry point (`dotnet pwsh build.ps1 ...`) as a user's shell would: every
// word exactly as given, stdin from `input`.
public static class CommandRunner
{
    public static CommandResult BuildScript(IEnumerable<string> words, byte[]? input = null, TimeSpan? limit = null) =>
        Run("dotnet", ["pwsh", "-NoProfile", Path.Combine(LibraBoot.RepositoryRoot, "build.ps1"), .. words], input, LibraBoot.RepositoryRoot, limit ?? TimeSpan.FromMinutes(5));

    public static CommandResult Run(string exe, IEnumerable<string> args, byte[]? input, string directory, TimeSpan limit)
    {
        var info = new ProcessStartInfo(exe)
        {
            WorkingDirectory = directory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args) info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        var stdout = ReadAllAsync(process.StandardOutput.BaseStream);
        var stderr = ReadAllAsync(process.StandardError.BaseStream);
        if (input is not null) process.StandardInput.BaseStream.Write(input);
        process.StandardInput.Close();
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{exe} {string.Join(' ', args)} did not finish within {limit}");
        }
        process.WaitForExit();
        return new CommandResult(process.ExitCode, Encoding.UTF8.GetString(stdout.Result), Encoding.UTF8.GetString(stderr.Result));
    }

    private static async Task<byte[]> ReadAllAsync(Stream stream)
    {
        var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer);
        return buffer.ToArray();
    }
}
