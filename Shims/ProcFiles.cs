using Libra.Arch.X64;
using Libra.Loader;
using Libra.Memory;
using Libra.Threads;

namespace Libra.Shims
{
    // The kernel's own file systems, /proc, /sys and /dev, made from its real state: each file a
    // snapshot taken at open (as Linux's seq_file presents them to a single read loop). A name that
    // is not here answers ENOENT, as on Linux. Links (/proc/self/exe, /dev/stdout) go back to Vfs as
    // guest paths; /proc/self/fd/N opens the description behind descriptor N.
    internal static unsafe class ProcFiles
    {
        private const ulong SnapshotCapacity = 64 * 1024;

        internal enum Tree { Proc = 1, Sys = 2, Dev = 3 }

        private enum Node
        {
            None, Maps, Status, Cgroup, MountInfo, Mounts, MemInfo, CpuInfo, CpuList, Exe, Descriptor, Null, Zero, Random,
            Directory, Tty, Stat, Stdin, Stdout, Stderr, DescriptorDirectory, DescriptorLinks, Limits,
        }

        private static FileSystemOperations* s_ops;

        internal static FileSystemOperations* Operations
        {
            get
            {
                if (s_ops != null) return s_ops;
                s_ops = FileSystemOperations.New(&Open, &Stat, &Lookup, &ReadLink);
                return s_ops;
            }
        }

        // A path inside one tree: what it is, and for /proc/self/fd/N the descriptor.
        private static Node Classify(FileSystem* fs, byte* path, out int descriptor)
        {
            descriptor = -1;
            Tree tree = (Tree)(ulong)fs->State;
            if (tree == Tree.Dev)
            {
                if (Is(path, "/null")) return Node.Null;
                if (Is(path, "/zero")) return Node.Zero;
                if (Is(path, "/urandom") || Is(path, "/random")) return Node.Random;
                if (Is(path, "/tty")) return Node.Tty;
                if (Is(path, "/stdin")) return Node.Stdin;
                if (Is(path, "/stdout")) return Node.Stdout;
                if (Is(path, "/stderr")) return Node.Stderr;
                if (Is(path, "/fd")) return Node.DescriptorLinks;
                return Is(path, "/") ? Node.Directory : Node.None;
            }
            if (tree == Tree.Sys)
            {
                if (Is(path, "/devices/system/cpu/online") || Is(path, "/devices/system/cpu/possible") ||
                    Is(path, "/devices/system/cpu/present")) return Node.CpuList;
                return Is(path, "/") || Is(path, "/devices") || Is(path, "/devices/system") || Is(path, "/devices/system/cpu") ? Node.Directory : Node.None;
            }
            // /proc/<our pid>/ and /proc/thread-self/ are /proc/self/ (one process, files alike for every thread).
            byte* self = Starts(path, "/self/") ? path + 6 : Starts(path, "/1/") ? path + 3 : Starts(path, "/thread-self/") ? path + 13 : null;
            if (self != null)
            {
                if (Is(self, "maps")) return Node.Maps;
                if (Is(self, "status")) return Node.Status;
                if (Is(self, "limits")) return Node.Limits;
                if (Is(self, "stat")) return Node.Stat;
                if (Is(self, "cgroup")) return Node.Cgroup;
                if (Is(self, "mountinfo")) return Node.MountInfo;
                if (Is(self, "mounts")) return Node.Mounts;
                if (Is(self, "exe")) return Node.Exe;
                if (Is(self, "fd")) return Node.DescriptorDirectory;
                if (Starts(self, "fd/") && ParseDescriptor(self + 3, out descriptor)) return Node.Descriptor;
                return Node.None;
            }
            if (Is(path, "/meminfo")) return Node.MemInfo;
            if (Is(path, "/cpuinfo")) return Node.CpuInfo;
            if (Is(path, "/mounts")) return Node.Mounts;
            return Is(path, "/") || Is(path, "/self") || Is(path, "/1") || Is(path, "/thread-self") ? Node.Directory : Node.None;
        }

        // The description behind /proc/self/fd/N, when the path in a proc mount is one; else null.
        internal static OpenFile* DescriptorFile(FileSystem* fs, byte* path)
        {
            if (fs->Ops != s_ops || (Tree)(ulong)fs->State != Tree.Proc) return null;
            return Classify(fs, path, out int descriptor) == Node.Descriptor ? FileTable.Get(descriptor) : null;
        }

