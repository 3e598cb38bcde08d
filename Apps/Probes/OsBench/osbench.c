/*
 * osbench: what the OS primitives cost, the same static C program natively and on Libra.
 *
 *   osbench            one JSON row per primitive on stdout: per-operation median and p99 in ns
 *   osbench --smoke    the same rows from short loops (the test suite's "it still runs")
 *   osbench --check    correctness only, deterministic lines (the differential suite): ping-pongs
 *                      complete, sleeps and timeouts are never early, spinning threads share the CPU,
 *                      the vDSO is there and its clocks agree with the system calls'
 *   osbench --sleep MS one nanosleep of MS milliseconds, then exit (the tickless-idle test counts
 *                      the kernel's timer interrupts around it)
 *
 * Built with gcc -static -O2 -pthread by `build.ps1 probes` (build/probes.ps1).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_SAMPLES 2000

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static long futex(atomic_int *word, int op, int value, const struct timespec *timeout)
{
    return syscall(SYS_futex, word, op, value, timeout, NULL, 0);
}

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) { }
}

static void fail(const char *what)
{
    printf("FAILED: %s\n", what);
    fflush(stdout);
    exit(1);
}

/* ---- sampling: a row is at least 5 and up to max_samples batches of `batch` operations within a
   time budget ---- */

static uint64_t budget_ns = 500000000;      /* per row */
static int max_samples = 1000;
static uint64_t samples[MAX_SAMPLES];

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Prints one row: samples[] holds per-batch durations; each is divided by the batch size. */
static void report(const char *row, int batch, int count)
{
    qsort(samples, (size_t)count, sizeof samples[0], compare_u64);
    uint64_t median = samples[count / 2], p99 = samples[(count * 99) / 100 < count ? (count * 99) / 100 : count - 1];
    printf("{\"row\":\"%s\",\"batch\":%d,\"samples\":%d,\"median_ns\":%.1f,\"p99_ns\":%.1f}\n",
           row, batch, count, (double)median / batch, (double)p99 / batch);
    fflush(stdout);
}

typedef void (*operation)(int batch);

static void measure(const char *row, operation op, int batch)
{
    uint64_t start = now_ns();
    int count = 0;
    op(batch);                                  /* warm-up */
    while (count < max_samples && (count < 5 || now_ns() - start < budget_ns)) {
        uint64_t t0 = now_ns();
        op(batch);
        samples[count++] = now_ns() - t0;
    }
    report(row, batch, count);
}

static void op_getppid(int n) { for (int i = 0; i < n; i++) syscall(SYS_getppid); }

static void op_clock(int n)
{
    struct timespec ts;
    for (int i = 0; i < n; i++) clock_gettime(CLOCK_MONOTONIC, &ts);
}

static void op_yield(int n) { for (int i = 0; i < n; i++) sched_yield(); }

/* ---- futex ping-pong: the word is 1 when the partner's turn, 0 when ours, 2 to stop ---- */

static atomic_int ping_word;

/* Waits in FUTEX_WAIT until *word is no longer 0; returns what it became. */
static int wait_for_turn(atomic_int *word)
{
    int v;
    while ((v = atomic_load(word)) == 0) futex(word, FUTEX_WAIT_PRIVATE, 0, NULL);
    return v;
}

/* Sets *word to `value` and wakes one waiter on it. */
static void hand_over(atomic_int *word, int value)
{
    atomic_store(word, value);
    futex(word, FUTEX_WAKE_PRIVATE, 1, NULL);
}

static void *futex_partner(void *unused)
{
    (void)unused;
    for (;;) {
        if (wait_for_turn(&ping_word) == 2) return NULL;
        hand_over(&ping_word, 0);
    }
}

static void op_futex_round(int n)
{
    for (int i = 0; i < n; i++) {
        hand_over(&ping_word, 1);
        while (atomic_load(&ping_word) == 1) futex(&ping_word, FUTEX_WAIT_PRIVATE, 1, NULL);
    }
}

static pthread_t start_futex_partner(void)
{
    pthread_t t;
    atomic_store(&ping_word, 0);
    if (pthread_create(&t, NULL, futex_partner, NULL) != 0) fail("pthread_create");
    return t;
}

static void stop_futex_partner(pthread_t t)
{
    hand_over(&ping_word, 2);
    pthread_join(t, NULL);
}

/* ---- wake-up latency while the waker keeps the CPU: it wakes the partner, then spins until the
   partner has run (a thread that sets an event and goes on working) ---- */

static atomic_int wake_word, partner_ran;
static atomic_ulong partner_ran_at;

static void *spin_wake_partner(void *unused)
{
    (void)unused;
    for (;;) {
        if (wait_for_turn(&wake_word) == 2) return NULL;
        atomic_store(&partner_ran_at, now_ns());
        atomic_store(&wake_word, 0);
        atomic_store(&partner_ran, 1);
    }
}

