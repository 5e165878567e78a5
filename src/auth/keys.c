/* The ES256 (P-256) key set behind access tokens: loading PEM files,
 * generating the first key, kids (RFC 7638 thumbprints) and the JWKS. */
#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>

#include "rollcall/auth.h"
#include "rollcall/log.h"
#include "auth-int.h"

#define B64URL	sodium_base64_VARIANT_URLSAFE_NO_PADDING

static void set_err(char *err, const char *fmt, ...) RC_PRINTF(2, 3);

/* Writes a message into the caller's err buffer (truncated to fit). */
static void
set_err(char *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(err, RC_AUTH_ERR_LEN, fmt, ap);
	va_end(ap);
}

rc_status
rc_auth_init(void)
{
	return sodium_init() < 0 ? RC_ERR : RC_OK;
}

struct rc_auth_keys *
rc_auth_keys_new(void)
{
	struct rc_auth_keys *keys = rc_calloc(1, sizeof(*keys));

	keys->signer = SIZE_MAX;
	return keys;
}

static void
key_cleanup(struct auth_key *k)
{
	if (k->priv_pem != NULL) {
		sodium_memzero(k->priv_pem, k->priv_len);
		free(k->priv_pem);
	}
	free(k->pub_pem);
	EVP_PKEY_free(k->pub);
	memset(k, 0, sizeof(*k));
}

void
rc_auth_keys_free(struct rc_auth_keys *keys)
{
	size_t i;

	if (keys == NULL)
		return;
	for (i = 0; i < keys->n; i++)
		key_cleanup(&keys->v[i]);
	free(keys->v);
	free(keys);
}

/* Never prompts for a pass phrase: an encrypted PEM simply fails to load
 * (OpenSSL's default callback would read the terminal). */
static int
no_password_cb(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return 0;
}

/* Copies a BIO's contents into a new NUL-terminated buffer. */
static char *
bio_dup(BIO *bio, size_t *len)
{
	char *data;
	long n = BIO_get_mem_data(bio, &data);

	if (n <= 0)
		return NULL;
	*len = (size_t)n;
	return rc_strndup(data, (size_t)n);
}

/* Writes pkey's private key as PKCS#8 PEM into a new buffer. The BIO is a
 * secure-memory one, so OpenSSL wipes its copy. Caller wipes and frees. */
static char *
private_pem(EVP_PKEY *pkey, size_t *len)
{
	BIO *bio = BIO_new(BIO_s_secmem());
	char *pem = NULL;

	if (bio == NULL)
		return NULL;
	if (PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) == 1)
		pem = bio_dup(bio, len);
	BIO_free(bio);
	return pem;
}

static char *
public_pem(EVP_PKEY *pkey, size_t *len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem = NULL;

	if (bio == NULL)
		return NULL;
	if (PEM_write_bio_PUBKEY(bio, pkey) == 1)
		pem = bio_dup(bio, len);
	BIO_free(bio);
	return pem;
}

/* Writes one affine coordinate of the public point, 32 bytes big-endian,
 * as base64url (RFC 7518 6.2.1.2: padded to the full field size). */
static rc_status
coordinate(EVP_PKEY *pkey, const char *param, char out[RC_AUTH_KID_LEN + 1])
{
	unsigned char bin[32];
	BIGNUM *bn = NULL;
	rc_status rc = RC_ERR;

	if (EVP_PKEY_get_bn_param(pkey, param, &bn) != 1)
		return RC_ERR;
	if (BN_bn2binpad(bn, bin, sizeof(bin)) == sizeof(bin)) {
		sodium_bin2base64(out, RC_AUTH_KID_LEN + 1, bin, sizeof(bin),
		    B64URL);
		rc = RC_OK;
	}
	BN_free(bn);
	return rc;
}

/* RFC 7638 3: SHA-256 over the required members in lexicographic order,
 * no white space. */
static void
thumbprint(struct auth_key *k)
{
	unsigned char hash[crypto_hash_sha256_BYTES];
	char *json;

	json = rc_asprintf("{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\","
	    "\"y\":\"%s\"}", k->x, k->y);
	crypto_hash_sha256(hash, (const unsigned char *)json, strlen(json));
	sodium_bin2base64(k->kid, sizeof(k->kid), hash, sizeof(hash), B64URL);
	free(json);
}

