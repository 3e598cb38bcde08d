using System;
using System.Runtime.CompilerServices;

namespace Libra.Shims.NineP
{
    // Parses one R-message in place. Every read is bounds-checked against the message's own size[4]
    // (never past it, never past the buffer); a short field yields zero and marks the reader failed,
    // so a malformed reply decodes as EIO, as Linux net/9p/protocol.c p9pdu_readf fails with -EFAULT.
    internal ref struct NinePReader
    {
        private readonly ReadOnlySpan<byte> _message;
        private int _position;
        private bool _failed;

        private NinePReader(ReadOnlySpan<byte> message, int position)
        {
            _message = message;
            _position = position;
            _failed = false;
        }

        internal bool Failed => _failed;
        internal int Remaining => _message.Length - _position;

        // Checks a reply's header (size[4] type[1] tag[2]) and positions a reader at its body. The size
        // field must cover the header and fit both the bytes received and msize; the tag must be the
        // request's; the type must be the expected reply or Rlerror, whose ecode is returned as -errno.
        internal static int Open(ReadOnlySpan<byte> reply, uint msize, ushort tag, NinePType expected, out NinePReader body)
        {
            body = default;
            if (reply.Length < NinePProtocol.HeaderSize) return -(int)Errno.EIO;
            uint size = Unsafe.As<byte, uint>(ref Unsafe.AsRef(in reply[0]));
            if (size < NinePProtocol.HeaderSize || size > (uint)reply.Length || size > msize) return -(int)Errno.EIO;
            var reader = new NinePReader(reply.Slice(0, (int)size), 4);
            byte type = reader.U8();
            ushort replyTag = reader.U16();
            if (replyTag != tag) return -(int)Errno.EIO;
            if (type == (byte)NinePType.Rlerror)
            {
                uint ecode = reader.U32();
                if (reader.End() != 0) return -(int)Errno.EIO;
                return LinuxError(ecode);
            }
            if (type != (byte)expected) return -(int)Errno.EIO;
            body = reader;
            return 0;
        }

        // 9P2000.L Rlerror carries a Linux errno already (diod protocol.md); anything outside Linux's
        // errno range (1..4095, MAX_ERRNO) is a broken server and reads as EIO.
        internal static int LinuxError(uint ecode) => ecode >= 1 && ecode <= 4095 ? -(int)ecode : -(int)Errno.EIO;

        private bool Take(int count)
        {
            if (_failed) return false;
            if (_message.Length - _position < count) { _failed = true; return false; }
            return true;
        }

        internal byte U8()
        {
            if (!Take(1)) return 0;
            byte value = _message[_position];
            _position += 1;
            return value;
        }

        // x86-64 is little-endian like the wire, so fields are loaded whole (Take checked the bounds).
        internal ushort U16()
        {
            if (!Take(2)) return 0;
            ushort value = Unsafe.As<byte, ushort>(ref Unsafe.AsRef(in _message[_position]));
            _position += 2;
            return value;
        }

        internal uint U32()
        {
            if (!Take(4)) return 0;
            uint value = Unsafe.As<byte, uint>(ref Unsafe.AsRef(in _message[_position]));
            _position += 4;
            return value;
        }

        internal ulong U64()
        {
            if (!Take(8)) return 0;
            ulong value = Unsafe.As<byte, ulong>(ref Unsafe.AsRef(in _message[_position]));
            _position += 8;
            return value;
        }

        internal NinePQid Qid()
        {
            NinePQid qid = default;
            if (!Take(NinePProtocol.QidSize)) return qid;
            qid.Type = U8();
            qid.Version = U32();
            qid.Path = U64();
            return qid;
        }

        // A len[2] + bytes string, as a view into the message; empty (and failed) when it runs past the end.
        internal ReadOnlySpan<byte> String()
        {
            ushort length = U16();
            return Bytes(length);
        }

        internal ReadOnlySpan<byte> Bytes(int count)
        {
            if (count < 0 || !Take(count)) { _failed = true; return default; }
            ReadOnlySpan<byte> value = _message.Slice(_position, count);
            _position += count;
            return value;
        }

        // 0 when every field was present and the body is used up exactly; -EIO for a short field or
        // trailing bytes (a size[4] that lies either way).
        internal int End() => !_failed && _position == _message.Length ? 0 : -(int)Errno.EIO;
    }
}
