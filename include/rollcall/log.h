/* Structured logging: one JSON object per line, to stderr or a file that
 * SIGHUP reopens. Safe from any thread. Never pass secrets. */
#ifndef ROLLCALL_LOG_H
#define ROLLCALL_LOG_H

#include "rollcall/util.h"

enum rc_log_level {
	RC_LOG_DEBUG,
	RC_LOG_INFO,
	RC_LOG_WARN,
	RC_LOG_ERROR,
};

/* Opens path for appending (0600), or logs to stderr when path is NULL or
 * empty. Returns RC_ERR with errno set when the file cannot be opened. */
rc_status	rc_log_open(const char *path, enum rc_log_level level);
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
