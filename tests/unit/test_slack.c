/* Unit tests of src/slack: Slack's own signature example, the strict form
 * parser, the command parser, the allow-list and the messages. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rollcall/slack.h"

/* api.slack.com "Verifying requests from Slack", its worked example. */
static const char DOC_SECRET[] = "8f742231b10e8888abcd99yyyzzz85a5";
static const char DOC_TS[] = "1531420618";
static const char DOC_BODY[] = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id="
    "T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name="
    "foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-"
    "collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2F"
    "T1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id="
    "398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
static const char DOC_SIG[] = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d2"
    "1a10bd27519666489c69b503";

static void
test_signature(void **state)
{
	char sig[68], bad[] = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d2"
	    "1a10bd27519666489c69b504";

	(void)state;
	rc_slack_sign(DOC_SECRET, DOC_TS, DOC_BODY, strlen(DOC_BODY), sig);
	assert_string_equal(sig, DOC_SIG);
	assert_true(rc_slack_signature_ok(DOC_SECRET, DOC_TS, DOC_SIG,
	    DOC_BODY, strlen(DOC_BODY)));
	assert_false(rc_slack_signature_ok(DOC_SECRET, DOC_TS, bad,
	    DOC_BODY, strlen(DOC_BODY)));
	assert_false(rc_slack_signature_ok(DOC_SECRET, "1531420619", DOC_SIG,
	    DOC_BODY, strlen(DOC_BODY)));
	assert_false(rc_slack_signature_ok("other", DOC_TS, DOC_SIG,
	    DOC_BODY, strlen(DOC_BODY)));
	assert_false(rc_slack_signature_ok(DOC_SECRET, DOC_TS, DOC_SIG,
	    DOC_BODY, strlen(DOC_BODY) - 1));
	assert_false(rc_slack_signature_ok(DOC_SECRET, DOC_TS, NULL,
	    DOC_BODY, strlen(DOC_BODY)));
	assert_false(rc_slack_signature_ok("", DOC_TS, DOC_SIG, DOC_BODY,
	    strlen(DOC_BODY)));
}

static void
test_timestamp(void **state)
{
	(void)state;
	assert_true(rc_slack_timestamp_ok("1000000", 1000000));
	assert_true(rc_slack_timestamp_ok("1000300", 1000000));
	assert_true(rc_slack_timestamp_ok("999700", 1000000));
	assert_false(rc_slack_timestamp_ok("999699", 1000000));
	assert_false(rc_slack_timestamp_ok("1000301", 1000000));
	assert_false(rc_slack_timestamp_ok("", 1000000));
	assert_false(rc_slack_timestamp_ok(NULL, 1000000));
	assert_false(rc_slack_timestamp_ok("1000000 ", 1000000));
	assert_false(rc_slack_timestamp_ok("-1000000", 1000000));
	assert_false(rc_slack_timestamp_ok("99999999999999999999", 1000000));
}

static int
parses(const char *body)
{
	struct rc_slack_form f;
	char err[256];
	rc_status rc = rc_slack_form_parse(body, strlen(body), &f, err,
	    sizeof(err));

	rc_slack_form_cleanup(&f);
	return rc == RC_OK;
}

static void
test_form(void **state)
{
	struct rc_slack_form f;
	char err[256];

	(void)state;
	assert_int_equal(rc_slack_form_parse(DOC_BODY, strlen(DOC_BODY), &f,
	    err, sizeof(err)), RC_OK);
	assert_string_equal(rc_slack_form_get(&f, "command"),
	    "/webhook-collect");
	assert_string_equal(rc_slack_form_get(&f, "text"), "");
	assert_string_equal(rc_slack_form_get(&f, "response_url"),
	    "https://hooks.slack.com/commands/T1DC2JH3J/397700885554/"
	    "96rGlfmibIGlgcZRskXaIFfN");
	assert_null(rc_slack_form_get(&f, "nope"));
	rc_slack_form_cleanup(&f);
	assert_int_equal(rc_slack_form_parse("text=caf%C3%A9+au+lait&x", 24,
	    &f, err, sizeof(err)), RC_OK);
	assert_string_equal(rc_slack_form_get(&f, "text"), "café au lait");
	assert_string_equal(rc_slack_form_get(&f, "x"), "");
	rc_slack_form_cleanup(&f);
	assert_true(parses(""));
	assert_false(parses("a=%"));
	assert_false(parses("a=%4"));
	assert_false(parses("a=%4g"));
	assert_false(parses("a=%00"));
	assert_false(parses("a=%C3"));		/* truncated UTF-8 */
	assert_false(parses("a=%C0%AF"));	/* overlong */
	assert_false(parses("a=%ED%A0%80"));	/* surrogate */
	assert_false(parses("a=1&a=2"));
	assert_false(parses("a=1&&b=2"));
	assert_false(parses("a=1&"));
	assert_false(parses("=1"));
}

