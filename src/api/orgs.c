/* Organisations: a superadmin creates and lists them; an admin reads and
 * updates their own (another org's id answers 404). Bodies are checked
 * here; PostgreSQL checks the time zone, writes the audit row in the same
 * statement and builds the reply's JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "rollcall/api.h"
#include "rollcall/rest.h"
#include "rollcall/auth.h"
#include "rollcall/db.h"
#include "rollcall/http.h"
#include "rollcall/slack.h"
#include "rollcall/sqlstate.h"

#define ORG_NAME_MAX		200
#define ORG_SLUG_MIN		2
#define ORG_SLUG_MAX		63
#define ORG_TZ_MAX		64
#define ORG_DOMAINS_MAX		50
#define DNS_NAME_MAX		253	/* RFC 1035 2.3.4, without the root dot */
#define DNS_LABEL_MAX		63

/* What POST /orgs stores for a member it does not get; the same as the
 * column defaults of sql/003_identity.sql. */
#define ORG_DEFAULT_TZ		"UTC"
#define ORG_DEFAULT_START	"09:00"
#define ORG_DEFAULT_END		"17:00"
#define ORG_DEFAULT_LATE	"15"
#define ORG_DEFAULT_WEEKEND	"{6,7}"
#define ORG_DEFAULT_DOMAINS	"{}"

/* The public org object, from an orgs row named o. */
#define ORG_JSON \
	"json_build_object('id', o.id, 'name', o.name, 'slug', o.slug," \
	" 'timezone', o.timezone," \
	" 'workday_start', to_char(o.workday_start, 'HH24:MI')," \
	" 'workday_end', to_char(o.workday_end, 'HH24:MI')," \
	" 'late_after_minutes', o.late_after_minutes," \
	" 'weekend_days', to_json(o.weekend_days)," \
	" 'signup_domains', to_json(o.signup_domains)," \
	" 'face_required', o.face_required," \
	" 'face_threshold', o.face_threshold," \
	" 'slack', slack_org_json(o.id)," \
	" 'created_at', " RC_REST_INSTANT("o.created_at") "," \
	" 'updated_at', " RC_REST_INSTANT("o.updated_at") ")"

/* The zone as PostgreSQL spells it ("europe/paris" → "Europe/Paris"), or
 * an error 22023 when it has no such zone. set_config(..., true) only lasts
 * until the statement's transaction ends; this is far cheaper than looking
 * the name up in pg_timezone_names (~80 ms: it reads every zone file). */
#define TZ_CHECK(p) \
	"SELECT CASE WHEN " p "::text IS NULL THEN NULL ELSE" \
	" set_config('TimeZone', " p "::text, true) END AS name"

/* $1 name, $2 slug, $3 zone, $4 start, $5 end, $6 late, $7 weekend days,
 * $8 sign-up domains (array literals), $9 face, $10 actor, $11 client,
 * $12 request id, $13 face threshold (NULL: the installation's). */
static const struct rc_db_stmt SQL_CREATE = {
	"orgs_create",
	"WITH tz AS (" TZ_CHECK("$3") "),"
	" o AS (INSERT INTO orgs (name, slug, timezone, workday_start,"
	"  workday_end, late_after_minutes, weekend_days, signup_domains,"
	"  face_required, face_threshold) SELECT $1, $2, tz.name, $4::time,"
	"  $5::time, $6::int, $7::int[], $8::text[], $9::bool, $13::real"
	"  FROM tz RETURNING *),"
	" a AS (" RC_REST_AUDIT_INSERT " SELECT o.id, $10::uuid, 'org_created',"
	"  o.id, jsonb_build_object('name', o.name, 'slug', o.slug), $11, $12"
	"  FROM o)"
	" SELECT " ORG_JSON " FROM o",
	13,
};

/* $1/$2 cursor (NULL on the first page), $3 limit. */
static const struct rc_db_stmt SQL_LIST = {
	"orgs_list",
	"WITH page AS (SELECT o.created_at, o.id, " ORG_JSON " AS j"
	"  FROM orgs o WHERE $1::timestamptz IS NULL OR (o.created_at, o.id) >"
	"  ($1::timestamptz, $2::uuid)"
	"  ORDER BY o.created_at, o.id LIMIT $3::int + 1)"
	" " RC_REST_PAGE_SELECT("page", "$3"),
	3,
};