        private static bool ParseDescriptor(byte* text, out int descriptor)
        {
            descriptor = 0;
            int i = 0;
            for (; text[i] >= (byte)'0' && text[i] <= (byte)'9' && i < 5; i++) descriptor = descriptor * 10 + (text[i] - '0');
            return i > 0 && (text[i] == 0 || (text[i] == (byte)'/' && text[i + 1] == 0)) && FileTable.Get(descriptor) != null;
        }

        private static bool IsLink(Node node) => node is Node.Exe or Node.Descriptor or Node.Stdin or Node.Stdout or Node.Stderr or Node.DescriptorLinks;

        // A link's target as a guest path (what readlink says).
        private static int Target(FileSystem* fs, byte* path, Node node, int descriptor, byte* target, int capacity)
        {
            var text = new TextBuilder(target, (ulong)capacity);
            switch (node)
            {
                case Node.Exe: text.AppendAscii(AppLoader.ExePath, AppLoader.ExePathLength); break;
                case Node.DescriptorLinks: text.Append("/proc/self/fd"); break;
                case Node.Stdin: text.Append("/proc/self/fd/0"); break;
                case Node.Stdout: text.Append("/proc/self/fd/1"); break;
                case Node.Stderr: text.Append("/proc/self/fd/2"); break;
                case Node.Descriptor:
                    OpenFile* file = FileTable.Get(descriptor);
                    if (file->Path != null) text.AppendAscii(file->Path, file->PathLength);
                    else if (file->Kind == FileKind.Console) text.Append("/dev/console");
                    else if (file->Kind == FileKind.Pipe) { text.Append("pipe:["); text.Decimal((ulong)file->Object & 0xffffff); text.Append("]"); }
                    else { text.Append("anon_inode:["); text.Decimal(file->Inode); text.Append("]"); }
                    break;
            }
            return (int)text.Length;
        }

        // Following a link: its target as a guest path for Vfs (a descriptor's file is opened here instead).
        private static long Follow(FileSystem* fs, PathWalk* walk, Node node, int descriptor)
        {
            int n = Target(fs, walk->Path, node, descriptor, walk->Redirect, PathName.Max - 1);
            walk->Redirect[n] = 0;
            return Vfs.Redirected;
        }

        private static long Lookup(FileSystem* fs, PathWalk* walk, uint* mode)
        {
            Node node = Classify(fs, walk->Path, out int descriptor);
            if (node == Node.None) return -Errno.ENOENT;
            if (walk->Follow && IsLink(node) && node != Node.Descriptor) return Follow(fs, walk, node, descriptor);
            *mode = ModeOf(node, descriptor, walk->Follow);
            return 0;
        }

        private static uint ModeOf(Node node, int descriptor, bool follow)
        {
            if (IsLink(node) && !(follow && node == Node.Descriptor)) return FileTable.S_IFLNK | 0x1ff;
            return node switch
            {
                Node.Directory or Node.DescriptorDirectory => FileTable.S_IFDIR | 0x16d,
                Node.Null or Node.Zero or Node.Random or Node.Tty => FileTable.S_IFCHR | 0x1b6,
                Node.Descriptor => FileTable.Get(descriptor)->Mode,
                _ => FileTable.S_IFREG | 0x124,
            };
        }

        private static long Stat(FileSystem* fs, PathWalk* walk, StatRecord* record)
        {
            Node node = Classify(fs, walk->Path, out int descriptor);
            if (node == Node.None) return -Errno.ENOENT;
            if (walk->Follow && IsLink(node))
            {
                if (node != Node.Descriptor) return Follow(fs, walk, node, descriptor);
                return StatCalls.Describe(FileTable.Use(descriptor), record);
            }
            *record = StatRecord.Plain(fs->Device, ModeOf(node, descriptor, walk->Follow), PathName.Hash(walk->Path, walk->Length) & 0xffffffff, 0);
            return 0;
        }

        private static long ReadLink(FileSystem* fs, PathWalk* walk, byte* target, int capacity)
        {
            Node node = Classify(fs, walk->Path, out int descriptor);
            if (node == Node.None) return -Errno.ENOENT;
            return IsLink(node) ? Target(fs, walk->Path, node, descriptor, target, capacity) : -Errno.EINVAL;
        }

