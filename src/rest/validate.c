/* Validation of request bodies and path parameters: every helper either
 * hands back a checked value or has already replied 422 naming the field,
 * so handlers read as parse → validate → query → respond. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rollcall/api.h"
#include "rollcall/db.h"
#include "rollcall/http.h"
#include "rollcall/log.h"
#include "rollcall/rest.h"
#include "rollcall/sqlstate.h"

#define EMAIL_MAX	254	/* RFC 5321 4.5.3.1.3 path limit, less <> */
#define EMAIL_LOCAL_MAX	64	/* RFC 5321 4.5.3.1.1 */

static const struct rc_db_stmt SQL_AUDIT = {
	"api_audit",
	RC_REST_AUDIT_INSERT " VALUES ($1, $2, $3, $4, COALESCE($5::jsonb,"
	" '{}'), $6, $7)",
	7,
};

/* The member, or NULL when absent or null. */
static json_t *
member(struct rc_req *req, const char *field)
{
	json_t *v;

	if (req->body == NULL || !json_is_object(req->body))
		return NULL;
	v = json_object_get(req->body, field);
	return json_is_null(v) ? NULL : v;
}

int
rc_rest_has(struct rc_req *req, const char *field)
{
	return req->body != NULL && json_object_get(req->body, field) != NULL;
}

/* Absent or null: an error when required, else "nothing to read". Returns
 * 1 when the caller should go on reading v. */
static int
present(struct rc_req *req, const char *field, int required, json_t *v,
    rc_status *rc)
{
	*rc = RC_OK;
	if (v != NULL)
		return 1;
	if (required) {
		rc_http_fail_field(req, field, "is required");
		*rc = RC_ERR;
	}
	return 0;
}

/* Code points of valid UTF-8 (jansson guarantees validity). */
static size_t
utf8_chars(const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

/* Only white space: ASCII spaces and the Unicode space separators (Zs),
 * which look as empty as "" on every screen a name is shown on. */
static int
blank(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		if (u[i] == ' ')
			i++;
		else if (i + 1 < len && u[i] == 0xc2 && u[i + 1] == 0xa0)
			i += 2;			/* U+00A0 */
		else if (i + 2 < len && ((u[i] == 0xe1 && u[i + 1] == 0x9a &&
		    u[i + 2] == 0x80) ||		/* U+1680 */
		    (u[i] == 0xe2 && u[i + 1] == 0x80 && (u[i + 2] <= 0x8a ||
		    u[i + 2] == 0xaf)) ||		/* U+2000-200A, 202F */
		    (u[i] == 0xe2 && u[i + 1] == 0x81 && u[i + 2] == 0x9f) ||
		    (u[i] == 0xe3 && u[i + 1] == 0x80 && u[i + 2] == 0x80)))
			i += 3;			/* U+205F, U+3000 */
		else
			return 0;
	}
	return 1;
}

static rc_status
string_common(struct rc_req *req, const char *field, int required,
    size_t min, size_t max, int one_line, const char **out)
{
	json_t *v = member(req, field);
	const char *s;
	size_t len, i, n;
	char msg[96];
	rc_status rc;

	*out = NULL;
	if (!present(req, field, required, v, &rc))
		return rc;
	if (!json_is_string(v)) {
		rc_http_fail_field(req, field, "must be a string");
		return RC_ERR;
	}
	s = json_string_value(v);
	len = json_string_length(v);
	if (strlen(s) != len) {
		rc_http_fail_field(req, field, "must not contain NUL");
		return RC_ERR;
	}
	for (i = 0; one_line && i < len; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			rc_http_fail_field(req, field,
			    "must not contain control characters");
			return RC_ERR;
		}
	}
	/* A one-line text that is required to say something (a name) must
	 * not be only spaces. */
	if (one_line && min > 0 && len > 0 && blank(s, len)) {
		rc_http_fail_field(req, field, "must not be blank");
		return RC_ERR;
	}
	n = utf8_chars(s, len);
	if (n < min || n > max) {
		if (min > 0 && n == 0)
			snprintf(msg, sizeof(msg), "must not be empty");
		else
			snprintf(msg, sizeof(msg), "must be %zu to %zu "
			    "characters long", min, max);
		rc_http_fail_field(req, field, msg);
		return RC_ERR;
	}
	*out = s;
	return RC_OK;
}

rc_status
rc_rest_string(struct rc_req *req, const char *field, int required,
    size_t min, size_t max, const char **out)
{
	return string_common(req, field, required, min, max, 0, out);
}

rc_status
rc_rest_line(struct rc_req *req, const char *field, int required,
    size_t min, size_t max, const char **out)
{
	return string_common(req, field, required, min, max, 1, out);
}

/* A dot-atom local part (RFC 5322 3.2.3) without quoted strings. */
static int
email_local_ok(const char *s, size_t n)
{
	static const char special[] = "!#$%&'*+-/=?^_`{|}~";
	size_t i;

	if (n == 0 || n > EMAIL_LOCAL_MAX || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.' && s[i + 1] == '.')
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' ||
		    (c != '\0' && strchr(special, c) != NULL)))
			return 0;
	}
	return 1;
}

/* LDH labels of 1..63, at least two of them (RFC 1035 2.3.1). */
static int
email_domain_ok(const char *s)
{
	size_t label = 0, labels = 1;
	const char *p;

	if (*s == '\0' || *s == '.' || *s == '-')
		return 0;
	for (p = s; *p != '\0'; p++) {
		if (*p == '.') {
			if (label == 0 || p[-1] == '-')
				return 0;
			label = 0;
			labels++;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || (*p == '-' && label > 0)))
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0 && p[-1] != '-' && labels >= 2;
}

