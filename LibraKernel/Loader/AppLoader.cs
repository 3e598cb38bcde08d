using System;
using Libra.Arch.X64;
using Libra.Diagnostics;
using Libra.Memory;
using Libra.Shims;
using Libra.Threads;
using Libra.Time;
using Libra.Vdso;

namespace Libra.Loader
{
    // Loads the static executable (PVH module 0) into the lower half: each PT_LOAD committed and
    // filled at its link address (a static-PIE at Layout.UserPieBase), the break after the image,
    // the main stack at the top with Linux's initial stack, and the main thread ready to enter it.
    internal static unsafe class AppLoader
    {
        private const ulong StackStaging = 64 * 1024;
        private const ulong UserRflags = 0x202;     // IF, and the always-one bit

        internal static byte* ExePath;
        internal static int ExePathLength;

        // False after one log line naming what is wrong with the file.
        internal static bool Load(byte* file, ulong length, AppArguments* arguments)
        {
            ExePath = arguments->ExePath.Bytes;
            ExePathLength = arguments->ExePathLength;

            ElfError error = ElfImage.Parse(file, length, out ElfImage image);
            if (error != ElfError.None)
            {
                KernelLog.Begin(); KernelLog.Write("cannot run the application: "); KernelLog.Write(ElfImage.Describe(error));
                if (error == ElfError.WrongMachine) { KernelLog.Write(" (e_machine "); KernelLog.Decimal(image.Machine); KernelLog.Write(")"); }
                KernelLog.End();
                return false;
            }
            if (arguments->Overflowed)
            {
                KernelLog.Line("cannot run the application: its arguments and environment exceed 16 KiB each");
                return false;
            }

            ulong loadBase = image.IsPositionIndependent ? Layout.UserPieBase - image.LowestAddress : 0;
            for (int i = 0; i < image.SegmentCount; i++)
            {
                ElfSegment segment = image.Segment(i);
                if (segment.MemorySize == 0) continue;
                ulong start = image.Relocate(segment.Vaddr, loadBase) & ~(Layout.PageSize - 1);
                ulong end = UserMemory.PageUp(image.Relocate(segment.Vaddr, loadBase) + segment.MemorySize);
                if (UserMemory.Reserve(start, end - start, (int)segment.Protection, RangeKind.Image, fixedAddress: true) != start ||
                    !UserMemory.Populate(start, end - start))
                    return Fail("out of memory for the application image");
                UserMemory.WriteDirect(image.Relocate(segment.Vaddr, loadBase), file + segment.Offset, segment.FileSize);
            }
            UserMemory.SetBreakStart(image.Relocate(image.HighestAddress, loadBase));

            const ulong stackBottom = Layout.UserStackTop - Layout.UserStackSize;
            if (UserMemory.Reserve(stackBottom, Layout.UserStackSize, UserMemory.ProtRead | UserMemory.ProtWrite, RangeKind.Stack, fixedAddress: true) != stackBottom ||
                !UserMemory.Populate(Layout.UserStackTop - StackStaging, StackStaging))
                return Fail("out of memory for the application stack");

            AuxiliaryValues aux = AuxiliaryValues.Defaults();
            aux.Phdr = image.PhdrAddress(loadBase);
            aux.PhNum = image.PhdrCount;
            aux.Entry = image.EntryAddress(loadBase);
            aux.HwCap = Cpu.Features1Edx;
            aux.MinSigStackSize = 2048;
            aux.SysinfoEhdr = VdsoMapping.Map();
            byte* random = stackalloc byte[16];
            EntropySource.Fill(random, 16);
            byte* staging = (byte*)KernelHeap.AllocateZeroed(StackStaging);
            InitialStackError stackError = InitialStack.Build(new Span<byte>(staging, (int)StackStaging), Layout.UserStackTop,
                new ReadOnlySpan<byte>(arguments->Arguments.Bytes, arguments->ArgumentBytes), arguments->ArgumentCount,
                new ReadOnlySpan<byte>(arguments->Environment.Bytes, arguments->EnvironmentBytes), arguments->EnvironmentCount,
                new ReadOnlySpan<byte>(ExePath, ExePathLength), new ReadOnlySpan<byte>(random, 16), in aux, out ulong stackPointer);
            if (stackError != InitialStackError.None)
            {
                KernelHeap.Free(staging);
                return Fail("the arguments and environment do not fit the initial stack");
            }
            ulong used = Layout.UserStackTop - stackPointer;
            UserMemory.WriteDirect(stackPointer, staging + StackStaging - used, used);
            KernelHeap.Free(staging);

            Thread* main = ThreadTable.Create();
            if (main == null) return Fail("out of memory for the main thread");
            InterruptFrame* frame = main->UserFrame;
            *frame = default;
            frame->Rip = aux.Entry;
            frame->Rsp = stackPointer;
            frame->Rflags = UserRflags;
            frame->Cs = Gdt.UserCode;
            frame->Ss = Gdt.UserData;
            InterruptFrame.ResetState(main->UserFxState);
            NameFromPath(main);
            Scheduler.Start(main, ThreadCalls.InterruptExit);

            KernelLog.Begin(); KernelLog.Write("application: "); KernelLog.WriteAscii(ExePath, ExePathLength);
            KernelLog.Write(image.IsPositionIndependent ? " (static-pie at " : " (static at "); KernelLog.Hex(image.Relocate(image.LowestAddress, loadBase));
            KernelLog.Write(", entry "); KernelLog.Hex(aux.Entry); KernelLog.Write("), "); KernelLog.Decimal((ulong)arguments->ArgumentCount);
            KernelLog.Write(" argument(s), "); KernelLog.Decimal((ulong)arguments->EnvironmentCount); KernelLog.Write(" environment variable(s); entered ");
            // Boot to the entry point, also in CLOCK_MONOTONIC's time (which starts a little after
            // kmain), so a program's own clock reading at Main counts from kmain too (docs/image.md).
            KernelLog.Thousandths(Kernel.MicrosecondsSinceBoot); KernelLog.Write(" ms since kmain, at ");
            KernelLog.Thousandths(Clock.Nanoseconds() / 1000); KernelLog.Write(" ms of CLOCK_MONOTONIC");
            KernelLog.End();
            return true;
        }

        // The thread's comm: the executable's file name, at most 15 bytes.
        private static void NameFromPath(Thread* thread)
        {
            int start = ExePathLength;
            while (start > 0 && ExePath[start - 1] != (byte)'/') start--;
            for (int i = 0; i < Thread.NameLength - 1 && start + i < ExePathLength; i++) thread->Name.Bytes[i] = ExePath[start + i];
        }

        private static bool Fail(string why)
        {
            KernelLog.Begin(); KernelLog.Write("cannot run the application: "); KernelLog.Write(why); KernelLog.End();
            return false;
        }
    }
}
