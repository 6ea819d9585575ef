/* queue.c: per-host FIFOs with a round-robin ready list (fm_queue.h).
 *
 * Only struct fm_job's "next" link is used here, so the module stays
 * independent of what a job holds. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fm_hash.h"
#include "fm_job.h"
#include "fm_queue.h"

int fm_queue_init(struct fm_queue *q, unsigned limit)
{
	*q = (struct fm_queue){.limit = limit, .nbucket = 64};
	q->bucket = calloc(q->nbucket, sizeof(*q->bucket));
	return q->bucket ? 0 : -ENOMEM;
}

static size_t bucket_of(const struct fm_queue *q, const char *name)
{
	return (size_t)(fm_fnv1a64(name, strlen(name)) & (q->nbucket - 1));
}

static void grow(struct fm_queue *q)
{
	size_t n = q->nbucket * 2;
	struct fm_host **b = calloc(n, sizeof(*b));

	if (!b)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < q->nbucket; i++) {
		struct fm_host *e = q->bucket[i], *next;

		for (; e; e = next) {
			size_t j = (size_t)(fm_fnv1a64(e->name, strlen(e->name)) &
					    (n - 1));

			next = e->next;
			e->next = b[j];
			b[j] = e;
		}
	}
	free(q->bucket);
	q->bucket = b;
	q->nbucket = n;
}

struct fm_host *fm_queue_get(struct fm_queue *q, const char *name)
{
	size_t i = bucket_of(q, name);
	struct fm_host *e;

	for (e = q->bucket[i]; e; e = e->next) {
		if (strcmp(e->name, name) == 0) {
			e->refs++;
			return e;
		}
	}
	e = calloc(1, sizeof(*e));
	if (!e || !(e->name = strdup(name))) {
		free(e);
		return NULL;
	}
	e->refs = 1;
	e->next = q->bucket[i];
	q->bucket[i] = e;
	if (++q->count > q->nbucket)
		grow(q);
	return e;
}

static bool has_room(const struct fm_queue *q, const struct fm_host *e)
{
	return q->limit == 0 || e->running < q->limit;
}

static void make_ready(struct fm_queue *q, struct fm_host *e)
{
	if (e->ready || !e->qhead || !has_room(q, e))
		return;
	e->ready = true;
	e->next_ready = NULL;
	if (q->ready_tail)
		q->ready_tail->next_ready = e;
	else
		q->ready_head = e;
	q->ready_tail = e;
}

void fm_queue_put(struct fm_queue *q, struct fm_host *e)
{
	struct fm_host **p;

	if (--e->refs > 0)
		return;
	for (p = &q->bucket[bucket_of(q, e->name)]; *p; p = &(*p)->next) {
		if (*p == e) {
			*p = e->next;
			q->count--;
			break;
		}
	}
	free(e->name);
	free(e);
}

void fm_queue_push(struct fm_queue *q, struct fm_host *host,
		   struct fm_job *job, bool front)
{
	if (front) {
		struct fm_job **at = host->rtail ? &host->rtail->next
						 : &host->qhead;

		job->next = *at;
		*at = job;
		if (!job->next)
			host->qtail = job;
		host->rtail = job;
	} else {
		job->next = NULL;
		if (host->qtail)
			host->qtail->next = job;
		else
			host->qhead = job;
		host->qtail = job;
	}
	q->queued++;
	make_ready(q, host);
}

struct fm_job *fm_queue_next(struct fm_queue *q, struct fm_host **host)
{
	struct fm_host *e = q->ready_head;
	struct fm_job *job;

	if (!e)
		return NULL;
	q->ready_head = e->next_ready;
	if (!q->ready_head)
		q->ready_tail = NULL;
	e->ready = false;
	job = e->qhead;
	if (job == e->rtail)
		e->rtail = NULL;
	e->qhead = job->next;
	if (!e->qhead)
		e->qtail = NULL;
	job->next = NULL;
	q->queued--;
	e->running++;
	make_ready(q, e); /* to the back: round-robin */
	*host = e;
	return job;
}

bool fm_queue_hold(struct fm_queue *q, struct fm_host *host)
{
	if (!has_room(q, host))
		return false;
	host->running++;
	return true;
}

bool fm_queue_ready(const struct fm_queue *q)
{
	return q->ready_head != NULL;
}

bool fm_queue_room(const struct fm_queue *q, const struct fm_host *host)
{
	return has_room(q, host);
}

void fm_queue_done(struct fm_queue *q, struct fm_host *host)
{
	host->running--;
	make_ready(q, host);
}

void fm_queue_drain(struct fm_queue *q, void (*fn)(void *arg, struct fm_job *),
		    void *arg)
{
	struct fm_job *all = NULL, *job;

	/* Unlink everything first: fn drops references, which may free the
	 * very host records being walked. */
	for (size_t i = 0; i < q->nbucket; i++) {
		for (struct fm_host *e = q->bucket[i]; e; e = e->next) {
			if (e->qtail) {
				e->qtail->next = all;
				all = e->qhead;
			}
			e->qhead = e->qtail = e->rtail = NULL;
			e->ready = false;
		}
	}
	q->ready_head = q->ready_tail = NULL;
	q->queued = 0;
	while ((job = all)) {
		all = job->next;
		job->next = NULL;
		fn(arg, job);
	}
}

void fm_queue_free(struct fm_queue *q)
{
	for (size_t i = 0; q->bucket && i < q->nbucket; i++) {
		struct fm_host *e = q->bucket[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e->name);
			free(e);
		}
	}
	free(q->bucket);
	*q = (struct fm_queue){0};
}
