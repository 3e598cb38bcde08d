/*
 * osbench: what the OS primitives cost, the same static C program natively and on Libra.
 *
 *   osbench [DIR] [--port P]
 *                      one JSON row per primitive on stdout: per-operation median and p99 in ns (rows
 *                      that move data also give "bytes" per operation); DIR adds the file rows (over
 *                      9P on Libra and in the Linux guest), --port P a TCP ping-pong over
 *                      127.0.0.1:P (on Libra a connection inside the guest, Shims/Net/GuestLoopback.cs)
 *   osbench ... --serve after the rows, echo one TCP connection on 0.0.0.0:P (the port --port names)
 *                      until it closes: the host measures a published port's round trip through it;
 *                      DIR/serving exists while the listener is up, so the host knows when to connect
 *   osbench --smoke    the same rows from short loops and a 4 MiB file (the test suite's "it still runs")
 *   osbench --check    correctness only, deterministic lines (the differential suite): ping-pongs
 *                      complete, sleeps and timeouts are never early, spinning threads share the CPU,
 *                      the vDSO is there and its clocks agree with the system calls', fresh anonymous
 *                      pages read zero; with DIR and --port the file and TCP rows' operations too
 *   osbench --sleep MS one nanosleep of MS milliseconds, then exit (the tickless-idle test counts
 *                      the kernel's timer interrupts around it)
 *
 * Options and DIR come in any order. `build.ps1 osbench` runs it natively, in the Linux guest and on
 * Libra (bench/Harness/OsBench). Built with gcc -static -O2 -pthread by `build.ps1 probes`.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

/* Prints one row: samples[] holds per-batch durations; each is divided by the batch size. `bytes`:
   what one operation moves (0: nothing), for the rows whose cost is throughput. */
static void report_bytes(const char *row, int batch, int count, long bytes)
{
    qsort(samples, (size_t)count, sizeof samples[0], compare_u64);
    uint64_t median = samples[count / 2], p99 = samples[(count * 99) / 100 < count ? (count * 99) / 100 : count - 1];
    printf("{\"row\":\"%s\",\"batch\":%d,\"samples\":%d,\"median_ns\":%.1f,\"p99_ns\":%.1f", row, batch, count,
           (double)median / batch, (double)p99 / batch);
    if (bytes > 0) printf(",\"bytes\":%ld", bytes);
    printf("}\n");
    fflush(stdout);
}

static void report(const char *row, int batch, int count) { report_bytes(row, batch, count, 0); }

typedef void (*operation)(int batch);

/* Runs `op` once to warm up, then times batches until the budget is spent (at least `least`). */
static int sample(operation op, int batch, int least)
{
    uint64_t start = now_ns();
    int count = 0;
    op(batch);
    while (count < max_samples && (count < least || now_ns() - start < budget_ns)) {
        uint64_t t0 = now_ns();
        op(batch);
        samples[count++] = now_ns() - t0;
    }
    return count;
}

static void measure(const char *row, operation op, int batch) { report(row, batch, sample(op, batch, 5)); }

static void op_getppid(int n) { for (int i = 0; i < n; i++) syscall(SYS_getppid); }

static void op_clock(int n)
{
    struct timespec ts;
    for (int i = 0; i < n; i++) clock_gettime(CLOCK_MONOTONIC, &ts);
}

