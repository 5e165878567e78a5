/* JSON-lines logger (short text lines on a terminal, the same without the
 * clock under journald). One shared fd opened
 * O_APPEND: a single write() per line keeps lines whole across threads;
 * reopen swaps the fd with dup2 so no lock is needed on the hot path. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "rollcall/log.h"

static int		 log_fd = STDERR_FILENO;
static char		*log_path;
static enum rc_log_level log_level = RC_LOG_INFO;
static int		 log_text;	/* set once, before threads start */
static int		 log_journal;	/* stderr is the journal: no clock */
static _Thread_local const char *log_request_id;

/* Access-log lines of this thread waiting for one write(): a syscall per
 * request costs a third of a small request's time. Whole lines only, so
 * O_APPEND keeps them from interleaving with other threads' writes. */
#define LOG_BUFFER_SIZE	(64 * 1024)
static _Thread_local char	*log_buf;
static _Thread_local size_t	 log_buf_len;
static pthread_mutex_t	 log_reopen_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

rc_status
rc_log_parse_level(const char *s, enum rc_log_level *out)
{
	size_t i;

	for (i = 0; i < RC_NELEM(level_names); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum rc_log_level)i;
			return RC_OK;
		}
	}
	return RC_ERR;
}

static const char *const format_names[] = { "auto", "json", "text" };

rc_status
rc_log_parse_format(const char *s, enum rc_log_format *out)
{
	size_t i;

	for (i = 0; i < RC_NELEM(format_names); i++) {
		if (strcmp(s, format_names[i]) == 0) {
			*out = (enum rc_log_format)i;
			return RC_OK;
		}
	}
	return RC_ERR;
}

int
rc_log_is_text(void)
{
	return log_text;
}

int
rc_log_is_journal(void)
{
	return log_journal;
}

/* systemd sets $JOURNAL_STREAM to "DEV:INODE" of the stream it connected
 * to stdout/stderr (systemd.exec(5)); stderr is the journal only while it
 * is still that file (not redirected by a shell in between). */
static int
stderr_is_journal(void)
{
	const char *v = getenv("JOURNAL_STREAM");
	uintmax_t dev, ino;
	struct stat st;
	char end;

	if (v == NULL || sscanf(v, "%ju:%ju%c", &dev, &ino, &end) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) != 0)
		return 0;
	return (uintmax_t)st.st_dev == dev && (uintmax_t)st.st_ino == ino;
}

rc_status
rc_log_open(const char *path, enum rc_log_level level,
    enum rc_log_format format)
{
	int to_file = path != NULL && *path != '\0';

	log_level = level;
	/* A person reads a terminal and the journal (which stamps each line
	 * itself); programs read files and pipes. */
	log_journal = format == RC_LOG_FORMAT_AUTO && !to_file &&
	    stderr_is_journal();
	log_text = format == RC_LOG_FORMAT_TEXT || log_journal || (format ==
	    RC_LOG_FORMAT_AUTO && !to_file && isatty(STDERR_FILENO));
	free(log_path);
	log_path = NULL;
	if (!to_file) {
		log_fd = STDERR_FILENO;
		return RC_OK;
	}
	log_path = rc_strdup(path);
	log_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (log_fd < 0) {
		log_fd = STDERR_FILENO;
		return RC_ERR;
	}
	return RC_OK;
}

rc_status
rc_log_reopen(void)
{
	rc_status rv = RC_OK;
	int fd;

	if (log_path == NULL)
		return RC_OK;
	pthread_mutex_lock(&log_reopen_lock);
	fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		rv = RC_ERR;
	} else {
		/* dup2 is atomic: writers see either the old file or the new. */
		dup2(fd, log_fd);
		close(fd);
	}
	pthread_mutex_unlock(&log_reopen_lock);
	return rv;
}

int
rc_log_enabled(enum rc_log_level level)
{
	return level >= log_level;
}

void
rc_log_set_request_id(const char *id)
{
	log_request_id = id;
}

const char *
rc_log_request_id(void)
{
	return log_request_id;
}

void
rc_log_context_save(struct rc_log_context *c)
{
	snprintf(c->request_id, sizeof(c->request_id), "%s",
	    log_request_id != NULL ? log_request_id : "");
}

void
rc_log_context_restore(const struct rc_log_context *c)
{
	log_request_id = c->request_id[0] != '\0' ? c->request_id : NULL;
}

void
rc_log_context_clear(void)
{
	log_request_id = NULL;
}

void
rc_log_write_line(const char *line, size_t len)
{
	char *buf = rc_malloc(len + 1);

	memcpy(buf, line, len);
	buf[len] = '\n';
	if (write(log_fd, buf, len + 1) < 0) {
		/* Nowhere left to report a failing log. */
	}
	free(buf);
}

