// fuzz: a system call fuzzer (issue 13). Worker threads issue random system calls whose arguments
// come from generators that know each argument's type — descriptors it opened itself, user pointers
// (valid, null, unmapped, kernel half, running into an unmapped page, read-only), sizes, flags,
// paths inside its scratch directory — while per-thread timers interrupt them with signals. The
// idea is trinity's and syzkaller's (typed argument generators, a pool of live resources, a
// deny-list of calls that would end the run); this is our own small one.
//
// usage: fuzz DIR SECONDS SEED THREADS [--trace]
//   DIR      the scratch directory: every path it makes is inside it (on Libra the share at /)
//   SECONDS  it stops by itself after that long and prints its summary
//   SEED     every thread's generator is derived from it (thread t: splitmix64(SEED + t)), so a
//            run with one thread repeats the same calls; more threads interleave as they like
//   THREADS  worker threads (1..16)
//   --trace  print every call before making it (to reproduce a crash call by call)
// Output (stdout, nothing else): "fuzz: start ...", once a second "fuzz: progress ..." with each
// thread's current call, "fuzz: stuck ..." when a thread has made no call for 10 s, and at the end
// one line "fuzz: summary {json}". Exit status 0.
//
// It must not harm the machine it runs on (it is also run natively): it never touches a path
// outside DIR (no "..", symbolic links only to names inside DIR or to the /proc files it lists),
// never hands out descriptors 0-2, never signals another process, never unmaps or protects memory
// outside its own arena, never makes device nodes, and never calls what would end the run or
// change the host (the deny-list below; those calls are not in the table at all).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define MAX_THREADS 16
#define DATA_SIZE (64 * 1024UL)         // each thread's data buffer, guard pages on both sides
#define STRUCT_SLOT 512                 // each argument's structure (timespec, iovec...) has its own slot
#define ARENA_SIZE (16 * 1024 * 1024UL) // the only memory mmap/munmap/mprotect/mremap may touch
#define POOL_SIZE 48                    // live descriptors the threads share
#define TICK_SIGNAL (SIGRTMIN + 2)      // the per-thread timer's signal: interrupts blocking calls
#define STUCK_SECONDS 10
#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)
#endif

// Deny-list (never generated; documented in docs/robustness.md): exit, exit_group, execve,
// execveat, fork, vfork, clone, clone3, rt_sigreturn, reboot, kexec_*, *_module, mount, umount2,
// pivot_root, chroot, swapon, swapoff, sethostname, setdomainname, settimeofday, clock_settime,
// adjtimex, clock_adjtime, acct, quotactl, syslog, iopl, ioperm, modify_ldt, ptrace,
// process_vm_writev, set*uid, set*gid, setgroups, capset, setsid, setpgid, unshare, setns, seccomp,
// bpf, perf_event_open, userfaultfd, io_uring_*, keyctl, add_key, request_key, personality,
// sched_setscheduler, sched_setparam, sched_setattr, mlockall, vhangup, open_by_handle_at,
// fanotify_init, the new mount API, landlock_restrict_self, setrlimit (prlimit64 only reads),
// migrate_pages, process_madvise. Calls kept but tamed: kill/tgkill/tkill only at this process and
// its threads with signals it handles; rt_sigaction never on the tick signal or a fatal default;
// arch_prctl only reads; prctl only its harmless options; mknod only FIFOs, sockets and files; ioctl
// only requests from a list (no interface, entropy or inode-flag ioctls); brk only grows.

enum kind {
    A_NONE, A_FD, A_DIRFD, A_PATH, A_IN, A_OUT, A_LEN, A_FLAGS, A_OFLAGS, A_MODE, A_INT, A_SIG, A_PID,
    A_ADDR, A_MLEN, A_PROT, A_MFLAGS, A_TIMESPEC, A_IOV, A_IOVCNT, A_SIGSET, A_SIGSETSIZE, A_SOCKADDR,
    A_SOCKLEN, A_SOCKLENP, A_DOMAIN, A_SOCKTYPE, A_LEVEL, A_OPTNAME, A_IOCTL, A_FCNTL, A_WHENCE,
    A_OFF, A_CLOCK, A_TIMER, A_SIGACTION, A_EPOLLOP, A_EPOLLEV, A_FUTEXOP, A_FUTEX, A_MSGHDR,
    A_ITIMERSPEC, A_ITIMERVAL, A_SIGEVENT, A_PRCTL, A_RLIMRES, A_WAIT, A_ADVICE, A_ARCHPRCTL,
    A_POLLFDS, A_FDSET, A_TIMEVAL, A_SIGALTSTACK,
};

struct call { int nr; const char *name; unsigned char arg[6]; };

