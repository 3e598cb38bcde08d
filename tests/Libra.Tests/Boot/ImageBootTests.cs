using System.Diagnostics;
using Libra.Qemu;
using Libra.Tests.Probes;
using Xunit;

namespace Libra.Tests.Boot;

// A Libra image (docs/image.md): a newc cpio as the PVH module, its files the read-only root, its
// .libra/cmdline the default words that the real command line's come after.
[Collection("qemu")]
public class ImageBootTests
{
    // An image made with Debian's cpio from a directory: the hello probe at app/hello and the files given.
    static string MakeImage(string cmdline, params (string Path, string Text)[] files) => MakeImage("hello", cmdline, files);

    static string MakeImage(string probe, string cmdline, params (string Path, string Text)[] files) => MakeImage(probe, cmdline, null, files);

    // `hardLink`: a second name, made with ln, for the probe's executable.
    static string MakeImage(string probe, string cmdline, string? hardLink, params (string Path, string Text)[] files)
    {
        string root = Path.Combine(Path.GetTempPath(), "libra-image-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path.Combine(root, "app"));
        Directory.CreateDirectory(Path.Combine(root, ".libra"));
        File.Copy(ProbeArtifacts.PathOf(ProbeCatalog.Get(probe)), Path.Combine(root, "app", probe));
        File.WriteAllText(Path.Combine(root, ".libra/cmdline"), cmdline);
        if (hardLink is not null)
        {
            using var ln = Process.Start("ln", [Path.Combine(root, "app", probe), Path.Combine(root, hardLink)])!;
            ln.WaitForExit();
        }
        foreach (var (path, text) in files)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(root, path))!);
            File.WriteAllText(Path.Combine(root, path), text);
        }
        string image = root + ".cpio";
        var start = new ProcessStartInfo("sh", ["-c", $"find . | LC_ALL=C sort | cpio -o -H newc --quiet > '{image}'"]) { WorkingDirectory = root };
        using (var process = Process.Start(start)!) process.WaitForExit();
        Directory.Delete(root, recursive: true);
        return image;
    }

    static async Task<BootResult> BootAsync(string image, string commandLine, string? share = null)
    {
        var machine = new QemuMachine
        {
            KernelImage = LibraBoot.KernelImage, Memory = "1G", InitialRamDisk = image, CommandLine = commandLine, SharedDirectory = share,
        };
        try { return await BootRun.RunAsync(machine, ProbeOnLibra.Timeout); }
        finally { File.Delete(image); }
    }

    [Fact]
    public async Task The_image_runs_its_application_with_the_baked_words_and_the_real_ones_after_them()
    {
        string image = MakeImage("libra.app=/app/hello\nlibra.env=PROBE_GREETING=baked\n-- one two --exit 3\n");
        BootResult baked = await BootAsync(image, "");
        Assert.True(baked.GuestStatus == 3, baked.Output + baked.Stderr);
        Assert.Contains("arg 0: one", baked.Stdout);
        Assert.Contains("PROBE_GREETING=baked", baked.Stdout);
        Assert.Contains("image: ", baked.Output);

        image = MakeImage("libra.app=/app/hello\nlibra.env=PROBE_GREETING=baked\n-- one two --exit 3\n");
        BootResult overridden = await BootAsync(image, "libra.env=PROBE_GREETING=real -- three");
        Assert.True(overridden.GuestStatus == 0, overridden.Output + overridden.Stderr);
        Assert.Contains("args: 1", overridden.Stdout);
        Assert.Contains("arg 0: three", overridden.Stdout);
        Assert.Contains("PROBE_GREETING=real", overridden.Stdout);
        Assert.DoesNotContain("baked", overridden.Stdout);
    }

    // GNU cpio stores a hard-linked file's data with its last name only; both names run.
    [Theory]
    [InlineData("/app/hello")]
    [InlineData("/app/again")]
    public async Task Either_name_of_a_hard_linked_application_runs(string name)
    {
        BootResult result = await BootAsync(MakeImage("hello", $"libra.app={name} -- linked\n", "app/again"), "");
        Assert.True(result.GuestStatus == 0, result.Output + result.Stderr);
        Assert.Contains("arg 0: linked", result.Stdout);
    }

    [Fact]
    public async Task An_application_the_image_does_not_have_is_one_clear_line_and_status_126()
    {
        BootResult result = await BootAsync(MakeImage("libra.app=/app/missing\n"), "");
        Assert.Equal(126, result.GuestStatus);
        Assert.Contains("cannot run the application: /app/missing is not in the image", result.Output);
        Assert.DoesNotContain("PANIC", result.Output);
    }

    [Fact]
    public async Task A_truncated_image_is_one_clear_line_and_status_126()
    {
        string image = MakeImage("libra.app=/app/hello\n");
        byte[] bytes = File.ReadAllBytes(image);
        File.WriteAllBytes(image, bytes[..(bytes.Length / 2)]);
        BootResult result = await BootAsync(image, "");
        Assert.Equal(126, result.GuestStatus);
        Assert.Contains("cannot read the image: the archive ends inside a member (truncated?)", result.Output);
        Assert.DoesNotContain("PANIC", result.Output);
    }

    [Fact]
    public async Task A_share_layers_over_the_image_and_the_images_own_directories_stay_read_only()
    {
        string image = MakeImage("vfs", "libra.app=/app/vfs -- --layers\n", ("etc/hostname", "image\n"));
        WorkDirectory share = WorkDirectory.Create();
        try
        {
            Directory.CreateDirectory(Path.Combine(share.Path, "etc"));
            File.WriteAllText(Path.Combine(share.Path, "etc/hostname"), "shared\n");
            BootResult result = await BootAsync(image, "", share.Path);
            Assert.True(result.GuestStatus == 0, result.Output + result.Stderr);
            Assert.Equal(FileSystemTests.LayersOutput("EROFS"), result.Stdout);
        }
        finally { share.Delete(); }
    }
}
