// The file-system probe: tmpfs at /tmp, the mount table (EXDEV across mounts, ".." across a mount
// point, /proc/mounts, /etc/mtab), hard links and st_nlink, O_TMPFILE, /dev/stdout, /proc/cpuinfo,
// SEEK_DATA/SEEK_HOLE and record locks. Its default output is the same natively and on Libra; the
// other modes check what only Libra's table has (a read-only root, a small tmpfs, the share over
// the image, run -Mount's host directories, a read-only share read twice).
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

static char base[64];

static const char *errname(int e)
{
    switch (e)
    {
        case 0: return "ok";
        case ENOENT: return "ENOENT";
        case EEXIST: return "EEXIST";
        case EXDEV: return "EXDEV";
        case EROFS: return "EROFS";
        case ENOSPC: return "ENOSPC";
        case EBUSY: return "EBUSY";
        case EISDIR: return "EISDIR";
        case ENOTDIR: return "ENOTDIR";
        case ENOTEMPTY: return "ENOTEMPTY";
        case EAGAIN: return "EAGAIN";
        case EACCES: return "EACCES";
        case EPERM: return "EPERM";
        case EINVAL: return "EINVAL";
        case ELOOP: return "ELOOP";
        case ENXIO: return "ENXIO";
        default: return "other";
    }
}

// "name: ok" or "name: ERRNO" for a call returning -1 on failure.
static void report(const char *what, long result)
{
    printf("%s: %s\n", what, result < 0 ? errname(errno) : "ok");
}

static char *at(const char *name)
{
    static char path[4][256];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, sizeof path[0], "%s/%s", base, name);
    return p;
}

static void write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) { printf("open %s failed: %s\n", path, errname(errno)); exit(1); }
    if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) { printf("short write\n"); exit(1); }
    close(fd);
}

static int read_file(const char *path, char *buffer, size_t size)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buffer, size - 1);
    close(fd);
    buffer[n < 0 ? 0 : n] = 0;
    return (int)n;
}

static int compare(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void list(const char *path)
{
    DIR *dir = opendir(path);
    if (!dir) { printf("opendir: %s\n", errname(errno)); return; }
    char *names[64];
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL && count < 64) names[count++] = strdup(entry->d_name);
    closedir(dir);
    qsort(names, count, sizeof names[0], compare);
    printf("listing:");
    for (int i = 0; i < count; i++) { printf(" %s", names[i]); free(names[i]); }
    printf("\n");
}