static void op_gettimeofday(int n)
{
    struct timeval tv;
    for (int i = 0; i < n; i++) gettimeofday(&tv, NULL);
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

/* ---- eventfd ping-pong: a count to the partner's eventfd, one back on ours; stop_partner ends it ---- */

static int to_partner_event, from_partner_event;
static atomic_int stop_partner;

static void *eventfd_partner(void *unused)
{
    (void)unused;
    uint64_t value;
    while (read(to_partner_event, &value, sizeof value) == sizeof value && !atomic_load(&stop_partner)) {
        if (write(from_partner_event, &value, sizeof value) != sizeof value) break;
    }
    return NULL;
}

static void op_eventfd_round(int n)
{
    uint64_t value = 1;
    for (int i = 0; i < n; i++) {
        if (write(to_partner_event, &value, sizeof value) != sizeof value ||
            read(from_partner_event, &value, sizeof value) != sizeof value) fail("eventfd ping-pong");
    }
}

static pthread_t start_eventfd_partner(void)
{
    pthread_t t;
    to_partner_event = eventfd(0, EFD_CLOEXEC);
    from_partner_event = eventfd(0, EFD_CLOEXEC);
    if (to_partner_event < 0 || from_partner_event < 0) fail("eventfd");
    atomic_store(&stop_partner, 0);
    if (pthread_create(&t, NULL, eventfd_partner, NULL) != 0) fail("pthread_create");
    return t;
}

static void stop_eventfd_partner(pthread_t t)
{
    uint64_t one = 1;
    atomic_store(&stop_partner, 1);
    if (write(to_partner_event, &one, sizeof one) != sizeof one) fail("eventfd stop");
    pthread_join(t, NULL);
    close(to_partner_event); close(from_partner_event);
}

/* ---- TCP over 127.0.0.1:port, one byte each way with Nagle off; the partner echoes until EOF ---- */

static int tcp_client = -1, tcp_server = -1;

static void *tcp_partner(void *unused)
{
    (void)unused;
    char c;
    while (read(tcp_server, &c, 1) == 1)
        if (write(tcp_server, &c, 1) != 1) break;
    return NULL;
}

static void op_tcp_round(int n)
{
    char c = 't';
    for (int i = 0; i < n; i++) {
        if (write(tcp_client, &c, 1) != 1 || read(tcp_client, &c, 1) != 1) fail("TCP ping-pong");
    }
}

/* A TCP listener on `host`:port (host in host byte order), its address in *address. */
static int listen_on(uint32_t host, int port, struct sockaddr_in *address)
{
    *address = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(host) };
    int one = 1;
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listener < 0) fail("socket");
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(listener, (struct sockaddr *)address, sizeof *address) != 0 || listen(listener, 1) != 0) fail("bind or listen");
    return listener;
}