/* $1 id. */
static const struct rc_db_stmt SQL_GET = {
	"orgs_get",
	"SELECT " ORG_JSON " FROM orgs o WHERE o.id = $1::uuid",
	1,
};

/* $1 id, $2..$10 the members as SQL_CREATE's $1..$9 (NULL: unchanged),
 * $11 may the slug change, $12 actor, $13 client, $14 request id, $15
 * whether face_threshold is given, $16 its value (NULL: the
 * installation's), $17 the Slack settings (rollcall/slack.h). One row
 * always: the org (NULL when not changed), whether it exists, whether the
 * slug may change, whether the workday ends after it starts. The audit
 * row names the members whose value really changed. */
static const struct rc_db_stmt SQL_PATCH = {
	"orgs_patch",
	"WITH tz AS (" TZ_CHECK("$4") "),"
	" old AS (SELECT * FROM orgs WHERE id = $1::uuid FOR UPDATE),"
	" chk AS (SELECT ($3::text IS NULL OR $11::bool OR old.slug ="
	"  $3::citext) AS slug_ok, COALESCE($6::time, old.workday_end) >"
	"  COALESCE($5::time, old.workday_start) AS times_ok FROM old),"
	" o AS (UPDATE orgs x SET name = COALESCE($2, x.name),"
	"  slug = COALESCE($3::citext, x.slug),"
	"  timezone = COALESCE(tz.name, x.timezone),"
	"  workday_start = COALESCE($5::time, x.workday_start),"
	"  workday_end = COALESCE($6::time, x.workday_end),"
	"  late_after_minutes = COALESCE($7::int, x.late_after_minutes),"
	"  weekend_days = COALESCE($8::int[], x.weekend_days),"
	"  signup_domains = COALESCE($9::text[], x.signup_domains),"
	"  face_required = COALESCE($10::bool, x.face_required),"
	"  face_threshold = CASE WHEN $15::bool THEN $16::real"
	"   ELSE x.face_threshold END"
	"  FROM old, chk, tz WHERE x.id = old.id AND chk.slug_ok"
	"  AND chk.times_ok RETURNING x.*),"
	" ch AS (SELECT array_agg(c.f ORDER BY c.f) AS f FROM o, old, LATERAL"
	"  (VALUES ('name', o.name IS DISTINCT FROM old.name),"
	"  ('slug', o.slug IS DISTINCT FROM old.slug),"
	"  ('timezone', o.timezone IS DISTINCT FROM old.timezone),"
	"  ('workday_start', o.workday_start IS DISTINCT FROM old.workday_start),"
	"  ('workday_end', o.workday_end IS DISTINCT FROM old.workday_end),"
	"  ('late_after_minutes', o.late_after_minutes IS DISTINCT FROM"
	"   old.late_after_minutes),"
	"  ('weekend_days', o.weekend_days IS DISTINCT FROM old.weekend_days),"
	"  ('signup_domains', o.signup_domains IS DISTINCT FROM"
	"   old.signup_domains),"
	"  ('face_required', o.face_required IS DISTINCT FROM"
	"   old.face_required),"
	"  ('face_threshold', o.face_threshold IS DISTINCT FROM"
	"   old.face_threshold), ('slack', $17::jsonb IS NOT NULL))"
	"  c(f, changed) WHERE c.changed),"
	RC_SLACK_SETTINGS_PATCH("$17") ","
	" a AS (" RC_REST_AUDIT_INSERT " SELECT o.id, $12::uuid, 'org_updated',"
	"  o.id, jsonb_build_object('changed', to_jsonb(ch.f)), $13, $14"
	"  FROM o, ch WHERE ch.f IS NOT NULL)"
	" SELECT (SELECT " RC_SLACK_SETTINGS_REPLY(ORG_JSON, "$17") " FROM o),"
	" EXISTS (SELECT 1 FROM old),"
	" (SELECT slug_ok FROM chk), (SELECT times_ok FROM chk)",
	17,
};

/* A checked body, as text parameters (NULL: absent). Freed with the
 * request (req->data); the strings not owned here point into req->body. */
