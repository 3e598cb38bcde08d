using System.Text;
using Libra.Qemu;
using Libra.Tests.Boot;
using Libra.Tests.Probes;
using Xunit;

namespace Libra.Tests.Run;

// The two halves of the image meet: `build.ps1 image -App` writes it on the host, `build.ps1 run
// -Image` boots it, and the kernel takes the application, its environment and its arguments from
// the image's .libra/cmdline, or the arguments from the run's `--` when it has one.
[Collection("qemu")]
public class ImageRunTests
{
    [Fact]
    public void An_image_of_the_hello_probe_boots_with_its_baked_defaults_and_run_overrides_its_arguments()
    {
        var work = WorkDirectory.Create();
        try
        {
            ProbeCase hello = ProbeCatalog.Get("hello");
            string image = Path.Combine(work.Path, "hello.img");
            var made = CommandRunner.BuildScript(["image", "-App", ProbeArtifacts.PathOf(hello), "-Out", image,
                "-Env", "PROBE_GREETING=hi from the catalog", "--", .. hello.Args]);
            Assert.True(made.ExitStatus == 0, made.ToString());

            var baked = CommandRunner.BuildScript(["run", "-NoBuild", "-Image", image]);
            Assert.True(baked.ExitStatus == hello.ExitStatus, baked.ToString());
            Assert.Equal(ProbeCatalog.ExpectedStdout(hello), baked.Stdout);

            var overridden = CommandRunner.BuildScript(["run", "-NoBuild", "-Image", image, "--", "other", "--exit", "4"]);
            Assert.True(overridden.ExitStatus == 4, overridden.ToString());
            Assert.Contains("other", overridden.Stdout);
            Assert.DoesNotContain("two words", overridden.Stdout);
        }
        finally
        {
            work.Delete();
        }
    }

    // How each bad image is made from a good one (the hello probe's), and the reason the kernel gives.
    public static TheoryData<string, string> BadImages => new()
    {
        { "truncated", "cannot read the image: the archive ends inside a member (truncated?)" },
        { "corrupt", "cannot read the image: a member does not start with the newc magic 070701" },
        { "another machine", "cannot run the application: an ELF for another machine (not x86-64) (e_machine 183)" },
    };

    // Issue 11's bad input: each is one line on stderr and status 126 ("cannot execute"), never a panic.
    [Theory]
    [MemberData(nameof(BadImages))]
    public void A_bad_image_is_one_clear_line_and_status_126(string how, string reason)
    {
        var work = WorkDirectory.Create();
        try
        {
            string application = Path.Combine(work.Path, "hello");
            byte[] elf = File.ReadAllBytes(ProbeArtifacts.PathOf(ProbeCatalog.Get("hello")));
            if (how == "another machine") BitConverter.GetBytes((ushort)183).CopyTo(elf, 18);     // e_machine: EM_AARCH64
            File.WriteAllBytes(application, elf);
            string image = Path.Combine(work.Path, "hello.img");
            AppImage.Write(image, application, null, [], []);
            byte[] bytes = File.ReadAllBytes(image);
            if (how == "truncated") bytes = bytes[..(bytes.Length / 2)];
            if (how == "corrupt")
            {
                // The second member's magic (the first is the app/ directory's).
                int second = Encoding.ASCII.GetString(bytes, 0, 512).IndexOf("070701", 6, StringComparison.Ordinal);
                bytes[second + 5] = (byte)'9';
            }
            File.WriteAllBytes(image, bytes);

            var result = CommandRunner.BuildScript(["run", "-NoBuild", "-Image", image]);
            Assert.Equal(126, result.ExitStatus);
            string[] lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.True(lines.Length == 1, result.ToString());
            Assert.Contains(reason, lines[0]);
            Assert.Equal("", result.Stdout);
        }
        finally
        {
            work.Delete();
        }
    }

    // A static program that calls dlopen (built elsewhere): `image -Library libz.so.1` carries the
    // library, what it links against (libc.so.6, the dynamic loader) and /etc/ld.so.cache, and the
    // program then prints on Libra what it prints natively; without them dlopen fails as it would.
    [Fact]
    public void An_image_made_with_Library_carries_what_a_static_dlopen_loads()
    {
        var work = WorkDirectory.Create();
        try
        {
            string program = Path.Combine(work.Path, "dlopen");
            var compiled = CommandRunner.Run("gcc", ["-static", "-O2", "-o", program, Path.Combine(LibraBoot.RepositoryRoot, "tests/Libra.Tests/Run/dlopen.c")],
                null, work.Path, TimeSpan.FromMinutes(2));
            Assert.True(compiled.ExitStatus == 0, compiled.ToString());
            var native = CommandRunner.Run(program, [], null, work.Path, TimeSpan.FromSeconds(30));
            Assert.True(native.ExitStatus == 0, native.ToString());
            Assert.StartsWith("dlopen libz.so.1: ok, zlibVersion ", native.Stdout);

            string image = Path.Combine(work.Path, "dlopen.img");
            var made = CommandRunner.BuildScript(["image", "-App", program, "-Library", "libz.so.1", "-Out", image]);
            Assert.True(made.ExitStatus == 0, made.ToString());
            Assert.Contains("lib/x86_64-linux-gnu/libc.so.6", made.Stdout);
            Assert.Contains("etc/ld.so.cache", made.Stdout);
            var onLibra = CommandRunner.BuildScript(["run", "-NoBuild", "-Image", image]);
            Assert.True(onLibra.ExitStatus == 0, onLibra.ToString());
            Assert.Equal(native.Stdout, onLibra.Stdout);

            var bare = CommandRunner.BuildScript(["run", "-NoBuild", "-App", program]);
            Assert.Equal(1, bare.ExitStatus);
            Assert.Equal("dlopen libz.so.1: libz.so.1: cannot open shared object file: No such file or directory\n", bare.Stdout);

            var unknown = CommandRunner.BuildScript(["image", "-App", program, "-Library", "libnothere.so.9", "-Out", image]);
            Assert.Equal(2, unknown.ExitStatus);
            Assert.Contains("library 'libnothere.so.9' is not in the host's loader cache", unknown.Stderr);
        }
        finally
        {
            work.Delete();
        }
    }
}
