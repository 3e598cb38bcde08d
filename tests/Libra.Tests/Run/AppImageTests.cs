using Libra.Qemu;
using Libra.Tests.Probes;
using Xunit;

namespace Libra.Tests.Run;

// What `image -App` writes (docs/image.md): the application at app/NAME, unchanged, and the
// default kernel command line in .libra/cmdline.
public class AppImageTests
{
    [Fact]
    public void The_image_holds_the_application_and_its_default_command_line()
    {
        var work = WorkDirectory.Create();
        string app = Path.Combine(work.Path, "tool");
        byte[] elf = [0x7f, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 62, 0, 1, 2, 3];
        File.WriteAllBytes(app, elf);
        string image = Path.Combine(work.Path, "tool.img");
        AppImage.Write(image, app, null, ["GREETING=hello world"], ["*", "a b", ""]);
        string extracted = Path.Combine(work.Path, "root");
        Directory.CreateDirectory(extracted);
        var result = CommandRunner.Run("cpio", ["-i", "-d", "--quiet"], File.ReadAllBytes(image), extracted, TimeSpan.FromSeconds(30));
        Assert.True(result.ExitStatus == 0, result.ToString());
        Assert.Equal(elf, File.ReadAllBytes(Path.Combine(extracted, "app/tool")));
        Assert.Equal("libra.app=/app/tool libra.env=GREETING=hello%20world -- * a%20b %00", File.ReadAllText(Path.Combine(extracted, ".libra/cmdline")));
        work.Delete();
    }

    [Fact]
    public void Only_an_x86_64_ELF_file_can_be_the_application()
    {
        var work = WorkDirectory.Create();
        string text = Path.Combine(work.Path, "script.sh");
        File.WriteAllText(text, "#!/bin/sh\necho hi\n");
        string arm = Path.Combine(work.Path, "arm");
        File.WriteAllBytes(arm, [0x7f, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 183, 0]);
        Assert.Contains("is a directory", AppImage.ProblemWithApplication(work.Path));
        Assert.Contains("does not exist", AppImage.ProblemWithApplication(Path.Combine(work.Path, "missing")));
        Assert.Contains("is not an ELF executable", AppImage.ProblemWithApplication(text));
        Assert.Contains("not an x86-64", AppImage.ProblemWithApplication(arm));
        work.Delete();
    }
}
