/* `rollcall serve`: builds the services the handlers use (signing keys,
 * password context, blob store, face matcher, the gallery listener), seeds
 * the demo organisation when asked, hands the services over
 * (rc_rest_services_set) and runs the loops; SIGHUP reloads the keys. */
#include <stdio.h>
#include <string.h>

#include "rollcall/api.h"
#include "rollcall/auth.h"
#include "rollcall/cli.h"
#include "rollcall/config.h"
#include "rollcall/cpu.h"
#include "rollcall/db.h"
#include "rollcall/face.h"
#include "rollcall/http.h"
#include "rollcall/jobs.h"
#include "rollcall/log.h"
#include "rollcall/rest.h"
#include "rollcall/store.h"

/* Sets a reload replaced: a loop thread may still be using one, and
 * rotations are rare (monthly), so they stay until exit. */
#define KEYS_RETIRED_MAX	64

/* What serve_start built; the handlers see it through rc_rest_*(). */
static struct {
	const struct rc_config	*cfg;
	struct rc_auth_keys	*keys;		/* the current set */
	struct rc_auth_keys	*retired[KEYS_RETIRED_MAX];
	int			 nretired;
	struct rc_auth_passwords *passwords;
	struct rc_store		*store;
	struct rc_face_engine	*face_engine;
} srv;

static const char *
empty_is_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

void
rc_cli_face_config(const struct rc_config *cfg, struct rc_face_config *out)
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

	if ((srv.store = rc_store_open(cfg, serr, sizeof(serr))) == NULL) {
		snprintf(err, errlen, "store: %s", serr);
		return RC_ERR;
	}
	rc_cli_face_config(cfg, &fc);
	srv.face_engine = rc_face_engine_new(&fc, serr, sizeof(serr));
	if (srv.face_engine == NULL) {
		snprintf(err, errlen, "face: %s", serr);
		return RC_ERR;
	}
	rc_log(RC_LOG_INFO, "face: matcher ready (%s v%u templates, models "
	    "from %s)", rc_face_method(srv.face_engine),
	    rc_face_version(srv.face_engine), fc.models_dir ? fc.models_dir :
	    RC_FACE_MODELS_DIR_DEFAULT);
	return RC_OK;
}

/* The signing keys and the password context. */
static rc_status
start_auth(const struct rc_config *cfg, char *err, size_t errlen)
{
	char aerr[RC_AUTH_ERR_LEN];
	const char *common;

	if (rc_auth_init() != RC_OK) {
		snprintf(err, errlen, "libsodium cannot start");
		return RC_ERR;
	}
	srv.keys = rc_auth_keys_new();
	if (rc_auth_keys_load_or_generate(srv.keys, cfg->auth_keys_dir,
	    aerr) != RC_OK) {
		snprintf(err, errlen, "auth.keys_dir: %s", aerr);
		return RC_ERR;
	}
	common = cfg->auth_common_passwords[0] != '\0' ?
	    cfg->auth_common_passwords : NULL;
	srv.passwords = rc_auth_passwords_new(
	    (unsigned long long)cfg->auth_argon_opslimit,
	    (size_t)cfg->auth_argon_memlimit_kib * 1024, common, aerr);
	if (srv.passwords == NULL) {
		snprintf(err, errlen, "auth: %s", aerr);
		return RC_ERR;
	}
	rc_auth_middleware_setup(srv.keys, cfg->auth_issuer);
	rc_log(RC_LOG_INFO, "auth: %zu key(s), signing with kid %s",
	    rc_auth_keys_count(srv.keys), rc_auth_keys_signing_kid(srv.keys));
	if (rc_auth_pcache_start(cfg->db_url) != RC_OK) {
		snprintf(err, errlen, "auth: cannot start the principal "
		    "cache's listener");
		return RC_ERR;
	}
	return RC_OK;
}

static void serve_stop(void);

/* Builds every service and hands them to the handlers (blocking: before
 * the loops start). */
static rc_status
serve_start(const struct rc_config *cfg, char *err, size_t errlen)
{
	srv.cfg = cfg;
	if (start_auth(cfg, err, errlen) != RC_OK ||
	    start_pictures(cfg, err, errlen) != RC_OK)
		goto fail;
	if (rc_face_gallery_start(cfg) != RC_OK) {
		snprintf(err, errlen, "face: cannot start the gallery listener");
		goto fail;
	}
	if (cfg->auth_demo_seed && rc_cli_seed_demo(cfg, srv.passwords, err,
	    errlen) != RC_OK)
		goto fail;
	rc_rest_services_set(&(struct rc_rest_services){
		.keys = srv.keys,
		.passwords = srv.passwords,
		.store = srv.store,
		.face_engine = srv.face_engine,
	});
	return RC_OK;
fail:
	serve_stop();
	return RC_ERR;
}

