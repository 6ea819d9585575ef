/* input.c: lists and URL arguments, read line by line without blocking.
 *
 * One source is read at a time, in command-line order, through a buffer
 * of FM_LINE_MAX plus one chunk. A line longer than FM_LINE_MAX is
 * discarded as it streams by and handed out flagged overlong, so the
 * caller can report it without ever holding it. Pipes and terminals are
 * asked with poll(2) and a zero timeout before each read, so a slow
 * producer never stalls the loop; regular files are simply read. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fm_input.h"
#include "fm_list.h"

#define CHUNK (64 * 1024)
#define BUF_CAP (FM_LINE_MAX + 1 + CHUNK)

static bool is_url_arg(const char *arg)
{
	return strstr(arg, "://") != NULL;
}

static int open_list(struct fm_source *s, const char *name)
{
	struct stat st;

	s->name = name;
	if (strcmp(name, "-") == 0) {
		s->fd = STDIN_FILENO;
	} else {
		s->fd = open(name, O_RDONLY | O_CLOEXEC);
		if (s->fd < 0)
			return -errno;
	}
	if (fstat(s->fd, &st))
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	s->pollable = S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) ||
		      S_ISCHR(st.st_mode);
	return 0;
}

int fm_input_open(struct fm_input *in, char **args, int nargs)
{
	static char *dash[] = {"-"};

	if (nargs == 0) {
		args = dash;
		nargs = 1;
	}
	*in = (struct fm_input){0};
	in->src = calloc((size_t)nargs, sizeof(*in->src));
	if (!in->src)
		return -ENOMEM;
	in->nsrc = nargs;
	for (int i = 0; i < nargs; i++) {
		struct fm_source *s = &in->src[i];
		int err;

		s->fd = -1;
		if (is_url_arg(args[i])) {
			s->url = args[i];
			continue;
		}
		err = open_list(s, args[i]);
		if (err) {
			fprintf(stderr, "fetchmany: cannot read list '%s': %s\n",
				args[i], strerror(-err));
			fm_input_close(in);
			return err;
		}
	}
	return 0;
}

static void close_source(struct fm_source *s)
{
	if (s->fd > STDIN_FILENO)
		close(s->fd);
	s->fd = -1;
	s->done = true;
	free(s->buf);
	s->buf = NULL;
	s->start = s->len = 0;
}

/* Reads one chunk into s->buf. Returns 0 when bytes arrived or EOF was
 * seen, -EAGAIN when a pollable source has nothing ready, or -errno. */
static int fill(struct fm_source *s)
{
	ssize_t n;

	if (!s->buf) {
		s->buf = malloc(BUF_CAP);
		if (!s->buf)
			return -ENOMEM;
	}
	if (s->start > 0) {
		memmove(s->buf, s->buf + s->start, s->len);
		s->start = 0;
	}
	if (s->pollable) {
		struct pollfd p = {.fd = s->fd, .events = POLLIN};

		if (poll(&p, 1, 0) == 0)
			return -EAGAIN;
	}
	do
		n = read(s->fd, s->buf + s->len, BUF_CAP - s->len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		s->done = true;
	s->len += (size_t)n;
	return 0;
}

static void hand_out(struct fm_source *s, struct fm_line *out, size_t len,
		     size_t consumed, bool overlong)
{
	*out = (struct fm_line){
		.text = s->buf + s->start,
		.len = overlong ? 0 : len,
		.line = ++s->line,
		.source = s->name,
		.overlong = overlong,
	};
	s->start += consumed;
	s->len -= consumed;
}

/* Looks for a complete line in what s has buffered. */
static bool take_line(struct fm_source *s, struct fm_line *out)
{
	char *nl = s->len ? memchr(s->buf + s->start, '\n', s->len) : NULL;
	size_t n;

	if (nl) {
		n = (size_t)(nl - (s->buf + s->start));
		bool overlong = s->overlong || n > FM_LINE_MAX;

		s->overlong = false;
		hand_out(s, out, n, n + 1, overlong);
		return true;
	}
	if (s->len > FM_LINE_MAX || (s->overlong && s->len)) {
		/* Too long already: drop what we have, remember why. */
		s->overlong = true;
		s->start = s->len = 0;
	}
	if (!s->done)
		return false;
	if (s->len || s->overlong) {
		/* The last line had no newline. */
		bool overlong = s->overlong;

		s->overlong = false;
		hand_out(s, out, s->len, s->len, overlong);
		return true;
	}
	return false;
}

enum fm_input_status fm_input_next(struct fm_input *in, struct fm_line *out,
				   int *fd, int *err)
{
	while (in->cur < in->nsrc) {
		struct fm_source *s = &in->src[in->cur];
		int r;

		if (s->url) {
			*out = (struct fm_line){.text = s->url,
						.len = strlen(s->url),
						.index = in->cur,
						.is_url = true};
			in->cur++;
			return FM_INPUT_LINE;
		}
		if (s->buf && take_line(s, out)) {
			out->index = in->cur;
			return FM_INPUT_LINE;
		}
		if (s->done || s->fd < 0) {
			close_source(s);
			in->cur++;
			continue;
		}
		r = fill(s);
		if (r == -EAGAIN) {
			*fd = s->fd;
			return FM_INPUT_AGAIN;
		}
		if (r < 0) {
			*err = r;
			close_source(s);
			in->cur++;
			return FM_INPUT_ERROR;
		}
	}
	return FM_INPUT_END;
}

const char *fm_input_current_name(const struct fm_input *in)
{
	if (in->cur < in->nsrc)
		return in->src[in->cur].name;
	return NULL;
}

void fm_input_close(struct fm_input *in)
{
	for (int i = 0; i < in->nsrc; i++)
		close_source(&in->src[i]);
	free(in->src);
	*in = (struct fm_input){0};
}
