/* fuzz_check.h: the invariants the fuzz targets check, shared by all three.
 *
 * A broken invariant prints what broke and the offending string (escaped),
 * then abort()s, so that libFuzzer reports a crash and saves the input.
 * Header-only: each target is one translation unit plus the src/ files it
 * exercises. */
#ifndef FUZZ_CHECK_H
#define FUZZ_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fm_name.h"

/* NAME_MAX of the file systems fetchmany writes to. */
#define FUZZ_COMPONENT_MAX 255

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Prints n bytes of s with everything unprintable escaped. */
static inline void fuzz_dump(const char *label, const char *s, size_t n)
{
	fprintf(stderr, "  %s (%zu bytes): \"", label, n);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			fprintf(stderr, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(stderr, "\\x%02x", c);
		else
			fputc(c, stderr);
	}
	fputs("\"\n", stderr);
}

static inline void fuzz_fail(const char *file, int line, const char *what,
		      const char *s, size_t n)
{
	fprintf(stderr, "\n%s:%d: INVARIANT BROKEN: %s\n", file, line, what);
	if (s != NULL)
		fuzz_dump("value", s, n);
	abort();
}

/* FUZZ_CHECK(cond): a plain assertion that survives NDEBUG. */
#define FUZZ_CHECK(cond)                                                   \
	do {                                                               \
		if (!(cond))                                               \
			fuzz_fail(__FILE__, __LINE__, #cond, NULL, 0);     \
	} while (0)

/* FUZZ_CHECK_STR(problem, s): problem is NULL or what is wrong with s. */
#define FUZZ_CHECK_STR(problem, s)                                         \
	do {                                                               \
		const char *fuzz_p_ = (problem);                           \
		if (fuzz_p_ != NULL)                                       \
			fuzz_fail(__FILE__, __LINE__, fuzz_p_, (s),        \
				  strlen(s));                              \
	} while (0)

static inline bool fuzz_is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* An exact-size heap copy of n bytes (plus a NUL when terminate is set),
 * so that AddressSanitizer sees any read past the end of a slice. */
static inline char *fuzz_dup(const void *p, size_t n, bool terminate)
{
	char *s = malloc(n + (terminate ? 1 : 0) + (n == 0 && !terminate));

	if (s == NULL)
		abort();
	if (n > 0)
		memcpy(s, p, n);
	if (terminate)
		s[n] = '\0';
	return s;
}

/* NULL when s is one safe file name component as the server or a URL may
 * give it: non-empty, at most max bytes, no '/', '\\' or control byte, and
 * not ".", ".." or another run of dots only. Otherwise what is wrong. */
static inline const char *fuzz_component_problem(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0)
		return "empty component";
	if (n > max)
		return "component too long";
	if (strspn(s, ".") == n)
		return "component is only dots";
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '/' || s[i] == '\\')
			return "separator inside a component";
		if (fuzz_is_control((unsigned char)s[i]))
			return "control byte in a component";
	}
	return NULL;
}

/* Joins "/out/" and rel, then normalises lexically ("." and empty segments
 * dropped, ".." pops one). Returns true when the result stays strictly
 * inside /out, i.e. names something below the output directory. */
static inline bool fuzz_inside_outdir(const char *rel)
{
	static const char root[] = "/out/";
	size_t n = strlen(rel), depth = 0, i = 0;
	char *joined = malloc(sizeof(root) + n);

	if (joined == NULL)
		abort();
	memcpy(joined, root, sizeof(root) - 1);
	memcpy(joined + sizeof(root) - 1, rel, n + 1);
	/* A rel starting with '/' replaces the root when joined the way a
	 * shell or open(2) relative to nothing would: treat it as escaping. */
	if (rel[0] == '/') {
		free(joined);
		return false;
	}
	while (joined[i] != '\0') {
		size_t start, len;

		while (joined[i] == '/')
			i++;
		start = i;
		while (joined[i] != '\0' && joined[i] != '/')
			i++;
		len = i - start;
		if (len == 0 || (len == 1 && joined[start] == '.'))
			continue;
		if (len == 2 && joined[start] == '.' && joined[start + 1] == '.') {
			if (depth <= 1) { /* would climb to / or above */
				free(joined);
				return false;
			}
			depth--;
			continue;
		}
		depth++;
	}
	free(joined);
	return depth >= 2; /* "out" plus at least one name below it */
}

/* NULL when rel is a path fm_name_resolve() may return: relative, no empty,
 * "." or ".." segment, no control byte, no component over NAME_MAX, a last
 * component that leaves room for ".part", and lexically inside the output
 * directory. url_derived adds the rules for names taken from a URL: no
 * '\\' (it becomes '_') and no component made of dots only. */
static inline const char *fuzz_relpath_problem(const char *rel, bool url_derived)
{
	const char *seg = rel;

	if (rel[0] == '\0')
		return "empty path";
	if (rel[0] == '/')
		return "absolute path";
	for (;;) {
		const char *slash = strchr(seg, '/');
		size_t len = slash != NULL ? (size_t)(slash - seg) : strlen(seg);

		if (len == 0)
			return "empty segment";
		if (len == 1 && seg[0] == '.')
			return "'.' segment";
		if (len == 2 && seg[0] == '.' && seg[1] == '.')
			return "'..' segment";
		if (len > FUZZ_COMPONENT_MAX)
			return "component longer than NAME_MAX";
		for (size_t i = 0; i < len; i++) {
			if (fuzz_is_control((unsigned char)seg[i]))
				return "control byte in path";
			if (url_derived && seg[i] == '\\')
				return "backslash in a name taken from the URL";
		}
		if (url_derived && strspn(seg, ".") >= len)
			return "dots-only segment in a name taken from the URL";
		if (slash == NULL) {
			if (len > FM_NAME_COMPONENT_MAX)
				return "last component leaves no room for .part";
			break;
		}
		seg = slash + 1;
	}
	if (!fuzz_inside_outdir(rel))
		return "path leaves the output directory";
	return NULL;
}

#endif