static int
is_p256(EVP_PKEY *pkey)
{
	char group[64];

	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC)
		return 0;
	if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), NULL) != 1)
		return 0;
	return strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0;
}

/* Parses the public PEM back into a public-only EVP_PKEY for verifying,
 * and runs one verify set-up so that OpenSSL's per-key caches are filled
 * before threads share the key. */
static EVP_PKEY *
verify_pkey(const char *pub_pem, size_t len)
{
	EVP_MD_CTX *ctx;
	EVP_PKEY *pkey;
	BIO *bio;

	if ((bio = BIO_new_mem_buf(pub_pem, (int)len)) == NULL)
		return NULL;
	pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (pkey != NULL && (ctx = EVP_MD_CTX_new()) != NULL) {
		(void)EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pkey);
		EVP_MD_CTX_free(ctx);
	}
	return pkey;
}

/* Fills k from pkey: coordinates, kid, the PEM texts and the parsed
 * public key. */
static rc_status
key_from_pkey(struct auth_key *k, EVP_PKEY *pkey, int has_private)
{
	memset(k, 0, sizeof(*k));
	if (coordinate(pkey, OSSL_PKEY_PARAM_EC_PUB_X, k->x) != RC_OK ||
	    coordinate(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, k->y) != RC_OK)
		return RC_ERR;
	thumbprint(k);
	if ((k->pub_pem = public_pem(pkey, &k->pub_len)) == NULL ||
	    (k->pub = verify_pkey(k->pub_pem, k->pub_len)) == NULL)
		goto fail;
	if (has_private &&
	    (k->priv_pem = private_pem(pkey, &k->priv_len)) == NULL)
		goto fail;
	ERR_clear_error();
	return RC_OK;
fail:
	key_cleanup(k);
	return RC_ERR;
}

