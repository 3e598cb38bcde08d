using System;
using Libra.Memory;

namespace Libra.Shims
{
    // The guest's file systems at boot, before the application starts: the root (the image's files,
    // or a small one the kernel makes: the executable at its path and /etc's name-resolution files),
    // the share layered over it when there is one, then /proc, /sys, /dev, a tmpfs at /tmp, and the
    // host directories run -Mount asked for (libra.mount=), each over its own virtio-9p device.
    internal static unsafe class BootMounts
    {
        // One libra.mount=TAG:ro|rw:PATH: the device's mount tag, where it goes, and how.
        internal struct MountRequest
        {
            internal const int TagMax = 64;
            internal fixed byte Tag[TagMax];
            internal int TagLength;
            internal fixed byte Path[FileSystem.MountPointMax];
            internal int PathLength;
            internal bool ReadOnly;
        }

        internal const int MaxMountRequests = 8;
        private struct MountRequests { internal fixed byte Bytes[MaxMountRequests * 336]; }   // room for 8 MountRequests of 332 bytes
        private static MountRequests s_requests;
        internal static int RequestCount { get; private set; }

        internal static MountRequest* Requested(int i)
        {
            fixed (byte* bytes = s_requests.Bytes) return (MountRequest*)bytes + i;
        }

        // libra.mount=TAG:ro|rw:PATH (PATH %XX-escaped, absolute and normalized, not "/"); false when
        // malformed or one too many.
        internal static bool Request(ReadOnlySpan<char> value)
        {
            if (RequestCount == MaxMountRequests) return false;
            int first = 0;
            while (first < value.Length && value[first] != ':') first++;
            if (first <= 0 || first > MountRequest.TagMax || value.Length < first + 5 || value[first + 3] != ':') return false;
            ReadOnlySpan<char> access = value.Slice(first + 1, 2);
            bool readOnly = access[0] == 'r' && access[1] == 'o';
            if (!readOnly && !(access[0] == 'r' && access[1] == 'w')) return false;
            MountRequest* request = Requested(RequestCount);
            int length = Loader.AppArguments.Decode(value.Slice(first + 4), request->Path, FileSystem.MountPointMax - 1);
            if (length < 2 || request->Path[0] != (byte)'/' || request->Path[length - 1] == (byte)'/') return false;
            for (int i = 0; i < first; i++) request->Tag[i] = (byte)value[i];
            request->TagLength = first;
            request->PathLength = length;
            request->ReadOnly = readOnly;
            RequestCount++;
            return true;
        }
        internal const long NinePMagic = 0x01021997, ProcMagic = 0x9fa0, SysfsMagic = 0x62656572;

        // The root's volume, and whether /etc/resolv.conf in it is the kernel's own (the image had
        // none), for what is learnt after boot: the Side's name server (NameServer).
        private static MemoryVolume* s_root;
        private static bool s_ownResolvConf;

        // `volume`: the image's files, or null to make the root here with the executable in it.
        // `share`: the client of the share at "/", or null (`shareReadOnly`: run -Share -ReadOnly);
        // `mounts`: one client per MountRequest. Read-only 9P mounts read through the page cache.
        internal static void Mount(MemoryVolume* volume, ReadOnlySpan<byte> exePath, byte* exe, ulong exeSize, NineP.NinePClient* share, bool shareReadOnly,
            NineP.NinePClient** mounts, ulong tmpLimit)
        {
            if (volume == null)
            {
                volume = MemoryFileSystem.NewVolume(0);
                MemoryFileSystem.Add(volume, exePath, FileTable.S_IFREG | 0x1ed, exe, exeSize);
            }
            AddDefaults(volume);
            // The mount points, as Linux needs a directory to mount on (and a listing of the parent shows them).
            for (int i = 0; i < RequestCount; i++)
                MemoryFileSystem.Add(volume, new ReadOnlySpan<byte>(Requested(i)->Path, Requested(i)->PathLength), FileTable.S_IFDIR | 0x1ed, null, 0);
            s_root = volume;
            FileSystem* root = MountTable.New("/", MemoryFileSystem.Operations, volume, "rootfs", "rootfs", MemoryFileSystem.RamfsMagic, readOnly: true);
            if (share != null)
            {
                var layers = (LayeredFileSystem.Layers*)KernelHeap.AllocateZeroed((ulong)sizeof(LayeredFileSystem.Layers));
                layers->Upper = MountTable.New("/", NinePFiles.Operations, share, "9p", "share", NinePMagic, shareReadOnly);
                share->Device = layers->Upper->Device;
                layers->Lower = root;
                MountTable.Mount("/", LayeredFileSystem.Operations, layers, "9p", "share", NinePMagic, shareReadOnly);
                if (shareReadOnly) PageCache.Serve(share);
            }
            else MountTable.Add(root);
            MountTable.Mount("/proc", ProcFiles.Operations, (void*)(ulong)ProcFiles.Tree.Proc, "proc", "proc", ProcMagic, readOnly: false);
            MountTable.Mount("/sys", ProcFiles.Operations, (void*)(ulong)ProcFiles.Tree.Sys, "sysfs", "sysfs", SysfsMagic, readOnly: true);
            MountTable.Mount("/dev", ProcFiles.Operations, (void*)(ulong)ProcFiles.Tree.Dev, "devtmpfs", "udev", MemoryFileSystem.TmpfsMagic, readOnly: false);
            MountTable.Mount("/tmp", MemoryFileSystem.Operations, MemoryFileSystem.NewVolume(tmpLimit), "tmpfs", "tmpfs", MemoryFileSystem.TmpfsMagic, readOnly: false);
            for (int i = 0; i < RequestCount; i++)
            {
                MountRequest* request = Requested(i);
                FileSystem* fs = MountTable.Mount(new ReadOnlySpan<byte>(request->Path, request->PathLength), NinePFiles.Operations, mounts[i],
                    "9p", new ReadOnlySpan<byte>(request->Tag, request->TagLength), NinePMagic, request->ReadOnly);
                if (fs == null) continue;
                mounts[i]->Device = fs->Device;
                if (request->ReadOnly) PageCache.Serve(mounts[i]);
            }
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
