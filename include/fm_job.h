/* fm_job.h: one entry's journey through the scheduler.
 *
 * A job is an entry that passed every check and claimed its path; it
 * lives from the moment it is read until its result is printed. Where it
 * is (new, queued, running, waiting out a backoff, done) is its state,
 * and the scheduler alone moves it, in one function that checks the move
 * against fm_job_moves(). An entry with mirrors has several URLs; each
 * attempt goes to one of them (job->url), the scheduler's choice between
 * attempts (fm_next_url()). */
#ifndef FM_JOB_H
#define FM_JOB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fm_list.h"

struct fm_host;
struct fm_outcome;
struct fm_split;

enum fm_job_state {
	FM_JOB_NEW,     /* admitted, in no queue yet (admission's) */
	FM_JOB_QUEUED,  /* in its host's queue, waiting for a slot */
	FM_JOB_RUNNING, /* in a slot: at a worker, or just back from one */
	FM_JOB_WAITING, /* in the backoff heap, waiting to be queued again */
	FM_JOB_DONE,    /* reported or dropped: about to be freed */
	FM_JOB_STATES
};

struct fm_job {
	struct fm_job *next;  /* queue link */
	enum fm_job_state state;
	struct fm_entry entry;
	char *relpath;        /* under the output directory */
	char *path;           /* as reported: output directory joined */
	unsigned long line;
	const char *source;
	uint32_t source_index; /* for claims */
	const char *url;       /* where its attempts go now: its entry's URL
				  or one of its mirrors (fm_job_url()); the
				  scheduler moves it between attempts, and
				  host, site and tls follow */
	unsigned url_at;       /* that URL's index (fm_job_url()) */
	bool *dropped;         /* with mirrors: dropped[i], URL i failed for
				  good; NULL without */
	char **url_why;        /* with mirrors: url_why[i], URL i's last
				  failure, NULL while it has none; NULL
				  without */
	struct fm_host *host;  /* the queue's record of its URL's host */
	uint32_t site;         /* the hash of its URL's host name */
	bool tls;              /* https: its connections may multiplex */
	bool paused;           /* parked while its host is paused (a
				  Retry-After): counted in the scheduler's
				  paused window */
	bool probe;            /* the first to its site: the scheduler holds
				  the site's others back until its answer
				  comes (see run.c) */
	unsigned attempts;     /* made, at all its URLs */
	unsigned retried;      /* of them, retries after a transient failure
				  (what -r counts; a mirror tried at once
				  after another failed for good is none) */
	bool no_resume;       /* the .part proved unusable: start from zero */
	bool check_get;       /* --check: its server refused HEAD, ask with a
				 ranged GET (set by the worker) */
	long last_http;       /* the last attempt's status, for a report */
	char *last_error;     /* its error, kept while waiting to retry */
	/* A body fetched as segments (fm_split.h): the worker of its first
	 * transfer makes the split and sets it; from then on each of the
	 * job's slots fetches one segment, and the job ends only when all
	 * of them are back. The rest is the scheduler's. */
	_Atomic(struct fm_split *) split;
	struct fm_job *split_next; /* in the scheduler's list of them */
	bool split_listed;    /* in that list */
	bool no_split;        /* its body changed while cut: the attempts
				 after that fetch it whole (set by the
				 scheduler before the next one begins) */
	unsigned out;         /* its slots at the workers */
	unsigned yielding;    /* of them, segments asked to give theirs up
			         (the scheduler's) */
	uint64_t split_t0;    /* when its first transfer began (ns) */
	struct fm_outcome *final; /* what it came to, once known, while
				     some of its slots are still out */
	unsigned final_at;    /* the URL (fm_job_url()) final came from: a
				 segment's may be a mirror's */
};

/* Whether a job may go from state from to state to: into the queue when
 * admitted, or to its end when that fails (out of memory); from it to a slot, or dropped; from a slot back to the queue
 * (a descriptor shortage), into the heap (a retry) or to its end; from
 * the heap back to the queue, or to its end. Nothing leaves FM_JOB_DONE,
 * and no state moves to itself. Pure. */
bool fm_job_moves(enum fm_job_state from, enum fm_job_state to);

/* The number of URLs of job: its entry's URL and its mirrors. */
static inline unsigned fm_job_urls(const struct fm_job *job)
{
	return 1 + job->entry.nmirrors;
}

/* URL i of job (i < fm_job_urls()): 0 the entry's URL, then its mirrors
 * in the order given. */
const char *fm_job_url(const struct fm_job *job, unsigned i);

/* Readies job, whose entry is set, for its attempts: job->url is its
 * first URL; with mirrors, room to note each URL's fate (dropped,
 * url_why). Returns 0 or -ENOMEM. */
int fm_job_urls_init(struct fm_job *job);

/* Notes that the attempt at job's URL (job->url_at) failed with why, for
 * good when drop: that URL is dropped. Without mirrors nothing is noted.
 * Returns 0 or -ENOMEM. */
int fm_job_note_failure(struct fm_job *job, const char *why, bool drop);

/* The same for job's URL i (i < fm_job_urls()): a segment's. */
int fm_job_note_failure_at(struct fm_job *job, unsigned i, const char *why,
			   bool drop);

/* The error of job, with mirrors, when no attempt is left: each URL's
 * last failure (fm_result_urls_failed()), into buf (cap bytes). */
void fm_job_urls_failed(const struct fm_job *job, char *buf, size_t cap);

/* Frees job (NULL: nothing) and everything it owns: its entry, paths,
 * what it noted of its URLs and last error. */
void fm_job_free(struct fm_job *job);

#endif
