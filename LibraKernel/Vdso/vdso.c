/*
 * Libra's vDSO: the clock calls answered in user mode, as Linux's arch/x86/entry/vdso/vclock_gettime.c
 * and lib/vdso/gettimeofday.c answer them. The kernel maps this image read+exec and, one page below
 * it, the data page (struct vdso_data, kept by LibraKernel/Time/Clock.cs) read-only; the image finds
 * the data page by its fixed distance (vdso.lds), so it needs no relocation.
 *
 * Every clock is computed exactly as the kernel's Clock.Nanoseconds() computes it, from the same
 * parameters and the same TSC, so a read here and one by syscall agree and MONOTONIC never goes
 * backwards between the two. A clock this image does not handle, or a data page whose mode is 0,
 * falls back to the real system call.
 *
 * Built by build/kernel.ps1: gcc -fPIC -O2 -nostdlib, linked with vdso.lds (ld -shared).
 */
#include <stdint.h>

/* The data page: LibraKernel/Vdso/VdsoData.cs is the kernel's view of the same bytes. */
enum vdso_mode { VDSO_MODE_SYSCALL = 0, VDSO_MODE_TSC = 1, VDSO_MODE_PVCLOCK = 2 };

/* KVM's pvclock_vcpu_time_info (Linux Documentation/virt/kvm/x86/msr.rst, MSR_KVM_SYSTEM_TIME_NEW). */
struct pvclock_time_info {
    uint32_t version;
    uint32_t pad0;
    uint64_t tsc_timestamp;
    uint64_t system_time;
    uint32_t tsc_to_system_mul;
    int8_t tsc_shift;
    uint8_t flags;
    uint8_t pad[2];
};

struct vdso_data {
    uint32_t seq;               /* odd while the kernel rewrites the fields below */
    uint32_t mode;              /* enum vdso_mode */
    uint64_t tsc_base;          /* TSC mode: the TSC at monotonic 0 */
    uint64_t ns_per_tick;       /* TSC mode: nanoseconds per TSC tick, 32.32 fixed point */
    uint64_t pvclock_boot_ns;   /* pvclock mode: kvmclock's reading at monotonic 0 */
    uint64_t realtime_offset;   /* CLOCK_REALTIME minus CLOCK_MONOTONIC */
    uint64_t resolution_ns;     /* clock_getres of the clocks one sleeps on */
    uint64_t reserved[2];
    struct pvclock_time_info pvclock;   /* offset 64: KVM keeps it up to date */
};

extern const volatile struct vdso_data libra_vdso_data __attribute__((visibility("hidden")));

struct kernel_timespec { int64_t tv_sec; int64_t tv_nsec; };
struct kernel_timeval { int64_t tv_sec; int64_t tv_usec; };
struct kernel_timezone { int32_t tz_minuteswest; int32_t tz_dsttime; };

#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1
#define CLOCK_MONOTONIC_RAW 4
#define CLOCK_REALTIME_COARSE 5
#define CLOCK_MONOTONIC_COARSE 6
#define CLOCK_BOOTTIME 7
#define CLOCK_TAI 11

#define NSEC_PER_SEC 1000000000ull

/* System call numbers of the fallbacks (arch/x86/entry/syscalls/syscall_64.tbl). */
#define NR_gettimeofday 96
#define NR_time 201
#define NR_clock_gettime 228
#define NR_clock_getres 229

#define barrier() __asm__ __volatile__("" ::: "memory")

static inline long syscall2(long number, long a0, long a1)
{
    long result;
    __asm__ __volatile__("syscall" : "=a"(result) : "a"(number), "D"(a0), "S"(a1) : "rcx", "r11", "memory");
    return result;
}

/* The kernel's Native.ReadTsc is a plain RDTSC; LFENCE keeps this one after the loads before it
   (Linux's rdtsc_ordered). */
static inline uint64_t read_tsc(void)
{
    uint32_t low, high;
    __asm__ __volatile__("lfence; rdtsc" : "=a"(low), "=d"(high) :: "memory");
    return ((uint64_t)high << 32) | low;
}

/* Time/FixedPoint.cs MultiplyShift32, the same arithmetic bit for bit: (value * factor) >> 32. */
static inline uint64_t multiply_shift32(uint64_t value, uint64_t factor)
{
    uint64_t high = value >> 32, low = value & 0xffffffffull;
    return high * factor + ((low * factor) >> 32);
}

/* Time/KvmClock.cs Raw: system_time + the pvclock-scaled TSC delta, retried while KVM writes. */
static inline uint64_t pvclock_read(void)
{
    const volatile struct pvclock_time_info *info = &libra_vdso_data.pvclock;
    uint32_t version;
    uint64_t ns;
    do {
        version = info->version;
        barrier();
        uint64_t delta = read_tsc() - info->tsc_timestamp;
        int8_t shift = info->tsc_shift;
        if (shift < 0) delta >>= -shift;
        else delta <<= shift;
        ns = info->system_time + multiply_shift32(delta, info->tsc_to_system_mul);
        barrier();
    } while ((version & 1) != 0 || version != info->version);
    return ns;
}