static void tmpfs(void)
{
    char buffer[256];
    write_file(at("a"), "hello tmpfs\n");
    read_file(at("a"), buffer, sizeof buffer);
    printf("read back: %s", buffer);
    struct stat st;
    stat(at("a"), &st);
    printf("size %ld, regular %d, nlink %ld\n", (long)st.st_size, S_ISREG(st.st_mode), (long)st.st_nlink);

    // Appending, then positioned writes past the end leave zeros between.
    int fd = open(at("a"), O_WRONLY | O_APPEND);
    write(fd, "more\n", 5);
    close(fd);
    fd = open(at("a"), O_RDWR);
    pwrite(fd, "!", 1, 100);
    fstat(fd, &st);
    printf("after pwrite at 100: size %ld\n", (long)st.st_size);
    pread(fd, buffer, 3, 50);
    printf("hole reads zeros: %d\n", buffer[0] == 0 && buffer[1] == 0 && buffer[2] == 0);
    printf("SEEK_DATA 0: %ld, SEEK_HOLE 0: %ld\n", (long)lseek(fd, 0, SEEK_DATA), (long)lseek(fd, 0, SEEK_HOLE));
    errno = 0;
    long past = lseek(fd, 200, SEEK_DATA);
    printf("SEEK_DATA past the end: %ld %s\n", past, errname(errno));
    ftruncate(fd, 6);
    fstat(fd, &st);
    printf("truncated to %ld\n", (long)st.st_size);
    close(fd);

    // A shared mapping of the file reads its bytes.
    fd = open(at("a"), O_RDONLY);
    char *map = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    printf("mmap: %.5s\n", map == MAP_FAILED ? "failed" : map);
    if (map != MAP_FAILED) munmap(map, 4096);
    close(fd);

    report("rename a -> b", rename(at("a"), at("b")));
    report("stat a after rename", stat(at("a"), &st));
    report("mkdir d", mkdir(at("d"), 0755));
    write_file(at("d/inner"), "x");
    report("rmdir d (not empty)", rmdir(at("d")));
    report("rename b -> d (a directory)", rename(at("b"), at("d")));
    report("rename d -> d/inner/x", rename(at("d"), at("d/sub")));
    report("symlink", symlink("b", at("link")));
    ssize_t n = readlink(at("link"), buffer, sizeof buffer);
    printf("readlink: %.*s\n", (int)(n < 0 ? 0 : n), buffer);
    read_file(at("link"), buffer, sizeof buffer);
    printf("through the link: %s\n", buffer);
    list(base);

    // Hard links: one file, two names, st_nlink counts them.
    report("link b -> c", link(at("b"), at("c")));
    stat(at("b"), &st);
    struct stat st2;
    stat(at("c"), &st2);
    printf("nlink %ld, same inode %d\n", (long)st.st_nlink, st.st_ino == st2.st_ino);
    report("link to an existing name", link(at("b"), at("c")));
    report("link of a directory", link(at("d"), at("e")));
    report("unlink b", unlink(at("b")));
    stat(at("c"), &st2);
    read_file(at("c"), buffer, sizeof buffer);
    printf("c after unlink b: nlink %ld, %s\n", (long)st2.st_nlink, buffer);

    // Unlinked while open: the bytes stay until the last close.
    fd = open(at("c"), O_RDONLY);
    unlink(at("c"));
    n = read(fd, buffer, 6);
    fstat(fd, &st);
    printf("open after unlink: read %ld, nlink %ld\n", (long)n, (long)st.st_nlink);
    close(fd);

    // O_TMPFILE: a file without a name until linked through /proc/self/fd.
    fd = open(base, O_TMPFILE | O_RDWR, 0600);
    if (fd < 0) printf("O_TMPFILE: %s\n", errname(errno));
    else
    {
        write(fd, "anonymous", 9);
        fstat(fd, &st);
        printf("O_TMPFILE: size %ld, nlink %ld\n", (long)st.st_size, (long)st.st_nlink);
        char self[64];
        snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
        report("linkat O_TMPFILE", linkat(AT_FDCWD, self, AT_FDCWD, at("named"), AT_SYMLINK_FOLLOW));
        close(fd);
        read_file(at("named"), buffer, sizeof buffer);
        printf("named: %s\n", buffer);
    }
    list(base);
}

