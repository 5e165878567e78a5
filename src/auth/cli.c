/* `rollcall user add`: creates a user from the command line (the first
 * superadmin, or an admin for an org), with a password read from stdin or
 * generated and printed once. Blocking libpq: this is not a loop thread.
 * `rollcall keys rotate|prune`: the signing keys in auth.keys_dir. */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "rollcall/auth.h"
#include "rollcall/config.h"
#include "rollcall/db.h"
#include "rollcall/log.h"
#include "rollcall/sqlstate.h"

#include "auth-int.h"

#define USAGE "usage: rollcall user add --email E --name N --role " \
	"superadmin|admin|manager|employee|intern [--org SLUG] [--manager EMAIL]\n"

struct user_args {
	const char	*email, *name, *role, *org, *manager;
};

static const char SQL_ADD[] =
	"WITH u AS (INSERT INTO users (org_id, email, name, role, manager_id,"
	" password_hash, must_change_password) VALUES ($1, $2, $3, $4, $5, $6,"
	" $7) RETURNING id, org_id),"
	" a AS (INSERT INTO audit_log (org_id, actor_id, action, target_id,"
	" detail) SELECT org_id, NULL, 'user_created', id,"
	" jsonb_build_object('via', 'cli', 'role', $4::text) FROM u)"
	" SELECT id FROM u";

static int
parse_args(int argc, char **argv, struct user_args *a)
{
	static const struct option opts[] = {
		{ "email", required_argument, NULL, 'e' },
		{ "name", required_argument, NULL, 'n' },
		{ "role", required_argument, NULL, 'r' },
		{ "org", required_argument, NULL, 'o' },
		{ "manager", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(a, 0, sizeof(*a));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'e': a->email = optarg; break;
		case 'n': a->name = optarg; break;
		case 'r': a->role = optarg; break;
		case 'o': a->org = optarg; break;
		case 'm': a->manager = optarg; break;
		default: return -1;
		}
	}
	if (optind != argc || a->email == NULL || a->name == NULL ||
	    a->role == NULL)
		return -1;
	return 0;
}

/* The same shape checks as the API's, in their simplest form. */
static const char *
check_args(const struct user_args *a)
{
	const char *at = strchr(a->email, '@');
	const char *p;
	size_t chars = 0;

	if (strlen(a->email) > 254 || at == NULL || at == a->email ||
	    strchr(at + 1, '@') != NULL || strchr(at + 1, '.') == NULL)
		return "--email is not an e-mail address";
	for (p = a->email; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return "--email is not an e-mail address";
	for (p = a->name; *p != '\0'; p++) {
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			return "--name must not contain control characters";
		if (((unsigned char)*p & 0xc0) != 0x80)
			chars++;
	}
	if (chars < 1 || chars > 200)
		return "--name must be 1 to 200 characters";
	if (rc_auth_role_bit(a->role) == 0)
		return "--role must be superadmin, admin, manager, employee or "
		    "intern";
	if (strcmp(a->role, "superadmin") == 0 && a->org != NULL)
		return "a superadmin belongs to no organisation: drop --org";
	if (strcmp(a->role, "superadmin") != 0 && a->org == NULL)
		return "--org SLUG is required for this role";
	if (a->manager != NULL && a->org == NULL)
		return "--manager needs --org";
	return NULL;
}

/* Reads a password from stdin when it is not a terminal: the first line,
 * without its line end. Returns 1 when one was read, 0 when none, -1 when
 * it is too long. */
static int
read_password(char *buf, size_t size)
{
	size_t n = 0;
	int c;

	if (isatty(STDIN_FILENO))
		return 0;
	while (n + 1 < size && (c = getchar()) != EOF && c != '\n')
		buf[n++] = (char)c;
	if (n + 1 == size)
		return -1;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	return n > 0;
}

/* Runs a one-row lookup; *out gets a new string or NULL. */
static rc_status
lookup(PGconn *pg, const char *sql, const char *param, char **out, int col)
{
	const char *params[1] = { param };
	PGresult *res = PQexecParams(pg, sql, 1, NULL, params, NULL, NULL, 0);

	*out = NULL;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "rollcall: %s", PQerrorMessage(pg));
		PQclear(res);
		return RC_ERR;
	}
	if (PQntuples(res) == 1)
		*out = rc_strdup(PQgetvalue(res, 0, col));
	PQclear(res);
	return RC_OK;
}

