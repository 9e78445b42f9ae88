// Linux calls that Swift's Glibc module does not import (they are _GNU_SOURCE-only).
#ifndef OUTPOST_CLINUX_SHIM_H
#define OUTPOST_CLINUX_SHIM_H
#define _GNU_SOURCE
#include <fcntl.h>

/// Starts writeback of [offset, offset+count) without waiting for it (sync_file_range(2) with
/// SYNC_FILE_RANGE_WRITE). Returns 0, or -1 with errno set.
static inline int outpost_start_writeback(int fd, long long offset, long long count) {
    return sync_file_range(fd, offset, count, SYNC_FILE_RANGE_WRITE);
}
#endif