static void mounts(void)
{
    struct stat root, up, tmp_up;
    stat("/", &root);
    stat("/tmp/..", &up);
    printf("/tmp/.. is /: %d\n", root.st_ino == up.st_ino && root.st_dev == up.st_dev);
    chdir("/tmp");
    stat("..", &tmp_up);
    printf("cd /tmp; .. is /: %d\n", root.st_ino == tmp_up.st_ino && root.st_dev == tmp_up.st_dev);
    int dirfd = open(base, O_RDONLY | O_DIRECTORY);
    struct stat viaat;
    fstatat(dirfd, "../..", &viaat, 0);
    printf("openat ../.. from a dir in /tmp is /: %d\n", viaat.st_ino == root.st_ino);
    close(dirfd);
    chdir("/");

    write_file(at("x"), "x");
    report("rename /tmp -> /proc", rename(at("x"), "/proc/x"));
    report("link /tmp -> /dev", link(at("x"), "/dev/x"));
    report("rename /tmp -> /dev", rename(at("x"), "/dev/x"));
    report("rmdir /proc", rmdir("/proc"));
    report("mkdir /proc", mkdir("/proc", 0755));
    report("unlink /proc/meminfo", unlink("/proc/meminfo"));
    report("mkdir /proc/x", mkdir("/proc/x", 0755));

    struct statfs fs;
    statfs(base, &fs);
    printf("statfs /tmp has blocks: %d\n", fs.f_blocks > 0 && fs.f_bsize > 0);
    statfs("/proc", &fs);
    printf("statfs /proc is proc: %d\n", fs.f_type == 0x9fa0);

    char text[8192];
    int n = read_file("/proc/mounts", text, sizeof text);
    printf("/proc/mounts: readable %d, has / %d, has /proc %d\n", n > 0, strstr(text, " / ") != NULL, strstr(text, " /proc proc ") != NULL);
    char self[8192];
    read_file("/proc/self/mounts", self, sizeof self);
    printf("/proc/self/mounts is /proc/mounts: %d\n", strcmp(text, self) == 0);
    n = read_file("/etc/mtab", self, sizeof self);
    printf("/etc/mtab is /proc/mounts: %d\n", n > 0 && strcmp(text, self) == 0);
    struct stat mtab;
    lstat("/etc/mtab", &mtab);
    printf("/etc/mtab is a link: %d\n", S_ISLNK(mtab.st_mode));
}

static void devices(void)
{
    char target[64];
    ssize_t n = readlink("/dev/stdout", target, sizeof target);
    printf("/dev/stdout -> %.*s\n", (int)(n < 0 ? 0 : n), target);
    n = readlink("/dev/stderr", target, sizeof target);
    printf("/dev/stderr -> %.*s\n", (int)(n < 0 ? 0 : n), target);
    fflush(stdout);
    int fd = open("/dev/stdout", O_WRONLY);
    if (fd < 0) printf("open /dev/stdout: %s\n", errname(errno));
    else { write(fd, "written through /dev/stdout\n", 28); close(fd); }
    int err = open("/dev/stderr", O_WRONLY);
    printf("open /dev/stderr: %s\n", err < 0 ? errname(errno) : "ok");
    if (err >= 0) close(err);
    char zeros[16];
    memset(zeros, 1, sizeof zeros);
    fd = open("/dev/zero", O_RDONLY);
    n = read(fd, zeros, sizeof zeros);
    close(fd);
    printf("/dev/zero reads %ld zeros: %d\n", (long)n, zeros[0] == 0 && zeros[15] == 0);

    char cpuinfo[16384];
    read_file("/proc/cpuinfo", cpuinfo, sizeof cpuinfo);
    printf("/proc/cpuinfo: processor %d, vendor_id %d, flags %d, sse2 %d\n", strstr(cpuinfo, "processor\t: 0") != NULL,
        strstr(cpuinfo, "vendor_id") != NULL, strstr(cpuinfo, "\nflags\t\t:") != NULL, strstr(cpuinfo, " sse2") != NULL);
}