struct org_input {
	const char	*name, *slug, *timezone, *start, *end;
	const char	*late, *face;
	const char	*threshold;	/* NULL: the installation's */
	int		 threshold_given;
	char		*weekend;	/* "{6,7}" */
	char		*domains;	/* "{\"example.com\"}" */
	char		 late_buf[24];
	char		 threshold_buf[32];
	char		*slack;		/* RC_SLACK_SETTINGS_PATCH's changes */
};

static void
org_input_cleanup(void *arg)
{
	struct org_input *in = arg;

	free(in->weekend);
	free(in->domains);
	rc_slack_settings_free(in->slack);
}

static struct org_input *
org_input_new(struct rc_req *req)
{
	struct org_input *in = rc_req_alloc(req, sizeof(*in), org_input_cleanup);

	req->data = in;
	return in;
}

/* ---- Checking the members ---------------------------------------------- */

static int
is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* ^[a-z0-9][a-z0-9-]{1,62}$ */
static int
slug_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n < ORG_SLUG_MIN || n > ORG_SLUG_MAX || !is_lower_alnum(s[0]))
		return 0;
	for (i = 1; i < n; i++)
		if (!is_lower_alnum(s[i]) && s[i] != '-')
			return 0;
	return 1;
}

static int
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* GMT0, GMT+5, GMT-14: the only zone names with a signed number. */
static int
gmt_offset_name(const char *s)
{
	if (strncmp(s, "GMT", 3) != 0)
		return 0;
	s += 3;
	if (*s == '+' || *s == '-')
		s++;
	return is_digit(s[0]) && (s[1] == '\0' || (is_digit(s[1]) &&
	    s[2] == '\0'));
}

/* The shape of an IANA zone name: segments of letters, digits, "_", "-",
 * "+" each starting with a letter ("America/Argentina/Buenos_Aires").
 * PostgreSQL also takes POSIX rules ("XYZ+3", "EST5") and bare offsets,
 * which are not zones: those all carry a digit, and the only zone names
 * with one are the Etc/GMT offsets and four old US rules. The database
 * then says whether the zone exists. */
static int
timezone_shape_ok(const char *s)
{
	static const char *const digit_zones[] = {
		"CST6CDT", "EST5EDT", "MST7MDT", "PST8PDT", NULL,
	};
	const char *seg = s, *p;
	int digits = 0;
	size_t i;

	for (p = s; ; p++) {
		if (*p == '/' || *p == '\0') {
			if (p == seg || !is_alpha(*seg))
				return 0;
			if (*p == '\0')
				break;
			seg = p + 1;
			continue;
		}
		if (is_digit(*p))
			digits = 1;
		else if (!is_alpha(*p) && *p != '_' && *p != '-' && *p != '+')
			return 0;
	}
	if (!digits)
		return 1;
	for (i = 0; digit_zones[i] != NULL; i++)
		if (strcmp(seg, digit_zones[i]) == 0)
			return 1;
	return gmt_offset_name(seg);
}

/* "HH:MM", 00:00 to 23:59. */
static int
hhmm_ok(const char *s)
{
	return strlen(s) == 5 && is_digit(s[0]) && is_digit(s[1]) &&
	    s[2] == ':' && is_digit(s[3]) && is_digit(s[4]) &&
	    (s[0] - '0') * 10 + (s[1] - '0') < 24 && s[3] < '6';
}

/* A member a PATCH may leave out but not set to null: every column of an
 * org has a value. */
static rc_status
not_null(struct rc_req *req, const char *field)
{
	json_t *v = req->body ? json_object_get(req->body, field) : NULL;

	if (v != NULL && json_is_null(v)) {
		rc_http_fail_field(req, field, "must not be null");
		return RC_ERR;
	}
	return RC_OK;
}

static rc_status
check_string(struct rc_req *req, const char *field, int required,
    size_t min, size_t max, int (*ok)(const char *), const char *what,
    const char **out)
{
	if (not_null(req, field) != RC_OK ||
	    rc_rest_line(req, field, required, min, max, out) != RC_OK)
		return RC_ERR;
	if (*out != NULL && ok != NULL && !ok(*out)) {
		*out = NULL;
		rc_http_fail_field(req, field, what);
		return RC_ERR;
	}
	return RC_OK;
}