#define C(name, ...) { SYS_##name, #name, { __VA_ARGS__ } }
static const struct call calls[] = {
    C(read, A_FD, A_OUT, A_LEN), C(write, A_FD, A_IN, A_LEN), C(open, A_PATH, A_OFLAGS, A_MODE),
    C(close, A_FD), C(stat, A_PATH, A_OUT), C(fstat, A_FD, A_OUT), C(lstat, A_PATH, A_OUT),
    C(poll, A_POLLFDS, A_INT, A_INT), C(lseek, A_FD, A_OFF, A_WHENCE),
    C(mmap, A_ADDR, A_MLEN, A_PROT, A_MFLAGS, A_FD, A_OFF), C(mprotect, A_ADDR, A_MLEN, A_PROT),
    C(munmap, A_ADDR, A_MLEN), C(brk, A_ADDR), C(rt_sigaction, A_SIG, A_SIGACTION, A_OUT, A_SIGSETSIZE),
    C(rt_sigprocmask, A_INT, A_SIGSET, A_OUT, A_SIGSETSIZE), C(ioctl, A_FD, A_IOCTL, A_OUT),
    C(pread64, A_FD, A_OUT, A_LEN, A_OFF), C(pwrite64, A_FD, A_IN, A_LEN, A_OFF),
    C(readv, A_FD, A_IOV, A_IOVCNT), C(writev, A_FD, A_IOV, A_IOVCNT), C(access, A_PATH, A_INT),
    C(pipe, A_OUT), C(select, A_INT, A_FDSET, A_FDSET, A_FDSET, A_TIMEVAL), C(sched_yield),
    C(mremap, A_ADDR, A_MLEN, A_MLEN, A_FLAGS, A_ADDR), C(msync, A_ADDR, A_MLEN, A_FLAGS),
    C(mincore, A_ADDR, A_MLEN, A_OUT), C(madvise, A_ADDR, A_MLEN, A_ADVICE),
    C(dup, A_FD), C(dup2, A_FD, A_FD), C(pause), C(nanosleep, A_TIMESPEC, A_OUT),
    C(getitimer, A_INT, A_OUT), C(alarm, A_INT), C(setitimer, A_INT, A_ITIMERVAL, A_OUT),
    C(getpid), C(sendfile, A_FD, A_FD, A_OUT, A_LEN), C(socket, A_DOMAIN, A_SOCKTYPE, A_INT),
    C(connect, A_FD, A_SOCKADDR, A_SOCKLEN), C(accept, A_FD, A_OUT, A_SOCKLENP),
    C(sendto, A_FD, A_IN, A_LEN, A_FLAGS, A_SOCKADDR, A_SOCKLEN),
    C(recvfrom, A_FD, A_OUT, A_LEN, A_FLAGS, A_OUT, A_SOCKLENP), C(sendmsg, A_FD, A_MSGHDR, A_FLAGS),
    C(recvmsg, A_FD, A_MSGHDR, A_FLAGS), C(shutdown, A_FD, A_INT), C(bind, A_FD, A_SOCKADDR, A_SOCKLEN),
    C(listen, A_FD, A_INT), C(getsockname, A_FD, A_OUT, A_SOCKLENP), C(getpeername, A_FD, A_OUT, A_SOCKLENP),
    C(socketpair, A_DOMAIN, A_SOCKTYPE, A_INT, A_OUT),
    C(setsockopt, A_FD, A_LEVEL, A_OPTNAME, A_IN, A_SOCKLEN), C(getsockopt, A_FD, A_LEVEL, A_OPTNAME, A_OUT, A_SOCKLENP),
    C(wait4, A_PID, A_OUT, A_WAIT, A_OUT), C(kill, A_PID, A_SIG), C(uname, A_OUT),
    C(fcntl, A_FD, A_FCNTL, A_INT), C(flock, A_FD, A_INT), C(fsync, A_FD), C(fdatasync, A_FD),
    C(truncate, A_PATH, A_OFF), C(ftruncate, A_FD, A_OFF), C(getdents, A_FD, A_OUT, A_LEN),
    C(getcwd, A_OUT, A_LEN), C(chdir, A_PATH), C(fchdir, A_FD), C(rename, A_PATH, A_PATH),
    C(mkdir, A_PATH, A_MODE), C(rmdir, A_PATH), C(creat, A_PATH, A_MODE), C(link, A_PATH, A_PATH),
    C(unlink, A_PATH), C(symlink, A_PATH, A_PATH), C(readlink, A_PATH, A_OUT, A_LEN),
    C(chmod, A_PATH, A_MODE), C(fchmod, A_FD, A_MODE), C(umask, A_MODE),
    C(gettimeofday, A_OUT, A_OUT), C(getrlimit, A_RLIMRES, A_OUT), C(getrusage, A_INT, A_OUT),
    C(sysinfo, A_OUT), C(times, A_OUT), C(getuid), C(getgid), C(geteuid), C(getegid), C(getppid),
    C(getpgrp), C(getgroups, A_INT, A_OUT), C(getresuid, A_OUT, A_OUT, A_OUT),
    C(getresgid, A_OUT, A_OUT, A_OUT), C(getpgid, A_PID), C(getsid, A_PID),
    C(rt_sigpending, A_OUT, A_SIGSETSIZE), C(rt_sigtimedwait, A_SIGSET, A_OUT, A_TIMESPEC, A_SIGSETSIZE),
    C(rt_sigqueueinfo, A_PID, A_SIG, A_IN), C(rt_sigsuspend, A_SIGSET, A_SIGSETSIZE),
    C(sigaltstack, A_SIGALTSTACK, A_OUT), C(utime, A_PATH, A_IN), C(mknod, A_PATH, A_MODE, A_INT),
    C(statfs, A_PATH, A_OUT), C(fstatfs, A_FD, A_OUT), C(getpriority, A_INT, A_PID),
    C(setpriority, A_INT, A_PID, A_INT), C(sched_getparam, A_PID, A_OUT),
    C(sched_getscheduler, A_PID), C(sched_get_priority_max, A_INT), C(sched_get_priority_min, A_INT),
    C(sched_rr_get_interval, A_PID, A_OUT), C(mlock, A_ADDR, A_MLEN), C(munlock, A_ADDR, A_MLEN),
    C(munlockall), C(prctl, A_PRCTL, A_INT, A_OUT, A_INT, A_INT), C(arch_prctl, A_ARCHPRCTL, A_OUT),
    C(sync), C(gettid), C(readahead, A_FD, A_OFF, A_LEN),
    C(setxattr, A_PATH, A_PATH, A_IN, A_LEN, A_FLAGS), C(getxattr, A_PATH, A_PATH, A_OUT, A_LEN),
    C(listxattr, A_PATH, A_OUT, A_LEN), C(removexattr, A_PATH, A_PATH), C(fgetxattr, A_FD, A_PATH, A_OUT, A_LEN),
    C(tkill, A_PID, A_SIG), C(time, A_OUT), C(futex, A_FUTEX, A_FUTEXOP, A_INT, A_TIMESPEC, A_FUTEX, A_INT),
    C(sched_setaffinity, A_PID, A_LEN, A_IN), C(sched_getaffinity, A_PID, A_LEN, A_OUT),
    C(getdents64, A_FD, A_OUT, A_LEN), C(set_tid_address, A_OUT), C(fadvise64, A_FD, A_OFF, A_LEN, A_ADVICE),
    C(timer_create, A_CLOCK, A_SIGEVENT, A_OUT), C(timer_settime, A_TIMER, A_FLAGS, A_ITIMERSPEC, A_OUT),
    C(timer_gettime, A_TIMER, A_OUT), C(timer_getoverrun, A_TIMER), C(timer_delete, A_TIMER),
    C(clock_gettime, A_CLOCK, A_OUT), C(clock_getres, A_CLOCK, A_OUT),
    C(clock_nanosleep, A_CLOCK, A_FLAGS, A_TIMESPEC, A_OUT),
    C(epoll_wait, A_FD, A_OUT, A_INT, A_INT), C(epoll_ctl, A_FD, A_EPOLLOP, A_FD, A_EPOLLEV),
    C(tgkill, A_PID, A_PID, A_SIG), C(utimes, A_PATH, A_IN), C(waitid, A_INT, A_PID, A_OUT, A_WAIT, A_OUT),
    C(inotify_init), C(inotify_add_watch, A_FD, A_PATH, A_FLAGS), C(inotify_rm_watch, A_FD, A_INT),
    C(openat, A_DIRFD, A_PATH, A_OFLAGS, A_MODE), C(mkdirat, A_DIRFD, A_PATH, A_MODE),
    C(mknodat, A_DIRFD, A_PATH, A_MODE, A_INT), C(fchownat, A_DIRFD, A_PATH, A_INT, A_INT, A_FLAGS),
    C(newfstatat, A_DIRFD, A_PATH, A_OUT, A_FLAGS), C(unlinkat, A_DIRFD, A_PATH, A_FLAGS),
    C(renameat, A_DIRFD, A_PATH, A_DIRFD, A_PATH), C(linkat, A_DIRFD, A_PATH, A_DIRFD, A_PATH, A_FLAGS),
    C(symlinkat, A_PATH, A_DIRFD, A_PATH), C(readlinkat, A_DIRFD, A_PATH, A_OUT, A_LEN),
    C(fchmodat, A_DIRFD, A_PATH, A_MODE), C(faccessat, A_DIRFD, A_PATH, A_INT),
    C(pselect6, A_INT, A_FDSET, A_FDSET, A_FDSET, A_TIMESPEC, A_NONE), C(ppoll, A_POLLFDS, A_INT, A_TIMESPEC, A_SIGSET, A_SIGSETSIZE),
    C(splice, A_FD, A_OUT, A_FD, A_OUT, A_LEN, A_FLAGS), C(tee, A_FD, A_FD, A_LEN, A_FLAGS),
    C(vmsplice, A_FD, A_IOV, A_IOVCNT, A_FLAGS), C(utimensat, A_DIRFD, A_PATH, A_IN, A_FLAGS),
    C(epoll_pwait, A_FD, A_OUT, A_INT, A_INT, A_SIGSET, A_SIGSETSIZE), C(signalfd, A_FD, A_SIGSET, A_SIGSETSIZE),
    C(timerfd_create, A_CLOCK, A_FLAGS), C(eventfd, A_INT), C(fallocate, A_FD, A_INT, A_OFF, A_LEN),
    C(timerfd_settime, A_FD, A_FLAGS, A_ITIMERSPEC, A_OUT), C(timerfd_gettime, A_FD, A_OUT),
    C(accept4, A_FD, A_OUT, A_SOCKLENP, A_FLAGS), C(signalfd4, A_FD, A_SIGSET, A_SIGSETSIZE, A_FLAGS),
    C(eventfd2, A_INT, A_FLAGS), C(epoll_create1, A_FLAGS), C(epoll_create, A_INT), C(dup3, A_FD, A_FD, A_FLAGS),
    C(pipe2, A_OUT, A_FLAGS), C(inotify_init1, A_FLAGS), C(preadv, A_FD, A_IOV, A_IOVCNT, A_OFF),
    C(pwritev, A_FD, A_IOV, A_IOVCNT, A_OFF), C(rt_tgsigqueueinfo, A_PID, A_PID, A_SIG, A_IN),
    C(recvmmsg, A_FD, A_MSGHDR, A_INT, A_FLAGS, A_TIMESPEC), C(prlimit64, A_PID, A_RLIMRES, A_NONE, A_OUT),
    C(syncfs, A_FD), C(sendmmsg, A_FD, A_MSGHDR, A_INT, A_FLAGS), C(getcpu, A_OUT, A_OUT, A_OUT),
    C(kcmp, A_PID, A_PID, A_INT, A_FD, A_FD), C(renameat2, A_DIRFD, A_PATH, A_DIRFD, A_PATH, A_FLAGS),
    C(getrandom, A_OUT, A_LEN, A_FLAGS), C(memfd_create, A_PATH, A_FLAGS), C(membarrier, A_INT, A_FLAGS, A_INT),
    C(mlock2, A_ADDR, A_MLEN, A_FLAGS), C(copy_file_range, A_FD, A_OUT, A_FD, A_OUT, A_LEN, A_FLAGS),
    C(preadv2, A_FD, A_IOV, A_IOVCNT, A_OFF, A_OFF, A_FLAGS), C(pwritev2, A_FD, A_IOV, A_IOVCNT, A_OFF, A_OFF, A_FLAGS),
    C(statx, A_DIRFD, A_PATH, A_FLAGS, A_FLAGS, A_OUT), C(rseq, A_OUT, A_LEN, A_FLAGS, A_INT),
    C(pidfd_open, A_PID, A_FLAGS), C(close_range, A_FD, A_FD, A_FLAGS), C(openat2, A_DIRFD, A_PATH, A_IN, A_LEN),
    C(faccessat2, A_DIRFD, A_PATH, A_INT, A_FLAGS), C(epoll_pwait2, A_FD, A_OUT, A_INT, A_TIMESPEC, A_SIGSET, A_SIGSETSIZE),
    C(futex_waitv, A_IN, A_INT, A_FLAGS, A_TIMESPEC, A_CLOCK), C(sched_getattr, A_PID, A_OUT, A_LEN, A_FLAGS),
    C(get_robust_list, A_PID, A_OUT, A_OUT),
    C(set_robust_list, A_OUT, A_LEN), C(ioprio_get, A_INT, A_PID), C(name_to_handle_at, A_DIRFD, A_PATH, A_OUT, A_OUT, A_FLAGS),
};
#define NCALLS (sizeof calls / sizeof calls[0])

