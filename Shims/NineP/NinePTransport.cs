namespace Libra.Shims.NineP
{
    // What a NinePSession needs from where it runs, as function pointers (kernel code has no interface
    // dispatch), each handed Context back. The kernel's (NinePClient) carries messages over virtio-9p or
    // the virtio-serial stream, takes buffers from physical pages and says what went wrong in the
    // kernel log; the host tests' carry them over a socket to diod or to a scripted server.
    internal unsafe struct NinePTransport
    {
        internal void* Context;
        // Sends request[0..length) and receives one whole reply into reply[0..capacity): the reply's
        // length, or -errno when there is none (the transport says why itself, once).
        internal delegate*<void*, byte*, int, byte*, int, int> Transact;
        // A buffer of `bytes` the transport can hand to its device as it is (the kernel's are
        // physically contiguous), or null; and its return.
        internal delegate*<void*, int, byte*> AllocateBuffer;
        internal delegate*<void*, byte*, int, void> FreeBuffer;
        // Says that a reply of `received` bytes to `request` did not decode and its call fails with
        // EIO (the kernel's writes one log line); may be null.
        internal delegate*<void*, byte*, byte*, int, void> MalformedReply;
        // Moves file data between a message and the caller's buffer (destination, source, length):
        // the bytes moved, fewer when the caller's buffer ended early. The kernel's is UserMemory's
        // CopyChecked, which survives a buffer the application unmapped meanwhile; null: a plain copy.
        internal delegate*<void*, void*, ulong, ulong> CopyData;
    }
}
