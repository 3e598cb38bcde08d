using Libra.Qemu;
using Xunit;

namespace Libra.Tests.Boot;

// An executable Libra cannot run is refused with one line naming why and a shell's "cannot
// execute" status (126), never a panic or a hang.
[Collection("qemu")]
public class BadApplicationTests
{
    static async Task<BootResult> RunFile(byte[] content, string name)
    {
        string path = Path.Combine(Path.GetTempPath(), $"libra-bad-{Guid.NewGuid():N}-{name}");
        await File.WriteAllBytesAsync(path, content);
        try
        {
            var machine = new QemuMachine
            {
                KernelImage = LibraBoot.KernelImage, Memory = "128M", InitialRamDisk = path,
                CommandLine = AppCommandLine.Build("", path, [], [], traceSyscalls: false),
            };
            return await BootRun.RunAsync(machine, LibraBoot.Timeout);
        }
        finally { File.Delete(path); }
    }

    static void AssertRefused(BootResult result, string why)
    {
        Assert.Equal(126, result.GuestStatus);
        var line = result.FirstLine("cannot run the application: ");
        Assert.True(line is not null, result.Output);
        Assert.Contains(why, line!.Value.Text);
        Assert.DoesNotContain("PANIC", result.Output);
    }

    static byte[] HostExecutable => File.ReadAllBytes("/bin/true");

    [Fact]
    public async Task Truncated_executable_is_refused_with_a_clear_message()
    {
        byte[] elf = HostExecutable;
        AssertRefused(await RunFile(elf[..100], "truncated"), "truncated");
    }

    [Fact]
    public async Task Dynamically_linked_executable_is_refused_as_needing_an_interpreter()
    {
        AssertRefused(await RunFile(HostExecutable, "dynamic"), "interpreter");
    }

    [Fact]
    public async Task Executable_for_another_machine_is_refused_naming_the_machine()
    {
        byte[] elf = HostExecutable;
        elf[18] = 183;  // e_machine = EM_AARCH64
        elf[19] = 0;
        AssertRefused(await RunFile(elf, "aarch64"), "another machine");
    }

    [Fact]
    public async Task Text_file_is_refused_as_not_an_executable()
    {
        AssertRefused(await RunFile("#!/bin/sh\necho hi\n"u8.ToArray(), "script"), "not an ELF");
    }

    [Fact]
    public async Task Empty_file_is_refused_not_taken_for_no_application()
    {
        AssertRefused(await RunFile([], "empty"), "no executable arrived");
    }
}
