/* The Slack members of PATCH /orgs/{id} and PATCH /users/{id}, checked
 * here so that the org and user resources only call in. The signing secret and
 * the webhook URL are write-only: they go into slack_links and nowhere
 * else (the audit row names the "slack" member, never its values). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "rollcall/api.h"
#include "rollcall/rest.h"
#include "rollcall/config.h"
#include "rollcall/http.h"
#include "rollcall/slack.h"

#define ID_MAX		64
#define SECRET_MIN	8
#define SECRET_MAX	256
#define URL_MAX		2048

/* Slack's ids (T0123ABC, U0123ABC): the columns' CHECK. */
static int
slack_id_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > ID_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' &&
		    s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

static int
printable_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

static int
hhmm_ok(const char *s)
{
	return strlen(s) == 5 && s[0] >= '0' && s[0] <= '2' && s[1] >= '0' &&
	    s[1] <= '9' && (s[0] < '2' || s[1] <= '3') && s[2] == ':' &&
	    s[3] >= '0' && s[3] <= '5' && s[4] >= '0' && s[4] <= '9';
}

static rc_status
fail(struct rc_req *req, const char *member, const char *message)
{
	char field[48];

	snprintf(field, sizeof(field), "slack.%s", member);
	rc_http_fail_field(req, field, message);
	return RC_ERR;
}

/* A string member or null; *s NULL for null. */
static rc_status
string_or_null(struct rc_req *req, json_t *v, const char *member,
    const char **s)
{
	*s = NULL;
	if (json_is_null(v))
		return RC_OK;
	if (!json_is_string(v) || strlen(json_string_value(v)) !=
	    json_string_length(v))
		return fail(req, member, "must be a string or null");
	*s = json_string_value(v);
	return RC_OK;
}

static rc_status
check_notify(struct rc_req *req, json_t *v)
{
	static const char *const kinds[] = { "leave", "digest", "punches" };
	unsigned seen = 0;
	size_t i, k;
	json_t *x;

	if (!json_is_array(v))
		goto bad;
	json_array_foreach(v, i, x) {
		for (k = 0; k < RC_NELEM(kinds); k++)
			if (json_is_string(x) && strcmp(json_string_value(x),
			    kinds[k]) == 0)
				break;
		if (k == RC_NELEM(kinds) || (seen & (1u << k)))
			goto bad;
		seen |= 1u << k;
	}
	return RC_OK;
bad:
	return fail(req, "notify", "must be an array of distinct \"leave\", "
	    "\"digest\", \"punches\"");
}

static rc_status
check_member(struct rc_req *req, const char *key, json_t *v)
{
	const char *allow = rc_server_config(req->loop->server)->
	    slack_webhook_allow;
	const char *s;

	if (strcmp(key, "notify") == 0)
		return check_notify(req, v);
	if (string_or_null(req, v, key, &s) != RC_OK)
		return RC_ERR;
	if (strcmp(key, "team_id") == 0) {
		if (s != NULL && !slack_id_ok(s))
			return fail(req, key, "must be a Slack team id such as "
			    "T0123ABCD");
	} else if (strcmp(key, "signing_secret") == 0) {
		if (s != NULL && (strlen(s) < SECRET_MIN || strlen(s) >
		    SECRET_MAX || !printable_ascii(s)))
			return fail(req, key, "must be the app's signing "
			    "secret (8 to 256 printable characters)");
	} else if (strcmp(key, "webhook_url") == 0) {
		if (s != NULL && (strlen(s) > URL_MAX ||
		    !rc_slack_url_allowed(allow, s)))
			return fail(req, key, "must start with a prefix the "
			    "server allows (slack.webhook_allow)");
	} else if (strcmp(key, "digest_time") == 0) {
		if (s == NULL || !hhmm_ok(s))
			return fail(req, key, "must be a time HH:MM from 00:00 "
			    "to 23:59");
	} else {
		return fail(req, key, "is not a Slack setting (team_id, "
		    "signing_secret, webhook_url, notify, digest_time)");
	}
	return RC_OK;
}

rc_status
rc_slack_settings_parse(struct rc_req *req, char **out)
{
	json_t *v = req->body ? json_object_get(req->body, "slack") : NULL;
	const char *key;
	json_t *m;

	*out = NULL;
	if (v == NULL)
		return RC_OK;
	if (json_is_null(v)) {
		*out = rc_strdup("null");
		return RC_OK;
	}
	if (!json_is_object(v)) {
		rc_http_fail_field(req, "slack", "must be an object of Slack "
		    "settings, or null to unlink the workspace");
		return RC_ERR;
	}
	json_object_foreach(v, key, m)
		if (check_member(req, key, m) != RC_OK)
			return RC_ERR;
	*out = json_dumps(v, JSON_COMPACT);
	return RC_OK;
}

void
rc_slack_settings_free(char *s)
{
	if (s == NULL)
		return;
	sodium_memzero(s, strlen(s));
	free(s);
}

rc_status
rc_slack_user_change(struct rc_req *req, json_t *changes)
{
	json_t *v = req->body ? json_object_get(req->body, "slack_user_id") :
	    NULL;

	if (v == NULL)
		return RC_OK;
	if (!json_is_null(v) && (!json_is_string(v) ||
	    strlen(json_string_value(v)) != json_string_length(v) ||
	    !slack_id_ok(json_string_value(v)))) {
		rc_http_fail_field(req, "slack_user_id", "must be a Slack member "
		    "id such as U0123ABCD, or null");
		return RC_ERR;
	}
	json_object_set(changes, "slack_user_id", v);
	return RC_OK;
}
