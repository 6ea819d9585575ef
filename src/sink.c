/* sink.c: a body written beside NAME, then given NAME, under the output
 * directory only.
 *
 * Paths come from fm_name_resolve() and are already confined; this file
 * adds the file-system half of confinement: every component is opened
 * relative to its parent with O_NOFOLLOW, so an existing symlink inside
 * the output directory is refused (ELOOP/ENOTDIR) rather than followed.
 *
 * Where nothing needs to outlive the process (no -c), the body goes to an
 * unnamed O_TMPFILE inode in NAME's directory, linked as NAME once
 * complete: no reader ever sees it before, a failure or a crash leaves
 * nothing to clean up, and creating the file costs one directory entry
 * instead of the .part's create, rename and delete. File systems without
 * O_TMPFILE get NAME.part and a rename, as under -c. */
#define _GNU_SOURCE /* O_TMPFILE, AT_EMPTY_PATH */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <curl/curl.h>

#include "fm_name.h"
#include "fm_sink.h"

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

/* How an unnamed file gets its name, learnt once for the process (each
 * failure moves on to the next way). */
#define ANON_EMPTY_PATH FM_SINK_LINK_EMPTY_PATH
#define ANON_PROC_FD FM_SINK_LINK_PROC
#define ANON_NONE FM_SINK_PART_RENAME

static _Atomic int anon_mode = ANON_EMPTY_PATH;

void fm_sink_set_naming(enum fm_sink_naming how)
{
	atomic_store(&anon_mode, (int)how);
}

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

int fm_sink_prepare(struct fm_sink *s, int rootfd, const char *relpath,
		    bool named)
{
	const char *p = relpath, *slash;
	int dirfd = rootfd;

	*s = (struct fm_sink){.pool = s->pool, .dirfd = rootfd,
			      .rootfd = rootfd, .fd = -1, .named = named};
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

/* An unnamed file in directory dirfd, or -errno (-EOPNOTSUPP where
 * O_TMPFILE is not supported: then never tried again). */
static int open_anon(int dirfd)
{
	int fd;

	if (atomic_load(&anon_mode) == ANON_NONE)
		return -EOPNOTSUPP;
	fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0666);
	if (fd >= 0)
		return fd;
	if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)
		atomic_store(&anon_mode, ANON_NONE);
	return -errno;
}

bool fm_sink_writes_parts(int rootfd)
{
	int fd = open_anon(rootfd);

	if (fd >= 0)
		close(fd);
	return atomic_load(&anon_mode) == ANON_NONE;
}

int fm_sink_open(struct fm_sink *s, bool append)
{
	int flags = O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC;
	struct stat st;

	s->bytes = 0;
	s->base = 0;
	s->err = 0;
	s->anon = false;
	if (!append && !s->named && (s->fd = open_anon(s->dirfd)) >= 0) {
		s->anon = true;
		return 0;
	}
	flags |= append ? O_APPEND : O_TRUNC;
	s->fd = openat(s->dirfd, s->part, flags, 0666);
	if (s->fd < 0)
		return -errno;
	/* Emptied: no record of a cut body's ranges may outlive its bytes
	 * (fm_split.h). Appended to: it had none. */
	if (!append)
		(void)fremovexattr(s->fd, FM_RANGES_ATTR);
	if (append) {
		if (fstat(s->fd, &st)) {
			int err = -errno;

			fm_sink_abort(s, true);
			return err;
		}
		s->base = (uint64_t)st.st_size;
	}
	return 0;
}

