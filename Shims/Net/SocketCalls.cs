using Libra.Diagnostics;
using Libra.Memory;
using Libra.Signals;
using Libra.Threads;
using Libra.Time;

namespace Libra.Shims.Net
{
    // The socket calls (net/socket.c): arguments decoded and checked here, addresses copied into the
    // kernel, iovecs walked; what happens to the data is the address family's (SocketOperations).
    internal static unsafe class SocketCalls
    {
        internal const int AF_UNSPEC = 0, AF_UNIX = 1, AF_INET = 2, AF_INET6 = 10;
        internal const int SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_SEQPACKET = 5, SOCK_TYPE_MASK = 0xf;
        internal const int SOCK_NONBLOCK = 0x800, SOCK_CLOEXEC = 0x80000;
        internal const int MSG_OOB = 1, MSG_PEEK = 2, MSG_TRUNC = 0x20, MSG_DONTWAIT = 0x40, MSG_EOR = 0x80, MSG_WAITALL = 0x100,
            MSG_NOSIGNAL = 0x4000, MSG_CMSG_CLOEXEC = 0x40000000, MSG_CTRUNC = 8;
        internal const int SHUT_RD = 0, SHUT_WR = 1, SHUT_RDWR = 2;
        internal const int SOL_SOCKET = 1, IPPROTO_IP = 0, IPPROTO_TCP = 6, IPPROTO_UDP = 17, IPPROTO_IPV6 = 41;
        internal const int SO_REUSEADDR = 2, SO_TYPE = 3, SO_ERROR = 4, SO_BROADCAST = 6, SO_SNDBUF = 7, SO_RCVBUF = 8, SO_KEEPALIVE = 9,
            SO_OOBINLINE = 10, SO_LINGER = 13, SO_REUSEPORT = 15, SO_PASSCRED = 16, SO_PEERCRED = 17, SO_RCVLOWAT = 18, SO_SNDLOWAT = 19,
            SO_RCVTIMEO = 20, SO_SNDTIMEO = 21, SO_ACCEPTCONN = 30, SO_PROTOCOL = 38, SO_DOMAIN = 39;
        internal const int AddressCapacity = 128;     // sizeof(struct sockaddr_storage)
        private const int DefaultBuffer = 212992;     // net.core.rmem_default / wmem_default

        private static FileOperations* s_fileOps;

        internal static void Initialize()
        {
            s_fileOps = FileOperations.New();
            s_fileOps->Read = &FileRead;
            s_fileOps->Write = &FileWrite;
            s_fileOps->Poll = &FilePoll;
            s_fileOps->Queue = &FileQueue;
            s_fileOps->Release = &FileRelease;
            s_fileOps->Ioctl = &FileIoctl;
            UnixSockets.Initialize();
            InetSockets.Initialize();
            InetDatagrams.Initialize();
        }

        private static SocketOperations* FamilyOf(int domain, int type) =>
            domain == AF_UNIX ? UnixSockets.Ops : domain == AF_INET || domain == AF_INET6 ? (type == SOCK_DGRAM ? InetDatagrams.Ops : InetSockets.Ops) : null;

        // A new socket of `domain` and `type`, not yet in the descriptor table; null when the kernel
        // heap cannot hold it or its description (the caller answers ENFILE, as sock_alloc's failure).
        internal static Socket* NewSocket(int domain, int type, int protocol, bool nonBlocking, out OpenFile* file)
        {
            var socket = (Socket*)KernelHeap.TryAllocateZeroed((ulong)sizeof(Socket));
            file = FileTable.TryNew(FileKind.Socket, s_fileOps, FileTable.O_RDWR | (nonBlocking ? FileTable.O_NONBLOCK : 0), 0xc1ff);   // S_IFSOCK | 0777
            if (socket == null || file == null)
            {
                if (socket != null) KernelHeap.Free(socket);
                FileTable.Discard(file);
                file = null;
                return null;
            }
            socket->Ops = FamilyOf(domain, type);
            socket->Domain = domain;
            socket->Type = type;
            socket->Protocol = protocol;
            file->Object = socket;
            file->Inode = (ulong)socket & 0xffffff;
            socket->File = file;
            return socket;
        }

