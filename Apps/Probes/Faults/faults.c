// faults: system calls given bad user pointers, checked with a static C program (gcc -static)
// natively and on Libra: same output, same exit status. Linux answers EFAULT and carries on; a
// kernel that dereferences the pointer itself would die instead. Modes:
//   pointers   each call of each syscall family with a buffer that is null, unmapped, a kernel
//              address or a range that runs into an unmapped page: the errno it gives
//   unmapped   a thread blocks reading a pipe (then a unix socket) into a buffer that another thread
//              unmaps before writing: the read gives EFAULT; a writer blocked on a full pipe whose
//              buffer goes away returns what it had written; a reader whose descriptor another
//              thread closes while it sleeps still gets the bytes written to the other end
//   pipes      pipes opened until EMFILE or ENFILE, all closed, then 10,000 opened and closed
//   socketpairs the same with unix stream socketpairs (ENOMEM also counts as the limit)
//   partial    a /tmp file write whose buffer runs into a hole: the bytes before it, the file
//              grown by those only
//   churn      200 rounds of making and dropping what costs kernel memory (tmpfs files, names,
//              links, record locks, mappings, pipes, epoll, poll, timers, eventfd, timerfd, unix
//              sockets, threads, queued signals), everything closed and removed after: a call may
//              fail only with a memory errno (ENOMEM, ENOSPC, ENFILE, EAGAIN, ENOLCK, ENOBUFS), what
//              did not fail must have worked. Libra runs it with libra.fail_alloc (ResourceLimitTests).
// Raw syscall(2) throughout: glibc's wrappers (and the vDSO's clocks) would touch the pointers in
// user space first.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096

enum { KIND_NULL, KIND_UNMAPPED, KIND_KERNEL, KIND_CROSSING, KINDS };
static const char *kind_names[KINDS] = { "null", "unmapped", "kernel", "crossing" };
static uintptr_t bad[KINDS];

static const char *error_name(int error)
{
    switch (error)
    {
        case EFAULT: return "EFAULT";
        case EINVAL: return "EINVAL";
        case EBADF: return "EBADF";
        case ENOENT: return "ENOENT";
        case EAGAIN: return "EAGAIN";
        case ENAMETOOLONG: return "ENAMETOOLONG";
        case ENOTCONN: return "ENOTCONN";
        case ERANGE: return "ERANGE";
        case EEXIST: return "EEXIST";
        case ENOTDIR: return "ENOTDIR";
        case EIO: return "EIO";
        default: return "other";
    }
}

static void report(const char *call, int kind, long result);

// Each call starts from the same bytes before the hole: an earlier call may have written them.
#define CHECK(call, expression) do { memset((void *)bad[KIND_CROSSING], 0, 16); report(call, kind, (expression)); } while (0)

static void report(const char *call, int kind, long result)
{
    int error = errno;
    if (result < 0) printf("%-18s %-9s %s\n", call, kind_names[kind], error_name(error));
    else printf("%-18s %-9s returned %ld\n", call, kind_names[kind], result);
}

// Four bad addresses: null, a page that was mapped and is no more, the first kernel address of
// the higher half, and 16 bytes before a hole (a range of 64 bytes from there runs into it).
static void make_bad_pointers(void)
{
    char *pages = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(pages + PAGE, PAGE);
    bad[KIND_NULL] = 0;
    bad[KIND_UNMAPPED] = (uintptr_t)(pages + PAGE);
    bad[KIND_KERNEL] = 0xffff800000000000ul;
    bad[KIND_CROSSING] = (uintptr_t)(pages + PAGE - 16);
    memset(pages + PAGE - 16, 0, 16);
}