/* Parses a private key, else a public key, from PEM text. */
static EVP_PKEY *
parse_pem(const char *pem, size_t len, int *has_private)
{
	EVP_PKEY *pkey;
	BIO *bio;

	if (len > INT32_MAX ||
	    (bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return NULL;
	*has_private = 1;
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_password_cb, NULL);
	if (pkey == NULL) {
		*has_private = 0;
		(void)BIO_reset(bio);
		pkey = PEM_read_bio_PUBKEY(bio, NULL, no_password_cb, NULL);
	}
	BIO_free(bio);
	ERR_clear_error();
	return pkey;
}

static struct auth_key *
keys_find_mut(const struct rc_auth_keys *keys, const char *kid)
{
	size_t i;

	for (i = 0; i < keys->n; i++)
		if (strcmp(keys->v[i].kid, kid) == 0)
			return &keys->v[i];
	return NULL;
}

/* Adds k (taking its buffers) unless its kid is known; a known public-only
 * entry gains the private key. Returns the entry's index. */
static size_t
keys_insert(struct rc_auth_keys *keys, struct auth_key *k)
{
	struct auth_key *old = keys_find_mut(keys, k->kid);

	if (old != NULL) {
		if (old->priv_pem == NULL && k->priv_pem != NULL) {
			old->priv_pem = k->priv_pem;
			old->priv_len = k->priv_len;
			k->priv_pem = NULL;
		}
		key_cleanup(k);
		return (size_t)(old - keys->v);
	}
	keys->v = rc_realloc(keys->v, (keys->n + 1) * sizeof(*keys->v));
	keys->v[keys->n] = *k;
	memset(k, 0, sizeof(*k));
	return keys->n++;
}

/* Parses and adds one key; *index is its place in the set and
 * *has_private whether it can sign. */
static rc_status
add_pem(struct rc_auth_keys *keys, const char *pem, size_t len, int sign,
    size_t *index, int *has_private, char err[RC_AUTH_ERR_LEN])
{
	struct auth_key k;
	const char *why = NULL;
	EVP_PKEY *pkey;

	if ((pkey = parse_pem(pem, len, has_private)) == NULL)
		why = "not a PEM key (or an encrypted one)";
	else if (!is_p256(pkey))
		why = "not a P-256 (ES256) key";
	else if (sign && !*has_private)
		why = "a public key cannot sign";
	else if (key_from_pkey(&k, pkey, *has_private) != RC_OK)
		why = "cannot export the key";
	EVP_PKEY_free(pkey);
	if (why != NULL) {
		set_err(err, "%s", why);
		return RC_ERR;
	}
	*index = keys_insert(keys, &k);
	if (sign)
		keys->signer = *index;
	return RC_OK;
}

rc_status
rc_auth_keys_add_pem(struct rc_auth_keys *keys, const char *pem, size_t len,
    int sign, char err[RC_AUTH_ERR_LEN])
{
	size_t index;
	int has_private;

	return add_pem(keys, pem, len, sign, &index, &has_private, err);
}

/* Reads and adds one key file, warning when a private key is readable by
 * others. *index and *has_private as for add_pem(). */
static rc_status
add_file(struct rc_auth_keys *keys, const char *path, int sign,
    size_t *index, int *has_private, char err[RC_AUTH_ERR_LEN])
{
	char *pem, e[RC_AUTH_ERR_LEN];
	struct stat st;
	size_t len;
	rc_status rc;

	if ((pem = rc_read_file(path, &len)) == NULL) {
		set_err(err, "%s: %s", path, strerror(errno));
		return RC_ERR;
	}
	rc = add_pem(keys, pem, len, sign, index, has_private, e);
	sodium_memzero(pem, len);
	free(pem);
	if (rc != RC_OK) {
		set_err(err, "%s: %s", path, e);
		return RC_ERR;
	}
	if (*has_private && stat(path, &st) == 0 && (st.st_mode & 077) != 0)
		rc_log(RC_LOG_WARN, "auth: private key %s is readable by "
		    "others than its owner (mode %03o)", path,
		    (unsigned)(st.st_mode & 0777));
	return RC_OK;
}

rc_status
rc_auth_keys_add_file(struct rc_auth_keys *keys, const char *path, int sign,
    char err[RC_AUTH_ERR_LEN])
{
	size_t index;
	int has_private;

	return add_file(keys, path, sign, &index, &has_private, err);
}

rc_status
rc_auth_keys_remove(struct rc_auth_keys *keys, const char *kid)
{
	struct auth_key *k = keys_find_mut(keys, kid);
	size_t i;

	if (k == NULL)
		return RC_ERR;
	i = (size_t)(k - keys->v);
	key_cleanup(k);
	memmove(k, k + 1, (keys->n - i - 1) * sizeof(*k));
	keys->n--;
	if (keys->signer == i)
		keys->signer = SIZE_MAX;
	else if (keys->signer != SIZE_MAX && keys->signer > i)
		keys->signer--;
	return RC_OK;
}

size_t
rc_auth_keys_count(const struct rc_auth_keys *keys)
{
	return keys->n;
}

const char *
rc_auth_keys_signing_kid(const struct rc_auth_keys *keys)
{
	const struct auth_key *k = auth_keys_signer(keys);

	return k != NULL ? k->kid : NULL;
}

const struct auth_key *
auth_keys_find(const struct rc_auth_keys *keys, const char *kid)
{
	return keys_find_mut(keys, kid);
}

const struct auth_key *
auth_keys_signer(const struct rc_auth_keys *keys)
{
	if (keys->signer == SIZE_MAX || keys->signer >= keys->n)
		return NULL;
	return &keys->v[keys->signer];
}

/* Writes data to dir/name: a new 0600 temporary file, fsynced, then renamed
 * into place without replacing anything, then the folder fsynced. */
static rc_status
write_secret_file(const char *dir, const char *name, const char *data,
    size_t len, char err[RC_AUTH_ERR_LEN])
{
	char *tmp = rc_asprintf("%s/.%s.tmp", dir, name);
	char *dst = rc_asprintf("%s/%s", dir, name);
	rc_status rc = RC_ERR;
	size_t off = 0;
	int fd, dfd;

	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd < 0) {
		set_err(err, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	if (off != len || fsync(fd) != 0) {
		set_err(err, "%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dst, RENAME_NOREPLACE) != 0 &&
	    (errno != EINVAL || link(tmp, dst) != 0 || unlink(tmp) != 0)) {
		set_err(err, "%s: %s", dst, strerror(errno));
		unlink(tmp);
		goto out;
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	rc = RC_OK;
out:
	free(tmp);
	free(dst);
	return rc;
}

rc_status
rc_auth_keys_generate(const char *dir, char **path, char err[RC_AUTH_ERR_LEN])
{
	struct auth_key k;
	EVP_PKEY *pkey;
	char name[80], stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	rc_status rc;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		set_err(err, "%s: %s", dir, strerror(errno));
		return RC_ERR;
	}
	if ((pkey = EVP_EC_gen("P-256")) == NULL) {
		set_err(err, "cannot generate a P-256 key");
		return RC_ERR;
	}
	rc = key_from_pkey(&k, pkey, 1);
	EVP_PKEY_free(pkey);
	if (rc != RC_OK) {
		set_err(err, "cannot export the new key");
		return RC_ERR;
	}
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(name, sizeof(name), "es256-%s-%.8s.pem", stamp, k.kid);
	rc = write_secret_file(dir, name, k.priv_pem, k.priv_len, err);
	if (rc == RC_OK) {
		rc_log(RC_LOG_INFO, "auth: generated signing key %s in %s",
		    k.kid, dir);
		if (path != NULL)
			*path = rc_asprintf("%s/%s", dir, name);
	}
	key_cleanup(&k);
	return rc;
}

int
auth_pem_name(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 4 &&
	    strcmp(d->d_name + n - 4, ".pem") == 0;
}

/* Adds every *.pem of dir in name order; the last private key signs.
 * Sets *found to the number of private keys. */
static rc_status
load_dir(struct rc_auth_keys *keys, const char *dir, int *found,
    char err[RC_AUTH_ERR_LEN])
{
	struct dirent **names = NULL;
	rc_status rc = RC_OK;
	int i, n, has_private;
	size_t index;
	char *path;

	*found = 0;
	if ((n = scandir(dir, &names, auth_pem_name, alphasort)) < 0) {
		if (errno == ENOENT)
			return RC_OK;
		set_err(err, "%s: %s", dir, strerror(errno));
		return RC_ERR;
	}
	for (i = 0; i < n; i++) {
		path = rc_asprintf("%s/%s", dir, names[i]->d_name);
		if (rc == RC_OK && (rc = add_file(keys, path, 0, &index,
		    &has_private, err)) == RC_OK && has_private) {
			keys->signer = index;
			(*found)++;
		}
		free(path);
		free(names[i]);
	}
	free(names);
	return rc;
}

rc_status
rc_auth_keys_load_or_generate(struct rc_auth_keys *keys, const char *dir,
    char err[RC_AUTH_ERR_LEN])
{
	char *lock = rc_asprintf("%s/.lock", dir);
	rc_status rc = RC_ERR;
	int fd = -1, found;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		set_err(err, "%s: %s", dir, strerror(errno));
		goto out;
	}
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) != 0) {
		set_err(err, "%s: %s", lock, strerror(errno));
		goto out;
	}
	if (load_dir(keys, dir, &found, err) != RC_OK)
		goto out;
	if (found == 0) {
		if (rc_auth_keys_generate(dir, NULL, err) != RC_OK ||
		    load_dir(keys, dir, &found, err) != RC_OK)
			goto out;
		if (found == 0) {
			set_err(err, "%s: no usable key after generating one",
			    dir);
			goto out;
		}
	}
	rc = RC_OK;
out:
	if (fd >= 0)
		close(fd);	/* releases the lock */
	free(lock);
	return rc;
}

json_t *
rc_auth_jwks(const struct rc_auth_keys *keys)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; i < keys->n; i++) {
		const struct auth_key *k = &keys->v[i];

		json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:s,"
		    "s:s,s:s}", "kty", "EC", "crv", "P-256", "x", k->x, "y",
		    k->y, "kid", k->kid, "use", "sig", "alg", "ES256"));
	}
	return json_pack("{s:o}", "keys", arr);
}

char *
rc_auth_jwks_string(const struct rc_auth_keys *keys)
{
	json_t *jwks = rc_auth_jwks(keys);
	char *s = json_dumps(jwks, JSON_COMPACT);
	char *out;

	json_decref(jwks);
	if (s == NULL)
		rc_fatal("auth: cannot serialise the JWKS");
	out = rc_strdup(s);
	free(s);
	return out;
}
