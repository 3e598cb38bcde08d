using System.Text;
using Libra.Tests.Boot;
using Libra.Tests.Probes;
using Xunit;

namespace Libra.Tests.Run;

// echoargs (echoargs.c beside this file), compiled once per test run with gcc -static.
public sealed class EchoArgsProgram
{
    public string Path { get; }

    public EchoArgsProgram()
    {
        string directory = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "libra-echoargs-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(directory);
        Path = System.IO.Path.Combine(directory, "echoargs");
        string source = System.IO.Path.Combine(LibraBoot.RepositoryRoot, "tests/Libra.Tests/Run/echoargs.c");
        var result = CommandRunner.Run("gcc", ["-static", "-O2", "-o", Path, source], null, directory, TimeSpan.FromMinutes(2));
        if (result.ExitStatus != 0) throw new InvalidOperationException("gcc failed: " + result);
    }
}

// `build.ps1 run` as a user's shell calls it (issue 11): every byte after `--` reaches argv, the
// host's stdin is the application's, and each refusal says why in one line.
[Collection("qemu")]
public class RunCommandTests(EchoArgsProgram echo) : IClassFixture<EchoArgsProgram>
{
    // Words PowerShell used to glob (*), rewrite (-d: lost its colon, -x:y became two words), drop
    // (--%) or that a quoting layer could mangle.
    private static readonly string[] AwkwardWords = ["*", "a b", "", "\"q\"", "$HOME", "-d:", "--%", "ü", "-x:y", "'single'", "back\\slash"];

    private static string Expected(IEnumerable<string> words, byte[] stdin)
    {
        var text = new StringBuilder();
        int i = 1;
        foreach (string word in words)
            text.Append($"arg {i++}:").Append(string.Concat(Encoding.UTF8.GetBytes(word).Select(b => $" {b:x2}"))).Append('\n');
        text.Append(Encoding.UTF8.GetString(stdin));
        text.Append($"stdin: {stdin.Length} bytes, end of file\n");
        return text.ToString();
    }

    [Fact]
    public void Arguments_after_the_double_dash_and_piped_stdin_reach_the_application_byte_for_byte()
    {
        byte[] stdin = Encoding.UTF8.GetBytes("first line\nsecond ü line\n\u00ff\n");
        string native = CommandRunner.Run(echo.Path, AwkwardWords, stdin, System.IO.Path.GetTempPath(), TimeSpan.FromSeconds(30)).Stdout;
        Assert.Equal(Expected(AwkwardWords, stdin), native);
        var result = CommandRunner.BuildScript(["run", "-NoBuild", "-App", echo.Path, "--", .. AwkwardWords], stdin);
        Assert.True(result.ExitStatus == 0, result.ToString());
        Assert.Equal(native, result.Stdout);
    }

    [Fact]
    public void Binary_stdin_with_every_byte_value_arrives_whole_then_end_of_file()
    {
        byte[] stdin = Enumerable.Range(0, 64 * 1024).Select(i => (byte)(i * 7 + i / 256)).ToArray();
        var result = CommandRunner.BuildScript(["run", "-NoBuild", "-App", echo.Path], stdin);
        Assert.True(result.ExitStatus == 0, $"exit status {result.ExitStatus}: {result.Stderr}");
        // stdout is decoded as UTF-8 above; compare the length line and run the bytes natively as well.
        Assert.EndsWith($"stdin: {stdin.Length} bytes, end of file\n", result.Stdout);
        var native = CommandRunner.Run(echo.Path, [], stdin, System.IO.Path.GetTempPath(), TimeSpan.FromSeconds(30));
        Assert.Equal(native.Stdout, result.Stdout);
    }

    [Fact]
    public void Empty_stdin_reads_as_end_of_file_at_once()
    {
        var result = CommandRunner.BuildScript(["run", "-NoBuild", "-App", echo.Path]);
        Assert.True(result.ExitStatus == 0, result.ToString());
        Assert.Equal("stdin: 0 bytes, end of file\n", result.Stdout);
    }

