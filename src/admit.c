/* admit.c: from input lines to queued jobs.
 *
 * Reads the lists in bounded batches (an idle handle brings the loop back
 * for more; a uv_poll waits for a pipe or terminal), parses each line,
 * names and claims its path, and hands the job over (ops->job), or
 * reports at once why it cannot be used (ops->result). Reading stops
 * while ops->has_room() says no: the scheduler's read-ahead window is
 * full. Admission never calls the scheduler otherwise; its own loop
 * events only ask for a read (ops->wake). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <uv.h>

#include "fm_error.h"
#include "fm_job.h"
#include "fm_list.h"
#include "fm_name.h"
#include "fm_policy.h"
#include "fm_result.h"
#include "fm_sums.h"
#include "admit.h"

/* Lines parsed per loop iteration at most. */
#define READ_BATCH 256

static void report_invalid(struct fm_admit *a, const struct fm_line *l,
			   const char *url, const char *out, const char *why)
{
	a->known++;
	struct fm_result res = {
		.url = url,
		.out = out,
		.status = FM_STATUS_INVALID,
		.error = why,
		.line = l->line,
		.source = l->source,
	};

	a->ops->result(a->ctx, &res);
}

/* Why an entry's path cannot be claimed: rc says whether the path or,
 * under -c, its NAME.part was taken, prev by whom. */
