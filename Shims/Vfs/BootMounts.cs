using System;
using Libra.Memory;

namespace Libra.Shims
{
    // The guest's file systems at boot, before the application starts: the root (the image's files,
    // or a small one the kernel makes: the executable at its path and /etc's name-resolution files),
    // the share layered over it when there is one, then /proc, /sys, /dev and a tmpfs at /tmp.
    internal static unsafe class BootMounts
    {
        internal const long NinePMagic = 0x01021997, ProcMagic = 0x9fa0, SysfsMagic = 0x62656572;

        // The root's volume, and whether /etc/resolv.conf in it is the kernel's own (the image had
        // none), for what is learnt after boot: the Side's name server (NameServer).
        private static MemoryVolume* s_root;
        private static bool s_ownResolvConf;

        // `volume`: the image's files, or null to make the root here with the executable in it.
        internal static void Mount(MemoryVolume* volume, ReadOnlySpan<byte> exePath, byte* exe, ulong exeSize, bool shared, ulong tmpLimit)
        {
            if (volume == null)
            {
                volume = MemoryFileSystem.NewVolume(0);
                MemoryFileSystem.Add(volume, exePath, FileTable.S_IFREG | 0x1ed, exe, exeSize);
            }
            AddDefaults(volume);
            s_root = volume;
            FileSystem* root = MountTable.New("/", MemoryFileSystem.Operations, volume, "rootfs", "rootfs", MemoryFileSystem.RamfsMagic, readOnly: true);
            if (shared)
            {
                var layers = (LayeredFileSystem.Layers*)KernelHeap.AllocateZeroed((ulong)sizeof(LayeredFileSystem.Layers));
                layers->Upper = MountTable.New("/", NinePFiles.Operations, null, "9p", "share", NinePMagic, readOnly: false);
                layers->Lower = root;
                MountTable.Mount("/", LayeredFileSystem.Operations, layers, "9p", "share", NinePMagic, readOnly: false);
            }
            else MountTable.Add(root);
            MountTable.Mount("/proc", ProcFiles.Operations, (void*)(ulong)ProcFiles.Tree.Proc, "proc", "proc", ProcMagic, readOnly: false);
            MountTable.Mount("/sys", ProcFiles.Operations, (void*)(ulong)ProcFiles.Tree.Sys, "sysfs", "sysfs", SysfsMagic, readOnly: true);
            MountTable.Mount("/dev", ProcFiles.Operations, (void*)(ulong)ProcFiles.Tree.Dev, "devtmpfs", "udev", MemoryFileSystem.TmpfsMagic, readOnly: false);
            MountTable.Mount("/tmp", MemoryFileSystem.Operations, MemoryFileSystem.NewVolume(tmpLimit), "tmpfs", "tmpfs", MemoryFileSystem.TmpfsMagic, readOnly: false);
        }

        // What a Debian system has and the image may lack: the mount points, /etc/mtab (a link to
        // the mount table, as systemd makes it), and name resolution for localhost and the guest's
        // own name (uname's "libra") from /etc/hosts alone.
        private static void AddDefaults(MemoryVolume* volume)
        {
            Directory(volume, "/proc"); Directory(volume, "/sys"); Directory(volume, "/dev"); Directory(volume, "/tmp");
            Directory(volume, "/etc");
            Text(volume, "/etc/hosts", "127.0.0.1\tlocalhost\n127.0.1.1\tlibra\n::1\tlocalhost ip6-localhost ip6-loopback\n", FileTable.S_IFREG | 0x1a4);
            s_ownResolvConf = Text(volume, "/etc/resolv.conf", "# no name server: the guest resolves only what /etc/hosts names\n", FileTable.S_IFREG | 0x1a4);
            Text(volume, "/etc/nsswitch.conf", "hosts: files dns\nnetworks: files\n", FileTable.S_IFREG | 0x1a4);
            Text(volume, "/etc/hostname", "libra\n", FileTable.S_IFREG | 0x1a4);
            Text(volume, "/etc/mtab", "../proc/self/mounts", FileTable.S_IFLNK | 0x1ff);
        }

        private static void Directory(MemoryVolume* volume, string path)
        {
            byte* name = stackalloc byte[64];
            int n = Ascii(path, name);
            MemoryFileSystem.Add(volume, new ReadOnlySpan<byte>(name, n), FileTable.S_IFDIR | 0x1ed, null, 0);
        }

        // A file (or link) only where the image has none: whether it was added.
        private static bool Text(MemoryVolume* volume, string path, string text, uint mode)
        {
            byte* name = stackalloc byte[64];
            int n = Ascii(path, name);
            var span = new ReadOnlySpan<byte>(name, n);
            if (MemoryFileSystem.Exists(volume, span)) return false;
            var data = (byte*)KernelHeap.AllocateZeroed((ulong)text.Length + 1);
            Ascii(text, data);
            MemoryFileSystem.Add(volume, span, mode, data, (ulong)text.Length);
            return true;
        }

        // The Side forwards a name server (run -Net outbound, docs/side-protocol.md): the kernel's
        // /etc/resolv.conf names it from then on. An image's or a share's own file stays as it is.
        internal static void NameServer(string address)
        {
            if (!s_ownResolvConf) return;
            const string Prefix = "nameserver ";
            int length = Prefix.Length + address.Length + 1;
            var data = (byte*)KernelHeap.AllocateZeroed((ulong)length + 1);
            Ascii(Prefix, data);
            Ascii(address, data + Prefix.Length);
            data[length - 1] = (byte)'\n';
            byte* name = stackalloc byte[32];
            int n = Ascii("/etc/resolv.conf", name);
            MemoryFileSystem.Add(s_root, new ReadOnlySpan<byte>(name, n), FileTable.S_IFREG | 0x1a4, data, (ulong)length);
        }

        private static int Ascii(string text, byte* output)
        {
            for (int i = 0; i < text.Length; i++) output[i] = (byte)text[i];
            output[text.Length] = 0;
            return text.Length;
        }
    }
}
