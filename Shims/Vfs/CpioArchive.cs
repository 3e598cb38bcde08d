using System;

namespace Libra.Shims
{
    internal enum CpioError { None, End, BadMagic, Truncated, BadNumber, BadName }

    // One member of a newc archive: its header's numbers and where its name and data lie.
    internal struct CpioEntry
    {
        internal uint Inode, Mode, Uid, Gid, Links, Mtime, DataLength;
        internal int NameOffset, NameLength;        // the name as stored, without its NUL
        internal int DataOffset;
    }

    // The "new ASCII" cpio format (newc, magic 070701; 070702 carries a checksum the kernel does not
    // check), exactly what Linux's initramfs unpacks (Documentation/driver-api/early-userspace/
    // buffer-format.rst): a 110-byte header of hexadecimal fields, the name with its NUL, padding to
    // 4 bytes, the data, padding to 4 bytes; "TRAILER!!!" ends the archive.
    internal static class CpioArchive
    {
        internal const int HeaderSize = 110;
        internal const uint TypeMask = 0xf000, Directory = 0x4000, Regular = 0x8000, Symlink = 0xa000;

        internal static bool IsArchive(ReadOnlySpan<byte> data) =>
            data.Length >= 6 && data[0] == '0' && data[1] == '7' && data[2] == '0' && data[3] == '7' && data[4] == '0' && (data[5] == '1' || data[5] == '2');

        // The member at `offset`, and `offset` moved past it; End at the trailer.
        internal static CpioError Next(ReadOnlySpan<byte> archive, ref int offset, out CpioEntry entry)
        {
            entry = default;
            if (offset < 0 || archive.Length - offset < HeaderSize) return CpioError.Truncated;
            ReadOnlySpan<byte> header = archive.Slice(offset, HeaderSize);
            if (!IsArchive(header)) return CpioError.BadMagic;
            if (!Field(header, 0, out entry.Inode) || !Field(header, 1, out entry.Mode) || !Field(header, 2, out entry.Uid) ||
                !Field(header, 3, out entry.Gid) || !Field(header, 4, out entry.Links) || !Field(header, 5, out entry.Mtime) ||
                !Field(header, 6, out entry.DataLength) || !Field(header, 11, out uint nameSize))
                return CpioError.BadNumber;
            if (nameSize < 2 || nameSize > 4096) return CpioError.BadName;
            entry.NameOffset = offset + HeaderSize;
            entry.NameLength = (int)nameSize - 1;
            long dataOffset = Align(entry.NameOffset + (long)nameSize);
            if (dataOffset > archive.Length || archive[entry.NameOffset + entry.NameLength] != 0) return CpioError.Truncated;
            if (archive.Length - dataOffset < entry.DataLength) return CpioError.Truncated;
            entry.DataOffset = (int)dataOffset;
            ReadOnlySpan<byte> name = archive.Slice(entry.NameOffset, entry.NameLength);
            for (int i = 0; i < name.Length; i++) if (name[i] == 0) return CpioError.BadName;
            if (Same(name, "TRAILER!!!")) return CpioError.End;
            long next = Align(dataOffset + entry.DataLength);
            offset = next > archive.Length ? archive.Length : (int)next;
            return CpioError.None;
        }

        // The member's path as the guest sees it: a leading "./" or "/" dropped ("." itself is "").
        internal static ReadOnlySpan<byte> Path(ReadOnlySpan<byte> archive, in CpioEntry entry)
        {
            ReadOnlySpan<byte> name = archive.Slice(entry.NameOffset, entry.NameLength);
            while (true)
            {
                if (name.Length >= 2 && name[0] == '.' && name[1] == '/') name = name.Slice(2);
                else if (name.Length >= 1 && name[0] == '/') name = name.Slice(1);
                else if (name.Length == 1 && name[0] == '.') name = default;
                else return name;
            }
        }

        // The data of the member whose path is `path`, if the archive has it as a regular file.
        internal static bool Find(ReadOnlySpan<byte> archive, ReadOnlySpan<byte> path, out int dataOffset, out int dataLength)
        {
            dataOffset = dataLength = 0;
            int offset = 0;
            while (Next(archive, ref offset, out CpioEntry entry) == CpioError.None)
            {
                if ((entry.Mode & TypeMask) != Regular || !Same(Path(archive, entry), path)) continue;
                dataOffset = entry.DataOffset;
                dataLength = (int)entry.DataLength;
                return true;
            }
            return false;
        }

        internal static string Describe(CpioError error) => error switch
        {
            CpioError.BadMagic => "a member does not start with the newc magic 070701",
            CpioError.Truncated => "the archive ends inside a member (truncated?)",
            CpioError.BadNumber => "a header field is not hexadecimal",
            CpioError.BadName => "a member's name is empty, too long or not NUL-terminated",
            _ => "no error",
        };

        private static bool Same(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
        {
            if (a.Length != b.Length) return false;
            for (int i = 0; i < a.Length; i++) if (a[i] != b[i]) return false;
            return true;
        }

        private static bool Same(ReadOnlySpan<byte> a, string b)
        {
            if (a.Length != b.Length) return false;
            for (int i = 0; i < a.Length; i++) if (a[i] != b[i]) return false;
            return true;
        }

        private static long Align(long value) => (value + 3) & ~3L;

        // Header field `index` (after the 6-byte magic): 8 hexadecimal digits.
        private static bool Field(ReadOnlySpan<byte> header, int index, out uint value)
        {
            value = 0;
            for (int i = 0; i < 8; i++)
            {
                byte c = header[6 + index * 8 + i];
                int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
                if (digit < 0) return false;
                value = value << 4 | (uint)digit;
            }
            return true;
        }
    }
}
