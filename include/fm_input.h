/* fm_input.h: the command line's LISTs and URLs as one stream of lines.
 *
 * Lists are read in chunks as entries are wanted, never all at once, so
 * memory follows the read-ahead window and not the length of a list. No
 * call ever blocks on a pipe or a terminal: when such a source has no
 * complete line ready, fm_input_next() says FM_INPUT_AGAIN and names the
 * descriptor to wait on. */
#ifndef FM_INPUT_H
#define FM_INPUT_H

#include <stdbool.h>
#include <stddef.h>

struct fm_source {
	const char *name; /* as given; "-" for standard input */
	const char *url;  /* set for a URL argument */
	int fd;           /* -1 for a URL argument or when closed */
	bool pollable;    /* a pipe, socket or terminal: may block */
	bool done;
	unsigned long line;
	char *buf;        /* bytes read, not yet returned */
	size_t start, len;
	bool overlong;    /* discarding the rest of a line over the limit */
};

struct fm_input {
	struct fm_source *src;
	int nsrc;
	int cur;
};

/* One line handed out: valid until the next call. */
struct fm_line {
	const char *text;   /* not NUL-terminated; may hold NUL bytes */
	size_t len;
	unsigned long line; /* 1-based; 0 for a URL argument */
	const char *source; /* list name; NULL for a URL argument */
	int index;          /* the source's place on the command line */
	bool is_url;        /* a URL argument: text is the URL */
	bool overlong;      /* the line exceeded FM_LINE_MAX: text is empty */
};

enum fm_input_status {
	FM_INPUT_LINE,  /* *out is filled */
	FM_INPUT_AGAIN, /* wait until *fd is readable, then call again */
	FM_INPUT_END,   /* every source is exhausted */
	FM_INPUT_ERROR, /* a read failed: *err holds -errno; the source is
			   closed and reading goes on with the next */
};

/* Opens every LIST of args (arguments with "://" are URLs). "-" and an
 * empty args mean standard input. Prints a message naming the list to
 * stderr and returns -errno when one cannot be opened or is a directory. */
int fm_input_open(struct fm_input *in, char **args, int nargs);

/* Hands out the next line. On FM_INPUT_AGAIN, *fd is the descriptor to
 * poll; on FM_INPUT_ERROR, *err the error. */
enum fm_input_status fm_input_next(struct fm_input *in, struct fm_line *out,
				   int *fd, int *err);

/* Name of the source being read (for error messages). */
const char *fm_input_current_name(const struct fm_input *in);

/* Closes every source and frees the buffers. */
void fm_input_close(struct fm_input *in);

#endif