static void claim_conflict(struct fm_admit *a, const struct fm_line *l,
			   enum fm_claim_result rc,
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
	s = prev->known && prev->source < (uint32_t)a->in.nsrc
		    ? &a->in.src[prev->source]
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

/* --dry-run: what would be fetched, and where, without a request. */
static void report_planned(struct fm_admit *a, const struct fm_line *l,
			   const struct fm_entry *e, const char *path)
{
	struct fm_result res = {
		.url = e->url,
		.mirrors = e->mirrors,
		.nmirrors = e->nmirrors,
		.out = e->out,
		.path = path,
		.status = FM_STATUS_PLANNED,
		.line = l->line,
		.source = l->source,
	};

	for (int k = 0; k < FM_ALGOS; k++)
		res.digest[k] = e->digest[k];
	a->ops->result(a->ctx, &res);
}

/* A job for entry e, which it takes over only when it returns one: NULL
 * when out of memory (e is untouched then). */
static struct fm_job *new_job(const struct fm_entry *e)
{
	struct fm_job *job = calloc(1, sizeof(*job));

	if (!job)
		return NULL;
	job->entry = *e;
	if (fm_job_urls_init(job)) {
		job->entry = (struct fm_entry){0};
		fm_job_free(job);
		return NULL;
	}
	return job;
}

/* --https-only: whether e has an http:// URL (its own or a mirror's),
 * said in why. */
static bool plain_http(const struct fm_entry *e, char *why, size_t cap)
{
	for (unsigned i = 0; i <= e->nmirrors; i++) {
		const char *u = i ? e->mirrors[i - 1] : e->url;

		if (strncasecmp(u, "http:", 5) == 0) {
			snprintf(why, cap, "%s URL refused by --https-only%s",
				 "http://", i ? " (a mirror)" : "");
			return true;
		}
	}
	return false;
}

/* The digests expected of e, whose path relative to -o is rel: its own,
 * else those of the checksum files. Returns 0, or -1 with why when it
 * has none and --require-digest wants one, or when out of memory. */
static int expect_digests(const struct fm_admit *a, struct fm_entry *e,
			  const char *rel, char *why, size_t whylen)
{
	if (fm_sums_apply(a->conf.sums, rel, e->digest))
		return fm_why(why, whylen, "%s", fm_strerror(-ENOMEM));
	if (a->conf.require_digest && !fm_digest_set(e->digest, false))
		return fm_why(why, whylen,
			      "no expected digest (--require-digest)");
	return 0;
}

/* Turns an accepted entry into a job handed over (or, under --dry-run, a
 * planned result), or reports why it cannot. */
static void admit(struct fm_admit *a, const struct fm_line *l,
		  struct fm_entry *e)
{
	char why[FM_WHY_MAX];
	struct fm_claim prev;
	struct fm_job *job = NULL;
	char *rel = NULL, *path = NULL;
	enum fm_claim_result rc;

	if (a->conf.https_only && plain_http(e, why, sizeof(why))) {
		report_invalid(a, l, e->url, e->out, why);
		goto drop;
	}
	/* An entry refused for want of a digest claims no path. */
	if (fm_name_resolve_parsed(e->uh, e->out, a->conf.mirror, &rel, why,
				   sizeof(why)) ||
	    expect_digests(a, e, rel, why, sizeof(why))) {
		report_invalid(a, l, e->url, e->out, why);
		goto drop;
	}
	/* Workers claim too, for --content-disposition names. */
	pthread_mutex_lock(&a->claims_lock);
	rc = fm_claims_take_path(&a->claims, rel, a->conf.parts,
				 (uint32_t)l->index, l->line, &prev);
	pthread_mutex_unlock(&a->claims_lock);
	if (rc != FM_CLAIM_FREE) {
		if (rc != FM_CLAIM_NOMEM)
			claim_conflict(a, l, rc, &prev, why, sizeof(why));
		else
			snprintf(why, sizeof(why), "%s", fm_strerror(-ENOMEM));
		report_invalid(a, l, e->url, e->out, why);
		goto drop;
	}
	/* A dry run makes no job: its result is all there is. */
	if (!(path = fm_name_join(a->conf.output_dir, rel)) ||
	    (!a->conf.dry_run && !(job = new_job(e)))) {
		report_invalid(a, l, e->url, e->out, "out of memory");
		goto drop;
	}
	a->known++;
	if (a->conf.dry_run) {
		report_planned(a, l, e, path);
		goto drop;
	}
	*e = (struct fm_entry){0};
	job->relpath = rel;
	job->path = path;
	job->line = l->line;
	job->source = l->source;
	job->source_index = (uint32_t)l->index;
	a->ops->job(a->ctx, job);
	return;
drop:
	free(path);
	free(rel);
	fm_entry_clear(e);
}

static void take_line(struct fm_admit *a, const struct fm_line *l)
{
	char why[FM_WHY_MAX];
	struct fm_entry e = {0};
	enum fm_line_kind kind;

	if (l->overlong) {
		if (!fm_shard_owns(NULL, a->conf.shard_k, a->conf.shard_n))
			return;
		snprintf(why, sizeof(why), "line longer than %d bytes",
			 FM_LINE_MAX);
		report_invalid(a, l, NULL, NULL, why);
		return;
	}
	if (l->is_url) {
		/* A URL argument is an entry by itself, without fields. */
		if (!fm_shard_owns(l->text, a->conf.shard_k, a->conf.shard_n))
			return;
		e.url = strdup(l->text);
		if (!e.url) {
			report_invalid(a, l, l->text, NULL, "out of memory");
			return;
		}
		if (fm_url_parse(e.url, &e.uh, why, sizeof(why))) {
			report_invalid(a, l, e.url, NULL, why);
			fm_entry_clear(&e);
			return;
		}
		admit(a, l, &e);
		return;
	}
	kind = fm_list_parse_line(l->text, l->len, &e, why, sizeof(why));
	if (kind == FM_LINE_SKIP ||
	    !fm_shard_owns(e.url, a->conf.shard_k, a->conf.shard_n)) {
		/* a comment, or another machine's entry */
	} else if (kind == FM_LINE_INVALID) {
		report_invalid(a, l, e.url, e.out, why);
	} else {
		admit(a, l, &e);
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
	struct fm_admit *a = h->data;

	uv_close((uv_handle_t *)h, on_uv_close_free);
	a->input_poll = NULL;
	a->ops->wake(a->ctx);
}

/* Watches fd (a pipe or terminal) once until it is readable. */
static void wait_for_input(struct fm_admit *a, int fd)
{
	if (a->input_poll)
		return;
	a->input_poll = malloc(sizeof(*a->input_poll));
	if (!a->input_poll || uv_poll_init(a->loop, a->input_poll, fd)) {
		fprintf(stderr, "fetchmany: cannot watch list '%s'\n",
			fm_input_current_name(&a->in));
		free(a->input_poll);
		a->input_poll = NULL;
		a->bad_input++;
		a->input_end = true;
		return;
	}
	a->input_poll->data = a;
	uv_poll_start(a->input_poll, UV_READABLE | UV_DISCONNECT,
		      on_input_readable);
}

static void on_reader_idle(uv_idle_t *h)
{
	struct fm_admit *a = h->data;

	a->ops->wake(a->ctx);
}

int fm_admit_open(struct fm_admit *a, char **args, int nargs)
{
	*a = (struct fm_admit){0};
	return fm_input_open(&a->in, args, nargs);
}

void fm_admit_init(struct fm_admit *a, uv_loop_t *loop,
		   const struct fm_admit_conf *conf,
		   const struct fm_admit_ops *ops, void *ctx)
{
	a->conf = *conf;
	a->ops = ops;
	a->ctx = ctx;
	a->loop = loop;
	pthread_mutex_init(&a->claims_lock, NULL);
	uv_idle_init(loop, &a->reader);
	a->reader.data = a;
}

/* Reads entries while there is room, until the input waits or ends, or
 * the batch is used up (then the idle handle brings us back next pass). */
void fm_admit_read(struct fm_admit *a)
{
	int budget = READ_BATCH;
	struct fm_line l;
	int fd, err;

	while (!a->input_end && a->ops->has_room(a->ctx) && budget-- > 0) {
		switch (fm_input_next(&a->in, &l, &fd, &err)) {
		case FM_INPUT_LINE:
			take_line(a, &l);
			break;
		case FM_INPUT_AGAIN:
			uv_idle_stop(&a->reader);
			wait_for_input(a, fd);
			return;
		case FM_INPUT_END:
			a->input_end = true;
			break;
		case FM_INPUT_ERROR:
			fprintf(stderr, "fetchmany: error reading a list: %s\n",
				fm_strerror(err));
			a->bad_input++;
			break;
		}
	}
	if (!a->input_end && a->ops->has_room(a->ctx))
		uv_idle_start(&a->reader, on_reader_idle);
	else
		uv_idle_stop(&a->reader);
}

void fm_admit_stop(struct fm_admit *a)
{
	a->input_end = true;
	uv_idle_stop(&a->reader);
	if (a->input_poll) {
		uv_close((uv_handle_t *)a->input_poll, on_uv_close_free);
		a->input_poll = NULL;
	}
}

void fm_admit_close(struct fm_admit *a)
{
	fm_admit_stop(a);
	uv_close((uv_handle_t *)&a->reader, NULL);
}

void fm_admit_free(struct fm_admit *a)
{
	if (a->loop)
		pthread_mutex_destroy(&a->claims_lock);
	fm_claims_free(&a->claims);
	fm_input_close(&a->in);
	a->loop = NULL;
}
