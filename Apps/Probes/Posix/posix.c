// posix: behaviours a .NET program never shows because its runtime hides them (it ignores SIGPIPE,
// for one), checked with a static C program (gcc -static) natively and on Libra: same output, same
// exit status. One mode per run:
//   sigpipe-pipe      write to a pipe whose reader is closed, SIGPIPE set to its default: death by
//                     SIGPIPE (status 141 from a shell), nothing printed after the write
//   sigpipe-ignored   the same with SIGPIPE ignored: write fails with EPIPE and the program goes on
//   sigpipe-handled   the same with a handler: the handler runs once, then write fails with EPIPE
//   vector-state      what a thread holds in XMM0-15, the YMM upper halves (when the CPU has AVX),
//                     MXCSR and the x87 control word is there after a system call: a plain one,
//                     sched_yield between two threads holding other values, and a tgkill whose
//                     signal handler scribbles on all of them before the call returns
//   limits            /proc/self/limits: the header and each row's name, column layout and unit
//                     exactly; values only as well-formed or not (a number or "unlimited": they
//                     differ between hosts),
//                     except open files and stack size, which must equal getrlimit's, before and
//                     after setrlimit lowers them
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile sig_atomic_t handled;

static void on_sigpipe(int signal) { (void)signal; handled++; }

static int write_to_readerless_pipe(void)
{
    int fds[2];
    if (pipe(fds) != 0) { perror("pipe"); return 1; }
    close(fds[0]);
    printf("writing to a pipe without a reader\n");
    fflush(stdout);
    ssize_t n = write(fds[1], "x", 1);
    int error = errno;
    printf("write returned %zd with errno %s\n", n, n < 0 ? strerror(error) : "none");
    return 0;
}

/* ---- vector-state ---- */

// The registers a call must keep: YMM0-15 (XMM in the low 16 bytes), MXCSR, the x87 control word.
struct vector_state
{
    unsigned char ymm[16][32];
    uint32_t mxcsr;
    uint16_t fcw;
};

static int cpu_has_avx(void)
{
    unsigned a, b, c, d;
    __asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
    if ((c & (1u << 27)) == 0 || (c & (1u << 28)) == 0) return 0;       // OSXSAVE, AVX
    unsigned lo, hi;
    __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (lo & 6) == 6;                                               // XCR0: SSE and AVX state on
}

#define XMM_CLOBBERS "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", \
    "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"
#define LOAD_YMM(i) "vmovdqu " #i "*32(%%rbx), %%xmm" #i "\n\tvinsertf128 $1, " #i "*32+16(%%rbx), %%ymm" #i ", %%ymm" #i "\n\t"
#define STORE_YMM(i) "vmovdqu %%ymm" #i ", " #i "*32(%%r12)\n\t"
#define LOAD_XMM(i) "movdqu " #i "*32(%%rbx), %%xmm" #i "\n\t"
#define STORE_XMM(i) "movdqu %%xmm" #i ", " #i "*32(%%r12)\n\t"
#define SIXTEEN(m) m(0) m(1) m(2) m(3) m(4) m(5) m(6) m(7) m(8) m(9) m(10) m(11) m(12) m(13) m(14) m(15)

static int avx;

// Loads `in` into the registers, makes the system call with nothing in between, and stores the
// registers into `out` right after it.
static long syscall_holding(const struct vector_state *in, struct vector_state *out, long number, long a0, long a1, long a2)
{
    register struct vector_state *to __asm__("r12") = out;
    long result = number;
    if (avx)
        __asm__ volatile(SIXTEEN(LOAD_YMM) "ldmxcsr 512(%%rbx)\n\tfldcw 516(%%rbx)\n\tsyscall\n\t"
                         SIXTEEN(STORE_YMM) "stmxcsr 512(%%r12)\n\tfnstcw 516(%%r12)\n\tvzeroupper"
                         : "+a"(result) : "D"(a0), "S"(a1), "d"(a2), "b"(in), "r"(to)
                         : "rcx", "r11", "memory", XMM_CLOBBERS);
    else
        __asm__ volatile(SIXTEEN(LOAD_XMM) "ldmxcsr 512(%%rbx)\n\tfldcw 516(%%rbx)\n\tsyscall\n\t"
                         SIXTEEN(STORE_XMM) "stmxcsr 512(%%r12)\n\tfnstcw 516(%%r12)"
                         : "+a"(result) : "D"(a0), "S"(a1), "d"(a2), "b"(in), "r"(to)
                         : "rcx", "r11", "memory", XMM_CLOBBERS);
    return result;
}

