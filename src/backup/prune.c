/* `rollcall backup prune`: keeps the newest archive of each of the last N
 * days and of each of the last M months that have one, and deletes the
 * other rollcall-YYYYMMDDTHHMMSSZ.tar files of the folder. The time comes
 * from the name (UTC), not the mtime, which a copy or restore changes.
 * Files named otherwise are never touched. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rollcall/util.h"
#include "backup-int.h"


#define STAMP_LEN	16	/* YYYYMMDDTHHMMSSZ */

struct archive_file {
	char	name[sizeof("rollcall-YYYYMMDDTHHMMSSZ.tar")];
	int	keep;
};

/* rollcall-YYYYMMDDTHHMMSSZ.tar exactly. */
static int
is_archive_name(const char *n)
{
	static const char shape[] = "rollcall-ddddddddTddddddZ.tar";
	size_t i;

	if (strlen(n) != strlen(shape))
		return 0;
	for (i = 0; shape[i] != '\0'; i++)
		if (shape[i] == 'd' ? (n[i] < '0' || n[i] > '9') : n[i] != shape[i])
			return 0;
	return 1;
}

/* Newest first: the stamp sorts as text. */
static int
newest_first(const void *a, const void *b)
{
	return -strcmp(((const struct archive_file *)a)->name,
	    ((const struct archive_file *)b)->name);
}

/* Marks the newest file of each of the first `keep` distinct periods; a
 * period is the first plen digits of the stamp (8: day, 6: month). */
static void
mark_periods(struct archive_file *f, size_t n, size_t plen, int keep)
{
	const char *prev = NULL, *stamp;
	int periods = 0;
	size_t i;

	for (i = 0; i < n && periods < keep; i++) {
		stamp = f[i].name + strlen("rollcall-");
		if (prev != NULL && strncmp(prev, stamp, plen) == 0)
			continue;	/* an older one of the same period */
		f[i].keep = 1;
		periods++;
		prev = stamp;
	}
}

static struct archive_file *
list_archives(const char *dir, size_t *n)
{
	struct archive_file *f = NULL;
	struct dirent *d;
	size_t cap = 0;
	DIR *dp;

	*n = 0;
	if ((dp = opendir(dir)) == NULL) {
		fprintf(stderr, "rollcall: backup prune: %s: %s\n", dir,
		    strerror(errno));
		return NULL;
	}
	while ((d = readdir(dp)) != NULL) {
		if (!is_archive_name(d->d_name))
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 64;
			f = rc_realloc(f, cap * sizeof(*f));
		}
		snprintf(f[*n].name, sizeof(f[*n].name), "%s", d->d_name);
		f[(*n)++].keep = 0;
	}
	closedir(dp);
	if (f == NULL)
		f = rc_calloc(1, sizeof(*f));
	qsort(f, *n, sizeof(*f), newest_first);
	return f;
}

int
backup_prune(const char *dir, int keep_daily, int keep_monthly, int dry_run)
{
	struct archive_file *f;
	size_t i, n, deleted = 0, kept = 0;
	char *path;
	int rv = 0;

	if ((f = list_archives(dir, &n)) == NULL)
		return 1;
	mark_periods(f, n, 8, keep_daily);
	mark_periods(f, n, 6, keep_monthly);
	for (i = 0; i < n; i++) {
		if (f[i].keep) {
			kept++;
			printf("keep %s\n", f[i].name);
			continue;
		}
		path = rc_asprintf("%s/%s", dir, f[i].name);
		if (dry_run) {
			printf("would delete %s\n", f[i].name);
			deleted++;
		} else if (unlink(path) != 0) {
			fprintf(stderr, "rollcall: backup prune: %s: %s\n", path,
			    strerror(errno));
			rv = 1;
		} else {
			printf("delete %s\n", f[i].name);
			deleted++;
		}
		free(path);
	}
	printf("backup prune%s: %zu kept, %zu %s\n", dry_run ? " (dry run)" : "",
	    kept, deleted, dry_run ? "to delete" : "deleted");
	free(f);
	return rv;
}
