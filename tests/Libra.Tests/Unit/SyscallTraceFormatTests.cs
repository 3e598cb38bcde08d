using System.Text;
using Libra.Shims;
using Xunit;

namespace Libra.Tests.Unit;

// libra.trace=syscalls shows paths and buffers as strace does (print_quoted_string, -s 32).
public class SyscallTraceFormatTests
{
    static string Quote(byte[] data, bool truncated = false)
    {
        var output = new byte[data.Length * 4 + 5];
        int n = SyscallTraceFormat.Quote(data, truncated, output);
        return Encoding.ASCII.GetString(output, 0, n);
    }

    [Theory]
    [InlineData("/etc/hosts", "\"/etc/hosts\"")]
    [InlineData("hello\n", "\"hello\\n\"")]
    [InlineData("tab\there \"q\" back\\slash\r", "\"tab\\there \\\"q\\\" back\\\\slash\\r\"")]
    public void Printable_text_is_quoted_with_C_escapes(string text, string expected) =>
        Assert.Equal(expected, Quote(Encoding.ASCII.GetBytes(text)));

    [Fact]
    public void Other_bytes_are_octal_with_three_digits_only_before_an_octal_digit()
    {
        Assert.Equal("\"\\0\\33[0m\\377\"", Quote([0, 0x1b, (byte)'[', (byte)'0', (byte)'m', 0xff]));
        Assert.Equal("\"\\0001\\338\"", Quote([0, (byte)'1', 0x1b, (byte)'8']));   // 8 is not octal: \33 then 8
        Assert.Equal("\"\\303\\274\"", Quote(Encoding.UTF8.GetBytes("ü")));
    }

    [Fact]
    public void A_cut_buffer_ends_with_dots_after_the_quote() =>
        Assert.Equal("\"abc\"...", Quote("abc"u8.ToArray(), truncated: true));

    [Fact]
    public void Calls_that_name_files_have_their_paths_and_dirfds_decoded()
    {
        uint openat = SyscallTraceFormat.Kinds(257);
        Assert.Equal(TraceArgument.DirectoryFd, SyscallTraceFormat.Kind(openat, 0));
        Assert.Equal(TraceArgument.Path, SyscallTraceFormat.Kind(openat, 1));
        Assert.Equal(TraceArgument.OpenFlags, SyscallTraceFormat.Kind(openat, 2));
        Assert.Equal(TraceArgument.Mode, SyscallTraceFormat.Kind(openat, 3));
        uint renameat2 = SyscallTraceFormat.Kinds(316);
        Assert.Equal(TraceArgument.Path, SyscallTraceFormat.Kind(renameat2, 3));
        Assert.Equal(TraceArgument.Path, SyscallTraceFormat.Kind(SyscallTraceFormat.Kinds(2), 0));    // open
        Assert.Equal(0u, SyscallTraceFormat.Kinds(9));                                                  // mmap: numbers
    }

    [Fact]
    public void Reads_are_shown_after_they_return_and_writes_before()
    {
        Assert.True(SyscallTraceFormat.ShownAfter(SyscallTraceFormat.Kinds(0)));      // read
        Assert.True(SyscallTraceFormat.ShownAfter(SyscallTraceFormat.Kinds(267)));    // readlinkat
        Assert.False(SyscallTraceFormat.ShownAfter(SyscallTraceFormat.Kinds(1)));     // write
        Assert.Equal(TraceArgument.Input, SyscallTraceFormat.Kind(SyscallTraceFormat.Kinds(1), 1));
        Assert.False(SyscallTraceFormat.ShownAfter(SyscallTraceFormat.Kinds(231)));   // exit_group
    }

    static string Flags(uint flags)
    {
        var output = new byte[256];
        return Encoding.ASCII.GetString(output, 0, SyscallTraceFormat.OpenFlags(flags, output));
    }

    [Theory]
    [InlineData(0u, "O_RDONLY")]
    [InlineData(0x80000u, "O_RDONLY|O_CLOEXEC")]
    [InlineData(0x241u, "O_WRONLY|O_CREAT|O_TRUNC")]
    [InlineData(0x410002u, "O_RDWR|O_TMPFILE")]
    [InlineData(0x101001u, "O_WRONLY|O_SYNC")]
    [InlineData(0x90800u, "O_RDONLY|O_NONBLOCK|O_DIRECTORY|O_CLOEXEC")]
    [InlineData(0x1000000u, "O_RDONLY|0x1000000")]
    public void Open_flags_are_named_as_strace_names_them(uint flags, string expected) => Assert.Equal(expected, Flags(flags));

    [Theory]
    [InlineData(0x1a4u, "0644")]
    [InlineData(0x1edu, "0755")]
    [InlineData(0u, "0")]
    [InlineData(0x9ffu, "04777")]
    public void Modes_are_octal(uint mode, string expected)
    {
        var output = new byte[16];
        Assert.Equal(expected, Encoding.ASCII.GetString(output, 0, SyscallTraceFormat.Mode(mode, output)));
    }

    [Fact]
    public void Open_shows_its_mode_only_when_it_may_create() =>
        Assert.Equal([true, true, false], new[] { 0x41u, 0x410002u, 0x2u }.Select(SyscallTraceFormat.Creates));
}
