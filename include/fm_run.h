/* fm_run.h: one whole run, from the command line's inputs to an exit
 * status. */
#ifndef FM_RUN_H
#define FM_RUN_H

#include "fm_opts.h"

/* Runs the job described by o. Returns the process exit status: 0 every
 * entry ok, unchanged or skipped; 1 one failed or was invalid; 2 a usage
 * error found before any download. */
int fm_run(const struct fm_opts *o);

/* The number of worker threads a run of o starts (each holds a few
 * descriptors of its own). */
unsigned fm_run_workers(const struct fm_opts *o);

#endif