static void fill_state(struct vector_state *state, unsigned seed, uint32_t mxcsr, uint16_t fcw)
{
    memset(state, 0, sizeof *state);
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < (avx ? 32 : 16); j++) state->ymm[i][j] = (unsigned char)(seed * 131 + i * 32 + j);
    state->mxcsr = mxcsr;
    state->fcw = fcw;
}

static int same_state(const struct vector_state *a, const struct vector_state *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

static const char *verdict(int ok) { return ok ? "kept" : "LOST"; }

static volatile int yield_failures, yielder_rounds;

static void *yielder(void *arg)
{
    (void)arg;
    struct vector_state in, out;
    fill_state(&in, 2, 0x5f80, 0x0f7f);         // round up; x87 rounding toward zero
    for (int i = 0; i < 2000; i++)
    {
        syscall_holding(&in, &out, SYS_sched_yield, 0, 0, 0);
        if (!same_state(&in, &out)) yield_failures++;
        yielder_rounds++;
    }
    return NULL;
}

static volatile sig_atomic_t scribbled;

// Runs between the tgkill's return and the caller's next instruction: every register the caller
// holds gets other values, which rt_sigreturn must undo.
static void scribble(int signal)
{
    (void)signal;
    struct vector_state junk, out;
    fill_state(&junk, 3, 0x3f80, 0x007f);
    syscall_holding(&junk, &out, SYS_getppid, 0, 0, 0);
    scribbled++;
}

static int vector_state(void)
{
    avx = cpu_has_avx();
    struct vector_state in, out;
    fill_state(&in, 1, 0xff80, 0x027f);         // FTZ and round toward zero; x87 double precision

    int kept = 1;
    for (int i = 0; i < 1000; i++)
    {
        syscall_holding(&in, &out, SYS_getppid, 0, 0, 0);
        kept &= same_state(&in, &out);
    }
    printf("registers across getppid: %s\n", verdict(kept));

    pthread_t thread;
    pthread_create(&thread, NULL, yielder, NULL);
    kept = 1;
    for (int i = 0; i < 2000; i++)
    {
        syscall_holding(&in, &out, SYS_sched_yield, 0, 0, 0);
        kept &= same_state(&in, &out);
    }
    pthread_join(thread, NULL);
    printf("registers across sched_yield beside a thread holding others: %s, and that thread's: %s\n",
           verdict(kept), verdict(yield_failures == 0 && yielder_rounds == 2000));

    struct sigaction action = { .sa_handler = scribble };
    sigaction(SIGUSR1, &action, NULL);
    kept = 1;
    for (int i = 0; i < 100; i++)
    {
        syscall_holding(&in, &out, SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR1);
        kept &= same_state(&in, &out);
    }
    printf("registers across a tgkill whose handler changes them: %s (handler ran %d times)\n", verdict(kept), (int)scribbled);
    return 0;
}

/* ---- limits ---- */

// One row of /proc/self/limits as fs/proc/base.c prints it: "%-25s %-20s %-20s %-10s", so the
// values start at columns 26 and 47 and the unit at 68 (the priorities have none).
static const char *value_kind(const char *field)
{
    if (strncmp(field, "unlimited ", 10) == 0) return "value";
    char *end;
    strtoull(field, &end, 10);
    return end != field && *end == ' ' ? "value" : "malformed";
}

static unsigned long long value_of(const char *field)
{
    return strncmp(field, "unlimited ", 10) == 0 ? RLIM_INFINITY : strtoull(field, NULL, 10);
}

// Reads the file and prints what is the same on every Linux; returns the soft and hard values of
// the rows named `a` and `b` through the pointers.
static int read_limits(int print, const char *a, unsigned long long *a_values, const char *b, unsigned long long *b_values)
{
    FILE *f = fopen("/proc/self/limits", "r");
    if (f == NULL) { printf("open /proc/self/limits: %s\n", strerror(errno)); return 1; }
    char line[256];
    int rows = 0;
    while (fgets(line, sizeof line, f) != NULL)
    {
        size_t length = strlen(line);
        if (rows++ == 0)
        {
            if (print) printf("header: [%.*s]\n", (int)(length - 1), line);
            continue;
        }
        int laid_out = length >= 69 && line[25] == ' ' && line[46] == ' ' && line[67] == ' ' && line[length - 1] == '\n';
        char name[26];
        memcpy(name, line, 25);
        name[25] = 0;
        for (int i = 24; i >= 0 && name[i] == ' '; i--) name[i] = 0;
        if (print)
            printf("%-25s soft %s hard %s unit [%.*s] layout %s\n", name, laid_out ? value_kind(line + 26) : "-",
                   laid_out ? value_kind(line + 47) : "-", laid_out ? (int)(length - 69) : 0, laid_out ? line + 68 : "", laid_out ? "ok" : "wrong");
        if (laid_out && strcmp(name, a) == 0) { a_values[0] = value_of(line + 26); a_values[1] = value_of(line + 47); }
        if (laid_out && strcmp(name, b) == 0) { b_values[0] = value_of(line + 26); b_values[1] = value_of(line + 47); }
    }
    fclose(f);
    if (print) printf("rows: %d\n", rows - 1);
    return 0;
}

static void compare_with_getrlimit(const char *when)
{
    unsigned long long files[2] = { 1, 1 }, stack[2] = { 1, 1 };
    read_limits(0, "Max open files", files, "Max stack size", stack);
    struct rlimit nofile, stacklimit;
    getrlimit(RLIMIT_NOFILE, &nofile);
    getrlimit(RLIMIT_STACK, &stacklimit);
    printf("%s: open files as getrlimit says: %s, stack size as getrlimit says: %s\n", when,
           files[0] == nofile.rlim_cur && files[1] == nofile.rlim_max ? "yes" : "no",
           stack[0] == stacklimit.rlim_cur && stack[1] == stacklimit.rlim_max ? "yes" : "no");
}

static int limits(void)
{
    unsigned long long unused[2];
    if (read_limits(1, "", unused, "", unused) != 0) return 1;
    compare_with_getrlimit("at start");
    struct rlimit nofile = { 0 }, stacklimit = { 0 };
    getrlimit(RLIMIT_NOFILE, &nofile);
    getrlimit(RLIMIT_STACK, &stacklimit);
    nofile.rlim_cur = 100;
    nofile.rlim_max = 200;
    stacklimit.rlim_cur = 4 << 20;
    printf("setrlimit open files 100/200: %s\n", setrlimit(RLIMIT_NOFILE, &nofile) == 0 ? "ok" : strerror(errno));
    printf("setrlimit stack 4 MiB: %s\n", setrlimit(RLIMIT_STACK, &stacklimit) == 0 ? "ok" : strerror(errno));
    compare_with_getrlimit("after setrlimit");
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "sigpipe-pipe") == 0)
    {
        signal(SIGPIPE, SIG_DFL);       // an ignored SIGPIPE is inherited across exec (a .NET parent ignores it)
        return write_to_readerless_pipe();
    }
    if (strcmp(mode, "sigpipe-ignored") == 0)
    {
        signal(SIGPIPE, SIG_IGN);
        return write_to_readerless_pipe();
    }
    if (strcmp(mode, "sigpipe-handled") == 0)
    {
        struct sigaction action = { .sa_handler = on_sigpipe };
        sigaction(SIGPIPE, &action, NULL);
        int status = write_to_readerless_pipe();
        printf("the SIGPIPE handler ran %d time(s)\n", (int)handled);
        return status;
    }
    if (strcmp(mode, "vector-state") == 0) return vector_state();
    if (strcmp(mode, "limits") == 0) return limits();
    fprintf(stderr, "usage: posix sigpipe-pipe|sigpipe-ignored|sigpipe-handled|vector-state|limits\n");
    return 2;
}
