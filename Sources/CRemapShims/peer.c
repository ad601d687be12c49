/*
** peer.c: the uid of the process at the other end of a Unix socket.
** struct ucred needs _GNU_SOURCE, which Swift's Glibc module does not
** define, so this one call lives in C.
*/
#define _GNU_SOURCE
#include "CRemapShims.h"

#include <sys/socket.h>

int remap_shim_peer_uid(int fd, unsigned *uid) {
    struct ucred cred;
    socklen_t size = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &size) != 0) return -1;
    *uid = cred.uid;
    return 0;
}
