#define _GNU_SOURCE
#include <sched.h>
#include "csystem.h"

int csystem_enter_network_namespace(int fd) {
    return setns(fd, CLONE_NEWNET);
}
