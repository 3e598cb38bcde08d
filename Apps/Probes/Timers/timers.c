// timers: the timer and signal-wait calls, checked with a static C program (gcc -static) natively and
// on Libra: alarm, setitimer/getitimer (ITIMER_REAL), POSIX timers (SIGEV_SIGNAL, SIGEV_THREAD_ID,
// SIGEV_NONE, TIMER_ABSTIME, intervals, overruns), timerfd (read, poll, select, epoll, non-blocking,
// absolute), pause, rt_sigtimedwait, rt_sigsuspend, kill to oneself (SI_USER), and which interrupted
// calls restart under SA_RESTART. It prints only what is deterministic: counts, errnos, si_code and
// the other siginfo fields, and durations as bounds ("fired not early: yes"), never raw times. Every
// wait is a few milliseconds, so the whole run stays short under QEMU's TCG.
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#define MS 1000000LL

static const char *errno_name(int error)
{
    switch (error)
    {
        case 0: return "0";
        case EINTR: return "EINTR";
        case EAGAIN: return "EAGAIN";
        case EINVAL: return "EINVAL";
        case EFAULT: return "EFAULT";
        case EPERM: return "EPERM";
        case EOPNOTSUPP: return "EOPNOTSUPP";
        case EBADF: return "EBADF";
        default: return "other";
    }
}

// "-1 EINVAL" for a failed call, the value otherwise.
static void result(const char *what, long value)
{
    if (value < 0) printf("%s: -1 %s\n", what, errno_name(errno));
    else printf("%s: %ld\n", what, value);
}

static const char *yes(int condition) { return condition ? "yes" : "no"; }