// ---- random numbers (splitmix64: one 64-bit state per thread, so a seed repeats a thread's calls)
static uint64_t next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static uint64_t below(uint64_t *state, uint64_t n) { return n ? next(state) % n : 0; }
static int chance(uint64_t *state, int percent) { return (int)below(state, 100) < percent; }
static long pick(uint64_t *r, const long *values, size_t n) { return values[below(r, n)]; }
#define PICK(r, ...) ({ static const long v_[] = { __VA_ARGS__ }; pick(r, v_, sizeof v_ / sizeof v_[0]); })

// ---- shared state
struct worker {
    pthread_t thread;
    volatile pid_t tid;
    uint64_t rng;
    unsigned char *data;                // DATA_SIZE, guard pages before and after
    unsigned char *structs;             // 6 * STRUCT_SLOT, guard page after
    unsigned char *altstack;            // a sigaltstack it may install
    volatile unsigned long calls, signals;
    volatile long nr, args[6];          // the call in progress: a hang or panic names it
    volatile long index;                // which call of this thread it is (with the seed: reproducible)
    timer_t tick;                       // its tick's timer, which the fuzzed timer calls leave alone
};

static struct worker workers[MAX_THREADS];
static int nthreads;
static const char *scratch;
static unsigned char *arena, *readonly_page, *crossing, *unmapped_page;
static volatile int pool[POOL_SIZE];   // descriptors the workers made; -1 empty
static unsigned short bound_port[2];    // its own listeners' ports (IPv4, IPv6): the only ones it connects to
static volatile unsigned long errno_count[160], distinct_calls[(NCALLS + 63) / 64];
static volatile unsigned long unknown_calls;
static pid_t self;
static int trace;

// A name in the scratch directory: existing files, directories, links (loops and a chain), missing
// names, a name past NAME_MAX and a path past PATH_MAX, and the /proc files a program reads.
static const char *names[] = {
    "f0", "f1", "f2", "d0", "d1", "d0/f0", "d0/d1", "d0/d1/f0", "l-file", "l-dir", "loop-a", "loop-b",
    "chain-0", "missing", "d0/missing/f0", "f0/x", ".", "d0/.", "", "sock", "fifo", "d1/f3",
    // Outside it only /proc/self files: even root cannot change them (no /dev/null, whose mode root
    // could change, no /proc/meminfo, whose mode root can change for the whole machine).
    "/proc/self/status", "/proc/self/maps", "/proc/self/stat", "/proc/self/cmdline", "/proc/self/fd",
};
#define SCRATCH_NAMES 22                // names[0..21] are relative to the scratch directory
static char long_name[300], long_path[5000], absolute[SCRATCH_NAMES][600];

static int is_pool(int fd)
{
    for (int i = 0; i < POOL_SIZE; i++) if (pool[i] == fd) return 1;
    return 0;
}

// ---- argument generators
static long gen_fd(struct worker *w)
{
    uint64_t *r = &w->rng;
    switch (below(r, 10))
    {
        case 0: return -1;
        case 1: return chance(r, 50) ? 1 << 20 : 0x7fffffff;
        case 2: return 3 + (long)below(r, 61);
        default:
            for (int tries = 0; tries < 8; tries++)
            {
                int fd = pool[below(r, POOL_SIZE)];
                if (fd >= 3) return fd;
            }
            return -1;
    }
}

static long gen_len(uint64_t *r)
{
    switch (below(r, 9))
    {
        case 0: return 0;
        case 1: return 1 + (long)below(r, 16);
        case 2: case 3: return 1 + (long)below(r, 512);
        case 4: return PAGE;
        case 5: return (long)below(r, DATA_SIZE + 1);
        case 6: return 1L << (32 + below(r, 30));   // huge: runs past every buffer
        case 7: return -1;
        default: return (long)below(r, 70000);
    }
}

// A pointer the kernel may write to: inside this thread's data buffer (guarded), or invalid.
static long gen_ptr(struct worker *w, int readable_page_ok)
{
    uint64_t *r = &w->rng;
    switch (below(r, 12))
    {
        case 0: return 0;
        case 1: return (long)unmapped_page + (long)below(r, PAGE);
        case 2: return (long)(0xffff800000000000ULL + below(r, 1UL << 40));
        case 3: return (long)(crossing - below(r, 64));
        case 4: return readable_page_ok ? (long)readonly_page + (long)below(r, PAGE) : (long)0x8000000000000000ULL;
        case 5: return (long)(w->data + DATA_SIZE - 1 - below(r, 64));
        case 6: return (long)(0x0000800000000000ULL - 8);  // the last user bytes before the hole
        case 7: return (long)(arena + below(r, ARENA_SIZE));  // whatever the fuzzed mmaps left there
        default: return (long)(w->data + (below(r, DATA_SIZE / 2) & ~7UL));
    }
}

// A pointer to a structure the kernel reads that every kernel refuses: never the bytes of a buffer,
// which hold what earlier calls wrote there (its own addresses, a sigset blocking the tick, a
// sockaddr naming some other host).
static long bad_ptr(uint64_t *r)
{
    switch (below(r, 4))
    {
        case 0: return 0;
        case 1: return (long)unmapped_page;
        case 2: return (long)0xffff800000002000ULL;
        default: return (long)0x8000000000000000ULL;
    }
}

static const char *gen_name(uint64_t *r, int *slot)
{
    unsigned n = (unsigned)below(r, sizeof names / sizeof names[0] + 3);
    *slot = -1;
    if (n == sizeof names / sizeof names[0]) return long_name;
    if (n == sizeof names / sizeof names[0] + 1) return long_path;
    if (n >= sizeof names / sizeof names[0]) n = (unsigned)below(r, SCRATCH_NAMES);
    if (n < SCRATCH_NAMES) *slot = (int)n;
    return names[n];
}

static long gen_path(struct worker *w)
{
    uint64_t *r = &w->rng;
    // A bad pointer, never bytes it holds: read() may have filled them with a "../" that leaves the directory.
    if (chance(r, 8)) return bad_ptr(r);
    int slot;
    const char *name = gen_name(r, &slot);
    if (slot >= 0 && chance(r, 30)) return (long)absolute[slot];
    return (long)name;
}

static long gen_flags(uint64_t *r)
{
    switch (below(r, 6))
    {
        case 0: return 0;
        case 1: return 1L << below(r, 32);
        case 2: return (long)(uint32_t)next(r);
        default: return (long)below(r, 16) | ((long)below(r, 2) << 11) | ((long)below(r, 2) << 19);
    }
}

static long gen_oflags(uint64_t *r)
{
    static const long bits[] = { O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_NONBLOCK,
        O_DIRECTORY, O_NOFOLLOW, O_CLOEXEC, O_PATH, O_TMPFILE, O_NOATIME, O_DSYNC, O_SYNC, O_NOCTTY, O_DIRECT };
    if (chance(r, 5)) return (long)(uint32_t)next(r);
    long flags = 0;
    int n = (int)below(r, 4);
    for (int i = 0; i < n; i++) flags |= bits[below(r, sizeof bits / sizeof bits[0])];
    return flags;
}

static const int safe_signals[] = { SIGUSR1, SIGUSR2, SIGALRM, SIGPROF, SIGVTALRM, SIGIO, SIGCHLD,
    SIGURG, SIGWINCH, SIGPIPE, SIGXFSZ, SIGCONT };
#define SAFE_SIGNALS (sizeof safe_signals / sizeof safe_signals[0])

static long gen_sig(uint64_t *r)
{
    switch (below(r, 10))
    {
        case 0: return 0;
        case 1: return chance(r, 50) ? 65 : -1;             // EINVAL
        case 2: return SIGRTMIN + 3 + (long)below(r, 6);
        default: return safe_signals[below(r, SAFE_SIGNALS)];
    }
}

// Only this process and its own threads, or a pid no machine has (pid_max is at most 2^22).
static long gen_pid(struct worker *w)
{
    uint64_t *r = &w->rng;
    switch (below(r, 5))
    {
        case 0: return 0;
        case 1: return self;
        case 2: return 0x3fffffff;
        default: return workers[below(r, (uint64_t)nthreads)].tid;
    }
}

// An address for the memory calls: inside the arena, or one every kernel refuses whatever the length.
static long gen_addr(uint64_t *r)
{
    switch (below(r, 8))
    {
        case 0: return 0;
        case 1: return (long)(0xffff800000000000ULL + (below(r, 1UL << 30) & ~(PAGE - 1)));
        case 2: return (long)(arena + below(r, ARENA_SIZE));               // unaligned: EINVAL
        default: return (long)(arena + (below(r, ARENA_SIZE / PAGE) * PAGE));
    }
}

// A length that keeps [addr, addr+len) inside the arena. Anywhere else only lengths that cannot
// reach mapped memory: mprotect and madvise change every mapping up to the first hole and only then
// fail, so a huge length from a mapped (or null) start would reach the vDSO or the whole program.
static long gen_mlen(uint64_t *r, long addr)
{
    unsigned char *a = (unsigned char *)addr;
    if (a >= arena && a < arena + ARENA_SIZE)
    {
        unsigned long room = (unsigned long)(arena + ARENA_SIZE - a);
        unsigned long len = chance(r, 70) ? PAGE * (1 + below(r, 8)) : below(r, room + 1);
        return (long)(len > room ? room : len);
    }
    if ((uint64_t)addr >= 0xffff800000000000ULL && chance(r, 50)) return 1L << (48 + below(r, 14));
    switch (below(r, 3))
    {
        case 0: return 0;
        case 1: return -1;
        default: return (long)PAGE;
    }
}

