// fileloop: many small file operations in a loop, the workload of the 9P reply fuzzer
// (build.ps1 fuzz9p, docs/robustness.md "File-server fuzzing"). Each thread works in its own
// directory of the one given: open+read+compare a file of known bytes, stat it, write a scratch
// file and read it back, list the directory, mkdir+rmdir, rename there and back, symlink+readlink,
// unlink (each round first undoes, uncounted, what a failed call of an earlier one left behind).
// Every call either succeeds (with the right data: else it counts as "wrong") or fails with
// an errno, which is tallied. After 1,000 EIO failures in a row the file server is taken for gone and
// the thread stops. Last line: "fileloop: ops N ok N wrong N failed N; errnos: NAME=N ...; stopped
// early: N thread(s)" (the fuzzer's summary). Natively every call succeeds.
//   fileloop DIR OPS [THREADS]
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_THREADS 8
#define MAX_ERRNO 134
#define GIVE_UP_AFTER 1000

struct tally
{
    int index;
    long ops, ok, wrong, failed;
    long errnos[MAX_ERRNO + 1];
    int eio_in_a_row;
    int stopped;
};

static const char *s_root;
static long s_ops;
static const char s_known[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+-";

// One call's outcome: `result` < 0 is a failure with errno; else `right` says whether what it
// returned was what was written.
static void count(struct tally *t, int result, int right)
{
    t->ops++;
    if (result < 0)
    {
        int e = errno > 0 && errno <= MAX_ERRNO ? errno : 0;
        t->failed++;
        t->errnos[e]++;
        t->eio_in_a_row = e == EIO ? t->eio_in_a_row + 1 : 0;
        return;
    }
    t->eio_in_a_row = 0;
    if (right) t->ok++;
    else t->wrong++;
}

static int write_file(const char *path, const char *bytes, size_t length)
{
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0) return -1;
    ssize_t n = write(fd, bytes, length);
    int saved = errno;
    close(fd);
    errno = saved;
    return n < 0 ? -1 : n == (ssize_t)length ? 0 : 1;
}

// Reads the whole file (up to `capacity` bytes) into `into`: its length, or -1.
static ssize_t read_file(const char *path, char *into, size_t capacity)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    size_t have = 0;
    for (;;)
    {
        ssize_t n = read(fd, into + have, capacity - have);
        if (n < 0) { int saved = errno; close(fd); errno = saved; return -1; }
        if (n == 0 || (have += (size_t)n) == capacity) break;
    }
    close(fd);
    return (ssize_t)have;
}

