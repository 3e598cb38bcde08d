using System;

namespace Libra.Shims.NineP
{
    // T-message encoders (9P2000.L as in diod protocol.md and Linux net/9p/client.c). Each writes one
    // whole message at the start of `buffer` and returns its length, or -errno when it cannot be said:
    // EMSGSIZE when it does not fit the buffer (size it to msize), ENAMETOOLONG for a string over
    // 65535 bytes, E2BIG for a walk of more than 16 names.
    internal static partial class NinePCodec
    {
        // The only dialect this client speaks (9P2000.L Tversion); a string, as the kernel's core
        // library has no u8 literals.
        internal const string Version = "9P2000.L";

        // 9P2000.L Tversion: msize[4] version[s] = "9P2000.L", always on NOTAG.
        internal static int Tversion(Span<byte> buffer, uint msize)
        {
            var w = new NinePWriter(buffer, NinePType.Tversion, NinePProtocol.NoTag);
            w.U32(msize);
            w.Ascii(Version);
            return w.Finish();
        }

        // True when an Rversion's version string is "9P2000.L" (a server that cannot speak it says "unknown").
        internal static bool IsVersion(ReadOnlySpan<byte> version)
        {
            if (version.Length != Version.Length) return false;
            for (int i = 0; i < version.Length; i++)
                if (version[i] != (byte)Version[i]) return false;
            return true;
        }

        // 9P2000.L Tauth: afid[4] uname[s] aname[s] n_uname[4].
        internal static int Tauth(Span<byte> buffer, ushort tag, uint afid, ReadOnlySpan<byte> uname, ReadOnlySpan<byte> aname, uint uid)
        {
            var w = new NinePWriter(buffer, NinePType.Tauth, tag);
            w.U32(afid);
            w.String(uname);
            w.String(aname);
            w.U32(uid);
            return w.Finish();
        }

        // 9P2000.L Tattach: fid[4] afid[4] uname[s] aname[s] n_uname[4]; afid is NOFID without auth.
        internal static int Tattach(Span<byte> buffer, ushort tag, uint fid, uint afid, ReadOnlySpan<byte> uname, ReadOnlySpan<byte> aname, uint uid)
        {
            var w = new NinePWriter(buffer, NinePType.Tattach, tag);
            w.U32(fid);
            w.U32(afid);
            w.String(uname);
            w.String(aname);
            w.U32(uid);
            return w.Finish();
        }

        // 9P2000.L Tflush: oldtag[2]; oldtag stays busy until Rflush arrives.
        internal static int Tflush(Span<byte> buffer, ushort tag, ushort oldTag)
        {
            var w = new NinePWriter(buffer, NinePType.Tflush, tag);
            w.U16(oldTag);
            return w.Finish();
        }

        // 9P2000.L Twalk: fid[4] newfid[4] nwname[2] wname[s]*. `path` holds the names separated by '/'
        // (a name cannot contain one); empty components are skipped, so "" clones fid (nwname 0).
        internal static int Twalk(Span<byte> buffer, ushort tag, uint fid, uint newFid, ReadOnlySpan<byte> path)
        {
            int names = WalkNameCount(path);
            if (names > NinePProtocol.MaxWalkNames) return -(int)Errno.E2BIG;
            var w = new NinePWriter(buffer, NinePType.Twalk, tag);
            w.U32(fid);
            w.U32(newFid);
            w.U16((ushort)names);
            int start = 0;
            for (int i = 0; i <= path.Length; i++)
            {
                if (i < path.Length && path[i] != (byte)'/') continue;
                if (i > start) w.String(path.Slice(start, i - start));
                start = i + 1;
            }
            return w.Finish();
        }

        // The number of names Twalk would send for `path` ('/'-separated, empty components skipped).
        internal static int WalkNameCount(ReadOnlySpan<byte> path)
        {
            int names = 0;
            bool inName = false;
            for (int i = 0; i < path.Length; i++)
            {
                bool slash = path[i] == (byte)'/';
                if (!slash && !inName) names++;
                inName = !slash;
            }
            return names;
        }

        // Splits `path` after its first `maxNames` names (Twalk's MAXWELEM): `first` goes in this Twalk,
        // `rest` in the next one from the fid it produced, as Linux v9fs walks long paths in steps.
        internal static void SplitWalk(ReadOnlySpan<byte> path, int maxNames, out ReadOnlySpan<byte> first, out ReadOnlySpan<byte> rest)
        {
            int names = 0;
            bool inName = false;
            for (int i = 0; i < path.Length; i++)
            {
                bool slash = path[i] == (byte)'/';
                if (!slash && !inName)
                {
                    if (names == maxNames)
                    {
                        first = path.Slice(0, i);
                        rest = path.Slice(i);
                        return;
                    }
                    names++;
                }
                inName = !slash;
            }
            first = path;
            rest = default;
        }

