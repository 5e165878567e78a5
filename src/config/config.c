/* Configuration keys, defaults, validation and environment overrides.
 * Every key lives in one table below: adding a key is one line there and
 * one field in struct rc_config. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "rollcall/config.h"
#include "rollcall/face.h"
#include "rollcall/log.h"

enum key_type { KEY_STR, KEY_INT, KEY_BOOL };

#define KEY_SECRET	0x1	/* masked by config check */
#define KEY_URL		0x2	/* a URL whose password is masked */

struct key {
	const char	*section;
	const char	*name;
	enum key_type	 type;
	size_t		 offset;
	const char	*def;
	long		 min, max;
	unsigned	 flags;
	rc_status	(*check)(const char *value);
};

static rc_status check_level(const char *v);
static rc_status check_log_format(const char *v);
static rc_status check_unit(const char *v);

#define S(sec, key, field, def, fl) \
	{ sec, key, KEY_STR, offsetof(struct rc_config, field), def, 0, 0, fl, NULL }
#define I(sec, key, field, def, lo, hi) \
	{ sec, key, KEY_INT, offsetof(struct rc_config, field), def, lo, hi, 0, NULL }
#define B(sec, key, field, def) \
	{ sec, key, KEY_BOOL, offsetof(struct rc_config, field), def, 0, 1, 0, NULL }

