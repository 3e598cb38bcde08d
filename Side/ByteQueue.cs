namespace Libra.Side;

// A FIFO of bytes in one array: appended at the tail (Reserve, then Commit what was written),
// consumed at the head. Used for the guest link's input and output and each socket's queued sends.
internal sealed class ByteQueue
{
    private byte[] _buffer;
    private int _head, _tail;

    internal ByteQueue(int capacity) => _buffer = new byte[capacity];

    internal int Count => _tail - _head;
    internal ReadOnlySpan<byte> Data => _buffer.AsSpan(_head, _tail - _head);

    // Room for `count` bytes at the tail (compacting or growing the array), to be committed.
    internal Span<byte> Reserve(int count)
    {
        if (_buffer.Length - _tail < count)
        {
            if (_head > 0)
            {
                Buffer.BlockCopy(_buffer, _head, _buffer, 0, _tail - _head);
                _tail -= _head;
                _head = 0;
            }
            if (_buffer.Length - _tail < count) Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _tail + count));
        }
        return _buffer.AsSpan(_tail, count);
    }

    internal void Commit(int count) => _tail += count;

    internal void Append(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(Reserve(bytes.Length));
        Commit(bytes.Length);
    }

    internal void Consume(int count)
    {
        _head += count;
        if (_head == _tail) _head = _tail = 0;
    }

    internal void Clear() => _head = _tail = 0;
}