static void files(int kind, uintptr_t p)
{
    int fds[2];
    syscall(SYS_pipe2, fds, 0);
    syscall(SYS_write, fds[1], "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 64);
    CHECK("read", syscall(SYS_read, fds[0], p, 64));
    CHECK("write", syscall(SYS_write, fds[1], p, 64));
    struct iovec bad_iov = { (void *)p, 64 };
    CHECK("readv", syscall(SYS_readv, fds[0], &bad_iov, 1));
    CHECK("writev iov", syscall(SYS_writev, fds[1], p, 1));
    CHECK("pipe2", syscall(SYS_pipe2, p, 0));
    close(fds[0]);
    close(fds[1]);
    int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/maps", O_RDONLY);
    // A regular file's read stops where the buffer does (Linux copies what fits): not compared.
    if (kind != KIND_CROSSING) CHECK("pread64", syscall(SYS_pread64, fd, p, 64, 0));
    CHECK("fstat", syscall(SYS_fstat, fd, p));
    close(fd);
    CHECK("openat path", syscall(SYS_openat, AT_FDCWD, p, O_RDONLY));
    CHECK("newfstatat path", syscall(SYS_newfstatat, AT_FDCWD, p, (char[256]){0}, 0));
    CHECK("newfstatat buf", syscall(SYS_newfstatat, AT_FDCWD, "/", p, 0));
    CHECK("statx buf", syscall(SYS_statx, AT_FDCWD, "/", 0, 0x7ff, p));
    CHECK("getcwd", syscall(SYS_getcwd, p, 64));
    symlink("x", "/tmp/faults-link");
    CHECK("readlinkat buf", syscall(SYS_readlinkat, AT_FDCWD, "/tmp/faults-link", p, 64));
    unlink("/tmp/faults-link");
    CHECK("mkdirat path", syscall(SYS_mkdirat, AT_FDCWD, p, 0700));
    CHECK("unlinkat path", syscall(SYS_unlinkat, AT_FDCWD, p, 0));
    CHECK("chdir path", syscall(SYS_chdir, p));
    int dir = (int)syscall(SYS_openat, AT_FDCWD, "/", O_RDONLY | O_DIRECTORY);
    CHECK("getdents64", syscall(SYS_getdents64, dir, p, 64));
    close(dir);
}

static void descriptors(int kind, uintptr_t p)
{
    int fds[2];
    syscall(SYS_pipe2, fds, 0);
    syscall(SYS_write, fds[1], "x", 1);     // readable: a null timeout returns at once
    CHECK("poll", syscall(SYS_poll, p, 4, 0));     // 32 bytes: the crossing one runs into the hole
    CHECK("ppoll timeout", syscall(SYS_ppoll, &(struct pollfd){ fds[0], POLLIN, 0 }, 1, p, NULL, 8));
    CHECK("select fds", syscall(SYS_select, fds[0] + 1, p, NULL, NULL, &(struct timeval){ 0, 0 }));
    fd_set readable;
    FD_ZERO(&readable);
    FD_SET(fds[0], &readable);
    CHECK("select timeout", syscall(SYS_select, fds[0] + 1, &readable, NULL, NULL, p));
    int epoll = (int)syscall(SYS_epoll_create1, 0);
    CHECK("epoll_ctl event", syscall(SYS_epoll_ctl, epoll, EPOLL_CTL_ADD, fds[0], p));
    CHECK("epoll_wait", syscall(SYS_epoll_wait, epoll, p, 1, 0));
    CHECK("ioctl FIONREAD", syscall(SYS_ioctl, fds[0], 0x541b, p));
    close(epoll);
    close(fds[0]);
    close(fds[1]);
}

static void sockets(int kind, uintptr_t p)
{
    int pair[2];
    CHECK("socketpair", syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, p));
    syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, pair);
    syscall(SYS_sendto, pair[1], "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 64, 0, NULL, 0);
    CHECK("recvfrom buf", syscall(SYS_recvfrom, pair[0], p, 64, MSG_DONTWAIT, NULL, NULL));
    CHECK("sendto buf", syscall(SYS_sendto, pair[1], p, 64, 0, NULL, 0));
    CHECK("sendmsg header", syscall(SYS_sendmsg, pair[1], p, 0));
    CHECK("recvmsg header", syscall(SYS_recvmsg, pair[0], p, MSG_DONTWAIT));
    socklen_t length = sizeof(struct sockaddr_un);
    CHECK("getsockname addr", syscall(SYS_getsockname, pair[0], p, &length));
    CHECK("getsockname len", syscall(SYS_getsockname, pair[0], &(struct sockaddr_un){ 0 }, p));
    CHECK("getsockopt value", syscall(SYS_getsockopt, pair[0], SOL_SOCKET, SO_RCVBUF, p, &length));
    close(pair[0]);
    close(pair[1]);
    int socket = (int)syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
    CHECK("bind addr", syscall(SYS_bind, socket, p, sizeof(struct sockaddr_un)));
    CHECK("connect addr", syscall(SYS_connect, socket, p, sizeof(struct sockaddr_un)));
    close(socket);
}

