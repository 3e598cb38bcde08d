using Libra.Shims.Net;

namespace Libra.Side;

internal enum HostSocketState { Created, Bound, Listening, Connecting, Connected, Failed }

// One guest socket's host half: the real fd, the credit both ways, the queued sends, and what the
// guest has asked for (shutdown after the queue drains, close with linger).
internal sealed class HostSocket(uint id, int fd, int family, int type, ulong token)
{
    internal uint Id { get; } = id;
    internal int Fd { get; } = fd;
    internal int Family { get; } = family;
    internal int Type { get; } = type;
    // epoll's data for this socket: unique for the Side's lifetime, so a stale event is never misread.
    internal ulong Token { get; } = token;
    internal HostSocketState State;
    internal SideWindow Rx;                 // bytes pushed to the guest and not yet returned by CREDIT
    internal SideWindow Tx;                 // bytes the guest sent that TX_CREDIT has not returned
    internal uint TxCreditDue;              // sent to the host since the last TX_CREDIT
    internal uint AcceptCredit;
    internal readonly ByteQueue Queue = new(0);
    internal bool ReadDone;                 // EOF pushed, SHUT_RD, or failed: the Side reads no more
    internal bool ShutdownWritePending, WriteShut;
    internal bool Closing;                  // CLOSE received: flush, then release
    internal bool Released;
    internal uint Registered;               // the epoll mask now in force (0: not in the epoll set)
    // The publish this socket was bound through (listeners and published UDP), and the address the
    // guest asked for, which is what it must see as its own (getsockname).
    internal Publish? Published;
    internal byte[] GuestAddress = [];
    internal byte[] HostName = [];          // getsockname on the host, once bound or connected
    internal bool UsesNameServer;           // sent to the guest's name server: its replies are relabelled
    // A published UDP socket's host correspondents (the sources of what it received), whom it may
    // answer without -Net outbound, as an accepted TCP connection answers its client.
    internal readonly HashSet<string> Heard = new();
    internal bool IsStream => Type == Linux.SOCK_STREAM;
}
