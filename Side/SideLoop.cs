using Libra.Shims;
using Libra.Shims.Net;

namespace Libra.Side;

// The Side's one event loop (docs/side-protocol.md): a level-triggered epoll set over the unix socket
// QEMU connects to (the guest link, one at a time), that link, and every host socket. Each socket's
// interest is computed from its state: read only within the guest's credit and while the link's
// output is below its high-water mark, write only while sends are queued. Frames for the guest are
// gathered in one buffer per iteration and written with one send().
internal sealed unsafe class SideLoop
{
    private const ulong ListenerToken = 0, GuestToken = 1;
    private const int OutHighWater = 1 << 20;           // stop reading host sockets past this much unsent output
    private const int InputLimit = 8 << 20;             // stop reading the guest past this much (its replies pile up)
    private const uint TxWindowSize = 256 * 1024;       // bytes the guest may have queued here per socket
    private const uint TxCreditBatch = TxWindowSize / 4; // TX_CREDIT once this much is due (Flush)
    private const int MaxDatagram = 65507;              // the largest UDP payload over IPv4
    private const int ControlRoom = 512;                // room for any frame but DATA and DGRAM
    private const int AcceptsPerEvent = 64;
    private const int MaxCorrespondents = 1024;         // host sources a published UDP socket may answer

    private readonly SidePolicy _policy;
    private readonly string _socketPath;
    private readonly Action<string> _log;
    private readonly int _epoll;
    private readonly bool _hostHasIPv6;
    private int _listenFd = -1, _guestFd = -1;
    private uint _guestMask;
    private readonly ByteQueue _in = new(2 * SideProtocol.MaxFrame), _out = new(1 << 16);
    private readonly Dictionary<uint, HostSocket> _byId = new();
    private readonly Dictionary<ulong, HostSocket> _byToken = new();
    private readonly List<HostSocket> _creditDue = new();
    private readonly HashSet<string> _loggedOnce = new();
    private readonly byte[] _datagram = new byte[65536];
    private ulong _nextToken = 2;
    private uint _nextSideId = SideProtocol.FirstSideId;
    private uint _rxWindow = 256 * 1024;
    private bool _outFull;
    private bool _batching = true;                      // HELLO without HelloUnbatched: TX_CREDIT by the quarter, one write per round
    // LIBRA_SIDE_TRACE=1: one line per frame from the guest and per socket event.
    internal bool Trace { get; init; }

    internal SideLoop(string socketPath, SidePolicy policy, Action<string> log)
    {
        _socketPath = socketPath;
        _policy = policy;
        _log = log;
        _epoll = Linux.epoll_create1(Linux.EPOLL_CLOEXEC);
        if (_epoll < 0) throw new IOException($"epoll_create1 failed: {Errno.Name(Linux.Errno)}");
        int probe = Linux.socket(Linux.AF_INET6, Linux.SOCK_STREAM | Linux.SOCK_CLOEXEC, 0);
        _hostHasIPv6 = probe >= 0;
        if (probe >= 0) Linux.close(probe);
    }

    // Binds the guest link's unix socket; QEMU (or a test) connects to it.
    internal void Listen()
    {
        if (File.Exists(_socketPath)) File.Delete(_socketPath);
        _listenFd = Linux.socket(Linux.AF_UNIX, Linux.SOCK_STREAM | Linux.SOCK_NONBLOCK | Linux.SOCK_CLOEXEC, 0);
        Span<byte> address = stackalloc byte[110];
        int length = Linux.UnixAddress(_socketPath, address);
        fixed (byte* a = address)
            if (_listenFd < 0 || Linux.bind(_listenFd, a, length) != 0 || Linux.listen(_listenFd, 4) != 0)
                throw new IOException($"cannot listen on {_socketPath}: {Errno.Name(Linux.Errno)}");
        Register(_listenFd, Linux.EPOLL_CTL_ADD, Linux.EPOLLIN, ListenerToken);
    }

    internal void Run()
    {
        const int MaxEvents = 128;
        var events = stackalloc Linux.EpollEvent[MaxEvents];
        while (true)
        {
            int count = Linux.epoll_wait(_epoll, events, MaxEvents, -1);
            if (count < 0)
            {
                if (Linux.Errno == Linux.EINTR) continue;
                throw new IOException($"epoll_wait failed: {Errno.Name(Linux.Errno)}");
            }
            for (int i = 0; i < count; i++)
            {
                uint ready = events[i].Events;
                switch (events[i].Data)
                {
                    case ListenerToken: AcceptGuest(); break;
                    case GuestToken: if ((ready & (Linux.EPOLLIN | Linux.EPOLLHUP | Linux.EPOLLERR)) != 0) ReadGuest(); break;
                    default:
                        if (_byToken.TryGetValue(events[i].Data, out var socket)) OnSocketReady(socket, ready);
                        else if (Trace) _log($"trace: event 0x{ready:x} for stale token {events[i].Data}");
                        break;
                }
            }
            Flush();
        }
    }

    // ---- the guest link ----

    private void AcceptGuest()
    {
        int fd = Linux.accept4(_listenFd, null, null, Linux.SOCK_NONBLOCK | Linux.SOCK_CLOEXEC);
        if (fd < 0) return;
        if (_guestFd >= 0) DropGuest("a new guest link replaces the old one");
        _guestFd = fd;
        _guestMask = Linux.EPOLLIN;
        Register(fd, Linux.EPOLL_CTL_ADD, _guestMask, GuestToken);
    }

    private void ReadGuest()
    {
        for (int round = 0; round < 16 && _guestFd >= 0 && _out.Count < InputLimit; round++)
        {
            Span<byte> room = _in.Reserve(SideProtocol.MaxFrame);
            nint received;
            fixed (byte* p = room) received = Linux.recv(_guestFd, p, room.Length, Linux.MSG_DONTWAIT);
            if (received > 0)
            {
                _in.Commit((int)received);
                ProcessInput();
                continue;
            }
            if (received == 0) { DropGuest(_byToken.Count > 0 ? $"the guest link closed: resetting {_byToken.Count} socket(s)" : null); return; }
            int errno = Linux.Errno;
            if (errno == Linux.EAGAIN) return;
            if (errno == Linux.EINTR) continue;
            DropGuest($"reading the guest link failed: {Errno.Name(errno)}");
            return;
        }
    }