/* The monotonic clock and the realtime offset in one consistent snapshot; 0 when the kernel has
   published nothing this image can compute with (the caller then makes the system call). */
static inline int read_clock(uint64_t *monotonic, uint64_t *realtime_offset)
{
    const volatile struct vdso_data *data = &libra_vdso_data;
    uint32_t seq;
    do {
        seq = data->seq;
        barrier();
        if (data->mode == VDSO_MODE_TSC)
            *monotonic = multiply_shift32(read_tsc() - data->tsc_base, data->ns_per_tick);
        else if (data->mode == VDSO_MODE_PVCLOCK)
            *monotonic = pvclock_read() - data->pvclock_boot_ns;
        else
            return 0;
        *realtime_offset = data->realtime_offset;
        barrier();
    } while ((seq & 1) != 0 || seq != data->seq);
    return 1;
}

/* The clocks Shims/TimeCalls.cs reads as the monotonic clock (1) or as the realtime one (2); 0 for
   the rest, which go to the kernel. */
static inline int clock_kind(int clock)
{
    switch (clock) {
    case CLOCK_MONOTONIC: case CLOCK_MONOTONIC_RAW: case CLOCK_MONOTONIC_COARSE: case CLOCK_BOOTTIME:
        return 1;
    case CLOCK_REALTIME: case CLOCK_REALTIME_COARSE: case CLOCK_TAI:
        return 2;
    default:
        return 0;
    }
}

int __vdso_clock_gettime(int clock, struct kernel_timespec *ts)
{
    int kind = clock_kind(clock);
    uint64_t ns, offset;
    if (kind == 0 || !read_clock(&ns, &offset))
        return (int)syscall2(NR_clock_gettime, clock, (long)ts);
    if (kind == 2) ns += offset;
    ts->tv_sec = (int64_t)(ns / NSEC_PER_SEC);
    ts->tv_nsec = (int64_t)(ns % NSEC_PER_SEC);
    return 0;
}

int __vdso_gettimeofday(struct kernel_timeval *tv, struct kernel_timezone *tz)
{
    uint64_t ns, offset;
    if (!read_clock(&ns, &offset))
        return (int)syscall2(NR_gettimeofday, (long)tv, (long)tz);
    ns += offset;
    if (tv) {
        tv->tv_sec = (int64_t)(ns / NSEC_PER_SEC);
        tv->tv_usec = (int64_t)(ns % NSEC_PER_SEC / 1000);
    }
    if (tz) {
        tz->tz_minuteswest = 0;
        tz->tz_dsttime = 0;
    }
    return 0;
}

long __vdso_time(long *t)
{
    uint64_t ns, offset;
    if (!read_clock(&ns, &offset))
        return syscall2(NR_time, (long)t, 0);
    long seconds = (long)((ns + offset) / NSEC_PER_SEC);
    if (t) *t = seconds;
    return seconds;
}

/* One CPU, one node: what Shims/ThreadCalls.cs GetCpu answers. */
long __vdso_getcpu(unsigned *cpu, unsigned *node, void *unused)
{
    (void)unused;
    if (cpu) *cpu = 0;
    if (node) *node = 0;
    return 0;
}

int __vdso_clock_getres(int clock, struct kernel_timespec *res)
{
    int kind = clock_kind(clock);
    const volatile struct vdso_data *data = &libra_vdso_data;
    if (kind == 0 || data->mode == VDSO_MODE_SYSCALL)
        return (int)syscall2(NR_clock_getres, clock, (long)res);
    /* Shims/TimeCalls.cs Resolution: the timer's for the clocks one sleeps on, 1 ns for raw and coarse. */
    int sleeps_on = clock == CLOCK_REALTIME || clock == CLOCK_MONOTONIC || clock == CLOCK_BOOTTIME || clock == CLOCK_TAI;
    if (res) {
        res->tv_sec = 0;
        res->tv_nsec = sleeps_on ? (int64_t)data->resolution_ns : 1;
    }
    return 0;
}

/* The unprefixed names Linux exports too, as weak aliases (vclock_gettime.c). */
int clock_gettime(int, struct kernel_timespec *) __attribute__((weak, alias("__vdso_clock_gettime")));
int gettimeofday(struct kernel_timeval *, struct kernel_timezone *) __attribute__((weak, alias("__vdso_gettimeofday")));
long time(long *) __attribute__((weak, alias("__vdso_time")));
long getcpu(unsigned *, unsigned *, void *) __attribute__((weak, alias("__vdso_getcpu")));
int clock_getres(int, struct kernel_timespec *) __attribute__((weak, alias("__vdso_clock_getres")));

/* The note Linux's vDSO carries (arch/x86/entry/vdso/vdso-note.S): owner "Linux", type 0, the
   version uname reports (6.1.0, Shims/ProcessCalls.cs). */
__asm__(".pushsection .note.Linux, \"a\", @note\n"
        ".balign 4\n"
        ".long 6, 4, 0\n"
        ".asciz \"Linux\"\n"
        ".balign 4\n"
        ".long 0x060100\n"
        ".popsection");
