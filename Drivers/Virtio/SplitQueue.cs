using System;

namespace Libra.Drivers.Virtio
{
    // How SplitQueue.Initialize refused its memory.
    internal enum SplitQueueError
    {
        None,
        BadQueueSize,     // zero, above 32768 or not a power of two (virtio 1.2 §2.7)
        Misaligned,       // an area breaks the alignment table of virtio 1.2 §2.7
        MissingMemory,    // a null area or slot array
    }

    // The driver side of a virtio 1.x split virtqueue (virtio 1.2 §2.7) over memory the caller owns:
    // the descriptor table, the available ring (driver area) and the used ring (device area), plus one
    // Slot per descriptor for the free list and the cookie of each chain head. The kernel passes DMA
    // memory through the direct map with its physical addresses; host tests pass ordinary memory.
    // Not thread-safe: the caller serialises every operation on one queue. Little-endian host assumed
    // (virtio 1.x rings are little-endian, §2.7).
    internal unsafe struct SplitQueue
    {
        internal const ushort MaxSize = 32768;
        internal const uint DescriptorAlignment = 16, AvailAlignment = 2, UsedAlignment = 4;
        internal const uint DescriptorBytes = 16, UsedElementBytes = 8;
        internal const ulong MaxChainBytes = 1ul << 32;   // virtio 1.2 §2.7.5.2: no chain longer than 2^32 bytes

        // virtio 1.2 §2.7.5 The Virtqueue Descriptor Table: VIRTQ_DESC_F_NEXT, _WRITE, _INDIRECT.
        internal const ushort DescriptorNext = 1, DescriptorWrite = 2, DescriptorIndirect = 4;
        // virtio 1.2 §2.7.6 / §2.7.8: VIRTQ_AVAIL_F_NO_INTERRUPT and VIRTQ_USED_F_NO_NOTIFY.
        internal const ushort AvailNoInterrupt = 1, UsedNoNotify = 1;

        // A device-visible buffer: guest-physical address and length, one descriptor.
        internal struct Buffer
        {
            internal ulong Address;
            internal uint Length;

            internal Buffer(ulong address, uint length)
            {
                Address = address;
                Length = length;
            }
        }

        // virtio 1.2 §2.7.5: struct virtq_desc { le64 addr; le32 len; le16 flags; le16 next; }.
        internal struct Descriptor
        {
            internal ulong Address;
            internal uint Length;
            internal ushort Flags;
            internal ushort Next;
        }

        // virtio 1.2 §2.7.8: struct virtq_used_elem { le32 id; le32 len; }.
        internal struct UsedElement
        {
            internal uint Id;
            internal uint Length;
        }

        // Driver-private state per descriptor, kept out of device-visible memory: the free-list and
        // chain link, and for a chain head its cookie, descriptor count and device-writable bytes.
        internal struct Slot
        {
            internal ulong Cookie;
            internal ushort Next;
            internal ushort ChainLength;     // 0 unless this descriptor heads a chain the device owns
            internal uint WritableBytes;
        }

        // 16-bit ring fields the device also reads or writes; volatile so the JIT neither caches nor reorders them.
        private struct Volatile16 { internal volatile ushort Value; }

        private Descriptor* _descriptors;
        private byte* _avail;                // le16 flags; le16 idx; le16 ring[N]; le16 used_event
        private byte* _used;                 // le16 flags; le16 idx; virtq_used_elem ring[N]; le16 avail_event
        private Slot* _slots;
        private delegate*<void> _barrier;
        private ulong _descriptorsPhysical, _availPhysical, _usedPhysical;
        private ushort _size;
        private ushort _freeHead;
        private int _freeCount;
        private ushort _availIndex;          // next avail.idx, counting chains added but not yet published
        private ushort _publishedIndex;      // avail.idx as last written
        private ushort _notifiedIndex;       // avail.idx when NeedsNotify last ran
        private uint _publishedSinceNotify;
        private ushort _lastUsedIndex;
        private ushort _availFlags;
        private bool _eventIndex;
        private bool _interruptsDisabled;
        private bool _broken;

