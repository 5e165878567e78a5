/* Checking an archive: one pass that checks every member's size and
 * SHA-256 against manifest.json, the manifest against manifest.sha256,
 * and that each blob's bytes hash to its name; and the child-process and
 * fsync helpers the other files share. */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <sodium.h>

#include "rollcall/backup.h"
#include "rollcall/store.h"
#include "rollcall/util.h"
#include "backup-int.h"

#define MANIFEST_MAX	(256u << 20)

struct seen {
	char		 name[TAR_NAME_MAX + 1];
	char		 sha[SHA_HEX_LEN + 1];
	uint64_t	 size;
};

struct verify_run {
	struct seen	*seen;
	size_t		 nseen, cap;
	char		*manifest;	/* the manifest.json bytes */
	size_t		 manifest_len;
	char		 manifest_sha[SHA_HEX_LEN + 1];	/* computed */
	char		 claimed_sha[SHA_HEX_LEN + 1];	/* manifest.sha256 */
	int		 after_manifest;	/* members seen after it */
};

static int
seen_cmp(const void *a, const void *b)
{
	return strcmp(((const struct seen *)a)->name,
	    ((const struct seen *)b)->name);
}

/* Names an archive member may have: no absolute paths, no "..". */
static int
member_name_ok(const char *name)
{
	const char *rest;

	if (strcmp(name, MEMBER_DUMP) == 0 || strcmp(name, MEMBER_MANIFEST) == 0 ||
	    strcmp(name, MEMBER_MANIFEST_SUM) == 0)
		return 1;
	if (strncmp(name, MEMBER_BLOB_PREFIX, strlen(MEMBER_BLOB_PREFIX)) == 0)
		return rc_store_key_valid(name + strlen(MEMBER_BLOB_PREFIX));
	if (strncmp(name, MEMBER_KEY_PREFIX, strlen(MEMBER_KEY_PREFIX)) != 0)
		return 0;
	rest = name + strlen(MEMBER_KEY_PREFIX);
	return *rest != '\0' && *rest != '.' && strchr(rest, '/') == NULL;
}

/* Reads a member's bytes into memory (manifest.json, manifest.sha256). */
static rc_status
slurp_member(struct tar_reader *r, const struct tar_member *m, char **out,
    size_t max)
{
	size_t got;

	if (m->size > max) {
		snprintf(r->err, sizeof(r->err), "%s is too large (%" PRIu64
		    " bytes)", m->name, m->size);
		return RC_ERR;
	}
	*out = rc_malloc((size_t)m->size + 1);
	if (tar_read(r, *out, (size_t)m->size, &got) != RC_OK)
		return RC_ERR;
	(*out)[got] = '\0';
	return RC_OK;
}

static rc_status
read_member(struct tar_reader *r, struct verify_run *v,
    const struct tar_member *m)
{
	struct seen *s;
	char *sum = NULL;
	rc_status rc = RC_OK;

	if (strcmp(m->name, MEMBER_MANIFEST) == 0) {
		free(v->manifest);
		v->manifest = NULL;
		rc = slurp_member(r, m, &v->manifest, MANIFEST_MAX);
		v->manifest_len = (size_t)m->size;
		v->after_manifest = 0;
	} else if (strcmp(m->name, MEMBER_MANIFEST_SUM) == 0) {
		if ((rc = slurp_member(r, m, &sum, 128)) == RC_OK)
			snprintf(v->claimed_sha, sizeof(v->claimed_sha), "%.64s",
			    sum);
		free(sum);
	} else {
		v->after_manifest++;
	}
	if (rc != RC_OK)
		return rc;
	if (v->nseen == v->cap) {
		v->cap = v->cap ? 2 * v->cap : 256;
		v->seen = rc_realloc(v->seen, v->cap * sizeof(*v->seen));
	}
	s = &v->seen[v->nseen++];
	snprintf(s->name, sizeof(s->name), "%s", m->name);
	s->size = m->size;
	if (tar_done(r, s->sha) != RC_OK)
		return RC_ERR;
	if (strcmp(m->name, MEMBER_MANIFEST) == 0)
		memcpy(v->manifest_sha, s->sha, sizeof(s->sha));
	return RC_OK;
}

