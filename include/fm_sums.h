/* fm_sums.h: expected digests from checksum files (--checksums).
 *
 * Projects publish a release's digests in files that coreutils writes
 * (sha256sum: "HEX  NAME", "HEX *NAME"; "\HEX  NAME" when NAME holds a
 * backslash or a newline, escaped) or that BSD's tools and coreutils'
 * --tag write ("SHA256 (NAME) = HEX"). fm_sums_parse_line() reads one
 * such line, pure. A struct fm_sums holds the lines of every file given
 * (small next to the downloads they describe), merged by NAME and
 * indexed so that fm_sums_find() answers an entry by its output path
 * relative to -o, else by its file name when one NAME alone has it. */
#ifndef FM_SUMS_H
#define FM_SUMS_H

#include <stddef.h>
#include <stdio.h>

#include "fm_digest.h"

/* Longest checksum line, in bytes, its line terminator excluded. */
#define FM_SUMS_LINE_MAX (64 * 1024)

enum fm_sum_kind {
	FM_SUM_SKIP,    /* blank, or a comment ('#' first) */
	FM_SUM_LINE,    /* a digest and a name */
	FM_SUM_BAD,     /* malformed: why says how */
};

/* One line of a checksum file. */
struct fm_sum_line {
	enum fm_algo algo;
	char hex[FM_HEX_MAX + 1]; /* lowercase */
	char *name;               /* malloc'd, unescaped; the caller frees
				     it; NULL unless FM_SUM_LINE */
};

/* Parses one line of a checksum file.
 *
 * line/len: the line without its '\n' (a trailing '\r' is dropped); it
 *   may hold NUL bytes, which make it malformed.
 * out: receives the digest and the name (zeroed first, whatever the
 *   result).
 * why/whylen: receives the reason on FM_SUM_BAD.
 *
 * The algorithm comes from the tag (MD5, SHA1, SHA256, SHA512, any case)
 * and the digest must have its length; without a tag, from the length
 * alone (32 md5, 40 sha1, 64 sha256, 128 sha512). A coreutils line is
 * HEX, one space, an optional ' ' or '*' (text or binary mode), NAME; a
 * '\' before the line means that NAME is escaped (\\, \n, \r). Leading
 * blanks are skipped. */
enum fm_sum_kind fm_sums_parse_line(const char *line, size_t len,
				    struct fm_sum_line *out, char *why,
				    size_t whylen);

/* One NAME of the checksum files with its digests. */
struct fm_sum {
	char *name;             /* as written, less a leading "./" */
	const char *base;       /* its last component (within name) */
	char *hex[FM_ALGOS];    /* lowercase; NULL where none was given */
};

/* A line as it was read, until fm_sums_index() merges them. */
struct fm_sum_raw;

struct fm_sums {
	struct fm_sum *sums;    /* sorted by name */
	size_t n;
	struct fm_sum **by_base; /* the same, sorted by base */
	struct fm_sum_raw *raw; /* lines added, not yet indexed */
	size_t nraw, capraw;
};

/* Adds a parsed line of file number file (an index into the names given
 * to fm_sums_index()), line number line; takes l->name over (l->name is
 * NULL after). Returns 0 or -ENOMEM. */
int fm_sums_add(struct fm_sums *s, struct fm_sum_line *l, unsigned file,
		unsigned long line);

/* Merges the lines added into one record per NAME and indexes them.
 * files: the files' names, for the reason. Returns 0, or -1 with the
 * reason in why when two lines give one NAME different digests of one
 * algorithm ("B:7: another sha256 for 'x' than A:3"), or when out of
 * memory. */
int fm_sums_index(struct fm_sums *s, const char *const files[], char *why,
		  size_t whylen);

/* The record for an entry whose output path relative to -o is relpath:
 * the one whose NAME is relpath, else the one whose last component is
 * relpath's when no other NAME has that last component. Returns it, or
 * NULL when none. */
const struct fm_sum *fm_sums_find(const struct fm_sums *s,
				  const char *relpath);

/* Gives an entry with no digest of its own (want all NULL) the digests
 * of its record (fm_sums_find()), as malloc'd copies; an entry that has
 * one keeps its own and takes none. s may be NULL. Returns 0 or
 * -ENOMEM. */
int fm_sums_apply(const struct fm_sums *s, const char *relpath,
		  char *want[FM_ALGOS]);

/* Reads and indexes the n checksum files named in files. Returns 0, or
 * -1 having printed why on err: "fetchmany: FILE:LINE: REASON" for a
 * malformed line, "fetchmany: --checksums: cannot read 'FILE': ..." for
 * a file that cannot be read. */
int fm_sums_load(struct fm_sums *s, const char *const files[], int n,
		 FILE *err);

/* Frees everything; s is zeroed. */
void fm_sums_free(struct fm_sums *s);

#endif
