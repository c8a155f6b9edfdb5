#ifndef VMCTL_CSYSTEM_H
#define VMCTL_CSYSTEM_H

/// Moves the calling thread into the network namespace referred to by `fd`.
/// (glibc's setns() is only declared under _GNU_SOURCE, which Swift's Glibc module does not set.)
int csystem_enter_network_namespace(int fd);

/// Creates a pipe whose ends close on exec, atomically: a child spawned meanwhile by another thread must
/// not inherit an end (it would hold the pipe open). pipe2() is also only declared under _GNU_SOURCE.
int csystem_cloexec_pipe(int fds[2]);

/// Writes to stdio's stdout (Swift 6 cannot name the `stdout` global); returns the count written.
unsigned long csystem_stdout_write(const void *bytes, unsigned long count);

/// Flushes stdout; nonzero when that or any earlier write to it failed (errno tells why).
int csystem_stdout_failed(void);

#endif
