/* Mail transport (replaces SES): builds RFC 5322 / MIME messages, delivers
 * them over SMTP with libcurl or into a spool folder of .eml files, and
 * renders the built-in plain-text templates.
 *
 * Blocking: every function here may block on the network or the disk. Call
 * them on the outbox worker thread, never on an event-loop thread. */
#ifndef ROLLCALL_MAIL_H
#define ROLLCALL_MAIL_H

#include <stddef.h>

#include <jansson.h>

#include "rollcall/util.h"

#define RC_MAIL_MAX_RCPT	100	/* recipients per message */
#define RC_MAIL_ERRLEN		256	/* a comfortable size for err buffers */

struct rc_mail_attachment {
	const char		*filename;	/* UTF-8, no '/' or '\\' */
	const char		*content_type;	/* "application/pdf", "text/csv; charset=UTF-8" */
	const unsigned char	*data;
	size_t			 len;
};

struct rc_mail_message {
	const char		*from;		/* addr-spec: local@domain */
	const char		*from_name;	/* display name, UTF-8; NULL: none */
	const char *const	*to;		/* nto addr-specs */
	size_t			 nto;
	const char		*subject;	/* UTF-8, one line */
	const char		*text;		/* UTF-8 body; LF or CRLF line ends */
	const struct rc_mail_attachment *att;
	size_t			 natt;
	/* The Message-ID's left part, 1 to 64 lowercase hex digits, the same
	 * for every delivery of one logical message (the outbox passes its
	 * job's id), so a redelivery is recognisably the same message; NULL
	 * or anything else: random. */
	const char		*id;
};

struct rc_mail_transport_config {
	const char	*url;		/* smtp://host:port or smtps://host:port;
					 * NULL or "": write to spool_dir */
	const char	*username;	/* NULL or "": no AUTH */
	const char	*password;	/* never logged */
	int		 starttls;	/* smtp:// only: 1 = require STARTTLS,
					 * 0 = plain text (local relay) */
	const char	*ca_file;	/* NULL: the system CA store */
	long		 connect_timeout_ms;	/* 0: 10 s */
	long		 timeout_ms;		/* whole transfer; 0: 60 s */
	const char	*spool_dir;	/* used when url is empty */
};

enum rc_mail_result {
	RC_MAIL_SENT,		/* accepted (2xx) or spooled */
	RC_MAIL_TRANSIENT,	/* retry later with backoff */
	RC_MAIL_PERMANENT,	/* 5xx for this message: dead-letter it */
};

/* Initialises libcurl once per process (curl_global_init is not
 * thread-safe on every build, so call this from the main thread before
 * starting workers). Safe to call more than once. */
rc_status	rc_mail_init(void);
/* Undoes rc_mail_init; call once at exit, after the workers have stopped. */
void		rc_mail_cleanup(void);

/* Builds a complete message (headers + body, CRLF line ends, 7-bit: the
 * text is quoted-printable, attachments base64 in multipart/mixed).
 * Refuses CR/LF or other control characters in header fields, addresses
 * without exactly one '@', and invalid UTF-8, with RC_ERR and a reason in
 * err. On RC_OK *out is a new NUL-terminated buffer of *outlen bytes;
 * caller frees (wipe it first if the text held a secret). */
rc_status	rc_mail_build(const struct rc_mail_message *m, char **out,
		    size_t *outlen, char *err, size_t errlen);

/* Sends a built message over SMTP to the envelope recipients to[0..nto).
 * RC_MAIL_SENT on a 2xx reply to the end of DATA. RC_MAIL_PERMANENT when
 * the server refused this message with a 5xx reply (MAIL, RCPT, DATA) or
 * the envelope is invalid. RC_MAIL_TRANSIENT for everything that may pass
 * later: 4xx, connect refused, DNS, timeouts, TLS and AUTH failures (the
 * latter two are configuration problems, not the message's fault). err
 * gets a short reason without secrets. */
enum rc_mail_result rc_mail_smtp_send(const struct rc_mail_transport_config *cfg,
		    const char *from, const char *const *to, size_t nto,
		    const char *msg, size_t len, char *err, size_t errlen);

/* Writes a built message as <dir>/<message-id hex>.eml: created 0600
 * under a temporary name in dir, fsync'd, renamed into place (replacing a
 * file of the same message, so a redelivery leaves one copy) and the
 * directory fsync'd. dir is created 0700 (with its parents) when
 * missing. When path is not NULL, *path gets the final file name (new
 * string; caller frees). */
rc_status	rc_mail_spool_write(const char *dir, const char *msg, size_t len,
		    char **path, char *err, size_t errlen);

/* Delivers through SMTP when cfg->url is set, otherwise into
 * cfg->spool_dir (spool failures are transient: disk full passes). */
enum rc_mail_result rc_mail_deliver(const struct rc_mail_transport_config *cfg,
		    const char *from, const char *const *to, size_t nto,
		    const char *msg, size_t len, char *err, size_t errlen);

/* Fills template_name's subject and body from vars (a JSON object of
 * strings or integers). Templates and their variables:
 *   credentials      name, email, temporary_password, sign_in_url
 *   reset_code       code, minutes
 *   leave_requested  approver_name, requester_name, leave_type,
 *                    start_date, end_date, reason, review_url
 *   leave_decided    name, decision ("approved"/"rejected"), leave_type,
 *                    start_date, end_date, decided_by, comment
 *   report           name, org_name, month (the report goes as attachment)
 * Unknown template, missing variable or a value of another type: RC_ERR
 * (logged with the variable name; never a silent blank). On RC_OK
 * *subject and *body are new strings; caller frees. The body may hold a
 * secret (credentials, reset_code): sodium_memzero it before freeing. */
rc_status	rc_mail_render(const char *template_name, json_t *vars,
		    char **subject, char **body);

#endif
