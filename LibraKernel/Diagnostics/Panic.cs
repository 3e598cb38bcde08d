using Libra.Arch.X64;
using Libra.Memory;

namespace Libra.Diagnostics
{
    // The end of the line for a broken invariant or an unexpected CPU exception: one report that says
    // why (the exception's name, error code and faulting address), where (the function, by name from
    // the image's symbols, and a backtrace unwound by the image's .eh_frame), and every register; then QEMU exits
    // with PanicExitStatus.
    internal static unsafe class Panic
    {
        internal const int PanicExitStatus = 125;
        private const int MaxFrames = 32;
        private static bool s_inPanic;

        // A kernel invariant broke: report it from the caller's point of view and stop.
        internal static void Halt(string why)
        {
            Native.DisableInterrupts();
            if (Enter())
            {
                KernelLog.Begin(); KernelLog.Write("PANIC: "); KernelLog.Write(why); KernelLog.End();
                ulong* context = stackalloc ulong[3];
                Native.CaptureContext(context);
                KernelLog.Line("  backtrace:");
                Backtrace(context[0], context[1], context[2], 0, exactFirstPc: false);
            }
            Stop();
        }

        // A CPU exception the kernel cannot handle.
        internal static void Fault(InterruptFrame* frame)
        {
            if (Enter()) Report(frame);
            Stop();
        }

        private static bool Enter()
        {
            if (s_inPanic)
            {
                KernelLog.Line("PANIC: fault during panic; stopping");
                return false;
            }
            s_inPanic = true;
            return true;
        }

        private static void Report(InterruptFrame* f)
        {
            int vector = (int)f->Vector;
            KernelLog.Begin();
            KernelLog.Write("PANIC: "); KernelLog.Write(ExceptionName(vector));
            KernelLog.Write(" (#"); KernelLog.Write(ExceptionMnemonic(vector)); KernelLog.Write(", vector ");
            KernelLog.Decimal((ulong)vector); KernelLog.Write(") in ");
            KernelLog.Write((f->Cs & 3) == 3 ? "user mode" : "kernel mode");
            KernelLog.End();

            if (HasErrorCode(vector))
            {
                KernelLog.Begin(); KernelLog.Write("  error code "); KernelLog.Hex(f->ErrorCode, 4);
                if (vector == 14) DescribePageFault(f->ErrorCode);
                KernelLog.End();
            }
            ulong address = vector == 14 ? Native.ReadCr2() : f->Rip;
            KernelLog.Begin(); KernelLog.Write(vector == 14 ? "  faulting address " : "  at address "); KernelLog.Hex(address); KernelLog.End();
            KernelLog.Begin(); KernelLog.Write("  in "); WriteSymbol(f->Rip); KernelLog.End();

            Registers(f);

            KernelLog.Line("  backtrace:");
            KernelLog.Begin(); KernelLog.Write("    #0  "); KernelLog.Hex(f->Rip); KernelLog.Write(' '); WriteSymbol(f->Rip); KernelLog.End();
            Backtrace(f->Rip, f->Rsp, f->Rbp, 1, exactFirstPc: true);
        }

        // Every register of an interrupted context, three to a line.
        internal static void Registers(InterruptFrame* f)
        {
            KernelLog.Line("  registers:");
            Register("rax", f->Rax, "rbx", f->Rbx, "rcx", f->Rcx);
            Register("rdx", f->Rdx, "rsi", f->Rsi, "rdi", f->Rdi);
            Register("rbp", f->Rbp, "rsp", f->Rsp, "r8 ", f->R8);
            Register("r9 ", f->R9, "r10", f->R10, "r11", f->R11);
            Register("r12", f->R12, "r13", f->R13, "r14", f->R14);
            Register("r15", f->R15, "rip", f->Rip, "rfl", f->Rflags);
            Register("cs ", f->Cs, "ss ", f->Ss, "cr0", Native.ReadCr0());
            Register("cr2", Native.ReadCr2(), "cr3", Native.ReadCr3(), "cr4", Native.ReadCr4());
        }