static void process(int kind, uintptr_t p)
{
    CHECK("uname", syscall(SYS_uname, p));
    CHECK("sysinfo", syscall(SYS_sysinfo, p));
    CHECK("getrlimit", syscall(SYS_getrlimit, RLIMIT_NOFILE, p));
    CHECK("prlimit64 old", syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, p));
    CHECK("getrandom", syscall(SYS_getrandom, p, 64, 0));
    CHECK("sched_getaffinity", syscall(SYS_sched_getaffinity, 0, 64, p));
    CHECK("clock_gettime", syscall(SYS_clock_gettime, CLOCK_MONOTONIC, p));
    CHECK("clock_getres", syscall(SYS_clock_getres, CLOCK_MONOTONIC, p));
    CHECK("gettimeofday", syscall(SYS_gettimeofday, p, NULL));
    CHECK("nanosleep req", syscall(SYS_nanosleep, p, NULL));
    CHECK("getrusage", syscall(SYS_getrusage, RUSAGE_SELF, p));
}

static void signals(int kind, uintptr_t p)
{
    CHECK("rt_sigaction act", syscall(SYS_rt_sigaction, SIGUSR1, p, NULL, 8));
    CHECK("rt_sigaction old", syscall(SYS_rt_sigaction, SIGUSR1, NULL, p, 8));
    CHECK("rt_sigprocmask set", syscall(SYS_rt_sigprocmask, SIG_BLOCK, p, NULL, 8));
    CHECK("rt_sigprocmask old", syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, p, 8));
    CHECK("rt_sigpending", syscall(SYS_rt_sigpending, p, 8));
    CHECK("sigaltstack old", syscall(SYS_sigaltstack, NULL, p));
    CHECK("futex wait", syscall(SYS_futex, p, FUTEX_WAIT_PRIVATE, 1, NULL, NULL, 0));
}

static void pointers(void)
{
    chdir("/");     // getcwd then says the same everywhere
    make_bad_pointers();
    void (*families[])(int, uintptr_t) = { files, descriptors, sockets, process, signals };
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++)
        for (int kind = 0; kind < KINDS; kind++) families[f](kind, bad[kind]);
}

struct blocked_call { int fd; char *buffer; size_t length; long result; int error; };

static void *read_blocked(void *argument)
{
    struct blocked_call *call = argument;
    call->result = syscall(SYS_read, call->fd, call->buffer, call->length);
    call->error = errno;
    return NULL;
}

static void *write_blocked(void *argument)
{
    struct blocked_call *call = argument;
    call->result = syscall(SYS_write, call->fd, call->buffer, call->length);
    call->error = errno;
    return NULL;
}

static void pause_a_moment(void) { nanosleep(&(struct timespec){ 0, 200 * 1000 * 1000 }, NULL); }

static void print_blocked(const char *what, struct blocked_call *call)
{
    if (call->result < 0) printf("%s: %s\n", what, error_name(call->error));
    else printf("%s: returned %ld\n", what, call->result);
}

// A reader asleep in read(2) on `fds[0]` into a page that is unmapped before `fds[1]` is written:
// whether it had gone to sleep yet or not, its read finds no buffer (EFAULT).
static void read_into_unmapped(const char *what, int fds[2])
{
    struct blocked_call call = { fds[0], mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), 64, 0, 0 };
    pthread_t reader;
    pthread_create(&reader, NULL, read_blocked, &call);
    pause_a_moment();
    munmap(call.buffer, PAGE);
    syscall(SYS_write, fds[1], "wake up", 7);
    pthread_join(reader, NULL);
    print_blocked(what, &call);
}

// A reader asleep in read(2) on `fds[0]` when another thread closes that descriptor: the read
// holds the open file (Linux's fdget), so it sleeps on and returns what `fds[1]` then brings. Once a
// kernel panic on Libra, found by the syscall fuzzer (the closed description was freed under the read).
static void read_on_closed(const char *what, int fds[2])
{
    char buffer[64];
    struct blocked_call call = { fds[0], buffer, sizeof buffer, 0, 0 };
    pthread_t reader;
    pthread_create(&reader, NULL, read_blocked, &call);
    pause_a_moment();
    close(fds[0]);
    syscall(SYS_write, fds[1], "wake up", 7);
    pthread_join(reader, NULL);
    print_blocked(what, &call);
    close(fds[1]);
}