/* Connects a client to a listener on 127.0.0.1:port and starts the echoing partner on the accepted side. */
static pthread_t start_tcp_partner(int port)
{
    struct sockaddr_in address;
    int one = 1;
    int listener = listen_on(INADDR_LOOPBACK, port, &address);
    tcp_client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (tcp_client < 0 || connect(tcp_client, (struct sockaddr *)&address, sizeof address) != 0) fail("connect to 127.0.0.1");
    tcp_server = accept(listener, NULL, NULL);
    if (tcp_server < 0) fail("accept");
    close(listener);
    setsockopt(tcp_client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(tcp_server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    pthread_t t;
    if (pthread_create(&t, NULL, tcp_partner, NULL) != 0) fail("pthread_create");
    return t;
}

/* Listens on 0.0.0.0:port, marks `dir`/serving while it does, and echoes the one connection it
   accepts byte for byte until the peer closes it. */
static void serve_one_connection(const char *dir, int port)
{
    struct sockaddr_in address;
    int one = 1;
    int listener = listen_on(INADDR_ANY, port, &address);
    char marker[4096];
    snprintf(marker, sizeof marker, "%s/serving", dir != NULL ? dir : ".");
    int fd = open(marker, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) fail("create the serving marker");
    close(fd);
    tcp_server = accept(listener, NULL, NULL);
    if (tcp_server < 0) fail("accept");
    close(listener);
    unlink(marker);
    setsockopt(tcp_server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    tcp_partner(NULL);
    close(tcp_server);
}

static void stop_tcp_partner(pthread_t t)
{
    close(tcp_client);
    pthread_join(t, NULL);
    close(tcp_server);
}

/* ---- memory: a first touch of an anonymous page, and mapping and unmapping 64 KiB ---- */

#define FAULT_PAGES 256

/* Times the first write to each of FAULT_PAGES fresh anonymous pages (the mapping itself untimed),
   at least `least` times and until `budget` ns have passed; fills samples[], returns the count. Every page must read back what was written. */
static int page_fault_rounds(int least, uint64_t budget)
{
    uint64_t start = now_ns();
    int count = 0;
    while (count < max_samples && (count < least || now_ns() - start < budget)) {
        volatile char *area = mmap(NULL, FAULT_PAGES * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (area == MAP_FAILED) fail("mmap");
        uint64_t t0 = now_ns();
        for (int page = 0; page < FAULT_PAGES; page++) area[page * 4096] = (char)page;
        samples[count++] = now_ns() - t0;
        for (int page = 0; page < FAULT_PAGES; page++)
            if (area[page * 4096] != (char)page || area[page * 4096 + 1] != 0) fail("a fresh anonymous page");
        munmap((void *)area, FAULT_PAGES * 4096);
    }
    return count;
}

static void op_mmap_munmap(int n)
{
    for (int i = 0; i < n; i++) {
        void *area = mmap(NULL, 64 * 1024, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (area == MAP_FAILED || munmap(area, 64 * 1024) != 0) fail("mmap+munmap 64 KiB");
    }
}

/* ---- files in DIR: a 4 KiB file to stat and read, a big file written and read sequentially ---- */

#define CHUNK (1024 * 1024)

static char small_path[4096], big_path[4096];
static long big_bytes = 64L * 1024 * 1024;
static char chunk[CHUNK], readback[CHUNK];   /* what is written; where reads land */

static void write_file(const char *path, long bytes)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) fail("create a file in DIR");
    for (long done = 0; done < bytes; ) {
        long n = bytes - done < CHUNK ? bytes - done : CHUNK;
        ssize_t w = write(fd, chunk, (size_t)n);
        if (w <= 0) fail("write");
        done += w;
    }
    if (close(fd) != 0) fail("close after writing");
}

/* Reads the whole file; returns the bytes read. */
static long read_file(const char *path, char *into, long size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail("open a file in DIR");
    long total = 0;
    ssize_t r;
    while ((r = read(fd, into, (size_t)size)) > 0) total += r;
    if (r < 0) fail("read");
    close(fd);
    return total;
}

static void op_stat(int n)
{
    struct stat st;
    for (int i = 0; i < n; i++)
        if (stat(small_path, &st) != 0 || st.st_size != 4096) fail("stat");
}

static void op_open_read_close(int n)
{
    for (int i = 0; i < n; i++)
        if (read_file(small_path, readback, 4096) != 4096) fail("open+read 4 KiB+close");
}

static void op_write_big(int n) { for (int i = 0; i < n; i++) write_file(big_path, big_bytes); }

static void op_read_big(int n)
{
    for (int i = 0; i < n; i++)
        if (read_file(big_path, readback, CHUNK) != big_bytes) fail("sequential read");
}

/* Names the files under `dir` and writes the 4 KiB one (the chunk's pattern: byte i is i * 7). */
static void prepare_files(const char *dir)
{
    snprintf(small_path, sizeof small_path, "%s/osbench-4k", dir);
    snprintf(big_path, sizeof big_path, "%s/osbench-big", dir);
    for (int i = 0; i < CHUNK; i++) chunk[i] = (char)(i * 7);
    write_file(small_path, 4096);
}

static void remove_files(void)
{
    unlink(small_path);
    unlink(big_path);
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

static void bench(const char *dir, int port, int serve)
{
    measure("getppid", op_getppid, 100);
    measure("clock_gettime_monotonic", op_clock, 100);
    measure("gettimeofday", op_gettimeofday, 100);
    measure("sched_yield", op_yield, 100);
    pthread_t t = start_futex_partner();
    measure("futex_pingpong_round_trip", op_futex_round, 10);
    stop_futex_partner(t);
    t = start_pipe_partner();
    measure("pipe_pingpong_round_trip", op_pipe_round, 10);
    stop_pipe_partner(t);
    t = start_eventfd_partner();
    measure("eventfd_pingpong_round_trip", op_eventfd_round, 10);
    stop_eventfd_partner(t);
    measure("thread_create_join", op_thread, 1);
    report("futex_wake_to_run_spinning_waker", 1, spinning_waker_rounds(max_samples < 200 ? max_samples : 200, 2 * budget_ns));
    report("anon_page_fault_4k", FAULT_PAGES, page_fault_rounds(5, budget_ns));
    measure("mmap_munmap_64k", op_mmap_munmap, 10);
    measure_sleep("nanosleep_1ms_achieved", 1000000, 200);
    measure_sleep("nanosleep_100us_achieved", 100000, 500);
    if (dir != NULL) {
        prepare_files(dir);
        measure("file_stat", op_stat, 10);
        measure("file_open_read_4k_close", op_open_read_close, 10);
        report_bytes("file_write_sequential", 1, sample(op_write_big, 1, 3), big_bytes);
        report_bytes("file_read_sequential", 1, sample(op_read_big, 1, 3), big_bytes);
        remove_files();
    }
    if (port != 0) {
        t = start_tcp_partner(port);
        measure("tcp_loopback_pingpong_round_trip", op_tcp_round, 10);
        stop_tcp_partner(t);
        if (serve) serve_one_connection(dir, port);
    }
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

static void check(const char *dir, int port)
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

    t = start_eventfd_partner();
    op_eventfd_round(1000);
    stop_eventfd_partner(t);
    printf("eventfd ping-pong: 1000 rounds completed\n");

    op_thread(50);
    printf("thread create+join: 50 completed\n");

    page_fault_rounds(4, 0);
    printf("fresh anonymous pages read zero and keep what was written: 4 x %d pages\n", FAULT_PAGES);
    op_mmap_munmap(100);
    printf("mmap+munmap 64 KiB: 100 completed\n");

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

    if (dir != NULL) {
        big_bytes = 4L * 1024 * 1024;
        prepare_files(dir);
        op_stat(100);
        printf("stat of a 4 KiB file: 100 completed, each with st_size 4096\n");
        op_open_read_close(100);
        printf("open+read 4 KiB+close: 100 completed, each read 4096 bytes, the last what was written: %s\n",
               memcmp(readback, chunk, 4096) == 0 ? "yes" : "no");
        op_write_big(2);
        op_read_big(2);
        int fd = open(big_path, O_RDONLY | O_CLOEXEC);
        int same = fd >= 0;
        for (long done = 0; same && done < big_bytes; done += CHUNK)
            same = read(fd, readback, CHUNK) == CHUNK && memcmp(readback, chunk, CHUNK) == 0;
        close(fd);
        printf("a 4 MiB file written and read sequentially twice reads back what was written: %s\n", same ? "yes" : "no");
        remove_files();
        struct stat st;
        printf("the files are gone after unlink: %s\n", stat(small_path, &st) != 0 && errno == ENOENT ? "yes" : "no");
    }
    if (port != 0) {
        t = start_tcp_partner(port);
        op_tcp_round(1000);
        stop_tcp_partner(t);
        printf("TCP ping-pong over 127.0.0.1: 1000 rounds completed\n");
    }
    printf("osbench: all checks done\n");
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *sleep_ms = NULL;
    int port = 0, checking = 0, serve = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--check") == 0) checking = 1;
        else if (strcmp(argv[i], "--smoke") == 0) {
            budget_ns = 20000000;
            max_samples = 20;
            big_bytes = 4L * 1024 * 1024;
        }
        else if (strcmp(argv[i], "--sleep") == 0 && i + 1 < argc) sleep_ms = argv[++i];
        else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) port = atoi(argv[++i]);
        else if (strcmp(argv[i], "--serve") == 0) serve = 1;
        else if (argv[i][0] != '-') dir = argv[i];
        else {
            fprintf(stderr, "osbench: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (sleep_ms != NULL) {
        sleep_ns((uint64_t)atol(sleep_ms) * 1000000u);
        printf("slept %s ms\n", sleep_ms);
        return 0;
    }
    if (checking) check(dir, port);
    else bench(dir, port, serve);
    return 0;
}
