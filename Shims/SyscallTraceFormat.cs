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
        OpenFlags,      // open's flags by name: O_RDONLY|O_CREAT|O_CLOEXEC
        Mode,           // a file mode in octal: 0644 (open's only with O_CREAT or O_TMPFILE, as strace)
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
            2 => Pack(TraceArgument.Path, TraceArgument.OpenFlags, TraceArgument.Mode),  // open
            83 or 85 or 90 => Pack(TraceArgument.Path, TraceArgument.Mode),              // mkdir, creat, chmod
            4 or 6 or 21 or 59 or 76 or 80 or 84 or 87 or 92 or 94 or 133 or 137 or 161 or 194 =>
                Pack(TraceArgument.Path),   // stat, lstat, access, execve, truncate, chdir, rmdir, unlink, chown, lchown, mknod, statfs, chroot, listxattr
            82 or 86 or 88 or 188 or 191 or 192 => Pack(TraceArgument.Path, TraceArgument.Path),    // rename, link, symlink, setxattr, getxattr, lgetxattr
            89 => Pack(TraceArgument.Path, TraceArgument.Output),                        // readlink
            79 => Pack(TraceArgument.Output),                                            // getcwd
            257 => Pack(TraceArgument.DirectoryFd, TraceArgument.Path, TraceArgument.OpenFlags, TraceArgument.Mode),   // openat
            258 or 268 => Pack(TraceArgument.DirectoryFd, TraceArgument.Path, TraceArgument.Mode),                     // mkdirat, fchmodat
            259 or 260 or 262 or 263 or 269 or 280 or 322 or 332 or 437 or 439 =>
                Pack(TraceArgument.DirectoryFd, TraceArgument.Path),   // mknodat, fchownat, newfstatat, unlinkat, faccessat, utimensat, execveat, statx, openat2, faccessat2
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

        // open's flags (include/uapi/asm-generic/fcntl.h) as strace names them, into `output`: the length.
        internal static int OpenFlags(uint flags, Span<byte> output)
        {
            int n = 0;
            uint access = flags & 3;
            n = Append(output, n, access == 0 ? "O_RDONLY" : access == 1 ? "O_WRONLY" : access == 2 ? "O_RDWR" : "O_ACCMODE");
            flags &= ~3u;
            // Two names that stand for more than one bit come first: O_TMPFILE (with O_DIRECTORY), O_SYNC (with O_DSYNC).
            if ((flags & 0x410000) == 0x410000) { n = Append(output, n, "|O_TMPFILE"); flags &= ~0x410000u; }
            if ((flags & 0x101000) == 0x101000) { n = Append(output, n, "|O_SYNC"); flags &= ~0x101000u; }
            for (int bit = 6; bit < 32; bit++)
            {
                uint value = 1u << bit;
                if ((flags & value) == 0) continue;
                int named = AppendFlag(output, n, bit);
                if (named == n) continue;
                n = named;
                flags &= ~value;
            }
            if (flags != 0)
            {
                n = Append(output, n, "|0x");
                n = Hex(output, n, flags);
            }
            return n;
        }

        // The name of the flag that is bit `bit` (6 to 21) after a "|"; n unchanged when it has none.
        private static int AppendFlag(Span<byte> output, int n, int bit)
        {
            string name = bit switch
            {
                6 => "|O_CREAT", 7 => "|O_EXCL", 8 => "|O_NOCTTY", 9 => "|O_TRUNC", 10 => "|O_APPEND", 11 => "|O_NONBLOCK", 12 => "|O_DSYNC",
                13 => "|O_ASYNC", 14 => "|O_DIRECT", 15 => "|O_LARGEFILE", 16 => "|O_DIRECTORY", 17 => "|O_NOFOLLOW", 18 => "|O_NOATIME",
                19 => "|O_CLOEXEC", 21 => "|O_PATH", _ => "",
            };
            return Append(output, n, name);
        }

        // Whether open's mode argument means anything (strace leaves it out otherwise).
        internal static bool Creates(uint flags) => (flags & 0x40) != 0 || (flags & 0x410000) == 0x410000;

        // A mode in octal with a leading 0, as strace writes it: 0644, 0.
        internal static int Mode(uint mode, Span<byte> output)
        {
            int n = 0;
            output[n++] = (byte)'0';
            if (mode == 0) return n;
            int digits = 0;
            for (uint m = mode; m != 0; m >>= 3) digits++;
            for (int i = digits - 1; i >= 0; i--) output[n++] = (byte)('0' + ((mode >> (3 * i)) & 7));
            return n;
        }

        private static int Append(Span<byte> output, int n, string text)
        {
            for (int i = 0; i < text.Length; i++) output[n++] = (byte)text[i];
            return n;
        }

        private static int Hex(Span<byte> output, int n, uint value)
        {
            int digits = 1;
            for (uint v = value >> 4; v != 0; v >>= 4) digits++;
            for (int i = digits - 1; i >= 0; i--)
            {
                uint d = (value >> (4 * i)) & 0xf;
                output[n++] = (byte)(d < 10 ? '0' + d : 'a' + d - 10);
            }
            return n;
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
