// Templates: what a face became (method, version, unit-length floats), its
// serialised form for the face_templates.template column, and its parts.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>

#include "matcher.h"

namespace {

const char	 TEMPLATE_MAGIC[4] = { 'R', 'C', 'F', 'T' };
const size_t	 METHOD_MAX = 31;

void
put_u32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

uint32_t
get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

} // namespace

extern "C" void
rc_face_template_free(struct rc_face_template *t)
{
	delete t;
}

extern "C" const char *
rc_face_template_method(const struct rc_face_template *t)
{
	return t->method.c_str();
}

extern "C" uint32_t
rc_face_template_version(const struct rc_face_template *t)
{
	return t->version;
}

extern "C" size_t
rc_face_template_dim(const struct rc_face_template *t)
{
	return t->v.size();
}

extern "C" const float *
rc_face_template_vector(const struct rc_face_template *t)
{
	return t->v.data();
}

extern "C" unsigned char *
rc_face_template_serialize(const struct rc_face_template *t, size_t *len)
{
	size_t mlen = std::min(t->method.size(), METHOD_MAX);
	size_t n = 4 + 1 + mlen + 4 + 4 + 4 * t->v.size();
	unsigned char *buf = (unsigned char *)rc_malloc(n), *p = buf;

	memcpy(p, TEMPLATE_MAGIC, 4);
	p += 4;
	*p++ = (unsigned char)mlen;
	memcpy(p, t->method.data(), mlen);
	p += mlen;
	put_u32(p, t->version);
	put_u32(p + 4, (uint32_t)t->v.size());
	p += 8;
	for (float f : t->v) {
		uint32_t bits;
		memcpy(&bits, &f, 4);
		put_u32(p, bits);
		p += 4;
	}
	*len = n;
	return buf;
}

extern "C" struct rc_face_template *
rc_face_template_deserialize(const void *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)buf;

	if (p == nullptr || len < 4 + 1 + 8 || memcmp(p, TEMPLATE_MAGIC, 4) != 0)
		return nullptr;
	size_t mlen = p[4];
	if (mlen == 0 || mlen > METHOD_MAX || len < 4 + 1 + mlen + 8)
		return nullptr;
	const unsigned char *q = p + 5 + mlen;
	uint32_t dim = get_u32(q + 4);
	if (dim == 0 || dim > 65536 || len != 4 + 1 + mlen + 8 + 4 * (size_t)dim)
		return nullptr;
	for (size_t i = 0; i < mlen; i++)
		if (p[5 + i] < 0x21 || p[5 + i] > 0x7e)
			return nullptr;
	try {
		std::unique_ptr<rc_face_template> t(new rc_face_template);
		t->method.assign((const char *)p + 5, mlen);
		t->version = get_u32(q);
		t->v.resize(dim);
		q += 8;
		for (uint32_t i = 0; i < dim; i++, q += 4) {
			uint32_t bits = get_u32(q);
			memcpy(&t->v[i], &bits, 4);
			if (!std::isfinite(t->v[i]))
				return nullptr;
		}
		return t.release();
	} catch (...) {
		return nullptr;
	}
}
