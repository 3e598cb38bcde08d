namespace Libra.Shims.Net
{
    // One direction's credit (virtio-vsock's buf_alloc/fwd_cnt, reference/sockets.md §3.5): the sender
    // may have Size bytes in flight, not yet returned by the receiver's CREDIT or TX_CREDIT. Returning
    // more than is in flight is a broken peer (credit overflow): Return refuses it and changes nothing.
    internal struct SideWindow
    {
        internal uint Size;
        internal uint InFlight;

        internal SideWindow(uint size)
        {
            Size = size;
            InFlight = 0;
        }

        internal uint Available => Size > InFlight ? Size - InFlight : 0;

        internal bool Consume(uint count)
        {
            if (count > Available) return false;
            InFlight += count;
            return true;
        }

        internal bool Return(uint count)
        {
            if (count > InFlight) return false;
            InFlight -= count;
            return true;
        }
    }
}