    // Cuts the input into frames. A length field outside 16..MaxFrame leaves no frame boundary to
    // find: every socket is reset and the link dropped (QEMU reconnects; the guest sees its port
    // close and open, as when the Side restarts).
    private void ProcessInput()
    {
        while (_guestFd >= 0)
        {
            ReadOnlySpan<byte> data = _in.Data;
            int length = SideProtocol.FrameLength(data);
            if (length == 0) return;
            if (length < 0)
            {
                uint field = (uint)(data[0] | data[1] << 8 | data[2] << 16 | data[3] << 24);
                DropGuest($"malformed frame from the guest (length {field}, not {SideProtocol.HeaderSize}..{SideProtocol.MaxFrame}): resetting {_byToken.Count} socket(s) and the link");
                return;
            }
            if (data.Length < length) return;
            HandleFrame(data.Slice(0, length));
            if (_guestFd >= 0) _in.Consume(length);
        }
    }

    private void DropGuest(string? reason)
    {
        if (reason is not null) _log(reason);
        ResetSockets();
        if (_guestFd >= 0)
        {
            Register(_guestFd, Linux.EPOLL_CTL_DEL, 0, GuestToken);
            Linux.close(_guestFd);
        }
        _guestFd = -1;
        _guestMask = 0;
        _in.Clear();
        _out.Clear();
        _outFull = false;
        _rxWindow = 256 * 1024;
        _batching = true;
        _loggedOnce.Clear();
    }

    // Every host socket goes, connections with RST (linger {1,0}) so their peers learn at once.
    private void ResetSockets()
    {
        foreach (var socket in _byToken.Values)
        {
            if (socket.IsStream && socket.State is HostSocketState.Connected or HostSocketState.Connecting) Linux.SetLinger(socket.Fd, 1, 0);
            Linux.close(socket.Fd);
        }
        _byToken.Clear();
        _byId.Clear();
        _creditDue.Clear();
    }

    // Credits due, then the gathered output in one send; then the interest sets follow the
    // output's fill (host reads stop while the guest is not taking what it has). A TX_CREDIT waits
    // until a quarter of the window is due, as the guest's CREDIT does: the guest keeps at least
    // three quarters of its window, more than the quarter its OUT needs (SideSocket.TxLowWater), so
    // no send waits on the held credit, and a keep-alive response costs no frame back.
    private void Flush()
    {
        int held = 0;
        for (int i = 0; i < _creditDue.Count; i++)
        {
            HostSocket socket = _creditDue[i];
            uint due = socket.TxCreditDue;
            if (socket.Closing || socket.Released) { socket.TxCreditDue = 0; continue; }
            if (due < (_batching ? TxCreditBatch : 1)) { _creditDue[held++] = socket; continue; }
            socket.TxCreditDue = 0;
            if (!socket.Tx.Return(due)) continue;
            Emit(SideCodec.Count(_out.Reserve(ControlRoom), SideType.TxCredit, socket.Id, due));
        }
        _creditDue.RemoveRange(held, _creditDue.Count - held);
        if (_guestFd < 0) return;
        int failure = Drain();
        if (failure != 0)
        {
            DropGuest($"writing the guest link failed: {Errno.Name(failure)}");
            return;
        }
        bool full = _out.Count >= OutHighWater;
        if (full != _outFull)
        {
            _outFull = full;
            foreach (var socket in _byToken.Values) UpdateInterest(socket);
        }
        uint mask = (_out.Count < InputLimit ? (uint)Linux.EPOLLIN : 0) | (_out.Count > 0 ? (uint)Linux.EPOLLOUT : 0);
        if (mask != _guestMask)
        {
            _guestMask = mask;
            Register(_guestFd, Linux.EPOLL_CTL_MOD, mask, GuestToken);
        }
    }

    // Sends what the output holds until the link takes no more: 0, or the errno that broke it.
    private int Drain()
    {
        while (_out.Count > 0)
        {
            ReadOnlySpan<byte> data = _out.Data;
            nint sent;
            fixed (byte* p = data) sent = Linux.send(_guestFd, p, data.Length, Linux.MSG_NOSIGNAL | Linux.MSG_DONTWAIT);
            if (sent > 0) { _out.Consume((int)sent); continue; }
            int errno = Linux.Errno;
            if (errno == Linux.EINTR) continue;
            if (errno == Linux.EAGAIN) break;
            return errno;
        }
        return 0;
    }

    // A frame into the output; unbatched, it leaves in its own write at once (a failure is Flush's to report).
    private void Emit(int length)
    {
        if (length <= 0) return;
        _out.Commit(length);
        if (!_batching && _guestFd >= 0) Drain();
    }

    private void LogOnce(string key, string line)
    {
        if (_loggedOnce.Add(key)) _log(line);
    }

    private void Register(int fd, int op, uint mask, ulong token)
    {
        var ev = new Linux.EpollEvent { Events = mask, Data = token };
        Linux.epoll_ctl(_epoll, op, fd, &ev);
    }

    // ---- frames from the guest ----

    private void HandleFrame(ReadOnlySpan<byte> frame)
    {
        SideProtocol.Parse(frame, out var header, out var payload);
        if (Trace) _log($"trace: {header.Type} socket {header.Socket} tag {header.Tag} ({payload.Length} bytes)");
        if (SideCodec.CheckHeader(header, fromGuest: true) != 0)
        {
            LogOnce("header", $"dropped a frame the catalogue does not allow (type 0x{(ushort)header.Type:x}, socket {header.Socket}, tag {header.Tag}); later ones are dropped silently");
            return;
        }
        switch (header.Type)
        {
            case SideType.Hello: OnHello(header, payload); return;
            case SideType.Socket: OnSocket(header, payload); return;
        }
        if (!_byId.TryGetValue(header.Socket, out var socket))
        {
            LogOnce("unknown", $"dropped a frame for unknown socket {header.Socket} (type {header.Type}); later ones are dropped silently");
            if (header.Tag != 0) Reply(header, (int)Errno.EBADF);
            return;
        }
        int decoded = header.Type switch
        {
            SideType.SetSockOpt => OnSetSockOpt(socket, header, payload),
            SideType.GetSockOpt => OnGetSockOpt(socket, header, payload),
            SideType.Bind => OnBind(socket, header, payload),
            SideType.Listen => OnListen(socket, header, payload),
            SideType.Connect => OnConnect(socket, payload),
            SideType.Data => OnData(socket, payload),
            SideType.SendTo => OnSendTo(socket, payload),
            SideType.Credit => OnCredit(socket, payload),
            SideType.AcceptCredit => OnAcceptCredit(socket, payload),
            SideType.Shutdown => OnShutdown(socket, payload),
            SideType.Abort => SideCodec.DecodeEmpty(payload) is var e && e == 0 ? Abort(socket) : e,
            SideType.Close => SideCodec.DecodeEmpty(payload) is var c && c == 0 ? Close(socket) : c,
            SideType.Ioctl => OnIoctl(socket, header, payload),
            _ => -(int)Errno.EPROTO,
        };
        if (decoded != 0)
        {
            LogOnce("payload:" + header.Type, $"dropped a malformed {header.Type} frame for socket {header.Socket} ({payload.Length} payload bytes)");
            if (header.Tag != 0) Reply(header, (int)Errno.EINVAL);
        }
        if (!socket.Released) UpdateInterest(socket);
    }

