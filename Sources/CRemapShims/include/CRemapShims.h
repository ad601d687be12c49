/*
** CRemapShims.h: the few C calls the Swift loader needs that Swift cannot
** make itself (swift-nio keeps the same kind of thing in CNIOLinux). Not
** part of the core and not Remap's API: nothing here touches the heap, and
** the names carry no rm_ prefix so they are never mistaken for it.
*/
#ifndef CREMAP_SHIMS_H
#define CREMAP_SHIMS_H

#pragma GCC visibility push(hidden)

/* The uid of the process at the other end of a connected Unix socket
   (SO_PEERCRED), for the control server's access check. 0, or -1 with
   errno set. */
int remap_shim_peer_uid(int fd, unsigned *uid);

#pragma GCC visibility pop

#endif