static void
test_command(void **state)
{
	struct rc_slack_command c;
	char err[1024];

	(void)state;
	assert_int_equal(rc_slack_command_parse("  IN  from home ", &c, err,
	    sizeof(err)), RC_OK);
	assert_int_equal(c.verb, RC_SLACK_IN);
	assert_string_equal(c.rest, "from home");
	rc_slack_command_cleanup(&c);
	assert_int_equal(rc_slack_command_parse("leave 2026-12-01 2026-12-03 "
	    "Sick leave  flu", &c, err, sizeof(err)), RC_OK);
	assert_string_equal(c.start, "2026-12-01");
	assert_string_equal(c.end, "2026-12-03");
	assert_string_equal(c.rest, "Sick leave  flu");
	rc_slack_command_cleanup(&c);
	assert_int_equal(rc_slack_command_parse("", &c, err, sizeof(err)),
	    RC_OK);
	assert_int_equal(c.verb, RC_SLACK_HELP);
	assert_int_equal(rc_slack_command_parse("leave 2026-02-29 2026-03-01 x",
	    &c, err, sizeof(err)), RC_ERR);
	rc_slack_command_cleanup(&c);
	assert_int_equal(rc_slack_command_parse("leave 2026-03-02 2026-03-01 x",
	    &c, err, sizeof(err)), RC_ERR);
	rc_slack_command_cleanup(&c);
	assert_int_equal(rc_slack_command_parse("who else", &c, err,
	    sizeof(err)), RC_ERR);
	assert_int_equal(rc_slack_command_parse("inn", &c, err, sizeof(err)),
	    RC_ERR);
	assert_non_null(strstr(err, "do not know"));
}

static void
test_allow(void **state)
{
	const char *allow = "https://hooks.slack.com/, http://127.0.0.1:";

	(void)state;
	assert_true(rc_slack_url_allowed(allow,
	    "https://hooks.slack.com/services/T/B/x"));
	assert_true(rc_slack_url_allowed(allow, "http://127.0.0.1:9/x"));
	assert_false(rc_slack_url_allowed(allow,
	    "https://hooks.slack.com.evil.test/"));
	assert_false(rc_slack_url_allowed(allow, "http://127.0.0.10/"));
	assert_false(rc_slack_url_allowed(allow,
	    "https://hooks.slack.com/a b"));
	assert_false(rc_slack_url_allowed("", "https://hooks.slack.com/"));
	assert_false(rc_slack_url_allowed(" , ", "https://x/"));
}

static void
test_message(void **state)
{
	json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, "
	    "s:[{s:s, s:s}]}", "event", "leave_requested", "requester",
	    "Ada <3", "requester_slack", "U1", "leave_type", "Annual",
	    "start_date", "2026-12-01", "end_date", "2026-12-02", "days", 2,
	    "reason", "a & b", "approvers", "name", "Bo", "slack", "U2");
	char err[128];
	json_t *m = rc_slack_message(p, err, sizeof(err));
	const char *md;

	(void)state;
	assert_non_null(m);
	assert_string_equal(json_string_value(json_object_get(m, "text")),
	    "Leave request from Ada &lt;3: Annual, 2026-12-01 to 2026-12-02 "
	    "(2 working days)");
	md = json_string_value(json_object_get(json_object_get(json_array_get(
	    json_object_get(m, "blocks"), 0), "text"), "text"));
	assert_non_null(strstr(md, "<@U1>"));
	assert_non_null(strstr(md, "a &amp; b"));
	assert_non_null(strstr(md, "For: <@U2>"));
	json_decref(m);
	json_object_set_new(p, "event", json_string("nope"));
	assert_null(rc_slack_message(p, err, sizeof(err)));
	json_decref(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signature),
		cmocka_unit_test(test_timestamp),
		cmocka_unit_test(test_form),
		cmocka_unit_test(test_command),
		cmocka_unit_test(test_allow),
		cmocka_unit_test(test_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