        private static Socket* Lookup(int fd, out long error)
        {
            OpenFile* file = FileTable.Use(fd);
            error = file == null ? -Errno.EBADF : file->Kind != FileKind.Socket ? -Errno.ENOTSOCK : 0;
            return error == 0 ? (Socket*)file->Object : null;
        }

        private static bool NonBlocking(Socket* socket, int flags) => socket->File->IsNonBlocking || (flags & MSG_DONTWAIT) != 0;

        // socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol)
        internal static long Create(SyscallArgs* a)
        {
            int domain = a->Int0, type = a->Int1 & SOCK_TYPE_MASK, flags = a->Int1 & ~SOCK_TYPE_MASK;
            if ((flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) != 0) return -Errno.EINVAL;
            if (FamilyOf(domain, type) == null) return -Errno.EAFNOSUPPORT;
            long error = CheckType(domain, type, a->Int2);
            if (error != 0) return error;
            Socket* socket = NewSocket(domain, type, a->Int2, (flags & SOCK_NONBLOCK) != 0, out OpenFile* file);
            if (socket == null) return -Errno.ENFILE;
            error = socket->Ops->Attach(socket);
            if (error != 0) { FileTable.ReleaseUnused(file); return error; }
            return FileTable.AllocateNew(file, (flags & SOCK_CLOEXEC) != 0);
        }

        private static long CheckType(int domain, int type, int protocol)
        {
            if (type != SOCK_STREAM && type != SOCK_DGRAM) return -Errno.ESOCKTNOSUPPORT;
            if (domain == AF_UNIX && protocol != 0) return -Errno.EPROTONOSUPPORT;
            return 0;
        }

        // socketpair(domain, type, protocol, sv[2]): a connected pair, AF_UNIX only (Linux: EOPNOTSUPP for IP).
        internal static long Pair(SyscallArgs* a)
        {
            int domain = a->Int0, type = a->Int1 & SOCK_TYPE_MASK, flags = a->Int1 & ~SOCK_TYPE_MASK;
            if ((flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) != 0) return -Errno.EINVAL;
            if (domain == AF_INET || domain == AF_INET6) return -Errno.EOPNOTSUPP;
            if (domain != AF_UNIX) return -Errno.EAFNOSUPPORT;
            long error = CheckType(domain, type, a->Int2);
            if (error != 0) return error;
            if (!UserMemory.IsAccessible(a->A3, 8, write: true)) return -Errno.EFAULT;
            bool nonBlocking = (flags & SOCK_NONBLOCK) != 0, cloexec = (flags & SOCK_CLOEXEC) != 0;
            // Either socket or its ring may not fit in the kernel heap: whatever was made goes again.
            Socket* first = NewSocket(domain, type, 0, nonBlocking, out OpenFile* firstFile);
            if (first == null) return -Errno.ENFILE;
            Socket* second = NewSocket(domain, type, 0, nonBlocking, out OpenFile* secondFile);
            if (second == null) { FileTable.ReleaseUnused(firstFile); return -Errno.ENFILE; }
            error = first->Ops->Attach(first);
            if (error == 0) error = second->Ops->Attach(second);
            if (error != 0)
            {
                FileTable.ReleaseUnused(firstFile);
                FileTable.ReleaseUnused(secondFile);
                return error;
            }
            UnixSockets.Join(first, second);
            int fd0 = FileTable.AllocateNew(firstFile, cloexec);
            if (fd0 < 0) { FileTable.ReleaseUnused(secondFile); return fd0; }
            int fd1 = FileTable.AllocateNew(secondFile, cloexec);
            if (fd1 < 0) { FileTable.Close(fd0); return fd1; }
            int* pair = stackalloc int[2];
            pair[0] = fd0; pair[1] = fd1;
            UserMemory.CopyToUser(a->A3, pair, 8);
            return 0;
        }

        // A user sockaddr copied in: its length, or -errno.
        private static long CopyAddress(ulong address, int length, byte* into)
        {
            if (length < 0 || length > AddressCapacity) return -Errno.EINVAL;
            if (length > 0 && !UserMemory.CopyFromUser(into, address, (ulong)length)) return -Errno.EFAULT;
            return length;
        }

