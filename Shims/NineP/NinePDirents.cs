using System;
using System.Runtime.CompilerServices;

namespace Libra.Shims.NineP
{
    // Walks the entries of an Rreaddir payload in place (9P2000.L Treaddir: each qid[13] offset[8]
    // type[1] name[s], packed). Next checks every field against the payload, so a lying entry ends the
    // walk with Error = -EIO instead of reading past it.
    internal ref struct NinePDirents
    {
        private readonly ReadOnlySpan<byte> _data;
        private int _position;
        private int _error;

        internal NinePDirents(ReadOnlySpan<byte> data)
        {
            _data = data;
            _position = 0;
            _error = 0;
        }

        // 0, or -EIO once a malformed entry was met.
        internal int Error => _error;
        internal int Length => _data.Length;

        // The next entry; false at the end of the payload or at a malformed entry (see Error).
        internal bool Next(out NinePDirent entry)
        {
            entry = default;
            if (_error != 0 || _position >= _data.Length) return false;
            ReadOnlySpan<byte> rest = _data.Slice(_position);
            const int fixedPart = NinePProtocol.QidSize + 8 + 1 + 2;
            if (rest.Length < fixedPart) { _error = -(int)Errno.EIO; return false; }
            int nameLength = Unsafe.As<byte, ushort>(ref Unsafe.AsRef(in rest[fixedPart - 2]));
            if (rest.Length - fixedPart < nameLength) { _error = -(int)Errno.EIO; return false; }
            entry.Qid.Type = rest[0];
            // Little-endian loads, as in NinePReader; the length check above covers them.
            entry.Qid.Version = Unsafe.As<byte, uint>(ref Unsafe.AsRef(in rest[1]));
            entry.Qid.Path = Unsafe.As<byte, ulong>(ref Unsafe.AsRef(in rest[5]));
            entry.Offset = Unsafe.As<byte, ulong>(ref Unsafe.AsRef(in rest[NinePProtocol.QidSize]));
            entry.Type = rest[NinePProtocol.QidSize + 8];
            entry.Name = rest.Slice(fixedPart, nameLength);
            _position += fixedPart + nameLength;
            return true;
        }
    }
}
