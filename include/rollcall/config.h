/* Configuration: an INI file (read with libinih) whose every key can be
 * overridden by an environment variable ROLLCALL_<SECTION>_<KEY>. */
#ifndef ROLLCALL_CONFIG_H
#define ROLLCALL_CONFIG_H

#include <stdio.h>

#include "rollcall/util.h"

#define RC_CONFIG_DEFAULT_PATH	"conf/rollcall.conf"
/* Where make install and the Debian package put the config: the file used
 * when there is no conf/rollcall.conf in the working directory. */
#define RC_CONFIG_SYSTEM_PATH	"/etc/rollcall/rollcall.conf"

struct rc_config {
	/* [server] */
	char	*server_host;
	int	 server_port;
	int	 server_threads;	/* 0: one per core */
	char	*server_static_dir;
	char	*server_vendor_dir;	/* the app's npm libraries, at /vendor/ */
	int	 server_idle_timeout;	/* seconds a connection may idle */
	int	 server_header_timeout;	/* seconds for a request's headers */
	int	 server_min_body_rate;	/* bytes/s after that; 0: no check */
	int	 server_drain_timeout;	/* seconds SIGTERM waits for requests */
	int	 server_cpu_threads;	/* 0: one per core */
	int	 server_test_routes;	/* debug routes used by the tests */
	char	*server_public_url;

	/* [db] */
	char	*db_url;
	char	*db_url_file;		/* read when db_url is empty */
	int	 db_pool_size;		/* connections per loop thread */
	int	 db_queue_max;		/* queued queries per pool */
	int	 db_query_timeout_ms;
	int	 db_migrate_on_start;
	char	*db_migrations_dir;

	/* [limits] */
	int	 limits_max_body_bytes;
	int	 limits_max_header_bytes;
	int	 limits_max_in_flight;
	int	 limits_retry_after;
	int	 limits_max_upload_bytes;	/* image bodies */
	int	 limits_max_image_pixels;	/* width x height, checked before decoding */

	/* [log] */
	char	*log_file;
	char	*log_level;
	int	 log_access;
	char	*log_format;		/* auto, json, text */

	/* [metrics] */
	int	 metrics_enabled;
	char	*metrics_token;
	char	*metrics_allow;		/* comma-separated CIDRs */

	/* [auth] */
	char	*auth_issuer;
	char	*auth_keys_dir;		/* ES256 keys; generated when empty */
	int	 auth_access_ttl;	/* seconds */
	int	 auth_refresh_ttl_days;
	int	 auth_argon_opslimit;	/* 0: libsodium INTERACTIVE */
	int	 auth_argon_memlimit_kib;	/* 0: libsodium INTERACTIVE */
	char	*auth_common_passwords;
	int	 auth_login_max_failures;	/* per e-mail + address, before a lock */
	int	 auth_login_lock_seconds;	/* the longest lock */
	int	 auth_login_delay_seconds;	/* the first lock; doubles after */
	int	 auth_demo_seed;	/* create a demo org + admin on first start */

	/* [mail] */
	char	*mail_smtp_url;		/* empty: write .eml files to spool_dir */
	char	*mail_username;
	char	*mail_password;
	int	 mail_starttls;
	char	*mail_from;
	char	*mail_from_name;
	char	*mail_spool_dir;
	int	 mail_timeout_ms;

	/* [jobs] */
	int	 jobs_enabled;		/* run the outbox worker in serve */
	int	 jobs_max_attempts;
	int	 jobs_backoff_base_ms;
	int	 jobs_backoff_max_ms;
	int	 jobs_poll_ms;

	/* [slack] */
	char	*slack_webhook_allow;	/* comma-separated URL prefixes */
	int	 slack_timeout_ms;	/* one webhook post */
	int	 slack_digest_interval_seconds;	/* how often digests are due */

	/* [store] */
	char	*store_dir;		/* blobs, content-addressed */

	/* [backup] */
	char	*backup_dir;		/* `rollcall backup` and prune default */

	/* [face] */
	char	*face_models_dir;	/* face-api's model/ (vendor/face) */
	char	*face_cascade_dir;	/* empty: Debian's opencv-data */
	char	*face_detector_model;	/* YuNet ONNX; empty: face-api's tiny */
	char	*face_recognizer_model;	/* removed (SFace): must be empty */
	int	 face_min_face_px;
	char	*face_threshold;	/* default similarity to match, 0..1 */
	int	 face_photo_retention_days;	/* check-in photos; 0: keep */
};

/* Fills cfg with defaults, then the file at path (NULL: none), then the
 * environment. On failure returns RC_ERR with a message in err naming the
 * key, line or file. */
rc_status	rc_config_load(struct rc_config *cfg, const char *path,
		    char *err, size_t errlen);
/* Same, but environment lookups go through getenv_fn (for tests). */
rc_status	rc_config_load_env(struct rc_config *cfg, const char *path,
		    char *(*getenv_fn)(const char *), char *err, size_t errlen);
void		rc_config_cleanup(struct rc_config *cfg);
/* Prints "section.key = value" lines; secrets are masked. */
void		rc_config_print(const struct rc_config *cfg, FILE *out);
/* Returns a new copy of a connection URL with any password masked. */
char	       *rc_config_mask_url(const char *url);

#endif