        // Writes an address out as accept, recvfrom and getsockname do: truncated to *lengthAddress,
        // which then says the full length. Null pointers mean "not asked for" to accept and recvfrom;
        // getsockname and getpeername always write (move_addr_to_user: EFAULT for a null address).
        private static long WriteAddress(ulong address, ulong lengthAddress, byte* value, int length, bool optional = true)
        {
            if (optional && (address == 0 || lengthAddress == 0)) return 0;
            int room;
            if (!UserMemory.CopyFromUser(&room, lengthAddress, 4)) return -Errno.EFAULT;
            if (room < 0) return -Errno.EINVAL;
            int n = length < room ? length : room;
            if (n > 0 && !UserMemory.CopyToUser(address, value, (ulong)n)) return -Errno.EFAULT;
            return UserMemory.CopyToUser(lengthAddress, &length, 4) ? 0 : -Errno.EFAULT;
        }

        internal static long Bind(SyscallArgs* a)
        {
            Socket* socket = Lookup(a->Int0, out long error);
            if (socket == null) return error;
            byte* address = stackalloc byte[AddressCapacity];
            long length = CopyAddress(a->A1, a->Int2, address);
            if (length < 0) return length;
            return socket->Ops->Bind(socket, address, (int)length);
        }

        internal static long Listen(SyscallArgs* a)
        {
            Socket* socket = Lookup(a->Int0, out long error);
            if (socket == null) return error;
            if (!socket->IsStream) return -Errno.EOPNOTSUPP;
            int backlog = a->Int1 < 0 ? 0 : a->Int1 > 4096 ? 4096 : a->Int1;
            return socket->Ops->Listen(socket, backlog);
        }

        internal static long Accept(SyscallArgs* a) => AcceptWith(a->Int0, a->A1, a->A2, 0);

        internal static long Accept4(SyscallArgs* a) => AcceptWith(a->Int0, a->A1, a->A2, a->Int3);

        private static long AcceptWith(int fd, ulong address, ulong lengthAddress, int flags)
        {
            if ((flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) != 0) return -Errno.EINVAL;
            Socket* socket = Lookup(fd, out long error);
            if (socket == null) return error;
            if (!socket->IsStream) return -Errno.EOPNOTSUPP;
            if (!socket->Listening) return -Errno.EINVAL;
            Socket* accepted;
            error = socket->Ops->Accept(socket, socket->File->IsNonBlocking, &accepted);
            if (error != 0) return error;
            if ((flags & SOCK_NONBLOCK) != 0) accepted->File->StatusFlags |= FileTable.O_NONBLOCK;
            byte* peer = stackalloc byte[AddressCapacity];
            long peerLength = accepted->Ops->Name(accepted, true, peer);
            int newFd = FileTable.AllocateNew(accepted->File, (flags & SOCK_CLOEXEC) != 0);
            if (newFd < 0) return newFd;
            error = WriteAddress(address, lengthAddress, peer, peerLength < 0 ? 0 : (int)peerLength);
            if (error != 0) { FileTable.Close(newFd); return error; }
            return newFd;
        }

        internal static long Connect(SyscallArgs* a)
        {
            Socket* socket = Lookup(a->Int0, out long error);
            if (socket == null) return error;
            byte* address = stackalloc byte[AddressCapacity];
            long length = CopyAddress(a->A1, a->Int2, address);
            if (length < 0) return length;
            if (length < 2) return -Errno.EINVAL;
            return socket->Ops->Connect(socket, address, (int)length, socket->File->IsNonBlocking);
        }

        internal static long Shutdown(SyscallArgs* a)
        {
            Socket* socket = Lookup(a->Int0, out long error);
            if (socket == null) return error;
            if (a->Int1 < SHUT_RD || a->Int1 > SHUT_RDWR) return -Errno.EINVAL;
            return socket->Ops->Shutdown(socket, a->Int1);
        }

        internal static long GetSockName(SyscallArgs* a) => Name(a, peer: false);

        internal static long GetPeerName(SyscallArgs* a) => Name(a, peer: true);