static long long now_ns(clockid_t clock)
{
    struct timespec t;
    clock_gettime(clock, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void sleep_ns(long long ns)
{
    struct timespec t = { ns / 1000000000LL, ns % 1000000000LL };
    while (nanosleep(&t, &t) != 0 && errno == EINTR) { }
}

static struct timespec ts(long long ns) { return (struct timespec){ ns / 1000000000LL, ns % 1000000000LL }; }

static long long ns_of(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

static pid_t gettid_raw(void) { return (pid_t)syscall(SYS_gettid); }

// The kernel's rt_sigtimedwait: glibc's sigtimedwait and sigwaitinfo turn SI_TKILL into SI_USER.
static int wait_info(const sigset_t *set, siginfo_t *info, const struct timespec *timeout)
{
    return (int)syscall(SYS_rt_sigtimedwait, set, info, timeout, 8);
}

// What the last handler saw.
static volatile sig_atomic_t handled_count, handled_signal, handled_code, handled_pid_is_zero;
static sigset_t handler_mask;
static volatile long long handled_cpu;      // the process's CPU time when the handler ran

static void on_signal(int signal, siginfo_t *info, void *context)
{
    (void)context;
    handled_count++;
    handled_signal = signal;
    handled_code = info->si_code;
    handled_pid_is_zero = info->si_pid == 0;
    handled_cpu = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    pthread_sigmask(SIG_BLOCK, NULL, &handler_mask);
}

static void install(int signal, int flags)
{
    struct sigaction action = { .sa_sigaction = on_signal, .sa_flags = SA_SIGINFO | flags };
    sigemptyset(&action.sa_mask);
    sigaction(signal, &action, NULL);
}

static void block_only(int signal)
{
    sigset_t set;
    sigemptyset(&set);
    if (signal) sigaddset(&set, signal);
    pthread_sigmask(SIG_SETMASK, &set, NULL);
}

static void set_real_timer(long long value_ns, long long interval_ns)
{
    struct itimerval v = { { interval_ns / 1000000000LL, interval_ns % 1000000000LL / 1000 },
                           { value_ns / 1000000000LL, value_ns % 1000000000LL / 1000 } };
    setitimer(ITIMER_REAL, &v, NULL);
}

// Interrupts the blocking call that follows: SIGALRM every 2 ms until stop_alarms, so that one
// comes while the call sleeps even when the first came before it started (a busy host).
static void start_alarms(void) { set_real_timer(2 * MS, 2 * MS); }

static void stop_alarms(void)
{
    int saved = errno;
    set_real_timer(0, 0);
    sigset_t alarm_set;
    sigemptyset(&alarm_set);
    sigaddset(&alarm_set, SIGALRM);
    struct timespec zero = { 0, 0 };
    sigtimedwait(&alarm_set, NULL, &zero);      // one left pending where SIGALRM is blocked
    errno = saved;
}

static void alarm_and_itimers(void)
{
    printf("-- alarm, setitimer, getitimer\n");
    install(SIGALRM, 0);
    result("alarm(0) with none set", alarm(0));
    alarm(5);
    result("alarm(0) after alarm(5)", alarm(0));

    handled_count = 0;
    long long start = now_ns(CLOCK_MONOTONIC);
    start_alarms();
    result("pause", pause());
    stop_alarms();
    printf("pause woke by %s, si_code %d, si_pid 0: %s, not early: %s\n", handled_signal == SIGALRM ? "SIGALRM" : "?",
        (int)handled_code, yes(handled_pid_is_zero), yes(now_ns(CLOCK_MONOTONIC) - start >= 2 * MS));

    struct itimerval v = { { 0, 250000 }, { 1, 0 } }, old;
    setitimer(ITIMER_REAL, &v, NULL);
    getitimer(ITIMER_REAL, &old);
    long long left = old.it_value.tv_sec * 1000000LL + old.it_value.tv_usec;
    printf("getitimer: interval %ld.%06ld, value in (0.5 s, 1 s]: %s\n", (long)old.it_interval.tv_sec,
        (long)old.it_interval.tv_usec, yes(left > 500000 && left <= 1000000));
    struct itimerval zero = { 0 };
    setitimer(ITIMER_REAL, &zero, &old);
    printf("setitimer returns the old interval %ld.%06ld\n", (long)old.it_interval.tv_sec, (long)old.it_interval.tv_usec);
    getitimer(ITIMER_REAL, &old);
    printf("disarmed: %ld %ld %ld %ld\n", (long)old.it_value.tv_sec, (long)old.it_value.tv_usec,
        (long)old.it_interval.tv_sec, (long)old.it_interval.tv_usec);

    struct itimerval bad = { { 0, 0 }, { 0, 1000000 } };
    result("setitimer with tv_usec 1000000", setitimer(ITIMER_REAL, &bad, NULL));
    result("setitimer(7)", setitimer(7, &zero, NULL));
    result("getitimer(7)", getitimer(7, &old));

    // A periodic ITIMER_REAL: three SIGALRMs, each waited for with sigsuspend.
    sigset_t blocked, empty;
    sigemptyset(&empty);
    block_only(SIGALRM);
    handled_count = 0;
    set_real_timer(2 * MS, 2 * MS);
    for (int i = 0; i < 3; i++) sigsuspend(&empty);
    set_real_timer(0, 0);
    pthread_sigmask(SIG_BLOCK, NULL, &blocked);
    printf("periodic ITIMER_REAL: %d signals, SIGALRM blocked again after sigsuspend: %s\n", (int)handled_count,
        yes(sigismember(&blocked, SIGALRM)));
    block_only(0);
    signal(SIGALRM, SIG_DFL);
}

// ITIMER_PROF and ITIMER_VIRTUAL run on CPU time: a sleep does not bring them closer, a busy loop does.
static void cpu_itimer(int which, int signo, const char *name)
{
    install(signo, 0);
    handled_count = 0;
    struct itimerval v = { { 0, 0 }, { 0, 50000 } }, left;
    setitimer(which, &v, NULL);
    sleep_ns(10 * MS);
    getitimer(which, &left);
    long long left_us = left.it_value.tv_sec * 1000000LL + left.it_value.tv_usec;
    // Linux adds a scheduler tick (1 to 10 ms) to the value it arms.
    printf("%s: after a 10 ms sleep: no signal: %s, value in (40 ms, 60 ms]: %s\n", name, yes(handled_count == 0),
        yes(left_us > 40000 && left_us <= 60000));
    struct itimerval five = { { 0, 0 }, { 0, 5000 } };
    long long cpu = now_ns(CLOCK_PROCESS_CPUTIME_ID), wall = now_ns(CLOCK_MONOTONIC);
    setitimer(which, &five, NULL);
    while (handled_count == 0 && now_ns(CLOCK_MONOTONIC) - wall < 5000 * MS) { }
    // "Not early" within Linux's CPU-time sampling: on a busy host Linux itself was seen to fire
    // ITIMER_PROF after 4.x ms of CLOCK_PROCESS_CPUTIME_ID, so the bound is half the interval.
    printf("%s: after 5 ms of CPU time: %d signal, si_code %d, not early: %s\n", name, (int)handled_count, (int)handled_code,
        yes(handled_cpu - cpu >= 5 * MS / 2));
    getitimer(which, &left);
    printf("%s: then disarmed: %ld %ld\n", name, (long)left.it_value.tv_sec, (long)left.it_value.tv_usec);
    signal(signo, SIG_DFL);
}

static void signal_waits(void)
{
    printf("-- kill, sigtimedwait, sigsuspend, pause\n");
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    block_only(SIGUSR1);
    siginfo_t info;
    struct timespec zero = { 0, 0 }, two_ms = ts(2 * MS);

    result("sigtimedwait, nothing pending, zero timeout", sigtimedwait(&set, &info, &zero));
    long long start = now_ns(CLOCK_MONOTONIC);
    result("sigtimedwait, nothing pending, 2 ms", sigtimedwait(&set, &info, &two_ms));
    printf("timed out not early: %s\n", yes(now_ns(CLOCK_MONOTONIC) - start >= 2 * MS));

    kill(getpid(), SIGUSR1);
    memset(&info, 0, sizeof info);
    int got = wait_info(&set, &info, NULL);
    printf("kill to self: signal %d, si_code %d (SI_USER %d), si_pid is getpid: %s, si_uid is getuid: %s\n", got,
        info.si_code, SI_USER, yes(info.si_pid == getpid()), yes(info.si_uid == getuid()));

    raise(SIGUSR1);
    memset(&info, 0, sizeof info);
    got = wait_info(&set, &info, &two_ms);
    printf("raise: signal %d, si_code %d (SI_TKILL %d), si_pid is getpid: %s\n", got, info.si_code, SI_TKILL,
        yes(info.si_pid == getpid()));

    syscall(SYS_tgkill, getpid(), gettid_raw(), SIGUSR1);
    got = wait_info(&set, NULL, NULL);
    printf("tgkill, waited without siginfo: signal %d\n", got);
    syscall(SYS_tkill, gettid_raw(), SIGUSR1);
    memset(&info, 0, sizeof info);
    wait_info(&set, &info, NULL);
    printf("tkill: si_code %d\n", info.si_code);

    // Two sends of a standard signal while it is blocked: one is pending.
    kill(getpid(), SIGUSR1);
    kill(getpid(), SIGUSR1);
    sigset_t pending;
    sigpending(&pending);
    printf("pending after two kills: %s\n", yes(sigismember(&pending, SIGUSR1)));
    sigwaitinfo(&set, &info);
    result("sigtimedwait after taking it", sigtimedwait(&set, &info, &zero));

    result("rt_sigtimedwait with sigsetsize 4", syscall(SYS_rt_sigtimedwait, &set, &info, &zero, 4));

    // sigqueue (rt_sigqueueinfo): a blocked real-time signal queued twice keeps both values in order,
    // with si_code SI_QUEUE; rt_tgsigqueueinfo reaches one thread with the siginfo given.
    sigset_t realtime;
    sigemptyset(&realtime);
    sigaddset(&realtime, SIGRTMIN);
    pthread_sigmask(SIG_BLOCK, &realtime, NULL);
    result("sigqueue 7", sigqueue(getpid(), SIGRTMIN, (union sigval){ .sival_int = 7 }));
    result("sigqueue 8", sigqueue(getpid(), SIGRTMIN, (union sigval){ .sival_int = 8 }));
    for (int i = 0; i < 2; i++)
    {
        memset(&info, 0, sizeof info);
        got = sigtimedwait(&realtime, &info, &zero);
        printf("sigqueue taken: signal is SIGRTMIN %s, si_code %d (SI_QUEUE %d), value %d, si_pid is getpid: %s\n",
            yes(got == SIGRTMIN), info.si_code, SI_QUEUE, info.si_value.sival_int, yes(info.si_pid == getpid()));
    }
    siginfo_t sent;
    memset(&sent, 0, sizeof sent);
    sent.si_signo = SIGUSR2;        // the call's signal wins
    sent.si_code = SI_QUEUE;
    sent.si_pid = getpid();
    sent.si_value.sival_int = 42;
    result("rt_tgsigqueueinfo to this thread", syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid_raw(), SIGRTMIN, &sent));
    memset(&info, 0, sizeof info);
    got = sigtimedwait(&realtime, &info, &zero);
    printf("rt_tgsigqueueinfo taken: signal is SIGRTMIN %s, si_code %d, value %d\n", yes(got == SIGRTMIN), info.si_code, info.si_value.sival_int);
    result("rt_sigqueueinfo with a bad siginfo", syscall(SYS_rt_sigqueueinfo, getpid(), SIGRTMIN, (void *)8));
    result("rt_tgsigqueueinfo to tid 0", syscall(SYS_rt_tgsigqueueinfo, getpid(), 0, SIGRTMIN, &sent));
    pthread_sigmask(SIG_UNBLOCK, &realtime, NULL);
    block_only(SIGUSR1);

    // A handled signal outside the set interrupts the wait.
    install(SIGALRM, SA_RESTART);
    handled_count = 0;
    start_alarms();
    result("sigtimedwait interrupted by a handled SIGALRM (SA_RESTART)", sigwaitinfo(&set, &info));
    stop_alarms();
    printf("handler ran: %s\n", yes(handled_count >= 1));

    // sigsuspend: the wait's mask is SIGUSR2 only; the handler runs with that mask plus its own
    // signal; afterwards the old mask (SIGUSR1 and SIGALRM) is back.
    install(SIGALRM, 0);
    handled_count = 0;
    sigset_t suspend_mask, alarm_only;
    sigemptyset(&suspend_mask);
    sigaddset(&suspend_mask, SIGUSR2);
    sigemptyset(&alarm_only);
    sigaddset(&alarm_only, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &alarm_only, NULL);
    start_alarms();
    result("sigsuspend", sigsuspend(&suspend_mask));
    stop_alarms();
    sigset_t after;
    pthread_sigmask(SIG_UNBLOCK, &alarm_only, &after);
    printf("in the handler: SIGUSR2 %s, SIGALRM %s, SIGUSR1 %s; after: SIGUSR1 %s, SIGUSR2 %s\n",
        sigismember(&handler_mask, SIGUSR2) ? "blocked" : "open", sigismember(&handler_mask, SIGALRM) ? "blocked" : "open",
        sigismember(&handler_mask, SIGUSR1) ? "blocked" : "open", sigismember(&after, SIGUSR1) ? "blocked" : "open",
        sigismember(&after, SIGUSR2) ? "blocked" : "open");

    // A signal pending and blocked is taken by sigsuspend at once.
    install(SIGUSR1, 0);
    handled_count = 0;
    kill(getpid(), SIGUSR1);
    sigset_t open;
    sigemptyset(&open);
    result("sigsuspend with SIGUSR1 already pending", sigsuspend(&open));
    printf("handled: %d, si_code %d\n", (int)handled_count, (int)handled_code);

    // Sleeps end with EINTR after a handler, SA_RESTART or not (signal(7)).
    install(SIGALRM, SA_RESTART);
    start_alarms();
    struct timespec long_sleep = ts(2000 * MS), left = { 0, 0 };
    result("nanosleep interrupted (SA_RESTART)", nanosleep(&long_sleep, &left));
    printf("remaining reported and less than asked: %s\n", yes(ns_of(left) > 0 && ns_of(left) < 2000 * MS));
    printf("clock_nanosleep interrupted (SA_RESTART): %s\n", errno_name(clock_nanosleep(CLOCK_MONOTONIC, 0, &long_sleep, NULL)));
    stop_alarms();

    block_only(0);
    signal(SIGALRM, SIG_DFL);
    signal(SIGUSR1, SIG_DFL);
}

static int futex_word;

static void on_alarm_change_word(int signal) { (void)signal; handled_count++; futex_word = 1; }

static long futex_wait(const struct timespec *timeout)
{
    return syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, timeout, NULL, 0);
}

// Which interrupted waits restart under SA_RESTART (signal(7)), and the temporary masks of ppoll
// and epoll_pwait: a signal they let in runs its handler, and the caller's mask comes back after.
static void interrupted_waits(void)
{
    printf("-- interrupted waits\n");
    struct sigaction action = { .sa_handler = on_alarm_change_word, .sa_flags = SA_RESTART };
    sigemptyset(&action.sa_mask);
    sigaction(SIGALRM, &action, NULL);
    futex_word = 0;
    handled_count = 0;
    start_alarms();
    // Restarted after the handler, the wait finds the word changed.
    result("futex wait, no timeout, SA_RESTART handler changes the word", futex_wait(NULL));
    stop_alarms();
    printf("handler ran: %s\n", yes(handled_count >= 1));
    install(SIGALRM, 0);
    futex_word = 0;
    start_alarms();
    result("futex wait, no timeout, no SA_RESTART", futex_wait(NULL));
    install(SIGALRM, SA_RESTART);
    struct timespec second = ts(1000 * MS);
    result("futex wait with a timeout, SA_RESTART", futex_wait(&second));
    stop_alarms();

    install(SIGALRM, SA_RESTART);
    block_only(SIGALRM);
    sigset_t open, after;
    sigemptyset(&open);
    handled_count = 0;
    set_real_timer(2 * MS, 0);
    result("ppoll letting a blocked SIGALRM in", ppoll(NULL, 0, &second, &open));
    pthread_sigmask(SIG_BLOCK, NULL, &after);
    printf("handler ran: %d, SIGALRM blocked after: %s\n", (int)handled_count, yes(sigismember(&after, SIGALRM)));
    int epoll = epoll_create1(0);
    struct epoll_event event;
    handled_count = 0;
    set_real_timer(2 * MS, 0);
    result("epoll_pwait letting a blocked SIGALRM in", epoll_pwait(epoll, &event, 1, 1000, &open));
    pthread_sigmask(SIG_BLOCK, NULL, &after);
    printf("handler ran: %d, SIGALRM blocked after: %s\n", (int)handled_count, yes(sigismember(&after, SIGALRM)));
    close(epoll);
    block_only(0);
    signal(SIGALRM, SIG_DFL);
}

static timer_t make_timer(clockid_t clock, int notify, int signal, int value, pid_t tid)
{
    struct sigevent event;
    memset(&event, 0, sizeof event);
    event.sigev_notify = notify;
    event.sigev_signo = signal;
    event.sigev_value.sival_int = value;
    if (notify == SIGEV_THREAD_ID) event._sigev_un._tid = tid;
    timer_t timer;
    if (timer_create(clock, &event, &timer) != 0) { printf("timer_create failed: %s\n", errno_name(errno)); return 0; }
    return timer;
}

static int arm(timer_t timer, int flags, long long value_ns, long long interval_ns)
{
    struct itimerspec spec = { ts(interval_ns), ts(value_ns) };
    return timer_settime(timer, flags, &spec, NULL);
}

static pid_t target_tid;
static volatile int target_ready;
static siginfo_t target_info;
static int target_signal;

static void *target_thread(void *argument)
{
    (void)argument;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    target_tid = gettid_raw();
    __atomic_store_n(&target_ready, 1, __ATOMIC_RELEASE);
    target_signal = sigwaitinfo(&set, &target_info);
    return NULL;
}

static volatile int thread_callback_value;

static void on_timer_thread(union sigval value) { __atomic_store_n(&thread_callback_value, value.sival_int, __ATOMIC_RELEASE); }

static void posix_timers(void)
{
    printf("-- POSIX timers\n");
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    pthread_sigmask(SIG_SETMASK, &set, NULL);
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    siginfo_t info;

    // One-shot SIGEV_SIGNAL on CLOCK_MONOTONIC.
    timer_t timer = make_timer(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGUSR1, 42, 0);
    long long start = now_ns(CLOCK_MONOTONIC);
    arm(timer, 0, 2 * MS, 0);
    memset(&info, 0, sizeof info);
    int got = sigwaitinfo(&usr1, &info);
    printf("one-shot: signal %d, si_code %d (SI_TIMER %d), si_value %d, si_timerid matches: %s, si_overrun %d, not early: %s\n",
        got, info.si_code, SI_TIMER, info.si_value.sival_int, yes(info.si_timerid == (int)(intptr_t)timer), info.si_overrun,
        yes(now_ns(CLOCK_MONOTONIC) - start >= 2 * MS));
    struct itimerspec current;
    timer_gettime(timer, &current);
    printf("after it fired: value %lld, interval %lld\n", ns_of(current.it_value), ns_of(current.it_interval));

    // Periodic: the signal stays blocked while many periods pass; it is one pending signal, and the
    // periods missed meanwhile are its overrun.
    arm(timer, 0, 1 * MS, 1 * MS);
    sleep_ns(20 * MS);
    sigpending(&set);
    printf("periodic, blocked 20 ms: pending %s\n", yes(sigismember(&set, SIGUSR1)));
    memset(&info, 0, sizeof info);
    sigwaitinfo(&usr1, &info);
    int overrun = timer_getoverrun(timer);
    printf("si_overrun at least 5: %s, timer_getoverrun equals it: %s\n", yes(info.si_overrun >= 5), yes(overrun == info.si_overrun));
    sigwaitinfo(&usr1, &info);
    printf("the next period comes: %s\n", yes(info.si_code == SI_TIMER));

    struct itimerspec old;
    struct itimerspec one_second = { ts(250 * MS), ts(1000 * MS) };
    timer_settime(timer, 0, &one_second, &old);
    printf("timer_settime returns the old interval %lld\n", ns_of(old.it_interval));
    timer_gettime(timer, &current);
    printf("timer_gettime: interval %lld, value in (0.5 s, 1 s]: %s\n", ns_of(current.it_interval),
        yes(ns_of(current.it_value) > 500 * MS && ns_of(current.it_value) <= 1000 * MS));
    struct itimerspec disarm = { { 0, 0 }, { 0, 0 } };
    timer_settime(timer, 0, &disarm, NULL);
    timer_gettime(timer, &current);
    printf("disarmed: value %lld, interval %lld\n", ns_of(current.it_value), ns_of(current.it_interval));
    sigtimedwait(&usr1, &info, &(struct timespec){ 0, 0 });

    // Absolute deadlines on CLOCK_REALTIME and CLOCK_BOOTTIME.
    timer_t realtime = make_timer(CLOCK_REALTIME, SIGEV_SIGNAL, SIGUSR1, 7, 0);
    long long deadline = now_ns(CLOCK_REALTIME) + 3 * MS;
    arm(realtime, TIMER_ABSTIME, deadline, 0);
    memset(&info, 0, sizeof info);
    sigwaitinfo(&usr1, &info);
    printf("CLOCK_REALTIME absolute: si_value %d, not early: %s\n", info.si_value.sival_int, yes(now_ns(CLOCK_REALTIME) >= deadline));
    timer_t boottime = make_timer(CLOCK_BOOTTIME, SIGEV_SIGNAL, SIGUSR1, 8, 0);
    deadline = now_ns(CLOCK_BOOTTIME) + 2 * MS;
    arm(boottime, TIMER_ABSTIME, deadline, 0);
    sigwaitinfo(&usr1, &info);
    printf("CLOCK_BOOTTIME absolute: si_value %d, not early: %s\n", info.si_value.sival_int, yes(now_ns(CLOCK_BOOTTIME) >= deadline));
    result("an absolute deadline in the past fires at once", arm(boottime, TIMER_ABSTIME, 1, 0));
    got = sigtimedwait(&usr1, &info, &(struct timespec){ 1, 0 });
    printf("it fired: %s\n", yes(got == SIGUSR1));

    // No sigevent (glibc would make one up): SIGALRM with the timer's id as its value.
    int plain;
    syscall(SYS_timer_create, CLOCK_MONOTONIC, NULL, &plain);
    sigset_t alrm;
    sigemptyset(&alrm);
    sigaddset(&alrm, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &alrm, NULL);
    struct itimerspec soon = { ts(0), ts(1 * MS) };
    syscall(SYS_timer_settime, plain, 0, &soon, NULL);
    memset(&info, 0, sizeof info);
    got = sigwaitinfo(&alrm, &info);
    printf("default sigevent: %s, si_value is the id: %s\n", got == SIGALRM ? "SIGALRM" : "?", yes(info.si_value.sival_int == plain));
    syscall(SYS_timer_delete, plain);

    // Two timers on one real-time signal: both signals queue, each with its own value; a deleted
    // timer's queued signal goes with it.
    int rt = SIGRTMIN + 2;
    sigset_t rt_set;
    sigemptyset(&rt_set);
    sigaddset(&rt_set, rt);
    pthread_sigmask(SIG_BLOCK, &rt_set, NULL);
    timer_t first = make_timer(CLOCK_MONOTONIC, SIGEV_SIGNAL, rt, 1, 0), second = make_timer(CLOCK_MONOTONIC, SIGEV_SIGNAL, rt, 2, 0),
        third = make_timer(CLOCK_MONOTONIC, SIGEV_SIGNAL, rt, 3, 0);
    arm(first, 0, 1 * MS, 0);
    arm(second, 0, 2 * MS, 0);
    arm(third, 0, 3 * MS, 0);
    sleep_ns(6 * MS);
    timer_delete(second);
    printf("three timers on SIGRTMIN+2, the second deleted: values");
    while (sigtimedwait(&rt_set, &info, &(struct timespec){ 0, 0 }) == rt) printf(" %d", info.si_value.sival_int);
    printf("\n");
    timer_delete(first);
    timer_delete(third);
    // A standard signal from two timers queues twice too (send_sigqueue), where two kills leave one.
    first = make_timer(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGUSR1, 1, 0);
    second = make_timer(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGUSR1, 2, 0);
    arm(first, 0, 1 * MS, 0);
    arm(second, 0, 2 * MS, 0);
    sleep_ns(5 * MS);
    printf("two timers on SIGUSR1: values");
    while (sigtimedwait(&usr1, &info, &(struct timespec){ 0, 0 }) == SIGUSR1) printf(" %d", info.si_value.sival_int);
    printf("\n");
    timer_delete(first);
    timer_delete(second);
    for (int i = 0; i < 3; i++) kill(getpid(), rt);
    int taken = 0;
    while (sigtimedwait(&rt_set, &info, &(struct timespec){ 0, 0 }) == rt) taken++;
    printf("kill three times with SIGRTMIN+2: taken %d\n", taken);

    // SIGEV_NONE: nothing is sent; timer_gettime counts down to 0.
    timer_t silent = make_timer(CLOCK_MONOTONIC, SIGEV_NONE, 0, 0, 0);
    arm(silent, 0, 1000 * MS, 0);
    timer_gettime(silent, &current);
    printf("SIGEV_NONE armed: value above 0: %s\n", yes(ns_of(current.it_value) > 0));
    arm(silent, 0, 2 * MS, 0);
    sleep_ns(4 * MS);
    timer_gettime(silent, &current);
    sigpending(&set);
    printf("SIGEV_NONE expired: value %lld, SIGUSR1 pending %s, SIGALRM pending %s\n", ns_of(current.it_value),
        yes(sigismember(&set, SIGUSR1)), yes(sigismember(&set, SIGALRM)));
    arm(silent, 0, 1 * MS, 1 * MS);
    sleep_ns(5 * MS);
    timer_gettime(silent, &current);
    printf("SIGEV_NONE periodic: value in (0, 1 ms]: %s, timer_getoverrun %d\n",
        yes(ns_of(current.it_value) > 0 && ns_of(current.it_value) <= 1 * MS), timer_getoverrun(silent));
    timer_delete(silent);

    // SIGEV_THREAD_ID: the signal goes to that thread, not to whoever is running.
    pthread_t thread;
    pthread_create(&thread, NULL, target_thread, NULL);
    while (!__atomic_load_n(&target_ready, __ATOMIC_ACQUIRE)) sched_yield();
    timer_t directed = make_timer(CLOCK_MONOTONIC, SIGEV_THREAD_ID, SIGUSR2, 99, target_tid);
    arm(directed, 0, 2 * MS, 0);
    pthread_join(thread, NULL);
    printf("SIGEV_THREAD_ID: thread got signal %d, si_code %d, si_value %d\n", target_signal, target_info.si_code,
        target_info.si_value.sival_int);
    timer_delete(directed);

    // SIGEV_THREAD: glibc's helper thread takes the signal (SIGEV_THREAD_ID to it) and runs the callback.
    struct sigevent threaded;
    memset(&threaded, 0, sizeof threaded);
    threaded.sigev_notify = SIGEV_THREAD;
    threaded.sigev_notify_function = on_timer_thread;
    threaded.sigev_value.sival_int = 1234;
    timer_t callback_timer;
    timer_create(CLOCK_MONOTONIC, &threaded, &callback_timer);
    arm(callback_timer, 0, 2 * MS, 0);
    for (int i = 0; i < 2000 && !__atomic_load_n(&thread_callback_value, __ATOMIC_ACQUIRE); i++) sleep_ns(1 * MS);
    printf("SIGEV_THREAD: the callback ran with %d\n", thread_callback_value);
    timer_delete(callback_timer);

    // Refusals.
    struct sigevent event;
    memset(&event, 0, sizeof event);
    timer_t spare;
    event.sigev_notify = SIGEV_SIGNAL;
    event.sigev_signo = 0;
    result("timer_create with signal 0", timer_create(CLOCK_MONOTONIC, &event, &spare));
    event.sigev_signo = 65;
    result("timer_create with signal 65", timer_create(CLOCK_MONOTONIC, &event, &spare));
    event.sigev_signo = SIGUSR1;
    event.sigev_notify = 99;
    result("timer_create with notify 99", timer_create(CLOCK_MONOTONIC, &event, &spare));
    event.sigev_notify = SIGEV_THREAD_ID;
    event._sigev_un._tid = 999999;
    result("timer_create for no such thread", timer_create(CLOCK_MONOTONIC, &event, &spare));
    event.sigev_notify = SIGEV_SIGNAL;
    result("timer_create on clock 99", timer_create(99, &event, &spare));
    struct itimerspec invalid = { { 0, 0 }, { 0, 1000000000 } };
    result("timer_settime with tv_nsec 1e9", timer_settime(timer, 0, &invalid, NULL));
    result("timer_delete", timer_delete(timer));
    result("timer_delete again", syscall(SYS_timer_delete, (int)(intptr_t)timer));
    result("timer_settime on a deleted timer", syscall(SYS_timer_settime, (int)(intptr_t)timer, 0, &one_second, NULL));
    result("timer_gettime on a deleted timer", syscall(SYS_timer_gettime, (int)(intptr_t)timer, &current));
    result("timer_getoverrun on a deleted timer", syscall(SYS_timer_getoverrun, (int)(intptr_t)timer));
    timer_delete(realtime);
    timer_delete(boottime);
    block_only(0);
}

static long long read_count(int fd, long *n)
{
    uint64_t count = 0;
    *n = read(fd, &count, sizeof count);
    return (long long)count;
}

static void timer_fds(void)
{
    printf("-- timerfd\n");
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    printf("timerfd_create: %s, O_NONBLOCK %s, FD_CLOEXEC %s\n", yes(fd >= 0), yes(fcntl(fd, F_GETFL) & O_NONBLOCK),
        yes(fcntl(fd, F_GETFD) & FD_CLOEXEC));
    long n;
    read_count(fd, &n);
    result("read before arming", n);
    struct itimerspec current;
    timerfd_gettime(fd, &current);
    printf("gettime disarmed: %lld %lld\n", ns_of(current.it_value), ns_of(current.it_interval));

    struct itimerspec spec = { ts(0), ts(2 * MS) };
    long long start = now_ns(CLOCK_MONOTONIC);
    timerfd_settime(fd, 0, &spec, NULL);
    struct pollfd p = { fd, POLLIN, 0 };
    result("poll", poll(&p, 1, 1000));
    printf("revents POLLIN: %s, not early: %s\n", yes(p.revents == POLLIN), yes(now_ns(CLOCK_MONOTONIC) - start >= 2 * MS));
    long long count = read_count(fd, &n);
    printf("read: %ld bytes, count %lld\n", n, count);
    read_count(fd, &n);
    result("read again", n);
    uint32_t small;
    result("read of 4 bytes", read(fd, &small, sizeof small));
    result("write", write(fd, &count, sizeof count));

    // Periodic: the count is every period that passed.
    spec = (struct itimerspec){ ts(1 * MS), ts(1 * MS) };
    timerfd_settime(fd, 0, &spec, NULL);
    sleep_ns(10 * MS);
    count = read_count(fd, &n);
    printf("periodic after 10 ms: count at least 5: %s\n", yes(count >= 5));
    timerfd_gettime(fd, &current);
    printf("gettime: interval %lld, value in (0, 1 ms]: %s\n", ns_of(current.it_interval),
        yes(ns_of(current.it_value) > 0 && ns_of(current.it_value) <= 1 * MS));
    struct itimerspec old;
    spec = (struct itimerspec){ ts(0), ts(0) };
    timerfd_settime(fd, 0, &spec, &old);
    printf("settime returns the old interval %lld\n", ns_of(old.it_interval));

    // epoll and select see it.
    int epoll = epoll_create1(0);
    struct epoll_event event = { .events = EPOLLIN, .data.u32 = 77 };
    epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event);
    struct epoll_event got;
    result("epoll_wait disarmed, 0 ms", epoll_wait(epoll, &got, 1, 0));
    spec = (struct itimerspec){ ts(0), ts(2 * MS) };
    timerfd_settime(fd, 0, &spec, NULL);
    result("epoll_wait", epoll_wait(epoll, &got, 1, 1000));
    printf("epoll event: %u EPOLLIN %s\n", got.data.u32, yes(got.events == EPOLLIN));
    read_count(fd, &n);
    timerfd_settime(fd, 0, &spec, NULL);
    fd_set readable;
    FD_ZERO(&readable);
    FD_SET(fd, &readable);
    struct timeval second = { 1, 0 };
    result("select", select(fd + 1, &readable, NULL, NULL, &second));
    printf("readable: %s\n", yes(FD_ISSET(fd, &readable)));
    close(epoll);
    close(fd);

    // Blocking, absolute on CLOCK_REALTIME.
    fd = timerfd_create(CLOCK_REALTIME, 0);
    long long deadline = now_ns(CLOCK_REALTIME) + 3 * MS;
    spec = (struct itimerspec){ ts(0), ts(deadline) };
    result("settime TFD_TIMER_ABSTIME", timerfd_settime(fd, TFD_TIMER_ABSTIME, &spec, NULL));
    count = read_count(fd, &n);
    printf("blocking read: %ld bytes, count %lld, not early: %s\n", n, count, yes(now_ns(CLOCK_REALTIME) >= deadline));

    // A blocking read restarts after a SA_RESTART handler (alarms every 2 ms, the timer at 30 ms),
    // and fails with EINTR without it.
    install(SIGALRM, SA_RESTART);
    handled_count = 0;
    spec = (struct itimerspec){ ts(0), ts(30 * MS) };
    timerfd_settime(fd, 0, &spec, NULL);
    start_alarms();
    count = read_count(fd, &n);
    stop_alarms();
    printf("read across SA_RESTART handlers: %ld bytes, count %lld, a handler ran: %s\n", n, count, yes(handled_count >= 1));
    install(SIGALRM, 0);
    timerfd_settime(fd, 0, &spec, NULL);
    start_alarms();
    read_count(fd, &n);
    stop_alarms();
    result("read across a handler without SA_RESTART", n);
    signal(SIGALRM, SIG_DFL);
    close(fd);

    result("timerfd_create with flags 1", timerfd_create(CLOCK_MONOTONIC, 1));
    result("timerfd_create on clock 99", timerfd_create(99, 0));
    result("timerfd_create on CLOCK_MONOTONIC_RAW", timerfd_create(CLOCK_MONOTONIC_RAW, 0));
    fd = timerfd_create(CLOCK_BOOTTIME, 0);
    struct itimerspec invalid = { { 0, 0 }, { 0, 1000000000 } };
    result("timerfd_settime with tv_nsec 1e9", timerfd_settime(fd, 0, &invalid, NULL));
    result("timerfd_settime with flags 8", timerfd_settime(fd, 8, &spec, NULL));
    int pipe_fds[2];
    pipe(pipe_fds);
    result("timerfd_settime on a pipe", timerfd_settime(pipe_fds[0], 0, &spec, NULL));
    result("timerfd_gettime on a closed descriptor", timerfd_gettime(fd + 10, &current));
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    close(fd);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    alarm_and_itimers();
    cpu_itimer(ITIMER_PROF, SIGPROF, "ITIMER_PROF");
    cpu_itimer(ITIMER_VIRTUAL, SIGVTALRM, "ITIMER_VIRTUAL");
    signal_waits();
    interrupted_waits();
    posix_timers();
    timer_fds();
    printf("done\n");
    return 0;
}
