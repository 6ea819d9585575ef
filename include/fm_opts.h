/* fm_opts.h: the command line, parsed into one read-only struct. */
#ifndef FM_OPTS_H
#define FM_OPTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "fm_policy.h"

#define FM_JOBS_DEFAULT 16
#define FM_JOBS_MAX 10000
#define FM_RETRIES_MAX 1000
#define FM_THREADS_MAX 64
/* --split and --min-split-size (fm_split.h): defaults and bounds. */
#define FM_SPLIT_DEFAULT 8
#define FM_SPLIT_MAX 64
#define FM_MIN_SPLIT_DEFAULT (8u << 20)
/* Longest duration any option accepts: a week, in seconds. */
#define FM_SECONDS_MAX (7 * 24 * 3600.0)

struct fm_opts {
	unsigned jobs;          /* -j: transfers in flight at most */
	const char *output_dir; /* -o: default "." */
	bool output_dir_given;  /* -o was on the command line */
	bool mirror;            /* -x */
	bool json;              /* --json */
	bool quiet;             /* -q */
	double connect_timeout; /* --connect-timeout, seconds (0: none) */
	double timeout;         /* -t: whole attempt, seconds (0: none) */
	double stall_timeout;   /* --stall-timeout, seconds (0: none) */
	unsigned retries;       /* -r: retries after the first attempt */
	struct fm_retry_on retry_on; /* --retry-on: statuses retried too */
	double backoff;         /* --backoff: BASE seconds */
	double backoff_max;     /* --backoff-max: MAX seconds */
	bool fail_fast;         /* --fail-fast */
	bool resume;            /* -c: continue NAME.part files */
	bool no_clobber;        /* -n: skip entries whose NAME exists */
	bool timestamping;      /* -N: conditional requests */
	bool sha256;            /* --sha256: digest every file */
	const char **checksums; /* --checksums files, in order */
	int nchecksums;
	bool require_digest;    /* --require-digest */
	bool content_disposition; /* --content-disposition */
	unsigned max_redirs;    /* --max-redirs */
	const char **headers;   /* -H values, in order */
	int nheaders;
	const char *user_agent; /* -A; NULL: fetchmany/VERSION */
	bool netrc;             /* --netrc */
	const char *netrc_file; /* --netrc-file */
	const char *cacert;     /* --cacert */
	bool insecure;          /* -k */
	bool https_only;        /* --https-only */
	const char *proxy;      /* --proxy; NULL: the environment's */
	const char *noproxy;    /* --noproxy; NULL: the environment's */
	bool fsync;             /* --fsync */
	bool check;             /* --check */
	bool xattr;             /* --xattr */
	const char *cookie;     /* --cookie FILE, read at the start */
	const char *cookie_jar; /* --cookie-jar FILE, written at the end */
	char *config_text;      /* the defaults file read, which the string
				   options point into (fm_opts_free()) */
	uint64_t max_filesize;  /* --max-filesize; 0: none */
	bool compressed;        /* --compressed */
	uint64_t limit_rate;    /* --limit-rate, bytes/s; 0: none */
	unsigned per_host;      /* --per-host; 0: none */
	unsigned split;         /* --split: transfers per body at most */
	uint64_t min_split_size; /* --min-split-size: smallest segment */
	unsigned threads;       /* --threads; 0: one per CPU */
	unsigned shard_k, shard_n; /* --shard K/N; n == 0: none */
	bool dry_run;           /* --dry-run */
	enum fm_progress_mode {
		FM_PROGRESS_AUTO,
		FM_PROGRESS_ALWAYS,
		FM_PROGRESS_NEVER,
	} progress;             /* --progress */
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

/* Frees what fm_opts_parse() allocated. */
void fm_opts_free(struct fm_opts *o);

/* Parses a size with an optional suffix K, M, G or T (powers of 1024,
 * upper or lower case, an optional trailing "B" or "iB"): "1.5M" is
 * 1572864. Returns 0, or -1 when s is not such a size or is zero. */
int fm_parse_size(const char *s, uint64_t *v);

/* Parses "K/N" with 1 <= K <= N <= 2^32-1. Returns 0 or -1. */
int fm_parse_shard(const char *s, unsigned *k, unsigned *n);

/* Prints the --help text to f. */
void fm_opts_usage(FILE *f);

/* What an option's value is, and so which setter stores it. */
enum fm_opt_kind {
	FM_OPT_FLAG,    /* no value; sets a bool */
	FM_OPT_UINT,    /* whole number within [min, max]; an unsigned */
	FM_OPT_SECONDS, /* seconds, fractions allowed, within [min, max] */
	FM_OPT_SIZE,    /* fm_parse_size(); a uint64_t */
	FM_OPT_STRING,  /* kept as given; a const char * */
	FM_OPT_ENUM,    /* one of values[]; its index, into an enum */
	FM_OPT_SPECIAL, /* special() parses and stores it */
};

struct fm_opt_parse; /* the parse in progress, private to opts.c */

/* One row of the option table. A row with a value names it in arg (the
 * word --help shows); a row without takes none. */
struct fm_opt {
	const char *name;   /* long name, without the "--" */
	char letter;        /* short option, or 0 */
	enum fm_opt_kind kind;
	size_t off, size;   /* the field of struct fm_opts it sets */
	unsigned long min, max;     /* FM_OPT_UINT, FM_OPT_SECONDS */
	const char *const *values;  /* FM_OPT_ENUM, NULL-terminated */
	enum fm_opts_result (*special)(const struct fm_opt *r,
				       const char *arg,
				       struct fm_opt_parse *p);
	const char *arg;    /* the value's name in --help; NULL: no value */
	const char *help;   /* --help text; '\n' starts an indented line */
	const char *group;  /* --help heading before this row, or NULL */
};

/* The option table, in --help order; *n receives its length. Tests use
 * it to check --help, the man page and the completions against it. */
const struct fm_opt *fm_opts_table(size_t *n);

#endif
