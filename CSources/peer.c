/*
** peer.c: the uid of the process at the other end of a Unix socket, for the
** control server's access check. struct ucred needs _GNU_SOURCE, which Swift
** does not see, so this one call lives here.
*/
#define _GNU_SOURCE
#include "internal.h"

#include <sys/socket.h>

int rm_socket_peer_uid(int fd, unsigned *uid) {
    struct ucred cred;
    socklen_t size = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &size) != 0) return -1;
    *uid = cred.uid;
    return 0;
}
