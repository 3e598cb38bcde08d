using System.Runtime;
using Libra.Arch.X64;
using Libra.Diagnostics;
using Libra.Signals;
using Libra.Threads;

namespace Libra.Shims
{
    // The SYSCALL entry's C# half: look the number up in the table, run the handler, store the
    // result in RAX, deliver pending signals, and tell the entry stub how to leave (SyscallReturn). Unknown or unimplemented calls answer ENOSYS and are
    // reported once each; with libra.trace=syscalls every call is logged like strace.
    internal static unsafe class SystemCalls
    {
        internal static bool Trace;
        private const int RtSigreturn = 15;

        private struct Reported { internal fixed ulong Bits[SyscallTable.Size / 64]; }
        private static Reported s_reported;

        [RuntimeExport("libra_syscall")]
        private static int Dispatch(InterruptFrame* frame)
        {
            Thread* self = Scheduler.Current;
            self->UserVectorsLive = true;       // the entry saved XMM0-15 only (Arch/X64/UserVectorState.cs)
            Diagnostics.CostCounters.Syscalls++;
            ulong number = frame->Rax;
            self->SyscallNumber = number;
            SyscallArgs args;
            args.A0 = frame->Rdi; args.A1 = frame->Rsi; args.A2 = frame->Rdx;
            args.A3 = frame->R10; args.A4 = frame->R8; args.A5 = frame->R9;
            args.Frame = frame;

            long result;
            bool known = SyscallTable.Lookup(number, out SyscallEntry entry);
            if (known && entry.Handler != null)
            {
                if (Trace) TraceStart(self, entry, &args);
                result = entry.Handler(&args);
            }
            else
            {
                ReportUnimplemented(number, entry.Name);
                if (Trace) TraceStart(self, entry, &args);
                result = -Errno.ENOSYS;
            }
            if (Trace) TraceEnd(result);
            frame->Rax = (ulong)result;
            Scheduler.BeforeUserReturn();
            SignalDelivery.BeforeUserReturn(frame, result == -Errno.ERESTARTSYS && number != RtSigreturn);
            int exit = self->UserVectorsLive ? 0 : SyscallReturn.RestoreWholeVectorState;
            if (!SyscallReturn.CanSysret(frame->Rip, frame->Rflags, frame->Rcx, frame->R11,
                    frame->Cs == Gdt.UserCode && frame->Ss == Gdt.UserData))
                exit |= SyscallReturn.NeedsIret;
            return exit;
        }

        private static void ReportUnimplemented(ulong number, string name)
        {
            if (number < SyscallTable.Size)
            {
                ulong bit = 1ul << (int)(number % 64);
                ulong* bits = ReportedBits();
                if ((bits[number / 64] & bit) != 0) return;
                bits[number / 64] |= bit;
            }
            KernelLog.Begin(); KernelLog.Write("syscall not implemented: ");
            KernelLog.Write(name);
            KernelLog.Write(" ("); KernelLog.Decimal(number);
            KernelLog.Write("), answering ENOSYS"); KernelLog.End();
        }

        private static ulong* ReportedBits()
        {
            fixed (Reported* reported = &s_reported) return reported->Bits;
        }

        private static void TraceStart(Thread* self, SyscallEntry entry, SyscallArgs* args)
        {
            KernelLog.Write("libra: ["); KernelLog.Decimal((ulong)self->Tid); KernelLog.Write("] ");
            KernelLog.Write(entry.Name);
            KernelLog.Write('(');
            ulong* values = &args->A0;
            for (int i = 0; i < entry.ArgumentCount; i++)
            {
                if (i > 0) KernelLog.Write(", ");
                WriteArgument(values[i]);
            }
            KernelLog.Write(") = ");
        }

        private static void TraceEnd(long result)
        {
            if (result < 0 && result > -4096)
            {
                KernelLog.Write("-1 "); KernelLog.Write(Errno.Name(-result));
            }
            else WriteArgument((ulong)result);
            KernelLog.End();
        }

        private static void WriteArgument(ulong value)
        {
            if (value < 0x10000) KernelLog.Decimal(value);
            else if ((long)value < 0 && (long)value > -4096) { KernelLog.Write('-'); KernelLog.Decimal((ulong)-(long)value); }
            else KernelLog.Hex(value, value >> 32 == 0 ? 8 : 16);
        }
    }
}
