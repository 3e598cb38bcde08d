using System;

namespace Libra.Shims.Net
{
    // The bytes the Side pushed to one socket and the application has not read yet, in a chain of
    // small blocks that grows as DATA arrives and shrinks as recv consumes it. Memory follows what is
    // queued, as Linux's receive queue of skbs does, not the window the guest granted: a thousand idle
    // connections hold a thousand blocks at most, not a thousand windows. One emptied block is kept
    // for the next arrival, so a keep-alive exchange allocates nothing. Blocks come from `allocate`
    // (the kernel heap in the guest, native memory in tests); pure logic otherwise.
    internal unsafe struct SideRxQueue
    {
        // A block fills one of the kernel heap's 2 KiB size classes (Memory/Heap.cs: 16-byte header).
        internal const int BlockSize = 2048 - 16;
        internal const int BlockBytes = BlockSize - HeaderSize;
        private const int HeaderSize = 16;

        private struct Block
        {
            internal Block* Next;
            internal uint Start, End;       // the unread bytes are Data(block)[Start..End)
        }

        private static byte* Data(Block* block) => (byte*)block + HeaderSize;

        // How Read (and SideDatagrams.Receive) move bytes into a destination that may be the
        // application's memory: the kernel sets UserMemory.CopyChecked (bytes moved, fewer when the
        // buffer went away meanwhile); null, as on the host, is a plain copy.
        internal static delegate*<void*, void*, ulong, ulong> CopyOut;

        internal static int Move(Span<byte> destination, byte* source, int count)
        {
            if (CopyOut == null)
            {
                new ReadOnlySpan<byte>(source, count).CopyTo(destination);
                return count;
            }
            fixed (byte* target = destination) return (int)CopyOut(target, source, (ulong)count);
        }

        private Block* _head, _tail, _spare;
        private uint _count, _blocks;
        private delegate*<ulong, void*> _allocate;
        private delegate*<void*, void> _free;

        internal void Initialize(delegate*<ulong, void*> allocate, delegate*<void*, void> free)
        {
            this = default;
            _allocate = allocate;
            _free = free;
        }

        internal uint Count => _count;

        // Blocks held, the spare included (what the queue costs in memory, for tests and the exit log).
        internal uint Blocks => _blocks;

        // Appends all of `bytes`, or nothing when the blocks they need cannot be had (false).
        internal bool Append(ReadOnlySpan<byte> bytes)
        {
            int room = _tail != null ? BlockBytes - (int)_tail->End : 0;
            Block* fresh = null;
            for (int needed = bytes.Length - room; needed > 0; needed -= BlockBytes)
            {
                Block* block = Take();
                if (block == null)
                {
                    while (fresh != null) { Block* next = fresh->Next; Give(fresh); fresh = next; }
                    return false;
                }
                block->Next = fresh;
                fresh = block;
            }
            int done = 0;
            while (done < bytes.Length)
            {
                if (_tail == null || _tail->End == BlockBytes)
                {
                    Block* block = fresh;
                    fresh = fresh->Next;
                    block->Next = null;
                    if (_tail == null) _head = block; else _tail->Next = block;
                    _tail = block;
                }
                int step = bytes.Length - done < BlockBytes - (int)_tail->End ? bytes.Length - done : BlockBytes - (int)_tail->End;
                bytes.Slice(done, step).CopyTo(new Span<byte>(Data(_tail) + _tail->End, step));
                _tail->End += (uint)step;
                done += step;
            }
            _count += (uint)done;
            return true;
        }

        // Copies up to destination.Length bytes from the front; consumes them unless `peek`.
        internal int Read(Span<byte> destination, bool peek)
        {
            int done = 0;
            Block* block = _head;
            uint start = block != null ? block->Start : 0;
            while (block != null && done < destination.Length)
            {
                int available = (int)(block->End - start);
                int step = destination.Length - done < available ? destination.Length - done : available;
                int moved = Move(destination.Slice(done, step), Data(block) + start, step);
                done += moved;
                start += (uint)moved;
                if (moved < step || start < block->End) break;     // the destination ended early, or is full
                block = block->Next;
                if (block != null) start = block->Start;
            }
            if (!peek) Consume((uint)done);
            return done;
        }

        // Frees every block, the spare too (the socket's release).
        internal void Clear()
        {
            while (_head != null)
            {
                Block* next = _head->Next;
                Give(_head);
                _head = next;
            }
            _tail = null;
            _count = 0;
            if (_spare != null) { _free(_spare); _spare = null; _blocks--; }
        }

        private void Consume(uint count)
        {
            _count -= count;
            while (count > 0)
            {
                uint available = _head->End - _head->Start;
                if (count < available) { _head->Start += count; return; }
                count -= available;
                Block* next = _head->Next;
                Give(_head);
                _head = next;
                if (_head == null) _tail = null;
            }
        }

        private Block* Take()
        {
            Block* block = _spare;
            if (block != null) _spare = null;
            else
            {
                block = (Block*)_allocate(BlockSize);
                if (block == null) return null;
                _blocks++;
            }
            block->Next = null;
            block->Start = block->End = 0;
            return block;
        }

        private void Give(Block* block)
        {
            if (_spare == null) { _spare = block; return; }
            _free(block);
            _blocks--;
        }
    }
}