static void step(struct tally *t, const char dir[200], long i)
{
    char keep[256], scratch[256], moved[256], sub[256], link[256], buffer[512], expected[64];
    snprintf(keep, sizeof keep, "%s/keep", dir);
    snprintf(scratch, sizeof scratch, "%s/scratch", dir);
    snprintf(moved, sizeof moved, "%s/moved", dir);
    snprintf(sub, sizeof sub, "%s/sub", dir);
    snprintf(link, sizeof link, "%s/link", dir);
    struct stat st;
    ssize_t n;
    int r;
    // What an earlier failed call left behind is put right first, uncounted: one failure must not
    // fail every later round.
    switch (i % 8)
    {
    case 0:
        if (stat(keep, &st) != 0 || st.st_size != 64)
        {
            mkdir(dir, 0755);
            write_file(keep, s_known, 64);
        }
        n = read_file(keep, buffer, sizeof buffer);
        count(t, (int)n, n == 64 && memcmp(buffer, s_known, 64) == 0);
        break;
    case 1:
        r = stat(keep, &st);
        count(t, r, r == 0 && st.st_size == 64 && S_ISREG(st.st_mode));
        break;
    case 2:
        snprintf(expected, sizeof expected, "scratch %ld of thread %d", i, t->index);
        r = write_file(scratch, expected, strlen(expected));
        count(t, r, r == 0);
        if (r < 0) break;
        n = read_file(scratch, buffer, sizeof buffer);
        count(t, (int)n, n == (ssize_t)strlen(expected) && memcmp(buffer, expected, (size_t)n) == 0);
        break;
    case 3:
    {
        DIR *d = opendir(dir);
        if (d == NULL) { count(t, -1, 0); break; }
        int entries = 0;
        errno = 0;
        while (readdir(d) != NULL) entries++;
        int saved = errno;
        closedir(d);
        errno = saved;
        // ".", "..", keep, and possibly scratch or moved.
        count(t, saved != 0 ? -1 : 0, entries >= 3 && entries <= 6);
        break;
    }
    case 4:
        rmdir(sub);
        r = mkdir(sub, 0755);
        count(t, r, 1);
        if (r == 0) count(t, rmdir(sub), 1);
        break;
    case 5:
        if (access(scratch, F_OK) != 0) rename(moved, scratch);
        r = rename(scratch, moved);
        count(t, r, 1);
        if (r == 0) count(t, rename(moved, scratch), 1);
        break;
    case 6:
        unlink(link);
        r = symlink("keep", link);
        count(t, r, 1);
        if (r < 0) break;
        n = readlink(link, buffer, sizeof buffer);
        count(t, (int)n, n == 4 && memcmp(buffer, "keep", 4) == 0);
        count(t, unlink(link), 1);
        break;
    case 7:
        count(t, unlink(scratch), 1);
        break;
    }
}

static void *run(void *argument)
{
    struct tally *t = argument;
    char dir[200], keep[256];
    snprintf(dir, sizeof dir, "%.180s/t%d", s_root, t->index);
    snprintf(keep, sizeof keep, "%s/keep", dir);
    count(t, mkdir(dir, 0755) < 0 && errno != EEXIST ? -1 : 0, 1);
    int r = write_file(keep, s_known, 64);
    count(t, r, r == 0);
    for (long i = 0; i < s_ops && t->ops < s_ops; i++)
    {
        step(t, dir, i);
        if (t->eio_in_a_row >= GIVE_UP_AFTER) { t->stopped = 1; break; }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 3) { fprintf(stderr, "usage: fileloop DIR OPS [THREADS]\n"); return 2; }
    s_root = argv[1];
    s_ops = atol(argv[2]);
    int threads = argc > 3 ? atoi(argv[3]) : 2;
    if (threads < 1 || threads > MAX_THREADS) threads = 2;
    static struct tally tallies[MAX_THREADS];
    pthread_t ids[MAX_THREADS];
    for (int i = 0; i < threads; i++)
    {
        tallies[i].index = i;
        if (pthread_create(&ids[i], NULL, run, &tallies[i]) != 0) { perror("pthread_create"); return 1; }
    }
    struct tally all = { 0 };
    int stopped = 0;
    for (int i = 0; i < threads; i++)
    {
        pthread_join(ids[i], NULL);
        all.ops += tallies[i].ops;
        all.ok += tallies[i].ok;
        all.wrong += tallies[i].wrong;
        all.failed += tallies[i].failed;
        for (int e = 0; e <= MAX_ERRNO; e++) all.errnos[e] += tallies[i].errnos[e];
        stopped += tallies[i].stopped;
    }
    printf("fileloop: ops %ld ok %ld wrong %ld failed %ld; errnos:", all.ops, all.ok, all.wrong, all.failed);
    for (int e = 0; e <= MAX_ERRNO; e++)
    {
        // errno 0 stands for every number past MAX_ERRNO (a file server may send any).
        if (all.errnos[e] == 0) continue;
        if (e == 0) printf(" E>%d=%ld", MAX_ERRNO, all.errnos[e]);
        else if (strerrorname_np(e) != NULL) printf(" %s=%ld", strerrorname_np(e), all.errnos[e]);
        else printf(" E%d=%ld", e, all.errnos[e]);
    }
    printf("; stopped early: %d thread(s)\n", stopped);
    return 0;
}
