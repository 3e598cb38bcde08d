// links: symbolic-link loops and long chains, checked with a static C program (gcc -static)
// natively and on Libra: same output, same exit status. Linux follows at most 40 links in one
// lookup (MAXSYMLINKS, path_resolution(7)): a loop (a -> b, b -> a) and a chain of 41 links give
// ELOOP, a chain of 40 resolves. Works in the directory given as its argument (a share over 9P on
// Libra), or without one in a fresh directory under /tmp (tmpfs on Libra), removed at the end.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void show(const char *what, int result)
{
    if (result >= 0) printf("%-34s ok\n", what);
    else printf("%-34s %s\n", what, errno == ELOOP ? "ELOOP" : errno == ENOENT ? "ENOENT" : "other");
}

static int open_and_close(const char *path, int flags)
{
    int fd = open(path, flags);
    if (fd >= 0) close(fd);
    return fd;
}

// chain<length>-<i> -> chain<length>-<i+1>, the last -> target: `length` links from the first.
static void make_chain(int length)
{
    char name[64], next[64];
    for (int i = 0; i < length; i++)
    {
        snprintf(name, sizeof name, "chain%d-%d", length, i);
        if (i + 1 < length) snprintf(next, sizeof next, "chain%d-%d", length, i + 1);
        else snprintf(next, sizeof next, "target");
        symlink(next, name);
    }
}

static void remove_chain(int length)
{
    char name[64];
    for (int i = 0; i < length; i++)
    {
        snprintf(name, sizeof name, "chain%d-%d", length, i);
        unlink(name);
    }
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    char scratch[] = "/tmp/links-XXXXXX";
    const char *directory = argc > 1 ? argv[1] : mkdtemp(scratch);
    if (directory == NULL || chdir(directory) != 0) { perror("directory"); return 1; }

    int target = open("target", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    write(target, "the end\n", 8);
    close(target);

    symlink("b", "a");
    symlink("a", "b");
    symlink("self", "self");
    struct stat st;
    show("open a (a -> b -> a)", open_and_close("a", O_RDONLY));
    show("open a/x (a loop as a directory)", open_and_close("a/x", O_RDONLY));
    show("open self (self -> self)", open_and_close("self", O_RDONLY));
    show("open a with O_CREAT", open_and_close("a", O_RDONLY | O_CREAT));
    show("stat a", stat("a", &st));
    show("lstat a", lstat("a", &st));
    show("open a with O_NOFOLLOW", open_and_close("a", O_RDONLY | O_NOFOLLOW));
    show("chdir a", chdir("a"));

    make_chain(40);
    make_chain(41);
    show("open a chain of 40 links", open_and_close("chain40-0", O_RDONLY));
    show("open a chain of 41 links", open_and_close("chain41-0", O_RDONLY));
    show("stat a chain of 41 links", stat("chain41-0", &st));

    remove_chain(40);
    remove_chain(41);
    unlink("a");
    unlink("b");
    unlink("self");
    unlink("target");
    if (argc <= 1) rmdir(directory);
    printf("done\n");
    return 0;
}
