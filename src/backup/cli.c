/* The backup and restore subcommands' argument parsing. */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollcall/backup.h"
#include "rollcall/cli.h"
#include "rollcall/config.h"
#include "backup-int.h"


#define KEEP_MAX	100000

static int
usage(void)
{
	fprintf(stderr, "usage: rollcall backup [--out FILE|DIR/] [--no-keys]\n"
	    "       rollcall backup verify FILE\n"
	    "       rollcall backup prune [--dir DIR] [--keep-daily N] "
	    "[--keep-monthly N] [--dry-run]\n"
	    "       rollcall restore --in FILE [--force]\n");
	return 2;
}

static int
parse_count(const char *s, int *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || n < 0 || n > KEEP_MAX) {
		fprintf(stderr, "rollcall: backup prune: %s is not a count of "
		    "0 to %d\n", s, KEEP_MAX);
		return -1;
	}
	*out = (int)n;
	return 0;
}

static int
cli_prune(const struct rc_config *cfg, int argc, char **argv)
{
	const char *dir = cfg->backup_dir;
	int i, daily = 7, monthly = 12, dry_run = 0;

	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir = argv[++i];
		else if (strcmp(argv[i], "--keep-daily") == 0 && i + 1 < argc) {
			if (parse_count(argv[++i], &daily) != 0)
				return 2;
		} else if (strcmp(argv[i], "--keep-monthly") == 0 && i + 1 < argc) {
			if (parse_count(argv[++i], &monthly) != 0)
				return 2;
		} else if (strcmp(argv[i], "--dry-run") == 0)
			dry_run = 1;
		else
			return usage();
	}
	if (daily + monthly == 0) {
		fprintf(stderr, "rollcall: backup prune: --keep-daily 0 "
		    "--keep-monthly 0 would delete every backup\n");
		return 2;
	}
	return backup_prune(dir, daily, monthly, dry_run);
}

static int
cli_verify(int argc, char **argv)
{
	struct archive_check chk;

	if (argc != 3)
		return usage();
	if (archive_verify(argv[2], &chk) != RC_OK)
		return 1;
	printf("backup verify: %s is intact: %zu members (%zu blobs, %zu "
	    "keys), schema %s, made %s\n", argv[2], chk.members, chk.blobs,
	    chk.keys, json_string_value(json_object_get(json_object_get(
	    chk.manifest, "schema"), "migration")), json_string_value(
	    json_object_get(chk.manifest, "created_at")));
	archive_check_cleanup(&chk);
	return 0;
}

int
rc_cli_backup(const struct rc_config *cfg, int argc, char **argv)
{
	const char *out = NULL;
	int i, no_keys = 0;

	/* The archive and the dump in the making hold every password hash
	 * and, unless --no-keys, the signing keys: nothing here is for
	 * group or others. */
	umask(077);
	if (argc >= 2 && strcmp(argv[1], "verify") == 0)
		return cli_verify(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "prune") == 0)
		return cli_prune(cfg, argc, argv);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--out") == 0 && i + 1 < argc && *argv[i + 1])
			out = argv[++i];
		else if (strcmp(argv[i], "--no-keys") == 0)
			no_keys = 1;
		else
			return usage();
	}
	if (rc_cli_require_db_url(cfg))
		return 1;
	return backup_create(cfg, out, no_keys);
}

int
rc_cli_restore(const struct rc_config *cfg, int argc, char **argv)
{
	const char *in = NULL;
	int i, force = 0;

	umask(077);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--in") == 0 && i + 1 < argc)
			in = argv[++i];
		else if (strcmp(argv[i], "--force") == 0)
			force = 1;
		else
			return usage();
	}
	if (in == NULL)
		return usage();
	if (rc_cli_require_db_url(cfg))
		return 1;
	return backup_restore(cfg, in, force);
}
