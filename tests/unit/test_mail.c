/* Tests of the mail module: message building (headers, encodings, header
 * injection), templates, the spool, and SMTP against a real server
 * (tests/api/smtp_sink.py, started here; if it cannot start, tests fail). */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "rollcall/mail.h"
#include "rollcall/util.h"

static const char *const two_rcpt[] = { "alice@example.com", "bob@example.net" };

/* Helpers: parsing what we built -------------------------------------- */

/* The unfolded value of header name in msg's header block; new string. */
static char *
header_value(const char *msg, const char *name)
{
	const char *end = strstr(msg, "\r\n\r\n"), *p = msg;
	size_t nlen = strlen(name);
	char *out = NULL;
	size_t len = 0;

	assert_non_null(end);
	while (p < end) {
		const char *eol = strstr(p, "\r\n");

		if (out == NULL && strncmp(p, name, nlen) == 0 && p[nlen] == ':') {
			p += nlen + 1;
			if (*p == ' ')
				p++;
			out = rc_strndup(p, (size_t)(eol - p));
			len = strlen(out);
		} else if (out != NULL && (*p == ' ' || *p == '\t')) {
			/* RFC 5322 2.2.3: unfolding removes the CRLF only. */
			out = rc_realloc(out, len + (size_t)(eol - p) + 1);
			memcpy(out + len, p, (size_t)(eol - p));
			len += (size_t)(eol - p);
			out[len] = '\0';
		} else if (out != NULL) {
			break;
		}
		p = eol + 2;
	}
	return out;
}

/* Decodes a header value made of RFC 2047 B encoded-words (whitespace
 * between adjacent words is dropped, 6.2) or plain text; new string. */
static char *
decode_words(const char *v)
{
	char *out = rc_calloc(1, strlen(v) + 1);
	size_t o = 0;
	int prev_word = 0;

	while (*v != '\0') {
		if (strncmp(v, "=?UTF-8?B?", 10) == 0) {
			const char *end = strstr(v + 10, "?=");
			size_t binlen;

			assert_non_null(end);
			assert_int_equal(sodium_base642bin((unsigned char *)out + o,
			    strlen(v), v + 10, (size_t)(end - v - 10), NULL, &binlen,
			    NULL, sodium_base64_VARIANT_ORIGINAL), 0);
			o += binlen;
			v = end + 2;
			prev_word = 1;
			continue;
		}
		if (*v == ' ' && prev_word && strncmp(v + 1, "=?", 2) == 0) {
			v++;
			continue;
		}
		prev_word = 0;
		out[o++] = *v++;
	}
	out[o] = '\0';
	return out;
}

/* Quoted-printable decoding (RFC 2045 6.7); new string. */
static char *
qp_decode(const char *s, size_t n)
{
	char *out = rc_malloc(n + 1);
	size_t i = 0, o = 0;

	while (i < n) {
		if (s[i] == '=' && i + 2 < n + 1 && s[i + 1] == '\r' && s[i + 2] == '\n') {
			i += 3;
		} else if (s[i] == '=') {
			char hex[3] = { s[i + 1], s[i + 2], 0 };

			out[o++] = (char)strtol(hex, NULL, 16);
			i += 3;
		} else {
			out[o++] = s[i++];
		}
	}
	out[o] = '\0';
	return out;
}

/* Every CR is followed by LF and every LF preceded by CR; no line over max
 * (max 0: no check), counting from start. */
static void
assert_crlf_lines(const char *s, size_t len, size_t max)
{
	size_t i, col = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == '\r') {
			assert_true(i + 1 < len && s[i + 1] == '\n');
			if (max > 0 && col > max)
				fail_msg("line of %zu chars: %.*s", col, (int)col, s + i - col);
			col = 0;
			i++;
			continue;
		}
		assert_true(s[i] != '\n');
		col++;
	}
	assert_int_equal(col, 0);	/* ends with CRLF */
}

static char *
build_ok(const struct rc_mail_message *m, size_t *len)
{
	char err[RC_MAIL_ERRLEN] = "", *out = NULL;

	if (rc_mail_build(m, &out, len, err, sizeof(err)) != RC_OK)
		fail_msg("rc_mail_build: %s", err);
	assert_non_null(out);
	assert_int_equal(strlen(out), *len);
	return out;
}

/* Building ---------------------------------------------------------------- */