        private static long Name(SyscallArgs* a, bool peer)
        {
            Socket* socket = Lookup(a->Int0, out long error);
            if (socket == null) return error;
            if (!UserMemory.IsAccessible(a->A2, 4, write: true)) return -Errno.EFAULT;
            byte* address = stackalloc byte[AddressCapacity];
            long length = socket->Ops->Name(socket, peer, address);
            if (length < 0) return length;
            return WriteAddress(a->A1, a->A2, address, (int)length, optional: false);
        }

        // sendto(fd, buffer, length, flags, address, address_length)
        internal static long SendTo(SyscallArgs* a)
        {
            Socket* socket = Lookup(a->Int0, out long error);
            if (socket == null) return error;
            if (!UserMemory.IsAccessible(a->A1, a->A2, write: false)) return -Errno.EFAULT;
            byte* address = stackalloc byte[AddressCapacity];
            long length = 0;
            if (a->A4 != 0)
            {
                length = CopyAddress(a->A4, (int)a->A5, address);
                if (length < 0) return length;
            }
            return Send(socket, (byte*)a->A1, a->A2, a->Int3, a->A4 != 0 ? address : null, (int)length);
        }

        private static long Send(Socket* socket, byte* data, ulong length, int flags, byte* address, int addressLength)
        {
            long n = socket->Ops->Send(socket, data, length, flags, address, addressLength, NonBlocking(socket, flags));
            if (n == -Errno.EPIPE && (flags & MSG_NOSIGNAL) == 0) SignalDelivery.Send(Scheduler.Current, SignalDelivery.SIGPIPE);
            return n;
        }

        // recvfrom(fd, buffer, length, flags, address, address_length*)
        internal static long ReceiveFrom(SyscallArgs* a)
        {
            Socket* socket = Lookup(a->Int0, out long error);
            if (socket == null) return error;
            if (!UserMemory.IsAccessible(a->A1, a->A2, write: true)) return -Errno.EFAULT;
            byte* address = stackalloc byte[AddressCapacity];
            int addressLength = 0, messageFlags = 0;
            long n = socket->Ops->Receive(socket, (byte*)a->A1, a->A2, a->Int3, address, &addressLength, NonBlocking(socket, a->Int3), &messageFlags);
            if (n < 0) return n;
            if (a->A4 != 0 && addressLength > 0)
            {
                error = WriteAddress(a->A4, a->A5, address, addressLength);
                if (error != 0) return error;
            }
            return n;
        }

        // struct msghdr (56 bytes): name@0 namelen@8 iov@16 iovlen@24 control@32 controllen@40 flags@48.
        // Copies the header in and checks its iovecs (each buffer readable, or writable when
        // `receiving`): 0 with the iovec array, its count and the bytes they hold, or -errno.
        private static long ReadMessageHeader(ulong address, byte* header, bool receiving, out ulong iov, out ulong count, out ulong total)
        {
            iov = count = total = 0;
            if (!UserMemory.CopyFromUser(header, address, 56)) return -Errno.EFAULT;
            iov = *(ulong*)(header + 16);
            count = *(ulong*)(header + 24);
            if (count > 1024) return -Errno.EMSGSIZE;
            if (!UserMemory.IsAccessible(iov, count * 16, write: false)) return -Errno.EFAULT;
            for (ulong i = 0; i < count; i++)
            {
                if (!ReadWriteCalls.ReadIovec(iov, i, out ulong buffer, out ulong length)) return -Errno.EFAULT;
                if (!UserMemory.IsAccessible(buffer, length, write: receiving)) return -Errno.EFAULT;
                total += length;
            }
            return 0;
        }

        internal static long SendMessage(SyscallArgs* a) => SendMessage(a->Int0, a->A1, a->Int2);