/* Fills samples[] with the latency of `rounds` wake-ups; returns how many were taken. */
static int spinning_waker_rounds(int rounds, uint64_t budget)
{
    pthread_t t;
    atomic_store(&wake_word, 0);
    if (pthread_create(&t, NULL, spin_wake_partner, NULL) != 0) fail("pthread_create");
    uint64_t start = now_ns();
    int count = 0;
    while (count < rounds && (count < 5 || now_ns() - start < budget)) {
        sleep_ns(200000);                       /* the partner is back in FUTEX_WAIT */
        atomic_store(&partner_ran, 0);
        uint64_t t0 = now_ns();
        hand_over(&wake_word, 1);
        while (!atomic_load(&partner_ran)) { }
        uint64_t at = atomic_load(&partner_ran_at);
        samples[count++] = at > t0 ? at - t0 : 0;
    }
    hand_over(&wake_word, 2);
    pthread_join(t, NULL);
    return count;
}

/* ---- pipe ping-pong: one byte each way; byte 'q' stops the partner ---- */

static int to_partner[2], from_partner[2];

static void *pipe_partner(void *unused)
{
    (void)unused;
    char c;
    while (read(to_partner[0], &c, 1) == 1) {
        if (c == 'q') break;
        if (write(from_partner[1], &c, 1) != 1) break;
    }
    return NULL;
}

static void op_pipe_round(int n)
{
    char c = 'p';
    for (int i = 0; i < n; i++) {
        if (write(to_partner[1], &c, 1) != 1 || read(from_partner[0], &c, 1) != 1) fail("pipe ping-pong");
    }
}

static pthread_t start_pipe_partner(void)
{
    pthread_t t;
    if (pipe(to_partner) != 0 || pipe(from_partner) != 0) fail("pipe");
    if (pthread_create(&t, NULL, pipe_partner, NULL) != 0) fail("pthread_create");
    return t;
}

static void stop_pipe_partner(pthread_t t)
{
    char q = 'q';
    if (write(to_partner[1], &q, 1) != 1) fail("pipe stop");
    pthread_join(t, NULL);
    close(to_partner[0]); close(to_partner[1]); close(from_partner[0]); close(from_partner[1]);
}

/* ---- thread create + join ---- */

static void *nothing(void *arg) { return arg; }

static void op_thread(int n)
{
    for (int i = 0; i < n; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, nothing, NULL) != 0) fail("pthread_create");
        pthread_join(t, NULL);
    }
}

/* ---- nanosleep: the achieved duration of each call ---- */

static void measure_sleep(const char *row, uint64_t ns, int most)
{
    uint64_t start = now_ns();
    int count = 0;
    while (count < most && count < max_samples && (count < 5 || now_ns() - start < 2 * budget_ns)) {
        uint64_t t0 = now_ns();
        sleep_ns(ns);
        samples[count++] = now_ns() - t0;
    }
    report(row, 1, count);
}

static void bench(void)
{
    measure("getppid", op_getppid, 100);
    measure("clock_gettime_monotonic", op_clock, 100);
    measure("sched_yield", op_yield, 100);
    pthread_t t = start_futex_partner();
    measure("futex_pingpong_round_trip", op_futex_round, 10);
    stop_futex_partner(t);
    t = start_pipe_partner();
    measure("pipe_pingpong_round_trip", op_pipe_round, 10);
    stop_pipe_partner(t);
    measure("thread_create_join", op_thread, 1);
    report("futex_wake_to_run_spinning_waker", 1, spinning_waker_rounds(max_samples < 200 ? max_samples : 200, 2 * budget_ns));
    measure_sleep("nanosleep_1ms_achieved", 1000000, 200);
    measure_sleep("nanosleep_100us_achieved", 100000, 500);
}

/* ---- correctness checks: only what is true on any correct kernel, never how fast ---- */

static atomic_int spin_stop;
static atomic_long spin_counts[2];

static void *spinner(void *arg)
{
    atomic_long *count = arg;
    while (!atomic_load(&spin_stop)) atomic_fetch_add(count, 1);
    return NULL;
}

/* ---- the vDSO: there, and its clocks agree with the system calls' ---- */