static long gen_mflags(uint64_t *r)
{
    static const long sharing[] = { MAP_PRIVATE, MAP_SHARED, MAP_SHARED_VALIDATE, 0 };
    static const long bits[] = { MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_NORESERVE, MAP_POPULATE,
        MAP_GROWSDOWN, MAP_STACK, MAP_LOCKED, MAP_NONBLOCK, MAP_HUGETLB, MAP_32BIT };
    long flags = sharing[below(r, 4)];
    int n = (int)below(r, 4);
    for (int i = 0; i < n; i++) flags |= bits[below(r, sizeof bits / sizeof bits[0])];
    if (chance(r, 60)) flags |= MAP_ANONYMOUS;
    return flags;
}

static long gen_off(uint64_t *r)
{
    switch (below(r, 6))
    {
        case 0: return 0;
        case 1: return (long)below(r, 4 * PAGE);
        case 2: return (long)(below(r, 64) * PAGE);
        case 3: return -1 - (long)below(r, 100);
        case 4: return 1L << (20 + below(r, 43));
        default: return (long)below(r, 1 << 20);
    }
}

static long gen_int(uint64_t *r)
{
    switch (below(r, 6))
    {
        case 0: return 0;
        case 1: return 1;
        case 2: return -1;
        case 3: return (long)below(r, 16);
        case 4: return (long)(int32_t)next(r);
        default: return (long)below(r, 256);
    }
}

// A sigset that never blocks or waits for the tick (which keeps blocking calls short).
static long gen_sigset(struct worker *w, unsigned char *slot)
{
    uint64_t *r = &w->rng;
    if (chance(r, 10)) return bad_ptr(r);
    uint64_t set = chance(r, 50) ? next(r) : (1ULL << (safe_signals[below(r, SAFE_SIGNALS)] - 1));
    set &= ~(1ULL << (TICK_SIGNAL - 1));
    memcpy(slot, &set, 8);
    return (long)slot;
}

// The signal return trampoline a raw rt_sigaction needs (glibc's __restore_rt is not exported).
void fuzz_restore_rt(void);
__asm__(".text\n.align 16\n.globl fuzz_restore_rt\nfuzz_restore_rt:\n\tmov $15, %eax\n\tsyscall\n");

struct kernel_sigaction { void *handler; unsigned long flags; void *restorer; uint64_t mask; };

static void on_signal(int signal)
{
    (void)signal;
    int saved = errno;
    pid_t tid = (pid_t)syscall(SYS_gettid);
    for (int i = 0; i < nthreads; i++) if (workers[i].tid == tid) { workers[i].signals++; break; }
    errno = saved;
}

// A fault in the fuzzer itself (a call that changed its memory or its signal state under it): say
// where and during which call, then stop with status 3. Not a kernel bug until shown to be one.
static int describe(struct worker *w, int t, char *text, size_t size);
static void say(const char *format, ...);
static void on_fault(int signal, siginfo_t *info, void *context)
{
    ucontext_t *u = context;
    pid_t tid = (pid_t)syscall(SYS_gettid);
    char text[256] = "main thread";
    for (int i = 0; i < nthreads; i++) if (workers[i].tid == tid) describe(&workers[i], i, text, sizeof text);
    say("fuzz: fault signal %d code %d address %p at pc %llx during %s", signal, info->si_code, info->si_addr,
        (unsigned long long)u->uc_mcontext.gregs[REG_RIP], text);
    if (getenv("FUZZ_MAPS"))
    {
        char maps[65536];
        int fd = open("/proc/self/maps", O_RDONLY);
        long n = fd >= 0 ? read(fd, maps, sizeof maps) : 0;
        if (n > 0) write(1, maps, (size_t)n);
        say("fuzz: rsp %llx rbp %llx", (unsigned long long)u->uc_mcontext.gregs[REG_RSP], (unsigned long long)u->uc_mcontext.gregs[REG_RBP]);
    }
    _exit(3);
}

// A handler (this one, or SIG_IGN) for a signal it handles; SA_RESTORER always (x86-64 needs it),
// never SA_RESETHAND (the next one would kill it).
static long gen_sigaction(struct worker *w, unsigned char *slot)
{
    uint64_t *r = &w->rng;
    if (chance(r, 15)) return chance(r, 50) ? 0 : bad_ptr(r);
    struct kernel_sigaction act = {
        .handler = chance(r, 75) ? (void *)on_signal : (void *)SIG_IGN,
        .flags = 0x04000000UL | (chance(r, 40) ? SA_RESTART : 0) | (chance(r, 30) ? SA_SIGINFO : 0) |
            (chance(r, 20) ? SA_NODEFER : 0) | (chance(r, 20) ? SA_ONSTACK : 0),
        .restorer = (void *)fuzz_restore_rt,
        .mask = next(r) & ~(1ULL << (TICK_SIGNAL - 1)),
    };
    memcpy(slot, &act, sizeof act);
    return (long)slot;
}

static long gen_timespec(struct worker *w, unsigned char *slot)
{
    uint64_t *r = &w->rng;
    struct timespec t = { 0, 0 };
    switch (below(r, 8))
    {
        case 0: return 0;
        case 1: return bad_ptr(r);
        case 2: t.tv_nsec = 1000000000L + (long)below(r, 1000); break;   // EINVAL
        case 3: t.tv_sec = -1; break;
        case 4: t.tv_sec = 1L << 40; break;                              // forever (a signal ends it)
        default: t.tv_nsec = (long)below(r, 20000000); break;
    }
    memcpy(slot, &t, sizeof t);
    return (long)slot;
}

static long gen_iov(struct worker *w, unsigned char *slot)
{
    uint64_t *r = &w->rng;
    if (chance(r, 10)) return bad_ptr(r);
    struct iovec *v = (struct iovec *)slot;
    for (int i = 0; i < 8; i++)
    {
        v[i].iov_base = (void *)(chance(r, 80) ? (long)(w->data + below(r, DATA_SIZE / 2)) : gen_ptr(w, 0));
        v[i].iov_len = chance(r, 85) ? below(r, 4096) : (size_t)gen_len(r);
    }
    return (long)slot;
}

// Addresses it may send to or connect to: its own listeners on loopback, a unix name in the
// scratch directory, an abstract name of its own, or a family no one knows (never another host).
static long gen_sockaddr(struct worker *w, unsigned char *slot)
{
    uint64_t *r = &w->rng;
    memset(slot, 0, 128);
    switch (below(r, 7))
    {
        case 0: return 0;
        case 1: return bad_ptr(r);
        case 2:
        {
            struct sockaddr_in *in = (struct sockaddr_in *)slot;
            in->sin_family = AF_INET;
            in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            in->sin_port = chance(r, 70) ? htons(bound_port[0]) : 0;
            break;
        }
        case 3:
        {
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)slot;
            in6->sin6_family = AF_INET6;
            in6->sin6_addr = in6addr_loopback;
            in6->sin6_port = chance(r, 70) ? htons(bound_port[1]) : 0;
            break;
        }
        case 4:
        {
            struct sockaddr_un *un = (struct sockaddr_un *)slot;
            un->sun_family = AF_UNIX;
            strcpy(un->sun_path, chance(r, 50) ? "sock" : "d0/sock");
            break;
        }
        case 5:
        {
            struct sockaddr_un *un = (struct sockaddr_un *)slot;
            un->sun_family = AF_UNIX;
            memcpy(un->sun_path, "\0libra-fuzz-", 12);
            un->sun_path[12] = (char)('0' + below(r, 4));
            break;
        }
        default:
            for (int i = 2; i < 32; i++) slot[i] = (unsigned char)next(r);
            *(uint16_t *)slot = chance(r, 50) ? AF_UNSPEC : (uint16_t)(200 + below(r, 1000));
            break;
    }
    return (long)slot;
}

static long gen_socklen(uint64_t *r)
{
    static const long lens[] = { 0, 1, 2, 8, 16, 28, 110, 128, -1, 4096 };
    return lens[below(r, sizeof lens / sizeof lens[0])];
}

static long gen_msghdr(struct worker *w, unsigned char *slot, unsigned char *spare)
{
    uint64_t *r = &w->rng;
    if (chance(r, 10)) return bad_ptr(r);
    struct msghdr *m = (struct msghdr *)slot;
    memset(m, 0, sizeof *m);
    m->msg_name = chance(r, 60) ? 0 : (void *)gen_sockaddr(w, spare);
    m->msg_namelen = (socklen_t)gen_socklen(r);
    m->msg_iov = (struct iovec *)gen_iov(w, slot + 64);
    m->msg_iovlen = below(r, 9);
    if (chance(r, 30))
    {
        // SCM_RIGHTS with descriptors of its own (or junk), or a control block that lies about its length.
        unsigned char *control = slot + 64 + 8 * sizeof(struct iovec);
        struct cmsghdr *c = (struct cmsghdr *)control;
        c->cmsg_len = chance(r, 80) ? CMSG_LEN(8) : (size_t)gen_len(r);
        c->cmsg_level = chance(r, 80) ? SOL_SOCKET : (int)below(r, 300);
        c->cmsg_type = chance(r, 80) ? SCM_RIGHTS : (int)below(r, 8);
        int fds[2] = { (int)gen_fd(w), (int)gen_fd(w) };
        memcpy(CMSG_DATA(c), fds, sizeof fds);
        m->msg_control = control;
        m->msg_controllen = chance(r, 80) ? CMSG_SPACE(8) : (size_t)below(r, 64);
    }
    m->msg_flags = (int)gen_flags(r);
    return (long)slot;
}

