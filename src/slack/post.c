/* Posting a message to an incoming webhook, with libcurl's easy interface:
 * the jobs worker's thread blocks here, never a loop thread. Redirects
 * are not followed (they could lead past slack.webhook_allow), and the
 * URL, which is the webhook's secret, is never put into an error. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "rollcall/slack.h"
#include "rollcall/util.h"

/* Retry-After beyond an hour is treated as an hour. */
#define RETRY_AFTER_MAX_MS	3600000L

int
rc_slack_url_allowed(const char *allow, const char *url)
{
	const char *p = allow, *e, *u;
	size_t n;

	if (url == NULL || allow == NULL || url[0] == '\0')
		return 0;
	for (u = url; *u != '\0'; u++)
		if ((unsigned char)*u <= 0x20 || *u == 0x7f)
			return 0;
	while (*p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		for (e = p; *e != '\0' && *e != ','; e++)
			;
		n = (size_t)(e - p);
		while (n > 0 && p[n - 1] == ' ')
			n--;
		if (n > 0 && strncmp(url, p, n) == 0)
			return 1;
		p = e;
	}
	return 0;
}

/* The start of the reply's body: Slack says why it refused a message
 * there ("invalid_payload", "no_service"). */
struct reply_start {
	char	 text[81];
	size_t	 len;
};

static size_t
body_cb(char *data, size_t size, size_t n, void *arg)
{
	struct reply_start *r = arg;
	size_t i;

	for (i = 0; i < size * n && r->len + 1 < sizeof(r->text); i++)
		r->text[r->len++] = isprint((unsigned char)data[i]) ?
		    data[i] : ' ';
	r->text[r->len] = '\0';
	return size * n;
}

/* Retry-After: delay-seconds (RFC 9110 10.2.3); an HTTP-date is left to
 * the usual backoff. */
static size_t
header_cb(char *data, size_t size, size_t n, void *arg)
{
	long *ms = arg, secs = 0;
	size_t len = size * n, i = 12;

	if (len > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
		while (i < len && data[i] == ' ')
			i++;
		if (i < len && isdigit((unsigned char)data[i])) {
			for (; i < len && isdigit((unsigned char)data[i]); i++)
				if (secs < RETRY_AFTER_MAX_MS / 1000)
					secs = secs * 10 + (data[i] - '0');
			*ms = secs * 1000 > RETRY_AFTER_MAX_MS ?
			    RETRY_AFTER_MAX_MS : secs * 1000;
		}
	}
	return len;
}

enum rc_slack_post_result
rc_slack_post(const char *url, const char *body, long timeout_ms,
    long *retry_after_ms, char *err, size_t errlen)
{
	enum rc_slack_post_result r = RC_SLACK_RETRY;
	struct curl_slist *hdr = NULL;
	CURL *c;
	struct reply_start reply = { "", 0 };
	CURLcode cc;
	long status = 0;

	*retry_after_ms = 0;
	if ((c = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "curl_easy_init failed");
		return RC_SLACK_RETRY;
	}
	hdr = curl_slist_append(hdr, "Content-Type: application/json; "
	    "charset=utf-8");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(c, CURLOPT_USERAGENT, "rollcall");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, retry_after_ms);
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		/* curl_easy_strerror names no URL. */
		snprintf(err, errlen, "webhook: %s", curl_easy_strerror(cc));
		*retry_after_ms = 0;
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status < 300) {
		r = RC_SLACK_POSTED;
	} else if (status >= 500 || status == 429 || status == 408) {
		snprintf(err, errlen, "webhook: HTTP %ld", status);
		if (status != 429)
			*retry_after_ms = 0;
	} else {
		snprintf(err, errlen, "webhook: HTTP %ld %s (refused; not "
		    "retried)", status, reply.text);
		r = RC_SLACK_REFUSED;
	}
out:
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	return r;
}