        // sendmmsg(fd, mmsghdr[vlen], vlen, flags): sendmsg for each (struct mmsghdr: msghdr, then
        // u32 msg_len, 64 bytes), stopping at the first failure; the count sent, or the first error.
        // glibc's resolver sends its A and AAAA queries with it.
        internal static long SendMessages(SyscallArgs* a)
        {
            ulong vector = a->A1;
            uint count = a->A2 > 1024 ? 1024u : (uint)a->A2;
            for (uint i = 0; i < count; i++)
            {
                long n = SendMessage(a->Int0, vector + i * 64, a->Int3);
                if (n < 0) return i > 0 ? i : n;
                uint sent = (uint)n;
                if (!UserMemory.CopyToUser(vector + i * 64 + 56, &sent, 4)) return i > 0 ? i : -Errno.EFAULT;
            }
            return count;
        }

        private static long SendMessage(int fd, ulong message, int flags)
        {
            Socket* socket = Lookup(fd, out long error);
            if (socket == null) return error;
            byte* header = stackalloc byte[56];
            error = ReadMessageHeader(message, header, receiving: false, out ulong iov, out ulong count, out ulong total);
            if (error != 0) return error;
            byte* address = stackalloc byte[AddressCapacity];
            long addressLength = 0;
            ulong name = *(ulong*)header;
            if (name != 0)
            {
                addressLength = CopyAddress(name, *(int*)(header + 8), address);
                if (addressLength < 0) return addressLength;
            }
            byte* to = name != 0 ? address : null;
            // One iovec (or a stream) goes straight from user memory; a datagram from several is
            // gathered first, as it must leave as one message.
            if (socket->IsStream || count <= 1)
            {
                long sent = 0;
                for (ulong i = 0; i < count; i++)
                {
                    if (!ReadWriteCalls.ReadIovec(iov, i, out ulong buffer, out ulong length)) return sent > 0 ? sent : -Errno.EFAULT;
                    if (length == 0 && socket->IsStream) continue;
                    long n = Send(socket, (byte*)buffer, length, sent > 0 ? flags | MSG_DONTWAIT : flags, to, (int)addressLength);
                    if (n < 0) return sent > 0 && n == -Errno.EAGAIN ? sent : sent > 0 ? sent : n;
                    sent += n;
                    if ((ulong)n < length) break;
                }
                if (count == 0) return Send(socket, null, 0, flags, to, (int)addressLength);
                return sent;
            }
            if (total > 65536) return -Errno.EMSGSIZE;
            byte* gathered = (byte*)KernelHeap.TryAllocateZeroed(total == 0 ? 1 : total);
            if (gathered == null) return -Errno.ENOMEM;
            ulong at = 0;
            long result = 0;
            for (ulong i = 0; i < count && result == 0; i++)
            {
                if (!ReadWriteCalls.ReadIovec(iov, i, out ulong buffer, out ulong length) || length > total - at ||
                    !UserMemory.CopyFromUser(gathered + at, buffer, length)) result = -Errno.EFAULT;
                at += length;
            }
            if (result == 0) result = Send(socket, gathered, total, flags, to, (int)addressLength);
            KernelHeap.Free(gathered);
            return result;
        }