static void unmapped(void)
{
    int fds[2];
    pipe(fds);
    read_into_unmapped("pipe read into a buffer unmapped while blocked", fds);
    close(fds[0]);
    close(fds[1]);
    socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
    read_into_unmapped("unix stream read into a buffer unmapped while blocked", fds);
    close(fds[0]);
    close(fds[1]);
    pipe(fds);
    read_on_closed("pipe read on a descriptor closed while blocked", fds);
    socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
    read_on_closed("unix stream read on a descriptor closed while blocked", fds);

    // A writer of 128 KiB fills the 64 KiB pipe and sleeps; its buffer goes away, the pipe is
    // drained: it returns the bytes it had written.
    pipe(fds);
    size_t length = 128 * 1024;
    struct blocked_call call = { fds[1], mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), length, 0, 0 };
    memset(call.buffer, 'w', length);
    pthread_t writer;
    pthread_create(&writer, NULL, write_blocked, &call);
    pause_a_moment();
    munmap(call.buffer, length);
    char sink[PAGE];
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    size_t drained = 0;
    for (int tries = 0; tries < 50; tries++)
    {
        ssize_t n;
        while ((n = read(fds[0], sink, sizeof sink)) > 0) drained += (size_t)n;
        pause_a_moment();
        if (tries > 0 && n < 0) break;
    }
    pthread_join(writer, NULL);
    print_blocked("pipe write from a buffer unmapped while blocked", &call);
    printf("bytes drained from the pipe: %zu\n", drained);
    close(fds[0]);
    close(fds[1]);
}

// A write whose buffer runs into a hole writes the pages before it and returns their count; the
// file grows by those bytes only (generic_perform_write). Page-aligned, so every Linux agrees: a
// kernel that faults in a page at a time stops at the hole's first byte.
static void partial(void)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/faults-partial-%d", (int)getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    char *pages = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(pages, 'p', 3 * PAGE);
    munmap(pages + PAGE, PAGE);
    struct stat st;
    long n = syscall(SYS_write, fd, pages, 3 * PAGE);
    fstat(fd, &st);
    printf("tmp file write of 3 pages, the second unmapped: %ld, size %ld\n", n, (long)st.st_size);
    n = syscall(SYS_pwrite64, fd, pages, 3 * PAGE, 100);
    fstat(fd, &st);
    printf("the same at offset 100 over it: %ld, size %ld\n", n, (long)st.st_size);
    char back[2 * PAGE];
    n = pread(fd, back, sizeof back, 0);
    int same = n == 100 + PAGE;
    for (long i = 0; same && i < n; i++) same = back[i] == 'p';
    printf("what reads back: %ld bytes, all written: %s\n", n, same ? "yes" : "no");
    close(fd);
    unlink(path);
    munmap(pages, 3 * PAGE);
}

static int open_pipe(int fds[2]) { return pipe(fds); }
static int open_socketpair(int fds[2]) { return socketpair(AF_UNIX, SOCK_STREAM, 0, fds); }

// Pairs of descriptors (pipes, unix socketpairs) opened until the descriptor limit (raised to
// 4096, or the hard limit when lower) or the kernel's memory says no: EMFILE or ENFILE (ENOMEM too
// for sockets, as unix_create1 when sk_alloc fails), never a crash; then all closed, and 10,000
// more opened and closed one at a time (a leak of a ring's 64 KiB each time would run out long before).
static void pairs(const char *what, int (*open_pair)(int fds[2]), int memory_error_allowed)
{
    struct rlimit limit;
    getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = limit.rlim_max < 4096 ? limit.rlim_max : 4096;
    setrlimit(RLIMIT_NOFILE, &limit);
    static int ends[4096][2];
    int opened = 0, error = 0;
    while (opened < 4096)
    {
        if (open_pair(ends[opened]) != 0) { error = errno; break; }
        opened++;
    }
    int limit_met = error == EMFILE || error == ENFILE || (memory_error_allowed && error == ENOMEM);
    printf("%s opened until the limit: %s\n", what,
           limit_met ? (memory_error_allowed ? "EMFILE, ENFILE or ENOMEM" : "EMFILE or ENFILE") : error == 0 ? "no limit met" : error_name(error));
    printf("more than 500 %s opened first: %s\n", what, opened > 500 ? "yes" : "no");
    for (int i = 0; i < opened; i++)
    {
        close(ends[i][0]);
        close(ends[i][1]);
    }
    int failed = 0;
    for (int i = 0; i < 10000; i++)
    {
        int fds[2];
        if (open_pair(fds) != 0) { failed++; continue; }
        close(fds[0]);
        close(fds[1]);
    }
    printf("10000 %s opened and closed after: %d failed\n", what, failed);
}

