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
}
