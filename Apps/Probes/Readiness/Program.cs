using System.Diagnostics;
using System.Runtime.InteropServices;
using Libra.Probes;
using static Libra.Probes.Libc;

// Readiness of descriptors, as a program sees it through poll, select, epoll and eventfd: pipes
// and eventfds becoming readable and writable, hang-ups, level- and edge-triggered and one-shot
// epoll items, readiness that exists when an item is added, nested epoll, and sleepers woken by
// another thread. Every line is a fact; the output is the same on Linux and on Libra.
unsafe
{
    // --- poll on pipes ---
    var (r, w) = Pipe();
    Probe.Check("poll: an empty pipe is not readable", PollOne(r, POLLIN, 0) == 0);
    Probe.Check("poll: a pipe's write end is writable", PollOne(w, POLLOUT, 0) == POLLOUT);
    WriteByte(w, 1);
    Probe.Check("poll: a pipe with data is readable", PollOne(r, POLLIN, 0) == POLLIN);
    Close(w);
    Probe.Check("poll: data and a closed writer give POLLIN|POLLHUP", PollOne(r, POLLIN, 0) == (POLLIN | POLLHUP));
    ReadBytes(r, 1);
    Probe.Check("poll: a drained pipe without writers gives POLLHUP alone", PollOne(r, POLLIN, 0) == POLLHUP);
    Close(r);
    (r, w) = Pipe();
    Close(r);
    Probe.Check("poll: a write end without readers gives POLLOUT|POLLERR", PollOne(w, POLLOUT, 0) == (POLLOUT | POLLERR));
    Close(w);
    Probe.Check("poll: a closed descriptor gives POLLNVAL", PollOne(w, POLLIN, 0) == POLLNVAL);
    Probe.Check("poll: a negative descriptor is skipped", PollOne(-1, POLLIN, 0) == 0);
    (r, w) = Pipe();
    var clock = Stopwatch.StartNew();
    Probe.Check("poll: a timeout with nothing ready returns 0", PollCount(r, POLLIN, 30) == 0);
    Probe.Check("poll: the timeout lasted at least 30 ms", clock.ElapsedMilliseconds >= 29, $"{clock.ElapsedMilliseconds} ms");
    using (Later(() => WriteByte(w, 2)))
        Probe.Check("poll: a sleeper wakes when another thread writes", PollOne(r, POLLIN, 5000) == POLLIN);
    ReadBytes(r, 1);

    // --- select ---
    WriteByte(w, 3);
    ulong* readSet = stackalloc ulong[16], writeSet = stackalloc ulong[16];
    SetBit(readSet, r); SetBit(writeSet, w);
    long* tv = stackalloc long[2];
    tv[0] = 0; tv[1] = 0;
    int selected = select(Math.Max(r, w) + 1, readSet, writeSet, null, tv);
    Probe.Check("select: a readable pipe and a writable pipe count twice", selected == 2 && IsSet(readSet, r) && IsSet(writeSet, w));
    ReadBytes(r, 1);
    ClearSet(readSet); SetBit(readSet, r);
    tv[0] = 0; tv[1] = 20_000;
    Probe.Check("select: a timeout with nothing ready returns 0 and empties the set", select(r + 1, readSet, null, null, tv) == 0 && !IsSet(readSet, r));
    var (gone, goneToo) = Pipe();
    Close(gone); Close(goneToo);
    ClearSet(readSet); SetBit(readSet, gone);
    tv[0] = 0; tv[1] = 0;
    Probe.Check("select: a closed descriptor fails with EBADF", select(gone + 1, readSet, null, null, tv) == -1 && Marshal.GetLastPInvokeError() == EBADF);
    ClearSet(readSet); SetBit(readSet, r);
    using (Later(() => WriteByte(w, 4)))
        Probe.Check("select: a sleeper wakes when another thread writes", select(r + 1, readSet, null, null, null) == 1 && IsSet(readSet, r));
    ReadBytes(r, 1);

    // --- eventfd ---
    int e = eventfd(0, EFD_NONBLOCK);
    ulong value = 0;
    Probe.Check("eventfd: reading zero fails with EAGAIN", read(e, &value, 8) == -1 && Marshal.GetLastPInvokeError() == EAGAIN);
    Probe.Check("eventfd: a new counter is writable, not readable", PollOne(e, POLLIN | POLLOUT, 0) == POLLOUT);
    value = 3; write(e, &value, 8);
    value = 4; write(e, &value, 8);
    Probe.Check("eventfd: a counter with a value is readable and writable", PollOne(e, POLLIN | POLLOUT, 0) == (POLLIN | POLLOUT));
    Probe.Check("eventfd: a read takes the whole count", read(e, &value, 8) == 8 && value == 7);
    value = ulong.MaxValue;
    Probe.Check("eventfd: writing 2^64-1 fails with EINVAL", write(e, &value, 8) == -1 && Marshal.GetLastPInvokeError() == EINVAL);
    uint small = 0;
    Probe.Check("eventfd: a 4-byte read fails with EINVAL", read(e, &small, 4) == -1 && Marshal.GetLastPInvokeError() == EINVAL);
    value = 0xfffffffffffffffe; write(e, &value, 8);
    value = 1;
    Probe.Check("eventfd: a write past the maximum fails with EAGAIN", write(e, &value, 8) == -1 && Marshal.GetLastPInvokeError() == EAGAIN);
    Probe.Check("eventfd: a full counter is not writable", PollOne(e, POLLIN | POLLOUT, 0) == POLLIN);
    Close(e);
    int semaphore = eventfd(2, EFD_NONBLOCK | EFD_SEMAPHORE);
    bool one = read(semaphore, &value, 8) == 8 && value == 1;
    bool two = read(semaphore, &value, 8) == 8 && value == 1;
    bool none = read(semaphore, &value, 8) == -1 && Marshal.GetLastPInvokeError() == EAGAIN;
    Probe.Check("eventfd: a semaphore counts down one at a time", one && two && none);
    Close(semaphore);
    int blocking = eventfd(0, 0);
    using (Later(() => { ulong v = 5; write(blocking, &v, 8); }))
        Probe.Check("eventfd: a blocked reader wakes when another thread writes", read(blocking, &value, 8) == 8 && value == 5);

    // --- epoll ---
    var events = new EpollEvent[8];
    int ep = epoll_create1(EPOLL_CLOEXEC);
    Probe.Check("epoll: epoll_create1 gives a descriptor", ep >= 0);
    Probe.Check("epoll: an empty instance reports nothing", Wait(ep, events, 0) == 0);
    Probe.Check("epoll: adding a pipe's read end succeeds", Control(ep, EPOLL_CTL_ADD, r, EPOLLIN, 11) == 0);
    Probe.Check("epoll: adding it twice fails with EEXIST", Control(ep, EPOLL_CTL_ADD, r, EPOLLIN, 11) == EEXIST);
    Probe.Check("epoll: an empty pipe reports nothing", Wait(ep, events, 0) == 0);
    WriteByte(w, 5);
    Probe.Check("epoll: data reports EPOLLIN with the item's data", Wait(ep, events, 0) == 1 && events[0].Events == EPOLLIN && events[0].Data == 11);
    Probe.Check("epoll: level-triggered reports again while data stays", Wait(ep, events, 0) == 1);
    ReadBytes(r, 1);
    Probe.Check("epoll: level-triggered stops once drained", Wait(ep, events, 0) == 0);
    Probe.Check("epoll: modifying to EPOLLET succeeds", Control(ep, EPOLL_CTL_MOD, r, EPOLLIN | EPOLLET, 12) == 0);
    WriteByte(w, 6);
    Probe.Check("epoll: edge-triggered reports a new arrival once", Wait(ep, events, 0) == 1 && events[0].Data == 12);
    Probe.Check("epoll: edge-triggered does not report the same data again", Wait(ep, events, 0) == 0);
    WriteByte(w, 7);
    Probe.Check("epoll: edge-triggered reports the next arrival", Wait(ep, events, 0) == 1);
    ReadBytes(r, 2);
    Probe.Check("epoll: modifying to EPOLLONESHOT succeeds", Control(ep, EPOLL_CTL_MOD, r, EPOLLIN | EPOLLONESHOT, 13) == 0);
    WriteByte(w, 8);
    Probe.Check("epoll: one-shot reports once", Wait(ep, events, 0) == 1 && events[0].Data == 13);
    WriteByte(w, 9);
    Probe.Check("epoll: one-shot stays silent after firing", Wait(ep, events, 0) == 0);
    Control(ep, EPOLL_CTL_MOD, r, EPOLLIN | EPOLLONESHOT, 14);
    Probe.Check("epoll: EPOLL_CTL_MOD re-arms a one-shot item", Wait(ep, events, 0) == 1 && events[0].Data == 14);
    ReadBytes(r, 2);
    Probe.Check("epoll: deleting the item succeeds", Control(ep, EPOLL_CTL_DEL, r, 0, 0) == 0);
    Probe.Check("epoll: deleting it again fails with ENOENT", Control(ep, EPOLL_CTL_DEL, r, 0, 0) == ENOENT);
    Probe.Check("epoll: modifying an unknown item fails with ENOENT", Control(ep, EPOLL_CTL_MOD, r, EPOLLIN, 0) == ENOENT);
    Probe.Check("epoll: an instance cannot watch itself (EINVAL)", Control(ep, EPOLL_CTL_ADD, ep, EPOLLIN, 0) == EINVAL);
    Probe.Check("epoll: a pipe is not an epoll instance (EINVAL)", Control(r, EPOLL_CTL_ADD, w, EPOLLOUT, 0) == EINVAL);
    int exe = open("/proc/self/exe", 0);
    Probe.Check("epoll: a regular file cannot be watched (EPERM)", Control(ep, EPOLL_CTL_ADD, exe, EPOLLIN, 0) == EPERM);
    Close(exe);
    Probe.Check("epoll: maxevents 0 fails with EINVAL", epoll_wait(ep, null, 0, 0) == -1 && Marshal.GetLastPInvokeError() == EINVAL);

    int ready = eventfd(1, EFD_NONBLOCK);
    Control(ep, EPOLL_CTL_ADD, ready, EPOLLIN | EPOLLET, 21);
    Probe.Check("epoll: adding an already-readable item reports it at once", Wait(ep, events, 0) == 1 && events[0].Data == 21);
    Control(ep, EPOLL_CTL_ADD, w, EPOLLOUT | EPOLLET, 22);
    Probe.Check("epoll: adding a writable pipe end reports EPOLLOUT", Wait(ep, events, 0) == 1 && events[0].Events == EPOLLOUT && events[0].Data == 22);
    Close(ready);
    Probe.Check("epoll: closing the only descriptor of a watched file removes it", Control(ep, EPOLL_CTL_ADD, ready, EPOLLIN, 0) == EBADF);
    int kept = eventfd(1, EFD_NONBLOCK);
    int copy = dup(kept);
    Control(ep, EPOLL_CTL_ADD, kept, EPOLLIN, 23);
    Close(kept);
    Probe.Check("epoll: a watched file with a duplicate descriptor stays watched", Wait(ep, events, 0) == 1 && events[0].Data == 23);
    Close(copy);
    Close(ep);

    // Readiness beyond maxevents is reported by the next call.
    int many = epoll_create1(0);
    int[] counters = [eventfd(1, 0), eventfd(1, 0), eventfd(1, 0)];
    for (int i = 0; i < 3; i++) Control(many, EPOLL_CTL_ADD, counters[i], EPOLLIN, (ulong)(100 + i));
    var seen = new HashSet<ulong>();
    var pair = new EpollEvent[2];
    int first = Wait(many, pair, 0);
    for (int i = 0; i < first; i++) seen.Add(pair[i].Data);
    int second = Wait(many, pair, 0);
    for (int i = 0; i < second; i++) seen.Add(pair[i].Data);
    Probe.Check("epoll: three ready items and maxevents 2 report all three in two calls", first == 2 && second == 2 && seen.Count == 3);
    foreach (int c in counters) Close(c);
    Close(many);

    // A sleeper in epoll_wait, a hang-up, nested instances and poll on an instance.
    int outer = epoll_create1(0), inner = epoll_create1(0);
    (r, w) = Pipe();
    Control(inner, EPOLL_CTL_ADD, r, EPOLLIN, 31);
    Control(outer, EPOLL_CTL_ADD, inner, EPOLLIN, 32);
    Probe.Check("epoll: an instance cannot watch one that watches it (ELOOP)", Control(inner, EPOLL_CTL_ADD, outer, EPOLLIN, 0) == ELOOP);
    Probe.Check("epoll: an idle instance does not poll readable", PollOne(inner, POLLIN, 0) == 0);
    clock.Restart();
    Probe.Check("epoll: a timeout with nothing ready returns 0", Wait(inner, events, 30) == 0);
    Probe.Check("epoll: the timeout lasted at least 30 ms", clock.ElapsedMilliseconds >= 29, $"{clock.ElapsedMilliseconds} ms");
    using (Later(() => WriteByte(w, 10)))
        Probe.Check("epoll: a nested instance wakes the outer one's sleeper", Wait(outer, events, 5000) == 1 && events[0].Data == 32);
    Probe.Check("epoll: an instance with a ready item polls readable", PollOne(inner, POLLIN, 0) == POLLIN);
    Probe.Check("epoll: the inner instance reports the pipe", Wait(inner, events, 0) == 1 && events[0].Data == 31);
    ReadBytes(r, 1);
    using (Later(() => Close(w)))
        Probe.Check("epoll: a closed writer reports EPOLLHUP without asking", Wait(inner, events, 5000) == 1 && events[0].Events == EPOLLHUP);
    Close(r); Close(inner); Close(outer);
}
return Probe.Finish("readiness");