static void
test_build_headers(void **state)
{
	const char *text = "Hello Zoë,\n\nGrüße aus Köln.\n.leading dot\nFrom here\n"
	    "trailing space \nA very long line that goes on and on and on and on "
	    "and on and on and on and on and on and on and on and on = end\r\n";
	struct rc_mail_message m = {
		.from = "noreply@rollcall.example.org", .from_name = "rollcall",
		.to = two_rcpt, .nto = 2, .subject = "Plain subject", .text = text,
	};
	char *msg, *v, *body, *want;
	size_t len;
	const char *sep;

	(void)state;
	msg = build_ok(&m, &len);
	assert_crlf_lines(msg, len, 78);
	sep = strstr(msg, "\r\n\r\n");
	assert_non_null(sep);

	v = header_value(msg, "Date");
	assert_non_null(v);
	assert_int_equal(strlen(v), strlen("Tue, 07 May 2024 10:15:00 +0000"));
	assert_string_equal(v + strlen(v) - 5, "+0000");
	assert_true(v[3] == ',' && v[4] == ' ');
	free(v);
	v = header_value(msg, "Message-ID");
	assert_non_null(v);
	assert_int_equal(strlen(v), 1 + 32 + strlen("@rollcall.example.org") + 1);
	assert_true(v[0] == '<' && strspn(v + 1, "0123456789abcdef") == 32);
	assert_string_equal(v + 33, "@rollcall.example.org>");
	free(v);
	v = header_value(msg, "From");
	assert_string_equal(v, "\"rollcall\" <noreply@rollcall.example.org>");
	free(v);
	v = header_value(msg, "To");
	assert_string_equal(v, "alice@example.com, bob@example.net");
	free(v);
	v = header_value(msg, "Subject");
	assert_string_equal(v, "Plain subject");
	free(v);
	v = header_value(msg, "MIME-Version");
	assert_string_equal(v, "1.0");
	free(v);
	v = header_value(msg, "Content-Type");
	assert_string_equal(v, "text/plain; charset=UTF-8");
	free(v);
	v = header_value(msg, "Content-Transfer-Encoding");
	assert_string_equal(v, "quoted-printable");
	free(v);

	/* The body is 7-bit, lines <= 76, and decodes to the text with CRLF. */
	body = (char *)(uintptr_t)(sep + 4);
	assert_crlf_lines(body, strlen(body), 76);
	for (const char *p = body; *p; p++)
		assert_true((unsigned char)*p < 0x80);
	assert_null(strstr(body, "\r\n."));	/* no dot-stuffing needed */
	assert_null(strstr(body, "\r\nFrom "));
	assert_null(strstr(body, " \r\n"));	/* RFC 2045 6.7 (3) */
	v = qp_decode(body, strlen(body));
	want = "Hello Zoë,\r\n\r\nGrüße aus Köln.\r\n.leading dot\r\nFrom here\r\n"
	    "trailing space \r\nA very long line that goes on and on and on and on "
	    "and on and on and on and on and on and on and on and on = end\r\n";
	assert_string_equal(v, want);
	free(v);
	free(msg);
}

static void
test_build_utf8_subject(void **state)
{
	const char *subj = "Zeiterfassung für März — ✓ 日本語のテキスト, "
	    "a long subject that needs several encoded words to fit 😀";
	const char *long_ascii = "This ASCII subject is long enough that it has to "
	    "be folded over more than one line of the header block, twice even "
	    "when it comes to that";
	struct rc_mail_message m = {
		.from = "a@example.org", .from_name = "Zoë \"Z\" Ünal",
		.to = two_rcpt, .nto = 1, .subject = subj, .text = "x",
	};
	char *msg, *v, *d;
	size_t len;

	(void)state;
	msg = build_ok(&m, &len);
	assert_crlf_lines(msg, len, 78);
	v = header_value(msg, "Subject");
	assert_non_null(strstr(v, "=?UTF-8?B?"));
	for (const char *p = v; *p; p++)
		assert_true((unsigned char)*p < 0x80);
	d = decode_words(v);
	assert_string_equal(d, subj);
	free(d);
	free(v);
	v = header_value(msg, "From");
	assert_non_null(strstr(v, " <a@example.org>"));
	*strstr(v, " <a@example.org>") = '\0';
	d = decode_words(v);
	assert_string_equal(d, "Zoë \"Z\" Ünal");
	free(d);
	free(v);
	free(msg);

	/* Long ASCII: folded at spaces, unfolds to the original. */
	m.subject = long_ascii;
	m.from_name = "A \"quoted\" \\ name";
	msg = build_ok(&m, &len);
	assert_crlf_lines(msg, len, 78);
	v = header_value(msg, "Subject");
	assert_string_equal(v, long_ascii);
	free(v);
	v = header_value(msg, "From");
	assert_string_equal(v, "\"A \\\"quoted\\\" \\\\ name\" <a@example.org>");
	free(v);
	free(msg);
}