static void locks(void)
{
    write_file(at("locked"), "0123456789");
    int a = open(at("locked"), O_RDWR), b = open(at("locked"), O_RDWR);
    struct flock lock = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 4 };
    report("F_SETLK write 0-3", fcntl(a, F_SETLK, &lock));
    struct flock query = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10 };
    fcntl(b, F_GETLK, &query);
    printf("F_GETLK from the same process: %s\n", query.l_type == F_UNLCK ? "unlocked" : "locked");
    report("F_SETLK again through another descriptor", fcntl(b, F_SETLK, &lock));

    struct flock ofd = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 5, .l_len = 2, .l_pid = 0 };
    report("F_OFD_SETLK write 5-6 on a", fcntl(a, F_OFD_SETLK, &ofd));
    struct flock probe = { .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0, .l_pid = 0 };
    fcntl(b, F_OFD_GETLK, &probe);
    printf("F_OFD_GETLK on b: %s at %ld len %ld, held by %s\n", probe.l_type == F_WRLCK ? "write" : probe.l_type == F_UNLCK ? "unlocked" : "read",
        (long)probe.l_start, (long)probe.l_len, probe.l_pid == getpid() ? "this process" : probe.l_pid == -1 ? "a description" : "?");
    struct flock past = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 4, .l_len = 0, .l_pid = 0 };
    fcntl(b, F_OFD_GETLK, &past);
    printf("F_OFD_GETLK on b from 4: %s at %ld len %ld, held by %s\n", past.l_type == F_WRLCK ? "write" : past.l_type == F_UNLCK ? "unlocked" : "read",
        (long)past.l_start, (long)past.l_len, past.l_pid == getpid() ? "this process" : past.l_pid == -1 ? "a description" : "?");
    struct flock mine = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 6, .l_len = 1, .l_pid = 0 };
    report("F_OFD_SETLK 6 on b", fcntl(b, F_OFD_SETLK, &mine));
    report("F_SETLK 5 (a process lock) against the OFD lock", fcntl(b, F_SETLK, &(struct flock){ .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 5, .l_len = 1 }));
    ofd.l_type = F_UNLCK;
    report("F_OFD_SETLK unlock on a", fcntl(a, F_OFD_SETLK, &ofd));
    report("F_OFD_SETLK 6 on b after", fcntl(b, F_OFD_SETLK, &mine));
    close(a);
    close(b);
}

// Libra only: the root without a share is the read-only image.
static void read_only(void)
{
    report("create /new", open("/new", O_WRONLY | O_CREAT, 0644));
    report("mkdir /etc", mkdir("/etc", 0755));
    report("mkdir /newdir", mkdir("/newdir", 0755));
    report("unlink /etc/hosts", unlink("/etc/hosts"));
    report("unlink /nothing", unlink("/nothing"));
    report("open /etc/hosts for writing", open("/etc/hosts", O_WRONLY));
    report("open /etc/hosts O_CREAT read-only", open("/etc/hosts", O_RDONLY | O_CREAT, 0644));
    report("open /etc/mtab O_NOFOLLOW (a link)", open("/etc/mtab", O_RDONLY | O_NOFOLLOW));
    report("rmdir /tmp", rmdir("/tmp"));
    report("rename /etc/hosts -> /etc/h", rename("/etc/hosts", "/etc/h"));
    struct statfs fs;
    statfs("/", &fs);
    printf("statfs / read-only: %d\n", (fs.f_flags & ST_RDONLY) != 0);
    list("/");
    list("/dev");
    list("/proc");
    list("/proc/self/fd");
}

// Libra only, with libra.tmp_size=1M: filling /tmp ends in ENOSPC with nothing lost.
static void fill(void)
{
    write_file("/tmp/keep", "kept\n");
    int fd = open("/tmp/big", O_WRONLY | O_CREAT, 0644);
    char block[4096];
    memset(block, 'b', sizeof block);
    long total = 0;
    int err = 0;
    for (;;)
    {
        ssize_t n = write(fd, block, sizeof block);
        if (n < 0) { err = errno; break; }
        total += n;
        if (total > 8L << 20) break;
    }
    printf("filled: %s after %s than 900 KiB and at most 1 MiB: %d\n", errname(err), total > 900 * 1024 ? "more" : "less", total <= 1024 * 1024);
    struct stat st;
    fstat(fd, &st);
    printf("size matches what was written: %d\n", st.st_size == total);
    report("create another file", open("/tmp/more", O_WRONLY | O_CREAT, 0644));
    report("write to it", write(open("/tmp/more", O_WRONLY), block, sizeof block));
    close(fd);
    char buffer[64];
    read_file("/tmp/keep", buffer, sizeof buffer);
    printf("the other file: %s", buffer);
    report("unlink big", unlink("/tmp/big"));
    fd = open("/tmp/again", O_WRONLY | O_CREAT, 0644);
    report("write after freeing", write(fd, block, sizeof block));
    close(fd);
}