        internal ushort Size => _size;
        internal int FreeCount => _freeCount;
        internal ushort LastUsedIndex => _lastUsedIndex;
        internal bool EventIndex => _eventIndex;
        // The device returned a used element that names no chain it owns; the queue refuses all work.
        internal bool IsBroken => _broken;
        // The addresses the transport writes to queue_desc, queue_driver and queue_device (virtio 1.2 §4.1.4.3).
        internal ulong DescriptorAreaPhysical => _descriptorsPhysical;
        internal ulong DriverAreaPhysical => _availPhysical;
        internal ulong DeviceAreaPhysical => _usedPhysical;

        internal static bool IsValidSize(ushort queueSize) =>
            queueSize != 0 && queueSize <= MaxSize && (queueSize & (queueSize - 1)) == 0;

        // Bytes of each area for a queue of `queueSize` (virtio 1.2 §2.7, "Virtqueue Part" table),
        // including used_event and avail_event, which exist whether or not EVENT_IDX is negotiated.
        internal static void Sizes(ushort queueSize, out uint descBytes, out uint availBytes, out uint usedBytes)
        {
            descBytes = DescriptorBytes * queueSize;
            availBytes = 6 + 2u * queueSize;
            usedBytes = 6 + UsedElementBytes * queueSize;
        }

        // One block holding all three areas, each at its required alignment: the descriptor table at 0,
        // the available ring right after it, the used ring at the next 4-byte boundary. Returns the total.
        internal static uint ContiguousLayout(ushort queueSize, out uint availOffset, out uint usedOffset)
        {
            Sizes(queueSize, out uint descBytes, out uint availBytes, out uint usedBytes);
            availOffset = descBytes;
            usedOffset = (availOffset + availBytes + UsedAlignment - 1) & ~(UsedAlignment - 1);
            return usedOffset + usedBytes;
        }

        // Takes the three areas (virtual for the CPU, physical for the device), zeroes them and puts
        // every descriptor on the free list. `slots` holds queueSize entries. `eventIndex` says whether
        // VIRTIO_F_EVENT_IDX was negotiated. `barrier` is a full memory fence (null: none, for tests).
        internal SplitQueueError Initialize(ushort queueSize,
            void* descriptorTable, ulong descriptorTablePhysical,
            void* availRing, ulong availRingPhysical,
            void* usedRing, ulong usedRingPhysical,
            Slot* slots, bool eventIndex, delegate*<void> barrier)
        {
            this = default;
            if (!IsValidSize(queueSize)) return SplitQueueError.BadQueueSize;
            if (descriptorTable == null || availRing == null || usedRing == null || slots == null) return SplitQueueError.MissingMemory;
            if (!IsAligned((ulong)descriptorTable, descriptorTablePhysical, DescriptorAlignment)
                || !IsAligned((ulong)availRing, availRingPhysical, AvailAlignment)
                || !IsAligned((ulong)usedRing, usedRingPhysical, UsedAlignment))
                return SplitQueueError.Misaligned;

            _descriptors = (Descriptor*)descriptorTable;
            _avail = (byte*)availRing;
            _used = (byte*)usedRing;
            _slots = slots;
            _barrier = barrier;
            _descriptorsPhysical = descriptorTablePhysical;
            _availPhysical = availRingPhysical;
            _usedPhysical = usedRingPhysical;
            _size = queueSize;
            _eventIndex = eventIndex;

            Sizes(queueSize, out uint descBytes, out uint availBytes, out uint usedBytes);
            Zero((byte*)descriptorTable, descBytes);
            Zero(_avail, availBytes);
            Zero(_used, usedBytes);
            for (int i = 0; i < queueSize; i++)
            {
                _slots[i].Cookie = 0;
                _slots[i].Next = (ushort)(i + 1);     // the last one's link is never followed: _freeCount guards it
                _slots[i].ChainLength = 0;
                _slots[i].WritableBytes = 0;
            }
            _freeHead = 0;
            _freeCount = queueSize;
            return SplitQueueError.None;
        }