        // Opens a file of the tree (a link followed first).
        private static long Open(FileSystem* fs, PathWalk* walk, int flags, uint mode, OpenFile** file)
        {
            Node node = Classify(fs, walk->Path, out int descriptor);
            if (node == Node.None) return -Errno.ENOENT;
            if (node == Node.Descriptor)
            {
                // Linux reopens the file; one description shared with descriptor N serves a
                // console, a pipe or a socket alike.
                *file = FileTable.Use(descriptor);
                return 0;
            }
            if (IsLink(node)) return Follow(fs, walk, node, descriptor);
            if (node == Node.Tty) return -Errno.ENXIO;
            bool writing = (flags & FileTable.O_ACCMODE) != FileTable.O_RDONLY;
            bool directory = node == Node.Directory || node == Node.DescriptorDirectory;
            if ((flags & FileTable.O_DIRECTORY) != 0 && !directory) return -Errno.ENOTDIR;
            if (directory)
            {
                if (writing) return -Errno.EISDIR;
                // The snapshot is the one allocation here that is large: with the kernel heap spent
                // (an application that took every page), the open fails with ENOMEM, not a panic.
                byte* names = (byte*)KernelHeap.TryAllocateZeroed(SnapshotCapacity);
                if (names == null) return -Errno.ENOMEM;
                var listing = new TextBuilder(names, SnapshotCapacity);
                WriteListing(ref listing, fs, walk->Path, node);
                *file = DeviceFiles.NewDirectory(flags, names, listing.Length);
                return *file == null ? -Errno.ENFILE : 0;
            }
            if (node == Node.Null) { *file = DeviceFiles.NewNull(flags); return *file == null ? -Errno.ENFILE : 0; }
            if (node == Node.Zero) { *file = DeviceFiles.NewZero(flags); return *file == null ? -Errno.ENFILE : 0; }
            if (node == Node.Random) { *file = DeviceFiles.NewRandom(flags); return *file == null ? -Errno.ENFILE : 0; }
            if (writing) return -Errno.EACCES;
            byte* buffer = (byte*)KernelHeap.TryAllocateZeroed(SnapshotCapacity);
            if (buffer == null) return -Errno.ENOMEM;
            var text = new TextBuilder(buffer, SnapshotCapacity);
            switch (node)
            {
                case Node.Maps: WriteMaps(ref text); break;
                case Node.Status: WriteStatus(ref text); break;
                case Node.Limits: ProcessCalls.WriteLimits(ref text); break;
                case Node.Stat: WriteStat(ref text); break;
                case Node.Cgroup: text.Append("0::/\n"); break;
                case Node.MountInfo: MountTable.WriteInfo(ref text); break;
                case Node.Mounts: MountTable.Write(ref text); break;
                case Node.MemInfo: WriteMemInfo(ref text); break;
                case Node.CpuInfo: WriteCpuInfo(ref text); break;
                case Node.CpuList: text.Append("0\n"); break;
            }
            *file = DeviceFiles.NewSnapshot(flags, FileTable.S_IFREG | 0x124, buffer, text.Length, owned: true);
            return *file == null ? -Errno.ENFILE : 0;
        }

        // What a directory lists, as DeviceFiles.ListDirectory reads it: per entry its DT_* type
        // byte, its name and a NUL, "." and ".." first.
        private static void WriteListing(ref TextBuilder text, FileSystem* fs, byte* path, Node node)
        {
            const byte Directory = 4, Character = 2, Regular = 8, Link = 10;
            Entry(ref text, Directory, "."); Entry(ref text, Directory, "..");
            Tree tree = (Tree)(ulong)fs->State;
            if (node == Node.DescriptorDirectory)
            {
                for (int fd = 0; fd < FileTable.MaxFiles; fd++)
                {
                    if (FileTable.Get(fd) == null) continue;
                    text.Append(Link); text.Decimal((ulong)fd); text.Append((byte)0);
                }
            }
            else if (tree == Tree.Dev)
            {
                Entry(ref text, Character, "null"); Entry(ref text, Character, "zero"); Entry(ref text, Character, "random");
                Entry(ref text, Character, "urandom"); Entry(ref text, Character, "tty"); Entry(ref text, Link, "stdin");
                Entry(ref text, Link, "stdout"); Entry(ref text, Link, "stderr"); Entry(ref text, Link, "fd");
            }
            else if (tree == Tree.Sys)
            {
                if (Is(path, "/")) Entry(ref text, Directory, "devices");
                else if (Is(path, "/devices")) Entry(ref text, Directory, "system");
                else if (Is(path, "/devices/system")) Entry(ref text, Directory, "cpu");
                else { Entry(ref text, Regular, "online"); Entry(ref text, Regular, "possible"); Entry(ref text, Regular, "present"); }
            }
            else if (Is(path, "/"))
            {
                Entry(ref text, Directory, "1"); Entry(ref text, Directory, "self"); Entry(ref text, Directory, "thread-self");
                Entry(ref text, Regular, "cpuinfo"); Entry(ref text, Regular, "meminfo"); Entry(ref text, Regular, "mounts");
            }
            else
            {
                Entry(ref text, Regular, "cgroup"); Entry(ref text, Link, "exe"); Entry(ref text, Directory, "fd"); Entry(ref text, Regular, "limits");
                Entry(ref text, Regular, "maps"); Entry(ref text, Regular, "mountinfo"); Entry(ref text, Regular, "mounts");
                Entry(ref text, Regular, "stat"); Entry(ref text, Regular, "status");
            }
        }