    private void Reply(in SideHeader request, int errno, ReadOnlySpan<byte> result = default) =>
        Emit(SideCodec.Reply(_out.Reserve(ControlRoom), request.Socket, request.Tag, errno, result));

    private void OnHello(in SideHeader header, ReadOnlySpan<byte> payload)
    {
        if (SideCodec.DecodeHello(payload, out var hello) != 0) { Reply(header, (int)Errno.EINVAL); return; }
        if (_byToken.Count > 0) _log($"HELLO starts a new session: resetting {_byToken.Count} socket(s)");
        ResetSockets();
        if (hello.Version != SideProtocol.Version) { Reply(header, (int)Errno.EPROTONOSUPPORT); return; }
        _rxWindow = hello.RxWindow;
        _batching = (header.Flags & SideProtocol.HelloUnbatched) == 0;
        var terms = new SideHelloReply
        {
            Version = SideProtocol.Version,
            Capabilities = SideProtocol.CapIPv4 | SideProtocol.CapUdp | (_hostHasIPv6 ? SideProtocol.CapIPv6 : 0) | (_policy.Outbound ? SideProtocol.CapOutbound : 0) |
                (_policy.NameServer is not null ? SideProtocol.CapNameServer : 0),
            MaxPayload = SideProtocol.MaxPayload,
            TxWindow = TxWindowSize,
        };
        Emit(SideCodec.HelloReply(_out.Reserve(ControlRoom), header.Tag, terms));
    }

    private void OnSocket(in SideHeader header, ReadOnlySpan<byte> payload)
    {
        if (SideCodec.DecodeSocket(payload, out var request) != 0)
        {
            LogOnce("payload:Socket", $"dropped a malformed SOCKET frame for socket {header.Socket}");
            return;
        }
        if (_byId.ContainsKey(header.Socket))
        {
            LogOnce("duplicate", $"dropped SOCKET for socket {header.Socket}, which exists (ids are never reused)");
            return;
        }
        int errno = 0;
        if (request.Family != Linux.AF_INET && request.Family != Linux.AF_INET6) errno = (int)Errno.EAFNOSUPPORT;
        else if (request.Type != Linux.SOCK_STREAM && request.Type != Linux.SOCK_DGRAM) errno = 94; // ESOCKTNOSUPPORT
        int fd = -1;
        if (errno == 0)
        {
            fd = Linux.socket(request.Family, request.Type | Linux.SOCK_NONBLOCK | Linux.SOCK_CLOEXEC, request.Protocol);
            if (fd < 0) errno = Linux.Errno;
        }
        if (errno != 0)
        {
            // The guest's socket() already returned; the failure is its socket's pending error.
            Emit(SideCodec.ErrnoEvent(_out.Reserve(ControlRoom), SideType.Error, header.Socket, errno, 0));
            return;
        }
        Add(new HostSocket(header.Socket, fd, request.Family, request.Type, _nextToken++));
    }

    private void Add(HostSocket socket)
    {
        socket.Rx = new SideWindow(_rxWindow);
        socket.Tx = new SideWindow(TxWindowSize);
        _byId[socket.Id] = socket;
        _byToken[socket.Token] = socket;
    }

    // Options the guest may set on a host socket; the rest (SO_BINDTODEVICE, IP_TRANSPARENT, ...)
    // would reach past the policy. ENOPROTOOPT, as Linux says for an option it does not know.
    private static bool Settable(int level, int name) => level switch
    {
        Linux.SOL_SOCKET => name is Linux.SO_REUSEADDR or Linux.SO_REUSEPORT or Linux.SO_KEEPALIVE or Linux.SO_LINGER
            or Linux.SO_RCVBUF or Linux.SO_SNDBUF or Linux.SO_BROADCAST,
        Linux.IPPROTO_TCP => name is Linux.TCP_NODELAY or Linux.TCP_KEEPIDLE or Linux.TCP_KEEPINTVL or Linux.TCP_KEEPCNT,
        Linux.IPPROTO_IP => name is Linux.IP_TOS or Linux.IP_TTL,
        Linux.IPPROTO_IPV6 => name is Linux.IPV6_V6ONLY or Linux.IPV6_UNICAST_HOPS,
        _ => false,
    };

    private static bool Readable(int level, int name) => Settable(level, name) ||
        (level == Linux.SOL_SOCKET && name is Linux.SO_ERROR or Linux.SO_TYPE or Linux.SO_ACCEPTCONN or Linux.SO_DOMAIN or Linux.SO_PROTOCOL);

    private int OnSetSockOpt(HostSocket socket, in SideHeader header, ReadOnlySpan<byte> payload)
    {
        if (SideCodec.DecodeSetSockOpt(payload, out int level, out int name, out var value) != 0) return -(int)Errno.EPROTO;
        int errno = (int)Errno.ENOPROTOOPT;
        if (Settable(level, name))
            fixed (byte* v = value)
                errno = Linux.setsockopt(socket.Fd, level, name, v, value.Length) == 0 ? 0 : Linux.Errno;
        if (header.Tag != 0) Reply(header, errno);
        else if (errno != 0) _log($"setsockopt({level}, {name}) on socket {socket.Id} failed: {Errno.Name(errno)}");
        return 0;
    }

