/* Unit tests of the configuration: defaults, the INI file, environment
 * overrides, validation and masking. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "rollcall/config.h"

static const char *env_names[8], *env_values[8];
static int env_n;

static char *
fake_getenv(const char *name)
{
	int i;

	for (i = 0; i < env_n; i++)
		if (strcmp(env_names[i], name) == 0)
			return (char *)(uintptr_t)env_values[i];
	return NULL;
}

static void
set_env(const char *name, const char *value)
{
	env_names[env_n] = name;
	env_values[env_n++] = value;
}

static char *
write_conf(const char *text)
{
	static char path[64];
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "/tmp/rc-conf-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

static rc_status
load(struct rc_config *cfg, const char *text, char *err, size_t n)
{
	char *path = text ? write_conf(text) : NULL;
	rc_status rv = rc_config_load_env(cfg, path, fake_getenv, err, n);

	if (path)
		unlink(path);
	return rv;
}

static int
reset(void **state)
{
	(void)state;
	env_n = 0;
	return 0;
}

static void
test_defaults(void **state)
{
	struct rc_config cfg;
	char err[256];

	(void)state;
	assert_int_equal(load(&cfg, NULL, err, sizeof(err)), RC_OK);
	assert_string_equal(cfg.server_host, "127.0.0.1");
	assert_int_equal(cfg.server_port, 8080);
	assert_int_equal(cfg.limits_max_in_flight, 1000);
	assert_int_equal(cfg.log_access, 1);
	assert_int_equal(cfg.db_migrate_on_start, 0);
	rc_config_cleanup(&cfg);
	rc_config_cleanup(&cfg);	/* safe twice */
}

static void
test_file_and_env_override(void **state)
{
	struct rc_config cfg;
	char err[256];

	(void)state;
	set_env("ROLLCALL_SERVER_PORT", "9090");
	set_env("ROLLCALL_LOG_ACCESS", "off");
	assert_int_equal(load(&cfg, "; comment\n[server]\nport = 8181\n"
	    "host = 0.0.0.0\n[db]\nmigrate_on_start = yes\n", err,
	    sizeof(err)), RC_OK);
	assert_int_equal(cfg.server_port, 9090);	/* env wins */
	assert_string_equal(cfg.server_host, "0.0.0.0");
	assert_int_equal(cfg.db_migrate_on_start, 1);
	assert_int_equal(cfg.log_access, 0);
	rc_config_cleanup(&cfg);
}

static void
test_errors(void **state)
{
	struct rc_config cfg;
	char err[256];

	(void)state;
	assert_int_equal(load(&cfg, "[server]\nprot = 1\n", err, sizeof(err)), RC_ERR);
	assert_non_null(strstr(err, "unknown key [server] prot"));
	assert_non_null(strstr(err, ":2:"));
	rc_config_cleanup(&cfg);
	assert_int_equal(load(&cfg, "[nosuch]\nx = 1\n", err, sizeof(err)), RC_ERR);
	rc_config_cleanup(&cfg);
	assert_int_equal(load(&cfg, "[server]\nport = 70000\n", err, sizeof(err)), RC_ERR);
	assert_non_null(strstr(err, "server.port"));
	rc_config_cleanup(&cfg);
	assert_int_equal(load(&cfg, "[server]\nport = 80x\n", err, sizeof(err)), RC_ERR);
	rc_config_cleanup(&cfg);
	assert_int_equal(load(&cfg, "[metrics]\nenabled = maybe\n", err, sizeof(err)), RC_ERR);
	assert_non_null(strstr(err, "metrics.enabled"));
	rc_config_cleanup(&cfg);
	assert_int_equal(load(&cfg, "[log]\nlevel = loud\n", err, sizeof(err)), RC_ERR);
	rc_config_cleanup(&cfg);
	set_env("ROLLCALL_LIMITS_MAX_IN_FLIGHT", "-3");
	assert_int_equal(load(&cfg, NULL, err, sizeof(err)), RC_ERR);
	assert_non_null(strstr(err, "ROLLCALL_LIMITS_MAX_IN_FLIGHT"));
	rc_config_cleanup(&cfg);
	assert_int_equal(rc_config_load_env(&cfg, "/nonexistent/rollcall.conf",
	    fake_getenv, err, sizeof(err)), RC_ERR);
	assert_non_null(strstr(err, "cannot read"));
	rc_config_cleanup(&cfg);
}

static void
test_print_masks_secrets(void **state)
{
	struct rc_config cfg;
	char err[256], buf[8192];
	FILE *f;
	size_t n;

	(void)state;
	set_env("ROLLCALL_METRICS_TOKEN", "tok-SECRET");
	set_env("ROLLCALL_DB_URL", "postgresql://app:PASSWORD@db:5432/rc");
	set_env("ROLLCALL_MAIL_PASSWORD", "smtp-SECRET");
	assert_int_equal(load(&cfg, NULL, err, sizeof(err)), RC_OK);
	f = tmpfile();
	rc_config_print(&cfg, f);
	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	assert_null(strstr(buf, "SECRET"));
	assert_null(strstr(buf, "PASSWORD"));
	assert_non_null(strstr(buf, "url = postgresql://app:********@db:5432/rc"));
	assert_non_null(strstr(buf, "[limits]"));
	rc_config_cleanup(&cfg);
}

static void
test_mask_url_forms(void **state)
{
	char *m;

	(void)state;
	m = rc_config_mask_url("host=/tmp user=x password=hunter2 dbname=y");
	assert_string_equal(m, "host=/tmp user=x password=******** dbname=y");
	free(m);
	m = rc_config_mask_url("postgresql:///rollcall?host=/var/pg&user=postgres");
	assert_string_equal(m, "postgresql:///rollcall?host=/var/pg&user=postgres");
	free(m);
	m = rc_config_mask_url("postgresql://u@h/db?password=abc&x=1");
	assert_string_equal(m, "postgresql://u@h/db?password=********&x=1");
	free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_defaults, reset),
		cmocka_unit_test_setup(test_file_and_env_override, reset),
		cmocka_unit_test_setup(test_errors, reset),
		cmocka_unit_test_setup(test_print_masks_secrets, reset),
		cmocka_unit_test_setup(test_mask_url_forms, reset),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
