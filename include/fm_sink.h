/* fm_sink.h: writing one body safely under the output directory.
 *
 * A body goes to an unnamed file (O_TMPFILE) linked as NAME, or to
 * NAME.part renamed over NAME (under -c, or where O_TMPFILE is missing),
 * only when complete.
 * Every directory is walked from the output directory's descriptor with
 * O_NOFOLLOW, so a symbolic link planted under the output directory cannot
 * lead a write outside it. */
#ifndef FM_SINK_H
#define FM_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/* libcurl hands a body over in pieces of at most FM_SINK_PIECE bytes
 * (CURL_MAX_WRITE_SIZE), however much one read brought in: 32 pieces for
 * one 512 KiB read. A pool gathers a sink's full-size pieces and writes
 * them with what follows in one call: when a shorter piece ends the read,
 * the pool is full, or the body ends (commit, or abort keeping a .part).
 * One pool serves the sinks of a thread, one sink at a time: a sink that
 * wants it first writes out the bytes of the last. */
#define FM_SINK_PIECE 16384

/* The extended attribute of a NAME.part of a body cut in segments
 * (fm_split.h): which of its bytes are on disk. A .part opened afresh
 * loses it. */
#define FM_RANGES_ATTR "user.fetchmany.ranges"

struct fm_sink_pool {
	char *buf;
	size_t cap, len;
	struct fm_sink *owner; /* whose bytes buf holds, or NULL */
};

struct fm_sink {
	struct fm_sink_pool *pool; /* NULL: every piece is written at once */
	int err;        /* -errno of a write made for us while pooled */
	int dirfd;      /* directory holding the file; owned when != rootfd */
	int rootfd;     /* the output directory (not owned) */
	int fd;         /* the body being written, or -1 */
	bool named;     /* the body must be NAME.part (to resume it later) */
	bool anon;      /* fd is an unnamed O_TMPFILE, not NAME.part */
	bool durable;   /* --fsync: fm_sink_commit() flushes the body before
			   naming it, and its directory after */
	char *leaf;     /* NAME's last component */
	char *part;     /* leaf + ".part" */
	uint64_t bytes; /* taken by this sink so far (written, or pooled) */
	uint64_t base;  /* bytes the .part already held when opened to append */
};

#define FM_SINK_INIT {.dirfd = -1, .rootfd = -1, .fd = -1}

/* --xattr: the extended attribute that says where a file came from, as
 * curl and wget2 write it. */
#define FM_ORIGIN_ATTR "user.xdg.origin.url"

/* Records url in FM_ORIGIN_ATTR without its user name and password; best
 * effort (a file system without extended attributes keeps none). */
void fm_sink_set_origin(struct fm_sink *s, const char *url);

/* Prepares s for relpath (as from fm_name_resolve()) under rootfd; creates
 * missing directories. Opens nothing yet. named: write the body to
 * NAME.part, never to an unnamed file (it must survive us to be resumed).
 * Returns 0 or -errno. */
int fm_sink_prepare(struct fm_sink *s, int rootfd, const char *relpath,
		    bool named);

/* Opens the file the body goes to: a fresh unnamed file or NAME.part
 * created or truncated, or, with append, NAME.part kept and written after
 * its current end (base then holds its size). Returns 0 or -errno. */
int fm_sink_open(struct fm_sink *s, bool append);

/* Opens NAME.part as it is, to write into it in place (a cut body
 * resumed: fm_split.h); base stays 0. Returns 0 or -errno (-ENOENT when
 * it is gone). */
int fm_sink_open_in_place(struct fm_sink *s);

/* Stats NAME (part false) or NAME.part (part true) without following a
 * symbolic link. Returns 0 or -errno. */
int fm_sink_stat(const struct fm_sink *s, bool part, struct stat *st);

/* Reads extended attribute name of NAME or NAME.part into buf as a string.
 * Returns its length, or -errno (-ENODATA when absent, -ENOTSUP where the
 * file system has none). */
int fm_sink_get_attr(const struct fm_sink *s, bool part, const char *name,
		     char *buf, size_t cap);

/* Sets extended attribute name on the open NAME.part; failures (file
 * systems without user attributes) are ignored. */
void fm_sink_set_attr(struct fm_sink *s, const char *name, const char *value);

/* Reads back what NAME.part held before this sink appended to it, in
 * chunks handed to fn (to hash a resumed file). Returns 0 or -errno. */
int fm_sink_read_base(struct fm_sink *s,
		      void (*fn)(void *arg, const void *buf, size_t n),
		      void *arg);

/* Renames the file this sink will write: leaf becomes name (a sanitised
 * component); only before fm_sink_open(). Returns 0 or -ENOMEM. */
int fm_sink_set_leaf(struct fm_sink *s, const char *name);

/* Appends n bytes, or keeps them in s->pool to write with the next ones.
 * Returns 0 or -errno, also that of an earlier pooled write (short
 * writes are retried). */
int fm_sink_write(struct fm_sink *s, const void *buf, size_t n);

/* Makes a pool of cap bytes (a multiple of FM_SINK_PIECE; smaller means
 * no pooling). Returns 0 or -ENOMEM. */
int fm_sink_pool_init(struct fm_sink_pool *p, size_t cap);

void fm_sink_pool_free(struct fm_sink_pool *p);

/* Closes the body and gives it NAME, replacing an existing NAME
 * atomically (opening an empty one first when nothing was written), after
 * setting its modification time to mtime when mtime >= 0. Returns 0 or
 * -errno; on error nothing of the body is left. */
int fm_sink_commit(struct fm_sink *s, int64_t mtime);

/* Closes the body, if open, and removes it unless keep is true (a
 * NAME.part kept to resume later); NAME is left as it was. */
void fm_sink_abort(struct fm_sink *s, bool keep);

/* Removes NAME.part whether or not this sink opened it. */
void fm_sink_remove_part(struct fm_sink *s);

/* Releases what prepare took. Safe on FM_SINK_INIT and on a released sink.
 * Neither this nor prepare forgets the pool. */
void fm_sink_release(struct fm_sink *s);

/* How a body without -c becomes NAME. fetchmany starts with the first
 * and moves on to the next when the kernel or the file system refuses;
 * tests set each in turn to cover every way. */
enum fm_sink_naming {
	FM_SINK_LINK_EMPTY_PATH, /* O_TMPFILE, linkat(AT_EMPTY_PATH) */
	FM_SINK_LINK_PROC,       /* O_TMPFILE, linkat("/proc/self/fd/N") */
	FM_SINK_PART_RENAME,     /* NAME.part, then rename (no O_TMPFILE) */
};

void fm_sink_set_naming(enum fm_sink_naming how);

/* Whether bodies written without -c go to NAME.part too: the file
 * system of rootfd (the output directory) has no O_TMPFILE (vfat, NFS,
 * CIFS), tried once here with the test fm_sink_open() makes; a no also
 * makes every sink skip the try. Then a path's NAME.part is as much in
 * use as under -c (see fm_claims_take_path()). */
bool fm_sink_writes_parts(int rootfd);

/* Opens (creating it and its parents when missing) the output directory.
 * Returns a descriptor or -errno. */
int fm_sink_open_root(const char *dir);

#endif