static long gen_pollfds(struct worker *w, unsigned char *slot)
{
    uint64_t *r = &w->rng;
    if (chance(r, 10)) return bad_ptr(r);
    struct pollfd *p = (struct pollfd *)slot;
    for (int i = 0; i < 16; i++)
    {
        p[i].fd = (int)gen_fd(w);
        p[i].events = (short)(chance(r, 70) ? (POLLIN | POLLOUT | (chance(r, 30) ? POLLPRI | POLLRDHUP : 0)) : next(r));
    }
    return (long)slot;
}

static long gen_fdset(struct worker *w, unsigned char *slot)
{
    uint64_t *r = &w->rng;
    if (chance(r, 30)) return 0;
    if (chance(r, 10)) return bad_ptr(r);
    memset(slot, 0, 128);
    for (int i = 0; i < 4; i++)
    {
        long fd = gen_fd(w);
        if (fd >= 0 && fd < 1024) slot[fd / 8] |= (unsigned char)(1 << (fd % 8));
    }
    return (long)slot;
}

static long gen_itimer(struct worker *w, unsigned char *slot, int timeval)
{
    uint64_t *r = &w->rng;
    if (chance(r, 10)) return bad_ptr(r);
    long v[4];
    long unit = timeval ? 1000000 : 1000000000;
    for (int i = 0; i < 4; i++)
    {
        switch (below(r, 5))
        {
            case 0: v[i] = 0; break;
            case 1: v[i] = -1; break;
            case 2: v[i] = i % 2 ? unit + 5 : (long)below(r, 3); break;      // an invalid fraction or seconds
            default: v[i] = i % 2 ? (long)(unit / 1000 + below(r, unit / 20)) : 0; break;  // 1-50 ms
        }
    }
    memcpy(slot, v, sizeof v);
    return (long)slot;
}

static long gen_sigevent(struct worker *w, unsigned char *slot)
{
    uint64_t *r = &w->rng;
    if (chance(r, 15)) return chance(r, 50) ? 0 : bad_ptr(r);
    struct sigevent e;
    memset(&e, 0, sizeof e);
    e.sigev_signo = (int)gen_sig(r);
    if (e.sigev_signo <= 0 || e.sigev_signo > 64) e.sigev_signo = SIGUSR1;
    switch (below(r, 4))
    {
        case 0: e.sigev_notify = SIGEV_NONE; break;
        case 1: e.sigev_notify = SIGEV_THREAD_ID; e._sigev_un._tid = (int)gen_pid(w); break;
        case 2: e.sigev_notify = (int)below(r, 16); break;
        default: e.sigev_notify = SIGEV_SIGNAL; break;
    }
    memcpy(slot, &e, sizeof e);
    return (long)slot;
}

// The kinds that are numbers, not pointers: where a kernel takes one as an address after all (prctl's
// arg2, a futex's val3...), it must not be the fuzzer's own image or heap.
static const unsigned char numeric[] = { A_LEN, A_FLAGS, A_OFLAGS, A_INT, A_OFF, A_WHENCE, A_CLOCK, A_TIMER,
    A_FCNTL, A_MODE, A_MFLAGS, A_PROT, A_EPOLLOP, A_FUTEXOP, A_SIGSETSIZE, A_IOVCNT, A_SOCKLEN, A_LEVEL,
    A_OPTNAME, A_RLIMRES, A_WAIT };
extern char __executable_start[];
static unsigned long image_end;         // the initial program break and 1 MiB more

static long off_image(long value)
{
    if ((unsigned long)value >= (unsigned long)__executable_start && (unsigned long)value < image_end) return value | (1L << 40);
    return value;
}

static long gen_arg(struct worker *w, int kind, int i, long *args)
{
    uint64_t *r = &w->rng;
    unsigned char *slot = w->structs + i * STRUCT_SLOT;
    unsigned char *spare = w->structs + 6 * STRUCT_SLOT - 128;
    // Now and then anything at all, where no value can reach past the run (not for descriptors,
    // pointers, addresses, signals, pids, paths, socket families or ioctl requests).
    if (memchr(numeric, kind, sizeof numeric) && chance(r, 2)) return (long)next(r);
    switch (kind)
    {
        case A_NONE: return 0;
        case A_FD: return gen_fd(w);
        case A_DIRFD: return chance(r, 50) ? AT_FDCWD : gen_fd(w);
        case A_PATH: return gen_path(w);
        case A_IN: case A_OUT:
            if (kind == A_IN && chance(r, 50)) for (int k = 0; k < 64; k++) w->data[k] = (unsigned char)next(r);
            return gen_ptr(w, kind == A_IN);
        case A_LEN: return gen_len(r);
        case A_FLAGS: return gen_flags(r);
        case A_OFLAGS: return gen_oflags(r);
        case A_MODE: return chance(r, 80) ? (long)below(r, 01000) : (long)below(r, 0200000);
        case A_INT: return gen_int(r);
        case A_SIG: return gen_sig(r);
        case A_PID: return gen_pid(w);
        case A_ADDR: return gen_addr(r);
        case A_MLEN: return gen_mlen(r, i > 0 ? args[i - 1] : 0);
        case A_PROT: return chance(r, 90) ? (long)below(r, 8) : (long)(uint32_t)next(r);
        case A_MFLAGS: return gen_mflags(r);
        case A_TIMESPEC: return gen_timespec(w, slot);
        case A_IOV: return gen_iov(w, slot);
        case A_IOVCNT: return chance(r, 90) ? (long)below(r, 9) : gen_int(r);
        case A_SIGSET: return gen_sigset(w, slot);
        case A_SIGSETSIZE: return chance(r, 90) ? 8 : gen_int(r);
        case A_SOCKADDR: return gen_sockaddr(w, slot);
        case A_SOCKLEN: return gen_socklen(r);
        case A_SOCKLENP:
        {
            if (chance(r, 15)) return bad_ptr(r);
            int len = (int)gen_socklen(r);
            memcpy(slot, &len, 4);
            return (long)slot;
        }
        case A_DOMAIN: return chance(r, 90) ? PICK(r, AF_UNIX, AF_INET, AF_INET6) : PICK(r, -1, 0, 4242, AF_MAX);
        case A_SOCKTYPE: return PICK(r, SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_STREAM | SOCK_NONBLOCK,
            SOCK_DGRAM | SOCK_CLOEXEC, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, 77);
        case A_LEVEL: return PICK(r, SOL_SOCKET, SOL_SOCKET, IPPROTO_TCP, IPPROTO_IP, IPPROTO_IPV6, 0xdead);
        case A_OPTNAME:
            return PICK(r, SO_REUSEADDR, SO_KEEPALIVE, SO_SNDBUF, SO_RCVBUF, SO_LINGER, SO_RCVTIMEO, SO_SNDTIMEO,
                SO_ERROR, SO_TYPE, SO_REUSEPORT, SO_PASSCRED, SO_PEERCRED, SO_RCVLOWAT, SO_ACCEPTCONN,
                TCP_NODELAY, TCP_MAXSEG, TCP_CORK, TCP_INFO, IP_TOS, IP_TTL, IPV6_V6ONLY, 9999);
        case A_IOCTL:
            // No interface (0x89xx), entropy ('R') or inode-flag ioctls: as root they change the host.
            return PICK(r, FIONREAD, FIONBIO, FIOCLEX, FIONCLEX, FIOASYNC, TCGETS, TIOCGWINSZ, TIOCOUTQ, 0x80086601,
                0x8905 /* SIOCATMARK */, 0x8903 /* FIOGETOWN */, 0xee01, 0x4004ee02);
        case A_FCNTL:
            return PICK(r, F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_GETLK, F_SETLK, F_SETLKW,
                F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW, F_GETOWN, F_SETOWN, F_GETSIG, F_SETSIG, F_GETPIPE_SZ,
                F_SETPIPE_SZ, F_ADD_SEALS, F_GET_SEALS, F_NOTIFY, F_GETLEASE, F_SETLEASE, 9999);
        case A_WHENCE: return chance(r, 90) ? (long)below(r, 5) : gen_int(r);
        case A_OFF: return gen_off(r);
        case A_CLOCK: return chance(r, 85) ? (long)below(r, 12) : gen_int(r);
        case A_TIMER: return chance(r, 80) ? nthreads + (long)below(r, 8) : gen_int(r);  // not a tick's timer
        case A_SIGACTION: return gen_sigaction(w, slot);
        case A_EPOLLOP: return chance(r, 90) ? 1 + (long)below(r, 3) : gen_int(r);
        case A_EPOLLEV:
        {
            if (chance(r, 10)) return bad_ptr(r);
            struct epoll_event e = { .events = chance(r, 70) ? (uint32_t)(EPOLLIN | EPOLLOUT | (chance(r, 30) ? EPOLLET : 0) |
                (chance(r, 20) ? EPOLLONESHOT : 0)) : (uint32_t)next(r), .data.u64 = next(r) };
            memcpy(slot, &e, sizeof e);
            return (long)slot;
        }
        case A_FUTEXOP:
            return (chance(r, 90) ? (long)below(r, 14) : gen_int(r)) | (chance(r, 50) ? FUTEX_PRIVATE_FLAG : 0) |
                (chance(r, 10) ? FUTEX_CLOCK_REALTIME : 0);
        case A_FUTEX: return chance(r, 85) ? (long)(w->data + below(r, 64) * 4) : gen_ptr(w, 1);
        case A_MSGHDR: return gen_msghdr(w, slot, spare);
        case A_ITIMERSPEC: return gen_itimer(w, slot, 0);
        case A_ITIMERVAL: return gen_itimer(w, slot, 1);
        case A_SIGEVENT: return gen_sigevent(w, slot);
        case A_PRCTL:
            // PR_GET_* and harmless PR_SET_* (name, dumpable, timer slack, no_new_privs, pdeathsig with a handled signal).
            return PICK(r, PR_GET_NAME, PR_SET_NAME, PR_GET_DUMPABLE, PR_SET_DUMPABLE, PR_GET_TIMERSLACK,
                PR_SET_TIMERSLACK, PR_GET_NO_NEW_PRIVS, PR_SET_NO_NEW_PRIVS, PR_GET_PDEATHSIG, PR_GET_SECCOMP,
                PR_GET_TID_ADDRESS, PR_GET_CHILD_SUBREAPER, PR_CAPBSET_READ, 100000);
        case A_RLIMRES: return chance(r, 90) ? (long)below(r, 16) : gen_int(r);
        case A_WAIT: return PICK(r, 0, WNOHANG, WEXITED | WNOHANG, WEXITED, __WALL, -1);
        case A_ADVICE:
            return chance(r, 90) ? PICK(r, MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTNEED,
                MADV_FREE, MADV_REMOVE, MADV_DONTFORK, MADV_DOFORK, MADV_MERGEABLE, MADV_HUGEPAGE, MADV_NOHUGEPAGE,
                MADV_DONTDUMP, MADV_COLD, MADV_PAGEOUT, MADV_POPULATE_READ, MADV_POPULATE_WRITE) : 1000 + (long)below(r, 1000);
        case A_ARCHPRCTL: return PICK(r, 0x1003 /* ARCH_GET_FS */, 0x1004 /* ARCH_GET_GS */, 0x1011 /* ARCH_GET_CPUID */, 0x9999);
        case A_POLLFDS: return gen_pollfds(w, slot);
        case A_FDSET: return gen_fdset(w, slot);
        case A_TIMEVAL:
        {
            if (chance(r, 20)) return chance(r, 50) ? 0 : bad_ptr(r);
            long tv[2] = { 0, chance(r, 80) ? (long)below(r, 20000) : 2000000 };
            memcpy(slot, tv, sizeof tv);
            return (long)slot;
        }
        case A_SIGALTSTACK:
        {
            if (chance(r, 40)) return chance(r, 50) ? 0 : bad_ptr(r);
            stack_t s = { .ss_sp = w->altstack, .ss_flags = (int)PICK(r, 0, SS_DISABLE, SS_AUTODISARM, 7),
                .ss_size = chance(r, 80) ? 64 * 1024 : (size_t)below(r, 1024) };  // or too small: ENOMEM
            memcpy(slot, &s, sizeof s);
            return (long)slot;
        }
    }
    return 0;
}