        // Walks the stack from (pc, rsp, rbp) and prints each caller. A function with call frame
        // information in .eh_frame (all of ILC's code) is unwound by it; otherwise a faulting leaf is
        // taken to have its return address at [rsp], and anything else to keep an RBP frame.
        private static void Backtrace(ulong pc, ulong rsp, ulong rbp, int firstFrame, bool exactFirstPc)
        {
            Memory.ImageLayout* image = Native.GetImageLayout();
            var frames = new EhFrame((byte*)image->EhFrameStart, image->EhFrameEnd - image->EhFrameStart, image->EhFrameStart);
            for (int i = firstFrame; i < firstFrame + MaxFrames; i++)
            {
                bool first = i == firstFrame;
                ulong returnAddress, callerRsp, callerRbp = rbp;
                if (frames.FindRule(first && exactFirstPc ? pc : pc - 1, out UnwindRule rule))
                {
                    ulong basis = rule.CfaRegister == UnwindRule.Rsp ? rsp : rule.CfaRegister == UnwindRule.Rbp ? rbp : 0;
                    ulong cfa = basis + (ulong)rule.CfaOffset;
                    if (basis == 0 || !IsKernelAddress(cfa + (ulong)rule.ReturnAddressOffset)) break;
                    returnAddress = *(ulong*)(cfa + (ulong)rule.ReturnAddressOffset);
                    if (rule.RbpSaved) callerRbp = *(ulong*)(cfa + (ulong)rule.RbpOffset);
                    callerRsp = cfa;
                }
                else if (first && exactFirstPc && IsKernelAddress(rsp))
                {
                    returnAddress = *(ulong*)rsp;
                    callerRsp = rsp + 8;
                }
                else
                {
                    if (!IsKernelAddress(rbp) || (rbp & 7) != 0) break;
                    returnAddress = ((ulong*)rbp)[1];
                    callerRbp = ((ulong*)rbp)[0];
                    callerRsp = rbp + 16;
                }
                if (returnAddress < image->TextStart || returnAddress >= image->TextEnd) break;
                KernelLog.Begin(); KernelLog.Write("    #"); KernelLog.Decimal((ulong)i); KernelLog.Write(i < 10 ? "  " : " ");
                KernelLog.Hex(returnAddress); KernelLog.Write(' '); WriteSymbol(returnAddress - 1); KernelLog.End();
                pc = returnAddress;
                rsp = callerRsp;
                rbp = callerRbp;
            }
        }

        private static bool IsKernelAddress(ulong address) =>
            address >= Layout.KernelImageBase || (address >= Layout.DirectMapBase && address < Layout.DirectMapBase + (1ul << 46)) ||
            (address >= Layout.KernelStacksBase && address < Layout.KernelStacksBase + (1ul << 39));

        private static void WriteSymbol(ulong address)
        {
            SymbolTable symbols = KernelSymbols.Table;
            if (symbols.Lookup(address, out byte* name, out ulong offset))
            {
                KernelLog.WriteAscii(name, 512);
                KernelLog.Write('+'); KernelLog.Hex(offset, 4);
            }
            else KernelLog.Write("?? (no symbol)");
        }

        private static void Register(string n1, ulong v1, string n2, ulong v2, string n3, ulong v3)
        {
            KernelLog.Begin();
            KernelLog.Write("    "); KernelLog.Write(n1); KernelLog.Write(' '); KernelLog.Hex(v1);
            KernelLog.Write("  "); KernelLog.Write(n2); KernelLog.Write(' '); KernelLog.Hex(v2);
            KernelLog.Write("  "); KernelLog.Write(n3); KernelLog.Write(' '); KernelLog.Hex(v3);
            KernelLog.End();
        }

        private static void DescribePageFault(ulong error)
        {
            KernelLog.Write((error & 1) != 0 ? " (protection violation" : " (page not present");
            KernelLog.Write((error & 2) != 0 ? ", write" : ", read");
            if ((error & 16) != 0) KernelLog.Write(", instruction fetch");
            KernelLog.Write((error & 4) != 0 ? ", user)" : ", kernel)");
        }

        private static void Stop() => Kernel.Exit(PanicExitStatus);

        internal static bool HasErrorCode(int vector) => vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 || vector == 21 || vector == 29 || vector == 30;

        internal static string ExceptionName(int vector) => vector switch
        {
            0 => "divide error", 1 => "debug", 2 => "non-maskable interrupt", 3 => "breakpoint", 4 => "overflow",
            5 => "bound range exceeded", 6 => "invalid opcode", 7 => "device not available", 8 => "double fault",
            10 => "invalid TSS", 11 => "segment not present", 12 => "stack-segment fault", 13 => "general protection fault",
            14 => "page fault", 16 => "x87 floating-point error", 17 => "alignment check", 18 => "machine check",
            19 => "SIMD floating-point exception", 20 => "virtualization exception", 21 => "control protection exception",
            _ => vector < 32 ? "reserved exception" : "unexpected interrupt",
        };

        internal static string ExceptionMnemonic(int vector) => vector switch
        {
            0 => "DE", 1 => "DB", 2 => "NMI", 3 => "BP", 4 => "OF", 5 => "BR", 6 => "UD", 7 => "NM", 8 => "DF",
            10 => "TS", 11 => "NP", 12 => "SS", 13 => "GP", 14 => "PF", 16 => "MF", 17 => "AC", 18 => "MC",
            19 => "XM", 20 => "VE", 21 => "CP", _ => "??",
        };
    }
}