/* Resolves --org and --manager to ids. */
static int
resolve(PGconn *pg, const struct user_args *a, char **org_id, char **mgr_id)
{
	char *mgr_org = NULL;
	int rv = 1;

	if (a->org != NULL) {
		if (lookup(pg, "SELECT id FROM orgs WHERE slug = $1", a->org,
		    org_id, 0) != RC_OK)
			return 1;
		if (*org_id == NULL) {
			fprintf(stderr, "rollcall: no organisation with slug "
			    "\"%s\"\n", a->org);
			return 1;
		}
	}
	if (a->manager == NULL)
		return 0;
	if (lookup(pg, "SELECT id FROM users WHERE email = $1", a->manager,
	    mgr_id, 0) != RC_OK ||
	    lookup(pg, "SELECT org_id FROM users WHERE email = $1",
	    a->manager, &mgr_org, 0) != RC_OK)
		goto out;
	if (*mgr_id == NULL || mgr_org == NULL || strcmp(mgr_org, *org_id)) {
		fprintf(stderr, "rollcall: no user %s in organisation %s\n",
		    a->manager, a->org);
		goto out;
	}
	rv = 0;
out:
	free(mgr_org);
	return rv;
}

static int
insert_user(PGconn *pg, const struct user_args *a, const char *org_id,
    const char *mgr_id, const char *hash, int must_change)
{
	const char *params[7] = { org_id, a->email, a->name, a->role, mgr_id,
	    hash, must_change ? "true" : "false" };
	PGresult *res = PQexecParams(pg, SQL_ADD, 7, NULL, params, NULL, NULL,
	    0);
	const char *state;
	int rv = 1;

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
		printf("created %s %s (id %s)\n", a->role, a->email,
		    PQgetvalue(res, 0, 0));
		rv = 0;
	} else if ((state = PQresultErrorField(res, PG_DIAG_SQLSTATE)) !=
	    NULL && strcmp(state, RC_SQLSTATE_UNIQUE) == 0) {
		fprintf(stderr, "rollcall: a user with e-mail %s exists\n",
		    a->email);
	} else {
		fprintf(stderr, "rollcall: %s", PQerrorMessage(pg));
	}
	PQclear(res);
	return rv;
}

/* Hashes and inserts; prints a generated password once. */
static int
add_user(const struct rc_config *cfg, PGconn *pg, const struct user_args *a,
    const char *password, int generated)
{
	char aerr[RC_AUTH_ERR_LEN], hash[RC_AUTH_PWHASH_LEN];
	char *org_id = NULL, *mgr_id = NULL;
	struct rc_auth_passwords *pw;
	const char *why;
	int rv = 1;

	pw = rc_auth_passwords_new((unsigned long long)cfg->auth_argon_opslimit,
	    (size_t)cfg->auth_argon_memlimit_kib * 1024,
	    cfg->auth_common_passwords[0] ? cfg->auth_common_passwords : NULL,
	    aerr);
	if (pw == NULL) {
		fprintf(stderr, "rollcall: %s\n", aerr);
		return 1;
	}
	if (rc_auth_password_policy(pw, password, a->email, &why) != RC_OK) {
		fprintf(stderr, "rollcall: the password from stdin: %s\n", why);
		goto out;
	}
	if (resolve(pg, a, &org_id, &mgr_id) != 0)
		goto out;
	if (rc_auth_password_hash(pw, password, hash) != RC_OK) {
		fprintf(stderr, "rollcall: cannot hash the password\n");
		goto out;
	}
	rv = insert_user(pg, a, org_id, mgr_id, hash, generated);
	if (rv == 0 && generated)
		printf("password: %s\n(shown once; it must be changed at the "
		    "first sign-in)\n", password);
out:
	sodium_memzero(hash, sizeof(hash));
	free(org_id);
	free(mgr_id);
	rc_auth_passwords_free(pw);
	return rv;
}

static int
user_add(const struct rc_config *cfg, int argc, char **argv)
{
	char password[RC_AUTH_PASSWORD_MAX + 2], err[1024];
	struct user_args a;
	const char *bad;
	int generated = 0, rv = 1, applied, got;
	PGconn *pg;

	if (parse_args(argc, argv, &a) != 0) {
		fputs(USAGE, stderr);
		return 2;
	}
	if ((bad = check_args(&a)) != NULL) {
		fprintf(stderr, "rollcall: %s\n%s", bad, USAGE);
		return 2;
	}
	if ((got = read_password(password, sizeof(password))) < 0) {
		fprintf(stderr, "rollcall: the password from stdin is longer "
		    "than %d bytes\n", RC_AUTH_PASSWORD_MAX);
		sodium_memzero(password, sizeof(password));
		return 1;
	}
	if (got == 0) {
		rc_auth_password_temp(password);
		generated = 1;
	}
	if (cfg->db_url[0] == '\0') {
		fprintf(stderr, "rollcall: db.url is not set\n");
		goto out;
	}
	if ((pg = rc_db_connect_blocking(cfg->db_url, err, sizeof(err))) == NULL) {
		fprintf(stderr, "rollcall: %s\n", err);
		goto out;
	}
	if (cfg->db_migrate_on_start && rc_db_migrate(pg,
	    cfg->db_migrations_dir, &applied, err, sizeof(err)) != RC_OK)
		fprintf(stderr, "rollcall: migrate: %s\n", err);
	else
		rv = add_user(cfg, pg, &a, password, generated);
	PQfinish(pg);
out:
	sodium_memzero(password, sizeof(password));
	return rv;
}

