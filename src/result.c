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

char *fm_result_json(const struct fm_result *r)
{
	cJSON *o = cJSON_CreateObject();
	char *s = NULL, *line = NULL;
	bool ok;

	if (!o)
		return NULL;
	ok = add_string_or_null(o, "url", r->url);
	if (r->out)
		ok = ok && add_string_or_null(o, "out", r->out);
	ok = ok && add_string_or_null(o, "path", r->path);
	ok = ok && cJSON_AddStringToObject(o, "status",
					   fm_status_name(r->status));
	if (r->http_status > 0)
		ok = ok && cJSON_AddNumberToObject(o, "http_status",
						   (double)r->http_status);
	else
		ok = ok && cJSON_AddNullToObject(o, "http_status");
	ok = ok && cJSON_AddNumberToObject(o, "bytes", (double)r->bytes);
	ok = ok && cJSON_AddNumberToObject(o, "seconds", round_ms(r->seconds));
	ok = ok && cJSON_AddNumberToObject(o, "attempts", r->attempts);
	ok = ok && add_string_or_null(o, "error", r->error);
	if (r->sha256)
		ok = ok && add_string_or_null(o, "sha256", r->sha256);
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
	char http[24];
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
	url = flat_copy(r->url ? r->url : "-");
	tail = flat_copy(last);
	if (!url || !tail)
		goto out;
	n = snprintf(NULL, 0, "%s\t%s\t%" PRIu64 "\t%.3f\t%s\t%s\n",
		     fm_status_name(r->status), http, r->bytes, r->seconds,
		     url, tail);
	if (n < 0)
		goto out;
	buf = malloc((size_t)n + 1);
	if (buf)
		snprintf(buf, (size_t)n + 1,
			 "%s\t%s\t%" PRIu64 "\t%.3f\t%s\t%s\n",
			 fm_status_name(r->status), http, r->bytes,
			 r->seconds, url, tail);
out:
	free(url);
	free(tail);
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