static uint64_t timespec_ns(const struct timespec *ts) { return (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec; }

/* clock_gettime through the C library (the vDSO) and by the syscall instruction, interleaved:
   neither ever reads behind the other. */
static int never_backwards(clockid_t clock, int rounds)
{
    struct timespec ts;
    uint64_t last = 0;
    for (int i = 0; i < rounds; i++) {
        clock_gettime(clock, &ts);
        uint64_t by_vdso = timespec_ns(&ts);
        syscall(SYS_clock_gettime, clock, &ts);
        uint64_t by_syscall = timespec_ns(&ts);
        if (by_vdso < last || by_syscall < by_vdso) return 0;
        last = by_syscall;
    }
    return 1;
}

/* The start of the first area /proc/self/maps names `name`, or 0. */
static unsigned long maps_area(const char *name)
{
    FILE *maps = fopen("/proc/self/maps", "r");
    if (maps == NULL) return 0;
    char line[512];
    unsigned long start = 0;
    while (start == 0 && fgets(line, sizeof line, maps) != NULL)
        if (strstr(line, name) != NULL) sscanf(line, "%lx", &start);
    fclose(maps);
    return start;
}

static void check_vdso(void)
{
    const unsigned char *vdso = (const unsigned char *)getauxval(AT_SYSINFO_EHDR);
    printf("vDSO: AT_SYSINFO_EHDR set: %s, an ELF shared object: %s\n", vdso != NULL ? "yes" : "no",
           vdso != NULL && memcmp(vdso, "\177ELF", 4) == 0 && vdso[16] == 3 ? "yes" : "no");
    unsigned long vvar = maps_area("[vvar]");
    printf("/proc/self/maps shows [vvar]: %s, [vdso]: %s\n", vvar != 0 ? "yes" : "no", maps_area("[vdso]") != 0 ? "yes" : "no");
    int refused = vvar != 0 && mprotect((void *)vvar, 4096, PROT_READ | PROT_WRITE) == -1 && errno == EACCES;
    printf("mprotect([vvar], PROT_READ|PROT_WRITE) fails with EACCES: %s\n", refused ? "yes" : "no");

    static const struct { clockid_t id; const char *name; } clocks[] = {
        { CLOCK_MONOTONIC, "MONOTONIC" }, { CLOCK_MONOTONIC_RAW, "MONOTONIC_RAW" }, { CLOCK_MONOTONIC_COARSE, "MONOTONIC_COARSE" },
        { CLOCK_BOOTTIME, "BOOTTIME" },
    };
    for (size_t i = 0; i < sizeof clocks / sizeof clocks[0]; i++)
        printf("%s by the vDSO and by syscall, interleaved 10000 times, never backwards: %s\n", clocks[i].name,
               never_backwards(clocks[i].id, 10000) ? "yes" : "no");

    struct timespec realtime, by_syscall;
    clock_gettime(CLOCK_REALTIME, &realtime);
    syscall(SYS_clock_gettime, CLOCK_REALTIME, &by_syscall);
    uint64_t now = timespec_ns(&realtime);
    printf("REALTIME after 2020 and within 1 s of the syscall's: %s\n",
           realtime.tv_sec > 1577836800 && timespec_ns(&by_syscall) - now < 1000000000u ? "yes" : "no");
    struct timeval tv;
    gettimeofday(&tv, NULL);
    uint64_t tod = (uint64_t)tv.tv_sec * 1000000000u + (uint64_t)tv.tv_usec * 1000u;
    time_t seconds = time(NULL);
    /* time() may be the coarse clock's second (Linux's vDSO reads it at the last tick): one either way. */
    uint64_t second = now / 1000000000u;
    printf("gettimeofday within 1 s of REALTIME and not before it, time within 1 s: %s\n",
           tod + 1000 >= now && tod - now < 1000000000u && (uint64_t)seconds + 1 >= second && (uint64_t)seconds <= second + 1 ? "yes" : "no");

    struct timespec resolution, resolution_by_syscall;
    clock_getres(CLOCK_MONOTONIC, &resolution);
    syscall(SYS_clock_getres, CLOCK_MONOTONIC, &resolution_by_syscall);
    printf("clock_getres(MONOTONIC) by the vDSO equals the syscall's: %s\n",
           resolution.tv_sec == resolution_by_syscall.tv_sec && resolution.tv_nsec == resolution_by_syscall.tv_nsec ? "yes" : "no");
    unsigned cpu = 99, node = 99;
    printf("sched_getcpu() >= 0: %s, getcpu by syscall answers: %s\n", sched_getcpu() >= 0 ? "yes" : "no",
           syscall(SYS_getcpu, &cpu, &node, NULL) == 0 && cpu != 99 && node != 99 ? "yes" : "no");

    /* A clock the vDSO leaves to the kernel still works through the C library. */
    struct timespec cpu0, cpu1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu0);
    for (volatile int spin = 0; spin < 1000000; spin++) { }
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu1);
    printf("THREAD_CPUTIME_ID (the vDSO's fallback to the syscall) advances: %s\n", timespec_ns(&cpu1) > timespec_ns(&cpu0) ? "yes" : "no");
}

