#define _GNU_SOURCE
// loopback: TCP between two sockets of one program over 127.0.0.1:PORT (argv[1]), as a program
// observes it: the addresses each end names, data both ways, readiness through poll and epoll,
// half-close, EPIPE, a non-blocking connect, SO_ERROR, a reset when a close leaves bytes unread or
// lingers 0, connections a closing listener never accepted, a sender to a peer that never reads,
// and a refused connect. Only values a run decides are printed (never an ephemeral port's number),
// so the output is the same natively and on Libra, where such a connection stays inside the guest.
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int port;

static const char *error_name(int error)
{
    switch (error)
    {
    case 0: return "none";
    case EAGAIN: return "EAGAIN";
    case EINPROGRESS: return "EINPROGRESS";
    case EISCONN: return "EISCONN";
    case EALREADY: return "EALREADY";
    case ECONNRESET: return "ECONNRESET";
    case ECONNREFUSED: return "ECONNREFUSED";
    case EPIPE: return "EPIPE";
    case ENOTCONN: return "ENOTCONN";
    default: return strerror(error);
    }
}

// A call's result as "0", "N" or "-1 ERRNO".
static void result(const char *what, long n)
{
    if (n < 0) printf("%s: -1 %s\n", what, error_name(errno));
    else printf("%s: %ld\n", what, n);
}

static struct sockaddr_in loopback(int p)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(p), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    return a;
}

static int listener(int backlog)
{
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = loopback(port);
    if (bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, backlog) != 0) { perror("listener"); exit(1); }
    return l;
}

static int client(int flags)
{
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
    struct sockaddr_in a = loopback(port);
    if (connect(c, (struct sockaddr *)&a, sizeof a) != 0 && errno != EINPROGRESS) { perror("connect"); exit(1); }
    return c;
}

// poll's revents for IN, OUT and RDHUP at once, after at most `ms`.
static unsigned revents(int fd, int ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT | POLLRDHUP };
    return poll(&p, 1, ms) < 0 ? 0xffffffff : (unsigned)p.revents;
}

static const char *mask(unsigned m)
{
    static char text[96];
    text[0] = 0;
    if (m & POLLIN) strcat(text, "IN ");
    if (m & POLLOUT) strcat(text, "OUT ");
    if (m & POLLERR) strcat(text, "ERR ");
    if (m & POLLHUP) strcat(text, "HUP ");
    if (m & POLLRDHUP) strcat(text, "RDHUP ");
    if (text[0] == 0) strcpy(text, "none ");
    text[strlen(text) - 1] = 0;
    return text;
}

static int so_error(int fd)
{
    int e = -1;
    socklen_t n = sizeof e;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &n);
    return e;
}

static void names(void)
{
    int l = listener(4), c = client(0);
    struct sockaddr_in local, peer, accepted_local, accepted_peer, from;
    socklen_t n = sizeof local;
    getsockname(c, (struct sockaddr *)&local, &n);
    n = sizeof peer;
    getpeername(c, (struct sockaddr *)&peer, &n);
    n = sizeof from;
    int s = accept(l, (struct sockaddr *)&from, &n);
    printf("accept's address length: %u\n", n);
    n = sizeof accepted_local;
    getsockname(s, (struct sockaddr *)&accepted_local, &n);
    n = sizeof accepted_peer;
    getpeername(s, (struct sockaddr *)&accepted_peer, &n);
    printf("client's own address: %s, port ephemeral: %s\n", inet_ntoa(local.sin_addr),
           ntohs(local.sin_port) >= 1024 && ntohs(local.sin_port) != port ? "yes" : "no");
    printf("client's peer: %s, the listener's port: %s\n", inet_ntoa(peer.sin_addr), ntohs(peer.sin_port) == port ? "yes" : "no");
    printf("accept's peer: %s, the client's port: %s\n", inet_ntoa(from.sin_addr), from.sin_port == local.sin_port ? "yes" : "no");
    printf("accepted socket's own address: %s, the listener's port: %s\n", inet_ntoa(accepted_local.sin_addr),
           ntohs(accepted_local.sin_port) == port ? "yes" : "no");
    printf("accepted socket's peer is the client: %s\n", accepted_peer.sin_port == local.sin_port && accepted_peer.sin_addr.s_addr == local.sin_addr.s_addr ? "yes" : "no");
    result("connect again", connect(c, (struct sockaddr *)&peer, sizeof peer));
    close(s);
    close(c);
    close(l);
}

