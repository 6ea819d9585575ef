/* job.c: the moves a job may make between its states, and its end
 * (fm_job.h). */
#include <stdlib.h>

#include "fm_job.h"
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

void fm_job_free(struct fm_job *job)
{
	struct fm_split *split;

	if (!job)
		return;
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
