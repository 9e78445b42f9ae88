// The injector's C shim: wrappers Embedded Swift cannot express over musl, and the two symbols the
// Embedded runtime expects from the platform (arc4random_buf for hashing seeds).
#define _GNU_SOURCE
#include "CShim/shim.h"
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/random.h>

int shim_errno(void) { return errno; }

int shim_open_read(const char *path) { return open(path, O_RDONLY | O_CLOEXEC); }

static void on_terminate(int sig) { (void)sig; _exit(0); }

void shim_setup_signals(void) {
    // A parent may hand down a blocked signal mask; start clean so SIGTERM always works.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_IGN);
    // As PID 1 in a container, SIGTERM is ignored unless handled: exit at once when the pod is deleted.
    signal(SIGTERM, on_terminate);
    signal(SIGINT, on_terminate);
}

int64_t shim_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *shim_dirent_name(struct dirent *entry) { return entry->d_name; }

int shim_set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL, 0);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

void shim_write_stderr(const char *bytes, size_t count) {
    while (count > 0) {
        ssize_t n = write(2, bytes, count);
        if (n < 0) { if (errno == EINTR) continue; return; }
        bytes += n; count -= (size_t)n;
    }
}

int shim_listen(const char *host, int v6, int port, int *bound_port) {
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t sslen;
    int family;
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1) return -1;
        family = AF_INET6; sslen = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        if (host[0] == 0) a->sin_addr.s_addr = htonl(INADDR_ANY);
        else if (inet_pton(AF_INET, host, &a->sin_addr) != 1) return -1;
        family = AF_INET; sslen = sizeof *a;
    }
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -2;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, sslen) != 0 || listen(fd, 512) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -2;
    }
    socklen_t len = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &len);
    *bound_port = family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                     : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

int shim_accept(int listener) {
    int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return fd;
}

// The Embedded Swift runtime seeds hashing with arc4random_buf, which musl 1.2.3 lacks.
void arc4random_buf(void *buf, size_t n) {
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) { if (errno == EINTR) continue; break; }
        p += got; n -= (size_t)got;
    }
}
