/* soak_common.c: fault plans and result checks for the soak tests (see
 * soak_common.h). */
#include "soak_common.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


/* Share of each fault kind among the faulted entries, per 1000. */
static const unsigned fault_weight[SK_NKINDS] = {
	[SK_PLAIN] = 0,
	[SK_RESET] = 200,
	[SK_5XX] = 210,
	[SK_429] = 150,
	[SK_TRUNC] = 150,
	[SK_STALL] = 120,
	[SK_TRICKLE] = 140,
	[SK_404] = 15,
	[SK_500] = 15,
};

static const char *const kind_name[SK_NKINDS] = {
	[SK_PLAIN] = "plain",
	[SK_RESET] = "reset-once",
	[SK_5XX] = "5xx-then-ok",
	[SK_429] = "429-retry-after-1",
	[SK_TRUNC] = "truncated-once",
	[SK_STALL] = "stall-once",
	[SK_TRICKLE] = "trickle",
	[SK_404] = "permanent-404",
	[SK_500] = "permanent-500",
};

const char *soak_kind_name(enum soak_kind k)
{
	return k < SK_NKINDS ? kind_name[k] : "?";
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p) {
		fprintf(stderr, "soak: out of memory\n");
		abort();
	}
	return p;
}

/* splitmix64: small, fast and fully determined by its seed. */
static uint64_t next_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned rand_below(uint64_t *s, unsigned n)
{
	return (unsigned)(next_rand(s) % n);
}

int soak_want_attempts(const struct soak_plan *pl, const struct soak_entry *e)
{
	switch (e->kind) {
	case SK_RESET:
	case SK_429:
	case SK_TRUNC:
	case SK_STALL:
		return 2;
	case SK_5XX:
		return e->fails + 1;
	case SK_500:
		return pl->p.retries + 1;
	case SK_PLAIN:
	case SK_TRICKLE:
	case SK_404:
	default:
		return 1;
	}
}

int soak_want_ok(const struct soak_entry *e)
{
	return e->kind != SK_404 && e->kind != SK_500;
}

/* How many entries of each fault kind: the weights, at least one each
 * when there are enough faults, the rest to SK_5XX. */
static void split_faults(size_t nf, size_t count[SK_NKINDS])
{
	size_t sum = 0;

	for (int k = 1; k < SK_NKINDS; k++) {
		count[k] = nf * fault_weight[k] / 1000;
		if (count[k] == 0 && nf >= SK_NKINDS - 1)
			count[k] = 1;
		sum += count[k];
	}
	while (sum > nf) {
		int big = SK_5XX;

		for (int k = 1; k < SK_NKINDS; k++)
			if (count[k] > count[big])
				big = k;
		count[big]--;
		sum--;
	}
	count[SK_5XX] += nf - sum;
}

void soak_plan_make(struct soak_plan *pl, const struct it_server *s,
		    const struct soak_params *p)
{
	static const int fail_status[] = { 500, 502, 503, 504 };
	size_t n = p->n, nf, count[SK_NKINDS] = { 0 }, j = 0;
	enum soak_kind *kinds;
	uint64_t rs = p->seed;

	memset(pl, 0, sizeof(*pl));
	pl->p = *p;
	if (n == 0)
		return;
	nf = n * p->permille / 1000;
	if (nf > n - 1)
		nf = n - 1;
	split_faults(nf, count);

	/* Entry 0 stays plain; the others are shuffled (Fisher-Yates). */
	kinds = xcalloc(n, sizeof(*kinds));
	for (int k = 1; k < SK_NKINDS; k++)
		for (size_t c = 0; c < count[k]; c++)
			kinds[1 + j++] = (enum soak_kind)k;
	for (size_t i = n - 1; i > 1; i--) {
		size_t r = 1 + (size_t)(next_rand(&rs) % i);
		enum soak_kind t = kinds[i];

		kinds[i] = kinds[r];
		kinds[r] = t;
	}

	pl->e = xcalloc(n, sizeof(*pl->e));
	for (size_t i = 0; i < n; i++) {
		struct soak_entry *e = &pl->e[i];
		struct it_buf q = { 0 };

		e->kind = kinds[i];
		pl->nkind[e->kind]++;
		snprintf(e->path, sizeof(e->path), "/data/s%05zu.bin", i);
		switch (e->kind) {
		case SK_PLAIN:
			e->size = 200 + rand_below(&rs, 3800);
			it_buf_printf(&q, "%s?size=%u", e->path, e->size);
			break;
		case SK_RESET:
			e->size = 200 + rand_below(&rs, 3000);
			it_buf_printf(&q, "%s?size=%u&fail=1&reset=1", e->path,
				      e->size);
			break;
		case SK_5XX:
			e->size = 200 + rand_below(&rs, 3000);
			e->fails = 1 + (int)rand_below(&rs, 2);
			e->status = fail_status[rand_below(&rs, 4)];
			it_buf_printf(&q, "%s?size=%u&fail=%d&fail_status=%d",
				      e->path, e->size, e->fails, e->status);
			break;
		case SK_429:
			e->size = 200 + rand_below(&rs, 3000);
			it_buf_printf(&q, "%s?size=%u&fail=1&fail_status=429"
				      "&retry_after=1", e->path, e->size);
			break;
		case SK_TRUNC:
			e->size = 1000 + rand_below(&rs, 3000);
			it_buf_printf(&q, "%s?size=%u&fail=1&truncate=1",
				      e->path, e->size);
			break;
		case SK_STALL:
			e->size = 2000 + rand_below(&rs, 2000);
			it_buf_printf(&q, "%s?size=%u&fail=1&stall=%g", e->path,
				      e->size, p->stall_s);
			break;
		case SK_TRICKLE:
			e->size = p->trickle_size;
			it_buf_printf(&q, "%s?size=%u&trickle=%g", e->path,
				      e->size, p->trickle_s);
			break;
		case SK_404:
			e->size = 0;
			e->status = 404;
			it_buf_printf(&q, "%s?status=404", e->path);
			break;
		case SK_500:
		default:
			e->size = 0;
			e->status = 500;
			it_buf_printf(&q, "%s?status=500", e->path);
			break;
		}
		/* A copy: the buffer has room for 4 KiB. */
		e->pq = it_path("%s", q.data);
		free(q.data);
		/* A 429 with Retry-After pauses its host (spec 5): those
		 * entries have a host of their own, so that the others
		 * are not held up with them (the server listens on
		 * 127.0.1.1 too). */
		e->url = e->kind == SK_429
				 ? it_path("http://127.0.1.1:%d%s", s->port,
					   e->pq)
				 : it_url(s, e->pq);
		pl->want_requests += soak_want_attempts(pl, e);
	}
	free(kinds);
}