// Bends the few argument combinations that could hurt the run or the host back into safe ones
// (the generators above already keep most of them out); 0: skip this call.
static int tame(struct worker *w, const struct call *c, long *a)
{
    uint64_t *r = &w->rng;
    for (int i = 0; i < 6; i++)
        if (c->arg[i] == A_FD && a[i] >= 0 && a[i] <= 2) a[i] = -1;   // stdin, stdout, stderr stay
    switch (c->nr)
    {
        case SYS_kill: case SYS_rt_sigqueueinfo:
            if (a[0] != self) a[0] = self;                                 // kill(0) is the whole group
            break;
        case SYS_tgkill: case SYS_rt_tgsigqueueinfo:
            a[0] = self;
            if (a[1] <= 0) a[1] = workers[0].tid;
            break;
        case SYS_tkill:
            if (a[0] <= 0) a[0] = workers[0].tid;
            break;
        case SYS_timer_settime: case SYS_timer_delete:
            for (int t = 0; t < nthreads; t++) if (a[0] == (long)(intptr_t)workers[t].tick) a[0] = -1;
            break;
        case SYS_rt_sigaction:
            if (a[0] == TICK_SIGNAL) a[0] = SIGUSR1;
            break;
        case SYS_setpriority:
            // Only this process or its threads (PRIO_USER would renice every process of the user),
            // and never above normal (root could).
            if (a[0] >= 0 && a[0] <= 2) a[0] = PRIO_PROCESS;
            if (a[2] < 0) a[2] = a[2] == LONG_MIN ? 0 : -a[2];
            break;
        case SYS_chdir:
            if ((const char *)a[0] == names[SCRATCH_NAMES + 4]) a[0] = (long)".";   // /proc/self/fd: stay in the scratch tree
            break;
        case SYS_brk:
        {
            long now = syscall(SYS_brk, 0);
            if (chance(r, 50)) a[0] = now + (long)(below(r, 64) * PAGE);  // grows only: glibc owns the rest
            else if (a[0] > 0 && a[0] < now + (long)ARENA_SIZE && (unsigned char *)a[0] != arena) a[0] = 0;
            break;
        }
        case SYS_mmap:
            if (a[3] & (MAP_FIXED | MAP_FIXED_NOREPLACE))
            {
                unsigned char *p = (unsigned char *)a[0];
                if (p >= arena && p < arena + ARENA_SIZE) a[1] = gen_mlen(r, a[0]);
                else if (a[0] != 0 && (uint64_t)a[0] < 0xffff800000000000ULL) a[0] = (long)arena;
            }
            if (a[3] & MAP_POPULATE && (unsigned long)a[1] > ARENA_SIZE) a[3] &= ~MAP_POPULATE;
            break;
        case SYS_mremap:
            // The new range stays in the arena too (a move outside it is unmapped after the call).
            a[4] = gen_addr(r);
            a[2] = gen_mlen(r, (a[3] & 2 /* MREMAP_FIXED */) ? a[4] : a[0]);
            break;
        case SYS_mknod: case SYS_mknodat:
        {
            long *mode = &a[c->nr == SYS_mknod ? 1 : 2];
            long type = PICK(r, S_IFIFO, S_IFREG, S_IFSOCK, 0);
            *mode = (*mode & 07777) | type;                              // never a device node
            a[c->nr == SYS_mknod ? 2 : 3] = 0;
            break;
        }
        case SYS_fcntl:
            if (a[1] == F_SETOWN && a[2] != 0 && a[2] != self) a[2] = self;
            if (a[1] == F_SETSIG) a[2] = safe_signals[below(r, SAFE_SIGNALS)];
            if ((a[1] == F_DUPFD || a[1] == F_DUPFD_CLOEXEC) && a[2] < 3) a[2] = 3;
            if (a[1] == F_SETPIPE_SZ && (unsigned long)a[2] > (1UL << 20) && (unsigned long)a[2] < (1UL << 32)) a[2] = 1 << 20;
            if (a[1] == F_GETLK || a[1] == F_SETLK || a[1] == F_SETLKW || a[1] == F_OFD_GETLK || a[1] == F_OFD_SETLK || a[1] == F_OFD_SETLKW)
                a[2] = gen_ptr(w, 1);
            break;
        case SYS_dup2: case SYS_dup3:
            if (a[1] >= 0 && a[1] <= 2) a[1] = 3 + (long)below(r, 60);
            break;
        case SYS_close_range:
            if (a[0] < 3) a[0] = 3;
            break;
        case SYS_prctl:
            if (a[0] == PR_SET_NAME) a[1] = (long)"fuzz";
            if (a[0] == PR_SET_DUMPABLE) a[1] = 1;
            break;
        case SYS_prlimit64:
            a[2] = 0;                                                    // reads only
            if (a[0] != 0 && a[0] != self) a[0] = 0;
            break;
        case SYS_sched_setaffinity:
            if (a[0] != 0 && a[0] != self && !chance(r, 50)) a[0] = 0;
            break;
        case SYS_sendfile: case SYS_copy_file_range: case SYS_splice: case SYS_tee:
        {
            long *count = &a[c->nr == SYS_sendfile ? 3 : c->nr == SYS_tee ? 2 : 4];
            if ((unsigned long)*count > (1UL << 20)) *count = (long)below(r, 1UL << 20);   // files stay small
            break;
        }
        case SYS_fallocate: case SYS_ftruncate: case SYS_truncate:
        {
            // Never fill the host's disk: at most 4 MiB, or far past any file system's limit.
            long *len = &a[c->nr == SYS_fallocate ? 3 : 1];
            long *off = c->nr == SYS_fallocate ? &a[2] : 0;
            if (*len > (4L << 20) && *len < (1L << 62)) *len = (long)below(r, 4L << 20);
            if (off && *off > (4L << 20) && *off < (1L << 62)) *off = (long)below(r, 4L << 20);
            break;
        }
        case SYS_pwrite64: case SYS_pwritev: case SYS_pwritev2:
            if (a[3] > (64L << 20) && a[3] < (1L << 62)) a[3] = (long)below(r, 64L << 20);
            break;
        case SYS_futex_waitv:
            a[1] = (long)below(r, 3);
            break;
        case SYS_ioctl:
            if (a[1] == FIOASYNC && chance(r, 50)) a[2] = (long)w->data;
            break;
    }
    return 1;
}