// ---- churn ----

static int churn_unexpected;

static int memory_errno(int e) { return e == ENOMEM || e == ENOSPC || e == ENFILE || e == EMFILE || e == EAGAIN || e == ENOLCK || e == ENOBUFS; }

// 1 when the call worked; 0 when it failed for want of memory (what a kernel may answer when its
// own memory runs out); any other failure is printed (the first 20).
static int worked(const char *what, long result)
{
    if (result >= 0) return 1;
    int e = errno;
    if (memory_errno(e)) return 0;
    if (churn_unexpected++ < 20) printf("churn: %s failed: %s (%d)\n", what, error_name(e), e);
    return 0;
}

static void *churn_thread(void *argument) { return argument; }

// A clean-up call (unlink, rmdir) may fail for want of memory too: tried again until it does not.
static void clean(const char *what, int (*call)(const char *), const char *path)
{
    for (int tries = 0; tries < 1000; tries++)
    {
        if (call(path) == 0 || errno == ENOENT) return;
        if (!memory_errno(errno)) break;
    }
    worked(what, -1);
}

static void churn_files(const char *pattern, int size)
{
    static char back[10000];
    int fd = open("/tmp/churn/a", O_CREAT | O_RDWR | O_TRUNC, 0644);
    if (!worked("open a", fd)) return;
    long n = write(fd, pattern, size);
    if (worked("write", n) && (pread(fd, back, n, 0) != n || memcmp(back, pattern, n) != 0)) printf("churn: a written file reads back different\n");
    struct flock lock = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1000 };
    if (worked("lock", fcntl(fd, F_SETLK, &lock)))
    {
        lock.l_type = F_UNLCK; lock.l_start = 100; lock.l_len = 10;
        worked("unlock the middle", fcntl(fd, F_SETLK, &lock));
        lock.l_start = 0; lock.l_len = 0;
        worked("unlock", fcntl(fd, F_SETLK, &lock));
    }
    char *map = mmap(NULL, 2 * PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
    if (worked("mmap", map == MAP_FAILED ? -1 : 0))
    {
        if (n > 0 && map[0] != pattern[0]) printf("churn: a mapping shows other bytes than the file\n");
        char *moved = mremap(map, 2 * PAGE, 64 * PAGE, MREMAP_MAYMOVE);
        if (worked("mremap", moved == MAP_FAILED ? -1 : 0)) munmap(moved, 64 * PAGE); else munmap(map, 2 * PAGE);
    }
    int out = open("/tmp/churn/b", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (worked("open b", out))
    {
        off_t offset = 0;
        worked("sendfile", sendfile(out, fd, &offset, 5000));
        close(out);
        worked("rename", rename("/tmp/churn/b", "/tmp/churn/c"));
        clean("unlink b", unlink, "/tmp/churn/b");
        clean("unlink c", unlink, "/tmp/churn/c");
    }
    close(fd);
    if (worked("link", link("/tmp/churn/a", "/tmp/churn/d"))) clean("unlink d", unlink, "/tmp/churn/d");
    if (worked("symlink", symlink("a", "/tmp/churn/s")))
    {
        char target[16];
        if (readlink("/tmp/churn/s", target, sizeof target) != 1) printf("churn: readlink gave another target\n");
        clean("unlink s", unlink, "/tmp/churn/s");
    }
    clean("unlink a", unlink, "/tmp/churn/a");
    if (worked("mkdir", mkdir("/tmp/churn/dir", 0755)))
    {
        int dir = open("/tmp/churn/dir", O_RDONLY | O_DIRECTORY);
        if (worked("open dir", dir))
        {
            int inner = openat(dir, "x", O_CREAT | O_WRONLY, 0644);
            if (worked("openat", inner)) close(inner);
            clean("unlink x", unlink, "/tmp/churn/dir/x");      // an open that failed may have made it
            char entries[4096];
            worked("getdents64", syscall(SYS_getdents64, dir, entries, sizeof entries));
            close(dir);
        }
        clean("rmdir", rmdir, "/tmp/churn/dir");
    }
}

static void churn_descriptors(void)
{
    int p[2];
    if (worked("pipe", pipe(p)))
    {
        int ep = epoll_create1(0);
        if (worked("epoll_create1", ep))
        {
            struct epoll_event event = { .events = EPOLLIN };
            worked("epoll_ctl", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &event));
            close(ep);
        }
        struct pollfd fds[2] = { { p[0], POLLIN, 0 }, { p[1], POLLOUT, 0 } };
        worked("poll", poll(fds, 2, 0));
        fd_set read_set;
        FD_ZERO(&read_set);
        FD_SET(p[0], &read_set);
        struct timeval none = { 0, 0 };
        worked("select", select(p[0] + 1, &read_set, NULL, NULL, &none));
        close(p[0]);
        close(p[1]);
    }
    int event = eventfd(0, 0);
    if (worked("eventfd", event)) close(event);
    int timer = timerfd_create(CLOCK_MONOTONIC, 0);
    if (worked("timerfd_create", timer))
    {
        struct itimerspec soon = { .it_value = { 100, 0 } };
        worked("timerfd_settime", timerfd_settime(timer, 0, &soon, NULL));
        close(timer);
    }
    timer_t posix;
    struct sigevent quiet = { .sigev_notify = SIGEV_NONE };
    if (worked("timer_create", timer_create(CLOCK_MONOTONIC, &quiet, &posix))) timer_delete(posix);
    int pair[2];
    if (worked("socketpair", socketpair(AF_UNIX, SOCK_STREAM, 0, pair)))
    {
        char byte = 'x';
        if (worked("send", send(pair[0], &byte, 1, 0)) && recv(pair[1], &byte, 1, 0) != 1) printf("churn: a sent byte did not arrive\n");
        close(pair[0]);
        close(pair[1]);
    }
    int named = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (worked("socket", named))
    {
        struct sockaddr_un address = { .sun_family = AF_UNIX, .sun_path = "/tmp/churn/sock" };
        if (worked("bind", bind(named, (struct sockaddr *)&address, sizeof address))) clean("unlink sock", unlink, "/tmp/churn/sock");
        close(named);
    }
    pthread_t thread;
    int started = pthread_create(&thread, NULL, churn_thread, NULL);
    if (started == 0) pthread_join(thread, NULL); else { errno = started; worked("pthread_create", -1); }
    // Two queued instances of a blocked real-time signal, then taken: one may be merged for want of
    // memory (its sigqueue answers EAGAIN), none may be lost.
    union sigval value = { 0 };
    int queued = 0;
    for (int i = 0; i < 2; i++) queued += worked("sigqueue", sigqueue(getpid(), SIGRTMIN, value));
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN);
    struct timespec now = { 0, 0 };
    for (int i = 0; i < queued; i++)
        if (sigtimedwait(&set, NULL, &now) != SIGRTMIN) printf("churn: a queued signal was lost\n");
}