    private int OnGetSockOpt(HostSocket socket, in SideHeader header, ReadOnlySpan<byte> payload)
    {
        if (SideCodec.DecodeGetSockOpt(payload, out int level, out int name, out int maxLength) != 0) return -(int)Errno.EPROTO;
        if (!Readable(level, name)) { Reply(header, (int)Errno.ENOPROTOOPT); return 0; }
        Span<byte> value = stackalloc byte[SideProtocol.MaxOptionSize];
        int length = maxLength;
        int errno;
        fixed (byte* v = value) errno = Linux.getsockopt(socket.Fd, level, name, v, &length) == 0 ? 0 : Linux.Errno;
        Reply(header, errno, errno == 0 ? value.Slice(0, Math.Min(length, maxLength)) : default);
        return 0;
    }

    // ---- policy: bind, listen, connect ----

    private int OnBind(HostSocket socket, in SideHeader header, ReadOnlySpan<byte> payload)
    {
        if (SideCodec.DecodeAddress(payload, out var address) != 0) return -(int)Errno.EPROTO;
        int errno = Bind(socket, address, out byte[] result);
        Reply(header, errno, result);
        return 0;
    }

    private int Bind(HostSocket socket, ReadOnlySpan<byte> address, out byte[] result)
    {
        result = [];
        if (socket.State != HostSocketState.Created) return (int)Errno.EINVAL;
        if (SideAddress.Family(address) != socket.Family) return (int)Errno.EAFNOSUPPORT;
        ushort port = SideAddress.Port(address);
        string what = $"bind of socket {socket.Id} to guest port {port}";
        byte[] host;
        Publish? publish = null;
        if (port == 0)
        {
            if (socket.IsStream && !_policy.Outbound) { _log($"{what} refused (EACCES): an ephemeral host port needs -Net outbound"); return (int)Errno.EACCES; }
            host = socket.IsStream || _policy.Outbound ? address.ToArray() : LoopbackFor(socket.Family, address);
        }
        else
        {
            publish = _policy.For(port, udp: !socket.IsStream);
            if (publish is null) { _log($"{what} refused (EACCES): not published (run -Publish HOSTPORT:{port}{(socket.IsStream ? "" : "/udp")})"); return (int)Errno.EACCES; }
            bool v6Only = socket.Family == Linux.AF_INET6 && Linux.GetInt(socket.Fd, Linux.IPPROTO_IPV6, Linux.IPV6_V6ONLY, out int only) == 0 && only != 0;
            int refused = SidePolicy.HostAddress(publish, socket.Family, v6Only, out host);
            if (refused != 0) { _log($"{what} refused ({Errno.Name(refused)}): published on {publish}, which a {(v6Only ? "V6ONLY " : "")}{(socket.Family == Linux.AF_INET ? "IPv4" : "IPv6")} socket cannot take"); return refused; }
            // Restarting a server must not wait out TIME_WAIT (.NET sets it for every TCP bind anyway).
            if (socket.IsStream) Linux.SetInt(socket.Fd, Linux.SOL_SOCKET, Linux.SO_REUSEADDR, 1);
        }
        int errno;
        fixed (byte* a = host) errno = Linux.bind(socket.Fd, a, host.Length) == 0 ? 0 : Linux.Errno;
        if (errno != 0) { _log($"{what} failed on the host: {Errno.Name(errno)}{(publish is null ? "" : $" ({publish})")}"); return errno; }
        socket.State = HostSocketState.Bound;
        socket.Published = publish;
        socket.HostName = Linux.Name(socket.Fd, peer: false);
        // The guest sees the address it asked for (its own view, as in a container); port 0 gets the real one.
        result = address.ToArray();
        if (port == 0) SideAddress.SetPort(result, SideAddress.Port(socket.HostName));
        socket.GuestAddress = result;
        return 0;
    }

