/* admit.c: from input lines to queued jobs.
 *
 * Reads the lists in bounded batches (an idle handle brings the loop back
 * for more; a uv_poll waits for a pipe or terminal), parses each line,
 * names and claims its path, and queues it under its host, or reports
 * at once why it cannot be used. Reading stops while the jobs waiting
 * for a slot or a retry fill the read-ahead window. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "fm_error.h"
#include "fm_list.h"
#include "fm_name.h"
#include "fm_policy.h"
#include "run.h"

/* Lines parsed per loop iteration at most. */
#define READ_BATCH 256

static void report_invalid(struct run *r, const struct fm_line *l,
			   const char *url, const char *out, const char *why)
{
	r->known++;
	struct fm_result res = {
		.url = url,
		.out = out,
		.status = FM_STATUS_INVALID,
		.error = why,
		.line = l->line,
		.source = l->source,
	};

	fm_run_report(r, &res);
}

/* Why an entry's path cannot be claimed: rc says whether the path or,
 * under -c, its NAME.part was taken, prev by whom. */
static void claim_conflict(struct run *r, const struct fm_line *l, int rc,
			   const struct fm_claim *prev, char *why, size_t n)
{
	const struct fm_source *s;
	const char *what;

	if (rc == FM_CLAIM_PART_TAKEN)
		what = "output path's .part file already used by";
	else if (prev->part)
		what = "output path is the .part file of";
	else
		what = "output path already used by";
	s = prev->known && prev->source < (uint32_t)r->in.nsrc
		    ? &r->in.src[prev->source]
		    : NULL;
	if (!s)
		snprintf(why, n, "%s an earlier entry", what);
	else if (s->url)
		snprintf(why, n, "%s argument '%s'", what, s->url);
	else if (prev->source == (uint32_t)l->index)
		snprintf(why, n, "%s line %llu", what,
			 (unsigned long long)prev->line);
	else
		snprintf(why, n, "%s line %llu of %s", what,
			 (unsigned long long)prev->line, s->name);
}

/* Finds the host record a job is counted under: its URL's host under
 * --per-host, one shared record otherwise (no parsing needed). Returns 0
 * or -ENOMEM. */
static int host_of(struct run *r, struct fm_job *job)
{
	char host[256] = "";

	if (r->o->per_host &&
	    fm_url_host_parsed(job->entry.uh, host, sizeof(host)))
		host[0] = '\0';
	job->host = fm_hosts_get(&r->queue, host);
	return job->host ? 0 : -ENOMEM;
}

/* --dry-run: what would be fetched, and where, without a request. */
static void report_planned(struct run *r, struct fm_job *job)
{
	struct fm_result res = {
		.url = job->entry.url,
		.out = job->entry.out,
		.path = job->path,
		.status = FM_STATUS_PLANNED,
		.sha256 = job->entry.sha256,
		.line = job->line,
		.source = job->source,
	};

	fm_run_report(r, &res);
	fm_run_drop_job(r, job);
}

/* Turns an accepted entry into a queued job, or reports why it cannot. */
static void admit(struct run *r, const struct fm_line *l, struct fm_entry *e)
{
	char why[FM_WHY_MAX];
	struct fm_claim prev;
	struct fm_job *job;
	char *rel = NULL;
	int rc;

	if (fm_name_resolve_parsed(e->uh, e->out, r->o->mirror, &rel, why,
				   sizeof(why))) {
		report_invalid(r, l, e->url, e->out, why);
		goto drop;
	}
	/* Workers claim too, for --content-disposition names. */
	pthread_mutex_lock(&r->claims_lock);
	rc = fm_claims_take_path(&r->claims, rel, r->conf.parts,
				 (uint32_t)l->index, l->line, &prev);
	pthread_mutex_unlock(&r->claims_lock);
	if (rc != FM_CLAIM_FREE) {
		if (rc != FM_CLAIM_NOMEM)
			claim_conflict(r, l, rc, &prev, why, sizeof(why));
		else
			snprintf(why, sizeof(why), "%s", fm_strerror(-ENOMEM));
		report_invalid(r, l, e->url, e->out, why);
		goto drop;
	}
	job = calloc(1, sizeof(*job));
	if (!job || !(job->path = fm_name_join(r->conf.output_dir, rel))) {
		free(job);
		report_invalid(r, l, e->url, e->out, "out of memory");
		goto drop;
	}
	job->entry = *e;
	*e = (struct fm_entry){0};
	job->relpath = rel;
	job->line = l->line;
	job->source = l->source;
	job->source_index = (uint32_t)l->index;
	r->known++;
	if (r->o->dry_run) {
		report_planned(r, job);
		return;
	}
	if (host_of(r, job)) {
		struct fm_outcome o = {.status = FM_STATUS_FAILED};

		snprintf(o.error, sizeof(o.error), "out of memory");
		fm_run_finish_job(r, job, &o, 0);
		return;
	}
	/* Parsed once for all of admission; a job in the window holds no
	 * more than its strings. */
	curl_url_cleanup(job->entry.uh);
	job->entry.uh = NULL;
	fm_hosts_push(&r->queue, job->host, job, false);
	return;
drop:
	free(rel);
	fm_entry_clear(e);
}