// Libra only, with a share holding etc/hostname: the share's file shadows the image's, and a name
// only the image has is still there, read-only.
static void layers(void)
{
    char buffer[256];
    read_file("/etc/hostname", buffer, sizeof buffer);
    printf("/etc/hostname: %s", buffer);
    int n = read_file("/etc/hosts", buffer, sizeof buffer);
    printf("/etc/hosts from the image: %d\n", n > 0 && strstr(buffer, "localhost") != NULL);
    report("unlink /etc/hosts (the image's)", unlink("/etc/hosts"));
    report("write /etc/hosts (the image's)", open("/etc/hosts", O_WRONLY));
    report("create /etc/new in the share", open("/etc/new", O_WRONLY | O_CREAT, 0644));
    report("link /etc/new -> /etc/new2 in the share", link("/etc/new", "/etc/new2"));
    struct stat st;
    stat("/etc/new2", &st);
    printf("nlink of a file linked in the share: %ld\n", (long)st.st_nlink);
    report("link /etc/hosts (the image's) -> /etc/h", link("/etc/hosts", "/etc/h"));
    report("rename /etc/new2 -> /tmp/new2", rename("/etc/new2", "/tmp/new2"));
    report("create /app/new (a directory only the image has)", open("/app/new", O_WRONLY | O_CREAT, 0644));
    report("mkdir in it", mkdir("/app/dir", 0755));
}

// Libra only, with run -Mount HOST1:/data and -Mount HOST2:/ro:ro (HOST1 holding hello.txt, HOST2
// file.txt): each mount is its own file system, ".." leaves it, and the read-only one refuses changes.
static void host_mounts(void)
{
    char buffer[256];
    read_file("/data/hello.txt", buffer, sizeof buffer);
    printf("/data/hello.txt: %s", buffer);
    read_file("/ro/file.txt", buffer, sizeof buffer);
    printf("/ro/file.txt: %s", buffer);
    write_file("/data/new", "written in the guest\n");
    read_file("/data/new", buffer, sizeof buffer);
    printf("/data/new: %s", buffer);
    report("mkdir /data/dir", mkdir("/data/dir", 0755));
    report("rename /data/new -> /data/dir/moved", rename("/data/new", "/data/dir/moved"));

    struct stat root, up, data, ro;
    stat("/", &root);
    stat("/data/..", &up);
    printf("/data/.. is /: %d\n", root.st_ino == up.st_ino && root.st_dev == up.st_dev);
    report("chdir /data/dir", chdir("/data/dir"));
    int n = read_file("../../etc/hosts", buffer, sizeof buffer);
    printf("../../etc/hosts from /data/dir: %d\n", n > 0 && strstr(buffer, "localhost") != NULL);
    n = read_file("../../ro/file.txt", buffer, sizeof buffer);
    printf("../../ro/file.txt from /data/dir: %d\n", n > 0);
    chdir("/");
    stat("/data/dir/moved", &data);
    stat("/ro/file.txt", &ro);
    printf("the mounts are distinct devices: %d\n", data.st_dev != ro.st_dev && data.st_dev != root.st_dev);

    report("open /ro/file.txt for writing", open("/ro/file.txt", O_WRONLY));
    report("create /ro/new", open("/ro/new", O_WRONLY | O_CREAT, 0644));
    report("mkdir /ro/dir", mkdir("/ro/dir", 0755));
    report("unlink /ro/file.txt", unlink("/ro/file.txt"));
    report("truncate /ro/file.txt", truncate("/ro/file.txt", 0));
    report("rename /data/dir/moved -> /tmp/moved", rename("/data/dir/moved", "/tmp/moved"));
    report("rename /data/dir/moved -> /ro/moved", rename("/data/dir/moved", "/ro/moved"));
    report("link /data/dir/moved -> /tmp/linked", link("/data/dir/moved", "/tmp/linked"));
    report("rmdir /data (a mount point)", rmdir("/data"));
    struct statfs fs;
    statfs("/ro", &fs);
    printf("statfs /ro read-only: %d\n", (fs.f_flags & ST_RDONLY) != 0);
    statfs("/data", &fs);
    printf("statfs /data read-only: %d\n", (fs.f_flags & ST_RDONLY) != 0);
    char mounts[4096];
    read_file("/proc/mounts", mounts, sizeof mounts);
    printf("/proc/mounts has /data rw: %d, /ro ro: %d\n", strstr(mounts, " /data 9p rw") != NULL, strstr(mounts, " /ro 9p ro") != NULL);
    list("/data");
}