    // Without -Net outbound a UDP socket's ephemeral port is bound on the host's loopback only: it
    // can reach nothing but the guest's own sockets, so nothing else should reach it. An IPv6
    // socket gets ::1, unless it asked for an IPv4(-mapped) address or is dual-stack and asked for
    // any, which .NET's dual-mode sockets do to talk to 127.0.0.1.
    private static byte[] LoopbackFor(int family, ReadOnlySpan<byte> requested)
    {
        var buffer = new byte[SideProtocol.SockaddrIn6Size];
        if (family == Linux.AF_INET) return buffer[..SideAddress.WriteIPv4(buffer, 127, 0, 0, 1, 0)];
        bool v4 = SideAddress.IsV4Mapped(requested) || SideAddress.IsAny(requested);
        byte[] address = v4 ? [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1] : [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        SideAddress.WriteIPv6(buffer, address, 0);
        return buffer;
    }

    // A UDP socket sending before any bind: bound as Bind would bind port 0 (the guest binds
    // implicitly first; this keeps a frame that did not from opening an any-address host port).
    private void BindEphemeral(HostSocket socket)
    {
        var any = new byte[socket.Family == Linux.AF_INET ? SideProtocol.SockaddrInSize : SideProtocol.SockaddrIn6Size];
        any[0] = (byte)socket.Family;
        Bind(socket, any, out _);
    }

    private int OnListen(HostSocket socket, in SideHeader header, ReadOnlySpan<byte> payload)
    {
        if (SideCodec.DecodeListen(payload, out int backlog, out uint acceptCredit) != 0) return -(int)Errno.EPROTO;
        int errno;
        if (!socket.IsStream) errno = (int)Errno.ENOTSUP;
        else if (socket.Published is null || socket.State is not (HostSocketState.Bound or HostSocketState.Listening))
        {
            errno = (int)Errno.EACCES;
            _log($"listen on socket {socket.Id} refused (EACCES): {(socket.State == HostSocketState.Created ? "not bound, so its port would be an unpublished ephemeral one" : "its port is not published")}");
        }
        else
        {
            errno = Linux.listen(socket.Fd, backlog) == 0 ? 0 : Linux.Errno;
            if (errno == 0)
            {
                if (socket.State != HostSocketState.Listening)
                    _log($"guest port {socket.Published.GuestPort} is served on the host at {Format(Linux.Name(socket.Fd, peer: false))}");
                socket.State = HostSocketState.Listening;
                socket.AcceptCredit = acceptCredit;
            }
        }
        Reply(header, errno);
        return 0;
    }

    private int OnConnect(HostSocket socket, ReadOnlySpan<byte> payload)
    {
        if (SideCodec.DecodeAddress(payload, out var address) != 0) return -(int)Errno.EPROTO;
        if (SideAddress.Family(address) == SideProtocol.AF_UNSPEC) return socket.IsStream ? Abort(socket) : Disconnect(socket);
        if (socket.IsStream && socket.State is HostSocketState.Connecting or HostSocketState.Connected or HostSocketState.Listening or HostSocketState.Failed)
        {
            LogOnce("connect-state", $"dropped CONNECT for socket {socket.Id}, which is {socket.State}");
            return 0;
        }
        int errno = SideAddress.Family(address) != socket.Family ? (int)Errno.EAFNOSUPPORT : Destination(socket, address, out byte[] target);
        if (errno == 0)
        {
            fixed (byte* t = target) errno = Linux.connect(socket.Fd, t, target.Length) == 0 ? 0 : Linux.Errno;
            socket.GuestAddress = address.ToArray();   // the peer the guest asked for, as getpeername shows it
            if (errno == 0) { Connected(socket); return 0; }
            if (errno == Linux.EINPROGRESS) { socket.State = HostSocketState.Connecting; return 0; }
        }
        ConnectFailed(socket, errno);
        return 0;
    }

    // Where a guest's connect or sendto really goes. The guest's own loopback always works: a
    // loopback destination whose port a guest socket serves (a published listener, a published
    // UDP socket, or any bound UDP socket by its port) is that socket's host address. The guest's
    // name server (127.0.0.11:53) is the host's, with outbound. Anything else needs -Net outbound.
    private int Destination(HostSocket socket, ReadOnlySpan<byte> destination, out byte[] target)
    {
        target = [];
        if (SideAddress.IsNameServer(destination) && _policy.NameServer is { } nameServer)
        {
            socket.UsesNameServer = true;
            target = Sockaddr(nameServer, socket.Family);
            return 0;
        }
        if (SideAddress.IsLoopback(destination) && GuestServer(socket, destination, out target)) return 0;
        if (_policy.Outbound || socket.Heard.Contains(Format(destination))) { target = destination.ToArray(); return 0; }
        _log($"{(socket.IsStream ? "connect" : "sendto")} of socket {socket.Id} to {Format(destination)} refused (ENETUNREACH): " +
            (SideAddress.IsLoopback(destination) ? "no guest socket serves that port and outbound connections need -Net outbound" : "outbound connections need -Net outbound"));
        return (int)Errno.ENETUNREACH;
    }

    private bool GuestServer(HostSocket client, ReadOnlySpan<byte> destination, out byte[] target)
    {
        target = [];
        ushort port = SideAddress.Port(destination);
        bool wantsV4 = SideAddress.Family(destination) == SideProtocol.AF_INET || SideAddress.IsV4Mapped(destination);
        foreach (var server in _byId.Values)
        {
            if (server.Type != client.Type || GuestPort(server) != port) continue;
            if (server.IsStream ? server.State != HostSocketState.Listening : server.State is not (HostSocketState.Bound or HostSocketState.Connected)) continue;
            byte[] bound = Linux.Name(server.Fd, peer: false);
            if (bound.Length == 0) continue;
            ushort hostPort = SideAddress.Port(bound);
            bool boundV4 = SideAddress.Family(bound) == SideProtocol.AF_INET || SideAddress.IsV4Mapped(bound);
            bool boundAnyV6 = SideAddress.Family(bound) == SideProtocol.AF_INET6 && !SideAddress.IsV4Mapped(bound) && SideAddress.IsAny(bound);
            var buffer = new byte[SideProtocol.SockaddrIn6Size];
            if (wantsV4 && (boundV4 || boundAnyV6))
            {
                byte a = 127, b = 0, c = 0, d = 1;
                if (boundV4 && !SideAddress.IsAny(bound))
                {
                    int at = SideAddress.Family(bound) == SideProtocol.AF_INET ? 4 : 20;
                    (a, b, c, d) = (bound[at], bound[at + 1], bound[at + 2], bound[at + 3]);
                }
                if (client.Family == Linux.AF_INET) target = buffer[..SideAddress.WriteIPv4(buffer, a, b, c, d, hostPort)];
                else
                {
                    byte[] mapped = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d];
                    target = buffer[..SideAddress.WriteIPv6(buffer, mapped, hostPort)];
                }
                return true;
            }
            if (!wantsV4 && !boundV4 && client.Family == Linux.AF_INET6)
            {
                var address = new byte[16];
                if (SideAddress.IsAny(bound)) address[15] = 1; else bound.AsSpan(8, 16).CopyTo(address);
                target = buffer[..SideAddress.WriteIPv6(buffer, address, hostPort)];
                return true;
            }
        }
        return false;
    }

    // The port a guest socket has in the guest's view: its publish's, else its host port (an
    // ephemeral UDP port is the same on both sides); 0 for a stream socket without a publish.
    private static ushort GuestPort(HostSocket socket) =>
        socket.Published?.GuestPort ?? (socket.IsStream ? (ushort)0 : SideAddress.Port(socket.HostName));

    // An IPv4 endpoint as a sockaddr of `family` (::ffff:a.b.c.d for AF_INET6).
    private static byte[] Sockaddr(System.Net.IPEndPoint endPoint, int family)
    {
        var buffer = new byte[SideProtocol.SockaddrIn6Size];
        byte[] a = endPoint.Address.GetAddressBytes();
        if (family == Linux.AF_INET) return buffer[..SideAddress.WriteIPv4(buffer, a[0], a[1], a[2], a[3], (ushort)endPoint.Port)];
        SideAddress.WriteIPv6(buffer, endPoint.Address.MapToIPv6().GetAddressBytes(), (ushort)endPoint.Port);
        return buffer;
    }

    private void Connected(HostSocket socket)
    {
        socket.State = HostSocketState.Connected;
        byte[] local = Linux.Name(socket.Fd, peer: false);
        socket.HostName = local.ToArray();
        if (socket.Published is { } publish) SideAddress.SetPort(local, publish.GuestPort);
        Emit(SideCodec.Connected(_out.Reserve(ControlRoom), socket.Id, local, socket.GuestAddress));
        TrySend(socket);
    }

    // connect(AF_UNSPEC) on a UDP socket dissolves the association (__udp_disconnect); an
    // autobound port goes with it, as on Linux.
    private int Disconnect(HostSocket socket)
    {
        byte[] unspec = new byte[16];
        fixed (byte* u = unspec) Linux.connect(socket.Fd, u, unspec.Length);
        socket.HostName = Linux.Name(socket.Fd, peer: false);
        socket.State = SideAddress.Port(socket.HostName) != 0 ? HostSocketState.Bound : HostSocketState.Created;
        return 0;
    }