static void churn(void)
{
    static char pattern[10000];
    for (int i = 0; i < (int)sizeof pattern; i++) pattern[i] = (char)('a' + i % 23);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int made = 0;
    for (int tries = 0; tries < 100 && !made; tries++) made = worked("mkdir /tmp/churn", mkdir("/tmp/churn", 0755)) || errno == EEXIST;
    if (!made) { printf("churn: cannot make /tmp/churn\n"); return; }
    const int rounds = 200;
    for (int round = 0; round < rounds; round++)
    {
        churn_files(pattern, sizeof pattern);
        churn_descriptors();
    }
    clean("rmdir /tmp/churn", rmdir, "/tmp/churn");
    printf("churn: %d rounds, %d unexpected failures\n", rounds, churn_unexpected);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "pointers") == 0) pointers();
    else if (strcmp(mode, "unmapped") == 0) unmapped();
    else if (strcmp(mode, "pipes") == 0) pairs("pipes", open_pipe, 0);
    else if (strcmp(mode, "socketpairs") == 0) pairs("socketpairs", open_socketpair, 1);
    else if (strcmp(mode, "partial") == 0) partial();
    else if (strcmp(mode, "churn") == 0) churn();
    else
    {
        fprintf(stderr, "usage: faults pointers|unmapped|pipes|socketpairs|partial|churn\n");
        return 2;
    }
    printf("done\n");
    return 0;
}
