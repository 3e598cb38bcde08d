using Libra.Qemu;
using Libra.Tests.Boot;
using Xunit;

namespace Libra.Tests.Probes;

// What only Libra's mount table has, through the vfs probe's other modes: the image root is
// read-only, tmpfs stops at its size, and a share layered over the image shadows its files.
[Collection("qemu")]
public class FileSystemTests
{
    static ProbeCase Mode(string mode) => ProbeCatalog.Get("vfs") with { Args = [mode] };

    static async Task<string> RunAsync(ProbeCase probe, string kernelOptions = "", WorkDirectory? share = null, IReadOnlyList<HostMount>? mounts = null)
    {
        BootResult result = share is null
            ? await ProbeOnLibra.RunAsync(probe, kernelOptions: kernelOptions, mounts: mounts)
            : await ProbeOnLibra.RunAsync(probe with { WorksInDirectory = true }, kernelOptions: kernelOptions, directory: share, mounts: mounts);
        Assert.True(result.GuestStatus == 0, result.Output + "\n" + result.Stderr);
        Assert.DoesNotContain("PANIC", result.Output);
        return result.Stdout;
    }

    // And the kernel's root, /dev, /proc and /proc/self/fd list what they hold.
    [Fact]
    public async Task The_root_without_a_share_is_read_only_after_the_lookup_Linux_does_first()
    {
        string stdout = await RunAsync(Mode("--read-only"));
        Assert.Equal("""
            create /new: EROFS
            mkdir /etc: EEXIST
            mkdir /newdir: EROFS
            unlink /etc/hosts: EROFS
            unlink /nothing: ENOENT
            open /etc/hosts for writing: EROFS
            open /etc/hosts O_CREAT read-only: ok
            open /etc/mtab O_NOFOLLOW (a link): ELOOP
            rmdir /tmp: EBUSY
            rename /etc/hosts -> /etc/h: EROFS
            statfs / read-only: 1
            listing: . .. dev etc proc sys tmp vfs
            listing: . .. fd null random stderr stdin stdout tty urandom zero
            listing: . .. 1 cpuinfo meminfo mounts self thread-self
            listing: . .. 0 1 2 3

            """.Replace("\r", ""), stdout);
    }

    [Fact]
    public async Task Tmpfs_full_gives_ENOSPC_and_keeps_every_byte_written_before()
    {
        string stdout = await RunAsync(Mode("--fill"), kernelOptions: "libra.tmp_size=1M");
        Assert.Equal("""
            filled: ENOSPC after more than 900 KiB and at most 1 MiB: 1
            size matches what was written: 1
            create another file: ok
            write to it: ENOSPC
            the other file: kept
            unlink big: ok
            write after freeing: ok

            """.Replace("\r", ""), stdout);
    }

    // What `vfs --layers` prints with a share holding etc/hostname ("shared") over the root, and
    // `app` the answer for making names in /app (ENOENT without an image, EROFS in an image's /app).
    internal static string LayersOutput(string app) => $"""
        /etc/hostname: shared
        /etc/hosts from the image: 1
        unlink /etc/hosts (the image's): EROFS
        write /etc/hosts (the image's): EROFS
        create /etc/new in the share: ok
        link /etc/new -> /etc/new2 in the share: ok
        nlink of a file linked in the share: 2
        link /etc/hosts (the image's) -> /etc/h: EROFS
        rename /etc/new2 -> /tmp/new2: EXDEV
        create /app/new (a directory only the image has): {app}
        mkdir in it: {app}

        """.Replace("\r", "");

    // Without an image there is no /app at all; ImageBootTests has the image's directories.
    [Fact]
    public async Task A_share_over_the_root_shadows_its_files_and_the_rest_stays_read_only()
    {
        WorkDirectory share = WorkDirectory.Create();
        try
        {
            Directory.CreateDirectory(Path.Combine(share.Path, "etc"));
            File.WriteAllText(Path.Combine(share.Path, "etc/hostname"), "shared\n");
            // With a share the probe's first argument is "/" (the directory it works in); the mode comes last.
            string stdout = await RunAsync(Mode("--layers"), share: share);
            Assert.Equal(LayersOutput("ENOENT"), stdout);
            Assert.True(File.Exists(Path.Combine(share.Path, "etc/new2")));
        }
        finally { share.Delete(); }
    }

    // run -Mount HOSTDIR:GUESTDIR[:ro]: each host directory its own 9P file system at its place, over
    // the kernel's root or under a share at "/".
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Mounted_host_directories_are_file_systems_of_their_own_and_the_read_only_one_refuses_changes(bool withShare)
    {
        WorkDirectory data = WorkDirectory.Create(), readOnly = WorkDirectory.Create();
        WorkDirectory? share = withShare ? WorkDirectory.Create() : null;
        try
        {
            File.WriteAllText(Path.Combine(data.Path, "hello.txt"), "hello from the host\n");
            File.WriteAllText(Path.Combine(readOnly.Path, "file.txt"), "read only\n");
            if (share is not null) Directory.CreateDirectory(Path.Combine(share.Path, "etc"));
            string stdout = await RunAsync(Mode("--mounts"), share: share,
                mounts: [new HostMount(data.Path, "/data", ReadOnly: false), new HostMount(readOnly.Path, "/ro", ReadOnly: true)]);
            Assert.Equal("""
                /data/hello.txt: hello from the host
                /ro/file.txt: read only
                /data/new: written in the guest
                mkdir /data/dir: ok
                rename /data/new -> /data/dir/moved: ok
                /data/.. is /: 1
                chdir /data/dir: ok
                ../../etc/hosts from /data/dir: 1
                ../../ro/file.txt from /data/dir: 1
                the mounts are distinct devices: 1
                open /ro/file.txt for writing: EROFS
                create /ro/new: EROFS
                mkdir /ro/dir: EROFS
                unlink /ro/file.txt: EROFS
                truncate /ro/file.txt: EROFS
                rename /data/dir/moved -> /tmp/moved: EXDEV
                rename /data/dir/moved -> /ro/moved: EXDEV
                link /data/dir/moved -> /tmp/linked: EXDEV
                rmdir /data (a mount point): EBUSY
                statfs /ro read-only: 1
                statfs /data read-only: 0
                /proc/mounts has /data rw: 1, /ro ro: 1
                listing: . .. dir hello.txt

                """.Replace("\r", ""), stdout);
            Assert.Equal("written in the guest\n", File.ReadAllText(Path.Combine(data.Path, "dir/moved")));
            Assert.Equal(["file.txt"], Directory.GetFiles(readOnly.Path).Select(Path.GetFileName));
        }
        finally { data.Delete(); readOnly.Delete(); share?.Delete(); }
    }
}