        // Initialize over one block laid out by ContiguousLayout; `rings` must be 16-byte aligned.
        internal SplitQueueError InitializeContiguous(ushort queueSize, byte* rings, ulong ringsPhysical,
            Slot* slots, bool eventIndex, delegate*<void> barrier)
        {
            if (!IsValidSize(queueSize)) { this = default; return SplitQueueError.BadQueueSize; }
            ContiguousLayout(queueSize, out uint availOffset, out uint usedOffset);
            return Initialize(queueSize, rings, ringsPhysical, rings + availOffset, ringsPhysical + availOffset,
                rings + usedOffset, ringsPhysical + usedOffset, slots, eventIndex, barrier);
        }

        // Builds one chain, device-readable buffers first and device-writable ones after (virtio 1.2
        // §2.7.4 Message Framing, §2.7.13.1 Placing Buffers), and places its head in the available ring.
        // The device sees it after Publish (or NeedsNotify). False, with nothing changed, when the chain
        // is empty or longer than 2^32 bytes (§2.7.5.2), the queue is broken, or fewer than
        // readable+writable descriptors are free.
        internal bool TryAddChain(ReadOnlySpan<Buffer> readable, ReadOnlySpan<Buffer> writable, ulong cookie, out ushort head)
        {
            head = 0;
            int count = readable.Length + writable.Length;
            if (_broken || count == 0 || count > _freeCount) return false;
            ulong totalBytes = 0;
            for (int i = 0; i < readable.Length; i++) totalBytes += readable[i].Length;
            for (int i = 0; i < writable.Length; i++) totalBytes += writable[i].Length;
            if (totalBytes > MaxChainBytes) return false;

            ushort first = _freeHead, index = first;
            ulong writableBytes = 0;
            for (int i = 0; i < count; i++)
            {
                bool isWritable = i >= readable.Length;
                Buffer buffer = isWritable ? writable[i - readable.Length] : readable[i];
                ushort next = _slots[index].Next;
                bool more = i + 1 < count;
                Descriptor* d = &_descriptors[index];
                d->Address = buffer.Address;
                d->Length = buffer.Length;
                d->Flags = (ushort)((isWritable ? DescriptorWrite : 0) | (more ? DescriptorNext : 0));
                d->Next = more ? next : (ushort)0;
                if (isWritable) writableBytes += buffer.Length;
                index = next;
            }
            _freeHead = index;
            _freeCount -= count;

            Slot* slot = &_slots[first];
            slot->Cookie = cookie;
            slot->ChainLength = (ushort)count;
            slot->WritableBytes = writableBytes > uint.MaxValue ? uint.MaxValue : (uint)writableBytes;

            // virtio 1.2 §2.7.13.1: the head goes in ring[idx % N]; idx itself moves in Publish.
            *(ushort*)(_avail + 4 + 2 * (_availIndex & (_size - 1))) = first;
            _availIndex++;
            head = first;
            return true;
        }

        // Makes every added chain visible: fence, then the new avail.idx (virtio 1.2 §2.7.13.2 Updating idx).
        internal void Publish()
        {
            if (_availIndex == _publishedIndex) return;
            Barrier();
            Store16(_avail + 2, _availIndex);
            _publishedSinceNotify += (ushort)(_availIndex - _publishedIndex);
            _publishedIndex = _availIndex;
        }

        // Publishes, then says whether the device wants a notification for what was published since the
        // last call (virtio 1.2 §2.7.13.3 Notifying the Device): with EVENT_IDX, whether avail_event lies in
        // the published range (§2.7.10); without, whether used.flags lacks VRING_USED_F_NO_NOTIFY.
        internal bool NeedsNotify()
        {
            Publish();
            Barrier();  // avail.idx must be visible before the suppression fields are read
            ushort newIndex = _publishedIndex, oldIndex = _notifiedIndex;
            uint published = _publishedSinceNotify;
            _notifiedIndex = newIndex;
            _publishedSinceNotify = 0;
            if (published == 0) return false;
            if (published >= 0xffff) return true;   // the 16-bit window can no longer tell; notify to be safe
            if (_eventIndex) return NeedEvent(Load16(_used + 4 + UsedElementBytes * _size), newIndex, oldIndex);
            return (Load16(_used) & UsedNoNotify) == 0;
        }

        // vring_need_event (virtio 1.2 §2.7.10): true when `eventIndex` was crossed moving from oldIndex to newIndex.
        internal static bool NeedEvent(ushort eventIndex, ushort newIndex, ushort oldIndex) =>
            (ushort)(newIndex - eventIndex - 1) < (ushort)(newIndex - oldIndex);