namespace Libra.Probes
{
    [StructLayout(LayoutKind.Sequential, Pack = 1)]
    struct EpollEvent { public uint Events; public ulong Data; }

    static unsafe class Libc
    {
        public const short POLLIN = 1, POLLOUT = 4, POLLERR = 8, POLLHUP = 0x10, POLLNVAL = 0x20;
        public const uint EPOLLIN = 1, EPOLLOUT = 4, EPOLLHUP = 0x10, EPOLLET = 1u << 31, EPOLLONESHOT = 1u << 30;
        public const int EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2, EPOLL_CTL_MOD = 3, EPOLL_CLOEXEC = 0x80000;
        public const int EFD_SEMAPHORE = 1, EFD_NONBLOCK = 0x800;
        public const int EPERM = 1, ENOENT = 2, EBADF = 9, EAGAIN = 11, EEXIST = 17, EINVAL = 22, ELOOP = 40;

        [DllImport("libc", SetLastError = true)] public static extern int pipe(int* fds);
        [DllImport("libc", SetLastError = true)] public static extern int close(int fd);
        [DllImport("libc", SetLastError = true)] public static extern int dup(int fd);
        [DllImport("libc", SetLastError = true)] public static extern nint read(int fd, void* buffer, nuint count);
        [DllImport("libc", SetLastError = true)] public static extern nint write(int fd, void* buffer, nuint count);
        [DllImport("libc", SetLastError = true)] public static extern int open(string path, int flags);
        [DllImport("libc", SetLastError = true)] public static extern int poll(void* fds, nuint count, int timeout);
        [DllImport("libc", SetLastError = true)] public static extern int select(int nfds, ulong* read, ulong* write, ulong* except, long* timeout);
        [DllImport("libc", SetLastError = true)] public static extern int eventfd(uint initial, int flags);
        [DllImport("libc", SetLastError = true)] public static extern int epoll_create1(int flags);
        [DllImport("libc", SetLastError = true)] public static extern int epoll_ctl(int epfd, int op, int fd, EpollEvent* ev);
        [DllImport("libc", SetLastError = true)] public static extern int epoll_wait(int epfd, EpollEvent* events, int max, int timeout);

