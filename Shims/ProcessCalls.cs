using Libra.Arch.X64;
using Libra.Memory;
using Libra.Threads;
using Libra.Time;

namespace Libra.Shims
{
    // Process information: identity, limits, system facts, randomness, memory barriers, prctl.
    internal static unsafe class ProcessCalls
    {
        private const int RLIMIT_CPU = 0, RLIMIT_STACK = 3, RLIMIT_CORE = 4, RLIMIT_NOFILE = 7, RLIMIT_AS = 9;
        private const ulong RLIM_INFINITY = ulong.MaxValue;
        private const int MaxResource = 16;
        private const int MEMBARRIER_CMD_QUERY = 0, MEMBARRIER_CMD_PRIVATE_EXPEDITED = 8, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED = 16;
        private const int PR_SET_PDEATHSIG = 1, PR_GET_DUMPABLE = 3, PR_SET_DUMPABLE = 4, PR_SET_NAME = 15, PR_GET_NAME = 16,
            PR_SET_VMA = 0x53564d41;
        private const int GRND_NONBLOCK = 1, GRND_RANDOM = 2, GRND_INSECURE = 4;
        internal const int UtsFieldLength = 65;

        private struct Limits { internal fixed ulong Current[MaxResource]; internal fixed ulong Maximum[MaxResource]; }
        private static Limits s_limits;
        private static int s_umask = 0x12;   // 022

        internal static void Initialize()
        {
            for (int i = 0; i < MaxResource; i++) { s_limits.Current[i] = RLIM_INFINITY; s_limits.Maximum[i] = RLIM_INFINITY; }
            s_limits.Current[RLIMIT_STACK] = Layout.UserStackSize;
            s_limits.Current[RLIMIT_CORE] = 0;
            // The whole descriptor table from the start: Libra runs one service, and NativeAOT (unlike
            // CoreCLR) never raises the soft limit itself, so Linux's login default of 1,024 (kept there
            // for select's FD_SETSIZE) made a server with 500 connections fail with EMFILE.
            s_limits.Current[RLIMIT_NOFILE] = FileTable.MaxFiles;
            s_limits.Maximum[RLIMIT_NOFILE] = FileTable.MaxFiles;
        }

        internal static long GetId(SyscallArgs* a) => 0;

        // getrusage(who, struct rusage*): CPU time as user time (the kernel's share is not split off)
        // and the resident set as ru_maxrss in KiB; the counters Libra does not keep are zero.
        internal static long GetRusage(SyscallArgs* a)
        {
            const int RUSAGE_SELF = 0, RUSAGE_CHILDREN = -1, RUSAGE_THREAD = 1;
            int who = (int)a->A0;
            if (who != RUSAGE_SELF && who != RUSAGE_CHILDREN && who != RUSAGE_THREAD) return -Errno.EINVAL;
            ulong* usage = stackalloc ulong[18];
            for (int i = 0; i < 18; i++) usage[i] = 0;
            if (who != RUSAGE_CHILDREN)
            {
                ulong cpu = who == RUSAGE_THREAD ? Scheduler.ThreadCpuNanoseconds(Scheduler.Current) : Scheduler.ProcessCpuNanoseconds();
                usage[0] = cpu / 1_000_000_000;
                usage[1] = cpu % 1_000_000_000 / 1000;
                usage[4] = UserMemory.CommittedPages * 4;
            }
            return UserMemory.CopyToUser(a->A1, usage, 144) ? 0 : -Errno.EFAULT;
        }

        internal static long GetPpid(SyscallArgs* a) => 0;

        internal static long GetResId(SyscallArgs* a)
        {
            uint zero = 0;
            if (!UserMemory.CopyToUser(a->A0, &zero, 4) || !UserMemory.CopyToUser(a->A1, &zero, 4) || !UserMemory.CopyToUser(a->A2, &zero, 4))
                return -Errno.EFAULT;
            return 0;
        }

        internal static int CurrentUmask => s_umask;

        internal static long Umask(SyscallArgs* a)
        {
            int old = s_umask;
            s_umask = (int)a->A0 & 0x1ff;
            return old;
        }