static const struct key keys[] = {
	S("server", "host", server_host, "127.0.0.1", 0),
	I("server", "port", server_port, "8080", 0, 65535),
	I("server", "threads", server_threads, "0", 0, 256),
	S("server", "static_dir", server_static_dir, "static", 0),
	S("server", "vendor_dir", server_vendor_dir, "vendor/app/node_modules", 0),
	I("server", "idle_timeout", server_idle_timeout, "60", 1, 86400),
	I("server", "header_timeout", server_header_timeout, "10", 1, 3600),
	I("server", "min_body_rate", server_min_body_rate, "1024", 0, INT_MAX),
	I("server", "drain_timeout", server_drain_timeout, "30", 0, 3600),
	I("server", "cpu_threads", server_cpu_threads, "0", 0, 256),
	B("server", "test_routes", server_test_routes, "false"),
	S("server", "public_url", server_public_url, "http://127.0.0.1:8080", 0),

	S("db", "url", db_url, "", KEY_URL),
	S("db", "url_file", db_url_file, "var/db.url", 0),
	I("db", "pool_size", db_pool_size, "4", 1, 64),
	I("db", "queue_max", db_queue_max, "1000", 1, 1000000),
	I("db", "query_timeout_ms", db_query_timeout_ms, "5000", 10, 600000),
	B("db", "migrate_on_start", db_migrate_on_start, "false"),
	S("db", "migrations_dir", db_migrations_dir, "sql", 0),

	I("limits", "max_body_bytes", limits_max_body_bytes, "1048576", 1024, INT_MAX),
	I("limits", "max_header_bytes", limits_max_header_bytes, "16384", 1024, 1048576),
	I("limits", "max_in_flight", limits_max_in_flight, "1000", 1, 1000000),
	I("limits", "retry_after", limits_retry_after, "1", 1, 3600),
	I("limits", "max_upload_bytes", limits_max_upload_bytes, "10485760",
	    1024, INT_MAX),
	I("limits", "max_image_pixels", limits_max_image_pixels, "40000000",
	    1, INT_MAX),

	S("log", "file", log_file, "", 0),
	{ "log", "level", KEY_STR, offsetof(struct rc_config, log_level), "info",
	  0, 0, 0, check_level },
	B("log", "access", log_access, "true"),
	{ "log", "format", KEY_STR, offsetof(struct rc_config, log_format),
	  "auto", 0, 0, 0, check_log_format },

	B("metrics", "enabled", metrics_enabled, "true"),
	S("metrics", "token", metrics_token, "", KEY_SECRET),
	S("metrics", "allow", metrics_allow, "127.0.0.0/8,::1", 0),

	S("auth", "issuer", auth_issuer, "rollcall", 0),
	S("auth", "keys_dir", auth_keys_dir, "var/keys", 0),
	I("auth", "access_ttl", auth_access_ttl, "900", 30, 86400),
	I("auth", "refresh_ttl_days", auth_refresh_ttl_days, "30", 1, 365),
	I("auth", "argon_opslimit", auth_argon_opslimit, "0", 0, 32),
	I("auth", "argon_memlimit_kib", auth_argon_memlimit_kib, "0", 0, 4194304),
	S("auth", "common_passwords", auth_common_passwords,
	    "conf/common-passwords.txt", 0),
	I("auth", "login_max_failures", auth_login_max_failures, "5", 1, 1000),
	I("auth", "login_lock_seconds", auth_login_lock_seconds, "900", 1, 86400),
	I("auth", "login_delay_seconds", auth_login_delay_seconds, "30", 1, 86400),
	B("auth", "demo_seed", auth_demo_seed, "false"),

	S("mail", "smtp_url", mail_smtp_url, "", 0),
	S("mail", "username", mail_username, "", 0),
	S("mail", "password", mail_password, "", KEY_SECRET),
	B("mail", "starttls", mail_starttls, "false"),
	S("mail", "from", mail_from, "rollcall@localhost", 0),
	S("mail", "from_name", mail_from_name, "rollcall", 0),
	S("mail", "spool_dir", mail_spool_dir, "var/mail", 0),
	I("mail", "timeout_ms", mail_timeout_ms, "60000", 100, 600000),

	B("jobs", "enabled", jobs_enabled, "true"),
	I("jobs", "max_attempts", jobs_max_attempts, "8", 1, 100),
	I("jobs", "backoff_base_ms", jobs_backoff_base_ms, "2000", 10, 3600000),
	I("jobs", "backoff_max_ms", jobs_backoff_max_ms, "3600000", 10, 86400000),
	I("jobs", "poll_ms", jobs_poll_ms, "1000", 10, 600000),

	S("store", "dir", store_dir, "var/blobs", 0),

	S("slack", "webhook_allow", slack_webhook_allow,
	    "https://hooks.slack.com/", 0),
	I("slack", "timeout_ms", slack_timeout_ms, "10000", 100, 600000),
	I("slack", "digest_interval_seconds", slack_digest_interval_seconds,
	    "60", 1, 3600),

	S("backup", "dir", backup_dir, "var/backups", 0),

	S("face", "models_dir", face_models_dir, RC_FACE_MODELS_DIR_DEFAULT, 0),
	S("face", "cascade_dir", face_cascade_dir, "", 0),
	S("face", "detector_model", face_detector_model, "", 0),
	/* Removed with SFace; still read so that a config file from before
	 * (which had "recognizer_model =") starts, and a set one is named. */
	S("face", "recognizer_model", face_recognizer_model, "", 0),
	I("face", "min_face_px", face_min_face_px, "40", 8, 4096),
	{ "face", "threshold", KEY_STR, offsetof(struct rc_config,
	  face_threshold), "0.943", 0, 0, 0, check_unit },
	I("face", "photo_retention_days", face_photo_retention_days, "30",
	    0, 36500),
};

struct load_ctx {
	struct rc_config *cfg;
	char		*err;
	size_t		 errlen;
	int		 failed;
};

static rc_status
check_level(const char *v)
{
	enum rc_log_level l;

	return rc_log_parse_level(v, &l);
}

static rc_status
check_log_format(const char *v)
{
	enum rc_log_format f;

	return rc_log_parse_format(v, &f);
}

static const struct key *
find_key(const char *section, const char *name)
{
	size_t i;

	for (i = 0; i < RC_NELEM(keys); i++)
		if (strcmp(keys[i].section, section) == 0 &&
		    strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

/* A number in [0, 1] (a similarity threshold). */
static rc_status
check_unit(const char *v)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	if (errno != 0 || end == v || *end != '\0' || !(d >= 0.0 && d <= 1.0))
		return RC_ERR;
	return RC_OK;
}

static rc_status
parse_bool(const char *v, int *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	size_t i;

	for (i = 0; i < RC_NELEM(yes); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = 1;
			return RC_OK;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = 0;
			return RC_OK;
		}
	}
	return RC_ERR;
}

