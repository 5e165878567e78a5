/* The SMTP transport: one blocking libcurl easy transfer per message, on
 * the outbox worker thread, and the verdict the outbox needs: sent, retry
 * later (transient) or give up (permanent). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "rollcall/log.h"
#include "rollcall/mail.h"
#include "rollcall/util.h"
#include "mail-int.h"

#define CONNECT_TIMEOUT_MS	10000L
#define TOTAL_TIMEOUT_MS	60000L
#define REPLY_MAX		160

struct upload {
	const char	*p;
	size_t		 len;
	size_t		 off;
};

/* What one transfer remembers: the last reply line the server sent, for
 * an error text that says what the server said. */
struct xfer {
	struct upload	 up;
	char		 reply[REPLY_MAX];
	char		 curl_err[CURL_ERROR_SIZE];
};

static pthread_once_t	init_once = PTHREAD_ONCE_INIT;
static CURLcode		init_rc = CURLE_FAILED_INIT;
static atomic_bool	warned_plain_auth;

static void
init_cb(void)
{
	init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

rc_status
rc_mail_init(void)
{
	pthread_once(&init_once, init_cb);
	if (init_rc != CURLE_OK) {
		rc_log(RC_LOG_ERROR, "mail: curl_global_init: %s",
		    curl_easy_strerror(init_rc));
		return RC_ERR;
	}
	return RC_OK;
}

void
rc_mail_cleanup(void)
{
	if (init_rc == CURLE_OK) {
		curl_global_cleanup();
		init_rc = CURLE_FAILED_INIT;
	}
}

static size_t
read_cb(char *buf, size_t size, size_t nitems, void *arg)
{
	struct upload *up = arg;
	size_t n = size * nitems;

	if (n > up->len - up->off)
		n = up->len - up->off;
	memcpy(buf, up->p + up->off, n);
	up->off += n;
	return n;
}

/* Keeps the server's last refusal (4xx/5xx reply line). Only CURLINFO_HEADER_IN is looked
 * at: what we send (AUTH carries the password) is never stored. */
static int
debug_cb(CURL *h, curl_infotype type, char *data, size_t size, void *arg)
{
	struct xfer *x = arg;
	size_t n = size;

	(void)h;
	/* Refusals only: the 221 to our QUIT would hide the reason. */
	if (type != CURLINFO_HEADER_IN || size == 0 || (data[0] != '4' && data[0] != '5'))
		return 0;
	while (n > 0 && (data[n - 1] == '\n' || data[n - 1] == '\r'))
		n--;
	if (n >= sizeof(x->reply))
		n = sizeof(x->reply) - 1;
	memcpy(x->reply, data, n);
	x->reply[n] = '\0';
	for (size_t i = 0; i < n; i++)	/* keep the error text printable */
		if ((unsigned char)x->reply[i] < 0x20 || x->reply[i] == 0x7f)
			x->reply[i] = '?';
	return 0;
}

/* Stops at the first failing curl_easy_setopt; rc holds its code. */
#define SETOPT(h, opt, val)						\
	do {								\
		if ((rc = curl_easy_setopt((h), (opt), (val))) != CURLE_OK) \
			return rc;					\
	} while (0)

static CURLcode
configure(CURL *h, const struct rc_mail_transport_config *cfg, bool implicit_tls,
    const char *from, struct curl_slist *rcpt, struct xfer *x)
{
	CURLcode rc;
	long cto = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : CONNECT_TIMEOUT_MS;
	long tto = cfg->timeout_ms > 0 ? cfg->timeout_ms : TOTAL_TIMEOUT_MS;

	SETOPT(h, CURLOPT_URL, cfg->url);
	SETOPT(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	SETOPT(h, CURLOPT_NOSIGNAL, 1L);	/* threads: no SIGALRM */
	SETOPT(h, CURLOPT_ERRORBUFFER, x->curl_err);
	SETOPT(h, CURLOPT_CONNECTTIMEOUT_MS, cto);
	SETOPT(h, CURLOPT_TIMEOUT_MS, tto);
	/* STARTTLS is all or nothing: opportunistic TLS that anyone on the
	 * path can strip protects nothing, and "mail.starttls = false" means
	 * a plain local relay. smtps:// is TLS from the first byte. */
	SETOPT(h, CURLOPT_USE_SSL, (long)(implicit_tls || cfg->starttls ?
	    CURLUSESSL_ALL : CURLUSESSL_NONE));
	if (cfg->ca_file != NULL && *cfg->ca_file != '\0')
		SETOPT(h, CURLOPT_CAINFO, cfg->ca_file);
	if (cfg->username != NULL && *cfg->username != '\0') {
		SETOPT(h, CURLOPT_USERNAME, cfg->username);
		SETOPT(h, CURLOPT_PASSWORD, cfg->password ? cfg->password : "");
	}
	SETOPT(h, CURLOPT_MAIL_FROM, from);
	SETOPT(h, CURLOPT_MAIL_RCPT, rcpt);
	SETOPT(h, CURLOPT_UPLOAD, 1L);
	SETOPT(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)x->up.len);
	SETOPT(h, CURLOPT_READFUNCTION, read_cb);
	SETOPT(h, CURLOPT_READDATA, &x->up);
	/* The debug callback only runs in verbose mode; it keeps the
	 * server's replies and prints nothing. */
	SETOPT(h, CURLOPT_DEBUGFUNCTION, debug_cb);
	SETOPT(h, CURLOPT_DEBUGDATA, x);
	SETOPT(h, CURLOPT_VERBOSE, 1L);
	return CURLE_OK;
}

#undef SETOPT

/* 5xx to MAIL/RCPT/DATA (curl: send error or an unexpected final reply)
 * is about this message: permanent. A refused AUTH or STARTTLS, or "530
 * authentication required" (RFC 4954 6), is about our configuration, and
 * fixing that should let the queue drain: transient. */
static enum rc_mail_result
classify(CURLcode rc, long code)
{
	if (code == 530 || code == 534 || code == 535 || code == 538)
		return RC_MAIL_TRANSIENT;
	if (code >= 500 && code <= 599 &&
	    (rc == CURLE_SEND_ERROR || rc == CURLE_WEIRD_SERVER_REPLY ||
	    rc == CURLE_RECV_ERROR))
		return RC_MAIL_PERMANENT;
	return RC_MAIL_TRANSIENT;
}

/* "<addr>" for MAIL FROM / RCPT TO; false when addr could smuggle a
 * command in (CR/LF) or is no plain addr-spec. */
static bool
angle(const char *addr, char *out, size_t outlen)
{
	if (!rc_mail_addr_valid(addr))
		return false;
	snprintf(out, outlen, "<%s>", addr);
	return true;
}

static enum rc_mail_result
envelope(const char *from, const char *const *to, size_t nto, char *fromb,
    size_t fromlen, struct curl_slist **rcpt, char *err, size_t errlen)
{
	char buf[260];
	struct curl_slist *l;
	size_t i;

	if (!angle(from, fromb, fromlen)) {
		rc_mail_seterr(err, errlen, "smtp: envelope sender invalid");
		return RC_MAIL_PERMANENT;
	}
	if (nto == 0 || nto > RC_MAIL_MAX_RCPT || to == NULL) {
		rc_mail_seterr(err, errlen, "smtp: need 1 to %d recipients", RC_MAIL_MAX_RCPT);
		return RC_MAIL_PERMANENT;
	}
	for (i = 0; i < nto; i++) {
		if (!angle(to[i], buf, sizeof(buf))) {
			rc_mail_seterr(err, errlen, "smtp: recipient %zu invalid", i + 1);
			return RC_MAIL_PERMANENT;
		}
		if ((l = curl_slist_append(*rcpt, buf)) == NULL) {
			rc_mail_seterr(err, errlen, "smtp: out of memory");
			return RC_MAIL_TRANSIENT;
		}
		*rcpt = l;
	}
	return RC_MAIL_SENT;
}

static void
warn_plain_auth(const struct rc_mail_transport_config *cfg, bool implicit_tls)
{
	if (cfg->username == NULL || *cfg->username == '\0' || implicit_tls ||
	    cfg->starttls)
		return;
	if (!atomic_exchange(&warned_plain_auth, true))
		rc_log(RC_LOG_WARN, "mail: SMTP credentials are sent without TLS "
		    "(set mail.starttls = true or use smtps://)");
}

/* Runs the transfer and turns curl's outcome into a verdict. */
static enum rc_mail_result
perform(CURL *h, struct xfer *x, char *err, size_t errlen)
{
	CURLcode rc = curl_easy_perform(h);
	long code = 0;
	enum rc_mail_result r;

	if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK)
		code = 0;
	if (rc == CURLE_OK && code >= 200 && code <= 299)
		return RC_MAIL_SENT;
	r = rc == CURLE_OK ? RC_MAIL_TRANSIENT : classify(rc, code);
	rc_mail_seterr(err, errlen, "smtp %s: %s%s%s%s",
	    r == RC_MAIL_PERMANENT ? "permanent" : "transient",
	    x->curl_err[0] ? x->curl_err : curl_easy_strerror(rc),
	    x->reply[0] ? " (server: \"" : "", x->reply, x->reply[0] ? "\")" : "");
	return r;
}