static int
cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* weekend_days: distinct ISO days 1 (Monday) to 7, as "{6,7}" (sorted). */
static rc_status
check_weekend(struct rc_req *req, struct org_input *in)
{
	json_t *v = json_object_get(req->body, "weekend_days"), *d;
	int days[7], seen = 0, n = 0, i;
	size_t idx;
	char buf[32];
	size_t len = 0;

	if (not_null(req, "weekend_days") != RC_OK)
		return RC_ERR;
	if (v == NULL)
		return RC_OK;
	if (!json_is_array(v) || json_array_size(v) > 7)
		goto bad;
	json_array_foreach(v, idx, d) {
		json_int_t x = json_is_integer(d) ? json_integer_value(d) : 0;

		if (x < 1 || x > 7 || (seen & (1 << x)))
			goto bad;
		seen |= 1 << x;
		days[n++] = (int)x;
	}
	qsort(days, (size_t)n, sizeof(days[0]), cmp_int);
	buf[len++] = '{';
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%d",
		    i > 0 ? "," : "", days[i]);
	snprintf(buf + len, sizeof(buf) - len, "}");
	in->weekend = rc_strdup(buf);
	return RC_OK;
bad:
	rc_http_fail_field(req, "weekend_days", "must be an array of distinct "
	    "ISO weekdays, 1 (Monday) to 7 (Sunday)");
	return RC_ERR;
}

/* A host name of LDH labels (RFC 1035 2.3.1), at least two, lower-cased
 * in place. */
static int
dns_name_ok(char *s)
{
	size_t label = 0, labels = 1, n = strlen(s);
	char *p;

	if (n == 0 || n > DNS_NAME_MAX)
		return 0;
	for (p = s; *p != '\0'; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
		if (*p == '.') {
			if (label == 0 || p[-1] == '-')
				return 0;
			label = 0;
			labels++;
			continue;
		}
		if (!(is_lower_alnum(*p) || (*p == '-' && label > 0)))
			return 0;
		if (++label > DNS_LABEL_MAX)
			return 0;
	}
	return label > 0 && p[-1] != '-' && labels >= 2;
}

/* signup_domains: up to ORG_DOMAINS_MAX distinct host names, stored
 * lower-case, as a text[] literal. */