// ---- descriptors of every kind, in the shared pool
static void add_to_pool(uint64_t *r, int fd)
{
    if (fd < 3) return;
    int i = (int)below(r, POOL_SIZE);
    int old = __atomic_exchange_n(&pool[i], fd, __ATOMIC_SEQ_CST);
    if (old >= 3 && !is_pool(old)) close(old);
}

static void open_something(struct worker *w)
{
    uint64_t *r = &w->rng;
    int fds[2] = { -1, -1 };
    switch (below(r, 14))
    {
        case 0: fds[0] = openat(AT_FDCWD, names[below(r, 3)], O_RDWR | O_CREAT, 0644); break;
        case 1: fds[0] = open(names[below(r, 3)], O_RDONLY); break;
        case 2: fds[0] = open(chance(r, 50) ? "." : "d0", O_RDONLY | O_DIRECTORY); break;
        case 3: if (pipe2(fds, chance(r, 50) ? O_NONBLOCK : 0) != 0) fds[0] = fds[1] = -1; break;
        case 4: if (socketpair(AF_UNIX, chance(r, 50) ? SOCK_STREAM : SOCK_DGRAM, 0, fds) != 0) fds[0] = fds[1] = -1; break;
        case 5: fds[0] = socket(chance(r, 50) ? AF_INET : AF_INET6, chance(r, 50) ? SOCK_STREAM : SOCK_DGRAM, 0); break;
        case 6: fds[0] = eventfd((unsigned)below(r, 3), chance(r, 50) ? EFD_NONBLOCK : 0); break;
        case 7:
            fds[0] = timerfd_create(CLOCK_MONOTONIC, chance(r, 50) ? TFD_NONBLOCK : 0);
            if (fds[0] >= 0)
            {
                struct itimerspec t = { { 0, 5000000 }, { 0, 1000000 } };
                timerfd_settime(fds[0], 0, &t, 0);
            }
            break;
        case 8: fds[0] = epoll_create1(0); break;
        case 9: fds[0] = open(names[SCRATCH_NAMES + below(r, 5)], O_RDONLY); break;     // a /proc/self file
        case 10: fds[0] = open("fifo", O_RDWR | O_NONBLOCK); break;
        case 11: fds[0] = (int)syscall(SYS_memfd_create, "fuzz", 0); break;
        case 12:
        {
            // A listener on loopback it can connect to (its own port, never another program's).
            int v6 = chance(r, 50);
            fds[0] = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
            if (fds[0] < 0) break;
            int one = 1;
            setsockopt(fds[0], SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
            struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(bound_port[0]), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
            struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(bound_port[1]), .sin6_addr = in6addr_loopback };
            if (v6 ? bind(fds[0], (struct sockaddr *)&in6, sizeof in6) : bind(fds[0], (struct sockaddr *)&in, sizeof in)) { close(fds[0]); fds[0] = -1; break; }
            listen(fds[0], 8);
            break;
        }
        default: fds[0] = socket(AF_UNIX, SOCK_STREAM, 0); break;
    }
    add_to_pool(r, fds[0]);
    add_to_pool(r, fds[1]);
}

// ---- output: write(2) on stdout, whole lines (no stdio: its buffer would come from malloc)
static void say(const char *format, ...)
{
    char line[2048];
    va_list list;
    va_start(list, format);
    int n = vsnprintf(line, sizeof line - 1, format, list);
    va_end(list);
    if (n < 0) return;
    if (n > (int)sizeof line - 2) n = (int)sizeof line - 2;
    line[n++] = '\n';
    for (int off = 0; off < n;)
    {
        ssize_t k = write(1, line + off, (size_t)(n - off));
        if (k > 0) off += (int)k;
        else if (k < 0 && errno != EINTR) return;
    }
}

static const char *call_name(long nr)
{
    for (size_t i = 0; i < NCALLS; i++) if (calls[i].nr == nr) return calls[i].name;
    return "unknown";
}

static int describe(struct worker *w, int t, char *text, size_t size)
{
    return snprintf(text, size, "t%d#%ld %s/%ld(%lx, %lx, %lx, %lx, %lx, %lx)", t, w->index, call_name(w->nr), w->nr,
        (unsigned long)w->args[0], (unsigned long)w->args[1], (unsigned long)w->args[2],
        (unsigned long)w->args[3], (unsigned long)w->args[4], (unsigned long)w->args[5]);
}

// ---- the workers
static void *work(void *argument)
{
    struct worker *w = argument;
    w->tid = (pid_t)syscall(SYS_gettid);
    // Its own timer interrupts whatever it blocks in (no SA_RESTART on the tick's handler).
    struct sigevent e = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = TICK_SIGNAL };
    e._sigev_un._tid = w->tid;
    if (timer_create(CLOCK_MONOTONIC, &e, &w->tick) == 0)
    {
        struct itimerspec every = { { 0, 20000000 }, { 0, 20000000 } };
        timer_settime(w->tick, 0, &every, 0);
    }
    for (;;)
    {
        uint64_t *r = &w->rng;
        if (chance(r, 6)) { open_something(w); continue; }
        long a[6] = { 0 };
        long nr;
        size_t which = (size_t)below(r, NCALLS + NCALLS / 20);
        const struct call *c = 0;
        if (which >= NCALLS)
        {
            // Numbers no x86-64 kernel has given a call (338-423: between rseq and pidfd_send_signal,
            // less the two just above rseq some hosts use for their own; 480-1023: past the table).
            nr = chance(r, 50) ? 338 + (long)below(r, 86) : 480 + (long)below(r, 544);
            for (int i = 0; i < 6; i++) a[i] = (long)next(r);
        }
        else
        {
            c = &calls[which];
            nr = c->nr;
            for (int i = 0; i < 6; i++)
            {
                a[i] = c->arg[i] == A_NONE ? 0 : gen_arg(w, c->arg[i], i, a);
                if (memchr(numeric, c->arg[i], sizeof numeric)) a[i] = off_image(a[i]);
            }
            if (!tame(w, c, a)) continue;
        }
        w->index++;
        w->nr = nr;
        for (int i = 0; i < 6; i++) w->args[i] = a[i];
        if (trace) { char text[256]; describe(w, (int)(w - workers), text, sizeof text); say("fuzz: call %s", text); }
        long result = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
        if (nr == SYS_rt_sigprocmask)
        {
            // Whatever mask it set, the tick stays deliverable (a blocked tick would let a call block forever).
            sigset_t tick;
            sigemptyset(&tick);
            sigaddset(&tick, TICK_SIGNAL);
            int saved = errno;
            pthread_sigmask(SIG_UNBLOCK, &tick, 0);
            errno = saved;
        }
        int error = result == -1 ? errno : 0;
        w->calls++;
        if (c) __atomic_fetch_or(&distinct_calls[which / 64], 1UL << (which % 64), __ATOMIC_RELAXED);
        else __atomic_fetch_add(&unknown_calls, 1, __ATOMIC_RELAXED);
        __atomic_fetch_add(&errno_count[error < 160 ? error : 0], 1, __ATOMIC_RELAXED);
        if (result == 0 && (nr == SYS_pipe || nr == SYS_pipe2 || nr == SYS_socketpair))
        {
            unsigned char *p = (unsigned char *)a[nr == SYS_socketpair ? 3 : 0];
            if (p >= w->data && p + 8 <= w->data + DATA_SIZE)
            {
                int pair[2];
                memcpy(pair, p, sizeof pair);
                add_to_pool(r, pair[0]);
                add_to_pool(r, pair[1]);
            }
        }
        if (result >= 3 && c)
        {
            // What it made joins the pool; memory it mapped outside the arena goes back at once.
            switch (nr)
            {
                case SYS_open: case SYS_openat: case SYS_openat2: case SYS_creat: case SYS_socket: case SYS_accept:
                case SYS_accept4: case SYS_dup: case SYS_dup2: case SYS_dup3: case SYS_eventfd: case SYS_eventfd2:
                case SYS_epoll_create: case SYS_epoll_create1: case SYS_timerfd_create: case SYS_signalfd:
                case SYS_signalfd4: case SYS_inotify_init: case SYS_inotify_init1: case SYS_memfd_create:
                case SYS_pidfd_open: case SYS_fcntl:
                    if (nr != SYS_fcntl || a[1] == F_DUPFD || a[1] == F_DUPFD_CLOEXEC) add_to_pool(r, (int)result);
                    break;
                case SYS_mmap: case SYS_mremap:
                {
                    unsigned char *p = (unsigned char *)result;
                    if (p < arena || p >= arena + ARENA_SIZE) munmap(p, nr == SYS_mmap ? (size_t)a[1] : (size_t)a[2]);
                    break;
                }
            }
        }
    }
    return 0;
}