        internal static long ReceiveMessage(SyscallArgs* a)
        {
            Socket* socket = Lookup(a->Int0, out long error);
            if (socket == null) return error;
            byte* header = stackalloc byte[56];
            error = ReadMessageHeader(a->A1, header, receiving: true, out ulong iov, out ulong count, out ulong total);
            if (error != 0) return error;
            int flags = a->Int2;
            byte* address = stackalloc byte[AddressCapacity];
            int addressLength = 0, messageFlags = 0;
            long received;
            if (socket->IsStream || count <= 1)
            {
                received = 0;
                for (ulong i = 0; i < count; i++)
                {
                    if (!ReadWriteCalls.ReadIovec(iov, i, out ulong buffer, out ulong length)) { if (received == 0) return -Errno.EFAULT; break; }
                    if (length == 0) continue;
                    // After the first bytes, later iovecs take only what is already there.
                    int f = received > 0 ? (flags | MSG_DONTWAIT) & ~MSG_WAITALL : flags;
                    long n = socket->Ops->Receive(socket, (byte*)buffer, length, f, received == 0 ? address : null,
                        received == 0 ? &addressLength : null, NonBlocking(socket, f), &messageFlags);
                    if (n < 0) { if (received == 0) return n; break; }
                    received += n;
                    if ((ulong)n < length) break;
                }
                if (count == 0 || total == 0)
                    received = socket->Ops->Receive(socket, null, 0, flags, address, &addressLength, NonBlocking(socket, flags), &messageFlags);
                if (received < 0) return received;
            }
            else
            {
                byte* bounce = (byte*)KernelHeap.TryAllocateZeroed(total);
                if (bounce == null) return -Errno.ENOMEM;
                received = socket->Ops->Receive(socket, bounce, total, flags, address, &addressLength, NonBlocking(socket, flags), &messageFlags);
                if (received > 0)
                {
                    ulong at = 0, left = (ulong)received < total ? (ulong)received : total;
                    for (ulong i = 0; i < count && left > 0; i++)
                    {
                        if (!ReadWriteCalls.ReadIovec(iov, i, out ulong buffer, out ulong length)) break;
                        ulong n = length < left ? length : left;
                        if (!UserMemory.CopyToUser(buffer, bounce + at, n)) break;
                        at += n;
                        left -= n;
                    }
                }
                KernelHeap.Free(bounce);
                if (received < 0) return received;
            }
            // The source address, no control messages, and the flags (MSG_TRUNC) go back in the header.
            ulong name = *(ulong*)header;
            if (name != 0)
            {
                int room = *(int*)(header + 8);
                int n = addressLength < room ? addressLength : room;
                if (n > 0 && !UserMemory.CopyToUser(name, address, (ulong)n)) return -Errno.EFAULT;
                if (!UserMemory.CopyToUser(a->A1 + 8, &addressLength, 4)) return -Errno.EFAULT;
            }
            ulong noControl = 0;
            UserMemory.CopyToUser(a->A1 + 40, &noControl, 8);
            UserMemory.CopyToUser(a->A1 + 48, &messageFlags, 4);
            return received;
        }