static rc_status
parse_int(const char *v, long lo, long hi, int *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (*v == '\0' || *end != '\0' || errno != 0 || n < lo || n > hi)
		return RC_ERR;
	*out = (int)n;
	return RC_OK;
}

/* Stores value into the field of k; a message names the key on error. */
static rc_status
set_value(struct rc_config *cfg, const struct key *k, const char *value,
    char *err, size_t errlen)
{
	char *base = (char *)cfg + k->offset;
	char **sp;

	switch (k->type) {
	case KEY_STR:
		if (k->check != NULL && k->check(value) != RC_OK)
			goto bad;
		sp = (char **)(void *)base;
		free(*sp);
		*sp = rc_strdup(value);
		return RC_OK;
	case KEY_INT:
		if (parse_int(value, k->min, k->max, (int *)(void *)base) != RC_OK) {
			snprintf(err, errlen, "%s.%s: expected a whole number "
			    "from %ld to %ld, got \"%s\"", k->section, k->name,
			    k->min, k->max, value);
			return RC_ERR;
		}
		return RC_OK;
	case KEY_BOOL:
		if (parse_bool(value, (int *)(void *)base) != RC_OK) {
			snprintf(err, errlen, "%s.%s: expected true or false, "
			    "got \"%s\"", k->section, k->name, value);
			return RC_ERR;
		}
		return RC_OK;
	}
bad:
	snprintf(err, errlen, "%s.%s: invalid value \"%s\"", k->section,
	    k->name, value);
	return RC_ERR;
}

static int
ini_cb(void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *ctx = user;
	const struct key *k;

	if (ctx->failed)
		return 0;
	if ((k = find_key(section, name)) == NULL) {
		snprintf(ctx->err, ctx->errlen, "unknown key [%s] %s",
		    section, name);
		ctx->failed = 1;
		return 0;
	}
	if (set_value(ctx->cfg, k, value, ctx->err, ctx->errlen) != RC_OK) {
		ctx->failed = 1;
		return 0;
	}
	return 1;
}

static void
env_name(const struct key *k, char *out, size_t n)
{
	size_t i;

	snprintf(out, n, "ROLLCALL_%s_%s", k->section, k->name);
	for (i = 0; out[i] != '\0'; i++)
		out[i] = (char)toupper((unsigned char)out[i]);
}

static rc_status
apply_env(struct rc_config *cfg, char *(*getenv_fn)(const char *),
    char *err, size_t errlen)
{
	char name[128], msg[256];
	const char *v;
	size_t i;

	for (i = 0; i < RC_NELEM(keys); i++) {
		env_name(&keys[i], name, sizeof(name));
		if ((v = getenv_fn(name)) == NULL)
			continue;
		if (set_value(cfg, &keys[i], v, msg, sizeof(msg)) != RC_OK) {
			snprintf(err, errlen, "%s (from %s)", msg, name);
			return RC_ERR;
		}
	}
	return RC_OK;
}

static rc_status
apply_defaults(struct rc_config *cfg, char *err, size_t errlen)
{
	size_t i;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < RC_NELEM(keys); i++)
		if (set_value(cfg, &keys[i], keys[i].def, err, errlen) != RC_OK)
			return RC_ERR;
	return RC_OK;
}

/* db.url empty: the first line of db.url_file, when that file exists
 * (`make run` writes its private cluster's URL there, so that the other
 * commands find the same database). */
static rc_status
url_from_file(struct rc_config *cfg, char *err, size_t errlen)
{
	char line[4096];
	size_t n;
	FILE *f;

	if (cfg->db_url[0] != '\0' || cfg->db_url_file[0] == '\0')
		return RC_OK;
	if ((f = fopen(cfg->db_url_file, "r")) == NULL) {
		if (errno == ENOENT)
			return RC_OK;
		snprintf(err, errlen, "db.url_file %s: %s", cfg->db_url_file,
		    strerror(errno));
		return RC_ERR;
	}
	if (fgets(line, sizeof(line), f) == NULL) {
		line[0] = '\0';
		if (ferror(f)) {
			snprintf(err, errlen, "db.url_file %s: %s",
			    cfg->db_url_file, strerror(errno));
			fclose(f);
			return RC_ERR;
		}
	}
	fclose(f);
	n = strcspn(line, "\r\n");
	while (n > 0 && isspace((unsigned char)line[n - 1]))
		n--;
	line[n] = '\0';
	free(cfg->db_url);
	cfg->db_url = rc_strdup(line);
	return RC_OK;
}