static void
expect_refused(const struct rc_mail_message *m, const char *why)
{
	char err[RC_MAIL_ERRLEN] = "", *out = (char *)1;
	size_t len = 99;

	assert_int_equal(rc_mail_build(m, &out, &len, err, sizeof(err)), RC_ERR);
	assert_null(out);
	assert_int_equal(len, 0);
	if (strstr(err, why) == NULL)
		fail_msg("error \"%s\" does not say \"%s\"", err, why);
}

static void
test_build_refuses_injection(void **state)
{
	static const char *const evil_to[] = { "a@example.com\r\nBcc: x@evil.test" };
	static const char *const at2[] = { "a@b@example.com" };
	static const char *const no_at[] = { "example.com" };
	static const char *const empty_local[] = { "@example.com" };
	struct rc_mail_attachment att = { "r.csv", "text/csv", (const unsigned char *)"x", 1 };
	const struct rc_mail_message good = {
		.from = "a@example.org", .to = two_rcpt, .nto = 1,
		.subject = "s", .text = "t",
	};
	struct rc_mail_message m;

	(void)state;
	m = good, m.subject = "Hi\r\nBcc: victim@example.com";
	expect_refused(&m, "subject contains CR or LF");
	m = good, m.subject = "Hi\nX: y";
	expect_refused(&m, "CR or LF");
	m = good, m.from_name = "Admin\r\nReply-To: evil@evil.test";
	expect_refused(&m, "from name contains CR or LF");
	m = good, m.to = evil_to;
	expect_refused(&m, "recipient 1 address invalid");
	m = good, m.to = at2;
	expect_refused(&m, "address invalid");
	m = good, m.to = no_at;
	expect_refused(&m, "address invalid");
	m = good, m.to = empty_local;
	expect_refused(&m, "address invalid");
	m = good, m.from = "a@b\r\n@c";
	expect_refused(&m, "from address invalid");
	m = good, m.from = "a@";
	expect_refused(&m, "from address invalid");
	m = good, m.nto = 0;
	expect_refused(&m, "recipients");
	m = good, m.subject = "bad \xc3\x28 utf8";
	expect_refused(&m, "subject is not valid UTF-8");
	m = good, m.subject = "bell \a";
	expect_refused(&m, "control character");
	m = good, m.text = "overlong \xc0\xaf";
	expect_refused(&m, "UTF-8");
	m = good, m.att = &att, m.natt = 1;
	att.filename = "r.csv\r\nX-Evil: 1";
	expect_refused(&m, "attachment filename contains CR or LF");
	att.filename = "../etc/passwd";
	expect_refused(&m, "path separator");
	att.filename = "r.csv";
	att.content_type = "text/csv\r\nX-Evil: 1";
	expect_refused(&m, "content type");
	att.content_type = "textcsv";
	expect_refused(&m, "content type");
}

/* The part of a multipart body that follows the n-th delimiter. */
static const char *
mime_part(const char *msg, const char *boundary, int n)
{
	char delim[128];
	const char *p = msg;

	snprintf(delim, sizeof(delim), "\r\n--%s\r\n", boundary);
	while (n-- > 0) {
		p = strstr(p, delim);
		assert_non_null(p);
		p += strlen(delim);
	}
	return p;
}