        // setsockopt: the value is recorded (getsockopt reads it back), then the family acts on it.
        internal static long SetOption(SyscallArgs* a)
        {
            Socket* socket = Lookup(a->Int0, out long error);
            if (socket == null) return error;
            int level = a->Int1, name = a->Int2, length = (int)a->A4;
            if (length < 0 || length > 16) return length < 0 ? -Errno.EINVAL : -Errno.ENOPROTOOPT;
            if (!IsKnownOption(level, name)) return -Errno.ENOPROTOOPT;
            ulong* value = stackalloc ulong[2];
            value[0] = value[1] = 0;
            if (length > 0 && !UserMemory.CopyFromUser(value, a->A3, (ulong)length)) return -Errno.EFAULT;
            if (level == SOL_SOCKET && (name == SO_TYPE || name == SO_ERROR || name == SO_ACCEPTCONN || name == SO_DOMAIN ||
                name == SO_PROTOCOL || name == SO_PEERCRED)) return -Errno.ENOPROTOOPT;
            if (length < 4 && !(level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO))) return -Errno.EINVAL;
            if (level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO))
            {
                if (length < 16) return -Errno.EINVAL;
                long seconds = (long)value[0], micros = (long)value[1];
                if (micros < 0 || micros >= 1_000_000) return -Errno.EDOM;
                ulong ns = seconds < 0 ? 0 : (ulong)seconds * 1_000_000_000 + (ulong)micros * 1000;
                if (name == SO_RCVTIMEO) socket->ReceiveTimeout = ns; else socket->SendTimeout = ns;
            }
            // Linux doubles buffer sizes for its bookkeeping and reports the doubled value.
            if (level == SOL_SOCKET && (name == SO_SNDBUF || name == SO_RCVBUF))
            {
                int requested = *(int*)value;
                *(int*)value = requested < 1152 ? 2304 : requested > DefaultBuffer ? DefaultBuffer * 2 : requested * 2;
            }
            Record(socket, level, name, (byte*)value, length);
            return socket->Ops->SetOption != null ? socket->Ops->SetOption(socket, level, name, (byte*)value, length) : 0;
        }

        internal static long GetOption(SyscallArgs* a)
        {
            Socket* socket = Lookup(a->Int0, out long error);
            if (socket == null) return error;
            int level = a->Int1, name = a->Int2;
            int room;
            if (!UserMemory.CopyFromUser(&room, a->A4, 4)) return -Errno.EFAULT;
            if (room < 0) return -Errno.EINVAL;
            ulong* value = stackalloc ulong[2];
            value[0] = value[1] = 0;
            int length = 4;
            if (level == SOL_SOCKET && name == SO_TYPE) *(int*)value = socket->Type;
            else if (level == SOL_SOCKET && name == SO_DOMAIN) *(int*)value = socket->Domain;
            else if (level == SOL_SOCKET && name == SO_PROTOCOL) *(int*)value = socket->Protocol != 0 ? socket->Protocol :
                socket->Domain == AF_UNIX ? 0 : socket->IsStream ? IPPROTO_TCP : IPPROTO_UDP;
            else if (level == SOL_SOCKET && name == SO_ACCEPTCONN) *(int*)value = socket->Listening ? 1 : 0;
            else if (level == SOL_SOCKET && name == SO_ERROR)
            {
                *(int*)value = socket->Ops->TakeError != null ? socket->Ops->TakeError(socket) : socket->Error;
                socket->Error = 0;
            }
            else if (level == SOL_SOCKET && name == SO_PEERCRED) { length = 12; ((int*)value)[0] = 1; ((int*)value)[1] = 0; ((int*)value)[2] = 0; }
            else if (!IsKnownOption(level, name)) return -Errno.ENOPROTOOPT;
            else if (!Recalled(socket, level, name, (byte*)value, out length))
            {
                length = level == SOL_SOCKET && (name == SO_LINGER) ? 8 : level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO) ? 16 : 4;
                if (level == SOL_SOCKET && (name == SO_SNDBUF || name == SO_RCVBUF)) *(int*)value = DefaultBuffer;
                if (level == SOL_SOCKET && (name == SO_RCVLOWAT || name == SO_SNDLOWAT)) *(int*)value = 1;
            }
            int n = length < room ? length : room;
            if (n > 0 && !UserMemory.CopyToUser(a->A3, value, (ulong)n)) return -Errno.EFAULT;
            return UserMemory.CopyToUser(a->A4, &n, 4) ? 0 : -Errno.EFAULT;
        }

        // The options this kernel takes (others: ENOPROTOOPT, as for an unknown one on Linux).
        private static bool IsKnownOption(int level, int name) => level switch
        {
            SOL_SOCKET => name is SO_REUSEADDR or SO_TYPE or SO_ERROR or SO_BROADCAST or SO_SNDBUF or SO_RCVBUF or SO_KEEPALIVE or
                SO_OOBINLINE or SO_LINGER or SO_REUSEPORT or SO_PASSCRED or SO_PEERCRED or SO_RCVLOWAT or SO_SNDLOWAT or SO_RCVTIMEO or
                SO_SNDTIMEO or SO_ACCEPTCONN or SO_PROTOCOL or SO_DOMAIN,
            IPPROTO_TCP => name is 1 or 2 or 3 or 4 or 5 or 6 or 9 or 12 or 18 or 23,   // NODELAY MAXSEG CORK KEEPIDLE KEEPINTVL KEEPCNT DEFER_ACCEPT QUICKACK USER_TIMEOUT FASTOPEN
            IPPROTO_IP => name is 1 or 2 or 3 or 11,                                      // IP_TOS IP_TTL IP_HDRINCL IP_RECVERR
            IPPROTO_IPV6 => name is 16 or 25 or 26,                                       // IPV6_UNICAST_HOPS IPV6_RECVERR IPV6_V6ONLY
            _ => false,
        };

        private static void Record(Socket* socket, int level, int name, byte* value, int length)
        {
            int slot = 0;
            while (slot < socket->OptionCount && !(socket->OptionLevels[slot] == level && socket->OptionNames[slot] == name)) slot++;
            if (slot == Socket.MaxOptions) return;
            if (slot == socket->OptionCount) socket->OptionCount++;
            socket->OptionLevels[slot] = level;
            socket->OptionNames[slot] = name;
            socket->OptionLengths[slot] = length;
            socket->OptionValues[slot * 2] = ((ulong*)value)[0];
            socket->OptionValues[slot * 2 + 1] = ((ulong*)value)[1];
        }

        private static bool Recalled(Socket* socket, int level, int name, byte* value, out int length)
        {
            for (int slot = 0; slot < socket->OptionCount; slot++)
            {
                if (socket->OptionLevels[slot] != level || socket->OptionNames[slot] != name) continue;
                ((ulong*)value)[0] = socket->OptionValues[slot * 2];
                ((ulong*)value)[1] = socket->OptionValues[slot * 2 + 1];
                length = socket->OptionLengths[slot];
                // Flags read back as 0 or 1, whatever non-zero value was set.
                if (length == 4 && IsFlag(level, name)) *(int*)value = *(int*)value != 0 ? 1 : 0;
                return true;
            }
            length = 0;
            return false;
        }

        private static bool IsFlag(int level, int name) =>
            (level == SOL_SOCKET && name is SO_REUSEADDR or SO_REUSEPORT or SO_KEEPALIVE or SO_BROADCAST or SO_OOBINLINE or SO_PASSCRED) ||
            (level == IPPROTO_TCP && name == 1) || (level == IPPROTO_IPV6 && name == 26);

        // A recorded option's int value, or `fallback`.
        internal static int OptionInt(Socket* socket, int level, int name, int fallback)
        {
            ulong* value = stackalloc ulong[2];
            return Recalled(socket, level, name, (byte*)value, out int length) && length >= 4 ? *(int*)value : fallback;
        }

        // A deadline `timeout` nanoseconds from now (0: none).
        internal static ulong DeadlineAfter(ulong timeout) => timeout == 0 ? 0 : Clock.Nanoseconds() + timeout;

        // --- the socket as an open file: read, write, poll, close, FIONREAD ---

        private static Socket* Of(OpenFile* file) => (Socket*)file->Object;

        // The socket's part of a state dump line (Shims/Files/FileDump.cs).
        internal static void Describe(OpenFile* file)
        {
            Socket* socket = Of(file);
            KernelLog.Write(socket->Domain == AF_UNIX ? ", unix" : socket->Domain == AF_INET6 ? ", inet6" : ", inet");
            KernelLog.Write(socket->IsStream ? " stream" : " datagram");
            if (socket->Listening) KernelLog.Write(" listening");
            if (socket->Error != 0) { KernelLog.Write(" so_error "); KernelLog.Decimal((ulong)socket->Error); }
            if (socket->Domain != AF_UNIX && socket->Family != null) { KernelLog.Write(" side id "); KernelLog.Decimal(((InetSocket*)socket->Family)->Id); }
        }

        private static long FileRead(OpenFile* file, byte* buffer, ulong length, ulong offset)
        {
            if (offset != ulong.MaxValue) return -Errno.ESPIPE;
            Socket* socket = Of(file);
            int messageFlags = 0;
            return socket->Ops->Receive(socket, buffer, length, 0, null, null, file->IsNonBlocking, &messageFlags);
        }

        private static long FileWrite(OpenFile* file, byte* buffer, ulong length, ulong offset)
        {
            if (offset != ulong.MaxValue) return -Errno.ESPIPE;
            return Send(Of(file), buffer, length, 0, null, 0);
        }

        private static uint FilePoll(OpenFile* file) => Of(file)->Ops->Poll(Of(file));

        private static PollQueue* FileQueue(OpenFile* file) => Of(file)->Ops->Queue(Of(file));

        private static void FileRelease(OpenFile* file)
        {
            Socket* socket = Of(file);
            if (socket->Family != null) socket->Ops->Release(socket);
            KernelHeap.Free(socket);
        }

        private static long FileIoctl(OpenFile* file, uint request, ulong argument)
        {
            const uint SIOCINQ = 0x541b, SIOCOUTQ = 0x5411;
            if (request != SIOCINQ && request != SIOCOUTQ) return -Errno.ENOTTY;
            int value = request == SIOCINQ ? (int)Of(file)->Ops->Available(Of(file)) : 0;
            return UserMemory.CopyToUser(argument, &value, 4) ? 0 : -Errno.EFAULT;
        }
    }
}
