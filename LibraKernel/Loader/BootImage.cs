using System;
using Libra.Arch.X64;
using Libra.Diagnostics;
using Libra.Memory;
using Libra.Shims;

namespace Libra.Loader
{
    // A Libra image (docs/image.md): the PVH module is a newc cpio archive rather than a bare ELF.
    // Its files become the read-only root, borrowed in place from the module; `.libra/cmdline` holds
    // the default command-line words; the application is the file libra.app= names in it.
    internal static unsafe class BootImage
    {
        internal static bool IsImage(byte* module, ulong size) => module != null && size >= 6 && CpioArchive.IsArchive(new ReadOnlySpan<byte>(module, 6));

        private static ReadOnlySpan<byte> Archive(byte* module, ulong size) => new ReadOnlySpan<byte>(module, size > int.MaxValue ? int.MaxValue : (int)size);

        // The image's default command line (.libra/cmdline), as characters into `output`; its length (0: none).
        internal static int DefaultCommandLine(byte* module, ulong size, Span<char> output)
        {
            byte* name = stackalloc byte[14];
            const string path = ".libra/cmdline";
            for (int i = 0; i < path.Length; i++) name[i] = (byte)path[i];
            ReadOnlySpan<byte> archive = Archive(module, size);
            if (!CpioArchive.Find(archive, new ReadOnlySpan<byte>(name, path.Length), out int offset, out int length)) return 0;
            int n = length < output.Length ? length : output.Length;
            for (int i = 0; i < n; i++) output[i] = (char)archive[offset + i];
            while (n > 0 && (output[n - 1] == '\n' || output[n - 1] == ' ')) n--;
            return n;
        }

        // The image's files as a memory volume; null after one log line saying what is wrong.
        internal static MemoryVolume* Unpack(byte* module, ulong size)
        {
            if (size > int.MaxValue) return Fail("the image is larger than 2 GiB", CpioError.None);
            ReadOnlySpan<byte> archive = Archive(module, size);
            MemoryVolume* volume = MemoryFileSystem.NewVolume(0);
            HardLinks links = default;
            int offset = 0, files = 0;
            while (true)
            {
                CpioError error = CpioArchive.Next(archive, ref offset, out CpioEntry entry);
                if (error == CpioError.End) break;
                if (error != CpioError.None) return Fail(CpioArchive.Describe(error), error);
                ReadOnlySpan<byte> path = CpioArchive.Path(archive, entry);
                uint type = entry.Mode & CpioArchive.TypeMask;
                if (type != CpioArchive.Regular && type != CpioArchive.Directory && type != CpioArchive.Symlink) continue;
                byte* data = entry.DataLength > 0 ? module + entry.DataOffset : null;
                // Hard links (newc): members with the same inode and nlink > 1; one of them (GNU cpio:
                // the last) carries the data.
                MemoryNode* earlier = type == CpioArchive.Regular && entry.Links > 1 ? links.Find(entry.Inode) : null;
                if (earlier != null)
                {
                    if (!MemoryFileSystem.AddLink(volume, path, earlier)) return Fail("a hard link's name is taken or too long", CpioError.None);
                    if (entry.DataLength > 0) { earlier->Borrowed = data; earlier->Size = entry.DataLength; }
                    continue;
                }
                MemoryNode* node = MemoryFileSystem.Add(volume, path, type | (entry.Mode & 0xfff), data, entry.DataLength);
                if (node == null) return Fail("a member's path is taken by another type, or a name is longer than 255 bytes", CpioError.None);
                node->Uid = entry.Uid;
                node->Gid = entry.Gid;
                node->MtimeSec = node->CtimeSec = entry.Mtime;
                node->MtimeNsec = node->CtimeNsec = 0;
                if (type == CpioArchive.Regular && entry.Links > 1) links.Add(entry.Inode, node);
                files++;
            }
            links.Free();
            KernelLog.Begin(); KernelLog.Write("image: "); KernelLog.Decimal((ulong)files); KernelLog.Write(" files and directories, ");
            KernelLog.Size(size); KernelLog.Write(", the read-only root"); KernelLog.End();
            return volume;
        }

        private static MemoryVolume* Fail(string why, CpioError error)
        {
            KernelLog.Begin(); KernelLog.Write("cannot read the image: "); KernelLog.Write(why); KernelLog.End();
            return null;
        }

        // Inodes already seen with nlink > 1, and their nodes.
        private struct HardLinks
        {
            private ulong* _pairs;
            private int _count, _capacity;

            internal MemoryNode* Find(uint inode)
            {
                for (int i = 0; i < _count; i++) if (_pairs[i * 2] == inode) return (MemoryNode*)_pairs[i * 2 + 1];
                return null;
            }

            internal void Add(uint inode, MemoryNode* node)
            {
                if (_count == _capacity)
                {
                    int capacity = _capacity == 0 ? 16 : _capacity * 2;
                    var pairs = (ulong*)KernelHeap.AllocateZeroed((ulong)capacity * 16);
                    if (_pairs != null) { Native.MemMove(pairs, _pairs, (nuint)(_count * 16)); KernelHeap.Free(_pairs); }
                    _pairs = pairs;
                    _capacity = capacity;
                }
                _pairs[_count * 2] = inode;
                _pairs[_count * 2 + 1] = (ulong)node;
                _count++;
            }

            internal void Free()
            {
                if (_pairs != null) KernelHeap.Free(_pairs);
            }
        }
    }
}
