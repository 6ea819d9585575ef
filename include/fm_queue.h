/* fm_queue.h: the queue of jobs waiting for a slot, per host.
 *
 * Jobs wait in a FIFO of their host; hosts that have waiting jobs and room
 * under --per-host are served round-robin, so a busy host's backlog never
 * holds up another host's entries. Without a per-host limit every job
 * shares one host record and this is a plain FIFO. A host no job points
 * to any more is forgotten, so memory follows the jobs in flight. */
#ifndef FM_QUEUE_H
#define FM_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

struct fm_job;

struct fm_host {
	char *name;
	unsigned refs;              /* jobs pointing here, wherever they are */
	unsigned running;
	struct fm_job *qhead, *qtail;
	struct fm_job *rtail;       /* the last retry queued at the head */
	struct fm_host *next;       /* hash chain */
	struct fm_host *next_ready; /* ready list link */
	bool ready;                 /* on the ready list */
};

struct fm_queue {
	unsigned limit;           /* per host; 0: none */
	struct fm_host **bucket;  /* chained hash table */
	size_t nbucket, count;
	struct fm_host *ready_head, *ready_tail;
	size_t queued;            /* jobs waiting in all queues */
};

/* Starts an empty set; limit 0 means no per-host limit. Returns 0 or
 * -ENOMEM. */
int fm_queue_init(struct fm_queue *q, unsigned limit);

/* Finds or creates the record of host name and takes a reference for a
 * job. Returns NULL when out of memory. */
struct fm_host *fm_queue_get(struct fm_queue *q, const char *name);

/* Drops a job's reference; a record with none left is freed. */
void fm_queue_put(struct fm_queue *q, struct fm_host *host);

/* Queues job (whose host record is host) at the tail, or at the head for
 * a retry that waited its turn already: after the retries queued there
 * before it, so that retries start in the order they fell due. */
void fm_queue_push(struct fm_queue *q, struct fm_host *host,
		   struct fm_job *job, bool front);

/* Takes the next job that may start now, counting it as running on its
 * host (*host receives the record). Returns NULL when none may. */
struct fm_job *fm_queue_next(struct fm_queue *q, struct fm_host **host);

/* Counts one more transfer as running on host, outside the queue (a
 * segment of a running job's body), if host has room for it. Only when
 * fm_queue_next() has just returned NULL (no host is ready). Returns
 * false when host has none; fm_queue_done() ends it. */
bool fm_queue_hold(struct fm_queue *q, struct fm_host *host);

/* Whether a queued job may start now (fm_queue_next() would give one). */
bool fm_queue_ready(const struct fm_queue *q);

/* Whether host may run one more transfer (--per-host). */
bool fm_queue_room(const struct fm_queue *q, const struct fm_host *host);

/* A job of host stopped running. */
void fm_queue_done(struct fm_queue *q, struct fm_host *host);

/* Removes every queued job, handing each to fn (which frees it and
 * drops its reference). */
void fm_queue_drain(struct fm_queue *q, void (*fn)(void *arg, struct fm_job *),
		    void *arg);

void fm_queue_free(struct fm_queue *q);

#endif
