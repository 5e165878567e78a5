/* Builds RFC 5322 messages with MIME bodies (RFC 2045-2047, 2231): headers
 * folded under 78 columns, non-ASCII header text as encoded-words, the text
 * quoted-printable and attachments base64, CRLF everywhere, 7-bit clean so
 * any relay takes it without 8BITMIME. */
#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "rollcall/mail.h"
#include "rollcall/util.h"
#include "mail-int.h"

#define LINE_MAX_SOFT	78	/* RFC 5322 2.1.1: SHOULD */
#define QP_LINE_MAX	76	/* RFC 2045 6.7 (5) */
#define B64_RAW_LINE	57	/* 57 bytes -> 76 base64 chars, RFC 2045 6.8 */
/* Raw bytes per encoded-word: "=?UTF-8?B?" + 56 + "?=" is 68 columns, so
 * " " + word fits a folded line and "Subject: " + word fits the first. */
#define EW_RAW_MAX	42
#define WORD_MAX	900	/* longer unfoldable ASCII words get encoded */
#define NAME_MAX_BYTES	256
#define SUBJECT_MAX_BYTES 2000
#define FILENAME_MAX_BYTES 255
#define CTYPE_MAX	200
#define FN_QUOTED_MAX	60	/* longer names go RFC 2231 */

/* Buffer --------------------------------------------------------------- */