static void
test_build_attachment_roundtrip(void **state)
{
	unsigned char data[1000], *back;
	struct rc_mail_attachment att[2] = {
		{ "Bericht März 2024 — Übersicht für alle Abteilungen.csv",
		  "text/csv; charset=UTF-8", data, sizeof(data) },
		{ "empty \"q\".bin", "application/octet-stream", NULL, 0 },
	};
	struct rc_mail_message m = {
		.from = "a@example.org", .to = two_rcpt, .nto = 2,
		.subject = "Report", .text = "See attached.\n", .att = att, .natt = 2,
	};
	char *msg, *ct, boundary[64], *b64, *o;
	const char *part, *body, *end;
	size_t len, i, blen;

	(void)state;
	for (i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7);
	msg = build_ok(&m, &len);
	assert_crlf_lines(msg, len, 78);
	ct = header_value(msg, "Content-Type");
	assert_int_equal(sscanf(ct, "multipart/mixed; boundary=\"%63[^\"]\"", boundary), 1);
	assert_true(strlen(boundary) >= 20);
	free(ct);

	part = mime_part(msg, boundary, 1);
	assert_true(strncmp(part, "Content-Type: text/plain; charset=UTF-8\r\n", 41) == 0);
	part = mime_part(msg, boundary, 2);
	assert_true(strncmp(part, "Content-Type: text/csv; charset=UTF-8\r\n", 39) == 0);
	/* RFC 2231 continuations of the percent-encoded UTF-8 name. */
	assert_non_null(strstr(part, " filename*0*=UTF-8''Bericht%20M%C3%A4rz"));
	assert_non_null(strstr(part, " filename*1*="));
	assert_non_null(strstr(part, "Content-Transfer-Encoding: base64\r\n\r\n"));
	body = strstr(part, "\r\n\r\n") + 4;
	end = strstr(body, "\r\n--");
	assert_non_null(end);
	/* Every base64 line is at most 76 characters. */
	for (const char *p = body; p < end; p = strstr(p, "\r\n") + 2)
		assert_true(strstr(p, "\r\n") - p <= 76);
	b64 = rc_strndup(body, (size_t)(end - body + 2));
	back = rc_malloc(sizeof(data));
	assert_int_equal(sodium_base642bin(back, sizeof(data), b64, strlen(b64),
	    "\r\n", &blen, NULL, sodium_base64_VARIANT_ORIGINAL), 0);
	assert_int_equal(blen, sizeof(data));
	assert_memory_equal(back, data, sizeof(data));
	free(back);
	free(b64);

	part = mime_part(msg, boundary, 3);
	assert_non_null(strstr(part, " filename=\"empty \\\"q\\\".bin\"\r\n"));
	o = strstr(part, "\r\n\r\n");
	assert_true(strncmp(o + 4, "--", 2) == 0);	/* empty body */
	snprintf(boundary + strlen(boundary), sizeof(boundary) - strlen(boundary), "--\r\n");
	assert_string_equal(msg + len - strlen(boundary), boundary);
	free(msg);
}

/* Templates --------------------------------------------------------------- */

static void
test_templates_fill(void **state)
{
	json_t *v = json_pack("{s:s, s:s, s:s, s:s}", "name", "Zoë",
	    "email", "zoe@example.com", "temporary_password", "Tmp-9x!Q",
	    "sign_in_url", "https://rollcall.example.com/login");
	char *subject, *body;

	(void)state;
	assert_int_equal(rc_mail_render("credentials", v, &subject, &body), RC_OK);
	assert_string_equal(subject, "Your rollcall account");
	assert_non_null(strstr(body, "Hello Zoë,"));
	assert_non_null(strstr(body, "zoe@example.com"));
	assert_non_null(strstr(body, "Temporary password:  Tmp-9x!Q\n"));
	assert_non_null(strstr(body, "https://rollcall.example.com/login"));
	assert_non_null(strstr(body, "you will be asked to change it"));
	assert_null(strstr(body, "{{"));
	sodium_memzero(body, strlen(body));
	free(subject);
	free(body);
	json_decref(v);

	v = json_pack("{s:s, s:i}", "code", "123456", "minutes", 15);
	assert_int_equal(rc_mail_render("reset_code", v, &subject, &body), RC_OK);
	assert_non_null(strstr(body, "  123456\n"));
	assert_non_null(strstr(body, "valid for 15 minutes"));
	free(subject);
	free(body);
	json_decref(v);

	v = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "name", "Bo",
	    "decision", "approved", "leave_type", "Annual", "start_date",
	    "2024-05-01", "end_date", "2024-05-03", "decided_by", "Ann",
	    "comment", "Enjoy");
	assert_int_equal(rc_mail_render("leave_decided", v, &subject, &body), RC_OK);
	assert_string_equal(subject, "Your leave request was approved");
	assert_non_null(strstr(body, "(Annual, 2024-05-01 to 2024-05-03)\nwas approved by Ann."));
	free(subject);
	free(body);
	json_decref(v);

	v = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "approver_name", "Ann",
	    "requester_name", "Bo", "leave_type", "Sick", "start_date", "2024-05-01",
	    "end_date", "2024-05-01", "reason", "flu", "review_url", "https://x/r/1");
	assert_int_equal(rc_mail_render("leave_requested", v, &subject, &body), RC_OK);
	assert_string_equal(subject, "Leave request from Bo");
	free(subject);
	free(body);
	json_decref(v);

	v = json_pack("{s:s, s:s, s:s}", "name", "Ann", "org_name", "Acme", "month", "2024-04");
	assert_int_equal(rc_mail_render("report", v, &subject, &body), RC_OK);
	assert_string_equal(subject, "rollcall report for 2024-04");
	assert_non_null(strstr(body, "report of Acme for 2024-04."));
	free(subject);
	free(body);
	json_decref(v);
}

