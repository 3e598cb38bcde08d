using System;

namespace Libra.Shims
{
    // What an argument of a traced system call is, so libra.trace=syscalls prints it as strace does.
    internal enum TraceArgument : byte
    {
        Number,         // decimal when small, -N for an error-like value, else hexadecimal
        Path,           // a NUL-terminated string: "/etc/hosts"
        DirectoryFd,    // a dirfd: AT_FDCWD by name, else a number
        Input,          // bytes the call reads from the caller, as many as the next argument says
        Output,         // bytes the call writes for the caller, as many as it returns (shown after it)
    }

    // strace's view of the calls that name files or move bytes (x86-64 numbers, syscall_64.tbl), and
    // its quoting of strings (strace's print_quoted_string: C escapes, \ooo for other bytes, at most
    // -s 32 bytes of a buffer, then "..."). Host-tested in tests/Libra.Tests/Unit/SyscallTraceFormatTests.cs.
    internal static class SyscallTraceFormat
    {
        internal const int BufferLimit = 32;        // strace's default -s
        internal const int PathLimit = 256;
        internal const long AtFdCwd = -100;

        // The kinds of a call's arguments, four bits each from the first; 0 (all numbers) for the rest.
        internal static uint Kinds(ulong number) => number switch
        {
            0 or 17 or 45 => Pack(TraceArgument.Number, TraceArgument.Output),          // read, pread64, recvfrom
            1 or 18 or 44 => Pack(TraceArgument.Number, TraceArgument.Input),           // write, pwrite64, sendto
            2 or 4 or 6 or 21 or 59 or 76 or 80 or 83 or 84 or 85 or 87 or 90 or 92 or 94 or 133 or 137 or 161 or 194 =>
                Pack(TraceArgument.Path),   // open, stat, lstat, access, execve, truncate, chdir, mkdir, rmdir, creat, unlink, chmod, chown, lchown, mknod, statfs, chroot, listxattr
            82 or 86 or 88 or 188 or 191 or 192 => Pack(TraceArgument.Path, TraceArgument.Path),    // rename, link, symlink, setxattr, getxattr, lgetxattr
            89 => Pack(TraceArgument.Path, TraceArgument.Output),                        // readlink
            79 => Pack(TraceArgument.Output),                                            // getcwd
            257 or 258 or 259 or 260 or 262 or 263 or 268 or 269 or 280 or 322 or 332 or 437 or 439 =>
                Pack(TraceArgument.DirectoryFd, TraceArgument.Path),   // openat, mkdirat, mknodat, fchownat, newfstatat, unlinkat, fchmodat, faccessat, utimensat, execveat, statx, openat2, faccessat2
            264 or 265 or 316 => Pack(TraceArgument.DirectoryFd, TraceArgument.Path, TraceArgument.DirectoryFd, TraceArgument.Path),  // renameat, linkat, renameat2
            266 => Pack(TraceArgument.Path, TraceArgument.DirectoryFd, TraceArgument.Path),          // symlinkat
            267 => Pack(TraceArgument.DirectoryFd, TraceArgument.Path, TraceArgument.Output),        // readlinkat
            _ => 0,
        };

        internal static TraceArgument Kind(uint kinds, int index) => (TraceArgument)((kinds >> (4 * index)) & 0xf);

        // Whether the call is shown after it returns (it writes bytes for the caller) rather than before.
        internal static bool ShownAfter(uint kinds)
        {
            for (int i = 0; i < 6; i++) if (Kind(kinds, i) == TraceArgument.Output) return true;
            return false;
        }

        private static uint Pack(TraceArgument a, TraceArgument b = 0, TraceArgument c = 0, TraceArgument d = 0) =>
            (uint)a | (uint)b << 4 | (uint)c << 8 | (uint)d << 12;

        // `data` quoted into `output` (room for 4 bytes per input byte and 5 more): its length. A
        // `truncated` string ends with "..." after the closing quote, as strace shows one cut at -s.
        internal static int Quote(ReadOnlySpan<byte> data, bool truncated, Span<byte> output)
        {
            int n = 0;
            output[n++] = (byte)'"';
            for (int i = 0; i < data.Length; i++)
            {
                byte b = data[i];
                char escape = b switch { (byte)'"' => '"', (byte)'\\' => '\\', (byte)'\n' => 'n', (byte)'\t' => 't', (byte)'\r' => 'r', 0x0b => 'v', 0x0c => 'f', _ => '\0' };
                if (escape != '\0') { output[n++] = (byte)'\\'; output[n++] = (byte)escape; continue; }
                if (b >= 0x20 && b < 0x7f) { output[n++] = b; continue; }
                // \ooo, with as few digits as say it unless an octal digit follows (then all three).
                bool digitNext = i + 1 < data.Length && data[i + 1] >= (byte)'0' && data[i + 1] <= (byte)'7';
                output[n++] = (byte)'\\';
                if (digitNext || b >= 64) output[n++] = (byte)('0' + (b >> 6));
                if (digitNext || b >= 8) output[n++] = (byte)('0' + ((b >> 3) & 7));
                output[n++] = (byte)('0' + (b & 7));
            }
            output[n++] = (byte)'"';
            if (truncated) { output[n++] = (byte)'.'; output[n++] = (byte)'.'; output[n++] = (byte)'.'; }
            return n;
        }
    }
}
