/* Backups: one archive (a POSIX ustar file) that holds a consistent
 * pg_dump of the database, every blob its rows name, the signing keys and
 * a manifest of checksums; its verification, restore and pruning. CLI
 * only: everything here blocks (files, child processes, libpq). */
#ifndef ROLLCALL_BACKUP_H
#define ROLLCALL_BACKUP_H

struct rc_config;

#ifndef RC_VERSION
#define RC_VERSION		"0.1.0"
#endif
/* manifest.json's "format"; a reader refuses any other. */
#define RC_BACKUP_FORMAT	"rollcall-backup/1"

/* `rollcall backup [--out FILE] [--no-keys]`,
 * `rollcall backup verify FILE`,
 * `rollcall backup prune --dir D [--keep-daily N] [--keep-monthly N]
 *  [--dry-run]`. Exit 0 done, 1 failed, 2 bad usage. */
int	rc_cli_backup(const struct rc_config *cfg, int argc, char **argv);
/* `rollcall restore --in FILE [--force]`: verifies the whole archive, then
 * restores into an empty database, store and keys dir (--force: into
 * non-empty ones). Exit 0 done, 1 failed, 2 bad usage. */
int	rc_cli_restore(const struct rc_config *cfg, int argc, char **argv);

#endif