static void take_line(struct run *r, const struct fm_line *l)
{
	char why[FM_WHY_MAX];
	struct fm_entry e = {0};
	enum fm_line_kind kind;

	if (l->overlong) {
		if (!fm_shard_owns(NULL, r->o->shard_k, r->o->shard_n))
			return;
		snprintf(why, sizeof(why), "line longer than %d bytes",
			 FM_LINE_MAX);
		report_invalid(r, l, NULL, NULL, why);
		return;
	}
	if (l->is_url) {
		/* A URL argument is an entry by itself, without fields. */
		if (!fm_shard_owns(l->text, r->o->shard_k, r->o->shard_n))
			return;
		e.url = strdup(l->text);
		if (!e.url) {
			report_invalid(r, l, l->text, NULL, "out of memory");
			return;
		}
		if (fm_url_parse(e.url, &e.uh, why, sizeof(why))) {
			report_invalid(r, l, e.url, NULL, why);
			fm_entry_clear(&e);
			return;
		}
		admit(r, l, &e);
		return;
	}
	kind = fm_list_parse_line(l->text, l->len, &e, why, sizeof(why));
	if (kind == FM_LINE_SKIP ||
	    !fm_shard_owns(e.url, r->o->shard_k, r->o->shard_n)) {
		/* a comment, or another machine's entry */
	} else if (kind == FM_LINE_INVALID) {
		report_invalid(r, l, e.url, e.out, why);
	} else {
		admit(r, l, &e);
	}
	fm_entry_clear(&e);
}

static void on_uv_close_free(uv_handle_t *h)
{
	free(h);
}

/* The watcher is closed at once, not just stopped: the source's
 * descriptor may be closed at end of input and its number reused by a
 * socket, and closing a watcher later would unregister that socket. */
static void on_input_readable(uv_poll_t *h, int status, int events)
{
	struct run *r = h->data;

	uv_close((uv_handle_t *)h, on_uv_close_free);
	r->input_poll = NULL;
	fm_run_pump(r);
}

/* Watches fd (a pipe or terminal) once until it is readable. */
static void wait_for_input(struct run *r, int fd)
{
	if (r->input_poll)
		return;
	r->input_poll = malloc(sizeof(*r->input_poll));
	if (!r->input_poll || uv_poll_init(&r->loop, r->input_poll, fd)) {
		fprintf(stderr, "fetchmany: cannot watch list '%s'\n",
			fm_input_current_name(&r->in));
		free(r->input_poll);
		r->input_poll = NULL;
		r->any_bad = true;
		r->input_end = true;
		return;
	}
	r->input_poll->data = r;
	uv_poll_start(r->input_poll, UV_READABLE | UV_DISCONNECT,
		      on_input_readable);
}

static void on_reader_idle(uv_idle_t *h)
{
	fm_run_pump(h->data);
}

/* Reads entries until the window is full, the input waits or ends, or the
 * batch is used up (then the idle handle brings us back next pass). Jobs
 * waiting out a backoff count against the window too: they hold memory. */
void fm_admit_read(struct run *r)
{
	int budget = READ_BATCH;
	struct fm_line l;
	int fd, err;

	while (!r->input_end &&
	       r->queue.queued + r->waiting.len < r->window &&
	       budget-- > 0) {
		switch (fm_input_next(&r->in, &l, &fd, &err)) {
		case FM_INPUT_LINE:
			take_line(r, &l);
			break;
		case FM_INPUT_AGAIN:
			uv_idle_stop(&r->reader);
			wait_for_input(r, fd);
			return;
		case FM_INPUT_END:
			r->input_end = true;
			break;
		case FM_INPUT_ERROR:
			fprintf(stderr, "fetchmany: error reading a list: %s\n",
				fm_strerror(err));
			r->any_bad = true;
			break;
		}
	}
	if (!r->input_end && r->queue.queued + r->waiting.len < r->window)
		uv_idle_start(&r->reader, on_reader_idle);
	else
		uv_idle_stop(&r->reader);
}

void fm_admit_stop(struct run *r)
{
	uv_idle_stop(&r->reader);
	if (r->input_poll) {
		uv_close((uv_handle_t *)r->input_poll, on_uv_close_free);
		r->input_poll = NULL;
	}
}
