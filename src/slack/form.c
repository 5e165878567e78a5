/* The form body of a slash command, decoded strictly: a body that is not
 * exactly application/x-www-form-urlencoded is refused, not guessed at. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollcall/slack.h"
#include "rollcall/util.h"

#define FORM_PAIRS_MAX	64

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes n bytes at s; NULL when an escape is bad or the result is not
 * UTF-8 without NUL. Returns a new string; caller frees. */
static char *
decode(const char *s, size_t n, const char **why)
{
	char *out = rc_malloc(n + 1);
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if (s[i] == '+') {
			out[o++] = ' ';
		} else if (s[i] == '%') {
			if (i + 2 >= n)
				goto bad_escape;
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				goto bad_escape;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	if (memchr(out, '\0', o) != NULL || !rc_utf8_valid(out, o)) {
		*why = "is not UTF-8 text";
		free(out);
		return NULL;
	}
	return out;
bad_escape:
	*why = "has a '%' not followed by two hex digits";
	free(out);
	return NULL;
}

static rc_status
add_pair(struct rc_slack_form *f, const char *pair, size_t n, char *err,
    size_t errlen)
{
	const char *eq = memchr(pair, '=', n), *why = NULL;
	size_t nlen = eq != NULL ? (size_t)(eq - pair) : n, i;
	char *name, *value;

	if (n == 0 || nlen == 0) {
		snprintf(err, errlen, "the form has an empty field name");
		return RC_ERR;
	}
	if (f->n == FORM_PAIRS_MAX) {
		snprintf(err, errlen, "the form has more than %d fields",
		    FORM_PAIRS_MAX);
		return RC_ERR;
	}
	if ((name = decode(pair, nlen, &why)) == NULL) {
		snprintf(err, errlen, "a field name %s", why);
		return RC_ERR;
	}
	value = eq != NULL ? decode(eq + 1, n - nlen - 1, &why) :
	    rc_strdup("");
	if (value == NULL) {
		snprintf(err, errlen, "field \"%.40s\" %s", name, why);
		free(name);
		return RC_ERR;
	}
	for (i = 0; i < f->n; i++)
		if (strcmp(f->names[i], name) == 0) {
			snprintf(err, errlen, "field \"%.40s\" appears twice",
			    name);
			free(name);
			free(value);
			return RC_ERR;
		}
	f->names = rc_realloc(f->names, (f->n + 1) * sizeof(*f->names));
	f->values = rc_realloc(f->values, (f->n + 1) * sizeof(*f->values));
	f->names[f->n] = name;
	f->values[f->n] = value;
	f->n++;
	return RC_OK;
}

rc_status
rc_slack_form_parse(const char *body, size_t len, struct rc_slack_form *f,
    char *err, size_t errlen)
{
	const char *p = body, *end = body + len, *amp;

	memset(f, 0, sizeof(*f));
	if (len == 0)
		return RC_OK;
	for (;;) {
		amp = memchr(p, '&', (size_t)(end - p));
		if (amp == NULL)
			amp = end;
		if (add_pair(f, p, (size_t)(amp - p), err, errlen) != RC_OK)
			return RC_ERR;
		if (amp == end)
			return RC_OK;
		p = amp + 1;
	}
}

const char *
rc_slack_form_get(const struct rc_slack_form *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->names[i], name) == 0)
			return f->values[i];
	return NULL;
}

void
rc_slack_form_cleanup(struct rc_slack_form *f)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		free(f->names[i]);
		free(f->values[i]);
	}
	free(f->names);
	free(f->values);
	memset(f, 0, sizeof(*f));
}
