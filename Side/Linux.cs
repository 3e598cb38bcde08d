using System.Runtime.InteropServices;

namespace Libra.Side;

// The libc calls the Side makes on raw file descriptors (socket(7), epoll(7)). Raw fds, not
// System.Net.Sockets: the protocol carries Linux sockaddr bytes, which pass through untouched, and
// linger, shutdown order and non-blocking connect stay exactly Linux's.
internal static unsafe partial class Linux
{
    internal const int AF_UNIX = 1, AF_INET = 2, AF_INET6 = 10;
    internal const int SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_NONBLOCK = 0x800, SOCK_CLOEXEC = 0x80000;
    internal const int SOL_SOCKET = 1, SO_TYPE = 3, SO_ERROR = 4, SO_ACCEPTCONN = 30, SO_DOMAIN = 39, SO_PROTOCOL = 38;
    internal const int SO_REUSEADDR = 2, SO_BROADCAST = 6, SO_SNDBUF = 7, SO_RCVBUF = 8, SO_KEEPALIVE = 9, SO_LINGER = 13, SO_REUSEPORT = 15;
    internal const int IPPROTO_TCP = 6, TCP_NODELAY = 1, TCP_KEEPIDLE = 4, TCP_KEEPINTVL = 5, TCP_KEEPCNT = 6;
    internal const int IPPROTO_IP = 0, IP_TOS = 1, IP_TTL = 2, IPPROTO_IPV6 = 41, IPV6_UNICAST_HOPS = 16, IPV6_V6ONLY = 26;
    internal const int MSG_TRUNC = 0x20, MSG_DONTWAIT = 0x40, MSG_NOSIGNAL = 0x4000;
    internal const int EPOLLIN = 0x1, EPOLLOUT = 0x4, EPOLLERR = 0x8, EPOLLHUP = 0x10;
    internal const int EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2, EPOLL_CTL_MOD = 3, EPOLL_CLOEXEC = 0x80000;
    internal const int EINTR = 4, EAGAIN = 11, EINPROGRESS = 115;
    internal const uint FIONREAD = 0x541B, SIOCOUTQ = 0x5411, SIOCATMARK = 0x8905;

    // struct epoll_event is packed on x86-64: events[4] data[8].
    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    internal struct EpollEvent
    {
        internal uint Events;
        internal ulong Data;
    }

    [LibraryImport("libc", SetLastError = true)] internal static partial int socket(int domain, int type, int protocol);
    [LibraryImport("libc", SetLastError = true)] internal static partial int bind(int fd, byte* address, int length);
    [LibraryImport("libc", SetLastError = true)] internal static partial int listen(int fd, int backlog);
    [LibraryImport("libc", SetLastError = true)] internal static partial int accept4(int fd, byte* address, int* length, int flags);
    [LibraryImport("libc", SetLastError = true)] internal static partial int connect(int fd, byte* address, int length);
    [LibraryImport("libc", SetLastError = true)] internal static partial nint recv(int fd, byte* buffer, nint length, int flags);
    [LibraryImport("libc", SetLastError = true)] internal static partial nint send(int fd, byte* buffer, nint length, int flags);
    [LibraryImport("libc", SetLastError = true)] internal static partial nint recvfrom(int fd, byte* buffer, nint length, int flags, byte* address, int* addressLength);
    [LibraryImport("libc", SetLastError = true)] internal static partial nint sendto(int fd, byte* buffer, nint length, int flags, byte* address, int addressLength);
    [LibraryImport("libc", SetLastError = true)] internal static partial int shutdown(int fd, int how);
    [LibraryImport("libc", SetLastError = true)] internal static partial int close(int fd);
    [LibraryImport("libc", SetLastError = true)] internal static partial int setsockopt(int fd, int level, int name, byte* value, int length);
    [LibraryImport("libc", SetLastError = true)] internal static partial int getsockopt(int fd, int level, int name, byte* value, int* length);
    [LibraryImport("libc", SetLastError = true)] internal static partial int getsockname(int fd, byte* address, int* length);
    [LibraryImport("libc", SetLastError = true)] internal static partial int getpeername(int fd, byte* address, int* length);
    [LibraryImport("libc", SetLastError = true)] internal static partial int ioctl(int fd, nuint request, int* argument);
    [LibraryImport("libc", SetLastError = true)] internal static partial int epoll_create1(int flags);
    [LibraryImport("libc", SetLastError = true)] internal static partial int epoll_ctl(int epfd, int op, int fd, EpollEvent* ev);
    [LibraryImport("libc", SetLastError = true)] internal static partial int epoll_wait(int epfd, EpollEvent* events, int max, int timeout);

    internal static int Errno => Marshal.GetLastPInvokeError();

    internal static int SetInt(int fd, int level, int name, int value) => setsockopt(fd, level, name, (byte*)&value, sizeof(int)) == 0 ? 0 : Errno;

    internal static int GetInt(int fd, int level, int name, out int value)
    {
        int v = 0, length = sizeof(int);
        int result = getsockopt(fd, level, name, (byte*)&v, &length);
        value = v;
        return result == 0 ? 0 : Errno;
    }

    // getsockname/getpeername into a sockaddr_storage-sized buffer; the address's bytes, or empty.
    internal static byte[] Name(int fd, bool peer)
    {
        var buffer = new byte[128];
        int length = buffer.Length;
        fixed (byte* p = buffer)
        {
            int result = peer ? getpeername(fd, p, &length) : getsockname(fd, p, &length);
            if (result != 0) return [];
        }
        return buffer.AsSpan(0, Math.Min(length, buffer.Length)).ToArray();
    }

    // SO_LINGER as (onoff, seconds).
    internal static (int OnOff, int Seconds) Linger(int fd)
    {
        long value = 0;
        int length = sizeof(long);
        if (getsockopt(fd, SOL_SOCKET, SO_LINGER, (byte*)&value, &length) != 0) return (0, 0);
        return ((int)value, (int)(value >> 32));
    }

    internal static void SetLinger(int fd, int onOff, int seconds)
    {
        long value = (uint)onOff | ((long)seconds << 32);
        setsockopt(fd, SOL_SOCKET, SO_LINGER, (byte*)&value, sizeof(long));
    }

    // The unix socket QEMU connects to: sockaddr_un with a path (at most 107 bytes).
    internal static int UnixAddress(string path, Span<byte> sockaddr)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(path);
        if (bytes.Length > 107) throw new ArgumentException($"unix socket path too long (over 107 bytes): {path}");
        sockaddr.Slice(0, 110).Clear();
        sockaddr[0] = AF_UNIX;
        bytes.CopyTo(sockaddr.Slice(2));
        return 2 + bytes.Length + 1;
    }
}
