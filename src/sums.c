/* sums.c: expected digests from checksum files (fm_sums.h).
 *
 * A line is parsed alone (pure, no allocation but its name), so that the
 * unit tests and a fuzzer drive it as the loader does. The loader keeps
 * every line as read, then sorts them once by NAME and algorithm: lines
 * that repeat one another merge, lines that contradict one another are
 * refused (two digests of one algorithm for one file cannot both be
 * right, and a run would only fail later for it), and each NAME becomes
 * one record with its digests. A second index by last component finds a
 * file by name when its path under -o differs from the NAME (-x, out=,
 * or a checksum file for a release laid out in directories). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fm_error.h"
#include "fm_sums.h"

struct fm_sum_raw {
	char *name;             /* less a leading "./" */
	enum fm_algo algo;
	char hex[FM_HEX_MAX + 1];
	unsigned file;
	unsigned long line;
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

static size_t hex_run(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && is_hex(s[i]))
		i++;
	return i;
}

/* The name of n bytes at s, unescaped when escaped (coreutils: \\, \n
 * and \r), into out->name. Returns 0, or -1 with why. */
static int take_name(const char *s, size_t n, bool escaped,
		     struct fm_sum_line *out, char *why, size_t whylen)
{
	char *name;
	size_t k = 0;

	if (n == 0)
		return fm_why(why, whylen, "no file name after the digest");
	name = malloc(n + 1);
	if (!name)
		return fm_why(why, whylen, "out of memory");
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (escaped && c == '\\') {
			c = i + 1 < n ? s[++i] : '\0';
			if (c == 'n')
				c = '\n';
			else if (c == 'r')
				c = '\r';
			else if (c != '\\') {
				free(name);
				if (c == '\0')
					return fm_why(why, whylen, "a file "
						      "name ends in an escape "
						      "'\\'");
				if (c > ' ' && c < 0x7f)
					return fm_why(why, whylen, "unknown "
						      "escape '\\%c' in the "
						      "file name", c);
				return fm_why(why, whylen, "unknown escape "
					      "'\\' and byte 0x%02x in the "
					      "file name", (unsigned char)c);
			}
		}
		name[k++] = c;
	}
	name[k] = '\0';
	out->name = name;
	return 0;
}

/* Copies hex, n digits (algo's number of them), lowercased into out. */
static int take_hex(enum fm_algo algo, const char *hex, size_t n,
		    struct fm_sum_line *out, char *why, size_t whylen)
{
	if (n > FM_HEX_MAX)
		return fm_why(why, whylen, "%s must be %zu hex digits",
			      fm_algo_name(algo), fm_algo_hex_len(algo));
	memcpy(out->hex, hex, n);
	out->hex[n] = '\0';
	out->algo = algo;
	return fm_digest_check(algo, out->hex, why, whylen);
}

/* "TAG (NAME) = HEX": s (n bytes) starts after "TAG (". */
static int parse_tagged(const char *tag, size_t taglen, const char *s,
			size_t n, bool escaped, struct fm_sum_line *out,
			char *why, size_t whylen)
{
	int algo = fm_algo_by_name(tag, taglen, true);
	const char *sep = NULL, *hex;
	size_t hexlen;

	if (algo < 0)
		return fm_why(why, whylen, "unsupported algorithm '%.*s' (md5,"
			      " sha1, sha256 and sha512 are)",
			      (int)(taglen < 16 ? taglen : 16), tag);
	/* The last ") = ": a name may hold one, the hex digits never. */
	for (size_t i = 0; i + 4 <= n; i++)
		if (memcmp(s + i, ") = ", 4) == 0)
			sep = s + i;
	if (!sep)
		return fm_why(why, whylen, "expected TAG (NAME) = HEX");
	hex = sep + 4;
	hexlen = (size_t)(s + n - hex);
	while (hexlen && is_blank(hex[hexlen - 1]))
		hexlen--;
	if (hex_run(hex, hexlen) != hexlen ||
	    hexlen != fm_algo_hex_len((enum fm_algo)algo))
		return fm_why(why, whylen, "%s must be %zu hex digits",
			      fm_algo_name((enum fm_algo)algo),
			      fm_algo_hex_len((enum fm_algo)algo));
	if (take_hex((enum fm_algo)algo, hex, hexlen, out, why, whylen))
		return -1;
	return take_name(s, (size_t)(sep - s), escaped, out, why, whylen);
}