void soak_plan_free(struct soak_plan *pl)
{
	for (size_t i = 0; pl->e && i < pl->p.n; i++) {
		free(pl->e[i].url);
		free(pl->e[i].pq);
	}
	free(pl->e);
	pl->e = NULL;
}

void soak_plan_line(const struct soak_plan *pl, size_t i, struct it_buf *b)
{
	it_buf_printf(b, "%s\n", pl->e[i].url);
}

/* The entry index in a "/data/sNNNNN.bin" path, or -1. */
static long index_in(const struct soak_plan *pl, const char *s)
{
	const char *p = s ? strstr(s, "/data/s") : NULL;
	char *end;
	unsigned long v;

	if (!p)
		return -1;
	p += strlen("/data/s");
	if (*p < '0' || *p > '9')
		return -1;
	errno = 0;
	v = strtoul(p, &end, 10);
	if (errno || strncmp(end, ".bin", 4) != 0 || v >= pl->p.n)
		return -1;
	return (long)v;
}

long soak_index_of(const struct soak_plan *pl, const char *url)
{
	long i = index_in(pl, url);

	if (i < 0 || strcmp(pl->e[i].url, url) != 0)
		return -1;
	return i;
}

#define MAX_SHOWN 20

static void problem(size_t *n, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

static void problem(size_t *n, const char *fmt, ...)
{
	va_list ap;

	if (*n < MAX_SHOWN) {
		fprintf(stderr, "# problem: ");
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fprintf(stderr, "\n");
	} else if (*n == MAX_SHOWN) {
		fprintf(stderr, "# (more problems not shown)\n");
	}
	(*n)++;
}

static int num_is(const cJSON *o, const char *key, double want)
{
	int ok;
	double v = it_json_num(o, key, &ok);

	return ok && v == want;
}

size_t soak_check_results(const struct soak_plan *pl, const cJSON *results,
			  const char *root, const char *outdir,
			  struct soak_tally *t)
{
	unsigned char *seen = xcalloc(pl->p.n, 1);
	size_t bad = 0;
	const cJSON *o;

	memset(t, 0, sizeof(*t));
	cJSON_ArrayForEach(o, results) {
		const char *url = it_json_str(o, "url");
		const char *st = it_json_str(o, "status");
		const char *path = it_json_str(o, "path");
		const char *err = it_json_str(o, "error");
		long i = soak_index_of(pl, url ? url : "");
		const struct soak_entry *e;
		int att_ok;
		double att = it_json_num(o, "attempts", &att_ok);
		int want_att;
		char *want_path;

		t->results++;
		if (i < 0) {
			t->unknown++;
			problem(&bad, "result for a URL not in the list: %s",
				url ? url : "(none)");
			continue;
		}
		e = &pl->e[i];
		if (seen[i] < 255)
			seen[i]++;
		if (seen[i] == 2)
			problem(&bad, "%s reported more than once", url);
		if (seen[i] > 1)
			continue;
		want_att = soak_want_attempts(pl, e);
		if (att_ok)
			t->attempts[e->kind] += (size_t)att;
		if (st && strcmp(st, "ok") == 0)
			t->ok[e->kind]++;
		else if (st && strcmp(st, "failed") == 0)
			t->failed[e->kind]++;
		else
			t->other[e->kind]++;
		want_path = it_path("%s/s%05ld.bin", outdir, i);
		if (soak_want_ok(e)) {
			char *file = it_path("%s/%s", root, want_path);

			if (!st || strcmp(st, "ok") != 0 ||
			    !num_is(o, "http_status", 200) ||
			    !num_is(o, "bytes", e->size) ||
			    !it_json_is_null(o, "error") ||
			    !path || strcmp(path, want_path) != 0)
				problem(&bad, "%s (%s): want ok/200/%u bytes at "
					"%s, got %s/%g/%g bytes at %s, error %s",
					url, soak_kind_name(e->kind), e->size,
					want_path, st ? st : "?",
					it_json_num(o, "http_status", NULL),
					it_json_num(o, "bytes", NULL),
					path ? path : "null",
					err ? err : "null");
			else if (!it_file_matches_body(file, e->path, e->size))
				problem(&bad, "%s: file %s is not byte-exact",
					url, file);
			else
				t->bytes += e->size;
			free(file);
		} else {
			char *file = it_path("%s/%s", root, want_path);

			if (!st || strcmp(st, "failed") != 0 ||
			    !num_is(o, "http_status", e->status) ||
			    !num_is(o, "bytes", 0) ||
			    !it_json_is_null(o, "path") ||
			    !err || !strstr(err, e->status == 404 ? "404"
								  : "500"))
				problem(&bad, "%s (%s): want failed/%d with the "
					"status in the error, got %s/%g, path "
					"%s, error %s", url,
					soak_kind_name(e->kind), e->status,
					st ? st : "?",
					it_json_num(o, "http_status", NULL),
					path ? path : "null",
					err ? err : "null");
			if (it_exists(file))
				problem(&bad, "%s failed but %s exists", url,
					file);
			free(file);
		}
		if (att_ok && pl->p.keepalive && e->kind == SK_RESET &&
		    (int)att == 1)
			att = want_att;   /* libcurl's own retry, see .h */
		if (!att_ok || (int)att != want_att)
			problem(&bad, "%s (%s): want %d attempts, got %g", url,
				soak_kind_name(e->kind), want_att, att);
		free(want_path);
	}
	for (size_t i = 0; i < pl->p.n; i++)
		if (seen[i] == 0)
			problem(&bad, "%s (%s) never reported", pl->e[i].url,
				soak_kind_name(pl->e[i].kind));
	free(seen);
	return bad;
}

size_t soak_check_server(const struct soak_plan *pl, const struct it_server *s,
			 int exact, double ra_min, double *min_ra_gap)
{
	int *count = xcalloc(pl->p.n, sizeof(int));
	double *end429 = xcalloc(pl->p.n, sizeof(double));
	size_t bad = 0;
	long reqs = it_server_stat(s, "requests");
	cJSON *log = it_server_log(s);
	const cJSON *o;

	*min_ra_gap = -1;
	if (exact && reqs != pl->want_requests)
		problem(&bad, "server saw %ld requests, want %ld (the sum of "
			"the expected attempts)", reqs, pl->want_requests);
	if (!log) {
		problem(&bad, "cannot read the server's /_log");
		free(count);
		free(end429);
		return bad;
	}
	cJSON_ArrayForEach(o, log) {
		const char *pq = it_json_str(o, "path");
		long i = index_in(pl, pq);
		const struct soak_entry *e;
		int st_ok;
		double st = it_json_num(o, "status", &st_ok);
		double ts = it_json_num(o, "t_start", NULL);
		double te = it_json_num(o, "t_end", NULL);

		if (i < 0 || strcmp(pl->e[i].pq, pq) != 0) {
			if (exact)
				problem(&bad, "server got a request for %s, "
					"not in the list", pq ? pq : "?");
			continue;
		}
		e = &pl->e[i];
		count[i]++;
		if (e->kind != SK_429)
			continue;
		if (count[i] == 1) {
			if (!st_ok || st != 429)
				problem(&bad, "%s: first answer %g, want 429",
					pq, st);
			end429[i] = te;
		} else if (count[i] == 2 && end429[i] > 0) {
			double gap = ts - end429[i];

			if (*min_ra_gap < 0 || gap < *min_ra_gap)
				*min_ra_gap = gap;
			if (ra_min > 0 && gap < ra_min)
				problem(&bad, "%s: retried %.3f s after the 429 "
					"with Retry-After: 1 (server clock)", pq,
					gap);
		}
	}
	for (size_t i = 0; i < pl->p.n; i++) {
		int want = soak_want_attempts(pl, &pl->e[i]);

		if (count[i] != want)
			problem(&bad, "%s (%s): %d requests at the server, want "
				"%d", pl->e[i].pq, soak_kind_name(pl->e[i].kind),
				count[i], want);
	}
	cJSON_Delete(log);
	free(count);
	free(end429);
	return bad;
}

void soak_print_tally(const char *label, const struct soak_plan *pl,
		      const struct soak_tally *t)
{
	for (int k = 0; k < SK_NKINDS; k++)
		fprintf(stderr, "# %s: %-18s %6zu entries: %6zu ok, %4zu "
			"failed, %zu other; %zu attempts in all\n", label,
			soak_kind_name((enum soak_kind)k), pl->nkind[k],
			t->ok[k], t->failed[k], t->other[k], t->attempts[k]);
}

/* ----------------------------------------------------- /proc inspection */

struct fd_line {
	int fd;
	char *text;
};

static int cmp_fd_line(const void *a, const void *b)
{
	const struct fd_line *x = a, *y = b;

	return (x->fd > y->fd) - (x->fd < y->fd);
}

/* "socket:[1234]" -> "socket"; other targets unchanged. */
static void strip_inode(char *t)
{
	char *br = strstr(t, ":[");
	size_t n;

	if (!br)
		return;
	n = strlen(br);
	if (n >= 4 && br[n - 1] == ']' &&
	    strspn(br + 2, "0123456789") == n - 3)
		*br = '\0';
}

char *soak_fd_list(pid_t pid, int *count)
{
	char *dir = it_path("/proc/%ld/fd", (long)pid);
	DIR *d = opendir(dir);
	struct dirent *de;
	struct fd_line *v = NULL;
	size_t n = 0, cap = 0;
	struct it_buf b = { 0 };

	*count = -1;
	if (!d) {
		free(dir);
		return NULL;
	}
	while ((de = readdir(d)) != NULL) {
		char *link, target[PATH_MAX];
		ssize_t len;

		if (de->d_name[0] == '.')
			continue;
		link = it_path("%s/%s", dir, de->d_name);
		len = readlink(link, target, sizeof(target) - 1);
		free(link);
		if (len < 0)
			continue;   /* closed meanwhile */
		target[len] = '\0';
		strip_inode(target);
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			v = realloc(v, cap * sizeof(*v));
			if (!v)
				abort();
		}
		v[n].fd = atoi(de->d_name);
		v[n].text = it_path("%s -> %s", de->d_name, target);
		n++;
	}
	closedir(d);
	free(dir);
	if (n)
		qsort(v, n, sizeof(*v), cmp_fd_line);
	it_buf_printf(&b, "%s", "");
	for (size_t i = 0; i < n; i++) {
		it_buf_printf(&b, "%s\n", v[i].text);
		free(v[i].text);
	}
	free(v);
	*count = (int)n;
	return b.data;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char *soak_fd_kinds(const char *fd_list)
{
	cJSON *lines = it_split_lines(fd_list);
	int n = cJSON_GetArraySize(lines);
	char **v = xcalloc((size_t)n, sizeof(*v));
	struct it_buf b = { 0 };
	int k = 0;
	const cJSON *l;

	cJSON_ArrayForEach(l, lines) {
		const char *s = cJSON_GetStringValue(l);
		const char *arrow = s ? strstr(s, " -> ") : NULL;

		if (arrow)
			v[k++] = (char *)arrow + 4;
	}
	if (k)
		qsort(v, (size_t)k, sizeof(*v), cmp_str);
	it_buf_printf(&b, "%s", "");
	for (int i = 0; i < k; i++)
		it_buf_printf(&b, "%s\n", v[i]);
	free(v);
	cJSON_Delete(lines);
	return b.data;
}

long soak_proc_kib(pid_t pid, const char *field)
{
	char *path = it_path("/proc/%ld/status", (long)pid);
	char *text = it_read_file(path, NULL);
	size_t fl = strlen(field);
	const char *p;
	long v = -1;

	free(path);
	for (p = text; p && *p;) {
		if (strncmp(p, field, fl) == 0 && p[fl] == ':') {
			v = strtol(p + fl + 1, NULL, 10);
			break;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	free(text);
	return v;
}

int soak_sanitized(void)
{
	const char *s = getenv("FM_SANITIZE");

	return s && *s && strcmp(s, "none") != 0;
}

int soak_tap(void)
{
	const char *s = getenv("CMOCKA_MESSAGE_OUTPUT");

	return s && (strcmp(s, "TAP") == 0 || strcmp(s, "tap") == 0);
}