static void
test_templates_refuse_missing(void **state)
{
	json_t *v = json_pack("{s:s, s:s, s:s}", "name", "Zoë",
	    "email", "zoe@example.com", "sign_in_url", "https://x");
	char *subject = (char *)1, *body = (char *)1;

	(void)state;
	/* temporary_password missing: an error, not "password: ". */
	assert_int_equal(rc_mail_render("credentials", v, &subject, &body), RC_ERR);
	assert_null(subject);
	assert_null(body);
	/* Present but of the wrong type. */
	json_object_set_new(v, "temporary_password", json_array());
	assert_int_equal(rc_mail_render("credentials", v, &subject, &body), RC_ERR);
	json_object_set_new(v, "temporary_password", json_null());
	assert_int_equal(rc_mail_render("credentials", v, &subject, &body), RC_ERR);
	json_object_set_new(v, "temporary_password", json_string("ok"));
	assert_int_equal(rc_mail_render("credentials", v, &subject, &body), RC_OK);
	free(subject);
	free(body);
	/* The subject's own placeholders count too. */
	json_decref(v);
	v = json_object();
	assert_int_equal(rc_mail_render("report", v, &subject, &body), RC_ERR);
	assert_int_equal(rc_mail_render("no_such_template", v, &subject, &body), RC_ERR);
	assert_int_equal(rc_mail_render("reset_code", NULL, &subject, &body), RC_ERR);
	json_decref(v);
}

/* Spool --------------------------------------------------------------------- */

