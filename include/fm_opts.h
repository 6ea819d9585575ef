/* fm_opts.h: the command line, parsed into one read-only struct. */
#ifndef FM_OPTS_H
#define FM_OPTS_H

#include <stdbool.h>
#include <stdio.h>

#define FM_JOBS_DEFAULT 16
#define FM_JOBS_MAX 10000

struct fm_opts {
	unsigned jobs;          /* -j: transfers in flight at most */
	const char *output_dir; /* -o: default "." */
	bool output_dir_given;  /* -o was on the command line */
	bool mirror;            /* -x */
	bool json;              /* --json */
	bool quiet;             /* -q */
	char **inputs;          /* LIST or URL arguments, in order */
	int ninputs;
};

enum fm_opts_result {
	FM_OPTS_RUN,   /* go on and run */
	FM_OPTS_EXIT,  /* --help or --version printed: exit 0 */
	FM_OPTS_USAGE, /* error printed to err: exit 2 */
};

/* Parses argv into o (defaults first). Messages go to out (--help,
 * --version) and err (errors). */
enum fm_opts_result fm_opts_parse(int argc, char **argv, struct fm_opts *o,
				  FILE *out, FILE *err);

/* Prints the --help text to f. */
void fm_opts_usage(FILE *f);

#endif
