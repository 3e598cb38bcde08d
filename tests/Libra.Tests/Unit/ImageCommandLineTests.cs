using System.Text;
using Libra.Loader;
using Xunit;

namespace Libra.Tests.Unit;

// The image contract's command line: the image's .libra/cmdline words first, the real ones after
// them (a later libra.app= or libra.env=NAME= wins), and a real "--" replaces the baked arguments.
public unsafe class ImageCommandLineTests
{
    static string Merge(string baked, string real)
    {
        Span<char> output = stackalloc char[512];
        int n = ImageCommandLine.Merge(baked, real, output);
        return n < 0 ? "too long" : output[..n].ToString();
    }

    [Theory]
    [InlineData("libra.app=/app/x -- a b\n", "", "libra.app=/app/x -- a b")]
    [InlineData("libra.app=/app/x\nlibra.env=A=1\n-- a b\n", "libra.env=A=2", "libra.app=/app/x libra.env=A=1 libra.env=A=2 -- a b")]
    [InlineData("libra.app=/app/x -- a b", "libra.app=/app/y -- c", "libra.app=/app/x libra.app=/app/y -- c")]
    [InlineData("libra.app=/app/x -- a b", "libra.trace=syscalls --", "libra.app=/app/x libra.trace=syscalls --")]
    [InlineData("libra.app=/app/x", "", "libra.app=/app/x")]
    public void Real_words_come_after_the_baked_ones_and_a_real_separator_replaces_the_baked_arguments(string baked, string real, string expected) =>
        Assert.Equal(expected, Merge(baked, real));

    [Fact]
    public void A_merge_that_does_not_fit_says_so() =>
        Assert.Equal("too long", Merge(new string('x', 400), new string('y', 200)));

    static (string exe, string[] environment) Parse(params string[] words)
    {
        var app = new AppArguments();
        foreach (string word in words)
        {
            if (word.StartsWith("libra.app=")) app.SetName(word["libra.app=".Length..]);
            else app.AddEnvironment(word["libra.env=".Length..]);
        }
        string exe = Encoding.UTF8.GetString(app.ExePath.Bytes, app.ExePathLength);
        string all = Encoding.UTF8.GetString(app.Environment.Bytes, app.EnvironmentBytes);
        string[] environment = all.Split('\0', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(app.EnvironmentCount, environment.Length);
        return (exe, environment);
    }

    [Fact]
    public void A_later_libra_env_for_the_same_name_replaces_the_earlier_one()
    {
        (_, string[] environment) = Parse("libra.env=A=1", "libra.env=B=2", "libra.env=A=3", "libra.env=AB=4");
        Assert.Equal(["B=2", "A=3", "AB=4"], environment);
    }

    [Theory]
    [InlineData("hello", "/hello")]
    [InlineData("/app/hello", "/app/hello")]
    public void The_application_name_is_absolute_as_the_image_gives_it_or_under_the_root(string name, string expected) =>
        Assert.Equal(expected, Parse("libra.app=" + name).exe);
}
