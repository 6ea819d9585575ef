/* job.c: the moves a job may make between its states, its URLs, and its
 * end (fm_job.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fm_job.h"
#include "fm_result.h"
#include "fm_split.h"

bool fm_job_moves(enum fm_job_state from, enum fm_job_state to)
{
	/* Bit t of legal[f]: a job in state f may move to state t. */
	static const unsigned legal[FM_JOB_STATES] = {
		[FM_JOB_NEW] = 1u << FM_JOB_QUEUED | 1u << FM_JOB_DONE,
		[FM_JOB_QUEUED] = 1u << FM_JOB_RUNNING | 1u << FM_JOB_DONE,
		[FM_JOB_RUNNING] = 1u << FM_JOB_QUEUED | 1u << FM_JOB_WAITING |
				   1u << FM_JOB_DONE,
		[FM_JOB_WAITING] = 1u << FM_JOB_QUEUED | 1u << FM_JOB_DONE,
		[FM_JOB_DONE] = 0,
	};

	if ((unsigned)from >= FM_JOB_STATES || (unsigned)to >= FM_JOB_STATES)
		return false;
	return legal[from] >> to & 1u;
}

const char *fm_job_url(const struct fm_job *job, unsigned i)
{
	return i == 0 ? job->entry.url : job->entry.mirrors[i - 1];
}

int fm_job_urls_init(struct fm_job *job)
{
	unsigned n = fm_job_urls(job);

	job->url = job->entry.url;
	job->url_at = 0;
	if (n == 1)
		return 0;
	job->dropped = calloc(n, sizeof(*job->dropped));
	job->url_why = calloc(n, sizeof(*job->url_why));
	return job->dropped && job->url_why ? 0 : -ENOMEM;
}

int fm_job_note_failure(struct fm_job *job, const char *why, bool drop)
{
	return fm_job_note_failure_at(job, job->url_at, why, drop);
}

int fm_job_note_failure_at(struct fm_job *job, unsigned i, const char *why,
			   bool drop)
{
	char *copy;

	if (!job->url_why || i >= fm_job_urls(job))
		return 0;
	copy = strdup(why);
	if (!copy)
		return -ENOMEM;
	free(job->url_why[i]);
	job->url_why[i] = copy;
	job->dropped[i] |= drop;
	return 0;
}

void fm_job_urls_failed(const struct fm_job *job, char *buf, size_t cap)
{
	const char *urls[FM_MIRRORS_MAX + 1];
	unsigned n = fm_job_urls(job);

	for (unsigned i = 0; i < n; i++)
		urls[i] = fm_job_url(job, i);
	fm_result_urls_failed(buf, cap, urls,
			      (const char *const *)job->url_why, n);
}

void fm_job_free(struct fm_job *job)
{
	struct fm_split *split;

	if (!job)
		return;
	for (unsigned i = 0; job->url_why && i < fm_job_urls(job); i++)
		free(job->url_why[i]);
	free(job->url_why);
	free(job->dropped);
	split = atomic_load(&job->split);
	if (split) {
		fm_split_free(split, false);
		free(split);
	}
	free(job->final);
	fm_entry_clear(&job->entry);
	free(job->last_error);
	free(job->relpath);
	free(job->path);
	free(job);
}