// Keeps the scratch files small (on the host's disk), and the tree it needs present.
static void tend_scratch(void)
{
    static const char *files[] = { "f0", "f1", "f2", "d0/f0", "d0/d1/f0", "d1/f3" };
    mkdir("d0", 0755);
    mkdir("d0/d1", 0755);
    mkdir("d1", 0755);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
    {
        struct stat s;
        if (lstat(files[i], &s) == 0 && S_ISREG(s.st_mode) && s.st_size > (8L << 20)) truncate(files[i], 0);
        else if (i < 3) close(open(files[i], O_WRONLY | O_CREAT, 0644));
    }
}

static void prepare_scratch(void)
{
    tend_scratch();
    symlink("f0", "l-file");
    symlink("d0", "l-dir");
    symlink("loop-b", "loop-a");
    symlink("loop-a", "loop-b");
    // A chain of 41 links: one more than Linux follows (ELOOP).
    char from[32], to[32];
    for (int i = 0; i < 41; i++)
    {
        snprintf(from, sizeof from, "chain-%d", i);
        snprintf(to, sizeof to, i == 40 ? "f0" : "chain-%d", i + 1);
        symlink(to, from);
    }
    mkfifo("fifo", 0644);
    memset(long_name, 'n', sizeof long_name - 1);
    for (size_t i = 0; i + 2 < sizeof long_path; i += 2) { long_path[i] = 'd'; long_path[i + 1] = '/'; }
    for (int i = 0; i < SCRATCH_NAMES; i++) snprintf(absolute[i], sizeof absolute[i], "%s/%s", scratch, names[i]);
}

// Its own listeners' ports, found once: what connect and sendto may aim at.
static void choose_ports(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in in = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof in;
    if (s >= 0 && bind(s, (struct sockaddr *)&in, sizeof in) == 0 && getsockname(s, (struct sockaddr *)&in, &len) == 0)
        bound_port[0] = ntohs(in.sin_port);
    if (s >= 0) listen(s, 8);
    add_to_pool(&workers[0].rng, s);
    int s6 = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_addr = in6addr_loopback };
    len = sizeof in6;
    if (s6 >= 0 && bind(s6, (struct sockaddr *)&in6, sizeof in6) == 0 && getsockname(s6, (struct sockaddr *)&in6, &len) == 0)
        bound_port[1] = ntohs(in6.sin6_port);
    if (s6 >= 0) listen(s6, 8);
    add_to_pool(&workers[0].rng, s6);
    if (bound_port[0] == 0) bound_port[0] = 1;
    if (bound_port[1] == 0) bound_port[1] = bound_port[0];
}

static unsigned char *map_guarded(size_t size)
{
    size = (size + PAGE - 1) & ~(PAGE - 1);
    unsigned char *p = mmap(0, size + 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { say("fuzz: cannot map %zu bytes", size); _exit(1); }
    mprotect(p, PAGE, PROT_NONE);
    mprotect(p + PAGE + size, PAGE, PROT_NONE);
    return p + PAGE;
}

int main(int argc, char **argv)
{
    if (argc < 5) { say("usage: fuzz DIR SECONDS SEED THREADS [--trace]"); return 2; }
    static char directory[4096];
    if (!realpath(argv[1], directory)) { say("fuzz: no directory %s: %s", argv[1], strerror(errno)); return 2; }
    scratch = directory;
    long seconds = atol(argv[2]);
    uint64_t seed = strtoull(argv[3], 0, 0);
    nthreads = atoi(argv[4]);
    trace = argc > 5 && strcmp(argv[5], "--trace") == 0;
    if (nthreads < 1 || nthreads > MAX_THREADS || seconds < 1) { say("fuzz: THREADS is 1..%d, SECONDS at least 1", MAX_THREADS); return 2; }
    if (chdir(scratch) != 0) { say("fuzz: cannot enter %s: %s", scratch, strerror(errno)); return 2; }
    self = getpid();
    image_end = (unsigned long)sbrk(0) + (1UL << 20);
    for (int i = 0; i < POOL_SIZE; i++) pool[i] = -1;

    // The fixed memory: the arena, a read-only page, and a page that runs into an unmapped one.
    arena = map_guarded(ARENA_SIZE);
    readonly_page = map_guarded(PAGE);
    memset(readonly_page, 0x5a, PAGE);
    mprotect(readonly_page, PAGE, PROT_READ);
    crossing = map_guarded(PAGE) + PAGE - 8;
    unmapped_page = crossing + 8;
    prepare_scratch();

    struct sigaction action = { .sa_handler = on_signal };
    sigemptyset(&action.sa_mask);
    for (size_t i = 0; i < SAFE_SIGNALS; i++) sigaction(safe_signals[i], &action, 0);
    for (int s = SIGRTMIN + 2; s <= SIGRTMIN + 8; s++) sigaction(s, &action, 0);
    struct sigaction fault = { .sa_sigaction = on_fault, .sa_flags = SA_SIGINFO };
    sigemptyset(&fault.sa_mask);
    for (int s = 1; s < 32; s++)
        if (s == SIGSEGV || s == SIGBUS || s == SIGILL || s == SIGFPE || s == SIGTRAP || s == SIGSYS) sigaction(s, &fault, 0);

    for (int t = 0; t < nthreads; t++)
    {
        struct worker *w = &workers[t];
        uint64_t state = seed + (uint64_t)t;
        w->rng = next(&state);
        w->data = map_guarded(DATA_SIZE);
        w->structs = map_guarded(6 * STRUCT_SLOT);
        w->altstack = map_guarded(64 * 1024);
        w->nr = -1;
    }
    choose_ports();
    say("fuzz: start seed=%llu threads=%d seconds=%ld calls-in-table=%zu dir=%s", (unsigned long long)seed, nthreads, seconds, NCALLS, scratch);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    for (int t = 0; t < nthreads; t++)
        if (pthread_create(&workers[t].thread, &attr, work, &workers[t]) != 0) { say("fuzz: cannot start thread %d", t); return 1; }
    for (int t = 0; t < nthreads; t++) while (workers[t].tid == 0) sched_yield();

    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    unsigned long last_calls[MAX_THREADS] = { 0 };
    long last_change[MAX_THREADS] = { 0 };
    unsigned long stuck_reports = 0;
    for (long second = 1;; second++)
    {
        // Sleep to the next whole second since the start (signals may cut a sleep short).
        for (;;)
        {
            clock_gettime(CLOCK_MONOTONIC, &now);
            long elapsed_ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
            if (elapsed_ms >= second * 1000) break;
            struct timespec nap = { 0, (second * 1000 - elapsed_ms) * 1000000 };
            if (nap.tv_nsec >= 1000000000) { nap.tv_sec = nap.tv_nsec / 1000000000; nap.tv_nsec %= 1000000000; }
            nanosleep(&nap, 0);
        }
        unsigned long total = 0;
        char line[1600];
        int n = 0;
        for (int t = 0; t < nthreads; t++)
        {
            struct worker *w = &workers[t];
            total += w->calls;
            if (w->calls != last_calls[t]) { last_calls[t] = w->calls; last_change[t] = second; }
            else if (second - last_change[t] == STUCK_SECONDS)
            {
                char text[256];
                describe(w, t, text, sizeof text);
                say("fuzz: stuck %s for %d s", text, STUCK_SECONDS);
                stuck_reports++;
            }
            if (n < (int)sizeof line - 200) { n += snprintf(line + n, sizeof line - (size_t)n, " "); n += describe(w, t, line + n, sizeof line - (size_t)n); }
        }
        unsigned long distinct = 0;
        for (size_t i = 0; i < sizeof distinct_calls / sizeof distinct_calls[0]; i++) distinct += (unsigned long)__builtin_popcountl(distinct_calls[i]);
        say("fuzz: progress %ld s calls=%lu distinct=%lu last:%s", second, total, distinct, line);
        tend_scratch();
        if (chdir(scratch) != 0)
        {
            int error = errno;
            struct stat s;
            int stat_result = stat(scratch, &s);
            say("fuzz: cannot go back to %s: %s (stat: %s, mode %o)", scratch, strerror(error), stat_result ? strerror(errno) : "ok", stat_result ? 0 : s.st_mode);
        }
        if (second >= seconds)
        {
            unsigned long signals = 0;
            for (int t = 0; t < nthreads; t++) signals += workers[t].signals;
            char errors[1200];
            int e = 0;
            for (int k = 0; k < 160; k++)
                if (errno_count[k] && e < (int)sizeof errors - 40)
                    e += snprintf(errors + e, sizeof errors - (size_t)e, "%s\"%s\":%lu", e ? "," : "", k ? strerrorname_np(k) ?: "E?" : "ok", errno_count[k]);
            say("fuzz: summary {\"seed\":%llu,\"threads\":%d,\"seconds\":%ld,\"calls\":%lu,\"distinct\":%lu,\"table\":%zu,"
                "\"unknown_calls\":%lu,\"signals\":%lu,\"stuck\":%lu,\"results\":{%s}}",
                (unsigned long long)seed, nthreads, second, total, distinct, NCALLS, unknown_calls, signals, stuck_reports, errors);
            _exit(0);
        }
    }
}