        // 9P2000.L Tlopen: fid[4] flags[4] (Linux open flags, P9_DOTL_*).
        internal static int Tlopen(Span<byte> buffer, ushort tag, uint fid, uint flags)
        {
            var w = new NinePWriter(buffer, NinePType.Tlopen, tag);
            w.U32(fid);
            w.U32(flags);
            return w.Finish();
        }

        // 9P2000.L Tlcreate: fid[4] name[s] flags[4] mode[4] gid[4]; fid (a directory) becomes the new open file.
        internal static int Tlcreate(Span<byte> buffer, ushort tag, uint fid, ReadOnlySpan<byte> name, uint flags, uint mode, uint gid)
        {
            var w = new NinePWriter(buffer, NinePType.Tlcreate, tag);
            w.U32(fid);
            w.String(name);
            w.U32(flags);
            w.U32(mode);
            w.U32(gid);
            return w.Finish();
        }

        // 9P2000.L Tread: fid[4] offset[8] count[4]; count ≤ msize − 24 (P9_IOHDRSZ) or the iounit.
        internal static int Tread(Span<byte> buffer, ushort tag, uint fid, ulong offset, uint count)
        {
            var w = new NinePWriter(buffer, NinePType.Tread, tag);
            w.U32(fid);
            w.U64(offset);
            w.U32(count);
            return w.Finish();
        }

        // 9P2000.L Twrite: fid[4] offset[8] count[4] data[count], the data copied after the header.
        internal static int Twrite(Span<byte> buffer, ushort tag, uint fid, ulong offset, ReadOnlySpan<byte> data)
        {
            var w = new NinePWriter(buffer, NinePType.Twrite, tag);
            w.U32(fid);
            w.U64(offset);
            w.U32((uint)data.Length);
            w.Bytes(data);
            return w.Finish();
        }

        // Twrite's 23-byte header alone, its size[4] counting `count` payload bytes the transport sends
        // straight from the caller's memory (a second descriptor, as Linux p9_virtio_zc_request does).
        internal static int TwriteHeader(Span<byte> buffer, ushort tag, uint fid, ulong offset, uint count)
        {
            if (count > 0x7fffffff) return -(int)Errno.EINVAL;
            var w = new NinePWriter(buffer, NinePType.Twrite, tag);
            w.U32(fid);
            w.U64(offset);
            w.U32(count);
            return w.Finish((int)count);
        }

        // 9P2000.L Tclunk: fid[4]; the fid is free again once Rclunk (or even Rlerror) arrives.
        internal static int Tclunk(Span<byte> buffer, ushort tag, uint fid) => FidOnly(buffer, NinePType.Tclunk, tag, fid);

        // 9P2000.L Tremove: fid[4]; removes the file and clunks the fid, whatever the outcome.
        internal static int Tremove(Span<byte> buffer, ushort tag, uint fid) => FidOnly(buffer, NinePType.Tremove, tag, fid);

        // 9P2000.L Treadlink: fid[4].
        internal static int Treadlink(Span<byte> buffer, ushort tag, uint fid) => FidOnly(buffer, NinePType.Treadlink, tag, fid);

        // 9P2000.L Tstatfs: fid[4].
        internal static int Tstatfs(Span<byte> buffer, ushort tag, uint fid) => FidOnly(buffer, NinePType.Tstatfs, tag, fid);

        private static int FidOnly(Span<byte> buffer, NinePType type, ushort tag, uint fid)
        {
            var w = new NinePWriter(buffer, type, tag);
            w.U32(fid);
            return w.Finish();
        }

        // 9P2000.L Tgetattr: fid[4] request_mask[8] (NinePProtocol.Getattr* bits).
        internal static int Tgetattr(Span<byte> buffer, ushort tag, uint fid, ulong requestMask)
        {
            var w = new NinePWriter(buffer, NinePType.Tgetattr, tag);
            w.U32(fid);
            w.U64(requestMask);
            return w.Finish();
        }

        // 9P2000.L Tsetattr: fid[4] valid[4] mode[4] uid[4] gid[4] size[8] atime_sec[8] atime_nsec[8]
        // mtime_sec[8] mtime_nsec[8].
        internal static int Tsetattr(Span<byte> buffer, ushort tag, uint fid, in NinePSetAttr attr)
        {
            var w = new NinePWriter(buffer, NinePType.Tsetattr, tag);
            w.U32(fid);
            w.U32(attr.Valid);
            w.U32(attr.Mode);
            w.U32(attr.Uid);
            w.U32(attr.Gid);
            w.U64(attr.Size);
            w.U64(attr.AtimeSec);
            w.U64(attr.AtimeNsec);
            w.U64(attr.MtimeSec);
            w.U64(attr.MtimeNsec);
            return w.Finish();
        }

