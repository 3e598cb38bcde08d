using Libra.Memory;
using Libra.Threads;

namespace Libra.Shims.Net
{
    // What one address family does with a socket (AF_UNIX inside the guest; AF_INET and AF_INET6
    // through the Side daemon): the socket calls decode their arguments in SocketCalls and come here
    // with kernel copies of addresses and with data in checked user or kernel memory.
    internal unsafe struct SocketOperations
    {
        // Sets up the family's state of a new socket; 0 or -errno.
        internal delegate*<Socket*, long> Attach;
        internal delegate*<Socket*, byte*, int, long> Bind;
        internal delegate*<Socket*, int, long> Listen;
        // The next connection of a listening socket: 0 and *accepted, or -errno (EAGAIN when none and non-blocking).
        internal delegate*<Socket*, bool, Socket**, long> Accept;
        internal delegate*<Socket*, byte*, int, bool, long> Connect;
        // send: (socket, data, length, flags, destination or null, its length, non-blocking) → bytes or -errno.
        internal delegate*<Socket*, byte*, ulong, int, byte*, int, bool, long> Send;
        // receive: (socket, buffer, length, flags, source buffer or null, its length in/out, non-blocking, msg_flags out).
        internal delegate*<Socket*, byte*, ulong, int, byte*, int*, bool, int*, long> Receive;
        internal delegate*<Socket*, int, long> Shutdown;
        // The local (peer false) or remote address into a 128-byte buffer; its length or -errno.
        internal delegate*<Socket*, bool, byte*, long> Name;
        internal delegate*<Socket*, uint> Poll;
        internal delegate*<Socket*, PollQueue*> Queue;
        internal delegate*<Socket*, void> Release;
        // Bytes waiting to be read (FIONREAD, SIOCINQ).
        internal delegate*<Socket*, ulong> Available;
        // An option the family acts on (TCP_NODELAY, SO_LINGER, ...) after SocketCalls recorded it; 0 or -errno.
        internal delegate*<Socket*, int, int, byte*, int, long> SetOption;
        // SO_ERROR: the pending error, cleared (null: Socket.Error).
        internal delegate*<Socket*, int> TakeError;

        internal static SocketOperations* New() => (SocketOperations*)KernelHeap.AllocateZeroed((ulong)sizeof(SocketOperations));
    }

    // A socket: the generic part (family, type, pending error, recorded options); the family keeps
    // its own state behind Family.
    internal unsafe struct Socket
    {
        internal const int MaxOptions = 24;

        internal SocketOperations* Ops;
        internal OpenFile* File;            // the description that owns it
        internal int Domain, Type, Protocol;
        internal int Error;                 // so_error: returned and cleared by SO_ERROR
        internal bool Listening;
        internal void* Family;              // the family's state
        internal ulong ReceiveTimeout, SendTimeout;     // SO_RCVTIMEO / SO_SNDTIMEO in nanoseconds; 0 = none

        // setsockopt values as set, so getsockopt reads them back (level, name, up to 16 bytes each).
        internal int OptionCount;
        internal fixed int OptionLevels[MaxOptions];
        internal fixed int OptionNames[MaxOptions];
        internal fixed int OptionLengths[MaxOptions];
        internal fixed ulong OptionValues[MaxOptions * 2];

        internal bool IsStream => Type == SocketCalls.SOCK_STREAM;
    }
}