    private void ConnectFailed(HostSocket socket, int errno)
    {
        if (!socket.IsStream)
        {
            // A UDP connect that fails leaves the socket as it was.
            Emit(SideCodec.ErrnoEvent(_out.Reserve(ControlRoom), SideType.ConnectFailed, socket.Id, errno, 0));
            return;
        }
        socket.State = HostSocketState.Failed;
        socket.ReadDone = true;
        socket.Queue.Clear();
        Emit(SideCodec.ErrnoEvent(_out.Reserve(ControlRoom), SideType.ConnectFailed, socket.Id, errno, 0));
    }

    // ---- data and credit ----

    private int OnData(HostSocket socket, ReadOnlySpan<byte> bytes)
    {
        if (socket.Closing || socket.State == HostSocketState.Failed || bytes.Length == 0) return 0;
        if (!socket.Tx.Consume((uint)bytes.Length))
        {
            _log($"socket {socket.Id} sent {bytes.Length} bytes beyond its send window ({socket.Tx.Available} left): reset with ENOBUFS");
            Fail(socket, (int)Errno.ENOBUFS);
            Linux.SetLinger(socket.Fd, 1, 0);
            return 0;
        }
        if (!socket.IsStream)
        {
            nint sent;
            fixed (byte* p = bytes) sent = Linux.send(socket.Fd, p, bytes.Length, Linux.MSG_NOSIGNAL | Linux.MSG_DONTWAIT);
            if (sent < 0) DatagramFailed(socket, Linux.Errno);
            CreditDue(socket, (uint)bytes.Length);
            return 0;
        }
        socket.Queue.Append(bytes);
        TrySend(socket);
        return 0;
    }

    private int OnSendTo(HostSocket socket, ReadOnlySpan<byte> payload)
    {
        if (SideCodec.DecodeAddressAndBytes(payload, out var address, out var datagram) != 0) return -(int)Errno.EPROTO;
        if (socket.IsStream || socket.Closing || !socket.Tx.Consume((uint)datagram.Length)) return 0;
        CreditDue(socket, (uint)datagram.Length);
        int errno = SideAddress.Family(address) != socket.Family ? (int)Errno.EAFNOSUPPORT : Destination(socket, address, out byte[] target);
        if (errno == 0)
        {
            if (socket.State == HostSocketState.Created) BindEphemeral(socket);
            fixed (byte* t = target)
            fixed (byte* p = datagram)
                errno = Linux.sendto(socket.Fd, p, datagram.Length, Linux.MSG_NOSIGNAL | Linux.MSG_DONTWAIT, t, target.Length) >= 0 ? 0 : Linux.Errno;
        }
        if (errno != 0) DatagramFailed(socket, errno);
        return 0;
    }

    // A datagram the host would not take: with no room (EAGAIN, ENOBUFS) it is lost, as UDP may
    // lose it; anything else (a refusal, EMSGSIZE, ...) is the socket's pending error.
    private void DatagramFailed(HostSocket socket, int errno)
    {
        if (errno is Linux.EAGAIN or (int)Errno.ENOBUFS)
        {
            if (Trace) _log($"trace: a datagram of socket {socket.Id} was dropped: {Errno.Name(errno)}");
            return;
        }
        Emit(SideCodec.ErrnoEvent(_out.Reserve(ControlRoom), SideType.Error, socket.Id, errno, 0));
    }

    private int OnCredit(HostSocket socket, ReadOnlySpan<byte> payload)
    {
        if (SideCodec.DecodeCount(payload, out uint count) != 0) return -(int)Errno.EPROTO;
        if (!socket.Rx.Return(count))
            LogOnce("credit:" + socket.Id, $"dropped CREDIT {count} for socket {socket.Id}: only {socket.Rx.InFlight} bytes are unreturned (credit overflow)");
        return 0;
    }

    private int OnAcceptCredit(HostSocket socket, ReadOnlySpan<byte> payload)
    {
        if (SideCodec.DecodeCount(payload, out uint count) != 0) return -(int)Errno.EPROTO;
        socket.AcceptCredit = (uint)Math.Min((ulong)socket.AcceptCredit + count, SideCodec.MaxCredit);
        return 0;
    }

    private void CreditDue(HostSocket socket, uint count)
    {
        if (socket.TxCreditDue == 0) _creditDue.Add(socket);
        socket.TxCreditDue += count;
    }

    // Sends what is queued; TX_CREDIT returns what left. A drained queue then takes a pending
    // SHUT_WR (ordered after the DATA before it) and finishes a CLOSE.
    private void TrySend(HostSocket socket)
    {
        if (socket.State != HostSocketState.Connected) return;
        while (socket.Queue.Count > 0)
        {
            ReadOnlySpan<byte> data = socket.Queue.Data;
            nint sent;
            fixed (byte* p = data) sent = Linux.send(socket.Fd, p, data.Length, Linux.MSG_NOSIGNAL | Linux.MSG_DONTWAIT);
            if (sent > 0)
            {
                socket.Queue.Consume((int)sent);
                CreditDue(socket, (uint)sent);
                continue;
            }
            int errno = Linux.Errno;
            if (errno == Linux.EINTR) continue;
            if (errno == Linux.EAGAIN) return;
            Fail(socket, errno);
            return;
        }
        if (socket.ShutdownWritePending)
        {
            socket.ShutdownWritePending = false;
            socket.WriteShut = true;
            Linux.shutdown(socket.Fd, SideProtocol.SHUT_WR);
        }
        if (socket.Closing) Release(socket);
    }

    private void Fail(HostSocket socket, int errno)
    {
        socket.State = HostSocketState.Failed;
        socket.ReadDone = true;
        socket.Queue.Clear();
        if (socket.Closing) { Release(socket); return; }
        ushort flags = SideProtocol.ErrorHangup;
        if (errno is (int)Errno.ECONNRESET or (int)Errno.EPIPE or (int)Errno.ECONNABORTED) flags |= SideProtocol.ErrorReset;
        Emit(SideCodec.ErrnoEvent(_out.Reserve(ControlRoom), SideType.Error, socket.Id, errno, flags));
    }

    // ---- shutdown, abort, close ----

