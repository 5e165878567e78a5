/* libFuzzer driver: the access-token splitter and verifier
 * (src/auth/jwt.c) with a fixed TEST ONLY key; nothing may pass that the
 * key did not sign, and refusals must not leak. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rollcall/auth.h"
#include "rollcall/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The unit tests' TEST ONLY key (tests/unit/test_auth.c), public on
 * purpose. */
static const char test_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgsPWK/MFMubUiHgGQ\n"
    "plhz2TGFVnD3TWOcb/T92/8GOLKhRANCAAQceQgOmVrOowcGIE4eob/Lg0GinPPA\n"
    "fp9OZVN4xFWttWv9X0IJ3rkxyQO7BopPIykjWHC2/QiM/S9skSp38ZQ2\n"
    "-----END PRIVATE KEY-----\n";

static struct rc_auth_keys *keys;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rc_auth_claims out;
	enum rc_auth_verify_error why;
	char err[RC_AUTH_ERR_LEN], *tok;

	if (keys == NULL) {
		keys = rc_auth_keys_new();
		if (rc_auth_keys_add_pem(keys, test_pem, strlen(test_pem), 1,
		    err) != RC_OK)
			abort();
	}
	tok = rc_strndup((const char *)data, size);
	if (rc_auth_token_verify(keys, "https://rollcall.test", tok,
	    (int64_t)1800000000, 0, &out, &why) == RC_OK &&
	    (out.sub == NULL || out.role == NULL || out.jti == NULL))
		abort();
	rc_auth_claims_cleanup(&out);
	free(tok);
	return 0;
}
