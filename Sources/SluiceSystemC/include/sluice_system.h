#ifndef SLUICE_SYSTEM_H
#define SLUICE_SYSTEM_H

#include <sys/types.h>

/// Starts the executable at `path` with `argv` and `envp` (both NULL-terminated; `envp` NULL
/// for this process's environment). Its standard input, output and error are `stdio[0..2]`;
/// every other descriptor is closed; every signal has its default disposition and none is
/// blocked, whatever this process (or the calling thread) ignores or blocks; it leads a new
/// process group (so killing the group also stops what it starts, and a terminal's Ctrl-C
/// reaches only this process). Returns 0 and sets `*pid`, or an errno value.
int sluice_spawn(const char *path, char *const argv[], char *const envp[], const int stdio[3], pid_t *pid);

/// An anonymous file in memory (`memfd_create`, close-on-exec) that disappears with its last
/// descriptor, even when the process is killed; -1 with errno set on failure.
int sluice_memfd(const char *name);

/// Sets glibc's malloc thresholds (`mallopt` `M_MMAP_THRESHOLD` and `M_TRIM_THRESHOLD`, in
/// bytes), so memory freed by one batch is reused by the next instead of being handed back to
/// the kernel, and limits the process to `arenas` malloc arenas (`M_ARENA_MAX`), so memory freed
/// on one thread serves allocations on the others; returns 1 when all were set (0 elsewhere
/// than glibc).
int sluice_retain_freed_memory(int mmap_threshold, int trim_threshold, int arenas);

/// Sets the capacity of the pipe `fd` belongs to (`fcntl` `F_SETPIPE_SZ`, Linux) to at least
/// `bytes`; returns the capacity set, or -1 with errno set (elsewhere than Linux: ENOTSUP).
int sluice_set_pipe_capacity(int fd, int bytes);

/// The bytes held in the pipe `fd` belongs to, written and not read yet (`ioctl` `FIONREAD`,
/// which Linux answers on either end of a pipe); -1 with errno set on failure.
int sluice_pipe_unread_bytes(int fd);

#endif
