using System;

namespace Libra.Boot
{
    // The kernel command line (QEMU -append): words separated by spaces, each `key` or `key=value`.
    // Words after a lone `--` are not the kernel's (they will be the application's arguments).
    internal static class CommandLine
    {
        // Finds the next word from `position`; false at the end or at `--`.
        internal static bool Next(ReadOnlySpan<char> text, ref int position, out int keyStart, out int keyLength, out int valueStart, out int valueLength)
        {
            keyStart = keyLength = valueStart = valueLength = 0;
            while (position < text.Length && text[position] == ' ') position++;
            if (position >= text.Length) return false;
            int start = position;
            while (position < text.Length && text[position] != ' ') position++;
            int end = position;
            if (end - start == 2 && text[start] == '-' && text[start + 1] == '-') return false;
            keyStart = start;
            int equals = start;
            while (equals < end && text[equals] != '=') equals++;
            keyLength = equals - start;
            valueStart = equals < end ? equals + 1 : end;
            valueLength = equals < end ? end - equals - 1 : -1;
            return true;
        }
    }

    internal enum SelfTest { None, PageFault, Divide, InvalidOpcode, GeneralProtection, Breakpoint, Clock, SerialEcho }

    internal enum OptionResult { Applied, UnknownOption, BadValue }

    // The options Libra understands, all spelled `libra.<name>=<value>`.
    internal struct KernelOptions
    {
        internal const int DefaultTickHz = 100;

        internal SelfTest SelfTest;
        internal int TickHz;
        internal bool TraceSyscalls;
        internal bool PollVirtio;
        internal ulong TmpSize;         // libra.tmp_size: bytes the tmpfs at /tmp may hold (0: half the free memory)
        internal bool NoVdso;
        internal ulong PageCacheSize;   // libra.page_cache: bytes of 9P file data kept (ulong.MaxValue: not given, PageCache decides)
        internal bool ShareReadOnly;    // libra.share=ro: the share at "/" is read-only (run -Share DIR -ReadOnly)
        internal bool NoSideBatching;   // libra.side_batching=off: the Side link's credit and frames go one by one
        internal bool StackAudit;       // libra.stack_audit=on: each system call's deepest kernel stack, in the exit report
        internal uint FailAllocOneIn;   // libra.fail_alloc=N: one kernel heap allocation in N fails once the application runs (0: none)

        internal static KernelOptions Defaults => new KernelOptions { TickHz = DefaultTickHz, PageCacheSize = ulong.MaxValue };

        // Applies one option; valueLength is -1 when the word had no `=`.
        internal OptionResult Apply(ReadOnlySpan<char> key, ReadOnlySpan<char> value, bool hasValue)
        {
            if (Is(key, "libra.selftest"))
            {
                if (!hasValue) return OptionResult.BadValue;
                if (Is(value, "pagefault")) SelfTest = SelfTest.PageFault;
                else if (Is(value, "divide")) SelfTest = SelfTest.Divide;
                else if (Is(value, "invalid-opcode")) SelfTest = SelfTest.InvalidOpcode;
                else if (Is(value, "general-protection")) SelfTest = SelfTest.GeneralProtection;
                else if (Is(value, "breakpoint")) SelfTest = SelfTest.Breakpoint;
                else if (Is(value, "clock")) SelfTest = SelfTest.Clock;
                else if (Is(value, "serial-echo")) SelfTest = SelfTest.SerialEcho;
                else return OptionResult.BadValue;
                return OptionResult.Applied;
            }
            if (Is(key, "libra.tick_hz"))
            {
                if (!hasValue || !Diagnostics.NumberText.TryParse(value, out ulong hz) || hz < 10 || hz > 1000) return OptionResult.BadValue;
                TickHz = (int)hz;
                return OptionResult.Applied;
            }
            if (Is(key, "libra.virtio"))
            {
                if (!hasValue || !Is(value, "poll")) return OptionResult.BadValue;
                PollVirtio = true;
                return OptionResult.Applied;
            }
            if (Is(key, "libra.tmp_size"))
            {
                if (!hasValue || !ParseSize(value, out ulong bytes) || bytes < 4096) return OptionResult.BadValue;
                TmpSize = bytes;
                return OptionResult.Applied;
            }
            // 0 turns the page cache off.
            if (Is(key, "libra.page_cache"))
            {
                if (!hasValue || !ParseSize(value, out ulong bytes)) return OptionResult.BadValue;
                PageCacheSize = bytes;
                return OptionResult.Applied;
            }
            if (Is(key, "libra.share")) return Choose(value, hasValue, "ro", "rw", ref ShareReadOnly);
            // Linux's vdso=0: no vDSO, so the C library makes a system call for every clock read.
            if (Is(key, "libra.vdso"))
            {
                if (!hasValue || !Is(value, "off")) return OptionResult.BadValue;
                NoVdso = true;
                return OptionResult.Applied;
            }
            if (Is(key, "libra.side_batching")) return Choose(value, hasValue, "off", "on", ref NoSideBatching);
            if (Is(key, "libra.stack_audit")) return Choose(value, hasValue, "on", "off", ref StackAudit);
            if (Is(key, "libra.fail_alloc"))
            {
                if (!hasValue || !Diagnostics.NumberText.TryParse(value, out ulong oneIn) || oneIn < 1 || oneIn > uint.MaxValue) return OptionResult.BadValue;
                FailAllocOneIn = (uint)oneIn;
                return OptionResult.Applied;
            }
            if (Is(key, "libra.trace"))
            {
                if (!hasValue || !Is(value, "syscalls")) return OptionResult.BadValue;
                TraceSyscalls = true;
                return OptionResult.Applied;
            }
            return OptionResult.UnknownOption;
        }

