using Libra.Qemu;
using Xunit;

namespace Libra.Tests.Boot;

// Boots the built kernel image in QEMU for the integration tests (build.ps1 test builds it first).
internal static class LibraBoot
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    public static string RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "build.ps1"))) return dir.FullName;
            throw new InvalidOperationException("cannot find the repository root (build.ps1) above " + AppContext.BaseDirectory);
        }
    }

    public static string KernelImage
    {
        get
        {
            string path = Environment.GetEnvironmentVariable("LIBRA_KERNEL_IMAGE") ?? Path.Combine(RepositoryRoot, "artifacts/kernel/libra.elf");
            if (!File.Exists(path)) throw new InvalidOperationException($"no kernel image at {path}; run: dotnet pwsh build.ps1 test (it builds one)");
            return path;
        }
    }

    public static Task<BootResult> RunAsync(string commandLine = "", string memory = "256M") =>
        BootRun.RunAsync(new QemuMachine { KernelImage = KernelImage, CommandLine = commandLine, Memory = memory }, Timeout);
}

// QEMU boots share two cores with the rest of the suite; running them one at a time keeps the
// clock test's host-side measurement honest.
[CollectionDefinition("qemu", DisableParallelization = true)]
public class QemuCollection { }
