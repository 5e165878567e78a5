/* Structured logging: one JSON object per line (or, on a terminal, one
 * short text line), to stderr or a file that SIGHUP reopens. Safe from any
 * thread. Never pass secrets. */
#ifndef ROLLCALL_LOG_H
#define ROLLCALL_LOG_H

#include <stddef.h>
#include <time.h>

#include "rollcall/util.h"

enum rc_log_level {
	RC_LOG_DEBUG,
	RC_LOG_INFO,
	RC_LOG_WARN,
	RC_LOG_ERROR,
};

/* log.format: auto is text when the log is a terminal (make run), the
 * same without the clock when stderr is the journal ($JOURNAL_STREAM),
 * JSON for files and pipes. */
enum rc_log_format {
	RC_LOG_FORMAT_AUTO,
	RC_LOG_FORMAT_JSON,
	RC_LOG_FORMAT_TEXT,
};

/* Opens path for appending (0600), or logs to stderr when path is NULL or
 * empty, in format (auto resolved here). Returns RC_ERR with errno set
 * when the file cannot be opened. */
rc_status	rc_log_open(const char *path, enum rc_log_level level,
		    enum rc_log_format format);
rc_status	rc_log_parse_format(const char *s, enum rc_log_format *out);
/* True when lines are text, not JSON (callers formatting their own). */
int		rc_log_is_text(void);
/* True when auto found stderr to be the journal: text lines without the
 * clock, each with its sd-daemon(3) priority prefix. */
int		rc_log_is_journal(void);
/* The text access line: "09:02:11 GET /api/v1/me 200 1.2ms rid=ID" (local
 * time; "<6>GET ..." under journald; control characters of path and id
 * shown as '?'). Writes at most n
 * bytes with a NUL into out; returns the length. */
size_t		rc_log_access_text(char *out, size_t n, time_t when,
		    const char *method, const char *path, int status,
		    double ms, const char *rid);
/* Reopens the same path (log rotation); keeps the old fd on failure. */
rc_status	rc_log_reopen(void);
rc_status	rc_log_parse_level(const char *s, enum rc_log_level *out);

int		rc_log_enabled(enum rc_log_level level);
/* The level is checked before formatting. The calling thread's current
 * request id (if any) is added to the line. */
void		rc_log(enum rc_log_level level, const char *fmt, ...) RC_PRINTF(2, 3);
/* Sets the request id the calling thread's log lines carry (NULL: none).
 * The string must outlive its use; the http module owns it. */
void		rc_log_set_request_id(const char *id);
/* The calling thread's request id, or NULL. */
const char	*rc_log_request_id(void);

/* A thread's log context (the request id), saved where work is handed on
 * (a query sent, a job for the CPU pool, a task posted to a loop) and
 * restored where it resumes, so that a callback's lines carry the id of
 * the request it serves without any handler setting it. */
#define RC_LOG_ID_MAX	64
struct rc_log_context {
	char	request_id[RC_LOG_ID_MAX + 1];	/* "": none */
};
/* Copies the calling thread's context into c. */
void		rc_log_context_save(struct rc_log_context *c);
/* Makes c the calling thread's context until rc_log_context_clear (or the
 * next restore); c must outlive that. */
void		rc_log_context_restore(const struct rc_log_context *c);
void		rc_log_context_clear(void);

/* Escapes s for the inside of a JSON string into out (n bytes, NUL
 * terminated; truncated if needed). Bytes >= 0x80 pass through: the paths
 * and ids logged are URL-encoded or plain ASCII. Returns the length. */
size_t		rc_log_escape(const char *s, char *out, size_t n);

/* Writes one already-formatted line (a newline is appended). */
void		rc_log_write_line(const char *line, size_t len);
/* The same, kept in a per-thread buffer until rc_log_flush (or until the
 * buffer is full). The thread must flush regularly and call
 * rc_log_buffer_free before it ends. */
void		rc_log_buffer_line(const char *line, size_t len);
void		rc_log_flush(void);
void		rc_log_buffer_free(void);

#endif
