using System;
using System.Runtime.CompilerServices;

namespace Libra.Shims.Net
{
    // Builds one Side frame in a caller's buffer: the 16-byte header, then fields, little-endian.
    // A field that does not fit is not written and the failure sticks; Finish patches len[4] and
    // returns the frame's length, or -EMSGSIZE (buffer too small, or payload over MaxPayload).
    internal ref struct SideWriter
    {
        private readonly Span<byte> _buffer;
        private int _position;
        private bool _failed;

        internal SideWriter(Span<byte> buffer, SideType type, ushort flags, uint socket, uint tag)
        {
            _buffer = buffer;
            _position = 0;
            _failed = false;
            U32(0);    // len, patched by Finish
            U16((ushort)type);
            U16(flags);
            U32(socket);
            U32(tag);
        }

        private bool Reserve(int count)
        {
            if (_failed) return false;
            if (count < 0 || _buffer.Length - _position < count) { _failed = true; return false; }
            return true;
        }

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

        internal unsafe void Bytes(ReadOnlySpan<byte> value)
        {
            if (!Reserve(value.Length) || value.Length == 0) return;
            fixed (byte* source = value)
            fixed (byte* destination = _buffer)
                Buffer.MemoryCopy(source, destination + _position, value.Length, value.Length);
            _position += value.Length;
        }

        // An address field: len[2] then the raw sockaddr bytes (at most sockaddr_storage).
        internal void Address(ReadOnlySpan<byte> address)
        {
            if (address.Length > SideProtocol.SockaddrStorageSize) { _failed = true; return; }
            U16((ushort)address.Length);
            Bytes(address);
        }

        internal int Finish()
        {
            if (_failed || _position > SideProtocol.MaxFrame) return -(int)Errno.EMSGSIZE;
            Unsafe.As<byte, uint>(ref _buffer[0]) = (uint)_position;
            return _position;
        }
    }

    // Reads a frame's payload. Every read is bounds-checked; a short field yields zero and marks the
    // reader failed, and End() demands the payload be used up exactly, so a length that lies either
    // way decodes as -EPROTO.
    internal ref struct SideReader
    {
        private readonly ReadOnlySpan<byte> _payload;
        private int _position;
        private bool _failed;

        internal SideReader(ReadOnlySpan<byte> payload)
        {
            _payload = payload;
            _position = 0;
            _failed = false;
        }

        internal int Remaining => _payload.Length - _position;

        private bool Take(int count)
        {
            if (_failed) return false;
            if (count < 0 || _payload.Length - _position < count) { _failed = true; return false; }
            return true;
        }

        internal ushort U16()
        {
            if (!Take(2)) return 0;
            ushort value = Unsafe.As<byte, ushort>(ref Unsafe.AsRef(in _payload[_position]));
            _position += 2;
            return value;
        }

        internal uint U32()
        {
            if (!Take(4)) return 0;
            uint value = Unsafe.As<byte, uint>(ref Unsafe.AsRef(in _payload[_position]));
            _position += 4;
            return value;
        }

        internal ulong U64()
        {
            if (!Take(8)) return 0;
            ulong value = Unsafe.As<byte, ulong>(ref Unsafe.AsRef(in _payload[_position]));
            _position += 8;
            return value;
        }

        internal ReadOnlySpan<byte> Bytes(int count)
        {
            if (!Take(count)) return default;
            ReadOnlySpan<byte> value = _payload.Slice(_position, count);
            _position += count;
            return value;
        }

        // The rest of the payload (DATA bytes, option values).
        internal ReadOnlySpan<byte> Rest() => Bytes(Remaining);

        // An address field (len[2] + sockaddr); a sockaddr Linux would refuse fails the whole frame.
        internal ReadOnlySpan<byte> Address()
        {
            ushort length = U16();
            ReadOnlySpan<byte> address = Bytes(length);
            if (!_failed && SideAddress.Validate(address) != 0) _failed = true;
            return address;
        }

        internal void Fail() => _failed = true;

        // 0 when every field was present and the payload is used up exactly, else -EPROTO.
        internal int End() => !_failed && _position == _payload.Length ? 0 : -(int)Errno.EPROTO;
    }
}
