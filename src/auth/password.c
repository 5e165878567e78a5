/* Passwords: argon2id hashes (libsodium), the policy a new password must
 * meet (NIST SP 800-63B 5.1.1.2: length and a blocklist, no composition
 * rules), and random temporary passwords. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "rollcall/auth.h"
#include "rollcall/log.h"

_Static_assert(RC_AUTH_PWHASH_LEN == crypto_pwhash_STRBYTES,
    "RC_AUTH_PWHASH_LEN must match libsodium");

struct rc_auth_passwords {
	unsigned long long	 opslimit;
	size_t			 memlimit;
	char			 dummy[crypto_pwhash_STRBYTES];
	char			**common;	/* sorted, lowercase */
	size_t			 ncommon;
};

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ASCII lower-casing: the list is ASCII, and the policy compares with it. */
static void
ascii_lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* Loads the common-password list: one a line, "#" comments, blank lines
 * skipped, lower-cased, sorted and deduplicated for bsearch(). */
static rc_status
load_common(struct rc_auth_passwords *pw, const char *path,
    char err[RC_AUTH_ERR_LEN])
{
	char *buf, *line, *save = NULL;
	size_t cap = 0, i, j;

	if ((buf = rc_read_file(path, NULL)) == NULL) {
		snprintf(err, RC_AUTH_ERR_LEN, "%.200s: %s", path,
		    strerror(errno));
		return RC_ERR;
	}
	for (line = strtok_r(buf, "\r\n", &save); line != NULL;
	    line = strtok_r(NULL, "\r\n", &save)) {
		size_t n = strlen(line);

		while (n > 0 && isspace((unsigned char)line[n - 1]))
			line[--n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		if (pw->ncommon == cap) {
			cap = cap ? cap * 2 : 256;
			pw->common = rc_realloc(pw->common,
			    cap * sizeof(*pw->common));
		}
		pw->common[pw->ncommon] = rc_strdup(line);
		ascii_lower(pw->common[pw->ncommon++]);
	}
	free(buf);
	qsort(pw->common, pw->ncommon, sizeof(*pw->common), cmp_str);
	for (i = j = 0; i < pw->ncommon; i++) {
		if (j > 0 && strcmp(pw->common[j - 1], pw->common[i]) == 0)
			free(pw->common[i]);
		else
			pw->common[j++] = pw->common[i];
	}
	pw->ncommon = j;
	return RC_OK;
}

struct rc_auth_passwords *
rc_auth_passwords_new(unsigned long long opslimit, size_t memlimit,
    const char *common_path, char err[RC_AUTH_ERR_LEN])
{
	struct rc_auth_passwords *pw = rc_calloc(1, sizeof(*pw));
	char dummy_pw[RC_AUTH_TEMP_PASSWORD_LEN + 1];

	pw->opslimit = opslimit ? opslimit : crypto_pwhash_OPSLIMIT_INTERACTIVE;
	pw->memlimit = memlimit ? memlimit : crypto_pwhash_MEMLIMIT_INTERACTIVE;
	if (pw->opslimit < crypto_pwhash_OPSLIMIT_MIN ||
	    pw->opslimit > crypto_pwhash_OPSLIMIT_MAX ||
	    pw->memlimit < crypto_pwhash_MEMLIMIT_MIN ||
	    pw->memlimit > crypto_pwhash_MEMLIMIT_MAX) {
		snprintf(err, RC_AUTH_ERR_LEN, "argon2id limits out of range");
		goto fail;
	}
	if (common_path != NULL && load_common(pw, common_path, err) != RC_OK)
		goto fail;
	/* A random password nobody knows, so the dummy never matches. */
	rc_auth_password_temp(dummy_pw);
	if (crypto_pwhash_str(pw->dummy, dummy_pw, strlen(dummy_pw),
	    pw->opslimit, pw->memlimit) != 0) {
		snprintf(err, RC_AUTH_ERR_LEN, "argon2id: out of memory");
		goto fail;
	}
	sodium_memzero(dummy_pw, sizeof(dummy_pw));
	return pw;
fail:
	sodium_memzero(dummy_pw, sizeof(dummy_pw));
	rc_auth_passwords_free(pw);
	return NULL;
}

void
rc_auth_passwords_free(struct rc_auth_passwords *pw)
{
	size_t i;

	if (pw == NULL)
		return;
	for (i = 0; i < pw->ncommon; i++)
		free(pw->common[i]);
	free(pw->common);
	free(pw);
}

rc_status
rc_auth_password_hash(const struct rc_auth_passwords *pw,
    const char *password, char out[RC_AUTH_PWHASH_LEN])
{
	size_t len = strnlen(password, RC_AUTH_PASSWORD_MAX + 1);

	if (len > RC_AUTH_PASSWORD_MAX)
		return RC_ERR;
	if (crypto_pwhash_str(out, password, len, pw->opslimit,
	    pw->memlimit) != 0) {
		rc_log(RC_LOG_ERROR, "auth: argon2id hash failed (memory?)");
		return RC_ERR;
	}
	return RC_OK;
}

rc_status
rc_auth_password_verify(const struct rc_auth_passwords *pw,
    const char *hash, const char *password)
{
	size_t len = strnlen(password, RC_AUTH_PASSWORD_MAX + 1);

	if (len > RC_AUTH_PASSWORD_MAX) {
		rc_auth_password_dummy_verify(pw, "");
		return RC_ERR;
	}
	return crypto_pwhash_str_verify(hash, password, len) == 0 ?
	    RC_OK : RC_ERR;
}

void
rc_auth_password_dummy_verify(const struct rc_auth_passwords *pw,
    const char *password)
{
	size_t len = strnlen(password, RC_AUTH_PASSWORD_MAX);
	/* volatile: the result is unused, but the work must happen. */
	volatile int r;

	r = crypto_pwhash_str_verify(pw->dummy, password, len);
	(void)r;
}

int
rc_auth_password_needs_rehash(const struct rc_auth_passwords *pw,
    const char *hash)
{
	/* 1: other limits, -1: not an argon2id string we can read. */
	return crypto_pwhash_str_needs_rehash(hash, pw->opslimit,
	    pw->memlimit) != 0;
}

/* Counts the code points of s (len bytes); -1 unless it is well-formed
 * UTF-8 (RFC 3629 4: no overlong forms, surrogates or values past
 * U+10FFFF). */
static long
utf8_count(const unsigned char *s, size_t len)
{
	static const unsigned mins[] = { 0, 0x80, 0x800, 0x10000 };
	size_t i = 0;
	long n = 0;

	while (i < len) {
		unsigned c = s[i], need, cp;

		if (c < 0x80)
			need = 0, cp = c;
		else if ((c & 0xe0) == 0xc0)
			need = 1, cp = c & 0x1f;
		else if ((c & 0xf0) == 0xe0)
			need = 2, cp = c & 0x0f;
		else if ((c & 0xf8) == 0xf0)
			need = 3, cp = c & 0x07;
		else
			return -1;
		if (len - i <= need)
			return -1;
		for (i++; need > 0 && (s[i] & 0xc0) == 0x80; need--, i++)
			cp = cp << 6 | (s[i] & 0x3f);
		if (need > 0 || (c >= 0x80 && cp < mins[(c >= 0xc0) +
		    (c >= 0xe0) + (c >= 0xf0)]) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return -1;
		n++;
	}
	return n;
}

static int
is_common(const struct rc_auth_passwords *pw, const char *password)
{
	char *low;
	int hit;

	if (pw->ncommon == 0)
		return 0;
	low = rc_strdup(password);
	ascii_lower(low);
	hit = bsearch(&low, pw->common, pw->ncommon, sizeof(*pw->common),
	    cmp_str) != NULL;
	sodium_memzero(low, strlen(low));
	free(low);
	return hit;
}

/* True when password is the e-mail or its local part, ignoring case. */
static int
is_email(const char *password, const char *email)
{
	const char *at;

	if (email == NULL || *email == '\0')
		return 0;
	if (strcasecmp(password, email) == 0)
		return 1;
	at = strrchr(email, '@');
	return at != NULL && (size_t)(at - email) == strlen(password) &&
	    strncasecmp(password, email, (size_t)(at - email)) == 0;
}

rc_status
rc_auth_password_policy(const struct rc_auth_passwords *pw,
    const char *password, const char *email, const char **why)
{
	size_t len = strnlen(password, RC_AUTH_PASSWORD_MAX + 1);
	long cps;

	*why = NULL;
	if (len > RC_AUTH_PASSWORD_MAX)
		*why = "The password must be at most 1024 bytes long.";
	else if ((cps = utf8_count((const unsigned char *)password, len)) < 0)
		*why = "The password must be valid UTF-8 text.";
	else if (cps < RC_AUTH_PASSWORD_MIN)
		*why = "The password must be at least 10 characters long.";
	else if (is_email(password, email))
		*why = "The password must not be your e-mail address.";
	else if (is_common(pw, password))
		*why = "This password is too common; choose another.";
	return *why == NULL ? RC_OK : RC_ERR;
}

void
rc_auth_password_temp(char out[RC_AUTH_TEMP_PASSWORD_LEN + 1])
{
	/* No 0/O/o, 1/l/I: read aloud or copied from paper without doubt. */
	static const char alphabet[] =
	    "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz";
	size_t i;

	/* randombytes_uniform() rejects the biased tail: no modulo bias. */
	for (i = 0; i < RC_AUTH_TEMP_PASSWORD_LEN; i++)
		out[i] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
	out[RC_AUTH_TEMP_PASSWORD_LEN] = '\0';
}