void
rc_mail_buf_add(struct rc_mail_buf *b, const void *data, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		char *np;

		while (cap < b->len + n + 1)
			cap *= 2;
		/* Not realloc: the old block may hold a secret, wipe it. */
		np = rc_malloc(cap);
		if (b->len > 0)
			memcpy(np, b->p, b->len);
		if (b->p != NULL) {
			sodium_memzero(b->p, b->cap);
			free(b->p);
		}
		b->p = np;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
rc_mail_buf_adds(struct rc_mail_buf *b, const char *s)
{
	rc_mail_buf_add(b, s, strlen(s));
}

void
rc_mail_buf_wipe(struct rc_mail_buf *b)
{
	if (b->p != NULL) {
		sodium_memzero(b->p, b->cap);
		free(b->p);
	}
	b->p = NULL;
	b->len = b->cap = 0;
}

char *
rc_mail_buf_take(struct rc_mail_buf *b, size_t *len)
{
	char *p;

	if (b->p == NULL)
		rc_mail_buf_add(b, "", 0);
	p = b->p;
	if (len != NULL)
		*len = b->len;
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

void
rc_mail_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Checks ------------------------------------------------------------- */

/* RFC 5322 3.2.3 atext, plus '.' for dot-atoms. */
static bool
is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' && strchr(".!#$%&'*+-/=?^_`{|}~", c));
}

bool
rc_mail_addr_valid(const char *addr)
{
	const char *at, *p;
	size_t len;

	if (addr == NULL || (len = strlen(addr)) > 254)
		return false;
	if ((at = strchr(addr, '@')) == NULL || strchr(at + 1, '@') != NULL)
		return false;
	if (at == addr || at - addr > 64 || at[1] == '\0')
		return false;
	for (p = addr; p < at; p++)
		if (!is_atext((unsigned char)*p))
			return false;
	for (p = at + 1; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return false;
	}
	return at[1] != '.' && addr[len - 1] != '.';
}

/* Header text: valid UTF-8 without CR, LF or other controls (a CR/LF is
 * how header injection starts). */
static rc_status
check_header_text(const char *what, const char *s, char *err, size_t errlen)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '\r' || *p == '\n') {
			rc_mail_seterr(err, errlen, "%s contains CR or LF", what);
			return RC_ERR;
		}
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f) {
			rc_mail_seterr(err, errlen, "%s contains a control character", what);
			return RC_ERR;
		}
	}
	if (!rc_utf8_valid(s, strlen(s))) {
		rc_mail_seterr(err, errlen, "%s is not valid UTF-8", what);
		return RC_ERR;
	}
	return RC_OK;
}

static bool
is_printable_ascii(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

/* Header folding ------------------------------------------------------ */

struct hdr {
	struct rc_mail_buf	*b;
	size_t			 col;
	size_t			 start;	/* column after "Name: " */
};

static void
hdr_begin(struct hdr *h, struct rc_mail_buf *b, const char *name)
{
	h->b = b;
	rc_mail_buf_adds(b, name);
	rc_mail_buf_adds(b, ": ");
	h->col = h->start = strlen(name) + 2;
}

/* Appends sep + tok; folds (CRLF before sep) when the line would pass 78
 * columns. RFC 5322 3.2.2: a fold goes before whitespace, so a token with
 * an empty sep never folds. */
static void
hdr_token(struct hdr *h, const char *sep, const char *tok, size_t n)
{
	size_t seplen = strlen(sep);

	if (seplen > 0 && h->col > h->start && h->col + seplen + n > LINE_MAX_SOFT) {
		rc_mail_buf_add(h->b, "\r\n", 2);
		h->col = 0;
	}
	rc_mail_buf_add(h->b, sep, seplen);
	rc_mail_buf_add(h->b, tok, n);
	h->col += seplen + n;
}

static void
hdr_end(struct hdr *h)
{
	rc_mail_buf_add(h->b, "\r\n", 2);
}

/* RFC 2047 B encoded-words of whole UTF-8 characters (6.3), each a token. */
static void
hdr_encoded_words(struct hdr *h, const char *s, bool first)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s), i = 0;

	while (i < n) {
		char word[12 + sodium_base64_ENCODED_LEN(EW_RAW_MAX,
		    sodium_base64_VARIANT_ORIGINAL)];
		size_t take = 0, l;

		while (i + take < n) {
			l = rc_utf8_seq_len(u + i + take, n - i - take);
			assert(l > 0);	/* checked by check_header_text */
			if (take + l > EW_RAW_MAX)
				break;
			take += l;
		}
		memcpy(word, "=?UTF-8?B?", 10);
		sodium_bin2base64(word + 10, sizeof(word) - 12, u + i, take,
		    sodium_base64_VARIANT_ORIGINAL);
		strcat(word, "?=");
		hdr_token(h, first ? "" : " ", word, strlen(word));
		first = false;
		i += take;
	}
}

/* Unstructured text (Subject): plain and folded at spaces when it is tidy
 * printable ASCII, otherwise encoded-words. */
static void
hdr_unstructured(struct hdr *h, const char *s)
{
	size_t n = strlen(s);
	const char *p, *sp;
	bool tidy;

	tidy = is_printable_ascii(s, n) && strstr(s, "=?") == NULL &&
	    strstr(s, "  ") == NULL && (n == 0 || (s[0] != ' ' && s[n - 1] != ' '));
	for (p = s; tidy && *p != '\0'; p = sp + (*sp != '\0')) {
		sp = strchr(p, ' ');
		if (sp == NULL)
			sp = p + strlen(p);
		if ((size_t)(sp - p) > WORD_MAX)
			tidy = false;
	}
	if (!tidy) {
		hdr_encoded_words(h, s, true);
		return;
	}
	for (p = s; *p != '\0'; p = sp + (*sp != '\0')) {
		sp = strchr(p, ' ');
		if (sp == NULL)
			sp = p + strlen(p);
		hdr_token(h, p == s ? "" : " ", p, (size_t)(sp - p));
	}
}

/* A mailbox (RFC 5322 3.4): "Display Name" <addr>, or the bare addr. */
static void
hdr_mailbox(struct hdr *h, const char *name, const char *addr, bool first)
{
	struct rc_mail_buf q = { 0 };
	char *angle;
	size_t nlen = name ? strlen(name) : 0;
	const char *p;

	if (nlen == 0) {
		hdr_token(h, first ? "" : " ", addr, strlen(addr));
		return;
	}
	if (is_printable_ascii(name, nlen) && nlen + 2 + h->start < LINE_MAX_SOFT - 8) {
		rc_mail_buf_add(&q, "\"", 1);
		for (p = name; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				rc_mail_buf_add(&q, "\\", 1);
			rc_mail_buf_add(&q, p, 1);
		}
		rc_mail_buf_add(&q, "\"", 1);
		hdr_token(h, first ? "" : " ", q.p, q.len);
		rc_mail_buf_wipe(&q);
	} else {
		hdr_encoded_words(h, name, first);
	}
	angle = rc_asprintf("<%s>", addr);
	hdr_token(h, " ", angle, strlen(angle));
	free(angle);
}

/* Headers -------------------------------------------------------------- */

/* RFC 5322 3.3, always UTC; names spelled out so the locale cannot matter. */
static void
add_date(struct rc_mail_buf *b)
{
	static const char *const days[] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat",
	};
	static const char *const months[] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
	};
	time_t now = time(NULL);
	struct tm tm;
	char line[64];

	gmtime_r(&now, &tm);
	snprintf(line, sizeof(line), "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
	rc_mail_buf_adds(b, line);
}

static bool
stable_id(const char *id)
{
	size_t n = id != NULL ? strlen(id) : 0;

	return n > 0 && n <= 64 && strspn(id, "0123456789abcdef") == n;
}

/* RFC 5322 3.6.4: <id@domain of the sender>, id the message's stable one
 * or random. The hex part also names the spool file. */
static void
add_message_id(struct rc_mail_buf *b, const struct rc_mail_message *m)
{
	unsigned char rnd[16];
	char hex[2 * sizeof(rnd) + 1];

	rc_random_bytes(rnd, sizeof(rnd));
	rc_hex_encode(rnd, sizeof(rnd), hex);
	rc_mail_buf_adds(b, "Message-ID: <");
	rc_mail_buf_adds(b, stable_id(m->id) ? m->id : hex);
	rc_mail_buf_adds(b, strchr(m->from, '@'));
	rc_mail_buf_adds(b, ">\r\n");
}

static void
add_headers(struct rc_mail_buf *b, const struct rc_mail_message *m)
{
	struct hdr h;
	size_t i;

	add_date(b);
	hdr_begin(&h, b, "From");
	hdr_mailbox(&h, m->from_name, m->from, true);
	hdr_end(&h);
	hdr_begin(&h, b, "To");
	for (i = 0; i < m->nto; i++) {
		char *tok = rc_asprintf("%s%s", m->to[i], i + 1 < m->nto ? "," : "");

		hdr_token(&h, i == 0 ? "" : " ", tok, strlen(tok));
		free(tok);
	}
	hdr_end(&h);
	hdr_begin(&h, b, "Subject");
	hdr_unstructured(&h, m->subject);
	hdr_end(&h);
	add_message_id(b, m);
	rc_mail_buf_adds(b, "MIME-Version: 1.0\r\n");
	/* RFC 3834: machine-sent, so vacation responders stay quiet. */
	rc_mail_buf_adds(b, "Auto-Submitted: auto-generated\r\n");
}

/* Bodies --------------------------------------------------------------- */

/* The quoted-printable form of line[i] when it lands on column col. */
static size_t
qp_unit(const unsigned char *line, size_t i, size_t n, size_t col, char out[4])
{
	unsigned char c = line[i];
	bool lit;

	if (c == ' ' || c == '\t')
		lit = i + 1 < n;	/* RFC 2045 6.7 (3): no trailing space */
	else
		lit = c >= 33 && c <= 126 && c != '=';
	/* A '.' or "From " opening a line trips SMTP and mbox readers. */
	if (col == 0 && (c == '.' ||
	    (c == 'F' && n - i >= 5 && memcmp(line + i, "From ", 5) == 0)))
		lit = false;
	if (lit) {
		out[0] = (char)c;
		return 1;
	}
	snprintf(out, 4, "=%02X", c);
	return 3;
}

/* Quoted-printable with CRLF for every line break (LF, CR or CRLF) and
 * soft breaks keeping lines within 76 characters (RFC 2045 6.7). */
static void
qp_encode(struct rc_mail_buf *b, const char *text)
{
	const unsigned char *p = (const unsigned char *)text;

	while (*p != '\0') {
		size_t n = strcspn((const char *)p, "\r\n"), col = 0, i, ul;
		char u[4];

		for (i = 0; i < n; i++) {
			ul = qp_unit(p, i, n, col, u);
			if (col + ul > QP_LINE_MAX - 1) {	/* room for '=' */
				rc_mail_buf_add(b, "=\r\n", 3);
				col = 0;
				ul = qp_unit(p, i, n, col, u);
			}
			rc_mail_buf_add(b, u, ul);
			col += ul;
		}
		rc_mail_buf_add(b, "\r\n", 2);
		p += n;
		if (p[0] == '\r' && p[1] == '\n')
			p += 2;
		else if (*p != '\0')
			p++;
	}
}

/* Base64 in 76-character lines (RFC 2045 6.8). */
static void
b64_encode(struct rc_mail_buf *b, const unsigned char *data, size_t len)
{
	char line[sodium_base64_ENCODED_LEN(B64_RAW_LINE,
	    sodium_base64_VARIANT_ORIGINAL)];
	size_t off, n;

	for (off = 0; off < len; off += n) {
		n = len - off < B64_RAW_LINE ? len - off : B64_RAW_LINE;
		sodium_bin2base64(line, sizeof(line), data + off, n,
		    sodium_base64_VARIANT_ORIGINAL);
		rc_mail_buf_adds(b, line);
		rc_mail_buf_add(b, "\r\n", 2);
	}
}

static void
add_text_part(struct rc_mail_buf *b, const char *text)
{
	rc_mail_buf_adds(b, "Content-Type: text/plain; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
	qp_encode(b, text);
}

/* RFC 2231 attribute-char: what a parameter value may hold unencoded. */
static bool
is_attr_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$&+-.^_`|~", c));
}

/* RFC 2045 5.1 token: printable ASCII but space and tspecials. */
static bool
is_token_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* Content-Disposition with the file name: a quoted string when short
 * ASCII, else RFC 2231 UTF-8 percent-encoding split into continuations. */
static void
add_disposition(struct rc_mail_buf *b, const char *fn)
{
	const unsigned char *p = (const unsigned char *)fn;
	size_t n = strlen(fn), k = 0, clen = 0, budget = 0;
	char line[64];

	rc_mail_buf_adds(b, "Content-Disposition: attachment;\r\n");
	if (is_printable_ascii(fn, n) && n <= FN_QUOTED_MAX) {
		rc_mail_buf_adds(b, " filename=\"");
		for (; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				rc_mail_buf_add(b, "\\", 1);
			rc_mail_buf_add(b, p, 1);
		}
		rc_mail_buf_adds(b, "\"\r\n");
		return;
	}
	for (; *p != '\0'; p++) {
		size_t ul = is_attr_char(*p) ? 1 : 3;

		if (clen == 0 || clen + ul > budget) {
			snprintf(line, sizeof(line), " filename*%zu*=%s", k,
			    k == 0 ? "UTF-8''" : "");
			if (k > 0)
				rc_mail_buf_adds(b, ";\r\n");
			rc_mail_buf_adds(b, line);
			/* The line ends in ';' unless it is the last. */
			budget = LINE_MAX_SOFT - strlen(line) - 1;
			k++;
			clen = 0;
		}
		if (ul == 1)
			rc_mail_buf_add(b, p, 1);
		else {
			snprintf(line, sizeof(line), "%%%02X", *p);
			rc_mail_buf_adds(b, line);
		}
		clen += ul;
	}
	rc_mail_buf_adds(b, "\r\n");
}

static void
add_attachment_part(struct rc_mail_buf *b, const struct rc_mail_attachment *a)
{
	rc_mail_buf_adds(b, "Content-Type: ");
	rc_mail_buf_adds(b, a->content_type);
	rc_mail_buf_adds(b, "\r\n");
	add_disposition(b, a->filename);
	rc_mail_buf_adds(b, "Content-Transfer-Encoding: base64\r\n\r\n");
	b64_encode(b, a->data, a->len);
}

/* Validation ------------------------------------------------------------ */

static rc_status
check_attachment(const struct rc_mail_attachment *a, char *err, size_t errlen)
{
	const char *ct = a->content_type, *p;
	size_t fnlen;

	if (a->filename == NULL || (fnlen = strlen(a->filename)) == 0 ||
	    fnlen > FILENAME_MAX_BYTES) {
		rc_mail_seterr(err, errlen, "attachment filename missing or too long");
		return RC_ERR;
	}
	if (check_header_text("attachment filename", a->filename, err, errlen) != RC_OK)
		return RC_ERR;
	if (strpbrk(a->filename, "/\\") != NULL) {
		rc_mail_seterr(err, errlen, "attachment filename contains a path separator");
		return RC_ERR;
	}
	if (ct == NULL || strlen(ct) > CTYPE_MAX ||
	    check_header_text("attachment content type", ct, err, errlen) != RC_OK ||
	    !is_printable_ascii(ct, strlen(ct))) {
		rc_mail_seterr(err, errlen, "attachment content type invalid");
		return RC_ERR;
	}
	/* RFC 2045 5.1: type "/" subtype, both tokens, then parameters. */
	for (p = ct; is_token_char((unsigned char)*p); p++)
		;
	if (p == ct || *p++ != '/' || !is_token_char((unsigned char)*p)) {
		rc_mail_seterr(err, errlen, "attachment content type invalid");
		return RC_ERR;
	}
	while (is_token_char((unsigned char)*p))
		p++;
	if (*p != '\0' && *p != ';') {
		rc_mail_seterr(err, errlen, "attachment content type invalid");
		return RC_ERR;
	}
	if (a->data == NULL && a->len > 0) {
		rc_mail_seterr(err, errlen, "attachment data missing");
		return RC_ERR;
	}
	return RC_OK;
}

static rc_status
check_message(const struct rc_mail_message *m, char *err, size_t errlen)
{
	size_t i;

	if (!rc_mail_addr_valid(m->from)) {
		rc_mail_seterr(err, errlen, "from address invalid");
		return RC_ERR;
	}
	if (m->from_name != NULL && strlen(m->from_name) > NAME_MAX_BYTES) {
		rc_mail_seterr(err, errlen, "from name too long");
		return RC_ERR;
	}
	if (m->from_name != NULL &&
	    check_header_text("from name", m->from_name, err, errlen) != RC_OK)
		return RC_ERR;
	if (m->nto == 0 || m->nto > RC_MAIL_MAX_RCPT || m->to == NULL) {
		rc_mail_seterr(err, errlen, "need 1 to %d recipients", RC_MAIL_MAX_RCPT);
		return RC_ERR;
	}
	for (i = 0; i < m->nto; i++)
		if (!rc_mail_addr_valid(m->to[i])) {
			rc_mail_seterr(err, errlen, "recipient %zu address invalid", i + 1);
			return RC_ERR;
		}
	if (m->subject == NULL || strlen(m->subject) > SUBJECT_MAX_BYTES) {
		rc_mail_seterr(err, errlen, "subject missing or too long");
		return RC_ERR;
	}
	if (check_header_text("subject", m->subject, err, errlen) != RC_OK)
		return RC_ERR;
	if (m->text == NULL || !rc_utf8_valid(m->text, strlen(m->text))) {
		rc_mail_seterr(err, errlen, "text missing or not valid UTF-8");
		return RC_ERR;
	}
	if (m->natt > 0 && m->att == NULL) {
		rc_mail_seterr(err, errlen, "attachments missing");
		return RC_ERR;
	}
	for (i = 0; i < m->natt; i++)
		if (check_attachment(&m->att[i], err, errlen) != RC_OK)
			return RC_ERR;
	return RC_OK;
}

/* Public ---------------------------------------------------------------- */

rc_status
rc_mail_build(const struct rc_mail_message *m, char **out, size_t *outlen,
    char *err, size_t errlen)
{
	struct rc_mail_buf b = { 0 };
	unsigned char rnd[16];
	char hex[2 * sizeof(rnd) + 1];
	size_t i;

	*out = NULL;
	if (outlen != NULL)
		*outlen = 0;
	if (check_message(m, err, errlen) != RC_OK)
		return RC_ERR;
	add_headers(&b, m);
	if (m->natt == 0) {
		add_text_part(&b, m->text);
		*out = rc_mail_buf_take(&b, outlen);
		return RC_OK;
	}
	/* "=_" never occurs in quoted-printable or base64 output, so the
	 * boundary cannot collide with a part (RFC 2046 5.1.1). */
	rc_random_bytes(rnd, sizeof(rnd));
	rc_hex_encode(rnd, sizeof(rnd), hex);
	rc_mail_buf_adds(&b, "Content-Type: multipart/mixed;\r\n boundary=\"=_rc_");
	rc_mail_buf_adds(&b, hex);
	rc_mail_buf_adds(&b, "\"\r\n\r\nThis is a multi-part message in MIME format.\r\n");
	for (i = 0; i <= m->natt; i++) {
		rc_mail_buf_adds(&b, "--=_rc_");
		rc_mail_buf_adds(&b, hex);
		rc_mail_buf_adds(&b, "\r\n");
		if (i == 0)
			add_text_part(&b, m->text);
		else
			add_attachment_part(&b, &m->att[i - 1]);
	}
	rc_mail_buf_adds(&b, "--=_rc_");
	rc_mail_buf_adds(&b, hex);
	rc_mail_buf_adds(&b, "--\r\n");
	*out = rc_mail_buf_take(&b, outlen);
	return RC_OK;
}
