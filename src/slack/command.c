/* The text of "/rollcall ...": a verb and what follows it. Dates are
 * checked here; everything that needs the database (the person, the
 * leave type, the rules) is the API's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rollcall/api.h"
#include "rollcall/rest.h"
#include "rollcall/slack.h"
#include "rollcall/util.h"

static const char HELP[] =
	"*rollcall* commands:\n"
	"• `in [note]`: check in\n"
	"• `out`: check out\n"
	"• `status`: your day so far and this month's hours\n"
	"• `leave YYYY-MM-DD YYYY-MM-DD [TYPE] REASON`: ask for leave "
	"(TYPE: one of your organisation's leave types; needed when it has "
	"more than one)\n"
	"• `who`: who is in, late, absent or on leave today (managers and "
	"admins)\n"
	"• `help`: this text";

const char *
rc_slack_help(void)
{
	return HELP;
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static const char *
skip_spaces(const char *s)
{
	while (is_space(*s))
		s++;
	return s;
}

/* The next word of *s (at most max - 1 bytes into out); moves *s past
 * it and the spaces after. False when the word is longer. */
static int
next_word(const char **s, char *out, size_t max)
{
	size_t n = 0;

	*s = skip_spaces(*s);
	while ((*s)[n] != '\0' && !is_space((*s)[n]))
		n++;
	if (n >= max)
		return 0;
	memcpy(out, *s, n);
	out[n] = '\0';
	*s = skip_spaces(*s + n);
	return 1;
}

/* The rest of the text without trailing spaces, as a new string. */
static char *
rest_of(const char *s)
{
	size_t n = strlen(s);

	while (n > 0 && is_space(s[n - 1]))
		n--;
	return rc_strndup(s, n);
}

static size_t
chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

static rc_status
parse_leave(const char *s, struct rc_slack_command *cmd, char *err,
    size_t errlen)
{
	static const char usage[] = "Write `leave YYYY-MM-DD YYYY-MM-DD "
	    "[TYPE] REASON`, for example `leave 2026-12-21 2026-12-24 "
	    "Annual family visit`.";

	if (!next_word(&s, cmd->start, sizeof(cmd->start)) ||
	    !next_word(&s, cmd->end, sizeof(cmd->end)) ||
	    cmd->start[0] == '\0' || cmd->end[0] == '\0') {
		snprintf(err, errlen, "%s", usage);
		return RC_ERR;
	}
	if (!rc_util_date_valid(cmd->start) || !rc_util_date_valid(cmd->end)) {
		snprintf(err, errlen, "The dates must be real dates written "
		    "YYYY-MM-DD. %s", usage);
		return RC_ERR;
	}
	if (strcmp(cmd->end, cmd->start) < 0) {
		snprintf(err, errlen, "The end date %s is before the start "
		    "date %s.", cmd->end, cmd->start);
		return RC_ERR;
	}
	cmd->rest = rest_of(s);
	if (cmd->rest[0] == '\0') {
		snprintf(err, errlen, "Say why: a reason is needed. %s", usage);
		return RC_ERR;
	}
	if (chars(cmd->rest) > RC_SLACK_REASON_MAX) {
		snprintf(err, errlen, "The reason is longer than %d "
		    "characters.", RC_SLACK_REASON_MAX);
		return RC_ERR;
	}
	return RC_OK;
}

rc_status
rc_slack_command_parse(const char *text, struct rc_slack_command *cmd,
    char *err, size_t errlen)
{
	static const struct { const char *word; enum rc_slack_verb verb; }
	    verbs[] = {
		{ "in", RC_SLACK_IN }, { "out", RC_SLACK_OUT },
		{ "status", RC_SLACK_STATUS }, { "leave", RC_SLACK_LEAVE },
		{ "who", RC_SLACK_WHO }, { "help", RC_SLACK_HELP },
	};
	const char *s = text != NULL ? text : "";
	char word[16];
	size_t i;

	memset(cmd, 0, sizeof(*cmd));
	if (!next_word(&s, word, sizeof(word)))
		goto unknown;
	if (word[0] == '\0') {
		cmd->verb = RC_SLACK_HELP;
		return RC_OK;
	}
	for (i = 0; i < RC_NELEM(verbs); i++)
		if (strcasecmp(word, verbs[i].word) == 0)
			break;
	if (i == RC_NELEM(verbs))
		goto unknown;
	cmd->verb = verbs[i].verb;
	switch (cmd->verb) {
	case RC_SLACK_LEAVE:
		return parse_leave(s, cmd, err, errlen);
	case RC_SLACK_IN:
		cmd->rest = rest_of(s);
		if (chars(cmd->rest) > RC_SLACK_NOTE_MAX) {
			snprintf(err, errlen, "The note is longer than %d "
			    "characters.", RC_SLACK_NOTE_MAX);
			return RC_ERR;
		}
		return RC_OK;
	default:
		if (*s != '\0') {
			snprintf(err, errlen, "`%s` takes nothing after it. "
			    "Try `help`.", verbs[i].word);
			return RC_ERR;
		}
		return RC_OK;
	}
unknown:
	snprintf(err, errlen, "I do not know that command.\n%s", HELP);
	return RC_ERR;
}

void
rc_slack_command_cleanup(struct rc_slack_command *cmd)
{
	free(cmd->rest);
	cmd->rest = NULL;
}