        private static void Entry(ref TextBuilder text, byte type, string name)
        {
            text.Append(type);
            text.Append(name);
            text.Append((byte)0);
        }

        // /proc/cpuinfo (arch/x86/kernel/cpu/proc.c show_cpuinfo) for the one CPU, from CPUID: the
        // fields programs parse (vendor, family, model, flags, MHz).
        private static void WriteCpuInfo(ref TextBuilder text)
        {
            uint* r = stackalloc uint[4];
            Native.CpuId(0, 0, r);
            byte* vendor = stackalloc byte[12];
            *(uint*)vendor = r[1]; *(uint*)(vendor + 4) = r[3]; *(uint*)(vendor + 8) = r[2];
            Native.CpuId(1, 0, r);
            uint family = (r[0] >> 8) & 0xf, model = (r[0] >> 4) & 0xf, stepping = r[0] & 0xf;
            if (family == 0xf) family += (r[0] >> 20) & 0xff;
            if (family >= 6) model |= ((r[0] >> 16) & 0xf) << 4;
            text.Append("processor\t: 0\nvendor_id\t: "); text.AppendAscii(vendor, 12);
            text.Append("\ncpu family\t: "); text.Decimal(family);
            text.Append("\nmodel\t\t: "); text.Decimal(model);
            text.Append("\nmodel name\t: "); text.AppendAscii(Cpu.Brand, 48);
            text.Append("\nstepping\t: "); text.Decimal(stepping);
            text.Append("\ncpu MHz\t\t: "); text.Decimal(Time.Clock.TscHz / 1_000_000); text.Append(".000");
            text.Append("\nphysical id\t: 0\nsiblings\t: 1\ncore id\t\t: 0\ncpu cores\t: 1\napicid\t\t: 0\nfpu\t\t: yes\ncpuid level\t: ");
            Native.CpuId(0, 0, r); text.Decimal(r[0]);
            text.Append("\nflags\t\t:");
            Flag(ref text, Cpu.Features1Edx, 0, " fpu"); Flag(ref text, Cpu.Features1Edx, 4, " tsc"); Flag(ref text, Cpu.Features1Edx, 9, " apic");
            Flag(ref text, Cpu.Features1Edx, 15, " cmov"); Flag(ref text, Cpu.Features1Edx, 23, " mmx"); Flag(ref text, Cpu.Features1Edx, 24, " fxsr");
            Flag(ref text, Cpu.Features1Edx, 25, " sse"); Flag(ref text, Cpu.Features1Edx, 26, " sse2"); Flag(ref text, Cpu.ExtendedEdx, 20, " nx");
            Flag(ref text, Cpu.ExtendedEdx, 26, " pdpe1gb"); Flag(ref text, Cpu.ExtendedEdx, 29, " lm"); Flag(ref text, Cpu.Features1Ecx, 0, " pni");
            Flag(ref text, Cpu.Features1Ecx, 1, " pclmulqdq"); Flag(ref text, Cpu.Features1Ecx, 9, " ssse3"); Flag(ref text, Cpu.Features1Ecx, 12, " fma");
            Flag(ref text, Cpu.Features1Ecx, 13, " cx16"); Flag(ref text, Cpu.Features1Ecx, 19, " sse4_1"); Flag(ref text, Cpu.Features1Ecx, 20, " sse4_2");
            Flag(ref text, Cpu.Features1Ecx, 21, " x2apic"); Flag(ref text, Cpu.Features1Ecx, 22, " movbe"); Flag(ref text, Cpu.Features1Ecx, 23, " popcnt");
            Flag(ref text, Cpu.Features1Ecx, 25, " aes"); Flag(ref text, Cpu.Features1Ecx, 26, " xsave"); Flag(ref text, Cpu.Features1Ecx, 28, " avx");
            Flag(ref text, Cpu.Features1Ecx, 29, " f16c"); Flag(ref text, Cpu.Features1Ecx, 30, " rdrand"); Flag(ref text, Cpu.Features7Ebx, 0, " fsgsbase");
            Flag(ref text, Cpu.Features7Ebx, 3, " bmi1"); Flag(ref text, Cpu.Features7Ebx, 5, " avx2"); Flag(ref text, Cpu.Features7Ebx, 8, " bmi2");
            Flag(ref text, Cpu.Features7Ebx, 16, " avx512f"); Flag(ref text, Cpu.Features7Ebx, 18, " rdseed"); Flag(ref text, Cpu.Features7Ebx, 19, " adx");
            Flag(ref text, Cpu.Features7Ebx, 29, " sha_ni");
            text.Append("\nbogomips\t: "); text.Decimal(Time.Clock.TscHz / 500_000); text.Append(".00");
            text.Append("\nclflush size\t: 64\ncache_alignment\t: 64\naddress sizes\t: 48 bits physical, 48 bits virtual\n\n");
        }

