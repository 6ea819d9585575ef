/* sink.c: NAME.part, then rename, under the output directory only.
 *
 * Paths come from fm_name_resolve() and are already confined; this file
 * adds the file-system half of confinement: every component is opened
 * relative to its parent with O_NOFOLLOW, so an existing symlink inside
 * the output directory is refused (ELOOP/ENOTDIR) rather than followed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fm_name.h"
#include "fm_sink.h"

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

/* Opens directory name under parent, creating it when missing. */
static int open_subdir(int parent, const char *name)
{
	int fd = openat(parent, name, DIR_FLAGS);

	if (fd >= 0 || errno != ENOENT)
		return fd >= 0 ? fd : -errno;
	if (mkdirat(parent, name, 0777) && errno != EEXIST)
		return -errno;
	fd = openat(parent, name, DIR_FLAGS);
	return fd >= 0 ? fd : -errno;
}

int fm_sink_prepare(struct fm_sink *s, int rootfd, const char *relpath)
{
	const char *p = relpath, *slash;
	int dirfd = rootfd;

	*s = (struct fm_sink){.dirfd = rootfd, .rootfd = rootfd, .fd = -1};
	while ((slash = strchr(p, '/'))) {
		char *comp = strndup(p, (size_t)(slash - p));
		int fd;

		if (!comp)
			goto nomem;
		fd = open_subdir(dirfd, comp);
		free(comp);
		if (dirfd != rootfd)
			close(dirfd);
		if (fd < 0)
			return fd;
		dirfd = fd;
		p = slash + 1;
	}
	s->dirfd = dirfd;
	s->leaf = strdup(p);
	s->part = malloc(strlen(p) + sizeof(FM_PART_SUFFIX));
	if (!s->leaf || !s->part) {
		fm_sink_release(s);
		return -ENOMEM;
	}
	strcpy(s->part, p);
	strcat(s->part, FM_PART_SUFFIX);
	return 0;
nomem:
	if (dirfd != rootfd)
		close(dirfd);
	return -ENOMEM;
}

int fm_sink_open(struct fm_sink *s)
{
	s->fd = openat(s->dirfd, s->part,
		       O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		       0666);
	s->bytes = 0;
	return s->fd >= 0 ? 0 : -errno;
}

int fm_sink_write(struct fm_sink *s, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = write(s->fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
		s->bytes += (uint64_t)w;
	}
	return 0;
}

int fm_sink_commit(struct fm_sink *s)
{
	int err = 0;

	if (s->fd < 0 && (err = fm_sink_open(s)))
		return err;
	if (close(s->fd))
		err = -errno;
	s->fd = -1;
	if (!err && renameat(s->dirfd, s->part, s->dirfd, s->leaf))
		err = -errno;
	if (err)
		unlinkat(s->dirfd, s->part, 0);
	return err;
}

void fm_sink_abort(struct fm_sink *s)
{
	if (s->fd < 0)
		return;
	close(s->fd);
	s->fd = -1;
	unlinkat(s->dirfd, s->part, 0);
}

void fm_sink_release(struct fm_sink *s)
{
	fm_sink_abort(s);
	if (s->dirfd >= 0 && s->dirfd != s->rootfd)
		close(s->dirfd);
	free(s->leaf);
	free(s->part);
	*s = (struct fm_sink){.dirfd = -1, .rootfd = -1, .fd = -1};
}

int fm_sink_open_root(const char *dir)
{
	char *copy = strdup(dir), *p;
	int fd;

	if (!copy)
		return -ENOMEM;
	/* mkdir -p: create each missing ancestor, then the directory. */
	for (p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0777) && errno != EEXIST) {
			int err = -errno;

			free(copy);
			return err;
		}
		*p = '/';
	}
	if (mkdir(copy, 0777) && errno != EEXIST) {
		int err = -errno;

		free(copy);
		return err;
	}
	free(copy);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd >= 0 ? fd : -errno;
}