        // 9P2000.L Treaddir: fid[4] offset[8] count[4]; offset 0 or a dirent's Offset from the last reply.
        internal static int Treaddir(Span<byte> buffer, ushort tag, uint fid, ulong offset, uint count)
        {
            var w = new NinePWriter(buffer, NinePType.Treaddir, tag);
            w.U32(fid);
            w.U64(offset);
            w.U32(count);
            return w.Finish();
        }

        // 9P2000.L Tmkdir: dfid[4] name[s] mode[4] gid[4].
        internal static int Tmkdir(Span<byte> buffer, ushort tag, uint directoryFid, ReadOnlySpan<byte> name, uint mode, uint gid)
        {
            var w = new NinePWriter(buffer, NinePType.Tmkdir, tag);
            w.U32(directoryFid);
            w.String(name);
            w.U32(mode);
            w.U32(gid);
            return w.Finish();
        }

        // 9P2000.L Tsymlink: fid[4] name[s] symtgt[s] gid[4]; fid is the directory to hold the link.
        internal static int Tsymlink(Span<byte> buffer, ushort tag, uint directoryFid, ReadOnlySpan<byte> name, ReadOnlySpan<byte> target, uint gid)
        {
            var w = new NinePWriter(buffer, NinePType.Tsymlink, tag);
            w.U32(directoryFid);
            w.String(name);
            w.String(target);
            w.U32(gid);
            return w.Finish();
        }

        // 9P2000.L Tmknod: dfid[4] name[s] mode[4] major[4] minor[4] gid[4] (devices, FIFOs, sockets).
        internal static int Tmknod(Span<byte> buffer, ushort tag, uint directoryFid, ReadOnlySpan<byte> name, uint mode, uint major, uint minor, uint gid)
        {
            var w = new NinePWriter(buffer, NinePType.Tmknod, tag);
            w.U32(directoryFid);
            w.String(name);
            w.U32(mode);
            w.U32(major);
            w.U32(minor);
            w.U32(gid);
            return w.Finish();
        }

        // 9P2000.L Tlink: dfid[4] fid[4] name[s]: a hard link to fid named `name` in dfid.
        internal static int Tlink(Span<byte> buffer, ushort tag, uint directoryFid, uint fid, ReadOnlySpan<byte> name)
        {
            var w = new NinePWriter(buffer, NinePType.Tlink, tag);
            w.U32(directoryFid);
            w.U32(fid);
            w.String(name);
            return w.Finish();
        }

        // 9P2000.L Tfsync: fid[4] datasync[4] (nonzero: fdatasync).
        internal static int Tfsync(Span<byte> buffer, ushort tag, uint fid, uint dataSync)
        {
            var w = new NinePWriter(buffer, NinePType.Tfsync, tag);
            w.U32(fid);
            w.U32(dataSync);
            return w.Finish();
        }

        // 9P2000.L Tunlinkat: dirfid[4] name[s] flags[4] (NinePProtocol.UnlinkRemoveDirectory for rmdir).
        internal static int Tunlinkat(Span<byte> buffer, ushort tag, uint directoryFid, ReadOnlySpan<byte> name, uint flags)
        {
            var w = new NinePWriter(buffer, NinePType.Tunlinkat, tag);
            w.U32(directoryFid);
            w.String(name);
            w.U32(flags);
            return w.Finish();
        }

        // 9P2000.L Trenameat: olddirfid[4] oldname[s] newdirfid[4] newname[s].
        internal static int Trenameat(Span<byte> buffer, ushort tag, uint oldDirectoryFid, ReadOnlySpan<byte> oldName, uint newDirectoryFid, ReadOnlySpan<byte> newName)
        {
            var w = new NinePWriter(buffer, NinePType.Trenameat, tag);
            w.U32(oldDirectoryFid);
            w.String(oldName);
            w.U32(newDirectoryFid);
            w.String(newName);
            return w.Finish();
        }

        // 9P2000.L Trename: fid[4] dfid[4] name[s]: moves fid's file into dfid as `name` (the fallback
        // when a server lacks Trenameat, as Linux v9fs_vfs_rename does).
        internal static int Trename(Span<byte> buffer, ushort tag, uint fid, uint directoryFid, ReadOnlySpan<byte> name)
        {
            var w = new NinePWriter(buffer, NinePType.Trename, tag);
            w.U32(fid);
            w.U32(directoryFid);
            w.String(name);
            return w.Finish();
        }
    }
}