        private static void Flag(ref TextBuilder text, uint register, int bit, string name)
        {
            if ((register & (1u << bit)) != 0) text.Append(name);
        }

        // One line per area: "start-end perms offset dev inode path" (fs/proc/task_mmu.c show_map_vma).
        private static void WriteMaps(ref TextBuilder text)
        {
            VirtualRangeMap* map = UserMemory.Map;
            for (int i = 0; i < map->Count; i++)
            {
                VirtualRange range = map->Range(i);
                if (range.Kind == RangeKind.Reserved) continue;
                text.Hex(range.Start, 8); text.Append((byte)'-'); text.Hex(range.End, 8); text.Append((byte)' ');
                text.Append((range.Protection & 1) != 0 ? (byte)'r' : (byte)'-');
                text.Append((range.Protection & 2) != 0 ? (byte)'w' : (byte)'-');
                text.Append((range.Protection & 4) != 0 ? (byte)'x' : (byte)'-');
                text.Append(" p 00000000 00:00 0");
                if (range.Kind == RangeKind.Image) { text.Append("                          "); text.AppendAscii(AppLoader.ExePath, AppLoader.ExePathLength); }
                else if (range.Kind == RangeKind.Heap) text.Append("                          [heap]");
                else if (range.Kind == RangeKind.Stack) text.Append("                          [stack]");
                else if (range.Kind == RangeKind.Vvar) text.Append("                          [vvar]");
                else if (range.Kind == RangeKind.Vdso) text.Append("                          [vdso]");
                text.Append((byte)'\n');
            }
        }

        private static void WriteStatus(ref TextBuilder text)
        {
            Thread* self = Scheduler.Current;
            text.Append("Name:\t"); text.AppendAscii(self->Name.Bytes, Thread.NameLength); text.Append((byte)'\n');
            text.Append("Umask:\t0022\nState:\tR (running)\nTgid:\t1\nNgid:\t0\nPid:\t1\nPPid:\t0\nTracerPid:\t0\n");
            text.Append("Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nFDSize:\t64\n");
            text.Append("VmRSS:\t"); text.Decimal(UserMemory.CommittedPages * 4, 8); text.Append(" kB\n");
            text.Append("Threads:\t"); text.Decimal((ulong)ThreadTable.LiveCount); text.Append((byte)'\n');
            text.Append("Cpus_allowed:\t1\nCpus_allowed_list:\t0\n");
        }

        // /proc/self/stat: pid (comm) state ppid ... with rss as field 24 (proc(5)).
        private static void WriteStat(ref TextBuilder text)
        {
            text.Append("1 ("); text.AppendAscii(Scheduler.Current->Name.Bytes, Thread.NameLength);
            text.Append(") R 0 1 1 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 ");
            text.Decimal((ulong)ThreadTable.LiveCount); text.Append(" 0 0 0 ");
            text.Decimal(UserMemory.CommittedPages); text.Append(" 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n");
        }

        private static void WriteMemInfo(ref TextBuilder text)
        {
            ulong total = PhysicalMemory.TotalBytes >> 10, free = PhysicalMemory.FreeBytes >> 10;
            text.Append("MemTotal:       "); text.Decimal(total, 8); text.Append(" kB\n");
            text.Append("MemFree:        "); text.Decimal(free, 8); text.Append(" kB\n");
            text.Append("MemAvailable:   "); text.Decimal(free, 8); text.Append(" kB\n");
            text.Append("Buffers:               0 kB\nCached:                0 kB\nSwapCached:            0 kB\n");
            text.Append("SwapTotal:             0 kB\nSwapFree:              0 kB\n");
        }

        private static bool Is(byte* path, string literal)
        {
            int i = 0;
            for (; i < literal.Length; i++) if (path[i] != (byte)literal[i]) return false;
            return path[i] == 0 || (path[i] == (byte)'/' && path[i + 1] == 0);
        }

        private static bool Starts(byte* path, string literal)
        {
            for (int i = 0; i < literal.Length; i++) if (path[i] != (byte)literal[i]) return false;
            return true;
        }
    }
}
