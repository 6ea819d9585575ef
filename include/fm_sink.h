/* fm_sink.h: writing one body safely under the output directory.
 *
 * A body goes to NAME.part and is renamed over NAME only when complete.
 * Every directory is walked from the output directory's descriptor with
 * O_NOFOLLOW, so a symbolic link planted under the output directory cannot
 * lead a write outside it. */
#ifndef FM_SINK_H
#define FM_SINK_H

#include <stddef.h>
#include <stdint.h>

struct fm_sink {
	int dirfd;      /* directory holding the file; owned when != rootfd */
	int rootfd;     /* the output directory (not owned) */
	int fd;         /* NAME.part, or -1 */
	char *leaf;     /* NAME's last component */
	char *part;     /* leaf + ".part" */
	uint64_t bytes; /* written so far */
};

#define FM_SINK_INIT {.dirfd = -1, .rootfd = -1, .fd = -1}

/* Prepares s for relpath (as from fm_name_resolve()) under rootfd; creates
 * missing directories. Opens nothing yet. Returns 0 or -errno. */
int fm_sink_prepare(struct fm_sink *s, int rootfd, const char *relpath);

/* Creates (truncates) NAME.part. Returns 0 or -errno. */
int fm_sink_open(struct fm_sink *s);

/* Appends n bytes. Returns 0 or -errno (short writes are retried). */
int fm_sink_write(struct fm_sink *s, const void *buf, size_t n);

/* Closes NAME.part and renames it over NAME (opening an empty one first
 * when nothing was written). Returns 0 or -errno; on error the .part is
 * removed. */
int fm_sink_commit(struct fm_sink *s);

/* Closes and removes NAME.part, if any; NAME is left as it was. */
void fm_sink_abort(struct fm_sink *s);

/* Releases what prepare took. Safe on FM_SINK_INIT and on a released sink. */
void fm_sink_release(struct fm_sink *s);

/* Opens (creating it and its parents when missing) the output directory.
 * Returns a descriptor or -errno. */
int fm_sink_open_root(const char *dir);

#endif
