/* meter.c: the progress line's timer, terminal width and erasing.
 *
 * Escape sequences are the two every terminal knows: carriage return and
 * "erase to end of line". The width comes from TIOCGWINSZ and is read
 * again on SIGWINCH; the line is kept one column short of it, so that a
 * terminal never wraps it. */
#define _DEFAULT_SOURCE /* TIOCGWINSZ */
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "fm_error.h"
#include "fm_meter.h"

#define ERASE "\r\033[K"

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w <= 0)
			return; /* a progress line is not worth a retry */
		p += w;
		n -= (size_t)w;
	}
}

static void read_width(struct fm_meter *s)
{
	struct winsize ws;

	s->width = 80;
	if (ioctl(s->fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		s->width = ws.ws_col;
}

static void on_uv_winch(uv_signal_t *h, int signum)
{
	read_width(h->data);
}

static void on_meter_timer(uv_timer_t *t)
{
	struct fm_meter *s = t->data;
	struct fm_progress p = {0};
	char line[512], out[600];
	uint64_t now = uv_hrtime();
	double dt;
	int n;

	if (!s->sample(s->arg, &p))
		return;
	dt = (double)(now - s->last_ns) / 1e9;
	if (dt > 0 && p.bytes >= s->last_bytes) {
		double inst = (double)(p.bytes - s->last_bytes) / dt;

		/* Smoothed over about a second, so the figure is readable. */
		s->rate = s->rate * 0.7 + inst * 0.3;
	}
	s->last_bytes = p.bytes;
	s->last_ns = now;
	p.rate = s->rate;
	fm_progress_format(&p, s->width > 1 ? s->width - 1 : 1, line,
			   sizeof(line));
	n = snprintf(out, sizeof(out), ERASE "%s", line);
	if (n > 0)
		write_all(s->fd, out, (size_t)n < sizeof(out) ? (size_t)n
							 : sizeof(out) - 1);
	s->drawn = true;
}

int fm_meter_start(struct fm_meter *s, uv_loop_t *loop, int fd,
		    fm_meter_sample_cb sample, void *arg)
{
	int err;

	*s = (struct fm_meter){.fd = fd, .sample = sample, .arg = arg};
	read_width(s);
	s->last_ns = uv_hrtime();
	uv_timer_init(loop, &s->timer);
	s->timer.data = s;
	uv_signal_init(loop, &s->winch);
	s->winch.data = s;
	s->on = true;
	err = fm_uv_err(uv_timer_start(&s->timer, on_meter_timer, 100, 100));
	if (!err)
		err = fm_uv_err(uv_signal_start(&s->winch, on_uv_winch,
						SIGWINCH));
	uv_unref((uv_handle_t *)&s->timer);
	uv_unref((uv_handle_t *)&s->winch);
	return err;
}

void fm_meter_erase(struct fm_meter *s)
{
	if (!s->drawn)
		return;
	write_all(s->fd, ERASE, strlen(ERASE));
	s->drawn = false;
}

void fm_meter_stop(struct fm_meter *s)
{
	if (!s->on)
		return;
	fm_meter_erase(s);
	uv_close((uv_handle_t *)&s->timer, NULL);
	uv_close((uv_handle_t *)&s->winch, NULL);
	s->on = false;
}
