/* fuzz_sums.c: libFuzzer target for fm_sums_parse_line() (src/sums.c).
 *
 * The whole input is one line of a checksum file, NUL bytes and all.
 * Invariants:
 *  - the output is zeroed first, whatever the result: SKIP and BAD leave
 *    no name; BAD has a one-line reason (non-empty, fits, no control
 *    byte);
 *  - LINE: a known algorithm, its hex digest lowercase and of its
 *    length, a non-empty name without a NUL;
 *  - LINE round trips: the digest and name written again as coreutils
 *    would (escaped when the name holds '\', '\n' or '\r') and with --tag
 *    parse to the same line, so the two formats follow the same rules;
 *  - a line over FM_SUMS_LINE_MAX is BAD.
 * The name is freed after every parse; LeakSanitizer catches the rest. */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fm_sums.h"
#include "fuzz_check.h"

#define WHY_MAX 256

static enum fm_sum_kind parse(const char *line, size_t len,
			      struct fm_sum_line *l, char *why)
{
	enum fm_sum_kind kind;
	size_t n, hl;

	memset(l, 0x5a, sizeof(*l));
	kind = fm_sums_parse_line(line, len, l, why, WHY_MAX);
	switch (kind) {
	case FM_SUM_SKIP:
		FUZZ_CHECK(l->name == NULL);
		break;
	case FM_SUM_BAD:
		FUZZ_CHECK(l->name == NULL);
		n = strnlen(why, WHY_MAX);
		FUZZ_CHECK(n > 0 && n < WHY_MAX);
		for (size_t i = 0; i < n; i++)
			if (fuzz_is_control((unsigned char)why[i]))
				fuzz_fail(__FILE__, __LINE__,
					  "control byte in a reason", why, n);
		break;
	case FM_SUM_LINE:
		FUZZ_CHECK((int)l->algo >= 0 && l->algo < FM_ALGOS);
		hl = fm_algo_hex_len(l->algo);
		FUZZ_CHECK(strnlen(l->hex, sizeof(l->hex)) == hl);
		for (size_t i = 0; i < hl; i++)
			FUZZ_CHECK((l->hex[i] >= '0' && l->hex[i] <= '9') ||
				   (l->hex[i] >= 'a' && l->hex[i] <= 'f'));
		FUZZ_CHECK(l->name != NULL && l->name[0] != '\0');
		break;
	default:
		FUZZ_CHECK(!"unknown line kind");
	}
	return kind;
}

/* name escaped as coreutils does it, into a new string; *escaped says
 * whether anything needed it. */
static char *escape(const char *name, bool *escaped)
{
	char *out = malloc(2 * strlen(name) + 1), *p = out;

	if (!out)
		abort();
	*escaped = false;
	for (; *name; name++) {
		char c = *name;

		if (c == '\\' || c == '\n' || c == '\r') {
			*p++ = '\\';
			c = c == '\n' ? 'n' : c == '\r' ? 'r' : '\\';
			*escaped = true;
		}
		*p++ = c;
	}
	*p = '\0';
	return out;
}

static void expect_same(const char *text, const struct fm_sum_line *l,
			const char *how)
{
	struct fm_sum_line l2;
	char why[WHY_MAX];
	size_t n = strlen(text);

	if (n > FM_SUMS_LINE_MAX)
		return;
	if (parse(text, n, &l2, why) != FM_SUM_LINE) {
		fprintf(stderr, "%s: %s\n", how, why);
		fuzz_fail(__FILE__, __LINE__,
			  "a line written again is not a line", text, n);
	}
	if (l2.algo != l->algo || strcmp(l2.hex, l->hex) ||
	    strcmp(l2.name, l->name))
		fuzz_fail(__FILE__, __LINE__,
			  "a line written again reads differently", text, n);
	free(l2.name);
}

static void round_trip(const struct fm_sum_line *l)
{
	bool escaped;
	char *name = escape(l->name, &escaped);
	size_t n = strlen(name) + FM_HEX_MAX + 32;
	char *text = malloc(n), tag[8];

	if (!text)
		abort();
	/* A coreutils line: a name's leading blanks and '*' are kept by
	 * the mode character that always comes first. */
	snprintf(text, n, "%s%s  %s", escaped ? "\\" : "", l->hex, name);
	expect_same(text, l, "coreutils");
	/* A tagged line: the last ") = " ends the name, so a name that
	 * holds one reads back too. */
	for (size_t i = 0; i < sizeof(tag); i++) {
		tag[i] = (char)toupper((unsigned char)fm_algo_name(l->algo)[i]);
		if (!tag[i])
			break;
	}
	snprintf(text, n, "%s%s (%s) = %s", escaped ? "\\" : "", tag, name,
		 l->hex);
	expect_same(text, l, "tagged");
	free(text);
	free(name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fm_sum_line l;
	char why[WHY_MAX];

	if (parse((const char *)data, size, &l, why) == FM_SUM_LINE)
		round_trip(&l);
	if (size > FM_SUMS_LINE_MAX)
		FUZZ_CHECK(l.name == NULL);
	free(l.name);
	return 0;
}
