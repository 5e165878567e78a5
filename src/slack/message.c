/* Notifications as Slack's incoming webhooks take them: a "text"
 * fallback (notifications, screen readers) and Block Kit "blocks" for
 * the message itself (api.slack.com "Block Kit", "Sending messages using
 * incoming webhooks"). Built from the payloads sql/011_slack.sql queues. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rollcall/slack.h"
#include "rollcall/util.h"

/* Slack truncates a section's text at 3,000 characters. */
#define SECTION_MAX	2900

char *
rc_slack_escape(const char *s)
{
	size_t n = 0, i;
	char *out, *p;

	for (i = 0; s[i] != '\0'; i++)
		n += s[i] == '&' ? 5 : (s[i] == '<' || s[i] == '>') ? 4 : 1;
	out = p = rc_malloc(n + 1);
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] == '&')
			p = stpcpy(p, "&amp;");
		else if (s[i] == '<')
			p = stpcpy(p, "&lt;");
		else if (s[i] == '>')
			p = stpcpy(p, "&gt;");
		else
			*p++ = s[i];
	}
	*p = '\0';
	return out;
}

static const char *
str(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v != NULL ? v : "";
}

/* A growing string. */
struct buf {
	char	*s;
	size_t	 len, cap;
};

static void
put(struct buf *b, const char *s)
{
	size_t n = strlen(s);

	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = rc_realloc(b->s, b->cap);
	}
	memcpy(b->s + b->len, s, n + 1);
	b->len += n;
}

static void
put_escaped(struct buf *b, const char *s)
{
	char *e = rc_slack_escape(s);

	put(b, e);
	free(e);
}

/* A person: their mention when linked to Slack (valid ids only reach
 * here: the column's CHECK), else their name. */
static void
put_person(struct buf *b, const json_t *p, const char *name_key,
    const char *slack_key, int mention)
{
	const char *id = str(p, slack_key);

	if (mention && id[0] != '\0') {
		put(b, "<@");
		put(b, id);
		put(b, ">");
	} else {
		put_escaped(b, str(p, name_key));
	}
}

static void
put_people(struct buf *b, const json_t *list, int mention)
{
	size_t i;
	json_t *p;

	if (json_array_size(list) == 0) {
		put(b, "nobody");
		return;
	}
	json_array_foreach(list, i, p) {
		if (i > 0)
			put(b, ", ");
		put_person(b, p, "name", "slack", mention);
	}
}

static void
put_days(struct buf *b, const json_t *payload)
{
	char n[64];
	json_t *d = json_object_get(payload, "days");

	snprintf(n, sizeof(n), " (%g working day%s)", json_number_value(d),
	    json_number_value(d) == 1 ? "" : "s");
	put(b, str(payload, "start_date"));
	if (strcmp(str(payload, "start_date"), str(payload, "end_date")) != 0) {
		put(b, " to ");
		put(b, str(payload, "end_date"));
	}
	put(b, n);
}

static void
leave_requested(const json_t *p, struct buf *text, struct buf *md)
{
	struct buf *b[2] = { text, md };
	int i;

	for (i = 0; i < 2; i++) {
		put(b[i], i ? "*Leave request* from " : "Leave request from ");
		put_person(b[i], p, "requester", "requester_slack", i);
		put(b[i], ": ");
		put_escaped(b[i], str(p, "leave_type"));
		put(b[i], ", ");
		put_days(b[i], p);
	}
	if (str(p, "reason")[0] != '\0') {
		put(md, "\n>");
		put_escaped(md, str(p, "reason"));
	}
	put(md, "\nFor: ");
	put_people(md, json_object_get(p, "approvers"), 1);
}

