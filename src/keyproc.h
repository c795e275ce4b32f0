/* SPDX-License-Identifier: ISC */
/*
 * keyproc.h: the signer process. scepd forks it at start, before it drops
 * privileges: a small supervisor that forks `workers` worker processes, each
 * serving one SOCK_SEQPACKET socketpair with the network process. Only the
 * workers load the CA and RA private keys (through signer.c); the network
 * process talks to them through signer_remote.c with the typed messages of
 * keyproc_proto.h. A worker that dies is re-forked by the supervisor, which
 * passes the new socket to the network process over a control socket; until
 * then requests on that socket fail at once.
 */
#ifndef KEYPROC_H
#define KEYPROC_H

#include <stddef.h>
#include <stdint.h>

#include "keyproc_proto.h"

struct keyproc;

/*
 * Forks the supervisor and its workers. config_file is re-read by the workers
 * (their own copy of the templates, to re-check what they issue). NULL with a
 * reason on failure.
 */
struct keyproc *keyproc_start(const char *config_file, unsigned workers, char *err,
    size_t errlen);

/* Closes the sockets (the workers and the supervisor then exit) and frees kp. */
void keyproc_stop(struct keyproc *kp);

/* The supervisor's process id (tests, diagnostics). */
long keyproc_pid(const struct keyproc *kp);

/*
 * One round trip: sends the finished request req and waits (bounded) for the
 * reply, which is parsed into *reply over *rbuf (malloc'd; the caller frees it
 * with keyproc_reply_free). 0, or -1 with a reason when no worker answered.
 */
int keyproc_call(struct keyproc *kp, struct keyproc_buf *req, uint8_t **rbuf,
    struct keyproc_msg *reply, char *err, size_t errlen);
void keyproc_reply_free(uint8_t *rbuf, size_t len);

/*
 * scepd reloaded its configuration: the supervisor reads the file (each
 * worker it starts from then on begins with this reading and the one
 * before), then every worker reads it now (each keeps this reading and the
 * one before, for requests in flight). Waits in line with the requests for
 * each socket, at most 5 s for each and then 5 s for its reply; a worker
 * still busy reads the file before its next request. 0, or -1 with the first
 * reason.
 */
int keyproc_reload(struct keyproc *kp, char *err, size_t errlen);

/*
 * A worker's whole life on fd: answers each request, refuses (with an event)
 * malformed, unknown and out-of-place messages. It checks them against its
 * readings of config_file: it takes over served (the supervisor's reading of
 * scepd's last load, in the forked copy; NULL to start with none), then reads
 * the file as an edit if it changed since. Returns when the peer closes
 * (0), or KEYPROC_EXIT_TOKEN after answering a request that failed because a
 * PKCS#11 token is unavailable (event 1016, once: not again when
 * token_was_down, the token having failed for the worker before it).
 * Exposed for the unit tests, which run it on a socketpair in a thread.
 */
struct keyproc_config;
int keyproc_serve(int fd, const char *config_file, const struct keyproc_config *served,
    int token_was_down);

/*
 * A worker's exit status when a key in a PKCS#11 token stopped working: the
 * supervisor forks a new worker, which opens the module afresh (libp11 never
 * re-opens its sessions), and tells it the token was down so that it says
 * when the keys work again (event 1017).
 */
#define KEYPROC_EXIT_TOKEN 3

/*
 * A worker's exit status when it made a system call outside its sandbox's
 * allow-list (keyproc_sandbox.c); it wrote the call's number to stderr.
 */
#define KEYPROC_EXIT_SANDBOX 4

#endif
