/* fm_run.h: one whole run, from the command line's inputs to an exit
 * status. */
#ifndef FM_RUN_H
#define FM_RUN_H

#include <stdint.h>

#include "fm_opts.h"

/* Runs the job described by o, with spare_fds descriptors beyond what
 * its transfers need for idle connections to keep (fm_fd_spare()). Returns the process exit status: 0 every
 * entry ok, unchanged or skipped; 1 one failed or was invalid; 2 a usage
 * error found before any download. */
int fm_run(const struct fm_opts *o, uint64_t spare_fds);

/* The number of worker threads a run of o starts (each holds a few
 * descriptors of its own). */
unsigned fm_run_workers(const struct fm_opts *o);

#endif
