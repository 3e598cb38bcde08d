using Libra.Qemu;
using Xunit;

namespace Libra.Tests.Run;

// run --mount HOSTDIR:GUESTDIR[:ro], as docker's -v reads it, and the kernel option it becomes.
public class HostMountTests
{
    [Theory]
    [InlineData("/srv/data:/data", "/srv/data", "/data", false)]
    [InlineData("/srv/data:/data:ro", "/srv/data", "/data", true)]
    [InlineData("/srv/data:/data:rw", "/srv/data", "/data", false)]
    [InlineData("rel/dir:/mnt//x/", "rel/dir", "/mnt/x", false)]
    [InlineData("/a:b:/c d", "/a:b", "/c d", false)]
    public void A_mount_is_the_host_directory_the_guest_directory_and_ro(string spec, string host, string guest, bool readOnly)
    {
        HostMount? mount = HostMount.Parse(spec, out string? problem);
        Assert.Null(problem);
        Assert.Equal(new HostMount(host, guest, readOnly), mount);
    }

    [Theory]
    [InlineData("/srv/data")]
    [InlineData("/srv/data:data")]
    [InlineData("/srv/data:/")]
    [InlineData("/srv/data:/a/../b")]
    [InlineData(":/data")]
    public void A_guest_directory_that_is_not_absolute_or_is_the_root_is_refused(string spec)
    {
        Assert.Null(HostMount.Parse(spec, out string? problem));
        Assert.Contains(spec, problem);
    }

    [Fact]
    public void The_kernel_option_names_the_tag_the_access_and_the_escaped_path()
    {
        Assert.Equal("libra.mount=libra.m2:ro:/my%20data", new HostMount("/x", "/my data", ReadOnly: true).KernelOption(1));
        Assert.Equal("libra.m1", HostMount.Tag(0));
    }

    [Fact]
    public void A_host_directory_that_does_not_exist_or_is_a_file_is_said_in_one_line()
    {
        Assert.Equal("mount source '/nonexistent/dir' does not exist", new HostMount("/nonexistent/dir", "/data", false).Problem());
        string file = Path.GetTempFileName();
        try { Assert.Equal($"mount source '{file}' is a file, not a directory", new HostMount(file, "/data", false).Problem()); }
        finally { File.Delete(file); }
        Assert.Null(new HostMount(Path.GetTempPath(), "/data", false).Problem());
    }
}