        // An option with two values: `chosen` becomes whether it is `yes`; anything but the two is
        // rejected and leaves `chosen` as it was.
        private static OptionResult Choose(ReadOnlySpan<char> value, bool hasValue, string yes, string no, ref bool chosen)
        {
            if (!hasValue || !(Is(value, yes) || Is(value, no))) return OptionResult.BadValue;
            chosen = Is(value, yes);
            return OptionResult.Applied;
        }

        internal const string SelfTestValues = "pagefault, divide, invalid-opcode, general-protection, breakpoint, clock, serial-echo";

        // What a rejected option's value should look like, for the warning.
        internal static string ExpectedValue(ReadOnlySpan<char> key) =>
            Is(key, "libra.selftest") ? "one of: " + SelfTestValues : Is(key, "libra.trace") ? "libra.trace=syscalls" : Is(key, "libra.virtio") ? "libra.virtio=poll" :
            Is(key, "libra.tmp_size") ? "libra.tmp_size=BYTES[K|M|G], at least 4K" : Is(key, "libra.vdso") ? "libra.vdso=off" :
            Is(key, "libra.page_cache") ? "libra.page_cache=BYTES[K|M|G], 0 for none" : Is(key, "libra.share") ? "libra.share=ro|rw" :
            Is(key, "libra.side_batching") ? "libra.side_batching=on|off" : Is(key, "libra.stack_audit") ? "libra.stack_audit=on|off" :
            Is(key, "libra.fail_alloc") ? "libra.fail_alloc=N, one allocation in N fails (N >= 1)" : "libra.tick_hz=10..1000";

        // A byte count with an optional K, M or G (powers of 1024), as tmpfs's size= option.
        internal static bool ParseSize(ReadOnlySpan<char> text, out ulong bytes)
        {
            bytes = 0;
            if (text.Length == 0) return false;
            int shift = text[text.Length - 1] switch { 'K' or 'k' => 10, 'M' or 'm' => 20, 'G' or 'g' => 30, _ => 0 };
            if (shift != 0) text = text.Slice(0, text.Length - 1);
            if (!Diagnostics.NumberText.TryParse(text, out ulong number) || number > (ulong.MaxValue >> shift)) return false;
            bytes = number << shift;
            return true;
        }

        internal static bool Is(ReadOnlySpan<char> text, string expected)
        {
            if (text.Length != expected.Length) return false;
            for (int i = 0; i < text.Length; i++) if (text[i] != expected[i]) return false;
            return true;
        }
    }
}
