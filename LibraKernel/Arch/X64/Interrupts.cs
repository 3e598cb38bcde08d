using System.Runtime;
using Libra.Diagnostics;
using Libra.Memory;
using Libra.Signals;
using Libra.Threads;

namespace Libra.Arch.X64
{
    // Where every interrupt and exception lands after its stub (Arch/X64/Interrupts.S). A fault in
    // ring 3 becomes the signal Linux would send; a page fault on an application area commits the
    // page (from either ring); a device's vector goes to the handler it registered (DeviceInterrupts);
    // anything else in the kernel is a panic.
    internal static unsafe class Interrupts
    {
        private const int DivideError = 0, Debug = 1, NonMaskable = 2, Breakpoint = 3, Overflow = 4, BoundRange = 5, InvalidOpcode = 6,
            GeneralProtection = 13, PageFault = 14, X87Error = 16, AlignmentCheck = 17, SimdError = 19, StackFault = 12;

        [RuntimeExport("libra_interrupt")]
        private static void Dispatch(InterruptFrame* frame)
        {
            int vector = (int)frame->Vector;
            if (vector == LocalApic.TimerVector)
            {
                LocalApic.EndOfInterrupt();
                Scheduler.Tick(frame->FromUser);
            }
            else if (vector == LocalApic.SpuriousVector) return;
            // An NMI is the host asking what the kernel is doing (QEMU's inject-nmi): print, go on.
            // Nothing else here: it may have interrupted the kernel anywhere, even the scheduler.
            else if (vector == NonMaskable) { StateDump.Print(frame); return; }
            else if (DeviceInterrupts.Covers(vector)) DeviceInterrupts.Dispatch(vector);
            else if (vector == PageFault)
            {
                ulong address = Native.ReadCr2();
                bool mapped = false;
                bool allowed = address < Layout.UserEnd && UserMemory.HandleFault(address, frame->ErrorCode, out mapped);
                if (!allowed)
                {
                    if (!frame->FromUser && !RecoverUserCopy(frame, address)) Panic.Fault(frame);
                    if (!frame->FromUser) return;
                    SignalDelivery.RaiseFault(frame, SignalDelivery.SIGSEGV,
                        mapped ? SignalDelivery.SEGV_ACCERR : SignalDelivery.SEGV_MAPERR, address, address);
                }
            }
            else if (frame->FromUser && vector < Idt.FirstExternalVector) RaiseUserFault(frame, vector);
            else if (vector < Idt.FirstExternalVector) Panic.Fault(frame);
            if (frame->FromUser)
            {
                Scheduler.BeforeUserReturn();
                SignalDelivery.BeforeUserReturn(frame);
            }
        }

        // A kernel copy to or from the application's memory that met a page its areas do not allow
        // (a concurrent munmap or mprotect): it resumes at its fixup and returns failure (EFAULT to the
        // caller), as Linux's fixup_exception does; demand paging had its chance before this.
        private static bool RecoverUserCopy(InterruptFrame* frame, ulong address)
        {
            if (address >= Layout.UserEnd) return false;
            ulong fixup = Native.UserCopyFixup(frame->Rip);
            if (fixup == 0) return false;
            frame->Rip = fixup;
            return true;
        }

        // The signal, si_code and si_addr Linux gives each CPU exception (arch/x86/kernel/traps.c).
        private static void RaiseUserFault(InterruptFrame* frame, int vector)
        {
            int signal, code = 0;
            ulong address = frame->Rip;
            switch (vector)
            {
                case DivideError: signal = SignalDelivery.SIGFPE; code = SignalDelivery.FPE_INTDIV; break;
                case Debug: case Breakpoint: signal = SignalDelivery.SIGTRAP; code = SignalDelivery.TRAP_BRKPT; break;
                case InvalidOpcode: signal = SignalDelivery.SIGILL; code = SignalDelivery.ILL_ILLOPN; break;
                case X87Error: case SimdError: signal = SignalDelivery.SIGFPE; break;
                case AlignmentCheck: signal = SignalDelivery.SIGBUS; code = SignalDelivery.BUS_ADRALN; break;
                // #GP and the rest: SIGSEGV with si_addr 0, as Linux reports a general protection fault.
                default: signal = SignalDelivery.SIGSEGV; code = 0x80; address = 0; break;
            }
            SignalDelivery.RaiseFault(frame, signal, code, address, 0);
        }
    }
}
