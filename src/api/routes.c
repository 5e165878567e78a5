/* The route table of the whole server, and the API's start-up: the signing
 * keys, the password context, the blob store, the face matcher and the
 * demo seed. */
#include <stdatomic.h>
#include <stdio.h>

#include "rollcall/api.h"
#include "rollcall/auth.h"
#include "rollcall/config.h"
#include "rollcall/http.h"
#include "rollcall/log.h"

#include "faces-int.h"

/* Replaced whole by a reload (SIGHUP); loop threads read it unlocked. */
static struct rc_auth_keys	*_Atomic api_keys;
/* Sets a reload replaced: a loop thread may still be using one, and
 * rotations are rare (monthly), so they stay until exit. */
#define KEYS_RETIRED_MAX	64
static struct rc_auth_keys	*retired_keys[KEYS_RETIRED_MAX];
static int			 nretired_keys;
static struct rc_auth_passwords	*api_passwords;
static struct rc_store		*api_store;
static struct rc_face_engine	*api_face_engine;

const struct rc_auth_keys *
rc_api_keys(void)
{
	return api_keys;
}

const struct rc_auth_passwords *
rc_api_passwords(void)
{
	return api_passwords;
}

struct rc_store *
rc_api_store(void)
{
	return api_store;
}

struct rc_face_engine *
rc_api_face_engine(void)
{
	return api_face_engine;
}

static const char *
empty_is_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

void
rc_api_face_config(const struct rc_config *cfg, struct rc_face_config *out)
{
	*out = (struct rc_face_config){
		.models_dir = empty_is_null(cfg->face_models_dir),
		.cascade_dir = empty_is_null(cfg->face_cascade_dir),
		.detector_model = empty_is_null(cfg->face_detector_model),
		.min_face_px = cfg->face_min_face_px,
	};
}

/* The blob store and the face matcher. The weights are read here, once,
 * on the main thread before any loop runs (a few hundred ms); every CPU
 * pool worker builds its nets from them. A file that is missing or will
 * not load stops the start: a server that cannot match faces must say
 * so. */
static rc_status
start_pictures(const struct rc_config *cfg, char *err, size_t errlen)
{
	struct rc_face_config fc;
	char serr[512];

	if (cfg->face_recognizer_model[0] != '\0') {
		snprintf(err, errlen, "face.recognizer_model: SFace models are no "
		    "longer used (templates are dlib's ResNet descriptor, from "
		    "face.models_dir); remove the key");
		return RC_ERR;
	}

	if ((api_store = rc_store_open(cfg, serr, sizeof(serr))) == NULL) {
		snprintf(err, errlen, "store: %s", serr);
		return RC_ERR;
	}
	rc_api_face_config(cfg, &fc);
	api_face_engine = rc_face_engine_new(&fc, serr, sizeof(serr));
	if (api_face_engine == NULL) {
		snprintf(err, errlen, "face: %s", serr);
		return RC_ERR;
	}
	rc_log(RC_LOG_INFO, "face: matcher ready (%s v%u templates, models "
	    "from %s)", rc_face_method(api_face_engine),
	    rc_face_version(api_face_engine), fc.models_dir ? fc.models_dir :
	    RC_FACE_MODELS_DIR_DEFAULT);
	return RC_OK;
}

rc_status
rc_api_start(const struct rc_config *cfg, char *err, size_t errlen)
{
	char aerr[RC_AUTH_ERR_LEN];
	const char *common;

	if (rc_auth_init() != RC_OK) {
		snprintf(err, errlen, "libsodium cannot start");
		return RC_ERR;
	}
	api_keys = rc_auth_keys_new();
	if (rc_auth_keys_load_or_generate(api_keys, cfg->auth_keys_dir,
	    aerr) != RC_OK) {
		snprintf(err, errlen, "auth.keys_dir: %s", aerr);
		goto fail;
	}
	common = cfg->auth_common_passwords[0] != '\0' ?
	    cfg->auth_common_passwords : NULL;
	api_passwords = rc_auth_passwords_new(
	    (unsigned long long)cfg->auth_argon_opslimit,
	    (size_t)cfg->auth_argon_memlimit_kib * 1024, common, aerr);
	if (api_passwords == NULL) {
		snprintf(err, errlen, "auth: %s", aerr);
		goto fail;
	}
	rc_auth_middleware_setup(api_keys, cfg->auth_issuer);
	rc_log(RC_LOG_INFO, "auth: %zu key(s), signing with kid %s",
	    rc_auth_keys_count(api_keys), rc_auth_keys_signing_kid(api_keys));
	if (start_pictures(cfg, err, errlen) != RC_OK)
		goto fail;
	if (faces_gallery_start(cfg) != RC_OK) {
		snprintf(err, errlen, "face: cannot start the gallery listener");
		goto fail;
	}
	if (cfg->auth_demo_seed && rc_api_seed_demo(cfg, api_passwords, err,
	    errlen) != RC_OK)
		goto fail;
	return RC_OK;
fail:
	rc_api_stop();
	return RC_ERR;
}

void
rc_api_stop(void)
{
	rc_auth_middleware_setup(NULL, NULL);
	faces_gallery_stop();
	rc_face_engine_free(api_face_engine);
	api_face_engine = NULL;
	rc_store_close(api_store);
	api_store = NULL;
	rc_auth_passwords_free(api_passwords);
	api_passwords = NULL;
	rc_auth_keys_free(api_keys);
	api_keys = NULL;
	while (nretired_keys > 0)
		rc_auth_keys_free(retired_keys[--nretired_keys]);
}

void
rc_api_reload_keys(const struct rc_config *cfg)
{
	struct rc_auth_keys *keys = rc_auth_keys_new(), *old;
	char aerr[RC_AUTH_ERR_LEN];

	if (nretired_keys == KEYS_RETIRED_MAX ||
	    rc_auth_keys_load_or_generate(keys, cfg->auth_keys_dir,
	    aerr) != RC_OK) {
		rc_log(RC_LOG_ERROR, "SIGHUP: keys not reloaded: %s",
		    nretired_keys == KEYS_RETIRED_MAX ? "too many reloads; "
		    "restart" : aerr);
		rc_auth_keys_free(keys);
		return;
	}
	old = atomic_exchange(&api_keys, keys);
	rc_auth_middleware_setup(keys, cfg->auth_issuer);
	retired_keys[nretired_keys++] = old;
	rc_log(RC_LOG_INFO, "SIGHUP: %zu key(s), signing with kid %s",
	    rc_auth_keys_count(keys), rc_auth_keys_signing_kid(keys));
}

void
rc_api_routes(struct rc_router *r)
{
	rc_http_core_routes(r);
	rc_api_auth_routes(r);
	rc_api_users_routes(r);
	rc_api_leave_routes(r);
	rc_api_orgs_routes(r);
	rc_api_audit_routes(r);
	rc_api_reports_routes(r);
	rc_api_attendance_routes(r);
	rc_api_holidays_routes(r);
	rc_api_pictures_routes(r);
	rc_api_faces_routes(r);
	rc_api_kiosks_routes(r);
	rc_api_questions_routes(r);
}