rc_status
rc_config_load_env(struct rc_config *cfg, const char *path,
    char *(*getenv_fn)(const char *), char *err, size_t errlen)
{
	struct load_ctx ctx = { cfg, err, errlen, 0 };
	char msg[256];
	int line;

	if (apply_defaults(cfg, err, errlen) != RC_OK)
		return RC_ERR;
	if (path != NULL) {
		line = ini_parse(path, ini_cb, &ctx);
		if (line == -1) {
			snprintf(err, errlen, "%s: cannot read: %s", path,
			    strerror(errno));
			return RC_ERR;
		}
		if (line != 0) {
			if (!ctx.failed)
				snprintf(ctx.err, errlen, "syntax error");
			snprintf(msg, sizeof(msg), "%s", err);
			snprintf(err, errlen, "%s:%d: %s", path, line, msg);
			return RC_ERR;
		}
	}
	if (apply_env(cfg, getenv_fn, err, errlen) != RC_OK)
		return RC_ERR;
	return url_from_file(cfg, err, errlen);
}

rc_status
rc_config_load(struct rc_config *cfg, const char *path, char *err,
    size_t errlen)
{
	return rc_config_load_env(cfg, path, getenv, err, errlen);
}

void
rc_config_cleanup(struct rc_config *cfg)
{
	size_t i;

	for (i = 0; i < RC_NELEM(keys); i++) {
		if (keys[i].type == KEY_STR) {
			char **sp = (char **)(void *)((char *)cfg + keys[i].offset);

			free(*sp);
			*sp = NULL;
		}
	}
}

char *
rc_config_mask_url(const char *url)
{
	const char *scheme, *at, *colon, *pw;
	char *out;

	/* postgresql://user:secret@host/db */
	if ((scheme = strstr(url, "://")) != NULL &&
	    (at = strchr(scheme + 3, '@')) != NULL &&
	    (colon = memchr(scheme + 3, ':', (size_t)(at - scheme - 3))) != NULL)
		return rc_asprintf("%.*s:********%s",
		    (int)(colon - url), url, at);
	/* key=value form: host=... password=secret */
	if ((pw = strstr(url, "password=")) != NULL) {
		const char *end = pw + strlen("password=");

		while (*end != '\0' && *end != ' ' && *end != '&')
			end++;
		out = rc_asprintf("%.*spassword=********%s",
		    (int)(pw - url), url, end);
		return out;
	}
	return rc_strdup(url);
}

void
rc_config_print(const struct rc_config *cfg, FILE *out)
{
	const char *section = "";
	size_t i;

	for (i = 0; i < RC_NELEM(keys); i++) {
		const struct key *k = &keys[i];
		const char *base = (const char *)cfg + k->offset;

		if (strcmp(section, k->section) != 0) {
			fprintf(out, "%s[%s]\n", i ? "\n" : "", k->section);
			section = k->section;
		}
		if (k->type == KEY_STR) {
			const char *v = *(char *const *)(const void *)base;
			char *masked = NULL;

			if ((k->flags & KEY_SECRET) && *v != '\0')
				v = "********";
			else if (k->flags & KEY_URL)
				v = masked = rc_config_mask_url(v);
			fprintf(out, "%s = %s\n", k->name, v);
			free(masked);
		} else if (k->type == KEY_BOOL) {
			fprintf(out, "%s = %s\n", k->name,
			    *(const int *)(const void *)base ? "true" : "false");
		} else {
			fprintf(out, "%s = %d\n", k->name,
			    *(const int *)(const void *)base);
		}
	}
}
