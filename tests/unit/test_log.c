/* Tests of the logger's formats: log.format names, the text access line
 * that `make run` prints on a terminal, which format a log file gets, and
 * the clock-less lines when stderr is the journal ($JOURNAL_STREAM). */
#include <sys/stat.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "rollcall/log.h"

static void
test_parse_format(void **state)
{
	enum rc_log_format f = RC_LOG_FORMAT_JSON;

	(void)state;
	assert_int_equal(rc_log_parse_format("auto", &f), RC_OK);
	assert_int_equal(f, RC_LOG_FORMAT_AUTO);
	assert_int_equal(rc_log_parse_format("text", &f), RC_OK);
	assert_int_equal(f, RC_LOG_FORMAT_TEXT);
	assert_int_equal(rc_log_parse_format("json", &f), RC_OK);
	assert_int_equal(f, RC_LOG_FORMAT_JSON);
	assert_int_equal(rc_log_parse_format("JSON", &f), RC_ERR);
	assert_int_equal(rc_log_parse_format("", &f), RC_ERR);
}

static void
test_access_text(void **state)
{
	/* 2026-11-26T09:02:11Z */
	time_t when = 1795683731;
	char out[256], small[16];
	size_t n;

	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	n = rc_log_access_text(out, sizeof(out), when, "GET", "/api/v1/me",
	    200, 1.234, "0123abcd");
	assert_string_equal(out, "09:02:11 GET /api/v1/me 200 1.2ms "
	    "rid=0123abcd");
	assert_int_equal(n, strlen(out));
	/* Local time: Paris is an hour ahead in November. */
	setenv("TZ", "Europe/Paris", 1);
	tzset();
	rc_log_access_text(out, sizeof(out), when, "POST", "/x", 422, 12.0,
	    "r");
	assert_string_equal(out, "10:02:11 POST /x 422 12.0ms rid=r");
	/* A path or id cannot forge a line or drive the terminal. */
	rc_log_access_text(out, sizeof(out), when, "GET", "/a\nb\x1b[2J", 404,
	    0.05, "id\r");
	assert_string_equal(out, "10:02:11 GET /a?b?[2J 404 0.1ms rid=id?");
	/* Truncated, still terminated. */
	n = rc_log_access_text(small, sizeof(small), when, "GET", "/long/path",
	    200, 1.0, "r");
	assert_int_equal(n, sizeof(small) - 1);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	setenv("TZ", "UTC", 1);
	tzset();
}

static char *
read_all(const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void
test_file_formats(void **state)
{
	char path[] = "/tmp/rollcall-test-log-XXXXXX";
	int fd = mkstemp(path);
	const char *s;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	/* auto with a file: JSON, whatever stderr is. */
	assert_int_equal(rc_log_open(path, RC_LOG_INFO, RC_LOG_FORMAT_AUTO),
	    RC_OK);
	assert_false(rc_log_is_text());
	rc_log(RC_LOG_WARN, "disk %d%% full", 91);
	s = read_all(path);
	assert_non_null(strstr(s, "\"level\":\"warn\""));
	assert_non_null(strstr(s, "\"msg\":\"disk 91% full\""));
	/* text asked for: one short line, with the request id. */
	assert_int_equal(rc_log_open(path, RC_LOG_INFO, RC_LOG_FORMAT_TEXT),
	    RC_OK);
	assert_true(rc_log_is_text());
	rc_log_set_request_id("rid42");
	rc_log(RC_LOG_ERROR, "boom\nforged");
	rc_log_set_request_id(NULL);
	s = strchr(read_all(path), '\n') + 1;
	assert_int_equal(strlen(s), strlen("00:00:00 error boom?forged "
	    "rid=rid42\n"));
	assert_non_null(strstr(s, " error boom?forged rid=rid42\n"));
	assert_int_equal(rc_log_open(NULL, RC_LOG_INFO, RC_LOG_FORMAT_JSON),
	    RC_OK);
	unlink(path);
}

/* stderr pointed at a file whose DEV:INODE is in $JOURNAL_STREAM, as
 * systemd does: auto gives text lines without the clock, each with its
 * syslog priority; a JOURNAL_STREAM naming another file (stderr redirected
 * by a shell) or json asked for keeps JSON. */
static void
test_journal(void **state)
{
	char path[] = "/tmp/rollcall-test-journal-XXXXXX", js[64], out[128];
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	struct stat st;
	const char *s;

	(void)state;
	assert_true(fd >= 0 && saved >= 0 && fstat(fd, &st) == 0);
	dup2(fd, STDERR_FILENO);
	snprintf(js, sizeof(js), "%ju:%ju", (uintmax_t)st.st_dev,
	    (uintmax_t)st.st_ino);
	setenv("JOURNAL_STREAM", js, 1);
	assert_int_equal(rc_log_open(NULL, RC_LOG_INFO, RC_LOG_FORMAT_AUTO),
	    RC_OK);
	assert_true(rc_log_is_journal());
	assert_true(rc_log_is_text());
	rc_log_set_request_id("rid7");
	rc_log(RC_LOG_WARN, "disk %d%% full", 91);
	rc_log_set_request_id(NULL);
	rc_log(RC_LOG_ERROR, "boom");
	rc_log_access_text(out, sizeof(out), 0, "GET", "/readyz", 200, 1.25,
	    "r1");
	assert_string_equal(out, "<6>GET /readyz 200 1.2ms rid=r1");
	s = read_all(path);
	assert_string_equal(s, "<4>warn disk 91% full rid=rid7\n<3>error boom\n");
	/* json asked for: JSON even on the journal. */
	assert_int_equal(rc_log_open(NULL, RC_LOG_INFO, RC_LOG_FORMAT_JSON),
	    RC_OK);
	assert_false(rc_log_is_journal());
	/* Another file's DEV:INODE: not the journal. */
	snprintf(js, sizeof(js), "%ju:%ju", (uintmax_t)st.st_dev,
	    (uintmax_t)st.st_ino + 1);
	setenv("JOURNAL_STREAM", js, 1);
	assert_int_equal(rc_log_open(NULL, RC_LOG_INFO, RC_LOG_FORMAT_AUTO),
	    RC_OK);
	assert_false(rc_log_is_journal());
	assert_false(rc_log_is_text());
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fd);
	unsetenv("JOURNAL_STREAM");
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_format),
		cmocka_unit_test(test_access_text),
		cmocka_unit_test(test_file_formats),
		cmocka_unit_test(test_journal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