int
rc_cli_user(const struct rc_config *cfg, int argc, char **argv)
{
	if (rc_auth_init() != RC_OK) {
		fprintf(stderr, "rollcall: libsodium cannot start\n");
		return 1;
	}
	if (argc >= 2 && strcmp(argv[1], "add") == 0)
		return user_add(cfg, argc - 1, argv + 1);
	fputs(USAGE, stderr);
	return 2;
}

/* ---- rollcall keys rotate | prune ------------------------------------- */

#define KEYS_USAGE "usage: rollcall keys rotate | prune [--grace SECONDS]\n"

static int
is_private_pem(const char *path)
{
	size_t len;
	char *text = rc_read_file(path, &len);
	int priv = text != NULL && strstr(text, "PRIVATE KEY") != NULL;

	if (text != NULL) {
		sodium_memzero(text, len);
		free(text);
	}
	return priv;
}

/* A new key signs once serve reloads; the older ones keep verifying. */
static int
keys_rotate(const struct rc_config *cfg)
{
	struct rc_auth_keys *k = rc_auth_keys_new();
	char err[RC_AUTH_ERR_LEN], *path = NULL;
	int rv = 1;

	if (rc_auth_keys_generate(cfg->auth_keys_dir, &path, err) != RC_OK ||
	    rc_auth_keys_add_file(k, path, 1, err) != RC_OK) {
		fprintf(stderr, "rollcall: keys rotate: %s\n", err);
		goto out;
	}
	printf("new signing key %s in %s\nreload serve (SIGHUP, systemctl "
	    "reload rollcall) to sign with it\n", rc_auth_keys_signing_kid(k),
	    path);
	rv = 0;
out:
	free(path);
	rc_auth_keys_free(k);
	return rv;
}

/* Deletes each private key whose successor (the next by name, the one
 * that took over signing) was made more than auth.access_ttl + grace
 * seconds ago: every token it signed has expired by then. The newest
 * private key, and public-only files, are never deleted. */
static int
keys_prune(const struct rc_config *cfg, long grace)
{
	struct dirent **ents = NULL;
	char **priv = NULL;
	struct stat st;
	time_t now = time(NULL);
	int n, i, np = 0, pruned = 0, rv = 0;

	n = scandir(cfg->auth_keys_dir, &ents, auth_pem_name, alphasort);
	if (n < 0) {
		fprintf(stderr, "rollcall: keys prune: %s: %s\n",
		    cfg->auth_keys_dir, strerror(errno));
		return 1;
	}
	priv = rc_calloc((size_t)n + 1, sizeof(*priv));
	for (i = 0; i < n; i++) {
		char *path = rc_asprintf("%s/%s", cfg->auth_keys_dir,
		    ents[i]->d_name);

		if (is_private_pem(path))
			priv[np++] = path;
		else
			free(path);
		free(ents[i]);
	}
	free(ents);
	for (i = 0; i + 1 < np; i++) {
		if (stat(priv[i + 1], &st) != 0 ||
		    now - st.st_mtime < (time_t)cfg->auth_access_ttl + grace)
			continue;
		if (unlink(priv[i]) != 0) {
			fprintf(stderr, "rollcall: keys prune: %s: %s\n",
			    priv[i], strerror(errno));
			rv = 1;
			continue;
		}
		printf("pruned %s\n", priv[i]);
		pruned++;
	}
	printf("%d key(s) pruned, %d kept; reload serve (SIGHUP) so they "
	    "stop verifying\n", pruned, np - pruned);
	for (i = 0; i < np; i++)
		free(priv[i]);
	free(priv);
	return rv;
}

int
rc_cli_keys(const struct rc_config *cfg, int argc, char **argv)
{
	char *end;
	long grace = 3600;

	if (rc_auth_init() != RC_OK) {
		fprintf(stderr, "rollcall: libsodium cannot start\n");
		return 1;
	}
	if (argc == 2 && strcmp(argv[1], "rotate") == 0)
		return keys_rotate(cfg);
	if (argc == 4 && strcmp(argv[1], "prune") == 0 &&
	    strcmp(argv[2], "--grace") == 0) {
		grace = strtol(argv[3], &end, 10);
		if (*argv[3] == '\0' || *end != '\0' || grace < 0) {
			fputs(KEYS_USAGE, stderr);
			return 2;
		}
	}
	if ((argc == 2 || argc == 4) && strcmp(argv[1], "prune") == 0)
		return keys_prune(cfg, grace);
	fputs(KEYS_USAGE, stderr);
	return 2;
}
