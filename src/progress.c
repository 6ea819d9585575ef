/* progress.c: one status line that fits the terminal (fm_progress.h). */
#include <stdio.h>
#include <string.h>

#include "fm_progress.h"
#include "fm_result.h"

char *fm_duration(double s, char *buf, size_t cap)
{
	unsigned long t = s > 0 ? (unsigned long)(s + 0.5) : 0;

	if (t < 60)
		snprintf(buf, cap, "%lus", t);
	else if (t < 3600)
		snprintf(buf, cap, "%lum%02lus", t / 60, t % 60);
	else
		snprintf(buf, cap, "%luh%02lum", t / 3600, t / 60 % 60);
	return buf;
}

/* Appends field to buf when it still fits in width columns. */
static void add(char *buf, size_t cap, unsigned width, const char *field)
{
	size_t len = strlen(buf), flen = strlen(field);
	size_t sep = len ? 2 : 0;

	if (len + sep + flen > width || len + sep + flen + 1 > cap)
		return;
	if (sep)
		strcat(buf, "  ");
	strcat(buf, field);
}

char *fm_progress_format(const struct fm_progress *p, unsigned width,
			 char *buf, size_t cap)
{
	char f[64], n[32];

	buf[0] = '\0';
	if (cap == 0)
		return buf;
	snprintf(f, sizeof(f), "%lu/%lu%s", p->done, p->known,
		 p->list_complete ? "" : "+");
	add(buf, cap, width, f);
	add(buf, cap, width, fm_human_bytes(p->bytes, f, sizeof(f)));
	fm_human_bytes((uint64_t)(p->rate > 0 ? p->rate : 0), n, sizeof(n));
	snprintf(f, sizeof(f), "%s/s", n);
	add(buf, cap, width, f);
	if (p->failed) {
		snprintf(f, sizeof(f), "%lu failed", p->failed);
		add(buf, cap, width, f);
	}
	snprintf(f, sizeof(f), "%u running", p->running);
	add(buf, cap, width, f);
	if (p->paused) {
		snprintf(f, sizeof(f), "%u host%s paused %s", p->paused,
			 p->paused == 1 ? "" : "s",
			 fm_duration(p->paused_for, n, sizeof(n)));
		add(buf, cap, width, f);
	}
	if (p->list_complete && p->done > 0 && p->done < p->known &&
	    p->elapsed > 0) {
		double per = p->elapsed / (double)p->done;

		snprintf(f, sizeof(f), "ETA %s",
			 fm_duration(per * (double)(p->known - p->done), n,
				     sizeof(n)));
		add(buf, cap, width, f);
	}
	return buf;
}