static void
leave_decided(const json_t *p, struct buf *text, struct buf *md)
{
	const char *d = str(p, "decision");
	struct buf *b[2] = { text, md };
	int i;

	for (i = 0; i < 2; i++) {
		put_person(b[i], p, "requester", "requester_slack", i);
		put(b[i], i ? ": your leave request (" : ": leave request (");
		put_escaped(b[i], str(p, "leave_type"));
		put(b[i], ", ");
		put_days(b[i], p);
		put(b[i], ") was ");
		put(b[i], i ? (strcmp(d, "approved") == 0 ? "*approved*" :
		    "*rejected*") : d);
		put(b[i], " by ");
		put_escaped(b[i], str(p, "decided_by"));
		put(b[i], ".");
	}
	if (str(p, "comment")[0] != '\0') {
		put(md, "\n>");
		put_escaped(md, str(p, "comment"));
	}
}

static void
punch(const json_t *p, struct buf *text, struct buf *md)
{
	struct buf *b[2] = { text, md };
	int i;

	for (i = 0; i < 2; i++) {
		put_person(b[i], p, "name", "slack", 0);
		put(b[i], strcmp(str(p, "kind"), "in") == 0 ? " checked in at " :
		    " checked out at ");
		put(b[i], str(p, "time"));
		put(b[i], " (");
		put_escaped(b[i], str(p, "timezone"));
		put(b[i], ")");
	}
}

static void
digest(const json_t *p, struct buf *text, struct buf *md)
{
	static const struct { const char *key, *label; } lists[] = {
		{ "absent", "Absent" }, { "on_leave", "On leave" },
		{ "late", "Late" },
	};
	struct buf *b[2] = { text, md };
	char n[32];
	size_t k;
	int i;

	snprintf(n, sizeof(n), "%lld", (long long)json_integer_value(
	    json_object_get(p, "present")));
	for (i = 0; i < 2; i++) {
		put(b[i], i ? "*Attendance of " : "Attendance of ");
		put_escaped(b[i], str(p, "org"));
		put(b[i], ", ");
		put(b[i], str(p, "date"));
		put(b[i], i ? "*\nPresent: " : ". Present: ");
		put(b[i], n);
		for (k = 0; k < RC_NELEM(lists); k++) {
			put(b[i], i ? "\n*" : ". ");
			put(b[i], lists[k].label);
			put(b[i], i ? ":* " : ": ");
			put_people(b[i], json_object_get(p, lists[k].key), 0);
		}
	}
}

/* Cuts s to at most max bytes on a character boundary. */
static void
cut(struct buf *b, size_t max)
{
	size_t n = b->len;

	if (n <= max)
		return;
	n = max - 3;
	while (n > 0 && ((unsigned char)b->s[n] & 0xC0) == 0x80)
		n--;
	memcpy(b->s + n, "...", 4);
	b->len = n + 3;
}

json_t *
rc_slack_message(const json_t *payload, char *err, size_t errlen)
{
	const char *ev = str(payload, "event");
	struct buf text = { 0 }, md = { 0 };
	json_t *msg;

	if (strcmp(ev, "leave_requested") == 0)
		leave_requested(payload, &text, &md);
	else if (strcmp(ev, "leave_decided") == 0)
		leave_decided(payload, &text, &md);
	else if (strcmp(ev, "punch") == 0)
		punch(payload, &text, &md);
	else if (strcmp(ev, "digest") == 0)
		digest(payload, &text, &md);
	else {
		snprintf(err, errlen, "payload: unknown event \"%.32s\"", ev);
		return NULL;
	}
	cut(&text, SECTION_MAX);
	cut(&md, SECTION_MAX);
	msg = json_pack("{s:s, s:[{s:s, s:{s:s, s:s}}, {s:s, s:[{s:s, s:s}]}]}",
	    "text", text.s, "blocks", "type", "section", "text", "type",
	    "mrkdwn", "text", md.s, "type", "context", "elements", "type",
	    "mrkdwn", "text", "sent by rollcall");
	free(text.s);
	free(md.s);
	if (msg == NULL)
		snprintf(err, errlen, "payload: not UTF-8 text");
	return msg;
}
