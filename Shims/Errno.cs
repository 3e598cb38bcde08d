namespace Libra.Shims
{
    // Linux errno values (include/uapi/asm-generic/errno-base.h, errno.h); a syscall returns -errno.
    internal static class Errno
    {
        internal const long EDOM = 33, ENETDOWN = 100, EDESTADDRREQ = 89, EPROTOTYPE = 91, ESOCKTNOSUPPORT = 94, EOPNOTSUPP = 95;
        internal const long EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, ENXIO = 6, E2BIG = 7, ENOEXEC = 8,
            EBADF = 9, ECHILD = 10, EAGAIN = 11, ENOMEM = 12, EACCES = 13, EFAULT = 14, EBUSY = 16, EEXIST = 17,
            ENOTDIR = 20, EISDIR = 21, EINVAL = 22, ENFILE = 23, EMFILE = 24, ENOTTY = 25, EXDEV = 18, EFBIG = 27, ENOSPC = 28,
            ESPIPE = 29, EROFS = 30, EPIPE = 32, ERANGE = 34, EDEADLK = 35, ENAMETOOLONG = 36, ENOSYS = 38, ENOTEMPTY = 39,
            ELOOP = 40, ENODEV = 19, ENODATA = 61, EOVERFLOW = 75, ENOLCK = 37, ENOTSUP = 95, EPROTONOSUPPORT = 93, ETIMEDOUT = 110;
        // Sockets (the Side protocol carries these as positive u32 values).
        internal const long EPROTO = 71, ENOTSOCK = 88, EMSGSIZE = 90, ENOPROTOOPT = 92, EAFNOSUPPORT = 97, EADDRINUSE = 98,
            EADDRNOTAVAIL = 99, ENETUNREACH = 101, ECONNABORTED = 103, ECONNRESET = 104, ENOBUFS = 105, EISCONN = 106,
            ENOTCONN = 107, ECONNREFUSED = 111, EHOSTUNREACH = 113, EALREADY = 114, EINPROGRESS = 115;
        // Internal: the call was interrupted by a signal and restarts when the handler has SA_RESTART
        // (ERESTARTSYS), or only when no handler runs (ERESTARTNOHAND; include/linux/errno.h).
        internal const long ERESTARTSYS = 512, ERESTARTNOHAND = 514;

        internal static string Name(long errno) => errno switch
        {
            EDOM => "EDOM", ENETDOWN => "ENETDOWN", EDESTADDRREQ => "EDESTADDRREQ", EPROTOTYPE => "EPROTOTYPE", ESOCKTNOSUPPORT => "ESOCKTNOSUPPORT",
            EPERM => "EPERM", ENOENT => "ENOENT", ESRCH => "ESRCH", EINTR => "EINTR", EIO => "EIO", ENXIO => "ENXIO",
            E2BIG => "E2BIG", ENOEXEC => "ENOEXEC", EBADF => "EBADF", ECHILD => "ECHILD", EAGAIN => "EAGAIN",
            ENOMEM => "ENOMEM", EACCES => "EACCES", EFAULT => "EFAULT", EBUSY => "EBUSY", EEXIST => "EEXIST",
            ENOTDIR => "ENOTDIR", EISDIR => "EISDIR", EINVAL => "EINVAL", ENFILE => "ENFILE", EMFILE => "EMFILE",
            ENOTTY => "ENOTTY", EXDEV => "EXDEV", EFBIG => "EFBIG", ENOSPC => "ENOSPC", ESPIPE => "ESPIPE", EROFS => "EROFS",
            EPIPE => "EPIPE", ERANGE => "ERANGE", EDEADLK => "EDEADLK", ENAMETOOLONG => "ENAMETOOLONG", ENOSYS => "ENOSYS",
            ENOTEMPTY => "ENOTEMPTY", ELOOP => "ELOOP", ENODATA => "ENODATA", EOVERFLOW => "EOVERFLOW", ENOLCK => "ENOLCK",
            ENOTSUP => "EOPNOTSUPP", ENODEV => "ENODEV", EPROTONOSUPPORT => "EPROTONOSUPPORT", ETIMEDOUT => "ETIMEDOUT", ERESTARTSYS => "ERESTARTSYS", ERESTARTNOHAND => "ERESTARTNOHAND",
            EPROTO => "EPROTO", ENOTSOCK => "ENOTSOCK", EMSGSIZE => "EMSGSIZE", ENOPROTOOPT => "ENOPROTOOPT",
            EAFNOSUPPORT => "EAFNOSUPPORT", EADDRINUSE => "EADDRINUSE", EADDRNOTAVAIL => "EADDRNOTAVAIL", ENETUNREACH => "ENETUNREACH",
            ECONNABORTED => "ECONNABORTED", ECONNRESET => "ECONNRESET", ENOBUFS => "ENOBUFS", EISCONN => "EISCONN",
            ENOTCONN => "ENOTCONN", ECONNREFUSED => "ECONNREFUSED", EHOSTUNREACH => "EHOSTUNREACH", EALREADY => "EALREADY",
            EINPROGRESS => "EINPROGRESS", _ => "E?",
        };
    }
}