int fm_sink_open_in_place(struct fm_sink *s)
{
	s->bytes = 0;
	s->base = 0;
	s->err = 0;
	s->anon = false;
	s->fd = openat(s->dirfd, s->part, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	return s->fd < 0 ? -errno : 0;
}

int fm_sink_stat(const struct fm_sink *s, bool part, struct stat *st)
{
	if (fstatat(s->dirfd, part ? s->part : s->leaf, st,
		    AT_SYMLINK_NOFOLLOW))
		return -errno;
	return 0;
}

int fm_sink_get_attr(const struct fm_sink *s, bool part, const char *name,
		     char *buf, size_t cap)
{
	int fd = openat(s->dirfd, part ? s->part : s->leaf,
			O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = fgetxattr(fd, name, buf, cap - 1);
	if (n < 0)
		n = -errno;
	else
		buf[n] = '\0';
	close(fd);
	return (int)n;
}

void fm_sink_set_attr(struct fm_sink *s, const char *name, const char *value)
{
	if (s->fd >= 0)
		(void)fsetxattr(s->fd, name, value, strlen(value), 0);
}

void fm_sink_set_origin(struct fm_sink *s, const char *url)
{
	CURLU *h = curl_url();
	char *clean = NULL;

	/* what curl_url() cannot parse is not recorded: it may hold
	 * credentials that only a parse would find */
	if (h && !curl_url_set(h, CURLUPART_URL, url, 0) &&
	    !curl_url_set(h, CURLUPART_USER, NULL, 0) &&
	    !curl_url_set(h, CURLUPART_PASSWORD, NULL, 0) &&
	    !curl_url_get(h, CURLUPART_URL, &clean, 0))
		fm_sink_set_attr(s, FM_ORIGIN_ATTR, clean);
	curl_free(clean);
	curl_url_cleanup(h);
}

int fm_sink_read_base(struct fm_sink *s,
		      void (*fn)(void *arg, const void *buf, size_t n),
		      void *arg)
{
	char buf[64 * 1024];
	uint64_t done = 0;
	int fd = openat(s->dirfd, s->part, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (done < s->base) {
		size_t want = s->base - done < sizeof(buf)
				      ? (size_t)(s->base - done)
				      : sizeof(buf);
		ssize_t n = read(fd, buf, want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int err = n < 0 ? -errno : -EIO;

			close(fd);
			return err;
		}
		fn(arg, buf, (size_t)n);
		done += (uint64_t)n;
	}
	close(fd);
	return 0;
}

int fm_sink_set_leaf(struct fm_sink *s, const char *name)
{
	char *leaf = strdup(name);
	char *part = malloc(strlen(name) + sizeof(FM_PART_SUFFIX));

	if (!leaf || !part) {
		free(leaf);
		free(part);
		return -ENOMEM;
	}
	strcpy(part, name);
	strcat(part, FM_PART_SUFFIX);
	free(s->leaf);
	free(s->part);
	s->leaf = leaf;
	s->part = part;
	return 0;
}

/* Writes all of iov[0..n) to fd, retrying short writes. */
static int write_all(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t w = writev(fd, iov, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/* Writes what the pool holds for its owner, then more (n may be 0); the
 * pool is free again. A failure is the owner's. */
static int pool_out(struct fm_sink_pool *p, const void *more, size_t n)
{
	struct fm_sink *s = p->owner;
	struct iovec iov[2] = {{.iov_base = p->buf, .iov_len = p->len},
			       {.iov_base = (void *)more, .iov_len = n}};
	int err = write_all(s->fd, iov, n ? 2 : 1);

	p->owner = NULL;
	p->len = 0;
	if (err && !s->err)
		s->err = err;
	return err;
}

/* Forgets what the pool holds for s, if anything (s's body is dropped). */
static void pool_drop(struct fm_sink *s)
{
	if (s->pool && s->pool->owner == s) {
		s->pool->owner = NULL;
		s->pool->len = 0;
	}
}

int fm_sink_write(struct fm_sink *s, const void *buf, size_t n)
{
	struct fm_sink_pool *p = s->pool;
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = n};
	int err;

	if (s->err)
		return s->err;
	s->bytes += (uint64_t)n;
	if (p && p->cap && n == FM_SINK_PIECE) {
		/* Maybe not the end of this read: keep it. */
		if (p->owner && p->owner != s)
			(void)pool_out(p, NULL, 0);
		p->owner = s;
		memcpy(p->buf + p->len, buf, n);
		p->len += n;
		return p->len + FM_SINK_PIECE > p->cap ? pool_out(p, NULL, 0)
							: 0;
	}
	if (p && p->owner == s)
		return pool_out(p, buf, n);
	err = write_all(s->fd, &iov, 1);
	if (err)
		s->err = err;
	return err;
}

int fm_sink_pool_init(struct fm_sink_pool *p, size_t cap)
{
	*p = (struct fm_sink_pool){0};
	if (cap < 2 * FM_SINK_PIECE)
		return 0;
	p->buf = malloc(cap);
	if (!p->buf)
		return -ENOMEM;
	p->cap = cap;
	return 0;
}

void fm_sink_pool_free(struct fm_sink_pool *p)
{
	free(p->buf);
	*p = (struct fm_sink_pool){0};
}

/* Gives the unnamed file s->fd the name name in its directory. Returns 0
 * or -errno (-EEXIST when name is taken). */
static int link_anon(struct fm_sink *s, const char *name)
{
	char proc[32];
	int mode = atomic_load(&anon_mode);

	if (mode == ANON_EMPTY_PATH) {
		if (linkat(s->fd, "", s->dirfd, name, AT_EMPTY_PATH) == 0)
			return 0;
		/* Before Linux 6.10 only CAP_DAC_READ_SEARCH may do this. */
		if (errno != ENOENT && errno != EPERM)
			return -errno;
		atomic_store(&anon_mode, ANON_PROC_FD);
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", s->fd);
	if (linkat(AT_FDCWD, proc, s->dirfd, name, AT_SYMLINK_FOLLOW))
		return -errno;
	return 0;
}

/* Names the finished unnamed file NAME. linkat() never replaces: an
 * existing NAME is replaced by linking the body under a name of our own
 * first and renaming that over NAME, in one step. A NAME.part of an
 * earlier -c run is never touched: only -c reads or writes .part files
 * (and looking one up would cost a directory search per file). */
static int name_anon(struct fm_sink *s)
{
	static atomic_ulong seq;
	char tmp[64];
	int err = link_anon(s, s->leaf);

	if (err != -EEXIST)
		return err;
	snprintf(tmp, sizeof(tmp), ".fetchmany-%ld-%lu.tmp", (long)getpid(),
		 atomic_fetch_add(&seq, 1));
	err = link_anon(s, tmp);
	if (err)
		return err;
	if (renameat(s->dirfd, tmp, s->dirfd, s->leaf)) {
		err = -errno;
		unlinkat(s->dirfd, tmp, 0);
	}
	return err;
}

/* --fsync: the name just made is on disk too (its directory's entry). */
static int sync_dir(struct fm_sink *s)
{
	return s->durable && fsync(s->dirfd) ? -errno : 0;
}

int fm_sink_commit(struct fm_sink *s, int64_t mtime)
{
	int err = 0;

	if (s->fd < 0 && (err = fm_sink_open(s, false)))
		return err;
	if (s->pool && s->pool->owner == s)
		(void)pool_out(s->pool, NULL, 0);
	err = s->err;
	if (!err && mtime >= 0) {
		struct timespec t[2] = {{.tv_nsec = UTIME_OMIT},
					{.tv_sec = (time_t)mtime}};

		if (futimens(s->fd, t))
			err = -errno;
	}
	/* --fsync: the bytes are on disk before the name is, so that a
	 * power cut never leaves NAME empty or partial. */
	if (!err && s->durable && fdatasync(s->fd))
		err = -errno;
	if (s->anon) {
		if (!err)
			err = name_anon(s);
		if (close(s->fd) && !err)
			err = -errno;
		s->fd = -1;
		return err ? err : sync_dir(s);
	}
	if (close(s->fd) && !err)
		err = -errno;
	s->fd = -1;
	if (!err && renameat(s->dirfd, s->part, s->dirfd, s->leaf))
		err = -errno;
	if (err)
		unlinkat(s->dirfd, s->part, 0);
	return err ? err : sync_dir(s);
}

void fm_sink_abort(struct fm_sink *s, bool keep)
{
	if (s->fd < 0)
		return;
	/* A .part kept to be resumed gets every byte taken. */
	if (keep && s->pool && s->pool->owner == s)
		(void)pool_out(s->pool, NULL, 0);
	pool_drop(s);
	close(s->fd);
	s->fd = -1;
	/* An unnamed file vanishes with its last descriptor. */
	if (!keep && !s->anon)
		unlinkat(s->dirfd, s->part, 0);
}

void fm_sink_remove_part(struct fm_sink *s)
{
	pool_drop(s);
	if (s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
	}
	if (s->part && !s->anon)
		unlinkat(s->dirfd, s->part, 0);
}

void fm_sink_release(struct fm_sink *s)
{
	fm_sink_abort(s, false);
	if (s->dirfd >= 0 && s->dirfd != s->rootfd)
		close(s->dirfd);
	free(s->leaf);
	free(s->part);
	*s = (struct fm_sink){.pool = s->pool, .dirfd = -1, .rootfd = -1,
			      .fd = -1};
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
