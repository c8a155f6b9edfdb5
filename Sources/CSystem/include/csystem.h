#ifndef VMCTL_CSYSTEM_H
#define VMCTL_CSYSTEM_H

/// Moves the calling thread into the network namespace referred to by `fd`.
/// (glibc's setns() is only declared under _GNU_SOURCE, which Swift's Glibc module does not set.)
int csystem_enter_network_namespace(int fd);

#endif