static void data_and_half_close(void)
{
    int l = listener(4), c = client(0);
    int s = accept(l, NULL, NULL);
    char buffer[64];
    printf("idle client: %s\n", mask(revents(c, 0)));
    result("client writes", write(c, "ping", 4));
    printf("server with bytes waiting: %s\n", mask(revents(s, 1000)));
    int available = -1;
    ioctl(s, FIONREAD, &available);
    printf("FIONREAD: %d\n", available);
    result("MSG_PEEK", recv(s, buffer, sizeof buffer, MSG_PEEK));
    result("server reads", read(s, buffer, sizeof buffer));
    result("server writes", write(s, "pong!", 5));
    result("client reads", read(c, buffer, sizeof buffer));
    result("client's non-blocking read with nothing there", recv(c, buffer, sizeof buffer, MSG_DONTWAIT));
    result("client shuts writing", shutdown(c, SHUT_WR));
    printf("client after SHUT_WR: %s\n", mask(revents(c, 0)));
    printf("server after the client's SHUT_WR: %s\n", mask(revents(s, 1000)));
    result("server reads at the end of stream", read(s, buffer, sizeof buffer));
    result("client writes after SHUT_WR", send(c, "x", 1, MSG_NOSIGNAL));
    result("server still writes", write(s, "back", 4));
    result("client still reads", read(c, buffer, sizeof buffer));
    close(s);
    printf("client after the server's close: %s\n", mask(revents(c, 1000)));
    result("client reads after the server's close", read(c, buffer, sizeof buffer));
    result("client's SO_ERROR", so_error(c));
    close(c);
    close(l);
}

static void non_blocking_connect(void)
{
    int l = listener(4);
    int c = client(SOCK_NONBLOCK);
    printf("non-blocking connect: %s\n", error_name(errno));
    printf("after it: %s\n", mask(revents(c, 1000)));
    result("SO_ERROR", so_error(c));
    struct sockaddr_in a = loopback(port);
    result("connect again", connect(c, (struct sockaddr *)&a, sizeof a));
    result("and again", connect(c, (struct sockaddr *)&a, sizeof a));
    int epoll = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event e = { .events = EPOLLIN | EPOLLET, .data.u32 = 1 };
    epoll_ctl(epoll, EPOLL_CTL_ADD, l, &e);
    int s = accept4(l, NULL, NULL, SOCK_NONBLOCK);
    result("accept4 with one waiting", s >= 0 ? 0 : -1);
    fcntl(l, F_SETFL, O_NONBLOCK);
    result("accept with none waiting on a non-blocking listener", accept(l, NULL, NULL));
    fcntl(l, F_SETFL, 0);
    struct epoll_event got;
    result("epoll: listener events with none waiting", epoll_wait(epoll, &got, 1, 0));
    int c2 = client(0);
    int ready = epoll_wait(epoll, &got, 1, 1000);
    printf("epoll: a connect makes the listener ready: %d %s\n", ready, ready == 1 ? mask(got.events) : "");
    e.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    e.data.u32 = 2;
    epoll_ctl(epoll, EPOLL_CTL_ADD, s, &e);
    ready = epoll_wait(epoll, &got, 1, 1000);
    printf("epoll: accepted socket at ADD: %d %s\n", ready, ready == 1 ? mask(got.events) : "");
    result("epoll: nothing new", epoll_wait(epoll, &got, 1, 0));
    write(c, "abc", 3);
    ready = epoll_wait(epoll, &got, 1, 1000);
    printf("epoll: after the client writes: %d %s\n", ready, ready == 1 ? mask(got.events) : "");
    shutdown(c, SHUT_WR);
    ready = epoll_wait(epoll, &got, 1, 1000);
    printf("epoll: after the client's SHUT_WR: %d %s\n", ready, ready == 1 ? mask(got.events) : "");
    close(epoll);
    int s2 = accept(l, NULL, NULL);
    close(s2);
    close(c2);
    close(s);
    close(c);
    close(l);
}