        // struct utsname: six 65-byte fields.
        internal static long Uname(SyscallArgs* a)
        {
            byte* uts = stackalloc byte[UtsFieldLength * 6];
            Native.MemSet(uts, 0, UtsFieldLength * 6);
            Put(uts, 0, "Linux");
            Put(uts, 1, "libra");
            Put(uts, 2, "6.1.0-libra");
            Put(uts, 3, "#1 SMP Libra 0.1.0");
            Put(uts, 4, "x86_64");
            Put(uts, 5, "(none)");
            return UserMemory.CopyToUser(a->A0, uts, UtsFieldLength * 6) ? 0 : -Errno.EFAULT;
        }

        private static void Put(byte* uts, int field, string text)
        {
            for (int i = 0; i < text.Length && i < UtsFieldLength - 1; i++) uts[field * UtsFieldLength + i] = (byte)text[i];
        }

        // struct sysinfo (112 bytes): uptime, loads[3], totalram, freeram, shared, buffer, totalswap,
        // freeswap, procs (u16), totalhigh, freehigh, mem_unit (u32).
        internal static long SysInfo(SyscallArgs* a)
        {
            byte* info = stackalloc byte[112];
            Native.MemSet(info, 0, 112);
            *(ulong*)(info + 0) = Clock.Nanoseconds() / 1_000_000_000;
            *(ulong*)(info + 32) = PhysicalMemory.TotalBytes;
            *(ulong*)(info + 40) = PhysicalMemory.FreeBytes;
            *(ushort*)(info + 80) = (ushort)ThreadTable.LiveCount;
            *(uint*)(info + 104) = 1;
            return UserMemory.CopyToUser(a->A0, info, 112) ? 0 : -Errno.EFAULT;
        }

        // prlimit64(pid, resource, new, old)
        internal static long Prlimit(SyscallArgs* a)
        {
            if ((int)a->A0 != 0 && (int)a->A0 != ThreadTable.ProcessId) return -Errno.ESRCH;
            return Limit((int)a->A1, a->A2, a->A3);
        }

        // getrlimit and setrlimit always copy (a null pointer is EFAULT); prlimit64 skips a null one.
        internal static long GetRlimit(SyscallArgs* a) => a->A1 == 0 ? -Errno.EFAULT : Limit((int)a->A0, 0, a->A1);

        internal static long SetRlimit(SyscallArgs* a) => a->A1 == 0 ? -Errno.EFAULT : Limit((int)a->A0, a->A1, 0);

        private static long Limit(int resource, ulong requested, ulong old)
        {
            if (resource < 0 || resource >= MaxResource) return -Errno.EINVAL;
            ulong* pair = stackalloc ulong[2];
            pair[0] = s_limits.Current[resource];
            pair[1] = s_limits.Maximum[resource];
            if (old != 0 && !UserMemory.CopyToUser(old, pair, 16)) return -Errno.EFAULT;
            if (requested != 0)
            {
                if (!UserMemory.CopyFromUser(pair, requested, 16)) return -Errno.EFAULT;
                if (pair[0] > pair[1]) return -Errno.EINVAL;
                if (pair[1] > s_limits.Maximum[resource]) return -Errno.EPERM;
                s_limits.Current[resource] = pair[0];
                s_limits.Maximum[resource] = pair[1];
            }
            return 0;
        }

        internal static ulong FileLimit => s_limits.Current[RLIMIT_NOFILE];

        // /proc/self/limits as fs/proc/base.c proc_pid_limits prints it: "%-25s %-20s %-20s %-10s"
        // per row in RLIMIT_* order, "unlimited" for RLIM_INFINITY, no unit for the two priorities.
        internal static void WriteLimits(ref TextBuilder text)
        {
            ulong start = text.Length;
            text.Append("Limit"); text.PadFrom(start, 25); text.Append((byte)' ');
            start = text.Length; text.Append("Soft Limit"); text.PadFrom(start, 20); text.Append((byte)' ');
            start = text.Length; text.Append("Hard Limit"); text.PadFrom(start, 20); text.Append((byte)' ');
            start = text.Length; text.Append("Units"); text.PadFrom(start, 10); text.Append((byte)'\n');
            for (int i = 0; i < MaxResource; i++)
            {
                start = text.Length; text.Append(LimitName(i)); text.PadFrom(start, 25); text.Append((byte)' ');
                LimitValue(ref text, s_limits.Current[i]);
                LimitValue(ref text, s_limits.Maximum[i]);
                string unit = LimitUnit(i);
                if (unit.Length > 0) { start = text.Length; text.Append(unit); text.PadFrom(start, 10); }
                text.Append((byte)'\n');
            }
        }