static void check(void)
{
    check_vdso();

    /* 1,000 futex ping-pong rounds between two threads complete. */
    pthread_t t = start_futex_partner();
    op_futex_round(1000);
    stop_futex_partner(t);
    printf("futex ping-pong: 1000 rounds completed\n");

    /* The same while a third thread spins: wake-ups must not starve it, nor it them. */
    atomic_store(&spin_stop, 0);
    atomic_store(&spin_counts[0], 0);
    pthread_t s;
    if (pthread_create(&s, NULL, spinner, &spin_counts[0]) != 0) fail("pthread_create");
    t = start_futex_partner();
    op_futex_round(200);
    stop_futex_partner(t);
    while (atomic_load(&spin_counts[0]) == 0) sched_yield();
    atomic_store(&spin_stop, 1);
    pthread_join(s, NULL);
    printf("futex ping-pong beside a spinning thread: 200 rounds completed, the spinner ran\n");

    spinning_waker_rounds(20, 0);
    printf("wake-up while the waker spins: 20 rounds completed\n");

    t = start_pipe_partner();
    op_pipe_round(1000);
    stop_pipe_partner(t);
    printf("pipe ping-pong: 1000 rounds completed\n");

    op_thread(50);
    printf("thread create+join: 50 completed\n");

    /* Two spinning threads both make progress while the main thread sleeps. */
    atomic_store(&spin_stop, 0);
    atomic_store(&spin_counts[0], 0);
    atomic_store(&spin_counts[1], 0);
    pthread_t a, b;
    if (pthread_create(&a, NULL, spinner, &spin_counts[0]) != 0 || pthread_create(&b, NULL, spinner, &spin_counts[1]) != 0)
        fail("pthread_create");
    sleep_ns(200000000);
    uint64_t waited = 0;
    while ((atomic_load(&spin_counts[0]) == 0 || atomic_load(&spin_counts[1]) == 0) && waited < 10000000000u) {
        sleep_ns(10000000);
        waited += 10000000;
    }
    atomic_store(&spin_stop, 1);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("two spinning threads both ran: %s\n", atomic_load(&spin_counts[0]) > 0 && atomic_load(&spin_counts[1]) > 0 ? "yes" : "no");

    /* Sleeps and timeouts last at least what was asked. */
    uint64_t t0 = now_ns();
    sleep_ns(1000000);
    printf("nanosleep(1 ms) lasted at least 1 ms: %s\n", now_ns() - t0 >= 1000000 ? "yes" : "no");
    int early = 0;
    for (int i = 0; i < 20; i++) {
        t0 = now_ns();
        sleep_ns(100000);
        if (now_ns() - t0 < 100000) early++;
    }
    printf("nanosleep(100 us) x 20, none early: %s\n", early == 0 ? "yes" : "no");

    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    uint64_t target = (uint64_t)deadline.tv_sec * 1000000000u + (uint64_t)deadline.tv_nsec + 2000000;
    deadline.tv_sec = (time_t)(target / 1000000000u);
    deadline.tv_nsec = (long)(target % 1000000000u);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL) == EINTR) { }
    printf("clock_nanosleep(MONOTONIC, TIMER_ABSTIME, now + 2 ms) not early: %s\n", now_ns() >= target ? "yes" : "no");

    atomic_int never = 0;
    struct timespec one_ms = { 0, 1000000 };
    t0 = now_ns();
    long r = futex(&never, FUTEX_WAIT_PRIVATE, 0, &one_ms);
    int timed_out = r == -1 && errno == ETIMEDOUT;
    printf("futex wait with a 1 ms timeout: ETIMEDOUT %s, lasted at least 1 ms: %s\n", timed_out ? "yes" : "no",
           now_ns() - t0 >= 1000000 ? "yes" : "no");

    t0 = now_ns();
    int ready = poll(NULL, 0, 5);
    printf("poll(no fds, 5 ms) returned %d, lasted at least 5 ms: %s\n", ready, now_ns() - t0 >= 5000000 ? "yes" : "no");

    struct timespec resolution;
    clock_getres(CLOCK_MONOTONIC, &resolution);
    printf("clock_getres(MONOTONIC) at most 1 ms: %s\n", resolution.tv_sec == 0 && resolution.tv_nsec > 0 && resolution.tv_nsec <= 1000000 ? "yes" : "no");
    printf("osbench: all checks done\n");
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--check") == 0) {
        check();
        return 0;
    }
    if (argc > 2 && strcmp(argv[1], "--sleep") == 0) {
        sleep_ns((uint64_t)atol(argv[2]) * 1000000u);
        printf("slept %s ms\n", argv[2]);
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "--smoke") == 0) {
        budget_ns = 20000000;
        max_samples = 20;
    }
    bench();
    return 0;
}
