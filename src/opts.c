/* opts.c: the option table, --help and --version.
 *
 * The table is data: getopt_long reads it, and --help is written next to
 * it so that the two are reviewed together. Values are checked here, with
 * a message that names the option, so that nothing later has to. */
#define _GNU_SOURCE /* getopt_long */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <uv.h>

#include "fm_opts.h"

enum {
	OPT_JSON = 1000,
	OPT_CONNECT_TIMEOUT,
	OPT_STALL_TIMEOUT,
	OPT_BACKOFF,
	OPT_BACKOFF_MAX,
	OPT_FAIL_FAST,
	OPT_SHA256,
	OPT_CONTENT_DISPOSITION,
};

static const struct option long_options[] = {
	{"backoff", required_argument, NULL, OPT_BACKOFF},
	{"backoff-max", required_argument, NULL, OPT_BACKOFF_MAX},
	{"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
	{"content-disposition", no_argument, NULL, OPT_CONTENT_DISPOSITION},
	{"continue", no_argument, NULL, 'c'},
	{"fail-fast", no_argument, NULL, OPT_FAIL_FAST},
	{"help", no_argument, NULL, 'h'},
	{"jobs", required_argument, NULL, 'j'},
	{"json", no_argument, NULL, OPT_JSON},
	{"mirror", no_argument, NULL, 'x'},
	{"no-clobber", no_argument, NULL, 'n'},
	{"output-dir", required_argument, NULL, 'o'},
	{"quiet", no_argument, NULL, 'q'},
	{"retries", required_argument, NULL, 'r'},
	{"sha256", no_argument, NULL, OPT_SHA256},
	{"stall-timeout", required_argument, NULL, OPT_STALL_TIMEOUT},
	{"timeout", required_argument, NULL, 't'},
	{"timestamping", no_argument, NULL, 'N'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0},
};

const char *const *fm_opts_names(void)
{
	static const char *names[sizeof(long_options) / sizeof(long_options[0])];

	for (size_t i = 0; long_options[i].name; i++)
		names[i] = long_options[i].name;
	return names;
}

static const char short_options[] = ":chj:nNo:qr:t:Vx";

void fm_opts_usage(FILE *f)
{
	fputs("Usage: fetchmany [OPTIONS] [LIST | URL]...\n"
	      "Download every URL of the lists concurrently; one result line "
	      "per entry.\n"
	      "A LIST is a file of URLs, '-' (or nothing) is standard input.\n"
	      "\n"
	      "Input and output:\n"
	      "  -o, --output-dir DIR   write files under DIR (default: .)\n"
	      "  -x, --mirror           keep the URL's structure: "
	      "DIR/HOST[_PORT]/PATH\n"
	      "      --content-disposition  prefer the server's file name "
	      "(default: off)\n"
	      "  -c, --continue         resume NAME.part files left by an "
	      "earlier run\n"
	      "  -n, --no-clobber       skip entries whose file exists, "
	      "without a request\n"
	      "  -N, --timestamping     only fetch what changed "
	      "(If-Modified-Since, ETag)\n"
	      "      --sha256           compute and report every file's "
	      "SHA-256\n"
	      "\n"
	      "Concurrency and timeouts (S: seconds, fractions allowed):\n"
	      "  -j, --jobs N           transfers in flight at most, 1..10000 "
	      "(default: 16)\n"
	      "      --connect-timeout S  connection set-up limit "
	      "(default: 10)\n"
	      "  -t, --timeout S        limit per attempt, whole transfer "
	      "(default: 0, none)\n"
	      "      --stall-timeout S  fail an attempt that received nothing "
	      "for S\n"
	      "                         (default: 30; 0: never)\n"
	      "\n"
	      "Retries:\n"
	      "  -r, --retries N        retries after the first attempt "
	      "(default: 3)\n"
	      "      --backoff S        first retry waits S to S/2, doubling "
	      "(default: 1)\n"
	      "      --backoff-max S    longest wait, Retry-After included "
	      "(default: 30)\n"
	      "      --fail-fast        stop at the first failed entry\n"
	      "\n"
	      "Reporting:\n"
	      "      --json             results as JSON Lines (default: "
	      "tab-separated)\n"
	      "  -q, --quiet            no result lines; failures still on "
	      "stderr\n"
	      "  -h, --help             show this help and exit\n"
	      "  -V, --version          show versions and exit\n"
	      "\n"
	      "Exit status: 0 all ok, 1 an entry failed or was invalid, "
	      "2 usage error,\n"
	      "130/143 interrupted. See fetchmany(1).\n",
	      f);
}

static void print_version(FILE *f)
{
	fprintf(f, "fetchmany %s\n", FM_VERSION);
	fprintf(f, "libcurl %s\n", curl_version_info(CURLVERSION_NOW)->version);
	fprintf(f, "libuv %s\n", uv_version_string());
	fprintf(f, "cJSON %s\n", cJSON_Version());
	fprintf(f, "%s\n", OpenSSL_version(OPENSSL_VERSION));
}

/* Parses a whole decimal number within [lo, hi]. */
static int parse_uint(const char *s, unsigned long lo, unsigned long hi,
		      unsigned long *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoul(s, &end, 10);
	if (errno || *end || *v < lo || *v > hi)
		return -1;
	return 0;
}

/* Parses a duration in seconds: a decimal number, fractions allowed,
 * from 0 to FM_SECONDS_MAX. */
static int parse_seconds(const char *s, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(s, &end);
	if (errno || end == s || *end || !(*v >= 0) || *v > FM_SECONDS_MAX)
		return -1;
	return 0;
}

static bool seconds_option(const char *name, const char *arg, double *v,
			   FILE *err)
{
	if (parse_seconds(arg, v) == 0)
		return true;
	fprintf(err, "fetchmany: --%s: '%s' is not a number of seconds "
		     "from 0 to %.0f\n",
		name, arg, FM_SECONDS_MAX);
	return false;
}

enum fm_opts_result fm_opts_parse(int argc, char **argv, struct fm_opts *o,
				  FILE *out, FILE *err)
{
	unsigned long v;
	int c;

	*o = (struct fm_opts){
		.jobs = FM_JOBS_DEFAULT,
		.output_dir = ".",
		.connect_timeout = 10,
		.stall_timeout = 30,
		.retries = 3,
		.backoff = 1,
		.backoff_max = 30,
	};
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, short_options, long_options,
				NULL)) != -1) {
		switch (c) {
		case 'h':
			fm_opts_usage(out);
			return FM_OPTS_EXIT;
		case 'V':
			print_version(out);
			return FM_OPTS_EXIT;
		case 'j':
			if (parse_uint(optarg, 1, FM_JOBS_MAX, &v)) {
				fprintf(err,
					"fetchmany: --jobs: '%s' is not a "
					"number from 1 to %d\n",
					optarg, FM_JOBS_MAX);
				return FM_OPTS_USAGE;
			}
			o->jobs = (unsigned)v;
			break;
		case 'o':
			if (!*optarg) {
				fputs("fetchmany: --output-dir: empty "
				      "directory name\n",
				      err);
				return FM_OPTS_USAGE;
			}
			o->output_dir = optarg;
			o->output_dir_given = true;
			break;
		case 'x':
			o->mirror = true;
			break;
		case 'q':
			o->quiet = true;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_CONNECT_TIMEOUT:
			if (!seconds_option("connect-timeout", optarg,
					    &o->connect_timeout, err))
				return FM_OPTS_USAGE;
			break;
		case 't':
			if (!seconds_option("timeout", optarg, &o->timeout, err))
				return FM_OPTS_USAGE;
			break;
		case OPT_STALL_TIMEOUT:
			if (!seconds_option("stall-timeout", optarg,
					    &o->stall_timeout, err))
				return FM_OPTS_USAGE;
			break;
		case OPT_BACKOFF:
			if (!seconds_option("backoff", optarg, &o->backoff, err))
				return FM_OPTS_USAGE;
			break;
		case OPT_BACKOFF_MAX:
			if (!seconds_option("backoff-max", optarg,
					    &o->backoff_max, err))
				return FM_OPTS_USAGE;
			break;
		case 'r':
			if (parse_uint(optarg, 0, FM_RETRIES_MAX, &v)) {
				fprintf(err,
					"fetchmany: --retries: '%s' is not a "
					"number from 0 to %d\n",
					optarg, FM_RETRIES_MAX);
				return FM_OPTS_USAGE;
			}
			o->retries = (unsigned)v;
			break;
		case OPT_FAIL_FAST:
			o->fail_fast = true;
			break;
		case 'c':
			o->resume = true;
			break;
		case 'n':
			o->no_clobber = true;
			break;
		case 'N':
			o->timestamping = true;
			break;
		case OPT_SHA256:
			o->sha256 = true;
			break;
		case OPT_CONTENT_DISPOSITION:
			o->content_disposition = true;
			break;
		case ':':
			fprintf(err, "fetchmany: option '%s' needs a value\n",
				argv[optind - 1]);
			return FM_OPTS_USAGE;
		default:
			if (optopt)
				fprintf(err, "fetchmany: unknown option '-%c'\n",
					optopt);
			else
				fprintf(err, "fetchmany: unknown option '%s'\n",
					argv[optind - 1]);
			fputs("Try 'fetchmany --help'.\n", err);
			return FM_OPTS_USAGE;
		}
	}
	o->inputs = argv + optind;
	o->ninputs = argc - optind;
	return FM_OPTS_RUN;
}