    private int OnShutdown(HostSocket socket, ReadOnlySpan<byte> payload)
    {
        if (SideCodec.DecodeShutdown(payload, out int how) != 0) return -(int)Errno.EPROTO;
        if (how != SideProtocol.SHUT_WR)
        {
            Linux.shutdown(socket.Fd, SideProtocol.SHUT_RD);
            socket.ReadDone = true;
        }
        if (how != SideProtocol.SHUT_RD && !socket.WriteShut)
        {
            socket.ShutdownWritePending = true;
            TrySend(socket);
        }
        return 0;
    }

    // .NET's Disconnect: connect(AF_UNSPEC) resets an established TCP connection (tcp_disconnect).
    private int Abort(HostSocket socket)
    {
        socket.Queue.Clear();
        if (socket.IsStream) Linux.SetLinger(socket.Fd, 1, 0);
        byte[] unspec = new byte[16];
        fixed (byte* u = unspec) Linux.connect(socket.Fd, u, unspec.Length);
        socket.State = HostSocketState.Failed;
        socket.ReadDone = true;
        return 0;
    }

    // The id dies now; the host socket follows its linger: {1,0} resets at once (queued sends are
    // discarded, as Linux does), anything else flushes the queue first.
    private int Close(HostSocket socket)
    {
        _byId.Remove(socket.Id);
        socket.Closing = true;
        socket.ReadDone = true;
        var (onOff, seconds) = Linux.Linger(socket.Fd);
        if (onOff != 0 && seconds == 0) socket.Queue.Clear();
        if (socket.State == HostSocketState.Connected && socket.Queue.Count > 0) return 0;
        Release(socket);
        return 0;
    }

    private void Release(HostSocket socket)
    {
        if (socket.Released) return;
        socket.Released = true;
        // Linux's close blocks for linger {1,t>0} even on a non-blocking socket; the Side never
        // blocks, so the queue is already flushed and the kernel finishes the FIN on its own.
        var (onOff, seconds) = Linux.Linger(socket.Fd);
        if (onOff != 0 && seconds > 0) Linux.SetLinger(socket.Fd, 0, 0);
        if (socket.Registered != 0) Register(socket.Fd, Linux.EPOLL_CTL_DEL, 0, socket.Token);
        socket.Registered = 0;
        Linux.close(socket.Fd);
        _byToken.Remove(socket.Token);
        _byId.Remove(socket.Id);
        Emit(SideCodec.Empty(_out.Reserve(ControlRoom), SideType.Closed, socket.Id));
    }

    private int OnIoctl(HostSocket socket, in SideHeader header, ReadOnlySpan<byte> payload)
    {
        if (SideCodec.DecodeIoctl(payload, out uint code, out _) != 0) return -(int)Errno.EPROTO;
        if (code is not (Linux.FIONREAD or Linux.SIOCOUTQ or Linux.SIOCATMARK)) { Reply(header, (int)Errno.ENOTTY); return 0; }
        int value = 0;
        int errno = Linux.ioctl(socket.Fd, code, &value) == 0 ? 0 : Linux.Errno;
        Span<byte> result = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(result, value);
        Reply(header, errno, errno == 0 ? result : default);
        return 0;
    }

    // ---- host sockets ----

    private void OnSocketReady(HostSocket socket, uint ready)
    {
        if (Trace) _log($"trace: socket {socket.Id} ({socket.State}) ready 0x{ready:x}");
        const uint Trouble = Linux.EPOLLERR | Linux.EPOLLHUP;
        switch (socket.State)
        {
            case HostSocketState.Listening:
                AcceptConnections(socket);
                break;
            case HostSocketState.Connecting:
                if (Linux.GetInt(socket.Fd, Linux.SOL_SOCKET, Linux.SO_ERROR, out int error) == 0 && error == 0) Connected(socket);
                else if (error != 0) ConnectFailed(socket, error);
                break;
            case HostSocketState.Connected when socket.IsStream:
                if ((ready & (Linux.EPOLLOUT | Trouble)) != 0 && socket.Queue.Count > 0) TrySend(socket);
                if ((ready & (Linux.EPOLLIN | Trouble)) != 0 && !socket.Released && CanRead(socket)) ReadStream(socket);
                break;
            case HostSocketState.Connected:
            case HostSocketState.Bound:
                if (!socket.IsStream && CanRead(socket)) ReadDatagram(socket);
                break;
        }
        if (!socket.Released) UpdateInterest(socket);
    }

    // Whether the socket may be read now: its state and credit (the epoll interest follows this and
    // _outFull), and the link's output as it is this moment (so one iteration never overfills it).
    private bool WantsToRead(HostSocket socket) =>
        !socket.ReadDone && !socket.Closing && _guestFd >= 0 &&
        (socket.IsStream ? socket.Rx.Available > 0 : socket.Rx.Available >= SideDatagrams.Cost(MaxDatagram));

    private bool CanRead(HostSocket socket) => WantsToRead(socket) && _out.Count < OutHighWater;

    // One read of at most the socket's credit (and 64 KiB), straight into a DATA frame.
    private void ReadStream(HostSocket socket)
    {
        int max = (int)Math.Min(socket.Rx.Available, SideProtocol.MaxPayload);
        Span<byte> room = _out.Reserve(SideProtocol.HeaderSize + max);
        nint received;
        fixed (byte* p = room) received = Linux.recv(socket.Fd, p + SideProtocol.HeaderSize, max, Linux.MSG_DONTWAIT);
        if (received > 0)
        {
            SideCodec.DataHeader(room, socket.Id, (int)received);
            _out.Commit(SideProtocol.HeaderSize + (int)received);
            socket.Rx.Consume((uint)received);
            return;
        }
        if (received == 0)
        {
            socket.ReadDone = true;
            Emit(SideCodec.Empty(_out.Reserve(ControlRoom), SideType.Eof, socket.Id));
            return;
        }
        int errno = Linux.Errno;
        if (Trace) _log($"trace: recv on socket {socket.Id}: {Errno.Name(errno)} ({errno})");
        if (errno != Linux.EAGAIN && errno != Linux.EINTR) Fail(socket, errno);
    }

