using System;
using System.Runtime;
using Libra.Arch.X64;
using Libra.Boot;
using Libra.Diagnostics;
using Libra.Drivers;
using Libra.Loader;
using Libra.Memory;
using Libra.Shims;
using Libra.Threads;
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
        // The application could not be started (a shell's "cannot execute").
        internal const int CannotExecuteExitStatus = 126;

        private static BootInfo s_boot;
        // The TSC at kmain: boot times in the log count from it.
        internal static ulong BootTsc;
        internal static ulong MicrosecondsSinceBoot => (Native.ReadTsc() - BootTsc) * 1_000_000 / Clock.TscHz;
        private static KernelOptions s_options;
        private static AppArguments s_app;
        private static bool s_appRequested;
        // libra.9p.aname: the name the 9P server wants in Tattach (diod: its export's path; QEMU's own
        // server ignores it), %XX-escaped on the command line.
        private const int AttachNameMax = 1024;
        private struct AttachNameText { internal fixed byte Bytes[AttachNameMax]; }
        private static AttachNameText s_attachName;
        private static int s_attachNameLength;
        private struct MountClientTable { internal fixed ulong Entries[BootMounts.MaxMountRequests]; }
        private static MountClientTable s_mountClients;

        [RuntimeExport("kmain")]
        private static void Main(ulong startInfo)
        {
            BootTsc = Native.ReadTsc();
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
            LocalApic.StartTimer();
            Native.EnableInterrupts();

            KernelLog.Begin(); KernelLog.Write("clock: "); KernelLog.Write(Clock.SourceName); KernelLog.Write(", TSC ");
            KernelLog.Decimal(Clock.TscHz / 1_000_000); KernelLog.Write(" MHz");
            if (Clock.CalibrationNs != 0)
            {
                KernelLog.Write(" (measured in "); KernelLog.Decimal(Clock.CalibrationNs / 1_000_000); KernelLog.Write(" ms, within ");
                KernelLog.Decimal(Clock.CalibrationErrorPpm); KernelLog.Write(" ppm)");
            }
            KernelLog.Write("; timer: local APIC ");
            if (LocalApic.UsesTscDeadline) KernelLog.Write("TSC-deadline");
            else { KernelLog.Write("one-shot at "); KernelLog.Decimal(LocalApic.TimerHz / 1_000_000); KernelLog.Write(" MHz"); }
            KernelLog.Write(" (resolution "); KernelLog.Decimal(LocalApic.ResolutionNs); KernelLog.Write(" ns), tickless; slices of ");
            KernelLog.Decimal(2000 / (ulong)s_options.TickHz); KernelLog.Write(" ms (libra.tick_hz="); KernelLog.Decimal((ulong)s_options.TickHz);
            KernelLog.Write(")"); KernelLog.End();
            KernelLog.Begin(); KernelLog.Write("memory: "); KernelLog.Size(PhysicalMemory.FreeBytes); KernelLog.Write(" free after boot; kernel image ");
            KernelLog.Size(image->PhysicalEnd - image->PhysicalStart); KernelLog.End();
            KernelLog.Begin(); KernelLog.Write("ready in "); KernelLog.Thousandths(MicrosecondsSinceBoot);
            KernelLog.Write(" ms since kmain"); KernelLog.End();

            if (s_options.SelfTest != SelfTest.None) SelfTests.Run(s_options.SelfTest, s_options.TickHz);

            if (boot->ModuleCount == 0 && s_appRequested)
            {
                KernelLog.Line("cannot run the application: no executable arrived (QEMU drops an empty -initrd file)");
                Exit(CannotExecuteExitStatus);
            }
            if (boot->ModuleCount == 0)
            {
                KernelLog.Line("no application to run; shutting down");
                Exit(0);
            }
            RunApplication(boot);
        }

        // Everything the application's syscalls stand on, then the application itself; the boot
        // thread becomes the idle loop and never returns.
        private static void RunApplication(BootInfo* boot)
        {
            // From here the kernel runs with interrupts off, as every thread's kernel path does: device
            // polls from the tick and from the boot code must not interleave.
            Native.DisableInterrupts();
            Clock.SetWallClock(CmosRtc.ReadUnixSeconds());
            SystemCallEntry.Initialize();
            Scheduler.Initialize(s_options.TickHz);
            ThreadCalls.Initialize();
            UserMemory.Initialize();
            ProcessCalls.Initialize();
            IntervalTimerCalls.Initialize();
            FileTable.Initialize();
            SystemCalls.Trace = s_options.TraceSyscalls;
            Shims.StackAudit.Enabled = s_options.StackAudit;
            KernelHeap.FailOneIn = s_options.FailAllocOneIn;
            Signals.SignalDelivery.Initialize();
            if (s_app.ExePathLength == 0) s_app.SetName("app");
            Drivers.Virtio.VirtioSerialDevice.ForcePolling = s_options.PollVirtio;
            Drivers.Virtio.VirtioSerialDevice.Probe();
            if (s_options.SelfTest == SelfTest.SerialEcho) SerialEcho.Start();
            Shims.PageCache.Initialize(s_options.PageCacheSize);
            MountSharedDirectories();
            Shims.Net.NetworkLink.Batching = !s_options.NoSideBatching;
            Shims.Net.NetworkLink.Start();
            Vdso.VdsoMapping.Disabled = s_options.NoVdso;
            byte* module = Layout.PhysicalToVirtual(boot->ModulePhysical[0]);
            ulong moduleSize = boot->ModuleSize[0];
            ulong tmpSize = s_options.TmpSize != 0 ? s_options.TmpSize : PhysicalMemory.FreeBytes / 2;
            CostCounters.StartReporting();
            fixed (AppArguments* app = &s_app)
            {
                var exePath = new ReadOnlySpan<byte>(app->ExePath.Bytes, app->ExePathLength);
                if (BootImage.IsImage(module, moduleSize))
                {
                    // An image: its files are the root, and the application is one of them.
                    MemoryVolume* image = BootImage.Unpack(module, moduleSize);
                    if (image == null) Exit(CannotExecuteExitStatus);
                    ApplyImageCommandLine(boot, module, moduleSize);
                    exePath = new ReadOnlySpan<byte>(app->ExePath.Bytes, app->ExePathLength);
                    MemoryNode* exe = MemoryFileSystem.Named(image, exePath);
                    if (exe == null || (exe->Mode & 0xf000) != FileTable.S_IFREG)
                    {
                        KernelLog.Begin(); KernelLog.Write("cannot run the application: "); KernelLog.WriteAscii(app->ExePath.Bytes, app->ExePathLength);
                        KernelLog.Write(exe == null ? " is not in the image (libra.app= names it)" : " in the image is not a regular file"); KernelLog.End();
                        Exit(CannotExecuteExitStatus);
                    }
                    BootMounts.Mount(image, exePath, null, 0, Shims.NineP.NinePClient.Root, s_options.ShareReadOnly, MountClients, tmpSize);
                    module = exe->Borrowed;
                    moduleSize = exe->Size;
                }
                else BootMounts.Mount(null, exePath, module, moduleSize, Shims.NineP.NinePClient.Root, s_options.ShareReadOnly, MountClients, tmpSize);
                if (!AppLoader.Load(module, moduleSize, app))
                    Exit(CannotExecuteExitStatus);
            }
            if (!EntropySource.IsHardware) KernelLog.Line("warning: no RDRAND; getrandom uses a TSC-seeded generator");
            s_heapAtStart = KernelHeap.BytesInUse;
            KernelHeap.StartInjecting();
            Scheduler.RunIdle();
        }

        // The exported host directory as the application's root: through QEMU's own 9P server when
        // there is a virtio-9p device with the mount tag "libra", else through the virtio-serial port
        // "libra.9p" (a 9P server such as diod on the host end of it; the device is probed before, in
        // RunApplication). Then each libra.mount= over the virtio-9p device with its tag.
        private static void MountSharedDirectories()
        {
            Drivers.Virtio.Virtio9pDevice.ForcePolling = s_options.PollVirtio;
            Drivers.Virtio.Virtio9pDevice.ProbeAll();
            var transport = new Shims.NineP.NinePClient.Transport();
            byte* shareTag = stackalloc byte[] { (byte)'l', (byte)'i', (byte)'b', (byte)'r', (byte)'a' };
            Drivers.Virtio.Virtio9pDevice* device = Drivers.Virtio.Virtio9pDevice.WithTag(new ReadOnlySpan<byte>(shareTag, 5));
            if (device != null) { transport.Context = device; transport.Transact = &Drivers.Virtio.Virtio9pDevice.Transact; }
            else if (Shims.NineP.NinePStreamTransport.Connect()) transport.Transact = &Shims.NineP.NinePStreamTransport.Transact;
            if (transport.Transact != null)
            {
                int error;
                fixed (byte* name = s_attachName.Bytes)
                    Shims.NineP.NinePClient.Root = Shims.NineP.NinePClient.Mount(transport, new ReadOnlySpan<byte>(name, s_attachNameLength), out error);
                if (error != 0)
                {
                    KernelLog.Begin(); KernelLog.Write("9p: cannot attach the shared directory: "); KernelLog.Write(Errno.Name(-error)); KernelLog.End();
                    Exit(BootFailureExitStatus);
                }
                KernelLog.Begin(); KernelLog.Write("9p: the shared directory is the root (9P2000.L, msize ");
                KernelLog.Decimal(Shims.NineP.NinePClient.Root->Msize); KernelLog.Write(")"); KernelLog.End();
            }
            for (int i = 0; i < BootMounts.RequestCount; i++)
            {
                BootMounts.MountRequest* request = BootMounts.Requested(i);
                var tag = new ReadOnlySpan<byte>(request->Tag, request->TagLength);
                device = Drivers.Virtio.Virtio9pDevice.WithTag(tag);
                int error = -(int)Errno.ENODEV;
                if (device != null)
                {
                    transport.Context = device;
                    transport.Transact = &Drivers.Virtio.Virtio9pDevice.Transact;
                    MountClients[i] = Shims.NineP.NinePClient.Mount(transport, default, out error);
                }
                KernelLog.Begin();
                KernelLog.Write(error != 0 ? "9p: cannot mount " : "9p: mounted "); KernelLog.WriteAscii(request->Path, request->PathLength);
                KernelLog.Write(" (mount tag '"); KernelLog.WriteAscii(request->Tag, request->TagLength); KernelLog.Write("'");
                if (error != 0) { KernelLog.Write("): "); KernelLog.Write(device == null ? "no virtio-9p device has that tag" : Errno.Name(-error)); KernelLog.End(); Exit(BootFailureExitStatus); }
                KernelLog.Write(request->ReadOnly ? ", read-only)" : ", read-write)"); KernelLog.End();
            }
        }

        // One client per libra.mount=, in order.
        private static Shims.NineP.NinePClient** MountClients
        {
            get { fixed (ulong* entries = s_mountClients.Entries) return (Shims.NineP.NinePClient**)entries; }
        }

        // The kernel heap in use when the application was started: the exit report's baseline, which
        // a program that closed everything it opened comes back to.
        private static ulong s_heapAtStart;

        internal static void Exit(int status)
        {
            if (Shims.NineP.NinePClient.Root != null)
            {
                // Fids besides the root and the path cache's belong to files the application left open.
                int open = Shims.NineP.NinePClient.Root->FidsInUse - 1 - Shims.PathCache.Count;
                KernelLog.Begin(); KernelLog.Write("9p: "); KernelLog.Decimal((ulong)open); KernelLog.Write(" fid(s) left open at exit; ");
                KernelLog.Decimal(Drivers.Virtio.Virtio9pDevice.Requests); KernelLog.Write(" virtio-9p requests, "); KernelLog.Decimal(Drivers.Virtio.Virtio9pDevice.InterruptsTaken);
                KernelLog.Write(" completion interrupts; path cache "); KernelLog.Decimal(Shims.PathCache.Hits); KernelLog.Write(" hits, ");
                KernelLog.Decimal(Shims.PathCache.Misses); KernelLog.Write(" misses"); KernelLog.End();
            }
            Shims.PageCache.Report("9p: ");
            Drivers.Virtio.VirtioSerialDevice.Report();
            Shims.Net.NetworkLink.Report();
            if (Scheduler.Switches > 0)
            {
                KernelLog.Begin(); KernelLog.Write("scheduler: "); KernelLog.Decimal(Scheduler.Switches); KernelLog.Write(" switches, ");
                KernelLog.Decimal(Scheduler.Preemptions); KernelLog.Write(" preemptions at the end of a slice, "); KernelLog.Decimal(Scheduler.WakePreemptions);
                KernelLog.Write(" for a woken thread, "); KernelLog.Decimal(LocalApic.Interrupts); KernelLog.Write(" timer interrupts, ");
                KernelLog.Decimal(CostCounters.Wakeups); KernelLog.Write(" wake-ups, "); KernelLog.Decimal(CostCounters.Syscalls); KernelLog.Write(" system calls"); KernelLog.End();
            }
            Shims.StackAudit.Report();
            KernelLog.Begin(); KernelLog.Write("kernel heap: "); KernelLog.Decimal(KernelHeap.BytesInUse / 1024);
            KernelLog.Write(" KiB in use at exit, "); KernelLog.Decimal(s_heapAtStart / 1024); KernelLog.Write(" KiB when the application started, peak ");
            KernelLog.Decimal(KernelHeap.PeakBytes / 1024); KernelLog.Write(" KiB");
            if (KernelHeap.FailOneIn != 0) { KernelLog.Write("; "); KernelLog.Decimal(KernelHeap.InjectedFailures); KernelLog.Write(" allocations failed by libra.fail_alloc"); }
            KernelLog.End();
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
            Feature(Cpu.HasNx, " nx"); Feature(Cpu.HasHugePages, " pdpe1gb"); Feature(Cpu.HasX2Apic, " x2apic"); Feature(Cpu.HasTscDeadline, " tsc-deadline");
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
            if (physical == 0) { s_app.SetName("app"); s_app.AddArgumentZero(); return; }
            Span<char> text = stackalloc char[MaxCommandLine];
            ReadOnlySpan<char> line = ReadCommandLine(physical, text);
            if (line.Length > 0) { KernelLog.Begin(); KernelLog.Write("command line: "); KernelLog.Write(line); KernelLog.End(); }
            Parse(line, kernelOptions: true);
        }

        private static ReadOnlySpan<char> ReadCommandLine(ulong physical, Span<char> text)
        {
            if (physical == 0) return default;
            byte* raw = Layout.PhysicalToVirtual(physical);
            int length = 0;
            while (length < text.Length && raw[length] != 0) { text[length] = (char)raw[length]; length++; }
            return text.Slice(0, length);
        }

        // The application's words (libra.app=, libra.env=, the arguments after "--") and, when
        // `kernelOptions`, the kernel's own options with a warning for each unknown or malformed one.
        private static void Parse(ReadOnlySpan<char> line, bool kernelOptions)
        {
            int separator = ImageCommandLine.FindSeparator(line);
            ReadOnlySpan<char> options = separator >= 0 ? line.Slice(0, separator) : line;
            int position = 0;
            bool named = false;
            while (CommandLine.Next(options, ref position, out int keyStart, out int keyLength, out int valueStart, out int valueLength))
            {
                ReadOnlySpan<char> key = options.Slice(keyStart, keyLength);
                ReadOnlySpan<char> value = valueLength >= 0 ? options.Slice(valueStart, valueLength) : default;
                if (KernelOptions.Is(key, "libra.app") && valueLength >= 0) { s_app.SetName(value); named = s_appRequested = true; continue; }
                if (KernelOptions.Is(key, "libra.env") && valueLength >= 0) { s_app.AddEnvironment(value); continue; }
                if (!kernelOptions) continue;
                if (KernelOptions.Is(key, "libra.9p.timeout_ms") && valueLength >= 0 && NumberText.TryParse(value, out ulong timeout))
                {
                    Shims.NineP.NinePStreamTransport.TimeoutNanoseconds = timeout * 1_000_000;
                    continue;
                }
                if (KernelOptions.Is(key, "libra.counters_ms") && valueLength >= 0 && NumberText.TryParse(value, out ulong period) && period > 0)
                {
                    CostCounters.PeriodMs = period;
                    continue;
                }
                if (KernelOptions.Is(key, "libra.mount") && valueLength >= 0)
                {
                    if (BootMounts.Request(value)) continue;
                    KernelLog.Begin(); KernelLog.Write("warning: bad or one too many 'libra.mount="); KernelLog.Write(value);
                    KernelLog.Write("' ignored (expected TAG:ro|rw:/PATH, at most 8)"); KernelLog.End();
                    continue;
                }
                if (KernelOptions.Is(key, "libra.9p.aname") && valueLength >= 0)
                {
                    fixed (byte* name = s_attachName.Bytes) s_attachNameLength = AppArguments.Decode(value, name, AttachNameMax);
                    if (s_attachNameLength >= 0) continue;
                    s_attachNameLength = 0;
                    KernelLog.Line("warning: libra.9p.aname is longer than 1024 bytes; ignored");
                    continue;
                }
                OptionResult result = s_options.Apply(key, value, valueLength >= 0);
                if (result == OptionResult.Applied) continue;
                KernelLog.Begin(); KernelLog.Write("warning: ");
                if (result == OptionResult.UnknownOption) { KernelLog.Write("unknown option '"); KernelLog.Write(options.Slice(keyStart, position - keyStart)); KernelLog.Write("' ignored"); }
                else
                {
                    KernelLog.Write("bad value in '"); KernelLog.Write(options.Slice(keyStart, position - keyStart)); KernelLog.Write("' ignored (expected ");
                    KernelLog.Write(KernelOptions.ExpectedValue(key)); KernelLog.Write(")");
                }
                KernelLog.End();
            }
            if (!named) s_app.SetName("app");
            s_app.AddArgumentZero();
            if (separator < 0) return;
            int at = separator + 2;
            while (at < line.Length)
            {
                while (at < line.Length && line[at] == ' ') at++;
                int start = at;
                while (at < line.Length && line[at] != ' ') at++;
                if (at > start) s_app.AddArgument(line.Slice(start, at - start));
            }
        }

        // With an image, the application's words again: the image's .libra/cmdline first, the real
        // command line's after them (ImageCommandLine). The kernel's own options were taken at boot.
        private static void ApplyImageCommandLine(BootInfo* boot, byte* module, ulong moduleSize)
        {
            Span<char> baked = stackalloc char[MaxCommandLine];
            int bakedLength = BootImage.DefaultCommandLine(module, moduleSize, baked);
            if (bakedLength == 0) return;
            Span<char> text = stackalloc char[MaxCommandLine];
            ReadOnlySpan<char> real = ReadCommandLine(boot->CommandLinePhysical, text);
            Span<char> merged = stackalloc char[MaxCommandLine * 2];
            int length = ImageCommandLine.Merge(baked.Slice(0, bakedLength), real, merged);
            if (length < 0) { KernelLog.Line("warning: the image's .libra/cmdline and the command line are too long together; the image's ignored"); return; }
            KernelLog.Begin(); KernelLog.Write("image command line: "); KernelLog.Write(merged.Slice(0, length)); KernelLog.End();
            s_app = default;
            Parse(merged.Slice(0, length), kernelOptions: false);
        }

        private static void SetUpInterruptStacks()
        {
            for (int ist = Idt.DoubleFaultStack; ist <= Idt.MachineCheckStack; ist++)
            {
                ulong top = KernelAddressSpace.AllocateStack(Layout.KernelStackSize);
                if (top == 0) Panic.Halt("out of memory for the interrupt stacks");
                Gdt.SetInterruptStack(ist, top);
            }
        }
    }
}
