/* opts.c: the option table, --help and --version.
 *
 * The table is data: getopt_long reads it, and --help is written next to
 * it so that the two are reviewed together. Values are checked here, with
 * a message that names the option, so that nothing later has to. */
#define _GNU_SOURCE /* getopt_long */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
	OPT_MAX_REDIRS,
	OPT_NETRC,
	OPT_NETRC_FILE,
	OPT_CACERT,
	OPT_MAX_FILESIZE,
	OPT_COMPRESSED,
	OPT_LIMIT_RATE,
	OPT_PER_HOST,
	OPT_SHARD,
	OPT_DRY_RUN,
	OPT_PROGRESS,
	OPT_THREADS,
};

static const struct option long_options[] = {
	{"backoff", required_argument, NULL, OPT_BACKOFF},
	{"cacert", required_argument, NULL, OPT_CACERT},
	{"compressed", no_argument, NULL, OPT_COMPRESSED},
	{"backoff-max", required_argument, NULL, OPT_BACKOFF_MAX},
	{"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
	{"content-disposition", no_argument, NULL, OPT_CONTENT_DISPOSITION},
	{"continue", no_argument, NULL, 'c'},
	{"dry-run", no_argument, NULL, OPT_DRY_RUN},
	{"fail-fast", no_argument, NULL, OPT_FAIL_FAST},
	{"header", required_argument, NULL, 'H'},
	{"help", no_argument, NULL, 'h'},
	{"jobs", required_argument, NULL, 'j'},
	{"insecure", no_argument, NULL, 'k'},
	{"json", no_argument, NULL, OPT_JSON},
	{"limit-rate", required_argument, NULL, OPT_LIMIT_RATE},
	{"max-filesize", required_argument, NULL, OPT_MAX_FILESIZE},
	{"max-redirs", required_argument, NULL, OPT_MAX_REDIRS},
	{"mirror", no_argument, NULL, 'x'},
	{"netrc", no_argument, NULL, OPT_NETRC},
	{"netrc-file", required_argument, NULL, OPT_NETRC_FILE},
	{"no-clobber", no_argument, NULL, 'n'},
	{"output-dir", required_argument, NULL, 'o'},
	{"per-host", required_argument, NULL, OPT_PER_HOST},
	{"progress", required_argument, NULL, OPT_PROGRESS},
	{"quiet", no_argument, NULL, 'q'},
	{"retries", required_argument, NULL, 'r'},
	{"sha256", no_argument, NULL, OPT_SHA256},
	{"shard", required_argument, NULL, OPT_SHARD},
	{"stall-timeout", required_argument, NULL, OPT_STALL_TIMEOUT},
	{"threads", required_argument, NULL, OPT_THREADS},
	{"timeout", required_argument, NULL, 't'},
	{"timestamping", no_argument, NULL, 'N'},
	{"user-agent", required_argument, NULL, 'A'},
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

static const char short_options[] = ":A:cH:hj:knNo:qr:t:Vx";

void fm_opts_usage(FILE *f)
{
	fputs("Usage: fetchmany [OPTIONS] [LIST | URL]...\n"
	      "Download every URL of the lists concurrently; one result line "
	      "per entry.\n"
	      "A LIST is a file of URLs, '-' (or nothing) is standard input.\n"
	      "S: seconds, fractions allowed. SIZE, RATE: bytes, suffixes "
	      "K, M, G (1024s).\n"
	      "\n"
	      "Input:\n"
	      "      --shard K/N        keep the entries whose URL hash mod N "
	      "is K-1\n"
	      "      --dry-run          print each entry's destination; no "
	      "network\n"
	      "\n"
	      "Output:\n"
	      "  -o, --output-dir DIR   write files under DIR (default: .)\n"
	      "  -x, --mirror           keep the URL's structure: "
	      "DIR/HOST[_PORT]/PATH\n"
	      "      --content-disposition  prefer the server's file name\n"
	      "  -c, --continue         resume NAME.part files left by an "
	      "earlier run\n"
	      "  -n, --no-clobber       skip entries whose file exists, "
	      "without a request\n"
	      "  -N, --timestamping     only fetch what changed "
	      "(If-Modified-Since, ETag)\n"
	      "      --sha256           compute and report every file's "
	      "SHA-256\n"
	      "\n"
	      "Concurrency and timeouts:\n"
	      "  -j, --jobs N           transfers in flight at most, 1..10000 "
	      "(default: 16)\n"
	      "      --per-host N       transfers per host at most "
	      "(default: 0, no limit)\n"
	      "      --limit-rate RATE  cap on all transfers' total rate "
	      "(default: none)\n"
	      "      --threads N        threads that run the transfers "
	      "(default: 0, one per\n"
	      "                         CPU, at most 8)\n"
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
	      "HTTP:\n"
	      "  -H, --header 'N: V'    add a request header (repeatable)\n"
	      "  -A, --user-agent STR   (default: fetchmany/" FM_VERSION ")\n"
	      "      --max-redirs N     redirects followed at most "
	      "(default: 10)\n"
	      "      --max-filesize SIZE  fail larger bodies (default: none)\n"
	      "      --compressed       ask for compressed bodies, store them "
	      "decoded\n"
	      "      --netrc            read credentials from ~/.netrc\n"
	      "      --netrc-file F     read credentials from F\n"
	      "      --cacert FILE      trust the CA certificates in FILE\n"
	      "  -k, --insecure         do not verify TLS certificates\n"
	      "\n"
	      "Reporting:\n"
	      "      --json             results as JSON Lines (default: "
	      "tab-separated)\n"
	      "  -q, --quiet            no result lines; failures still on "
	      "stderr\n"
	      "      --progress WHEN    live line on stderr: auto (a "
	      "terminal), always,\n"
	      "                         never (default: auto)\n"
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

int fm_parse_size(const char *s, uint64_t *v)
{
	static const char units[] = "KMGT";
	const char *u;
	double d, mult = 1;
	char *end;

	errno = 0;
	d = strtod(s, &end);
	if (errno || end == s || !(d > 0) || *s == '-' || *s == '+')
		return -1;
	if (*end) {
		u = strchr(units, toupper((unsigned char)*end));
		if (!u)
			return -1;
		for (const char *p = units; p <= u; p++)
			mult *= 1024;
		end++;
		if (strcasecmp(end, "") && strcasecmp(end, "b") &&
		    strcasecmp(end, "ib"))
			return -1;
	}
	d *= mult;
	if (d >= 18446744073709551615.0 || d < 1)
		return -1;
	*v = (uint64_t)d;
	return 0;
}

int fm_parse_shard(const char *s, unsigned *k, unsigned *n)
{
	const char *slash = strchr(s, '/');
	unsigned long a, b;
	char *kpart;
	int rc;

	if (!slash)
		return -1;
	kpart = strndup(s, (size_t)(slash - s));
	if (!kpart)
		return -1;
	rc = parse_uint(kpart, 1, UINT_MAX, &a);
	free(kpart);
	if (rc || parse_uint(slash + 1, 1, UINT_MAX, &b) || a > b)
		return -1;
	*k = (unsigned)a;
	*n = (unsigned)b;
	return 0;
}

void fm_opts_free(struct fm_opts *o)
{
	free(o->headers);
	o->headers = NULL;
	o->nheaders = 0;
}

/* A header given with -H must at least look like "Name: value" (or
 * "Name:" to remove one of libcurl's, or "Name;" for an empty value). */
static bool header_ok(const char *h)
{
	size_t n = strcspn(h, ":;");

	if (n == 0 || !h[n])
		return false;
	for (size_t i = 0; i < n; i++)
		if (h[i] <= ' ' || h[i] == 0x7f)
			return false;
	for (const char *p = h; *p; p++)
		if (*p == '\r' || *p == '\n')
			return false;
	return true;
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
		.max_redirs = 10,
	};
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, short_options, long_options,
				NULL)) != -1) {
		switch (c) {
		case 'h':
			fm_opts_usage(out);
			fm_opts_free(o);
			return FM_OPTS_EXIT;
		case 'V':
			print_version(out);
			fm_opts_free(o);
			return FM_OPTS_EXIT;
		case 'j':
			if (parse_uint(optarg, 1, FM_JOBS_MAX, &v)) {
				fprintf(err,
					"fetchmany: --jobs: '%s' is not a "
					"number from 1 to %d\n",
					optarg, FM_JOBS_MAX);
				goto usage;
			}
			o->jobs = (unsigned)v;
			break;
		case 'o':
			if (!*optarg) {
				fputs("fetchmany: --output-dir: empty "
				      "directory name\n",
				      err);
				goto usage;
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
				goto usage;
			break;
		case 't':
			if (!seconds_option("timeout", optarg, &o->timeout, err))
				goto usage;
			break;
		case OPT_STALL_TIMEOUT:
			if (!seconds_option("stall-timeout", optarg,
					    &o->stall_timeout, err))
				goto usage;
			break;
		case OPT_BACKOFF:
			if (!seconds_option("backoff", optarg, &o->backoff, err))
				goto usage;
			break;
		case OPT_BACKOFF_MAX:
			if (!seconds_option("backoff-max", optarg,
					    &o->backoff_max, err))
				goto usage;
			break;
		case 'r':
			if (parse_uint(optarg, 0, FM_RETRIES_MAX, &v)) {
				fprintf(err,
					"fetchmany: --retries: '%s' is not a "
					"number from 0 to %d\n",
					optarg, FM_RETRIES_MAX);
				goto usage;
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
		case OPT_MAX_REDIRS:
			if (parse_uint(optarg, 0, 1000, &v)) {
				fprintf(err, "fetchmany: --max-redirs: '%s' is "
					     "not a number from 0 to 1000\n",
					optarg);
				goto usage;
			}
			o->max_redirs = (long)v;
			break;
		case 'H':
			if (!header_ok(optarg)) {
				fprintf(err, "fetchmany: --header: '%s' is not "
					     "'Name: value'\n",
					optarg);
				goto usage;
			}
			if (!o->headers &&
			    !(o->headers = calloc((size_t)argc,
						  sizeof(*o->headers)))) {
				fputs("fetchmany: out of memory\n", err);
				goto usage;
			}
			o->headers[o->nheaders++] = optarg;
			break;
		case 'A':
			o->user_agent = optarg;
			break;
		case OPT_NETRC:
			o->netrc = true;
			break;
		case OPT_NETRC_FILE:
			o->netrc_file = optarg;
			break;
		case OPT_CACERT:
			o->cacert = optarg;
			break;
		case 'k':
			o->insecure = true;
			break;
		case OPT_MAX_FILESIZE:
		case OPT_LIMIT_RATE:
			if (fm_parse_size(optarg, c == OPT_LIMIT_RATE
							  ? &o->limit_rate
							  : &o->max_filesize)) {
				fprintf(err, "fetchmany: --%s: '%s' is not a "
					     "size such as 500K or 1.5M\n",
					c == OPT_LIMIT_RATE ? "limit-rate"
							    : "max-filesize",
					optarg);
				goto usage;
			}
			break;
		case OPT_COMPRESSED:
			o->compressed = true;
			break;
		case OPT_PER_HOST:
			if (parse_uint(optarg, 0, FM_JOBS_MAX, &v)) {
				fprintf(err, "fetchmany: --per-host: '%s' is not "
					     "a number from 0 to %d\n",
					optarg, FM_JOBS_MAX);
				goto usage;
			}
			o->per_host = (unsigned)v;
			break;
		case OPT_THREADS:
			if (parse_uint(optarg, 0, FM_THREADS_MAX, &v)) {
				fprintf(err, "fetchmany: --threads: '%s' is not "
					     "a number from 0 to %d\n",
					optarg, FM_THREADS_MAX);
				goto usage;
			}
			o->threads = (unsigned)v;
			break;
		case OPT_SHARD:
			if (fm_parse_shard(optarg, &o->shard_k, &o->shard_n)) {
				fprintf(err, "fetchmany: --shard: '%s' is not "
					     "K/N with 1 <= K <= N\n",
					optarg);
				goto usage;
			}
			break;
		case OPT_DRY_RUN:
			o->dry_run = true;
			break;
		case OPT_PROGRESS:
			if (strcmp(optarg, "auto") == 0) {
				o->progress = FM_PROGRESS_AUTO;
			} else if (strcmp(optarg, "always") == 0) {
				o->progress = FM_PROGRESS_ALWAYS;
			} else if (strcmp(optarg, "never") == 0) {
				o->progress = FM_PROGRESS_NEVER;
			} else {
				fprintf(err, "fetchmany: --progress: '%s' is "
					     "not auto, always or never\n",
					optarg);
				goto usage;
			}
			break;
		case ':':
			fprintf(err, "fetchmany: option '%s' needs a value\n",
				argv[optind - 1]);
			goto usage;
		default:
			if (optopt)
				fprintf(err, "fetchmany: unknown option '-%c'\n",
					optopt);
			else
				fprintf(err, "fetchmany: unknown option '%s'\n",
					argv[optind - 1]);
			fputs("Try 'fetchmany --help'.\n", err);
			goto usage;
		}
	}
	o->inputs = argv + optind;
	o->ninputs = argc - optind;
	return FM_OPTS_RUN;
usage:
	fm_opts_free(o);
	return FM_OPTS_USAGE;
}
