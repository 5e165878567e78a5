/* What every resource handler shares: sending a query on behalf of a
 * request, the reply for a failed one, and list pagination. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "rollcall/api.h"
#include "rollcall/auth.h"
#include "rollcall/db.h"
#include "rollcall/http.h"
#include "rollcall/log.h"
#include "rollcall/rest.h"

void
rc_rest_query(struct rc_req *req, const struct rc_db_stmt *stmt,
    const char *const *params, rc_db_cb cb)
{
	if (rc_db_query(req->loop->db, stmt, params, cb, req) != RC_AGAIN)
		rc_http_fail_unavailable(req, "the database is unavailable");
}

int
rc_rest_db_ok(struct rc_req *req, const struct rc_db_result *r,
    const char *fk_field)
{
	if (r->err == RC_DB_OK)
		return 1;
	rc_rest_db_failed(req, r, fk_field);
	return 0;
}

int
rc_rest_db_row(struct rc_req *req, const struct rc_db_result *r,
    const char *missing)
{
	if (!rc_rest_db_ok(req, r, NULL))
		return 0;
	if (PQntuples(r->res) == 1)
		return 1;
	rc_http_fail(req, 404, "not_found", missing);
	return 0;
}

void
rc_rest_reply_cell(struct rc_req *req, int status, const PGresult *res, int col)
{
	rc_http_reply(req, status, "application/json; charset=utf-8",
	    PQgetvalue(res, 0, col), (size_t)PQgetlength(res, 0, col));
}

int
rc_rest_true(const PGresult *res, int col)
{
	return !PQgetisnull(res, 0, col) && PQgetvalue(res, 0, col)[0] == 't';
}

void
rc_rest_reply_found(struct rc_req *req, const struct rc_db_result *r,
    int found_col, int col, const char *missing)
{
	if (!rc_rest_db_ok(req, r, NULL))
		return;
	if (!rc_rest_true(r->res, found_col)) {
		rc_http_fail(req, 404, "not_found", missing);
		return;
	}
	rc_rest_reply_cell(req, 200, r->res, col);
}

void
rc_rest_reply_csv(struct rc_req *req, const char *csv, size_t len,
    const char *filename)
{
	char *disp = rc_asprintf("attachment; filename=\"%s\"", filename);

	rc_http_set_header(req, "Content-Disposition", disp);
	rc_http_reply(req, 200, "text/csv; charset=utf-8", csv, len);
	free(disp);
}

const char *
rc_rest_scope_org(const struct rc_req *req)
{
	return req->who->role_bit == RC_ROLE_SUPERADMIN ? NULL :
	    req->who->org_id;
}

const char *
rc_rest_admin_text(const struct rc_req *req)
{
	return req->who->role_bit == RC_ROLE_ADMIN ? "true" : "false";
}

static void
list_reply_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;

	if (rc_rest_db_ok(req, r, NULL))
		rc_rest_reply_cell(req, 200, r->res, 0);
}

void
rc_rest_list_org(struct rc_req *req, const struct rc_db_stmt *stmt)
{
	struct rc_rest_page page;
	const char *p[4];

	if (rc_rest_page_parse(req, &page) != RC_OK)
		return;
	p[0] = req->who->org_id;
	p[1] = page.after_at;
	p[2] = page.after_id;
	p[3] = page.limit;
	rc_rest_query(req, stmt, p, list_reply_cb);
}

/* "2026-11-26T09:03:00.123456Z": what RC_REST_PAGE_SELECT writes. */
static int
is_cursor_instant(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
	size_t i;

	if (strlen(s) != sizeof(shape) - 1)
		return 0;
	for (i = 0; shape[i] != '\0'; i++)
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			return 0;
	return 1;
}

rc_status
rc_rest_page_parse(struct rc_req *req, struct rc_rest_page *page)
{
	return rc_rest_page_parse_ids(req, page, rc_util_uuid_valid);
}

rc_status
rc_rest_page_parse_ids(struct rc_req *req, struct rc_rest_page *page,
    int (*id_ok)(const char *id))
{
	const char *limit = rc_http_query(req, "limit");
	const char *cursor = rc_http_query(req, "cursor");
	size_t len;
	char *bar, *end;
	long n = 50;

	memset(page, 0, sizeof(*page));
	if (limit != NULL) {
		n = strtol(limit, &end, 10);
		if (*limit == '\0' || *end != '\0' || n < 1 || n > 500) {
			rc_http_fail_field(req, "limit",
			    "must be a whole number from 1 to 500");
			return RC_ERR;
		}
	}
	snprintf(page->limit, sizeof(page->limit), "%ld", n);
	if (cursor == NULL)
		return RC_OK;
	if (sodium_base642bin((unsigned char *)page->buf, sizeof(page->buf) - 1,
	    cursor, strlen(cursor), NULL, &len, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		goto bad;
	page->buf[len] = '\0';
	if ((bar = strchr(page->buf, '|')) == NULL)
		goto bad;
	*bar = '\0';
	if (!is_cursor_instant(page->buf) || !rc_util_instant_valid(page->buf) ||
	    !id_ok(bar + 1))
		goto bad;
	page->after_at = page->buf;
	page->after_id = bar + 1;
	return RC_OK;
bad:
	rc_http_fail_field(req, "cursor", "is not a cursor this server made");
	return RC_ERR;
}
