/* result.c: rendering result records and the summary line.
 *
 * Pure formatting. The JSON record is built with cJSON so strings are
 * escaped correctly whatever bytes a URL or an error message holds; keys
 * are added in the spec's order, which cJSON preserves. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fm_result.h"

static const char *const status_names[FM_STATUS_COUNT] = {
	[FM_STATUS_OK] = "ok",
	[FM_STATUS_UNCHANGED] = "unchanged",
	[FM_STATUS_SKIPPED] = "skipped",
	[FM_STATUS_FAILED] = "failed",
	[FM_STATUS_INVALID] = "invalid",
	[FM_STATUS_PLANNED] = "planned",
};

const char *fm_status_name(enum fm_status s)
{
	if ((unsigned)s >= FM_STATUS_COUNT)
		return "?";
	return status_names[s];
}

/* Length of the valid UTF-8 sequence at s (1 to 4), or 0 when the bytes
 * there are not one (stray continuation, overlong form, surrogate, beyond
 * U+10FFFF, or cut short). */
static size_t utf8_seq(const unsigned char *s)
{
	size_t n;
	unsigned c = s[0], min;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, c &= 0x1f, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, c &= 0x0f, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, c &= 0x07, min = 0x10000;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3fu);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return n;
}

/* JSON text is UTF-8, but URLs, names and messages can hold any byte a
 * list or a server sent: each byte that is not part of valid UTF-8
 * becomes U+FFFD. Returns s itself when it is valid, else a malloc'd
 * copy (NULL when out of memory). */
