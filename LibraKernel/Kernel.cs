using System;
using System.Runtime;
using Libra.Arch.X64;
using Libra.Boot;
using Libra.Diagnostics;
using Libra.Drivers;
using Libra.Memory;
using Libra.Time;

namespace Libra
{
    // Boot, in order: console, CPU identity, boot info, command line, memory, descriptor tables,
    // clock and timer; then the self-tests the command line asks for.
    internal static unsafe class Kernel
    {
        internal const string Version = "0.1.0";
        private const int MaxCommandLine = 4096;
        // A status that says the machine or the command line could not be used, as opposed to a panic.
        internal const int BootFailureExitStatus = 1;

        private static BootInfo s_boot;
        private static KernelOptions s_options;

        [RuntimeExport("kmain")]
        private static void Main(ulong startInfo)
        {
            ulong bootTsc = Native.ReadTsc();
            Uart16550.Initialize();
            Cpu.Identify();

            BootInfo* boot;
            fixed (BootInfo* b = &s_boot) boot = b;
            Pvh.Error error = Pvh.Parse((byte*)Layout.DirectMapBase, startInfo, out *boot);
            if (error != Pvh.Error.None)
            {
                KernelLog.Begin(); KernelLog.Write("cannot read the PVH start info at "); KernelLog.Hex(startInfo);
                KernelLog.Write(error == Pvh.Error.BadMagic ? ": bad magic (not booted through PVH?)" : error == Pvh.Error.NoMemoryMap ? ": no memory map" : ": too many memory regions");
                KernelLog.End();
                Exit(BootFailureExitStatus);
            }

            WriteBanner(boot);
            s_options = KernelOptions.Defaults;
            ApplyCommandLine(boot->CommandLinePhysical);

            ulong ram = InstalledRam(boot);
            if (boot->Memory.UsableBytes < Layout.MinimumRam)
            {
                KernelLog.Begin(); KernelLog.Write("not enough memory: Libra needs at least "); KernelLog.Size(Layout.MinimumRam);
                KernelLog.Write(" of RAM and this machine has "); KernelLog.Size(ram); KernelLog.Write(" (give QEMU -m 64 or more)"); KernelLog.End();
                Exit(BootFailureExitStatus);
            }

            ImageLayout* image = Native.GetImageLayout();
            if (!PhysicalMemory.Initialize(boot, image, startInfo)) Exit(BootFailureExitStatus);
            if (!KernelAddressSpace.Build(boot, image)) Panic.Halt("could not build the kernel page tables (out of memory?)");
            KernelHeap.Initialize();

            Gdt.Initialize();
            SetUpInterruptStacks();
            Idt.Initialize();
            Pic.Disable();

            Clock.Initialize();
            if (!LocalApic.Initialize()) Panic.Halt("this CPU has no local APIC");
            LocalApic.StartTimer(s_options.TickHz);
            Native.EnableInterrupts();

            KernelLog.Begin(); KernelLog.Write("clock: "); KernelLog.Write(Clock.SourceName); KernelLog.Write(", TSC ");
            KernelLog.Decimal(Clock.TscHz / 1_000_000); KernelLog.Write(" MHz; timer: local APIC, ");
            KernelLog.Decimal((ulong)s_options.TickHz); KernelLog.Write(" Hz"); KernelLog.End();
            KernelLog.Begin(); KernelLog.Write("memory: "); KernelLog.Size(PhysicalMemory.FreeBytes); KernelLog.Write(" free after boot; kernel image ");
            KernelLog.Size(image->PhysicalEnd - image->PhysicalStart); KernelLog.End();
            KernelLog.Begin(); KernelLog.Write("ready in "); KernelLog.Thousandths((Native.ReadTsc() - bootTsc) * 1_000_000 / Clock.TscHz);
            KernelLog.Write(" ms since kmain"); KernelLog.End();

            if (s_options.SelfTest != SelfTest.None) SelfTests.Run(s_options.SelfTest);

            KernelLog.Line("no application to run; shutting down");
            Exit(0);
        }

        internal static void Exit(int status)
        {
            KernelLog.Begin(); KernelLog.Write("exit status "); KernelLog.Decimal((ulong)status); KernelLog.End();
            IsaDebugExit.Exit(status);
        }