    [Fact]
    public void Trace_syscalls_prints_the_trace_on_stderr_without_verbose_with_paths_and_strings_decoded()
    {
        var result = CommandRunner.BuildScript(["run", "-NoBuild", "-TraceSyscalls", "-App", echo.Path, "--", "x"]);
        Assert.True(result.ExitStatus == 0, result.ToString());
        // As strace -f shows them: paths and the bytes read or written quoted, not their addresses.
        Assert.Contains("[1] readlink(\"/proc/self/exe\", \"/echoargs\", 4096) = 9\n", result.Stderr);
        Assert.Contains("[1] write(1, \"arg 1: 78\\n\", 10) = 10\n", result.Stderr);
        Assert.Contains("[1] read(0, \"\", 4096) = 0\n", result.Stderr);
        Assert.Contains("[1] write(1, \"stdin: 0 bytes, end of file\\n\", 28) = 28\n", result.Stderr);
        Assert.DoesNotContain("libra: [", result.Stderr);
        Assert.Equal("arg 1: 78\nstdin: 0 bytes, end of file\n", result.Stdout);
    }

    [Fact]
    public void The_libra_wrapper_runs_from_another_directory_with_paths_relative_to_it()
    {
        string directory = System.IO.Path.GetDirectoryName(echo.Path)!;
        var result = CommandRunner.Run(System.IO.Path.Combine(LibraBoot.RepositoryRoot, "libra"), ["run", "-NoBuild", "-App", "./echoargs", "--", "-d:", "*"],
            "in\n"u8.ToArray(), directory, TimeSpan.FromMinutes(5));
        Assert.True(result.ExitStatus == 0, result.ToString());
        Assert.Equal("arg 1: 2d 64 3a\narg 2: 2a\nin\nstdin: 3 bytes, end of file\n", result.Stdout);

        // Through a symbolic link to it (as on PATH), with a failure's status and line as without it.
        string link = System.IO.Path.Combine(directory, "bin", "libra");
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(link)!);
        if (!File.Exists(link)) File.CreateSymbolicLink(link, System.IO.Path.Combine(LibraBoot.RepositoryRoot, "libra"));
        var linked = CommandRunner.Run(link, ["run", "-NoBuild", "-App", "./echoargs", "--", "via link"], null, directory, TimeSpan.FromMinutes(5));
        Assert.True(linked.ExitStatus == 0, linked.ToString());
        Assert.Equal("arg 1: 76 69 61 20 6c 69 6e 6b\nstdin: 0 bytes, end of file\n", linked.Stdout);
        var missing = CommandRunner.Run(link, ["run", "-NoBuild", "-App", "./missing"], null, directory, TimeSpan.FromMinutes(5));
        Assert.Equal(2, missing.ExitStatus);
        Assert.Contains("application './missing' does not exist", missing.Stderr);
    }

    public static TheoryData<string[], int, string> Refusals => new()
    {
        { ["-App", "/tmp"], 2, "application '/tmp' is a directory, not an executable" },
        { ["-App", "/nonexistent/app"], 2, "application '/nonexistent/app' does not exist" },
        { [], 2, "nothing to run: give --app ELF or --image FILE" },
        { ["-Image", "/nonexistent/app.img"], 2, "image '/nonexistent/app.img' does not exist" },
        { ["-Share", "/nonexistent/dir", "-App", "@echo"], 2, "shared directory '/nonexistent/dir' does not exist" },
        { ["-Mount", "/nonexistent/dir:/data", "-App", "@echo"], 2, "mount source '/nonexistent/dir' does not exist" },
        { ["-Memory", "16M", "-App", "@echo"], 1, "not enough memory: Libra needs at least 24 MiB of RAM and this machine has 16 MiB" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void A_run_that_cannot_start_says_why_in_one_line(string[] options, int status, string reason)
    {
        string[] words = ["run", "-NoBuild", .. options.Select(o => o == "@echo" ? echo.Path : o)];
        var result = CommandRunner.BuildScript(words);
        Assert.Equal(status, result.ExitStatus);
        string[] lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.Contains(reason, lines[0]);
    }
}
