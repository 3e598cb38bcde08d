using Xunit;
using Xunit.Abstractions;

namespace Libra.Tests.Boot;

// A fault injected through the command line must produce a report that names the fault, the
// address and the function, with every register, and stop with the panic status.
[Collection("qemu")]
public class PanicTests(ITestOutputHelper output)
{
    private const int PanicExitStatus = 125;

    private async Task<string> Panic(string selfTest)
    {
        var boot = await LibraBoot.RunAsync("libra.selftest=" + selfTest);
        output.WriteLine(boot.Output);
        Assert.Equal(PanicExitStatus, boot.GuestStatus);
        Assert.Contains("libra:   registers:", boot.Output);
        foreach (var register in new[] { "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8 ", "r15", "rip", "rfl", "cr2", "cr3" })
            Assert.Matches($"{register} 0x[0-9a-f]{{16}}", boot.Output);
        Assert.Contains("libra:   backtrace:", boot.Output);
        Assert.Contains("libra: exit status 125", boot.Output);
        return boot.Output;
    }

    [Fact]
    public async Task Page_fault_names_the_unmapped_address_and_the_faulting_function()
    {
        string report = await Panic("pagefault");
        Assert.Contains("PANIC: page fault (#PF, vector 14) in kernel mode", report);
        Assert.Contains("error code 0x0002 (page not present, write, kernel)", report);
        Assert.Contains("faulting address 0x000000000dead000", report);
        Assert.Matches(@"in LibraKernel_Libra_SelfTests__TouchUnmappedMemory\+0x[0-9a-f]{4}", report);
    }

    [Fact]
    public async Task Divide_error_names_the_dividing_function_and_its_caller()
    {
        string report = await Panic("divide");
        Assert.Contains("PANIC: divide error (#DE, vector 0) in kernel mode", report);
        Assert.Matches(@"in LibraKernel_Libra_SelfTests__DivideBy\+0x[0-9a-f]{4}", report);
        // Unwound through .eh_frame: the caller, then kmain and the boot stub.
        Assert.Matches(@"#1  0xffffffff8[0-9a-f]{7} LibraKernel_Libra_SelfTests__Run\+", report);
        Assert.Matches(@"#2  0xffffffff8[0-9a-f]{7} (kmain|LibraKernel_Libra_Kernel__Main)\+", report);
    }

    [Fact]
    public async Task Invalid_opcode_names_the_instruction_address_and_function()
    {
        string report = await Panic("invalid-opcode");
        Assert.Contains("PANIC: invalid opcode (#UD, vector 6) in kernel mode", report);
        Assert.Matches(@"at address 0xffffffff8[0-9a-f]{7}", report);
        Assert.Matches(@"in libra_raise_fault\+0x[0-9a-f]{4}", report);
        // An assembly leaf has no call frame information: its return address is read from [rsp].
        Assert.Matches(@"#1  0xffffffff8[0-9a-f]{7} (kmain|LibraKernel_Libra_Kernel__Main|LibraKernel_Libra_SelfTests__Run)\+", report);
    }

    [Fact]
    public async Task General_protection_fault_is_reported_with_its_error_code()
    {
        string report = await Panic("general-protection");
        Assert.Contains("PANIC: general protection fault (#GP, vector 13) in kernel mode", report);
        Assert.Contains("error code 0x0000", report);
    }
}