static rc_status
read_all(const char *path, struct verify_run *v, char *err, size_t errlen)
{
	struct tar_reader r;
	struct tar_member m;
	rc_status rc;
	FILE *fp;

	if ((fp = fopen(path, "rb")) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		return RC_ERR;
	}
	tar_reader_init(&r, fp);
	while ((rc = tar_next(&r, &m)) == RC_OK) {
		if (!member_name_ok(m.name)) {
			snprintf(r.err, sizeof(r.err), "unexpected member %.100s",
			    m.name);
			rc = RC_ERR;
			break;
		}
		if ((rc = read_member(&r, v, &m)) != RC_OK)
			break;
	}
	if (rc == RC_ERR)
		snprintf(err, errlen, "%s", r.err);
	tar_reader_cleanup(&r);
	fclose(fp);
	return rc == RC_AGAIN ? RC_OK : RC_ERR;
}

json_t *
manifest_member(json_t *manifest, const char *name)
{
	return json_object_get(json_object_get(manifest, "members"), name);
}

/* Each member against the manifest, and the manifest against the set of
 * members (nothing missing, nothing extra, nothing twice). */
static rc_status
check_members(struct verify_run *v, json_t *manifest, struct archive_check *chk,
    char *err, size_t errlen)
{
	json_t *e, *members = json_object_get(manifest, "members");
	const char *sha;
	size_t i, listed = 0;

	qsort(v->seen, v->nseen, sizeof(*v->seen), seen_cmp);
	for (i = 0; i < v->nseen; i++) {
		const struct seen *s = &v->seen[i];

		if (i > 0 && strcmp(s->name, v->seen[i - 1].name) == 0) {
			snprintf(err, errlen, "%s appears twice", s->name);
			return RC_ERR;
		}
		if (strcmp(s->name, MEMBER_MANIFEST) == 0 ||
		    strcmp(s->name, MEMBER_MANIFEST_SUM) == 0)
			continue;
		listed++;
		e = json_object_get(members, s->name);
		sha = json_string_value(json_object_get(e, "sha256"));
		if (e == NULL || sha == NULL) {
			snprintf(err, errlen, "%s is not in the manifest", s->name);
			return RC_ERR;
		}
		if ((uint64_t)json_integer_value(json_object_get(e, "size")) !=
		    s->size || strcmp(sha, s->sha) != 0) {
			snprintf(err, errlen, "%s: checksum or size does not match "
			    "the manifest (the archive is corrupt)", s->name);
			return RC_ERR;
		}
		if (strncmp(s->name, MEMBER_BLOB_PREFIX,
		    strlen(MEMBER_BLOB_PREFIX)) == 0) {
			if (strcmp(s->name + strlen(MEMBER_BLOB_PREFIX), s->sha)) {
				snprintf(err, errlen, "%s: bytes do not hash to "
				    "its name", s->name);
				return RC_ERR;
			}
			chk->blobs++;
		} else if (strncmp(s->name, MEMBER_KEY_PREFIX,
		    strlen(MEMBER_KEY_PREFIX)) == 0) {
			chk->keys++;
		}
		chk->bytes += s->size;
	}
	if (listed != json_object_size(members)) {
		snprintf(err, errlen, "the manifest lists %zu members, the "
		    "archive holds %zu (the archive is incomplete)",
		    json_object_size(members), listed);
		return RC_ERR;
	}
	chk->members = listed;
	return RC_OK;
}

