#ifndef VMCTL_CSYSTEM_H
#define VMCTL_CSYSTEM_H

/// Moves the calling thread into the network namespace referred to by `fd`.
/// (glibc's setns() is only declared under _GNU_SOURCE, which Swift's Glibc module does not set.)
int csystem_enter_network_namespace(int fd);

/// Creates a pipe whose ends close on exec, atomically: a child spawned meanwhile by another thread must
/// not inherit an end (it would hold the pipe open). pipe2() is also only declared under _GNU_SOURCE.
int csystem_cloexec_pipe(int fds[2]);

#endif