rc_status
rc_rest_email(struct rc_req *req, const char *field, int required,
    const char **out)
{
	const char *s, *at;

	if (rc_rest_string(req, field, required, 1, EMAIL_MAX, out) != RC_OK)
		return RC_ERR;
	if ((s = *out) == NULL)
		return RC_OK;
	at = strrchr(s, '@');
	if (strlen(s) > EMAIL_MAX || at == NULL ||
	    !email_local_ok(s, (size_t)(at - s)) || !email_domain_ok(at + 1)) {
		*out = NULL;
		rc_http_fail_field(req, field, "must be an e-mail address");
		return RC_ERR;
	}
	return RC_OK;
}

rc_status
rc_rest_bool(struct rc_req *req, const char *field, int required, int def,
    int *out)
{
	json_t *v = member(req, field);
	rc_status rc;

	*out = def;
	if (!present(req, field, required, v, &rc))
		return rc;
	if (!json_is_boolean(v)) {
		rc_http_fail_field(req, field, "must be true or false");
		return RC_ERR;
	}
	*out = json_is_true(v);
	return RC_OK;
}

rc_status
rc_rest_int(struct rc_req *req, const char *field, int required, long lo,
    long hi, long *out)
{
	json_t *v = member(req, field);
	json_int_t n;
	char msg[96];
	rc_status rc;

	if (!present(req, field, required, v, &rc))
		return rc;
	n = json_is_integer(v) ? json_integer_value(v) : 0;
	if (!json_is_integer(v) || n < lo || n > hi) {
		snprintf(msg, sizeof(msg), "must be a whole number from %ld "
		    "to %ld", lo, hi);
		rc_http_fail_field(req, field, msg);
		return RC_ERR;
	}
	*out = (long)n;
	return RC_OK;
}

rc_status
rc_rest_enum(struct rc_req *req, const char *field, int required,
    const char *const *allowed, const char **out)
{
	const char *s;
	char msg[256];
	size_t i, len;

	if (rc_rest_string(req, field, required, 1, 256, out) != RC_OK)
		return RC_ERR;
	if ((s = *out) == NULL)
		return RC_OK;
	for (i = 0; allowed[i] != NULL; i++)
		if (strcmp(s, allowed[i]) == 0)
			return RC_OK;
	*out = NULL;
	len = (size_t)snprintf(msg, sizeof(msg), "must be one of");
	for (i = 0; allowed[i] != NULL && len < sizeof(msg); i++)
		len += (size_t)snprintf(msg + len, sizeof(msg) - len, "%s %s",
		    i > 0 ? "," : "", allowed[i]);
	rc_http_fail_field(req, field, msg);
	return RC_ERR;
}

rc_status
rc_rest_uuid(struct rc_req *req, const char *field, int required,
    const char **out)
{
	if (rc_rest_string(req, field, required, 1, 64, out) != RC_OK)
		return RC_ERR;
	if (*out != NULL && !rc_util_uuid_valid(*out)) {
		*out = NULL;
		rc_http_fail_field(req, field, "must be an id (UUID)");
		return RC_ERR;
	}
	return RC_OK;
}

rc_status
rc_rest_uuid_param(struct rc_req *req, const char *name, const char **out)
{
	*out = rc_http_param(req, name);
	if (!rc_util_uuid_valid(*out)) {
		*out = NULL;
		rc_http_fail(req, 404, "not_found", "no such resource");
		return RC_ERR;
	}
	return RC_OK;
}

void
rc_rest_db_failed(struct rc_req *req, const struct rc_db_result *r,
    const char *fk_field)
{
	if (r->err == RC_DB_UNAVAILABLE) {
		rc_http_fail_unavailable(req, "the database is unavailable");
		return;
	}
	if (rc_db_sqlstate_is(r, RC_SQLSTATE_UNIQUE)) {
		rc_http_fail(req, 409, "conflict",
		    "it conflicts with an existing resource");
		return;
	}
	if (rc_db_sqlstate_is(r, RC_SQLSTATE_FOREIGN_KEY)) {
		if (fk_field != NULL)
			rc_http_fail_field(req, fk_field,
			    "names nothing that exists");
		else
			rc_http_fail(req, 409, "conflict",
			    "it refers to something that does not exist");
		return;
	}
	rc_log(RC_LOG_ERROR, "api: %s %s: database: %s (%s)",
	    rc_http_method_name(req->method),
	    req->route ? req->route->pattern : "-",
	    r->message ? r->message : "-", r->sqlstate ? r->sqlstate : "-");
	rc_http_fail(req, 500, "internal", NULL);
}

static void
audit_cb(const struct rc_db_result *r, void *arg)
{
	char *action = arg;

	if (r->err != RC_DB_OK)
		rc_log(RC_LOG_ERROR, "api: audit %s not recorded: %s", action,
		    r->message ? r->message : "database unavailable");
	free(action);
}

void
rc_rest_audit(struct rc_req *req, const char *org_id, const char *actor_id,
    const char *action, const char *target_id, const char *detail)
{
	const char *params[7] = { org_id, actor_id, action, target_id, detail,
	    rc_http_client(req), req->id };
	char *copy = rc_strdup(action);

	if (rc_db_query(req->loop->db, &SQL_AUDIT, params, audit_cb, copy) !=
	    RC_AGAIN) {
		rc_log(RC_LOG_ERROR, "api: audit %s not recorded: database "
		    "unavailable", action);
		free(copy);
	}
}