        // True when the device has returned a chain TryTakeUsed has not taken yet.
        internal bool HasUsed => Load16(_used + 2) != _lastUsedIndex;

        // Takes the next used element (virtio 1.2 §2.7.14 Receiving Used Buffers From The Device): its
        // chain's cookie and the bytes the device wrote (clamped to the chain's writable bytes), and
        // frees the chain's descriptors. False when nothing is pending, or when the device returned an
        // element naming no chain it owns (the queue is then broken for good, as Linux's BAD_RING).
        internal bool TryTakeUsed(out ulong cookie, out uint length)
        {
            cookie = 0;
            length = 0;
            if (_broken) return false;
            ushort usedIndex = Load16(_used + 2);
            if (usedIndex == _lastUsedIndex) return false;
            if ((ushort)(usedIndex - _lastUsedIndex) > _size) { _broken = true; return false; }
            Barrier();  // the element is read only after used.idx says it is there

            UsedElement* element = (UsedElement*)(_used + 4) + (_lastUsedIndex & (_size - 1));
            uint id = element->Id, written = element->Length;
            if (id >= _size || _slots[id].ChainLength == 0) { _broken = true; return false; }

            Slot* slot = &_slots[id];
            cookie = slot->Cookie;
            length = written > slot->WritableBytes ? slot->WritableBytes : written;
            ushort tail = (ushort)id;
            for (int i = 1; i < slot->ChainLength; i++) tail = _slots[tail].Next;
            _slots[tail].Next = _freeHead;
            _freeHead = (ushort)id;
            _freeCount += slot->ChainLength;
            slot->ChainLength = 0;
            slot->Cookie = 0;
            slot->WritableBytes = 0;
            _lastUsedIndex++;

            if (_eventIndex)
            {
                // virtio 1.2 §2.7.7: used_event names the used index that should interrupt next; while
                // suppressed keep it just behind, so it is never reached (at most N chains are in flight).
                ushort usedEvent = _interruptsDisabled ? (ushort)(_lastUsedIndex - 1) : _lastUsedIndex;
                Store16(_avail + 4 + 2 * _size, usedEvent);
                if (!_interruptsDisabled) Barrier();  // used_event before the next read of used.idx, or a wakeup is lost
            }
            return true;
        }

        // Asks the device not to interrupt for used buffers (virtio 1.2 §2.7.7 Used Buffer Notification
        // Suppression): VIRTQ_AVAIL_F_NO_INTERRUPT, or with EVENT_IDX (where flags must stay 0) a
        // used_event that will not be reached. A hint only: the device may still interrupt.
        internal void DisableInterrupts()
        {
            _interruptsDisabled = true;
            if (_eventIndex)
            {
                Store16(_avail + 4 + 2 * _size, (ushort)(_lastUsedIndex - 1));
            }
            else
            {
                _availFlags |= AvailNoInterrupt;
                Store16(_avail, _availFlags);
            }
        }

        // Asks for an interrupt on the next used buffer, then re-checks the used ring: false means
        // buffers arrived meanwhile (their interrupt may have been suppressed), so the caller must take
        // them before it waits (as Linux's virtqueue_enable_cb).
        internal bool EnableInterrupts()
        {
            _interruptsDisabled = false;
            if (_eventIndex)
            {
                Store16(_avail + 4 + 2 * _size, _lastUsedIndex);
            }
            else
            {
                _availFlags &= unchecked((ushort)~AvailNoInterrupt);
                Store16(_avail, _availFlags);
            }
            Barrier();
            return !HasUsed;
        }

        private void Barrier()
        {
            if (_barrier != null) _barrier();
        }

        private static ushort Load16(byte* p) => ((Volatile16*)p)->Value;
        private static void Store16(byte* p, ushort value) => ((Volatile16*)p)->Value = value;

        private static bool IsAligned(ulong virtualAddress, ulong physicalAddress, uint alignment) =>
            ((virtualAddress | physicalAddress) & (alignment - 1)) == 0;

        private static void Zero(byte* p, uint count)
        {
            for (uint i = 0; i < count; i++) p[i] = 0;
        }
    }
}