static rc_status
check_manifest(struct verify_run *v, struct archive_check *chk, char *err,
    size_t errlen)
{
	json_error_t jerr;
	json_t *m;
	const char *fmt;

	if (v->manifest == NULL || v->claimed_sha[0] == '\0' ||
	    v->after_manifest != 0) {
		snprintf(err, errlen, "no manifest at the end of the archive "
		    "(truncated, or not a rollcall backup)");
		return RC_ERR;
	}
	if (strcmp(v->manifest_sha, v->claimed_sha) != 0) {
		snprintf(err, errlen, "manifest.json does not match "
		    "manifest.sha256 (the archive is corrupt)");
		return RC_ERR;
	}
	if ((m = json_loadb(v->manifest, v->manifest_len, 0, &jerr)) == NULL) {
		snprintf(err, errlen, "manifest.json: %s", jerr.text);
		return RC_ERR;
	}
	fmt = json_string_value(json_object_get(m, "format"));
	if (fmt == NULL || strcmp(fmt, RC_BACKUP_FORMAT) != 0) {
		snprintf(err, errlen, "manifest.json: format is %s, this rollcall "
		    "reads %s", fmt ? fmt : "missing", RC_BACKUP_FORMAT);
		json_decref(m);
		return RC_ERR;
	}
	if (check_members(v, m, chk, err, errlen) != RC_OK) {
		json_decref(m);
		return RC_ERR;
	}
	if (manifest_member(m, MEMBER_DUMP) == NULL) {
		snprintf(err, errlen, "the archive holds no database dump");
		json_decref(m);
		return RC_ERR;
	}
	chk->manifest = m;
	return RC_OK;
}

rc_status
archive_verify(const char *path, struct archive_check *chk)
{
	struct verify_run v;
	char err[512];
	rc_status rc;

	memset(chk, 0, sizeof(*chk));
	memset(&v, 0, sizeof(v));
	rc = read_all(path, &v, err, sizeof(err));
	if (rc == RC_OK)
		rc = check_manifest(&v, chk, err, sizeof(err));
	if (rc != RC_OK)
		fprintf(stderr, "rollcall: %s: bad archive: %s\n", path, err);
	free(v.seen);
	free(v.manifest);
	return rc;
}

void
archive_check_cleanup(struct archive_check *chk)
{
	json_decref(chk->manifest);
	chk->manifest = NULL;
}

/* ---- helpers ----------------------------------------------------------- */

/* Turns url into NAME=value pairs for the child's environment. */
static char **
pg_env_of(const char *url)
{
	PQconninfoOption *opts, *o;
	char *perr = NULL, **env;
	size_t n = 0;

	if ((opts = PQconninfoParse(url, &perr)) == NULL) {
		fprintf(stderr, "rollcall: db.url: %s", perr ? perr :
		    "cannot parse\n");
		PQfreemem(perr);
		return NULL;
	}
	for (o = opts; o->keyword != NULL; o++)
		n++;
	env = rc_calloc(n + 1, sizeof(*env));
	n = 0;
	for (o = opts; o->keyword != NULL; o++) {
		if (o->val == NULL || o->val[0] == '\0')
			continue;
		if (o->envvar == NULL) {
			fprintf(stderr, "rollcall: db.url: %s cannot be passed to "
			    "pg_dump/pg_restore\n", o->keyword);
			for (n = 0; env[n] != NULL; n++)
				free(env[n]);
			free(env);
			PQconninfoFree(opts);
			return NULL;
		}
		env[n++] = rc_asprintf("%s=%s", o->envvar, o->val);
	}
	PQconninfoFree(opts);
	return env;
}

int
run_pg_tool(const char *url, char *const argv[])
{
	char **env;
	int status = -1;
	size_t i;
	pid_t pid;

	if ((env = pg_env_of(url)) == NULL)
		return -1;
	fflush(NULL);
	if ((pid = fork()) < 0) {
		fprintf(stderr, "rollcall: fork: %s\n", strerror(errno));
	} else if (pid == 0) {
		for (i = 0; env[i] != NULL; i++)
			putenv(env[i]);
		execvp(argv[0], argv);
		fprintf(stderr, "rollcall: cannot run %s: %s (install Debian's "
		    "postgresql-client)\n", argv[0], strerror(errno));
		_exit(127);
	} else {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		status = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
	}
	for (i = 0; env[i] != NULL; i++) {
		sodium_memzero(env[i], strlen(env[i]));	/* may hold a password */
		free(env[i]);
	}
	free(env);
	return status;
}

int
is_key_file_name(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > 4 && strcmp(name + n - 4, ".pem") == 0;
}

rc_status
fsync_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? rc_strndup(path, (size_t)(slash - path)) :
	    rc_strdup(".");
	int fd, rc;

	if (dir[0] == '\0') {
		free(dir);
		dir = rc_strdup("/");
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	free(dir);
	if (fd < 0)
		return RC_ERR;
	rc = fsync(fd);
	close(fd);
	return rc == 0 ? RC_OK : RC_ERR;
}