        private static void LimitValue(ref TextBuilder text, ulong value)
        {
            ulong start = text.Length;
            if (value == RLIM_INFINITY) text.Append("unlimited"); else text.Decimal(value);
            text.PadFrom(start, 20);
            text.Append((byte)' ');
        }

        // fs/proc/base.c lnames[], indexed by RLIMIT_*.
        private static string LimitName(int resource) => resource switch
        {
            0 => "Max cpu time", 1 => "Max file size", 2 => "Max data size", 3 => "Max stack size",
            4 => "Max core file size", 5 => "Max resident set", 6 => "Max processes", 7 => "Max open files",
            8 => "Max locked memory", 9 => "Max address space", 10 => "Max file locks", 11 => "Max pending signals",
            12 => "Max msgqueue size", 13 => "Max nice priority", 14 => "Max realtime priority", _ => "Max realtime timeout",
        };

        private static string LimitUnit(int resource) => resource switch
        {
            0 => "seconds", 6 => "processes", 7 => "files", 10 => "locks", 11 => "signals",
            13 or 14 => "", 15 => "us", _ => "bytes",
        };

        internal static long GetRandom(SyscallArgs* a)
        {
            if ((a->A2 & ~(ulong)(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE)) != 0) return -Errno.EINVAL;
            ulong length = a->A1 > 33554431 ? 33554431 : a->A1;
            // Filled through a kernel block and copied out: a buffer that runs into a hole gets the
            // bytes before it, as Linux's get_random_bytes_user gives (EFAULT when none fit).
            if (!UserMemory.IsUserRange(a->A0, length)) return -Errno.EFAULT;
            byte* block = stackalloc byte[256];
            ulong done = 0;
            while (done < length)
            {
                ulong want = length - done < 256 ? length - done : 256;
                EntropySource.Fill(block, want);
                ulong copied = UserMemory.CopyChecked((void*)(a->A0 + done), block, want);
                done += copied;
                if (copied < want) break;
            }
            return done == 0 && length > 0 ? -Errno.EFAULT : (long)done;
        }

        // One CPU: every thread's stores are already visible to every other, so each command is done.
        internal static long Membarrier(SyscallArgs* a)
        {
            int command = (int)a->A0;
            if (command == MEMBARRIER_CMD_QUERY) return MEMBARRIER_CMD_PRIVATE_EXPEDITED | MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED;
            if (command == MEMBARRIER_CMD_PRIVATE_EXPEDITED || command == MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) return 0;
            return -Errno.EINVAL;
        }

        internal static long Prctl(SyscallArgs* a)
        {
            Thread* self = Scheduler.Current;
            switch ((int)a->A0)
            {
                case PR_SET_NAME:
                {
                    byte* name = stackalloc byte[Thread.NameLength];
                    int length = UserMemory.CopyStringFromUser(a->A1, name, Thread.NameLength);
                    if (length == -1) return -Errno.EFAULT;
                    for (int i = 0; i < Thread.NameLength; i++) self->Name.Bytes[i] = i < Thread.NameLength - 1 && (length < 0 || i < length) ? name[i] : (byte)0;
                    return 0;
                }
                case PR_GET_NAME:
                    return UserMemory.CopyToUser(a->A1, self->Name.Bytes, Thread.NameLength) ? 0 : -Errno.EFAULT;
                case PR_GET_DUMPABLE: return 1;
                case PR_SET_DUMPABLE: case PR_SET_PDEATHSIG: return 0;
                case PR_SET_VMA: return 0;
                default: return -Errno.EINVAL;
            }
        }
    }
}