// FNV-1a 64 over `data`, continuing from `hash`.
static unsigned long long fnv(unsigned long long hash, const unsigned char *data, size_t length)
{
    for (size_t i = 0; i < length; i++) hash = (hash ^ data[i]) * 1099511628211ull;
    return hash;
}

// A file on a read-only share read whole, once with read() in uneven pieces and, with `twice`, again
// with pread() in other pieces and through a private file mapping, all on the one descriptor: what
// each pass saw (its size and hash). On Libra the second pass is the page cache's to answer.
static void read_cached(const char *path, int twice)
{
    static unsigned char buffer[70000];
    const size_t pieces[] = { 4096, 10000, 70000, 1 };
    int fd = open(path, O_RDONLY);
    if (fd < 0) { printf("open %s: %s\n", path, errname(errno)); exit(1); }
    unsigned long long hash = 1469598103934665603ull;
    size_t total = 0;
    for (int i = 0;; i++)
    {
        ssize_t n = read(fd, buffer, pieces[i % 4]);
        if (n < 0) { printf("read: %s\n", errname(errno)); exit(1); }
        if (n == 0) break;
        hash = fnv(hash, buffer, (size_t)n);
        total += (size_t)n;
    }
    printf("read: %zu bytes, fnv %016llx\n", total, hash);
    if (!twice) { close(fd); return; }
    hash = 1469598103934665603ull;
    size_t at = 0;
    for (;;)
    {
        ssize_t n = pread(fd, buffer, 3001, (off_t)at);
        if (n < 0) { printf("pread: %s\n", errname(errno)); exit(1); }
        if (n == 0) break;
        hash = fnv(hash, buffer, (size_t)n);
        at += (size_t)n;
    }
    printf("pread: %zu bytes, fnv %016llx\n", at, hash);
    unsigned char *mapped = mmap(NULL, total, PROT_READ, MAP_PRIVATE, fd, 0);
    if (mapped == MAP_FAILED) { printf("mmap: %s\n", errname(errno)); exit(1); }
    printf("mmap: %zu bytes, fnv %016llx\n", total, fnv(1469598103934665603ull, mapped, total));
    munmap(mapped, total);
    close(fd);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *mode = argc > 1 ? argv[argc - 1] : "";     // after the work directory, when one is given
    if (strcmp(mode, "--read-only") == 0) { read_only(); return 0; }
    if (strcmp(mode, "--fill") == 0) { fill(); return 0; }
    if (strcmp(mode, "--layers") == 0) { layers(); return 0; }
    if (strcmp(mode, "--mounts") == 0) { host_mounts(); return 0; }
    if (strcmp(mode, "--read-once") == 0) { read_cached("/data.bin", 0); return 0; }
    if (strcmp(mode, "--read-twice") == 0) { read_cached("/data.bin", 1); return 0; }
    strcpy(base, "/tmp/vfs-probe.XXXXXX");
    if (!mkdtemp(base)) { printf("mkdtemp: %s\n", errname(errno)); return 1; }
    tmpfs();
    mounts();
    devices();
    locks();
    // Clean up natively (Libra's tmpfs goes with the machine).
    const char *names[] = { "d/inner", "d", "link", "named", "x", "locked" };
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) { unlink(at(names[i])); rmdir(at(names[i])); }
    report("rmdir the probe's directory", rmdir(base));
    return 0;
}
