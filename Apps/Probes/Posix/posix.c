// posix: behaviours a .NET program never shows because its runtime hides them (it ignores SIGPIPE,
// for one), checked with a static C program (gcc -static) natively and on Libra: same output, same
// exit status. One mode per run:
//   sigpipe-pipe      write to a pipe whose reader is closed, SIGPIPE set to its default: death by
//                     SIGPIPE (status 141 from a shell), nothing printed after the write
//   sigpipe-ignored   the same with SIGPIPE ignored: write fails with EPIPE and the program goes on
//   sigpipe-handled   the same with a handler: the handler runs once, then write fails with EPIPE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
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
    fprintf(stderr, "usage: posix sigpipe-pipe|sigpipe-ignored|sigpipe-handled\n");
    return 2;
}