    // One datagram into a DGRAM frame, its source as the guest sees it (GuestSource). It costs its
    // SideDatagrams.Cost in the guest's credit. One that a frame cannot hold with its address (an
    // IPv6 datagram over 65506 bytes) is cut to fit.
    private void ReadDatagram(HostSocket socket)
    {
        Span<byte> from = stackalloc byte[SideProtocol.SockaddrStorageSize];
        int fromLength = from.Length;
        nint received;
        fixed (byte* p = _datagram)
        fixed (byte* f = from)
            received = Linux.recvfrom(socket.Fd, p, _datagram.Length, Linux.MSG_DONTWAIT | Linux.MSG_TRUNC, f, &fromLength);
        if (received < 0)
        {
            int errno = Linux.Errno;
            if (errno != Linux.EAGAIN && errno != Linux.EINTR) Emit(SideCodec.ErrnoEvent(_out.Reserve(ControlRoom), SideType.Error, socket.Id, errno, 0));
            return;
        }
        byte[] source = from.Slice(0, Math.Min(fromLength, from.Length)).ToArray();
        if (!GuestSource(socket, source))
        {
            LogOnce("dgram-from:" + socket.Id, $"dropped a datagram for socket {socket.Id} from {Format(source)}: its port is not published and only the guest's own sockets may reach it without -Net outbound");
            return;
        }
        int length = (int)Math.Min(received, SideProtocol.MaxPayload - 2 - source.Length);
        if (length < received) LogOnce("dgram-cut:" + socket.Id, $"a {received}-byte datagram for socket {socket.Id} was cut to {length} bytes to fit one frame");
        socket.Rx.Consume(SideDatagrams.Cost(length));
        Emit(SideCodec.Dgram(_out.Reserve(SideProtocol.MaxFrame), socket.Id, source, _datagram.AsSpan(0, length)));
    }

    // Rewrites a datagram's source into the guest's view and says whether the guest may have it:
    // replies of the host's name server come from the guest's (127.0.0.11:53); a guest socket's
    // host address is its guest port. Without -Net outbound an unpublished socket hears only the
    // guest's own sockets, and a published one remembers its host correspondents to answer them.
    private bool GuestSource(HostSocket socket, byte[] source)
    {
        if (socket.UsesNameServer && _policy.NameServer is { } nameServer && SideAddress.SameEndpoint(source, Sockaddr(nameServer, socket.Family)))
        {
            SideAddress.SetPort(source, SideProtocol.NameServerPort);
            int at = SideAddress.Family(source) == SideProtocol.AF_INET ? 4 : 20;
            (source[at], source[at + 1], source[at + 2], source[at + 3]) = ((byte)127, (byte)0, (byte)0, SideProtocol.NameServerLastOctet);
            return true;
        }
        if (SideAddress.IsLoopback(source))
            foreach (var sender in _byId.Values)
                if (!sender.IsStream && sender.HostName.Length > 0 && SideAddress.SameEndpoint(source, sender.HostName))
                {
                    SideAddress.SetPort(source, GuestPort(sender));
                    return true;
                }
        if (_policy.Outbound) return true;
        if (socket.Published is null) return false;
        // Remembered so that it can be answered; bounded: a flood of sources forgets the oldest ones.
        if (socket.Heard.Count >= MaxCorrespondents) socket.Heard.Clear();
        socket.Heard.Add(Format(source));
        return true;
    }

    // Pushes accepted connections while the guest's accept credit lasts; the rest wait in the host's
    // backlog. The guest sees its own port as the local one.
    private void AcceptConnections(HostSocket listener)
    {
        Span<byte> peer = stackalloc byte[SideProtocol.SockaddrStorageSize];
        for (int i = 0; i < AcceptsPerEvent && listener.AcceptCredit > 0 && _out.Count < OutHighWater; i++)
        {
            int peerLength = peer.Length;
            int fd;
            fixed (byte* p = peer) fd = Linux.accept4(listener.Fd, p, &peerLength, Linux.SOCK_NONBLOCK | Linux.SOCK_CLOEXEC);
            if (fd < 0)
            {
                int errno = Linux.Errno;
                if (errno == Linux.EAGAIN) return;
                if (errno is Linux.EINTR or (int)Errno.ECONNABORTED) continue;
                LogOnce("accept", $"accept on guest port {listener.Published?.GuestPort} failed: {Errno.Name(errno)}");
                return;
            }
            var socket = new HostSocket(_nextSideId++, fd, listener.Family, Linux.SOCK_STREAM, _nextToken++) { State = HostSocketState.Connected };
            Add(socket);
            listener.AcceptCredit--;
            byte[] local = Linux.Name(fd, peer: false);
            if (listener.Published is { } publish) SideAddress.SetPort(local, publish.GuestPort);
            Emit(SideCodec.Accepted(_out.Reserve(ControlRoom), listener.Id, socket.Id, peer.Slice(0, Math.Min(peerLength, peer.Length)), local));
            UpdateInterest(socket);
        }
    }

    // The interest reads _outFull, not the output's live size: Flush re-evaluates every socket when
    // the flag changes, so a socket left out while the output was full always comes back.
    private void UpdateInterest(HostSocket socket)
    {
        uint want = 0;
        if (!socket.Released && _guestFd >= 0)
        {
            bool room = !_outFull;
            switch (socket.State)
            {
                case HostSocketState.Listening:
                    if (socket.AcceptCredit > 0 && room) want = Linux.EPOLLIN;
                    break;
                case HostSocketState.Connecting:
                    want = Linux.EPOLLOUT;
                    break;
                case HostSocketState.Connected:
                case HostSocketState.Bound:
                    // A bound stream socket waits for LISTEN or CONNECT; a bound datagram socket receives.
                    if (room && WantsToRead(socket) && (socket.State == HostSocketState.Connected || !socket.IsStream)) want |= Linux.EPOLLIN;
                    if (socket.IsStream && socket.State == HostSocketState.Connected && socket.Queue.Count > 0) want |= Linux.EPOLLOUT;
                    break;
            }
        }
        if (want == socket.Registered) return;
        int op = socket.Registered == 0 ? Linux.EPOLL_CTL_ADD : want == 0 ? Linux.EPOLL_CTL_DEL : Linux.EPOLL_CTL_MOD;
        Register(socket.Fd, op, want, socket.Token);
        socket.Registered = want;
    }

    internal static string Format(ReadOnlySpan<byte> sockaddr)
    {
        ushort port = SideAddress.Port(sockaddr);
        return SideAddress.Family(sockaddr) switch
        {
            SideProtocol.AF_INET when sockaddr.Length >= 8 => $"{sockaddr[4]}.{sockaddr[5]}.{sockaddr[6]}.{sockaddr[7]}:{port}",
            SideProtocol.AF_INET6 when sockaddr.Length >= 24 => $"[{new System.Net.IPAddress(sockaddr.Slice(8, 16))}]:{port}",
            var family => $"(family {family})",
        };
    }
}
