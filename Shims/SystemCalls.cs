using System;
using System.Runtime;
using Libra.Arch.X64;
using Libra.Diagnostics;
using Libra.Memory;
using Libra.Signals;
using Libra.Threads;

namespace Libra.Shims
{
    // The SYSCALL entry's C# half: look the number up in the table, run the handler, store the
    // result in RAX, deliver pending signals, and tell the entry stub how to leave (SyscallReturn).
    // Unknown or unimplemented calls answer ENOSYS and are reported once each, as are the table's
    // stubs (accepted, not done); with libra.trace=syscalls every call is logged like strace.
    internal static unsafe class SystemCalls
    {
        internal static bool Trace;
        private const int RtSigreturn = 15;

        private struct Reported { internal fixed ulong Bits[SyscallTable.Size / 64]; }
        private static Reported s_reported;
        private const int ReportedBeyondTableLimit = 16;
        private static int s_reportedBeyondTable;

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
                if (entry.Support == SyscallSupport.Stub) ReportOnce(number, entry.Name, "syscall accepted but not implemented: ", "), answering success without doing it");
                if (Trace) TraceStart(self, entry, &args);
                if (StackAudit.Enabled)
                {
                    StackAudit.Paint(self);
                    result = entry.Handler(&args);
                    StackAudit.Measure(self, number);
                }
                else result = entry.Handler(&args);
            }
            else
            {
                ReportOnce(number, entry.Name, "syscall not implemented: ", "), answering ENOSYS");
                if (Trace) TraceStart(self, entry, &args);
                result = -Errno.ENOSYS;
            }
            if (self->HeldFileCount > 0) FileTable.ReleaseHeld(self);
            if (Trace) TraceEnd(self, entry, &args, result);
            frame->Rax = (ulong)result;
            Scheduler.BeforeUserReturn();
            int restart = number == RtSigreturn ? SignalDelivery.NoRestart
                : result == -Errno.ERESTARTSYS ? SignalDelivery.RestartIfSaRestart
                : result == -Errno.ERESTARTNOHAND ? SignalDelivery.RestartIfNoHandler : SignalDelivery.NoRestart;
            SignalDelivery.BeforeUserReturn(frame, restart);
            int exit = self->UserVectorsLive ? 0 : SyscallReturn.RestoreWholeVectorState;
            if (!SyscallReturn.CanSysret(frame->Rip, frame->Rflags, frame->Rcx, frame->R11,
                    frame->Cs == Gdt.UserCode && frame->Ss == Gdt.UserData))
                exit |= SyscallReturn.NeedsIret;
            return exit;
        }

        // One kernel-log line the first time a call that is not (fully) implemented is made.
        private static void ReportOnce(ulong number, string name, string what, string answer)
        {
            if (number < SyscallTable.Size)
            {
                ulong bit = 1ul << (int)(number % 64);
                ulong* bits = ReportedBits();
                if ((bits[number / 64] & bit) != 0) return;
                bits[number / 64] |= bit;
            }
            // Numbers past the table have no bit: only the first few are told, or a program trying
            // them all (the fuzzer does) floods the log, one slow port write per byte.
            else if (++s_reportedBeyondTable > ReportedBeyondTableLimit) return;
            KernelLog.Begin(); KernelLog.Write(what);
            KernelLog.Write(name);
            KernelLog.Write(" ("); KernelLog.Decimal(number);
            KernelLog.Write(answer); KernelLog.End();
        }

        private static ulong* ReportedBits()
        {
            fixed (Reported* reported = &s_reported) return reported->Bits;
        }

        // A call is shown before it runs ("name(args) = ", so one that blocks or never returns is
        // seen), and its result after; one that writes bytes for the caller (read, readlink) is shown
        // whole after it returns, with those bytes. Paths and buffers are decoded as strace shows them.
        private static void TraceStart(Thread* self, SyscallEntry entry, SyscallArgs* args)
        {
            if (SyscallTraceFormat.ShownAfter(SyscallTraceFormat.Kinds(self->SyscallNumber))) return;
            TraceCall(self, entry, args, 0);
        }

        private static void TraceEnd(Thread* self, SyscallEntry entry, SyscallArgs* args, long result)
        {
            if (SyscallTraceFormat.ShownAfter(SyscallTraceFormat.Kinds(self->SyscallNumber))) TraceCall(self, entry, args, result);
            if (result < 0 && result > -4096)
            {
                KernelLog.Write("-1 "); KernelLog.Write(Errno.Name(-result));
            }
            else WriteNumber((ulong)result);
            KernelLog.End();
        }

        private static void TraceCall(Thread* self, SyscallEntry entry, SyscallArgs* args, long result)
        {
            KernelLog.Write("libra: ["); KernelLog.Decimal((ulong)self->Tid); KernelLog.Write("] ");
            KernelLog.Write(entry.Name);
            KernelLog.Write('(');
            uint kinds = SyscallTraceFormat.Kinds(self->SyscallNumber);
            const int TextMax = 256;
            byte* text = stackalloc byte[TextMax];
            ulong* values = &args->A0;
            for (int i = 0; i < entry.ArgumentCount; i++)
            {
                if (i > 0) KernelLog.Write(", ");
                switch (SyscallTraceFormat.Kind(kinds, i))
                {
                    case TraceArgument.Path: WritePath(values[i]); break;
                    case TraceArgument.DirectoryFd:
                        if ((int)values[i] == SyscallTraceFormat.AtFdCwd) KernelLog.Write("AT_FDCWD");
                        else WriteNumber(values[i]);
                        break;
                    case TraceArgument.Input: WriteBuffer(values[i], i + 1 < entry.ArgumentCount ? values[i + 1] : 0); break;
                    case TraceArgument.Output: if (result >= 0) WriteBuffer(values[i], (ulong)result); else WriteNumber(values[i]); break;
                    case TraceArgument.OpenFlags:
                        KernelLog.WriteAscii(text, SyscallTraceFormat.OpenFlags((uint)values[i], new Span<byte>(text, TextMax)));
                        // The mode that follows only with O_CREAT or O_TMPFILE, as strace shows open.
                        if (!SyscallTraceFormat.Creates((uint)values[i])) { KernelLog.Write(") = "); return; }
                        break;
                    case TraceArgument.Mode:
                        KernelLog.WriteAscii(text, SyscallTraceFormat.Mode((uint)values[i], new Span<byte>(text, TextMax)));
                        break;
                    default: WriteNumber(values[i]); break;
                }
            }
            KernelLog.Write(") = ");
        }

        private static void WriteNumber(ulong value)
        {
            if (value < 0x10000) KernelLog.Decimal(value);
            else if ((long)value < 0 && (long)value > -4096) { KernelLog.Write('-'); KernelLog.Decimal((ulong)-(long)value); }
            else KernelLog.Hex(value, value >> 32 == 0 ? 8 : 16);
        }

        // A user string, quoted; its address when it cannot be read (strace does the same).
        private static void WritePath(ulong address)
        {
            byte* text = stackalloc byte[SyscallTraceFormat.PathLimit + 1];
            int length = address == 0 ? -1 : UserMemory.CopyStringFromUser(address, text, SyscallTraceFormat.PathLimit + 1);
            if (length == -1) { WriteNumber(address); return; }
            WriteQuoted(text, length < 0 ? SyscallTraceFormat.PathLimit : length, truncated: length < 0);
        }

        // The first BufferLimit bytes of a user buffer, quoted.
        private static void WriteBuffer(ulong address, ulong length)
        {
            byte* data = stackalloc byte[SyscallTraceFormat.BufferLimit];
            int shown = length > SyscallTraceFormat.BufferLimit ? SyscallTraceFormat.BufferLimit : (int)length;
            if (address == 0 || !UserMemory.CopyFromUser(data, address, (ulong)shown)) { WriteNumber(address); return; }
            WriteQuoted(data, shown, truncated: (ulong)shown < length);
        }

        private static void WriteQuoted(byte* data, int length, bool truncated)
        {
            int capacity = length * 4 + 5;
            byte* quoted = stackalloc byte[SyscallTraceFormat.PathLimit * 4 + 5];
            int n = SyscallTraceFormat.Quote(new ReadOnlySpan<byte>(data, length), truncated, new Span<byte>(quoted, capacity));
            KernelLog.WriteAscii(quoted, n);
        }
    }
}