enum rc_mail_result
rc_mail_smtp_send(const struct rc_mail_transport_config *cfg, const char *from,
    const char *const *to, size_t nto, const char *msg, size_t len,
    char *err, size_t errlen)
{
	struct xfer x = { .up = { msg, len, 0 } };
	struct curl_slist *rcpt = NULL;
	char fromb[260];
	bool implicit_tls;
	enum rc_mail_result r;
	CURLcode rc;
	CURL *h = NULL;

	if (cfg->url == NULL || (strncasecmp(cfg->url, "smtp://", 7) != 0 &&
	    strncasecmp(cfg->url, "smtps://", 8) != 0)) {
		/* Configuration, not the message: keep it queued. */
		rc_mail_seterr(err, errlen, "smtp: url must be smtp:// or smtps://");
		return RC_MAIL_TRANSIENT;
	}
	implicit_tls = strncasecmp(cfg->url, "smtps://", 8) == 0;
	r = envelope(from, to, nto, fromb, sizeof(fromb), &rcpt, err, errlen);
	if (r != RC_MAIL_SENT)
		goto out;
	if (rc_mail_init() != RC_OK || (h = curl_easy_init()) == NULL) {
		rc_mail_seterr(err, errlen, "smtp: curl initialisation failed");
		r = RC_MAIL_TRANSIENT;
		goto out;
	}
	if ((rc = configure(h, cfg, implicit_tls, fromb, rcpt, &x)) != CURLE_OK) {
		rc_mail_seterr(err, errlen, "smtp: curl option: %s", curl_easy_strerror(rc));
		r = RC_MAIL_TRANSIENT;
		goto out;
	}
	warn_plain_auth(cfg, implicit_tls);
	r = perform(h, &x, err, errlen);
out:
	if (h != NULL)
		curl_easy_cleanup(h);
	curl_slist_free_all(rcpt);
	return r;
}

enum rc_mail_result
rc_mail_deliver(const struct rc_mail_transport_config *cfg, const char *from,
    const char *const *to, size_t nto, const char *msg, size_t len,
    char *err, size_t errlen)
{
	if (cfg->url != NULL && *cfg->url != '\0')
		return rc_mail_smtp_send(cfg, from, to, nto, msg, len, err, errlen);
	if (rc_mail_spool_write(cfg->spool_dir, msg, len, NULL, err, errlen) != RC_OK)
		return RC_MAIL_TRANSIENT;
	return RC_MAIL_SENT;
}
