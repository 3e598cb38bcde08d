using Libra.Diagnostics;
using Libra.Threads;

namespace Libra.Shims
{
    // How deep each system call goes into its thread's 64 KiB kernel stack (libra.stack_audit=on,
    // issue 13's bound on kernel stack use; off by default, as it writes the whole free stack twice a
    // call). Before the handler runs, the free part of the stack below the dispatcher is painted with
    // a pattern; after it returns, the lowest word no longer holding the pattern is the deepest the
    // call reached (Linux's CONFIG_DEBUG_STACK_USAGE measures the same way, once per thread). A call
    // that blocks is measured when it returns, whatever ran meanwhile on other threads' stacks. The
    // exit report names the deepest call and the five deepest numbers; StackAuditTests boots the
    // syscall fuzzer with it and bounds the result.
    internal static unsafe class StackAudit
    {
        internal static bool Enabled;
        private const ulong Pattern = 0x5354_4b41_5544_4954;      // "STKAUDIT"
        // Left unpainted below the painter's own frame: its locals and the call that returns from it.
        private const ulong Margin = 256;

        private struct Depths { internal fixed uint Bytes[SyscallTable.Size]; }
        private static Depths s_depths;

        // Paints the free stack of `self` (called just before the handler, from SystemCalls.Dispatch).
        internal static void Paint(Thread* self)
        {
            ulong here = (ulong)&self;
            ulong bottom = self->KernelStackTop - ThreadTable.KernelStackSize;
            for (ulong* word = (ulong*)bottom; (ulong)word < here - Margin; word++) *word = Pattern;
        }

        // Records how deep the call `number` went since Paint.
        internal static void Measure(Thread* self, ulong number)
        {
            ulong bottom = self->KernelStackTop - ThreadTable.KernelStackSize;
            ulong* word = (ulong*)bottom;
            while (*word == Pattern) word++;
            uint depth = (uint)(self->KernelStackTop - (ulong)word);
            if (number < SyscallTable.Size && depth > s_depths.Bytes[number]) s_depths.Bytes[number] = depth;
        }

        // "kernel stack: deepest N of 65536 bytes, by NAME; then NAME N, ..." (six calls) in the exit report.
        internal static void Report()
        {
            if (!Enabled) return;
            uint shownBelow = uint.MaxValue;      // each pass picks the deepest call under the last one shown
            for (int shown = 0; shown < 6; shown++)
            {
                int deepest = -1;
                for (int n = 0; n < SyscallTable.Size; n++)
                {
                    uint depth = s_depths.Bytes[n];
                    if (depth != 0 && depth < shownBelow && (deepest < 0 || depth > s_depths.Bytes[deepest])) deepest = n;
                }
                if (deepest < 0) break;
                uint bytes = s_depths.Bytes[deepest];
                if (shown == 0)
                {
                    KernelLog.Begin(); KernelLog.Write("kernel stack: deepest "); KernelLog.Decimal(bytes); KernelLog.Write(" of ");
                    KernelLog.Decimal(ThreadTable.KernelStackSize); KernelLog.Write(" bytes, by "); WriteName(deepest);
                }
                else
                {
                    KernelLog.Write(shown == 1 ? "; then " : ", ");
                    WriteName(deepest); KernelLog.Write(" "); KernelLog.Decimal(bytes);
                }
                shownBelow = bytes;
            }
            if (shownBelow != uint.MaxValue) KernelLog.End();
        }

        private static void WriteName(int number)
        {
            if (SyscallTable.Lookup((ulong)number, out SyscallEntry entry) && entry.Name != null) KernelLog.Write(entry.Name);
            else { KernelLog.Write("syscall "); KernelLog.Decimal((ulong)number); }
        }
    }
}