static rc_status
check_domains(struct rc_req *req, struct org_input *in)
{
	json_t *v = json_object_get(req->body, "signup_domains"), *d;
	size_t idx, i, len = 1, n;
	char **names;
	char *p;
	rc_status rc = RC_ERR;

	if (not_null(req, "signup_domains") != RC_OK)
		return RC_ERR;
	if (v == NULL)
		return RC_OK;
	if (!json_is_array(v) || json_array_size(v) > ORG_DOMAINS_MAX) {
		rc_http_fail_field(req, "signup_domains", "must be an array of "
		    "at most 50 domain names");
		return RC_ERR;
	}
	n = json_array_size(v);
	names = rc_calloc(n + 1, sizeof(*names));
	json_array_foreach(v, idx, d) {
		if (!json_is_string(d) || strlen(json_string_value(d)) !=
		    json_string_length(d))
			goto out;
		names[idx] = rc_strdup(json_string_value(d));
		if (!dns_name_ok(names[idx]))
			goto out;
		for (i = 0; i < idx; i++)
			if (strcmp(names[i], names[idx]) == 0)
				goto out;
		len += strlen(names[idx]) + 3;
	}
	/* {"a.example","b.example"}: LDH names need no escaping. */
	in->domains = p = rc_malloc(len + 2);
	*p++ = '{';
	for (i = 0; i < n; i++)
		p += sprintf(p, "%s\"%s\"", i > 0 ? "," : "", names[i]);
	*p++ = '}';
	*p = '\0';
	rc = RC_OK;
out:
	if (rc != RC_OK)
		rc_http_fail_field(req, "signup_domains", "must hold distinct "
		    "domain names such as example.com");
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

/* face_threshold: a number from 0 to 1, or null for the installation's
 * face.threshold. */
static rc_status
check_threshold(struct rc_req *req, struct org_input *in)
{
	json_t *v = json_object_get(req->body, "face_threshold");
	double x;

	if (v == NULL)
		return RC_OK;
	in->threshold_given = 1;
	if (json_is_null(v))
		return RC_OK;
	x = json_is_number(v) ? json_number_value(v) : -1;
	if (x < 0 || x > 1) {
		rc_http_fail_field(req, "face_threshold", "must be a number "
		    "from 0 to 1, or null for the installation's default");
		return RC_ERR;
	}
	snprintf(in->threshold_buf, sizeof(in->threshold_buf), "%.6g", x);
	in->threshold = in->threshold_buf;
	return RC_OK;
}

/* Checks the members of a POST (create != 0: name and slug required) or a
 * PATCH (absent: unchanged; null: refused). Replies 422 on bad input. */
static rc_status
org_parse(struct rc_req *req, struct org_input *in, int create)
{
	long late = -1;
	int face = -1;

	if (check_string(req, "name", create, 1, ORG_NAME_MAX, NULL, NULL,
	    &in->name) != RC_OK ||
	    check_string(req, "slug", create, 1, ORG_SLUG_MAX, slug_ok,
	    "must be 2 to 63 of a-z, 0-9 and \"-\", starting with a letter "
	    "or a digit", &in->slug) != RC_OK ||
	    check_string(req, "timezone", 0, 1, ORG_TZ_MAX, timezone_shape_ok,
	    "must be an IANA time zone such as Europe/Paris",
	    &in->timezone) != RC_OK ||
	    check_string(req, "workday_start", 0, 1, 5, hhmm_ok,
	    "must be a time HH:MM from 00:00 to 23:59", &in->start) != RC_OK ||
	    check_string(req, "workday_end", 0, 1, 5, hhmm_ok,
	    "must be a time HH:MM from 00:00 to 23:59", &in->end) != RC_OK ||
	    not_null(req, "late_after_minutes") != RC_OK ||
	    rc_rest_int(req, "late_after_minutes", 0, 0, 1440, &late) != RC_OK ||
	    check_weekend(req, in) != RC_OK || check_domains(req, in) != RC_OK ||
	    not_null(req, "face_required") != RC_OK ||
	    rc_rest_bool(req, "face_required", 0, -1, &face) != RC_OK ||
	    check_threshold(req, in) != RC_OK)
		return RC_ERR;
	if (late >= 0) {
		snprintf(in->late_buf, sizeof(in->late_buf), "%ld", late);
		in->late = in->late_buf;
	}
	if (face >= 0)
		in->face = face ? "true" : "false";
	if (!create)
		return RC_OK;
	if (in->timezone == NULL)
		in->timezone = ORG_DEFAULT_TZ;
	if (in->start == NULL)
		in->start = ORG_DEFAULT_START;
	if (in->end == NULL)
		in->end = ORG_DEFAULT_END;
	if (in->late == NULL)
		in->late = ORG_DEFAULT_LATE;
	if (in->weekend == NULL)
		in->weekend = rc_strdup(ORG_DEFAULT_WEEKEND);
	if (in->domains == NULL)
		in->domains = rc_strdup(ORG_DEFAULT_DOMAINS);
	if (in->face == NULL)
		in->face = "false";
	/* Zero-padded HH:MM compares as text. */
	if (strcmp(in->end, in->start) <= 0) {
		rc_http_fail_field(req, "workday_end",
		    "must be later than workday_start");
		return RC_ERR;
	}
	return RC_OK;
}

/* A failed write: the zone the database refused is the client's mistake. */
static int
write_ok(struct rc_req *req, const struct rc_db_result *r)
{
	if (rc_db_sqlstate_is(r, RC_SQLSTATE_INVALID_PARAMETER)) {
		rc_http_fail_field(req, "timezone",
		    "is not a time zone this server knows");
		return 0;
	}
	return rc_rest_db_ok(req, r, NULL);
}

/* ---- POST /api/v1/orgs ----------------------------------------------- */

static void
create_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;

	if (!write_ok(req, r))
		return;
	rc_rest_reply_cell(req, 201, r->res, 0);
}

