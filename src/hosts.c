/* hosts.c: per-host FIFOs with a round-robin ready list (fm_hosts.h).
 *
 * Only struct fm_job's "next" link is used here, so the module stays
 * independent of what a job holds. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fm_hash.h"
#include "fm_hosts.h"
#include "fm_job.h"

int fm_hosts_init(struct fm_hosts *h, unsigned limit)
{
	*h = (struct fm_hosts){.limit = limit, .nbucket = 64};
	h->bucket = calloc(h->nbucket, sizeof(*h->bucket));
	return h->bucket ? 0 : -ENOMEM;
}

static size_t slot(const struct fm_hosts *h, const char *name)
{
	return (size_t)(fm_fnv1a64(name, strlen(name)) & (h->nbucket - 1));
}

static void grow(struct fm_hosts *h)
{
	size_t n = h->nbucket * 2;
	struct fm_host **b = calloc(n, sizeof(*b));

	if (!b)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < h->nbucket; i++) {
		struct fm_host *e = h->bucket[i], *next;

		for (; e; e = next) {
			size_t j = (size_t)(fm_fnv1a64(e->name, strlen(e->name)) &
					    (n - 1));

			next = e->next;
			e->next = b[j];
			b[j] = e;
		}
	}
	free(h->bucket);
	h->bucket = b;
	h->nbucket = n;
}

struct fm_host *fm_hosts_get(struct fm_hosts *h, const char *name)
{
	size_t i = slot(h, name);
	struct fm_host *e;

	for (e = h->bucket[i]; e; e = e->next) {
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
	e->next = h->bucket[i];
	h->bucket[i] = e;
	if (++h->count > h->nbucket)
		grow(h);
	return e;
}

static bool has_room(const struct fm_hosts *h, const struct fm_host *e)
{
	return h->limit == 0 || e->running < h->limit;
}

static void make_ready(struct fm_hosts *h, struct fm_host *e)
{
	if (e->ready || !e->qhead || !has_room(h, e))
		return;
	e->ready = true;
	e->next_ready = NULL;
	if (h->ready_tail)
		h->ready_tail->next_ready = e;
	else
		h->ready_head = e;
	h->ready_tail = e;
}

void fm_hosts_put(struct fm_hosts *h, struct fm_host *e)
{
	struct fm_host **p;

	if (--e->refs > 0)
		return;
	for (p = &h->bucket[slot(h, e->name)]; *p; p = &(*p)->next) {
		if (*p == e) {
			*p = e->next;
			h->count--;
			break;
		}
	}
	free(e->name);
	free(e);
}

void fm_hosts_push(struct fm_hosts *h, struct fm_host *host,
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
	h->queued++;
	make_ready(h, host);
}

struct fm_job *fm_hosts_next(struct fm_hosts *h, struct fm_host **host)
{
	struct fm_host *e = h->ready_head;
	struct fm_job *job;

	if (!e)
		return NULL;
	h->ready_head = e->next_ready;
	if (!h->ready_head)
		h->ready_tail = NULL;
	e->ready = false;
	job = e->qhead;
	if (job == e->rtail)
		e->rtail = NULL;
	e->qhead = job->next;
	if (!e->qhead)
		e->qtail = NULL;
	job->next = NULL;
	h->queued--;
	e->running++;
	make_ready(h, e); /* to the back: round-robin */
	*host = e;
	return job;
}

void fm_hosts_done(struct fm_hosts *h, struct fm_host *host)
{
	host->running--;
	make_ready(h, host);
}

void fm_hosts_drain(struct fm_hosts *h, void (*fn)(void *arg, struct fm_job *),
		    void *arg)
{
	struct fm_job *all = NULL, *job;

	/* Unlink everything first: fn drops references, which may free the
	 * very host records being walked. */
	for (size_t i = 0; i < h->nbucket; i++) {
		for (struct fm_host *e = h->bucket[i]; e; e = e->next) {
			if (e->qtail) {
				e->qtail->next = all;
				all = e->qhead;
			}
			e->qhead = e->qtail = e->rtail = NULL;
			e->ready = false;
		}
	}
	h->ready_head = h->ready_tail = NULL;
	h->queued = 0;
	while ((job = all)) {
		all = job->next;
		job->next = NULL;
		fn(arg, job);
	}
}

void fm_hosts_free(struct fm_hosts *h)
{
	for (size_t i = 0; h->bucket && i < h->nbucket; i++) {
		struct fm_host *e = h->bucket[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e->name);
			free(e);
		}
	}
	free(h->bucket);
	*h = (struct fm_hosts){0};
}
