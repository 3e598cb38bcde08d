using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit;

namespace Libra.Search.Tests;

// The README's first quick-start command, read out of README.md and run by bash in the repository
// root as a user would type it: it must boot the search service on Libra, answer the query it names
// with the same top hit as the native binary, print it, and stop. Built artifacts (the corpus, the
// AOT binary, the index, the kernel's objects) are reused, so it takes about a minute, not a fresh
// machine's many.
public sealed partial class ReadmeTests(NativeFixture native) : IClassFixture<NativeFixture>
{
    [GeneratedRegex(@"## Quick start.*?```sh\n(?<line>[^\n]*)\n", RegexOptions.Singleline)]
    private static partial Regex FirstQuickStartLine();

    [GeneratedRegex(@"-Query ""(?<query>[^""]+)""")]
    private static partial Regex QueryOption();

    public static string FirstCommand(string readme)
    {
        var m = FirstQuickStartLine().Match(readme.ReplaceLineEndings("\n"));
        Assert.True(m.Success, "README.md has no ```sh block under '## Quick start'");
        string line = m.Groups["line"].Value;
        int comment = line.IndexOf("  #", StringComparison.Ordinal);
        return (comment >= 0 ? line[..comment] : line).Trim();
    }

    [Fact]
    public async Task The_readme_first_command_boots_Libra_and_prints_the_answer_to_its_query()
    {
        var artifacts = Artifacts.Shared.Value;
        string command = FirstCommand(File.ReadAllText(Path.Combine(artifacts.Root, "README.md")));
        Assert.Contains("-Libra", command);
        var q = QueryOption().Match(command);
        Assert.True(q.Success, $"the first command asks no -Query \"...\": {command}");
        string query = q.Groups["query"].Value;

        var (code, output) = Run.Process("bash", ["-c", command], artifacts.Root, TimeSpan.FromMinutes(10));

        Assert.True(code == 0, $"'{command}' exited with {code}:\n{output}");
        Assert.Contains("search: libra answered", output);
        Assert.Contains($"'{query}':", output);
        Assert.Contains("search: stopping libra", output);
        var top = Regex.Match(output, @"^\s+1\.\s+(?<score>[0-9.]+)\s+(?<id>\S+)", RegexOptions.Multiline);
        Assert.True(top.Success, $"no first hit printed:\n{output}");
        var body = JsonDocument.Parse(await native.Http.GetStringAsync($"/search?q={Uri.EscapeDataString(query)}&k=1")).RootElement;
        Assert.Equal(body.GetProperty("hits")[0].GetProperty("id").GetString(), top.Groups["id"].Value);
    }

    // What the same command does when the service cannot start: status 1 and one line that says why
    // in the application's terms (here the search binary's own complaint about a missing index).
    [Fact]
    public void A_query_to_a_service_that_cannot_start_fails_with_one_line_and_status_1()
    {
        var artifacts = Artifacts.Shared.Value;
        string harness = Path.Combine(AppContext.BaseDirectory, "Harness.dll");
        var (code, output) = Run.Process("dotnet", [harness, "serve", "--target", "libra", "--binary", artifacts.Binary,
            "--index", Path.Combine(Path.GetTempPath(), "no-such-index"), "--libra-kernel", artifacts.LibraKernel, "--query", "hello"],
            artifacts.Root, TimeSpan.FromMinutes(6));
        Assert.True(code == 1, $"status {code}:\n{output}");
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string reason = Assert.Single(lines, l => l.StartsWith("search: libra:", StringComparison.Ordinal));
        Assert.Contains("stopped before answering: the application exited with status 2", reason);
        Assert.Contains("no-such-index", reason);
        var log = Regex.Match(reason, @"\(details: (?<path>[^)]+)\)$");
        Assert.True(log.Success, reason);
        Assert.Contains("--- kernel log and stdout", File.ReadAllText(log.Groups["path"].Value));
        File.Delete(log.Groups["path"].Value);
    }
}
