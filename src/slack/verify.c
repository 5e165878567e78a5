/* Slack's request signature (api.slack.com "Verifying requests from
 * Slack"): v0= + hex HMAC-SHA256(signing secret, "v0:" ts ":" body), and
 * a timestamp close to now against replays. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "rollcall/slack.h"
#include "rollcall/util.h"

#define TS_DIGITS_MAX	12

int
rc_slack_timestamp_ok(const char *ts, int64_t now)
{
	int64_t t = 0;
	size_t i, n;

	if (ts == NULL || (n = strlen(ts)) == 0 || n > TS_DIGITS_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		if (ts[i] < '0' || ts[i] > '9')
			return 0;
		t = t * 10 + (ts[i] - '0');
	}
	return t >= now - RC_SLACK_WINDOW_SEC && t <= now + RC_SLACK_WINDOW_SEC;
}

void
rc_slack_sign(const char *secret, const char *ts, const void *body,
    size_t len, char out[68])
{
	crypto_auth_hmacsha256_state st;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];

	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret,
	    strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)"v0:", 3);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts,
	    strlen(ts));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)":", 1);
	crypto_auth_hmacsha256_update(&st, body, len);
	crypto_auth_hmacsha256_final(&st, mac);
	memcpy(out, "v0=", 3);
	rc_hex_encode(mac, sizeof(mac), out + 3);
	sodium_memzero(&st, sizeof(st));
}

/* Hashing a body of at most RC_SLACK_BODY_MAX bytes takes microseconds:
 * it runs on the request's loop thread, like a JWT check. */
int
rc_slack_signature_ok(const char *secret, const char *ts, const char *sig,
    const void *body, size_t len)
{
	char want[68];
	int ok;

	if (secret == NULL || ts == NULL || sig == NULL || secret[0] == '\0')
		return 0;
	rc_slack_sign(secret, ts, body, len, want);
	ok = rc_secure_equal(want, strlen(want), sig, strlen(sig));
	sodium_memzero(want, sizeof(want));
	return ok;
}