static const char *valid_utf8(const char *s, char **copy)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, o = 0, len = strlen(s);

	*copy = NULL;
	while (p[i]) {
		size_t n = utf8_seq(p + i);

		if (!n)
			break;
		i += n;
	}
	if (!p[i])
		return s;
	*copy = malloc(len * 3 + 1);
	if (!*copy)
		return NULL;
	for (i = 0; p[i];) {
		size_t n = utf8_seq(p + i);

		if (n) {
			memcpy(*copy + o, p + i, n);
			o += n;
			i += n;
		} else {
			memcpy(*copy + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	(*copy)[o] = '\0';
	return *copy;
}

static bool add_string_or_null(cJSON *o, const char *key, const char *v)
{
	char *copy = NULL;
	cJSON *item;

	if (v && !(v = valid_utf8(v, &copy)))
		return false;
	item = v ? cJSON_CreateString(v) : cJSON_CreateNull();
	free(copy);
	return item && cJSON_AddItemToObject(o, key, item);
}

/* Seconds are rounded to the millisecond: more digits are noise, and a
 * stable width keeps the lines easy to read. */
static double round_ms(double s)
{
	return (double)(long long)(s * 1000.0 + 0.5) / 1000.0;
}

/* "mirrors": the entry's other URLs, so that a record fed back keeps
 * them. */
static bool add_mirrors(cJSON *o, char *const *mirrors, unsigned n)
{
	cJSON *a = cJSON_AddArrayToObject(o, "mirrors");
	bool ok = a != NULL;

	for (unsigned i = 0; ok && i < n; i++) {
		char *copy = NULL;
		const char *v = valid_utf8(mirrors[i], &copy);
		cJSON *item = v ? cJSON_CreateString(v) : NULL;

		free(copy);
		ok = item && cJSON_AddItemToArray(a, item);
	}
	return ok;
}

char *fm_result_json(const struct fm_result *r)
{
	cJSON *o = cJSON_CreateObject();
	char *s = NULL, *line = NULL;
	bool ok;

	if (!o)
		return NULL;
	ok = add_string_or_null(o, "url", r->url);
	if (r->nmirrors)
		ok = ok && add_string_or_null(o, "from", r->from);
	if (r->out)
		ok = ok && add_string_or_null(o, "out", r->out);
	if (r->nmirrors)
		ok = ok && add_mirrors(o, r->mirrors, r->nmirrors);
	ok = ok && add_string_or_null(o, "path", r->path);
	ok = ok && cJSON_AddStringToObject(o, "status",
					   fm_status_name(r->status));
	if (r->http_status > 0)
		ok = ok && cJSON_AddNumberToObject(o, "http_status",
						   (double)r->http_status);
	else
		ok = ok && cJSON_AddNullToObject(o, "http_status");
	if (r->bytes_unknown)
		ok = ok && cJSON_AddNullToObject(o, "bytes");
	else
		ok = ok && cJSON_AddNumberToObject(o, "bytes",
						   (double)r->bytes);
	ok = ok && cJSON_AddNumberToObject(o, "seconds", round_ms(r->seconds));
	ok = ok && cJSON_AddNumberToObject(o, "attempts", r->attempts);
	ok = ok && add_string_or_null(o, "error", r->error);
	for (int a = 0; a < FM_ALGOS; a++)
		if (r->digest[a])
			ok = ok && add_string_or_null(o, fm_algo_name(a),
						      r->digest[a]);
	if (r->line > 0)
		ok = ok && cJSON_AddNumberToObject(o, "line", (double)r->line);
	else
		ok = ok && cJSON_AddNullToObject(o, "line");
	ok = ok && add_string_or_null(o, "source", r->source);
	if (ok)
		s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!s)
		return NULL;
	line = realloc(s, strlen(s) + 2);
	if (!line) {
		cJSON_free(s);
		return NULL;
	}
	strcat(line, "\n");
	return line;
}

/* Tabs and line breaks inside a field would break the one-line,
 * tab-separated format: a copy of s with them turned into spaces. */
static char *flat_copy(const char *s)
{
	char *c = strdup(s);

	for (char *p = c; p && *p; p++)
		if (*p == '\t' || *p == '\n' || *p == '\r')
			*p = ' ';
	return c;
}

char *fm_result_text(const struct fm_result *r)
{
	const char *last;
	char http[24], bytes[24];
	char *url, *tail, *buf = NULL;
	int n;

	if (r->status == FM_STATUS_FAILED || r->status == FM_STATUS_INVALID)
		last = r->error ? r->error : "-";
	else
		last = r->path ? r->path : "-";
	if (r->http_status > 0)
		snprintf(http, sizeof(http), "%ld", r->http_status);
	else
		strcpy(http, "-");
	if (r->bytes_unknown)
		strcpy(bytes, "-");
	else
		snprintf(bytes, sizeof(bytes), "%" PRIu64, r->bytes);
	url = flat_copy(r->url ? r->url : "-");
	tail = flat_copy(last);
	if (!url || !tail)
		goto out;
	n = snprintf(NULL, 0, "%s\t%s\t%s\t%.3f\t%s\t%s\n",
		     fm_status_name(r->status), http, bytes, r->seconds, url,
		     tail);
	if (n < 0)
		goto out;
	buf = malloc((size_t)n + 1);
	if (buf)
		snprintf(buf, (size_t)n + 1, "%s\t%s\t%s\t%.3f\t%s\t%s\n",
			 fm_status_name(r->status), http, bytes, r->seconds,
			 url, tail);
out:
	free(url);
	free(tail);
	return buf;
}

/* The room a part "URL: WHY" of fm_result_urls_failed() is given when
 * there is too little for all: below it a part says too little to be
 * worth its place, and the rest are only counted. */
#define PART_MIN 40
#define MORE_MAX sizeof("; +4294967295 more")

/* Appends s to buf at *pos, cut to at most max bytes on a UTF-8 boundary
 * (the cut ending in "..." when cut is set and s is longer). */
static void put(char *buf, size_t *pos, const char *s, size_t max, bool cut)
{
	size_t n = strlen(s);

	if (n > max) {
		n = cut && max >= 3 ? max - 3 : max;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(buf + *pos, s, n);
	*pos += n;
	if (n < strlen(s) && cut && max >= 3) {
		memcpy(buf + *pos, "...", 3);
		*pos += 3;
	}
	buf[*pos] = '\0';
}

/* The most bytes each of the parts (of lengths len(i)) may keep so that
 * together they fit in room: the largest level c with the sum of
 * min(len, c) within room (water-filling: short parts stay whole and
 * give what they leave to the long ones). */
static size_t fair_share(const char *const urls[], const char *const whys[],
			 unsigned n, size_t room)
{
	size_t lo = 0, hi = room;

	while (lo < hi) {
		size_t c = lo + (hi - lo + 1) / 2, sum = 0;

		for (unsigned i = 0; i < n && sum <= room; i++) {
			size_t len;

			if (!whys[i])
				continue;
			len = strlen(urls[i]) + 2 + strlen(whys[i]);
			sum += len < c ? len : c;
		}
		if (sum <= room)
			lo = c;
		else
			hi = c - 1;
	}
	return lo;
}

char *fm_result_urls_failed(char *buf, size_t cap, const char *const urls[],
			    const char *const whys[], unsigned n)
{
	char head[64];
	unsigned tried = 0, shown = 0;
	size_t pos = 0, share, room;

	if (cap == 0)
		return buf;
	buf[0] = '\0';
	for (unsigned i = 0; i < n; i++)
		tried += whys[i] != NULL;
	if (tried == n)
		snprintf(head, sizeof(head), "all %u URLs failed: ", n);
	else
		snprintf(head, sizeof(head),
			 "%u of %u URLs failed, no retries left: ", tried, n);
	put(buf, &pos, head, cap - 1, false);
	room = cap - 1 - pos;
	if (tried == 0 || room < 2 * (size_t)(tried - 1))
		return buf;
	room -= 2 * (size_t)(tried - 1);
	share = fair_share(urls, whys, n, room);
	for (unsigned i = 0; i < n; i++) {
		char *part;
		size_t len, max;

		if (!whys[i])
			continue;
		len = strlen(urls[i]) + 2 + strlen(whys[i]);
		max = share < PART_MIN ? PART_MIN : share;
		if (share < PART_MIN &&
		    pos + (shown ? 2 : 0) + (len < max ? len : max) >
			    cap - 1 - MORE_MAX)
			break;
		part = malloc(len + 1);
		if (!part)
			break;
		snprintf(part, len + 1, "%s: %s", urls[i], whys[i]);
		if (shown)
			put(buf, &pos, "; ", 2, false);
		put(buf, &pos, part, max, true);
		free(part);
		shown++;
	}
	if (shown < tried && pos + MORE_MAX <= cap)
		pos += (size_t)snprintf(buf + pos, cap - pos, "; +%u more",
					tried - shown);
	return buf;
}

char *fm_human_bytes(uint64_t n, char *buf, size_t cap)
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
	double v = (double)n;
	size_t u = 0;

	if (n < 1024) {
		snprintf(buf, cap, "%" PRIu64 " B", n);
		return buf;
	}
	v /= 1024.0;
	while (v >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024.0;
		u++;
	}
	snprintf(buf, cap, "%.1f %s", v, units[u]);
	return buf;
}

char *fm_summary_format(const struct fm_tally *t, double elapsed,
			unsigned long left, char *buf, size_t cap)
{
	char bytes[32], rate[32];
	size_t len = 0;
	unsigned long total = 0;
	bool first = true;

	for (int s = 0; s < FM_STATUS_COUNT; s++)
		total += t->count[s];
	len += (size_t)snprintf(buf, cap, "%lu %s:", total,
				total == 1 ? "entry" : "entries");
	for (int s = 0; s < FM_STATUS_COUNT && len < cap; s++) {
		if (!t->count[s])
			continue;
		len += (size_t)snprintf(buf + len, cap - len, "%s %lu %s",
					first ? "" : ",", t->count[s],
					fm_status_name((enum fm_status)s));
		first = false;
	}
	if (left && len < cap)
		len += (size_t)snprintf(buf + len, cap - len, "%s %lu left",
					first ? "" : ",", left);
	fm_human_bytes(t->bytes, bytes, sizeof(bytes));
	fm_human_bytes(elapsed > 0 ? (uint64_t)((double)t->bytes / elapsed)
				   : t->bytes,
		       rate, sizeof(rate));
	if (len < cap)
		snprintf(buf + len, cap - len, "; %s in %.2f s (%s/s)", bytes,
			 elapsed, rate);
	return buf;
}