static void resets(void)
{
    char buffer[64];
    int l = listener(4), c = client(0);
    int s = accept(l, NULL, NULL);
    write(c, "unread", 6);
    write(s, "for the client", 14);
    usleep(10000);
    close(s);
    printf("client after a close that left bytes unread: %s\n", mask(revents(c, 1000)));
    result("client reads what was sent before", read(c, buffer, sizeof buffer));
    result("then", read(c, buffer, sizeof buffer));
    result("then", read(c, buffer, sizeof buffer));
    result("send", send(c, "x", 1, MSG_NOSIGNAL));
    close(c);

    c = client(0);
    s = accept(l, NULL, NULL);
    struct linger abortive = { .l_onoff = 1, .l_linger = 0 };
    setsockopt(c, SOL_SOCKET, SO_LINGER, &abortive, sizeof abortive);
    close(c);
    printf("server after a linger-0 close: %s\n", mask(revents(s, 1000)));
    result("server's SO_ERROR", so_error(s));
    result("server reads", read(s, buffer, sizeof buffer));
    close(s);

    c = client(0);
    s = accept(l, NULL, NULL);
    close(s);
    result("client reads after the server's close", read(c, buffer, sizeof buffer));
    result("client writes to the closed server", send(c, "hello", 5, MSG_NOSIGNAL));
    usleep(10000);
    printf("client after the server's reset: %s\n", mask(revents(c, 1000)));
    result("client writes again", send(c, "hello", 5, MSG_NOSIGNAL));
    result("and again", send(c, "hello", 5, MSG_NOSIGNAL));
    close(c);

    c = client(0);
    usleep(10000);
    close(l);
    printf("client when the listener closes before accepting it: %s\n", mask(revents(c, 1000)));
    result("client reads", read(c, buffer, sizeof buffer));
    close(c);
}

static void never_read(void)
{
    int l = listener(4), c = client(SOCK_NONBLOCK);
    int s = accept(l, NULL, NULL);
    static char chunk[4096];
    long queued = 0, n;
    while ((n = send(c, chunk, sizeof chunk, MSG_NOSIGNAL)) > 0) queued += n;
    printf("a non-blocking sender to a peer that never reads ends in: %s\n", error_name(errno));
    printf("then the client: %s\n", mask(revents(c, 0)));
    long drained = 0;
    fcntl(s, F_SETFL, O_NONBLOCK);
    while (drained < queued)
    {
        n = read(s, chunk, sizeof chunk);
        if (n > 0) drained += n;
        else if (n < 0 && errno == EAGAIN) poll(&(struct pollfd){ .fd = s, .events = POLLIN }, 1, 1000);
        else break;
    }
    printf("every byte queued arrives: %s\n", drained == queued ? "yes" : "no");
    printf("the client is writable again: %s\n", mask(revents(c, 1000)));
    close(s);
    close(c);
    close(l);
}

static void refused(void)
{
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = loopback(port);
    result("connect to a port nobody listens on", connect(c, (struct sockaddr *)&a, sizeof a));
    close(c);
    c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    long r = connect(c, (struct sockaddr *)&a, sizeof a);
    if (r < 0 && errno == EINPROGRESS) { revents(c, 2000); r = -1; errno = so_error(c); }
    result("the same, non-blocking", r);
    close(c);
}

int main(int argc, char **argv)
{
    if (argc < 2) { fprintf(stderr, "usage: loopback PORT\n"); return 2; }
    port = atoi(argv[1]);
    setvbuf(stdout, NULL, _IOLBF, 0);
    names();
    data_and_half_close();
    non_blocking_connect();
    resets();
    never_read();
    refused();
    printf("loopback: done\n");
    return 0;
}
