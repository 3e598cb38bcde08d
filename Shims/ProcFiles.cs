using Libra.Arch.X64;
using Libra.Loader;
using Libra.Memory;
using Libra.Threads;

namespace Libra.Shims
{
    // Synthetic /proc, /sys and /dev files made from the kernel's real state, each a snapshot taken
    // at open (as Linux's seq_file presents them to a single read loop). A path that is not here
    // answers ENOENT, as on Linux.
    internal static unsafe class ProcFiles
    {
        private const ulong SnapshotCapacity = 64 * 1024;

        private enum Node { None, Maps, Status, Cgroup, MountInfo, MemInfo, CpuList, Exe, Image, Null, Zero, Random, Directory, Tty, Stat, Hosts, ResolvConf, NsSwitch, HostName }

        private static Node Classify(byte* path)
        {
            // /proc/<our pid>/ and /proc/thread-self/ are /proc/self/ (one process, files alike for every thread).
            byte* self = Starts(path, "/proc/self/") ? path + 11 : Starts(path, "/proc/1/") ? path + 8 :
                Starts(path, "/proc/thread-self/") ? path + 18 : null;
            if (self != null)
            {
                if (Is(self, "maps")) return Node.Maps;
                if (Is(self, "status")) return Node.Status;
                if (Is(self, "stat")) return Node.Stat;
                if (Is(self, "cgroup")) return Node.Cgroup;
                if (Is(self, "mountinfo")) return Node.MountInfo;
                if (Is(self, "exe")) return Node.Exe;
                return Node.None;
            }
            if (Is(path, "/proc/meminfo")) return Node.MemInfo;
            if (AppLoader.IsExePath(path)) return Node.Image;
            // Name resolution when no directory is shared (with one, /etc is the share's): localhost and
            // the guest's own name (uname's "libra") resolve from /etc/hosts as on a Debian system.
            if (Is(path, "/etc/hosts")) return Node.Hosts;
            if (Is(path, "/etc/resolv.conf")) return Node.ResolvConf;
            if (Is(path, "/etc/nsswitch.conf")) return Node.NsSwitch;
            if (Is(path, "/etc/hostname")) return Node.HostName;
            if (Is(path, "/sys/devices/system/cpu/online") || Is(path, "/sys/devices/system/cpu/possible") ||
                Is(path, "/sys/devices/system/cpu/present")) return Node.CpuList;
            if (Is(path, "/dev/null")) return Node.Null;
            if (Is(path, "/dev/zero")) return Node.Zero;
            if (Is(path, "/dev/urandom") || Is(path, "/dev/random")) return Node.Random;
            if (Is(path, "/dev/tty")) return Node.Tty;
            if (Is(path, "/") || Is(path, "/proc") || Is(path, "/proc/self") || Is(path, "/proc/1") || Is(path, "/sys") ||
                Is(path, "/dev") || Is(path, "/sys/devices/system/cpu") || Is(path, "/tmp") || Is(path, "/etc")) return Node.Directory;
            return Node.None;
        }

        // Opens a synthetic file; the OpenFile, or null with the errno.
        internal static OpenFile* Open(byte* path, int flags, out long error)
        {
            error = 0;
            Node node = Classify(path);
            if (node == Node.None) { error = (flags & FileTable.O_CREAT) != 0 ? -Errno.EROFS : -Errno.ENOENT; return null; }
            if (node == Node.Tty) { error = -Errno.ENXIO; return null; }
            bool writing = (flags & FileTable.O_ACCMODE) != FileTable.O_RDONLY;
            if ((flags & FileTable.O_DIRECTORY) != 0 && node != Node.Directory) { error = -Errno.ENOTDIR; return null; }
            if (node == Node.Directory)
            {
                if (writing) { error = -Errno.EISDIR; return null; }
                return DeviceFiles.NewDirectory(flags);
            }
            if (node == Node.Null) return DeviceFiles.NewNull(flags);
            if (node == Node.Zero) return DeviceFiles.NewZero(flags);
            if (node == Node.Random) return DeviceFiles.NewRandom(flags);
            if (writing) { error = -Errno.EACCES; return null; }
            if (node == Node.Exe || node == Node.Image)
                return DeviceFiles.NewSnapshot(flags, FileTable.S_IFREG | 0x1ed, AppLoader.ImageData, AppLoader.ImageSize, owned: false);
            byte* buffer = (byte*)KernelHeap.AllocateZeroed(SnapshotCapacity);
            var text = new TextBuilder(buffer, SnapshotCapacity);
            switch (node)
            {
                case Node.Maps: WriteMaps(ref text); break;
                case Node.Status: WriteStatus(ref text); break;
                case Node.Stat: WriteStat(ref text); break;
                case Node.Cgroup: text.Append("0::/\n"); break;
                case Node.MountInfo: text.Append("1 1 0:1 / / rw - rootfs rootfs rw\n"); break;
                case Node.MemInfo: WriteMemInfo(ref text); break;
                case Node.CpuList: text.Append("0\n"); break;
                case Node.Hosts: text.Append("127.0.0.1\tlocalhost\n127.0.1.1\tlibra\n::1\tlocalhost ip6-localhost ip6-loopback\n"); break;
                case Node.ResolvConf: text.Append("# no name server: the guest resolves only what /etc/hosts names\n"); break;
                case Node.NsSwitch: text.Append("hosts: files dns\nnetworks: files\n"); break;
                case Node.HostName: text.Append("libra\n"); break;
            }
            return DeviceFiles.NewSnapshot(flags, FileTable.S_IFREG | 0x124, buffer, text.Length, owned: true);
        }

        internal static bool Exists(byte* path, out uint mode)
        {
            Node node = Classify(path);
            mode = node switch
            {
                Node.None => 0,
                Node.Directory => FileTable.S_IFDIR | 0x16d,
                Node.Null or Node.Zero or Node.Random or Node.Tty => FileTable.S_IFCHR | 0x1b6,
                Node.Exe or Node.Image => FileTable.S_IFREG | 0x1ed,
                _ => FileTable.S_IFREG | 0x124,
            };
            return node != Node.None;
        }

        // readlink: /proc/self/exe names the application; anything else is not a link.
        internal static int ReadLink(byte* path, out byte* target)
        {
            target = null;
            Node node = Classify(path);
            if (node == Node.None) return (int)-Errno.ENOENT;
            if (node != Node.Exe) return (int)-Errno.EINVAL;
            target = AppLoader.ExePath;
            return AppLoader.ExePathLength;
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