        // RAM as QEMU's -m gave it: the usable bytes rounded up to 2 MiB (the firmware keeps a few pages).
        private static ulong InstalledRam(BootInfo* boot) =>
            (boot->Memory.UsableBytes + Layout.LargePageSize - 1) & ~(Layout.LargePageSize - 1);

        private static void WriteBanner(BootInfo* boot)
        {
            KernelLog.Begin(); KernelLog.Write("Libra "); KernelLog.Write(Version); KernelLog.Write(" (x86-64, booted by PVH) on ");
            KernelLog.Write(Cpu.OnKvm ? "KVM" : "QEMU TCG or another hypervisor without KVM");
            KernelLog.Write(": RAM "); KernelLog.Size(InstalledRam(boot)); KernelLog.Write(" ("); KernelLog.Decimal(boot->Memory.UsableBytes >> 10);
            KernelLog.Write(" KiB usable), "); KernelLog.Decimal((ulong)boot->ModuleCount); KernelLog.Write(" module(s)"); KernelLog.End();
            KernelLog.Begin(); KernelLog.Write("cpu: "); KernelLog.WriteAscii(Cpu.Brand, 48); KernelLog.End();
            KernelLog.Begin(); KernelLog.Write("cpu features:");
            Feature(Cpu.HasSse42, " sse4.2"); Feature(Cpu.HasPopcnt, " popcnt"); Feature(Cpu.HasAvx, " avx"); Feature(Cpu.HasAvx2, " avx2");
            Feature(Cpu.HasXsave, " xsave"); Feature(Cpu.HasFsGsBase, " fsgsbase"); Feature(Cpu.HasRdrand, " rdrand");
            Feature(Cpu.HasNx, " nx"); Feature(Cpu.HasHugePages, " pdpe1gb"); Feature(Cpu.HasX2Apic, " x2apic");
            Feature(Cpu.HasInvariantTsc, " invtsc"); Feature(Cpu.HasKvmClock, " kvmclock");
            KernelLog.End();
            if (!Cpu.HasSse42 || !Cpu.HasPopcnt)
                KernelLog.Line("warning: no SSE4.2/POPCNT; .NET code needs x86-64-v2 (run QEMU with -cpu max or -cpu host)");
        }

        private static void Feature(bool present, string name)
        {
            if (present) KernelLog.Write(name);
        }

        private static void ApplyCommandLine(ulong physical)
        {
            if (physical == 0) return;
            byte* raw = Layout.PhysicalToVirtual(physical);
            Span<char> text = stackalloc char[MaxCommandLine];
            int length = 0;
            while (length < MaxCommandLine && raw[length] != 0) { text[length] = (char)raw[length]; length++; }
            ReadOnlySpan<char> line = text.Slice(0, length);
            if (length > 0) { KernelLog.Begin(); KernelLog.Write("command line: "); KernelLog.Write(line); KernelLog.End(); }

            int position = 0;
            while (CommandLine.Next(line, ref position, out int keyStart, out int keyLength, out int valueStart, out int valueLength))
            {
                ReadOnlySpan<char> key = line.Slice(keyStart, keyLength);
                ReadOnlySpan<char> value = valueLength >= 0 ? line.Slice(valueStart, valueLength) : default;
                OptionResult result = s_options.Apply(key, value, valueLength >= 0);
                if (result == OptionResult.Applied) continue;
                KernelLog.Begin(); KernelLog.Write("warning: ");
                if (result == OptionResult.UnknownOption) { KernelLog.Write("unknown option '"); KernelLog.Write(line.Slice(keyStart, position - keyStart)); KernelLog.Write("' ignored"); }
                else
                {
                    KernelLog.Write("bad value in '"); KernelLog.Write(line.Slice(keyStart, position - keyStart)); KernelLog.Write("' ignored (expected ");
                    KernelLog.Write(KernelOptions.ExpectedValue(key)); KernelLog.Write(")");
                }
                KernelLog.End();
            }
        }

        private static void SetUpInterruptStacks()
        {
            for (int ist = Idt.DoubleFaultStack; ist <= Idt.InterruptStack; ist++)
            {
                ulong top = KernelAddressSpace.AllocateStack(Layout.KernelStackSize);
                if (top == 0) Panic.Halt("out of memory for the interrupt stacks");
                Gdt.SetInterruptStack(ist, top);
            }
        }
    }
}