/* POST /api/v1/orgs — a superadmin opens a new organisation. */
void
rc_api_orgs_create(struct rc_req *req)
{
	struct org_input *in = org_input_new(req);

	if (org_parse(req, in, 1) != RC_OK)
		return;
	{
		const char *p[13] = { in->name, in->slug, in->timezone,
		    in->start, in->end, in->late, in->weekend, in->domains,
		    in->face, req->who->user_id, rc_http_client(req), req->id,
		    in->threshold };

		rc_rest_query(req, &SQL_CREATE, p, create_cb);
	}
}

/* ---- GET /api/v1/orgs ------------------------------------------------ */

static void
list_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;

	if (!rc_rest_db_ok(req, r, NULL))
		return;
	rc_rest_reply_cell(req, 200, r->res, 0);
}

/* GET /api/v1/orgs?limit=&cursor= — every organisation, oldest first. */
void
rc_api_orgs_list(struct rc_req *req)
{
	struct rc_rest_page page;

	if (rc_rest_page_parse(req, &page) != RC_OK)
		return;
	{
		const char *p[3] = { page.after_at, page.after_id, page.limit };

		rc_rest_query(req, &SQL_LIST, p, list_cb);
	}
}

/* ---- GET /api/v1/orgs/{id} ------------------------------------------- */

/* The {id} the caller may see: any for a superadmin, their own for an
 * admin; otherwise replies 404 (another tenant's org does not exist for
 * them) and returns NULL. */
static const char *
visible_org(struct rc_req *req)
{
	const char *id;

	if (rc_rest_uuid_param(req, "id", &id) != RC_OK)
		return NULL;
	if (req->who->role_bit != RC_ROLE_SUPERADMIN &&
	    (req->who->org_id == NULL || strcasecmp(id, req->who->org_id) != 0)) {
		rc_http_fail(req, 404, "not_found", "no such organisation");
		return NULL;
	}
	return id;
}

static void
get_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;

	if (!rc_rest_db_row(req, r, "no such organisation"))
		return;
	rc_rest_reply_cell(req, 200, r->res, 0);
}

void
rc_api_orgs_get(struct rc_req *req)
{
	const char *p[1];

	if ((p[0] = visible_org(req)) == NULL)
		return;
	rc_rest_query(req, &SQL_GET, p, get_cb);
}

/* ---- PATCH /api/v1/orgs/{id} ----------------------------------------- */

static void
patch_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;

	if (!write_ok(req, r))
		return;
	if (PQgetvalue(r->res, 0, 1)[0] != 't') {
		rc_http_fail(req, 404, "not_found", "no such organisation");
		return;
	}
	if (PQgetvalue(r->res, 0, 2)[0] != 't') {
		rc_http_fail(req, 403, "forbidden",
		    "only a superadmin changes an organisation's slug");
		return;
	}
	if (PQgetvalue(r->res, 0, 3)[0] != 't') {
		rc_http_fail_field(req, "workday_end",
		    "must be later than workday_start");
		return;
	}
	rc_rest_reply_cell(req, 200, r->res, 0);
}

/* PATCH /api/v1/orgs/{id} — any member may be left out (unchanged); an
 * admin changes their own org but not its slug (403 "forbidden"). */
void
rc_api_orgs_patch(struct rc_req *req)
{
	struct org_input *in;
	const char *id;

	if ((id = visible_org(req)) == NULL)
		return;
	in = org_input_new(req);
	if (org_parse(req, in, 0) != RC_OK ||
	    rc_slack_settings_parse(req, &in->slack) != RC_OK)
		return;
	/* Both times given: refuse before the database, like a create. */
	if (in->start != NULL && in->end != NULL &&
	    strcmp(in->end, in->start) <= 0) {
		rc_http_fail_field(req, "workday_end",
		    "must be later than workday_start");
		return;
	}
	{
		const char *p[17] = { id, in->name, in->slug, in->timezone,
		    in->start, in->end, in->late, in->weekend, in->domains,
		    in->face, req->who->role_bit == RC_ROLE_SUPERADMIN ?
		    "true" : "false", req->who->user_id, rc_http_client(req),
		    req->id, in->threshold_given ? "true" : "false",
		    in->threshold, in->slack };

		rc_rest_query(req, &SQL_PATCH, p, patch_cb);
	}
}

