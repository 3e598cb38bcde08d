using System.Text.RegularExpressions;
using Libra.Tests.Probes;
using Xunit;

namespace Libra.Tests.Unit;

// `build.ps1 syscalls` reads Shims/SyscallTable.cs line by line (build/syscalls.ps1): a row written
// another way would drop out of the printed table, and a stub that lost its level would claim to be full.
public class SyscallTableTests
{
    // The same row pattern build/syscalls.ps1 uses.
    static readonly Regex Row = new(@"case (\d+): entry = new SyscallEntry\(""(\w+)"", \d+, (null|&[\w.]+)(?:, SyscallSupport\.(\w+))?\)");

    static string[] CaseLines() =>
        File.ReadAllLines(Path.Combine(ProbeCatalog.RepositoryRoot, "Shims/SyscallTable.cs")).Where(l => Regex.IsMatch(l, @"^\s*case \d+:")).ToArray();

    [Fact]
    public void Every_syscall_table_row_is_one_line_build_ps1_syscalls_can_read()
    {
        string[] lines = CaseLines();
        Assert.True(lines.Length > 300, $"only {lines.Length} rows found");
        Assert.All(lines, line => Assert.Matches(Row, line));
    }

    [Fact]
    public void Calls_accepted_without_doing_what_Linux_does_are_marked_stubs()
    {
        var stubs = CaseLines().Select(l => Row.Match(l)).Where(m => m.Groups[4].Value == "Stub").Select(m => m.Groups[2].Value).ToHashSet();
        foreach (string name in new[] { "flock", "msync", "mlock", "sched_setaffinity" }) Assert.Contains(name, stubs);
    }
}