/* After the loops ended: safe to call twice. */
static void
serve_stop(void)
{
	rc_rest_services_set(NULL);
	rc_auth_middleware_setup(NULL, NULL);
	rc_auth_pcache_stop();
	rc_face_gallery_stop();
	rc_face_engine_free(srv.face_engine);
	srv.face_engine = NULL;
	rc_store_close(srv.store);
	srv.store = NULL;
	rc_auth_passwords_free(srv.passwords);
	srv.passwords = NULL;
	rc_auth_keys_free(srv.keys);
	srv.keys = NULL;
	while (srv.nretired > 0)
		rc_auth_keys_free(srv.retired[--srv.nretired]);
}

/* SIGHUP (main thread): key rotation (`rollcall keys rotate`) takes
 * effect: auth.keys_dir is loaded again into a new key set that signs and
 * verifies from then on; on failure the current one stays. */
static void
serve_reload_keys(void *arg)
{
	struct rc_auth_keys *keys = rc_auth_keys_new();
	char aerr[RC_AUTH_ERR_LEN];

	(void)arg;
	if (srv.nretired == KEYS_RETIRED_MAX ||
	    rc_auth_keys_load_or_generate(keys, srv.cfg->auth_keys_dir,
	    aerr) != RC_OK) {
		rc_log(RC_LOG_ERROR, "SIGHUP: keys not reloaded: %s",
		    srv.nretired == KEYS_RETIRED_MAX ? "too many reloads; "
		    "restart" : aerr);
		rc_auth_keys_free(keys);
		return;
	}
	rc_rest_keys_set(keys);
	rc_auth_middleware_setup(keys, srv.cfg->auth_issuer);
	srv.retired[srv.nretired++] = srv.keys;
	srv.keys = keys;
	rc_log(RC_LOG_INFO, "SIGHUP: %zu key(s), signing with kid %s",
	    rc_auth_keys_count(keys), rc_auth_keys_signing_kid(keys));
}

/* Templates of an older method than this build's are never compared: a
 * reindex job recomputes them (the jobs worker of this or any daemon). */
static void
queue_reindex_if_stale(const struct rc_config *cfg)
{
	char err[512];
	PGconn *pg;
	long stale;
	int queued;

	if ((pg = rc_db_connect_blocking(cfg->db_url, err, sizeof(err))) == NULL) {
		rc_log(RC_LOG_WARN, "face: cannot look for templates to "
		    "reindex: %.*s", (int)strcspn(err, "\n"), err);
		return;
	}
	if (rc_jobs_queue_face_reindex(pg, NULL, 0, &stale, &queued, err,
	    sizeof(err)) != RC_OK)
		rc_log(RC_LOG_WARN, "face: %s", err);
	else if (stale > 0)
		rc_log(RC_LOG_INFO, "face: %ld template(s) of an older method "
		    "than %s v%u; %s", stale, rc_face_method(NULL),
		    rc_face_version(NULL), queued ? "reindex queued" :
		    "a reindex is already queued");
	PQfinish(pg);
}

int
rc_cli_serve(const struct rc_config *cfg, int argc, char **argv)
{
	struct rc_router *router;
	struct rc_server *server;
	char err[1024];
	int rv = 1;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: rollcall serve\n");
		return 2;
	}
	if (rc_cli_require_db_url(cfg))
		return 1;
	if (cfg->db_migrate_on_start && rc_cli_migrate_now(cfg) != 0)
		return 1;
	if (serve_start(cfg, err, sizeof(err)) != RC_OK) {
		fprintf(stderr, "rollcall: %s\n", err);
		return 1;
	}
	queue_reindex_if_stale(cfg);
	rc_jobs_use_face_engine(srv.face_engine);
	router = rc_router_new();
	rc_router_set_auth(router, rc_auth_authenticate);
	rc_api_routes(router);
	if (rc_cpu_start(cfg->server_cpu_threads) != RC_OK) {
		fprintf(stderr, "rollcall: cannot start the CPU pool\n");
		rc_router_free(router);
		serve_stop();
		return 1;
	}
	if ((server = rc_server_new(cfg, router, err, sizeof(err))) == NULL) {
		fprintf(stderr, "rollcall: %s\n", err);
	} else {
		rc_server_on_reload(server, serve_reload_keys, NULL);
		/* Scripts read the port from here when server.port is 0. */
		printf("listening on %s:%d\n", cfg->server_host,
		    rc_server_port(server));
		fflush(stdout);
		if (cfg->jobs_enabled && rc_jobs_start(cfg) != RC_OK)
			fprintf(stderr, "rollcall: cannot start the outbox worker\n");
		else
			rv = rc_server_run(server) == RC_OK ? 0 : 1;
		rc_jobs_stop();
		rc_jobs_use_face_engine(NULL);
		rc_server_free(server);
	}
	rc_cpu_stop();
	rc_router_free(router);
	serve_stop();
	return rv;
}