/* "HEX  NAME", "HEX *NAME" or "HEX NAME". */
static int parse_plain(const char *s, size_t n, bool escaped,
		       struct fm_sum_line *out, char *why, size_t whylen)
{
	size_t hexlen = hex_run(s, n), i = hexlen;
	int algo;

	if (hexlen == 0 || (i < n && s[i] != ' '))
		return fm_why(why, whylen, "expected hex digits, two spaces "
			      "and a file name (or TAG (NAME) = HEX)");
	if (i < n)
		i++;
	if (i < n && (s[i] == ' ' || s[i] == '*'))
		i++; /* the mode: text or binary, the same bytes here */
	if (i == n)
		return fm_why(why, whylen, "no file name after the digest");
	algo = fm_algo_by_hex_len(hexlen);
	if (algo < 0)
		return fm_why(why, whylen, "a digest of %zu hex digits is not "
			      "md5 (32), sha1 (40), sha256 (64) or sha512 "
			      "(128)", hexlen);
	if (take_hex((enum fm_algo)algo, s, hexlen, out, why, whylen))
		return -1;
	return take_name(s + i, n - i, escaped, out, why, whylen);
}

/* The length of a BSD tag ("SHA256") followed by " (" at s, or 0: a
 * word of letters, digits and '-' with one that no hex digest has, so
 * that "HEX (name)" stays a coreutils line. */
static size_t tag_len(const char *s, size_t n)
{
	size_t i = 0;
	bool letter = false;

	while (i < n && ((s[i] >= 'A' && s[i] <= 'Z') ||
			 (s[i] >= 'a' && s[i] <= 'z') ||
			 (s[i] >= '0' && s[i] <= '9') || s[i] == '-')) {
		letter |= !is_hex(s[i]);
		i++;
	}
	return letter && i + 2 <= n && s[i] == ' ' && s[i + 1] == '(' ? i : 0;
}

enum fm_sum_kind fm_sums_parse_line(const char *line, size_t len,
				    struct fm_sum_line *out, char *why,
				    size_t whylen)
{
	const char *s = line, *end = line + len;
	bool escaped;
	size_t tl;
	int rc;

	memset(out, 0, sizeof(*out));
	if (why && whylen)
		why[0] = '\0';
	if (len > FM_SUMS_LINE_MAX) {
		fm_why(why, whylen, "line longer than %d bytes",
		       FM_SUMS_LINE_MAX);
		return FM_SUM_BAD;
	}
	if (memchr(line, '\0', len)) {
		fm_why(why, whylen, "NUL byte in line");
		return FM_SUM_BAD;
	}
	if (end > s && end[-1] == '\r')
		end--;
	while (s < end && is_blank(*s))
		s++;
	if (s == end || *s == '#')
		return FM_SUM_SKIP;
	escaped = *s == '\\';
	s += escaped;
	tl = tag_len(s, (size_t)(end - s));
	if (tl)
		rc = parse_tagged(s, tl, s + tl + 2, (size_t)(end - s) - tl - 2,
				  escaped, out, why, whylen);
	else
		rc = parse_plain(s, (size_t)(end - s), escaped, out, why,
				 whylen);
	if (rc == 0)
		return FM_SUM_LINE;
	free(out->name);
	out->name = NULL;
	return FM_SUM_BAD;
}

