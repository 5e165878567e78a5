/* Route table: method + path pattern with {param} segments. The table is
 * small (tens of routes), so a linear scan beats any cleverness. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "rollcall/http.h"

struct rc_router {
	struct rc_route	**routes;
	size_t		  n, cap;
	rc_http_auth_fn	  auth;
};

static const struct {
	unsigned	 bit;
	const char	*name;
} method_names[] = {
	{ RC_HTTP_GET, "GET" }, { RC_HTTP_HEAD, "HEAD" },
	{ RC_HTTP_POST, "POST" }, { RC_HTTP_PUT, "PUT" },
	{ RC_HTTP_PATCH, "PATCH" }, { RC_HTTP_DELETE, "DELETE" },
	{ RC_HTTP_OPTIONS, "OPTIONS" },
};

struct rc_router *
rc_router_new(void)
{
	return rc_calloc(1, sizeof(struct rc_router));
}

void
rc_router_free(struct rc_router *r)
{
	if (r == NULL)
		return;
	free(r->routes);
	free(r);
}

void
rc_router_add(struct rc_router *r, struct rc_route *routes, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (r->n == r->cap) {
			r->cap = r->cap ? r->cap * 2 : 32;
			r->routes = rc_realloc(r->routes,
			    r->cap * sizeof(*r->routes));
		}
		r->routes[r->n++] = &routes[i];
	}
}

void
rc_router_set_auth(struct rc_router *r, rc_http_auth_fn fn)
{
	r->auth = fn;
}

rc_http_auth_fn
rc_router_auth(const struct rc_router *r)
{
	return r->auth;
}

size_t
rc_router_count(const struct rc_router *r)
{
	return r->n;
}

const struct rc_route *
rc_router_get(const struct rc_router *r, size_t i)
{
	return i < r->n ? r->routes[i] : NULL;
}

const char *
rc_http_method_name(unsigned method)
{
	size_t i;

	for (i = 0; i < RC_NELEM(method_names); i++)
		if (method_names[i].bit == method)
			return method_names[i].name;
	return "OTHER";
}

void
rc_http_allow_string(unsigned methods, char *out, size_t n)
{
	size_t i, len = 0;

	out[0] = '\0';
	for (i = 0; i < RC_NELEM(method_names); i++) {
		if (!(methods & method_names[i].bit))
			continue;
		len += (size_t)snprintf(out + len, len < n ? n - len : 0,
		    "%s%s", len ? ", " : "", method_names[i].name);
	}
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes one path segment of length n; NULL on a bad escape or NUL. */
static char *
decode_segment(const char *s, size_t n)
{
	char *out = rc_malloc(n + 1);
	size_t i, j = 0;

	for (i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= n)
				goto bad;
			hi = hexval((unsigned char)s[i + 1]);
			lo = hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				goto bad;
			c = hi * 16 + lo;
			i += 2;
		}
		if (c == '\0')
			goto bad;
		out[j++] = (char)c;
	}
	out[j] = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

static void
free_params(struct rc_req_param *params, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		free(params[i].value);
		params[i].value = NULL;
	}
}

/* Matches path against pattern segment by segment. */
static int
match_pattern(const char *pattern, const char *path,
    struct rc_req_param *params, int *nparams)
{
	const char *p = pattern, *s = path;

	*nparams = 0;
	while (*p != '\0' && *s != '\0') {
		const char *pe = strchr(p + 1, '/'), *se = strchr(s + 1, '/');
		size_t plen = pe ? (size_t)(pe - p) : strlen(p);
		size_t slen = se ? (size_t)(se - s) : strlen(s);

		if (p[1] == '{' && plen > 3 && p[plen - 1] == '}') {
			if (slen <= 1 || *nparams == RC_HTTP_MAX_PARAMS)
				goto fail;
			params[*nparams].name = p + 2;
			params[*nparams].namelen = plen - 3;
			params[*nparams].value = decode_segment(s + 1, slen - 1);
			if (params[(*nparams)++].value == NULL)
				goto fail;
		} else if (plen != slen || memcmp(p, s, plen) != 0) {
			goto fail;
		}
		p += plen;
		s += slen;
	}
	if (*p == '\0' && *s == '\0')
		return 1;
fail:
	free_params(params, *nparams);
	*nparams = 0;
	return 0;
}

const struct rc_route *
rc_router_match(const struct rc_router *r, unsigned method, const char *path,
    struct rc_req_param *params, int *nparams, unsigned *allow)
{
	int id;

	return rc_router_match_id(r, method, path, params, nparams, allow, &id);
}

const struct rc_route *
rc_router_match_id(const struct rc_router *r, unsigned method,
    const char *path, struct rc_req_param *params, int *nparams,
    unsigned *allow, int *id)
{
	struct rc_req_param tmp[RC_HTTP_MAX_PARAMS];
	unsigned want = method == RC_HTTP_HEAD ? RC_HTTP_GET : method;
	size_t i;
	int n;

	*allow = 0;
	*nparams = 0;
	for (i = 0; i < r->n; i++) {
		const struct rc_route *rt = r->routes[i];

		if (!match_pattern(rt->pattern, path, tmp, &n))
			continue;
		if (rt->method == want) {
			free_params(params, *nparams);
			memcpy(params, tmp, sizeof(tmp[0]) * (size_t)n);
			*nparams = n;
			*id = (int)i;
			return rt;
		}
		*allow |= rt->method;
		if (rt->method == RC_HTTP_GET)
			*allow |= RC_HTTP_HEAD;
		free_params(tmp, n);
	}
	return NULL;
}

char *
rc_http_sanitize_path(const char *raw)
{
	char *out, *seg;
	const char *s = raw;
	size_t len = 0, cap;

	if (raw == NULL || raw[0] != '/')
		return NULL;
	cap = strlen(raw) + 2;
	out = rc_malloc(cap);
	while (*s == '/') {
		const char *e;
		size_t n;

		while (*s == '/')
			s++;
		if (*s == '\0')
			break;
		e = strchr(s, '/');
		n = e ? (size_t)(e - s) : strlen(s);
		if ((seg = decode_segment(s, n)) == NULL ||
		    strcmp(seg, ".") == 0 || strcmp(seg, "..") == 0 ||
		    strchr(seg, '/') != NULL || strchr(seg, '\\') != NULL) {
			free(seg);
			free(out);
			return NULL;
		}
		len += (size_t)snprintf(out + len, cap - len, "/%s", seg);
		free(seg);
		s += n;
	}
	if (len == 0)
		snprintf(out, cap, "/");
	return out;
}