void
rc_log_flush(void)
{
	if (log_buf_len > 0 && write(log_fd, log_buf, log_buf_len) < 0) {
		/* Nowhere left to report a failing log. */
	}
	log_buf_len = 0;
}

void
rc_log_buffer_line(const char *line, size_t len)
{
	if (len + 1 > LOG_BUFFER_SIZE) {
		rc_log_write_line(line, len);
		return;
	}
	if (log_buf == NULL)
		log_buf = rc_malloc(LOG_BUFFER_SIZE);
	if (log_buf_len + len + 1 > LOG_BUFFER_SIZE)
		rc_log_flush();
	memcpy(log_buf + log_buf_len, line, len);
	log_buf[log_buf_len + len] = '\n';
	log_buf_len += len + 1;
}

void
rc_log_buffer_free(void)
{
	rc_log_flush();
	free(log_buf);
	log_buf = NULL;
}

static void
format_time(char *out, size_t n)
{
	struct timespec ts;
	struct tm tm;
	size_t len;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	len = strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + len, n - len, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* s into out for a terminal: control characters (a forged line, an
 * escape sequence) become '?'. */
static void
text_clean(const char *s, char *out, size_t n)
{
	size_t j = 0;

	for (; *s != '\0' && j + 1 < n; s++)
		out[j++] = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
	out[j] = '\0';
}

/* What a text line starts with: the local time and a space, or under
 * journald the syslog priority of level ("<6>"). */
static void
line_head(char *out, size_t n, time_t when, enum rc_log_level level)
{
	static const int priority[] = { 7, 6, 4, 3 };
	struct tm tm;

	if (log_journal) {
		snprintf(out, n, "<%d>", priority[level]);
		return;
	}
	localtime_r(&when, &tm);
	strftime(out, n, "%H:%M:%S ", &tm);
}

size_t
rc_log_access_text(char *out, size_t n, time_t when, const char *method,
    const char *path, int status, double ms, const char *rid)
{
	char clock[16], p[512], id[80];
	int len;

	line_head(clock, sizeof(clock), when, RC_LOG_INFO);
	text_clean(path, p, sizeof(p));
	text_clean(rid, id, sizeof(id));
	len = snprintf(out, n, "%s%s %s %d %.1fms rid=%s", clock, method, p,
	    status, ms, id);
	if (len < 0)
		len = 0;
	return (size_t)len < n ? (size_t)len : n - 1;
}

/* "09:02:11 warn message rid=ID"; under journald "<4>warn message rid=ID":
 * the journal stamps the line and takes its priority from the sd-daemon(3)
 * prefix. */
static void
log_text_line(enum rc_log_level level, const char *msg)
{
	char clock[16], line[2300], m[2048], id[80];
	int len;

	line_head(clock, sizeof(clock), time(NULL), level);
	text_clean(msg, m, sizeof(m));
	if (log_request_id != NULL)
		text_clean(log_request_id, id, sizeof(id));
	len = snprintf(line, sizeof(line), "%s%s %s%s%s", clock,
	    level_names[level], m, log_request_id ? " rid=" : "",
	    log_request_id ? id : "");
	if (len > 0)
		rc_log_write_line(line, (size_t)len < sizeof(line) ?
		    (size_t)len : sizeof(line) - 1);
}

void
rc_log(enum rc_log_level level, const char *fmt, ...)
{
	char when[40], msg[2048];
	json_t *o;
	char *line;
	va_list ap;

	if (!rc_log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log_text) {
		log_text_line(level, msg);
		return;
	}
	format_time(when, sizeof(when));
	o = json_object();
	json_object_set_new(o, "time", json_string(when));
	json_object_set_new(o, "level", json_string(level_names[level]));
	if (log_request_id != NULL)
		json_object_set_new(o, "request_id", json_string(log_request_id));
	json_object_set_new(o, "msg", json_string(msg));
	line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (line != NULL) {
		rc_log_write_line(line, strlen(line));
		free(line);
	}
	json_decref(o);
}

size_t
rc_log_escape(const char *s, char *out, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t j = 0;

	for (; *s != '\0' && j + 7 < n; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			out[j++] = '\\';
			out[j++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			out[j++] = '\\';
			out[j++] = 'u';
			out[j++] = '0';
			out[j++] = '0';
			out[j++] = hex[c >> 4];
			out[j++] = hex[c & 15];
		} else {
			out[j++] = (char)c;
		}
	}
	out[j] = '\0';
	return j;
}
