#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <unistd.h>
#include "csystem.h"

int csystem_enter_network_namespace(int fd) {
    return setns(fd, CLONE_NEWNET);
}

int csystem_cloexec_pipe(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}

unsigned long csystem_stdout_write(const void *bytes, unsigned long count) {
    return fwrite(bytes, 1, count, stdout);
}

int csystem_stdout_failed(void) {
    return fflush(stdout) != 0 || ferror(stdout);
}