static int
rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void
rm_rf(const char *path)
{
	nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static int
count_files(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 &&
		    strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
test_spool_write(void **state)
{
	struct rc_mail_message m = {
		.from = "a@example.org", .to = two_rcpt, .nto = 1,
		.subject = "Spooled", .text = "secret: hunter2\n",
	};
	char tmpl[] = "/tmp/rc-mail-spool-XXXXXX", *dir, *msg, *path = NULL, *id, *file;
	char err[RC_MAIL_ERRLEN] = "", want[128];
	struct rc_mail_transport_config cfg = { 0 };
	struct stat st;
	size_t len, flen;
	const char *base;

	(void)state;
	assert_non_null(mkdtemp(tmpl));
	dir = rc_asprintf("%s/var/spool", tmpl);	/* two levels missing */
	msg = build_ok(&m, &len);
	if (rc_mail_spool_write(dir, msg, len, &path, err, sizeof(err)) != RC_OK)
		fail_msg("spool: %s", err);
	assert_non_null(path);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	file = rc_read_file(path, &flen);
	assert_non_null(file);
	assert_int_equal(flen, len);
	assert_memory_equal(file, msg, len);
	free(file);
	/* <message-id hex>.eml */
	id = header_value(msg, "Message-ID");
	snprintf(want, sizeof(want), "%.32s.eml", id + 1);
	base = strrchr(path, '/') + 1;
	assert_string_equal(base, want);
	free(id);
	assert_int_equal(count_files(dir, ".tmp-"), 0);	/* no leftovers */

	/* rc_mail_deliver spools when no URL is set; the same message again
	 * replaces its file. */
	cfg.spool_dir = dir;
	assert_int_equal(rc_mail_deliver(&cfg, m.from, m.to, 1, msg, len, err,
	    sizeof(err)), RC_MAIL_SENT);
	assert_int_equal(count_files(dir, ""), 1);
	/* An unwritable spool is a transient failure. */
	cfg.spool_dir = "/proc/rollcall-no-such/spool";
	assert_int_equal(rc_mail_deliver(&cfg, m.from, m.to, 1, msg, len, err,
	    sizeof(err)), RC_MAIL_TRANSIENT);
	assert_non_null(strstr(err, "spool"));
	free(path);
	free(msg);
	free(dir);
	rm_rf(tmpl);
}

/* A stable id (the outbox's job) makes the same Message-ID on every build,
 * so a redelivery replaces its spool file; a bad one falls back to random. */
static void
test_stable_message_id(void **state)
{
	struct rc_mail_message m = {
		.from = "a@example.org", .to = two_rcpt, .nto = 1,
		.subject = "Leave", .text = "first\n",
		.id = "3f2a9c0e5b7d4e1f8a6b2c9d0e1f2a3b",
	};
	char tmpl[] = "/tmp/rc-mail-id-XXXXXX", *msg, *msg2, *id, *path = NULL;
	char err[RC_MAIL_ERRLEN] = "", *file;
	const char *bad[] = { "", "ABC", "../x", "3f2a-9c", NULL };
	size_t len, len2, flen;
	int i;

	(void)state;
	assert_non_null(mkdtemp(tmpl));
	msg = build_ok(&m, &len);
	id = header_value(msg, "Message-ID");
	assert_string_equal(id, "<3f2a9c0e5b7d4e1f8a6b2c9d0e1f2a3b@example.org>");
	free(id);
	assert_int_equal(rc_mail_spool_write(tmpl, msg, len, NULL, err,
	    sizeof(err)), RC_OK);
	m.text = "second\n";		/* a redelivery, built again */
	msg2 = build_ok(&m, &len2);
	assert_int_equal(rc_mail_spool_write(tmpl, msg2, len2, &path, err,
	    sizeof(err)), RC_OK);
	assert_int_equal(count_files(tmpl, ""), 1);
	assert_string_equal(strrchr(path, '/') + 1,
	    "3f2a9c0e5b7d4e1f8a6b2c9d0e1f2a3b.eml");
	file = rc_read_file(path, &flen);
	assert_int_equal(flen, len2);
	assert_memory_equal(file, msg2, len2);
	free(file);
	free(path);
	free(msg);
	free(msg2);
	for (i = 0; bad[i] != NULL; i++) {
		m.id = bad[i];
		msg = build_ok(&m, &len);
		id = header_value(msg, "Message-ID");
		assert_int_equal(strlen(id), 1 + 32 + strlen("@example.org>"));
		assert_int_equal(strspn(id + 1, "0123456789abcdef"), 32);
		free(id);
		free(msg);
	}
	rm_rf(tmpl);
}

/* SMTP against tests/api/smtp_sink.py ------------------------------------- */

struct sink {
	pid_t	pid;
	int	port;
	char	root[64];
	char	dir[96];
};

/* The sink script: $RC_SMTP_SINK, ./tests/api, or beside the repo that
 * holds this binary (obj/<build>/tests/test_mail). */
static char *
sink_script(void)
{
	char exe[PATH_MAX], *p;
	ssize_t n;

	if (getenv("RC_SMTP_SINK") != NULL)
		return rc_strdup(getenv("RC_SMTP_SINK"));
	if (access("tests/api/smtp_sink.py", R_OK) == 0)
		return rc_strdup("tests/api/smtp_sink.py");
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	p = strrchr(exe, '/');
	*p = '\0';
	return rc_asprintf("%s/../../../tests/api/smtp_sink.py", exe);
}

/* Starts the sink with extra arguments; fails the test when it does not
 * say "ready PORT" within 20 s. */
static void
sink_start(struct sink *s, const char *arg1, const char *arg2)
{
	char *script = sink_script(), line[64] = "";
	int pfd[2];
	size_t got = 0;

	snprintf(s->root, sizeof(s->root), "/tmp/rc-mail-sink-XXXXXX");
	assert_non_null(mkdtemp(s->root));
	snprintf(s->dir, sizeof(s->dir), "%s/mail", s->root);
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		const char *argv[] = { "python3", script, "--port", "0", "--dir",
		    s->dir, arg1, arg2, NULL };

		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(pfd[1], STDOUT_FILENO);
		execv("/usr/bin/python3", (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	close(pfd[1]);
	free(script);
	while (got < sizeof(line) - 1 && strchr(line, '\n') == NULL) {
		struct pollfd pf = { .fd = pfd[0], .events = POLLIN };
		ssize_t n;

		if (poll(&pf, 1, 20000) <= 0)
			break;
		if ((n = read(pfd[0], line + got, sizeof(line) - 1 - got)) <= 0)
			break;
		got += (size_t)n;
		line[got] = '\0';
	}
	close(pfd[0]);
	if (sscanf(line, "ready %d", &s->port) != 1 || s->port <= 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
		rm_rf(s->root);
		fail_msg("smtp_sink.py did not start (said \"%s\")", line);
	}
}

static void
sink_stop(struct sink *s)
{
	int st;

	kill(s->pid, SIGTERM);
	assert_int_equal(waitpid(s->pid, &st, 0), s->pid);
	rm_rf(s->root);
}

/* The one message the sink stored, removed from its dir; new string. */
static char *
sink_read_one(const struct sink *s)
{
	DIR *d;
	struct dirent *e;
	char *path = NULL, *data;
	size_t len;

	assert_int_equal(count_files(s->dir, "0") + count_files(s->dir, "1"), 1);
	d = opendir(s->dir);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			path = rc_asprintf("%s/%s", s->dir, e->d_name);
	closedir(d);
	data = rc_read_file(path, &len);
	assert_non_null(data);
	assert_int_equal(unlink(path), 0);
	free(path);
	return data;
}

static char *
sink_url(const struct sink *s)
{
	return rc_asprintf("smtp://127.0.0.1:%d", s->port);
}

static void
test_smtp_delivers(void **state)
{
	struct rc_mail_message m = {
		.from = "noreply@rollcall.example.org", .from_name = "rollcall",
		.to = two_rcpt, .nto = 2, .subject = "Willkommen bei rollcall ✓",
		.text = "Line one\n.\n..two dots\nÜmlaut\n",
	};
	struct rc_mail_transport_config cfg = { .timeout_ms = 10000 };
	struct sink s;
	char err[RC_MAIL_ERRLEN] = "", *msg, *got, *want;
	size_t len;
	enum rc_mail_result r;

	(void)state;
	sink_start(&s, NULL, NULL);
	cfg.url = sink_url(&s);
	msg = build_ok(&m, &len);
	r = rc_mail_smtp_send(&cfg, m.from, m.to, m.nto, msg, len, err, sizeof(err));
	if (r != RC_MAIL_SENT)
		fail_msg("send: %d %s", r, err);
	/* The server got exactly our bytes (dot-stuffing undone), with the
	 * envelope the sink records in front. */
	got = sink_read_one(&s);
	want = rc_asprintf("X-Sink-Mail-From: noreply@rollcall.example.org\r\n"
	    "X-Sink-Rcpt-To: alice@example.com, bob@example.net\r\n%s", msg);
	assert_string_equal(got, want);
	free(want);
	free(got);
	free(msg);

	/* Raw bytes with lines opening in '.': curl dot-stuffs (RFC 5321
	 * 4.5.2), the server unstuffs, nothing ends the DATA early. */
	msg = "Subject: dots\r\n\r\n.\r\n..x\r\n.y\r\nend\r\n";
	r = rc_mail_smtp_send(&cfg, "a@example.org", two_rcpt, 1, msg,
	    strlen(msg), err, sizeof(err));
	if (r != RC_MAIL_SENT)
		fail_msg("send: %d %s", r, err);
	got = sink_read_one(&s);
	assert_string_equal(strstr(got, "Subject: dots"), msg);
	free(got);
	free((char *)(uintptr_t)cfg.url);
	sink_stop(&s);
}

static void
test_smtp_auth(void **state)
{
	struct rc_mail_transport_config cfg = {
		.username = "mailer", .password = "s3cret-pw", .timeout_ms = 10000,
	};
	struct rc_mail_message m = {
		.from = "a@example.org", .to = two_rcpt, .nto = 1,
		.subject = "auth", .text = "t",
	};
	struct sink s;
	char err[RC_MAIL_ERRLEN] = "", *msg, *got;
	size_t len;
	enum rc_mail_result r;

	(void)state;
	sink_start(&s, "--auth", "mailer:s3cret-pw");
	cfg.url = sink_url(&s);
	msg = build_ok(&m, &len);
	r = rc_mail_smtp_send(&cfg, m.from, m.to, 1, msg, len, err, sizeof(err));
	if (r != RC_MAIL_SENT)
		fail_msg("send: %d %s", r, err);
	got = sink_read_one(&s);
	assert_non_null(strstr(got, "Subject: auth\r\n"));
	free(got);
	/* Wrong password: a configuration problem, kept queued (transient),
	 * and the error text holds no password. */
	cfg.password = "wrong-pw";
	r = rc_mail_smtp_send(&cfg, m.from, m.to, 1, msg, len, err, sizeof(err));
	assert_int_equal(r, RC_MAIL_TRANSIENT);
	assert_null(strstr(err, "wrong-pw"));
	assert_null(strstr(err, "s3cret"));
	assert_non_null(strstr(err, "535"));
	/* No credentials where the server wants them (530): transient. */
	cfg.username = NULL;
	r = rc_mail_smtp_send(&cfg, m.from, m.to, 1, msg, len, err, sizeof(err));
	assert_int_equal(r, RC_MAIL_TRANSIENT);
	assert_non_null(strstr(err, "530"));
	free(msg);
	free((char *)(uintptr_t)cfg.url);
	sink_stop(&s);
}

static void
test_smtp_rejected(void **state)
{
	struct rc_mail_transport_config cfg = { .timeout_ms = 10000 };
	struct rc_mail_message m = {
		.from = "a@example.org", .to = two_rcpt, .nto = 1,
		.subject = "rejected", .text = "t",
	};
	struct sink s;
	char err[RC_MAIL_ERRLEN] = "", *msg;
	size_t len;

	(void)state;
	msg = build_ok(&m, &len);
	sink_start(&s, "--reject-code", "550");
	cfg.url = sink_url(&s);
	assert_int_equal(rc_mail_smtp_send(&cfg, m.from, m.to, 1, msg, len, err,
	    sizeof(err)), RC_MAIL_PERMANENT);
	assert_non_null(strstr(err, "550"));
	assert_non_null(strstr(err, "permanent"));
	assert_int_equal(count_files(s.dir, "0") + count_files(s.dir, "1"), 0);
	free((char *)(uintptr_t)cfg.url);
	sink_stop(&s);

	/* Refused after the content: 5xx permanent, 4xx transient. */
	sink_start(&s, "--reject-data-code", "552");
	cfg.url = sink_url(&s);
	assert_int_equal(rc_mail_smtp_send(&cfg, m.from, m.to, 1, msg, len, err,
	    sizeof(err)), RC_MAIL_PERMANENT);
	assert_non_null(strstr(err, "552"));
	free((char *)(uintptr_t)cfg.url);
	sink_stop(&s);
	sink_start(&s, "--reject-data-code", "451");
	cfg.url = sink_url(&s);
	assert_int_equal(rc_mail_smtp_send(&cfg, m.from, m.to, 1, msg, len, err,
	    sizeof(err)), RC_MAIL_TRANSIENT);
	assert_non_null(strstr(err, "451"));
	free((char *)(uintptr_t)cfg.url);
	sink_stop(&s);

	sink_start(&s, "--reject-code", "450");
	cfg.url = sink_url(&s);
	assert_int_equal(rc_mail_smtp_send(&cfg, m.from, m.to, 1, msg, len, err,
	    sizeof(err)), RC_MAIL_TRANSIENT);
	assert_non_null(strstr(err, "450"));
	free((char *)(uintptr_t)cfg.url);
	sink_stop(&s);
	free(msg);
}

/* A TCP socket on 127.0.0.1; listening or not. Returns the fd. */
static int
local_socket(int listening, int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	if (listening)
		assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static void
test_smtp_transient(void **state)
{
	static const char *const bad_rcpt[] = { "x@example.com\r\nDATA" };
	struct rc_mail_transport_config cfg = { .timeout_ms = 800,
	    .connect_timeout_ms = 800 };
	const char *msg = "Subject: x\r\n\r\nx\r\n";
	char err[RC_MAIL_ERRLEN] = "";
	int fd, port;
	uint64_t t0;

	(void)state;
	/* Bound but not listening: connection refused. */
	fd = local_socket(0, &port);
	cfg.url = rc_asprintf("smtp://127.0.0.1:%d", port);
	assert_int_equal(rc_mail_smtp_send(&cfg, "a@example.org", two_rcpt, 1,
	    msg, strlen(msg), err, sizeof(err)), RC_MAIL_TRANSIENT);
	assert_non_null(strstr(err, "transient"));
	free((char *)(uintptr_t)cfg.url);
	close(fd);

	/* Listening but silent: the total timeout ends it. */
	fd = local_socket(1, &port);
	cfg.url = rc_asprintf("smtp://127.0.0.1:%d", port);
	t0 = rc_now_usec();
	assert_int_equal(rc_mail_smtp_send(&cfg, "a@example.org", two_rcpt, 1,
	    msg, strlen(msg), err, sizeof(err)), RC_MAIL_TRANSIENT);
	assert_true(rc_now_usec() - t0 < 5000000);
	if (strstr(err, "timed out") == NULL)
		fail_msg("not a timeout: %s", err);

	/* A recipient that would smuggle a command: permanent, no connection. */
	assert_int_equal(rc_mail_smtp_send(&cfg, "a@example.org", bad_rcpt, 1,
	    msg, strlen(msg), err, sizeof(err)), RC_MAIL_PERMANENT);
	free((char *)(uintptr_t)cfg.url);
	close(fd);

	/* Not an SMTP URL: configuration, transient. */
	cfg.url = "http://127.0.0.1:1";
	assert_int_equal(rc_mail_smtp_send(&cfg, "a@example.org", two_rcpt, 1,
	    msg, strlen(msg), err, sizeof(err)), RC_MAIL_TRANSIENT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_headers),
		cmocka_unit_test(test_build_utf8_subject),
		cmocka_unit_test(test_build_refuses_injection),
		cmocka_unit_test(test_build_attachment_roundtrip),
		cmocka_unit_test(test_templates_fill),
		cmocka_unit_test(test_templates_refuse_missing),
		cmocka_unit_test(test_spool_write),
		cmocka_unit_test(test_stable_message_id),
		cmocka_unit_test(test_smtp_delivers),
		cmocka_unit_test(test_smtp_auth),
		cmocka_unit_test(test_smtp_rejected),
		cmocka_unit_test(test_smtp_transient),
	};

	if (rc_mail_init() != RC_OK)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