int fm_sums_add(struct fm_sums *s, struct fm_sum_line *l, unsigned file,
		unsigned long line)
{
	struct fm_sum_raw *r;
	char *name = l->name;

	if (s->nraw == s->capraw) {
		size_t cap = s->capraw ? 2 * s->capraw : 64;
		struct fm_sum_raw *grown = realloc(s->raw, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		s->raw = grown;
		s->capraw = cap;
	}
	while (name[0] == '.' && name[1] == '/')
		memmove(name, name + 2, strlen(name + 2) + 1);
	r = &s->raw[s->nraw++];
	r->name = name;
	r->algo = l->algo;
	memcpy(r->hex, l->hex, sizeof(r->hex));
	r->file = file;
	r->line = line;
	l->name = NULL;
	return 0;
}

/* By name, then algorithm, then the order read (qsort is not stable:
 * file and line keep "the first" the first). */
static int cmp_raw(const void *pa, const void *pb)
{
	const struct fm_sum_raw *a = pa, *b = pb;
	int c = strcmp(a->name, b->name);

	if (c)
		return c;
	if (a->algo != b->algo)
		return a->algo < b->algo ? -1 : 1;
	if (a->file != b->file)
		return a->file < b->file ? -1 : 1;
	return (a->line > b->line) - (a->line < b->line);
}

static int cmp_base(const void *pa, const void *pb)
{
	const struct fm_sum *const *a = pa, *const *b = pb;

	return strcmp((*a)->base, (*b)->base);
}

static void free_raw(struct fm_sums *s, size_t from)
{
	for (size_t i = from; i < s->nraw; i++)
		free(s->raw[i].name);
	free(s->raw);
	s->raw = NULL;
	s->nraw = s->capraw = 0;
}

/* Merges the sorted raw lines into records. Returns 0, or -1 with why. */
static int merge(struct fm_sums *s, const char *const files[], char *why,
		 size_t whylen)
{
	for (size_t i = 0; i < s->nraw; i++) {
		struct fm_sum_raw *r = &s->raw[i];
		struct fm_sum *rec = s->n ? &s->sums[s->n - 1] : NULL;
		const char *slash;

		if (!rec || strcmp(rec->name, r->name) != 0) {
			rec = &s->sums[s->n++];
			rec->name = r->name;
			slash = strrchr(rec->name, '/');
			rec->base = slash ? slash + 1 : rec->name;
		} else {
			free(r->name);
		}
		r->name = NULL;
		if (!rec->hex[r->algo]) {
			rec->hex[r->algo] = strdup(r->hex);
			if (!rec->hex[r->algo])
				return fm_why(why, whylen, "out of memory");
		} else if (strcmp(rec->hex[r->algo], r->hex) != 0) {
			const struct fm_sum_raw *first = r - 1;

			/* the earlier line of this NAME and algorithm */
			while (first->algo != r->algo ||
			       strcmp(first->hex, rec->hex[r->algo]) != 0)
				first--;
			return fm_why(why, whylen, "%s:%lu: another %s for "
				      "'%.256s' than %s:%lu", files[r->file],
				      r->line,
				      fm_algo_name(r->algo), rec->name,
				      files[first->file], first->line);
		}
	}
	return 0;
}

int fm_sums_index(struct fm_sums *s, const char *const files[], char *why,
		  size_t whylen)
{
	int rc;

	/* qsort() of no lines would be given s->raw's NULL (undefined) */
	if (s->nraw > 1)
		qsort(s->raw, s->nraw, sizeof(*s->raw), cmp_raw);
	s->sums = calloc(s->nraw ? s->nraw : 1, sizeof(*s->sums));
	if (!s->sums) {
		free_raw(s, 0);
		return fm_why(why, whylen, "out of memory");
	}
	rc = merge(s, files, why, whylen);
	free_raw(s, 0);
	if (rc)
		return rc;
	s->by_base = malloc((s->n ? s->n : 1) * sizeof(*s->by_base));
	if (!s->by_base)
		return fm_why(why, whylen, "out of memory");
	for (size_t i = 0; i < s->n; i++)
		s->by_base[i] = &s->sums[i];
	if (s->n > 1)
		qsort(s->by_base, s->n, sizeof(*s->by_base), cmp_base);
	return 0;
}

static const char *base_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

const struct fm_sum *fm_sums_find(const struct fm_sums *s,
				  const char *relpath)
{
	const char *base = base_of(relpath);
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(s->sums[mid].name, relpath);

		if (c == 0)
			return &s->sums[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* The first record with this base, if it is the only one. */
	lo = 0;
	hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(s->by_base[mid]->base, base) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < s->n && strcmp(s->by_base[lo]->base, base) == 0 &&
	    (lo + 1 == s->n || strcmp(s->by_base[lo + 1]->base, base) != 0))
		return s->by_base[lo];
	return NULL;
}

int fm_sums_apply(const struct fm_sums *s, const char *relpath,
		  char *want[FM_ALGOS])
{
	const struct fm_sum *rec;

	if (!s || fm_digest_set(want, false))
		return 0;
	rec = fm_sums_find(s, relpath);
	for (int a = 0; rec && a < FM_ALGOS; a++) {
		if (!rec->hex[a])
			continue;
		want[a] = strdup(rec->hex[a]);
		if (!want[a]) {
			while (a-- > 0) {
				free(want[a]);
				want[a] = NULL;
			}
			return -ENOMEM;
		}
	}
	return 0;
}

/* Reads one checksum file, number file, into s. Returns 0, or -1 having
 * printed why. */
static int load_file(struct fm_sums *s, const char *path, unsigned file,
		     FILE *err)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL, why[FM_DIGEST_WHY_MAX];
	size_t cap = 0;
	unsigned long line = 0;
	ssize_t n;
	int rc = 0, read_err = 0;

	if (!f) {
		fprintf(err, "fetchmany: --checksums: cannot read '%s': %s\n",
			path, fm_strerror(-errno));
		return -1;
	}
	errno = 0;
	while (rc == 0 && (n = getline(&buf, &cap, f)) >= 0) {
		const char *p = buf;
		struct fm_sum_line l;

		line++;
		if (n > 0 && buf[n - 1] == '\n')
			n--;
		/* a byte-order mark, as some Windows tools write one */
		if (line == 1 && n >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) {
			p += 3;
			n -= 3;
		}
		switch (fm_sums_parse_line(p, (size_t)n, &l, why,
					   sizeof(why))) {
		case FM_SUM_SKIP:
			break;
		case FM_SUM_LINE:
			if (fm_sums_add(s, &l, file, line)) {
				free(l.name);
				snprintf(why, sizeof(why), "out of memory");
				rc = -1;
			}
			break;
		case FM_SUM_BAD:
			rc = -1;
			break;
		}
	}
	if (rc == 0 && ferror(f))
		read_err = errno ? errno : EIO;
	if (read_err)
		fprintf(err, "fetchmany: --checksums: cannot read '%s': %s\n",
			path, fm_strerror(-read_err));
	else if (rc)
		fprintf(err, "fetchmany: %s:%lu: %s\n", path, line, why);
	free(buf);
	fclose(f);
	return rc || read_err ? -1 : 0;
}

int fm_sums_load(struct fm_sums *s, const char *const files[], int n,
		 FILE *err)
{
	char why[FM_DIGEST_WHY_MAX + 2 * 4096];

	for (int i = 0; i < n; i++)
		if (load_file(s, files[i], (unsigned)i, err)) {
			fm_sums_free(s);
			return -1;
		}
	if (fm_sums_index(s, files, why, sizeof(why))) {
		fprintf(err, "fetchmany: %s\n", why);
		fm_sums_free(s);
		return -1;
	}
	return 0;
}

void fm_sums_free(struct fm_sums *s)
{
	free_raw(s, 0);
	for (size_t i = 0; i < s->n; i++) {
		free(s->sums[i].name);
		for (int a = 0; a < FM_ALGOS; a++)
			free(s->sums[i].hex[a]);
	}
	free(s->sums);
	free(s->by_base);
	*s = (struct fm_sums){0};
}
