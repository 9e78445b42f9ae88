// The C surface the Embedded Swift injector uses: musl's libc headers plus a few wrappers for what
// Swift cannot import directly (errno, variadic open, SIG_IGN, struct dirent's name, socket addresses).
#ifndef OUTPOST_INJECTOR_SHIM_H
#define OUTPOST_INJECTOR_SHIM_H

#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/sendfile.h>

#if defined(__clang__) && defined(__SHA__) && defined(__SSE4_1__)
#include <immintrin.h>
#include <cpuid.h>
// Intrinsics whose immediate operand makes them macros, which Swift cannot call: fixed-immediate forms
// for the SHA-NI compression function (SHA256NI.swift).
static inline __m128i shim_shuffle_epi32_b1(__m128i a) { return _mm_shuffle_epi32(a, 0xB1); }
static inline __m128i shim_shuffle_epi32_1b(__m128i a) { return _mm_shuffle_epi32(a, 0x1B); }
static inline __m128i shim_shuffle_epi32_0e(__m128i a) { return _mm_shuffle_epi32(a, 0x0E); }
static inline __m128i shim_alignr_epi8_8(__m128i a, __m128i b) { return _mm_alignr_epi8(a, b, 8); }
static inline __m128i shim_alignr_epi8_4(__m128i a, __m128i b) { return _mm_alignr_epi8(a, b, 4); }
static inline __m128i shim_blend_epi16_f0(__m128i a, __m128i b) { return _mm_blend_epi16(a, b, 0xF0); }
#endif

/// The calling thread's errno.
int shim_errno(void);
/// open(path, O_RDONLY | O_CLOEXEC); -1 on failure.
int shim_open_read(const char *path);
/// Unblocks all signals, ignores SIGPIPE (a client that goes away mid-response cannot kill the server)
/// and exits on SIGTERM/SIGINT (as PID 1 in a container these would otherwise be ignored).
void shim_setup_signals(void);
/// Monotonic clock in milliseconds.
int64_t shim_now_ms(void);
/// The entry's name (d_name).
const char *shim_dirent_name(struct dirent *entry);
/// Makes fd non-blocking; 0 on success.
int shim_set_nonblocking(int fd);
/// Binds and listens on host (IPv4 text, or IPv6 text when v6; "" = any IPv4) and port; returns the
/// non-blocking listening socket, -1 when host is not an address, -2 on a socket error (errno set).
/// `bound_port` receives the port actually bound (for port 0).
int shim_listen(const char *host, int v6, int port, int *bound_port);
/// accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC and TCP_NODELAY set; -1 on failure (errno set).
int shim_accept(int listener);
/// Writes a message to stderr (used before exit).
void shim_write_stderr(const char *bytes, size_t count);

#endif
