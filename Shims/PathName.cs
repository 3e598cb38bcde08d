using System;

namespace Libra.Shims
{
    // Path names as the file calls see them: made absolute against the working directory and
    // reduced lexically ("." dropped, ".." pops a name but never climbs above "/", repeated slashes
    // collapsed), so a name the application gives can only mean a place inside the root the kernel
    // serves. Output is NUL-terminated; no trailing slash except for "/" itself.
    internal static unsafe class PathName
    {
        internal const int Max = 4096;

        // Writes the normalized absolute form of `path` (relative to `cwd`, itself normalized) into
        // `output` (capacity Max); its length, or -ENAMETOOLONG, or -ENOENT for an empty path.
        internal static int Normalize(ReadOnlySpan<byte> cwd, ReadOnlySpan<byte> path, byte* output)
        {
            if (path.Length == 0) return -(int)Errno.ENOENT;
            int length = 0;
            output[length++] = (byte)'/';
            if (path[0] != (byte)'/')
            {
                int result = Append(cwd, output, ref length);
                if (result != 0) return result;
            }
            int error = Append(path, output, ref length);
            if (error != 0) return error;
            if (length > 1 && output[length - 1] == (byte)'/') length--;
            output[length] = 0;
            return length;
        }

        // Adds each name of `path` to the normalized prefix output[0..length) (which ends in '/' or
        // is "/"), handling "." and "..".
        private static int Append(ReadOnlySpan<byte> path, byte* output, ref int length)
        {
            int i = 0;
            while (i < path.Length)
            {
                while (i < path.Length && path[i] == (byte)'/') i++;
                int start = i;
                while (i < path.Length && path[i] != (byte)'/') i++;
                int nameLength = i - start;
                if (nameLength == 0) break;
                if (nameLength == 1 && path[start] == (byte)'.') continue;
                if (nameLength == 2 && path[start] == (byte)'.' && path[start + 1] == (byte)'.')
                {
                    if (length > 1 && output[length - 1] == (byte)'/') length--;
                    while (length > 1 && output[length - 1] != (byte)'/') length--;
                    continue;
                }
                if (length > 1 && output[length - 1] != (byte)'/') output[length++] = (byte)'/';
                if (length + nameLength + 2 > Max) return -(int)Errno.ENAMETOOLONG;
                for (int k = 0; k < nameLength; k++) output[length++] = path[start + k];
            }
            return 0;
        }

        // Where a symbolic link leads: `target` read in the directory `parent` (a normalized path; unused
        // when the target is absolute), then `rest`, the names after the link ("" or "/..."), all
        // normalized into `output`; its length, or -ENAMETOOLONG.
        internal static int Splice(ReadOnlySpan<byte> parent, ReadOnlySpan<byte> target, ReadOnlySpan<byte> rest, byte* output)
        {
            byte* combined = stackalloc byte[Max];
            int n = 0;
            bool absolute = target.Length > 0 && target[0] == (byte)'/';
            if (!absolute && parent.Length + 1 > Max) return -(int)Errno.ENAMETOOLONG;
            if (!absolute) { for (int i = 0; i < parent.Length; i++) combined[n++] = parent[i]; combined[n++] = (byte)'/'; }
            if (n + target.Length + rest.Length + 2 > Max) return -(int)Errno.ENAMETOOLONG;
            for (int i = 0; i < target.Length; i++) combined[n++] = target[i];
            for (int i = 0; i < rest.Length; i++) combined[n++] = rest[i];
            byte root = (byte)'/';
            return Normalize(new ReadOnlySpan<byte>(&root, 1), new ReadOnlySpan<byte>(combined, n), output);
        }

        // FNV-1a over the path's bytes: the path cache's key, and the inode number of synthetic files.
        internal static ulong Hash(byte* path, int length)
        {
            ulong hash = 1469598103934665603;
            for (int i = 0; i < length; i++) hash = (hash ^ path[i]) * 1099511628211;
            return hash;
        }

        // Splits a normalized path into its parent directory's length and the last name's start;
        // false for "/" (it has no parent).
        internal static bool SplitLast(byte* path, int length, out int parentLength, out int nameStart)
        {
            parentLength = 0;
            nameStart = 0;
            if (length <= 1) return false;
            int slash = length - 1;
            while (slash > 0 && path[slash] != (byte)'/') slash--;
            nameStart = slash + 1;
            parentLength = slash == 0 ? 1 : slash;
            return true;
        }
    }
}