        public static (int Read, int Write) Pipe()
        {
            int* fds = stackalloc int[2];
            if (pipe(fds) != 0) throw new InvalidOperationException($"pipe: errno {Marshal.GetLastPInvokeError()}");
            return (fds[0], fds[1]);
        }

        public static void Close(int fd) => close(fd);

        public static void WriteByte(int fd, byte value) { if (write(fd, &value, 1) != 1) throw new InvalidOperationException("write"); }

        public static void ReadBytes(int fd, int count)
        {
            byte* buffer = stackalloc byte[count];
            if (read(fd, buffer, (nuint)count) != count) throw new InvalidOperationException("read");
        }

        // The revents poll gives one descriptor (or -1 when poll fails).
        public static int PollOne(int fd, short events, int timeout)
        {
            int* entry = stackalloc int[2];
            entry[0] = fd;
            entry[1] = (ushort)events;
            int n = poll(entry, 1, timeout);
            return n < 0 ? -1 : (ushort)(entry[1] >> 16);
        }

        public static int PollCount(int fd, short events, int timeout)
        {
            int* entry = stackalloc int[2];
            entry[0] = fd;
            entry[1] = (ushort)events;
            return poll(entry, 1, timeout);
        }

        public static void SetBit(ulong* set, int fd) => set[fd / 64] |= 1ul << (fd % 64);
        public static bool IsSet(ulong* set, int fd) => (set[fd / 64] & (1ul << (fd % 64))) != 0;
        public static void ClearSet(ulong* set) { for (int i = 0; i < 16; i++) set[i] = 0; }

        // 0, or the errno epoll_ctl fails with.
        public static int Control(int epfd, int op, int fd, uint events, ulong data)
        {
            EpollEvent ev = new() { Events = events, Data = data };
            return epoll_ctl(epfd, op, fd, &ev) == 0 ? 0 : Marshal.GetLastPInvokeError();
        }

        public static int Wait(int epfd, EpollEvent[] events, int timeout)
        {
            fixed (EpollEvent* buffer = events) return epoll_wait(epfd, buffer, events.Length, timeout);
        }

        // Runs `action` on another thread after 50 ms; disposing waits for it.
        public static IDisposable Later(Action action)
        {
            var thread = new Thread(() => { Thread.Sleep(50); action(); });
            thread.Start();
            return new Joiner(thread);
        }

        sealed class Joiner(Thread thread) : IDisposable { public void Dispose() => thread.Join(); }
    }
}
