using System.Text;
using Libra.Shims;
using Xunit;

namespace Libra.Tests.Unit;

public unsafe class PathNameTests
{
    static string Normalize(string cwd, string path)
    {
        byte* output = stackalloc byte[PathName.Max];
        int n = PathName.Normalize(Encoding.UTF8.GetBytes(cwd), Encoding.UTF8.GetBytes(path), output);
        return n < 0 ? $"error {n}" : Encoding.UTF8.GetString(output, n);
    }

    [Theory]
    [InlineData("/", "a/b", "/a/b")]
    [InlineData("/x/y", "z", "/x/y/z")]
    [InlineData("/x/y", "../z", "/x/z")]
    [InlineData("/", "/a//b/./c/", "/a/b/c")]
    [InlineData("/", ".", "/")]
    [InlineData("/a", "..", "/")]
    [InlineData("/", "../../etc/passwd", "/etc/passwd")]
    [InlineData("/a/b", "/../../x", "/x")]
    [InlineData("/", "a/../../b", "/b")]
    public void Dot_dot_never_climbs_above_the_root(string cwd, string path, string expected) =>
        Assert.Equal(expected, Normalize(cwd, path));

    [Fact]
    public void Empty_path_is_ENOENT() => Assert.Equal($"error {-(int)Errno.ENOENT}", Normalize("/", ""));

    [Fact]
    public void Too_long_path_is_ENAMETOOLONG() =>
        Assert.Equal($"error {-(int)Errno.ENAMETOOLONG}", Normalize("/", string.Join('/', Enumerable.Repeat("abcdefgh", 600))));

    [Fact]
    public void SplitLast_finds_the_parent_and_the_name()
    {
        byte* path = stackalloc byte[16];
        var text = "/a/bc"u8;
        for (int i = 0; i < text.Length; i++) path[i] = text[i];
        Assert.True(PathName.SplitLast(path, text.Length, out int parent, out int name));
        Assert.Equal(2, parent);
        Assert.Equal(3, name);
        Assert.True(PathName.SplitLast(path, 2, out parent, out name));
        Assert.Equal(1, parent);
        Assert.Equal(1, name);
        Assert.False(PathName.SplitLast(path, 1, out _, out _));
    }

    static string Splice(string parent, string target, string rest)
    {
        byte* output = stackalloc byte[PathName.Max];
        int n = PathName.Splice(Encoding.UTF8.GetBytes(parent), Encoding.UTF8.GetBytes(target), Encoding.UTF8.GetBytes(rest), output);
        return n < 0 ? $"error {n}" : Encoding.UTF8.GetString(output, n);
    }

    [Theory]
    [InlineData("/etc", "../proc/self/mounts", "", "/proc/self/mounts")]
    [InlineData("/dev", "/proc/self/fd/1", "", "/proc/self/fd/1")]
    [InlineData("/a/b", "c", "/d/e", "/a/b/c/d/e")]
    [InlineData("/", "../../x", "/y", "/x/y")]
    [InlineData("/tmp", "/", "", "/")]
    public void A_link_target_is_read_in_the_links_directory_and_the_rest_follows_it(string parent, string target, string rest, string expected) =>
        Assert.Equal(expected, Splice(parent, target, rest));
}
