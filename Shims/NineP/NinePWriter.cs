using System;
using System.Runtime.CompilerServices;

namespace Libra.Shims.NineP
{
    // Builds one T-message in a caller's buffer: size[4] type[1] tag[2] then the body, little-endian,
    // strings as len[2] + bytes, qids as 13 bytes (diod protocol.md; Linux net/9p/protocol.c p9pdu_writef).
    // A field that does not fit is not written and the first failure sticks; Finish reports it.
    internal ref struct NinePWriter
    {
        private readonly Span<byte> _buffer;
        private int _position;
        private int _error;

        internal NinePWriter(Span<byte> buffer, NinePType type, ushort tag)
        {
            _buffer = buffer;
            _position = 0;
            _error = 0;
            U32(0);    // size, patched by Finish
            U8((byte)type);
            U16(tag);
        }

        internal int Position => _position;
        internal int Error => _error;

        private bool Reserve(int count)
        {
            if (_error != 0) return false;
            if (_buffer.Length - _position < count) { _error = -NinePProtocol.EMSGSIZE; return false; }
            return true;
        }

        internal void U8(byte value)
        {
            if (!Reserve(1)) return;
            _buffer[_position] = value;
            _position += 1;
        }

        // x86-64 is little-endian like the wire, so fields are stored whole (Reserve checked the bounds).
        internal void U16(ushort value)
        {
            if (!Reserve(2)) return;
            Unsafe.As<byte, ushort>(ref _buffer[_position]) = value;
            _position += 2;
        }

        internal void U32(uint value)
        {
            if (!Reserve(4)) return;
            Unsafe.As<byte, uint>(ref _buffer[_position]) = value;
            _position += 4;
        }

        internal void U64(ulong value)
        {
            if (!Reserve(8)) return;
            Unsafe.As<byte, ulong>(ref _buffer[_position]) = value;
            _position += 8;
        }

        // 9P strings are len[2] + bytes with no NUL; a name over 65535 bytes cannot be said at all.
        internal void String(ReadOnlySpan<byte> value)
        {
            if (_error != 0) return;
            if (value.Length > 0xffff) { _error = -(int)Errno.ENAMETOOLONG; return; }
            if (!Reserve(2 + value.Length)) return;
            U16((ushort)value.Length);
            Bytes(value);
        }

        // A 9P string from ASCII text (each char's low byte), for the protocol's fixed names.
        internal void Ascii(string value)
        {
            if (!Reserve(2 + value.Length)) return;
            U16((ushort)value.Length);
            for (int i = 0; i < value.Length; i++) _buffer[_position + i] = (byte)value[i];
            _position += value.Length;
        }

        internal void Qid(in NinePQid qid)
        {
            if (!Reserve(NinePProtocol.QidSize)) return;
            U8(qid.Type);
            U32(qid.Version);
            U64(qid.Path);
        }

        internal unsafe void Bytes(ReadOnlySpan<byte> value)
        {
            if (!Reserve(value.Length) || value.Length == 0) return;
            fixed (byte* source = value)
            fixed (byte* destination = _buffer)
                Buffer.MemoryCopy(source, destination + _position, value.Length, value.Length);
            _position += value.Length;
        }

        // Ends the message: size[4] counts this buffer plus `trailing` bytes the transport sends right
        // after it (a Twrite payload in its own descriptor). Returns the bytes written here, or -errno.
        internal int Finish(int trailing = 0)
        {
            if (_error != 0) return _error;
            if (trailing < 0 || (long)_position + trailing > 0xffffffffL) return -(int)Errno.EINVAL;
            Unsafe.As<byte, uint>(ref _buffer[0]) = (uint)(_position + trailing);
            return _position;
        }
    }
}
