/* The typed half of the handler toolkit (beside common.c): a query whose results come in binary format, its columns written
 * as JSON members, and the reply of a JSON writer. For the hot reads,
 * where PostgreSQL building the JSON (json_build_object, json_agg,
 * to_char) was most of the database's time per request. */
#include <stdio.h>
#include <stdlib.h>

#include <sodium.h>

#include "rollcall/rest.h"
#include "rollcall/db.h"
#include "rollcall/http.h"
#include "rollcall/json.h"

void
rc_rest_query_typed(struct rc_req *req, const struct rc_db_stmt *stmt,
    const char *const *params, rc_rest_db_cb cb)
{
	if (rc_db_query_typed(req->loop->db, stmt, params, cb, req) != RC_AGAIN)
		rc_http_fail_unavailable(req, "the database is unavailable");
}

void
rc_rest_reply_json(struct rc_req *req, int status, struct rc_json *w)
{
	rc_http_reply(req, status, "application/json; charset=utf-8",
	    w->buf != NULL ? w->buf : "", w->len);
	rc_json_cleanup(w);
}

/* The member's name, and true when its value is NULL (written already). */
static int
put_key(struct rc_json *w, const char *key, const PGresult *res, int row,
    int col)
{
	rc_json_key(w, key);
	if (!PQgetisnull(res, row, col))
		return 0;
	rc_json_null(w);
	return 1;
}

void
rc_rest_put_text(struct rc_json *w, const char *key, const PGresult *res,
    int row, int col)
{
	if (!put_key(w, key, res, row, col))
		rc_json_string(w, PQgetvalue(res, row, col),
		    (size_t)PQgetlength(res, row, col));
}

void
rc_rest_put_uuid(struct rc_json *w, const char *key, const PGresult *res,
    int row, int col)
{
	const unsigned char *b;

	if (put_key(w, key, res, row, col))
		return;
	if ((b = rc_db_bin_uuid(res, row, col)) != NULL)
		rc_json_uuid(w, b);
	else
		rc_json_null(w);
}

void
rc_rest_put_time(struct rc_json *w, const char *key, const PGresult *res,
    int row, int col)
{
	if (!put_key(w, key, res, row, col))
		rc_json_time(w, rc_db_bin_time(res, row, col));
}

void
rc_rest_put_date(struct rc_json *w, const char *key, const PGresult *res,
    int row, int col)
{
	if (!put_key(w, key, res, row, col))
		rc_json_date(w, rc_db_bin_date(res, row, col));
}

void
rc_rest_put_int(struct rc_json *w, const char *key, const PGresult *res,
    int row, int col)
{
	if (!put_key(w, key, res, row, col))
		rc_json_int(w, rc_db_bin_int(res, row, col));
}

void
rc_rest_put_bool(struct rc_json *w, const char *key, const PGresult *res,
    int row, int col)
{
	if (!put_key(w, key, res, row, col))
		rc_json_bool(w, rc_db_bin_bool(res, row, col));
}

/* base64url("<at to the microsecond>|<id>") of row: the cursor
 * RC_REST_PAGE_SELECT makes, which rc_rest_page_parse reads back. */
static void
put_cursor(struct rc_json *w, const PGresult *res, int row, int at_col,
    int id_col)
{
	char at[RC_JSON_TIME_MAX], id[RC_JSON_UUID_MAX], raw[96];
	char b64[sodium_base64_ENCODED_LEN(sizeof(raw),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	const unsigned char *b = rc_db_bin_uuid(res, row, id_col);
	int n;

	if (b == NULL || rc_json_format_time(at, rc_db_bin_time(res, row,
	    at_col), 1) == 0) {
		rc_json_null(w);
		return;
	}
	rc_json_format_uuid(id, b);
	n = snprintf(raw, sizeof(raw), "%s|%s", at, id);
	sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)raw,
	    (size_t)n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	rc_json_cstring(w, b64);
}

void
rc_rest_put_page(struct rc_json *w, const PGresult *res, int limit,
    int at_col, int id_col, rc_rest_item_fn item)
{
	int i, n = PQntuples(res);

	/* A row without an id is the one a LEFT JOIN makes for none. */
	while (n > 0 && PQgetisnull(res, n - 1, id_col))
		n--;
	rc_json_object_begin(w);
	rc_json_key(w, "items");
	rc_json_array_begin(w);
	for (i = 0; i < n && i < limit; i++)
		item(w, res, i);
	rc_json_array_end(w);
	rc_json_key(w, "next_cursor");
	if (n > limit && limit > 0)
		put_cursor(w, res, limit - 1, at_col, id_col);
	else
		rc_json_null(w);
	rc_json_object_end(w);
}
