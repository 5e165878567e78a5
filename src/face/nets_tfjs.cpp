/* face-api's TensorFlow.js weights: a JSON manifest listing the tensors (name,
 * shape, dtype, optional uint8/uint16 quantisation) of binary shards that
 * are read back to back. Every error names the file and the tensor, since
 * a wrong install must stop `serve` with a message a sysadmin can act on. */
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <jansson.h>

#include "nets-int.h"

namespace rcface {

namespace {

[[noreturn]] void fail(const std::string &msg)
{
	throw std::runtime_error(msg);
}

std::string shape_str(const std::vector<int> &s)
{
	std::ostringstream o;
	o << '[';
	for (size_t i = 0; i < s.size(); i++)
		o << (i ? ", " : "") << s[i];
	o << ']';
	return o.str();
}

std::string read_file(const std::string &path)
{
	std::ifstream f(path, std::ios::binary);
	if (!f)
		fail("cannot open " + path + ": " + std::strerror(errno));
	std::ostringstream o;
	o << f.rdbuf();
	if (f.bad())
		fail("cannot read " + path);
	return o.str();
}

std::string folder_of(const std::string &path)
{
	size_t slash = path.rfind('/');
	return slash == std::string::npos ? std::string(".") :
	    path.substr(0, slash);
}

/* The shards of one manifest group, concatenated, with where each starts
 * (to name the file in which a tensor's bytes would lie). */
struct shards {
	std::string			 bytes;
	std::vector<std::string>	 path;
	std::vector<size_t>		 start;

	const std::string &file_at(size_t off) const
	{
		size_t i = 0;
		while (i + 1 < start.size() && start[i + 1] <= off)
			i++;
		return path[i];
	}
};

struct entry {
	std::string	 name;
	std::vector<int> shape;
	std::string	 dtype;		/* of the stored bytes */
	double		 scale = 1, min = 0;
	bool		 quantised = false;
};

entry parse_entry(json_t *w, const std::string &manifest)
{
	entry e;
	const char *name = json_string_value(json_object_get(w, "name"));
	if (!name)
		fail(manifest + ": a weight entry has no name");
	e.name = name;
	json_t *shape = json_object_get(w, "shape");
	if (!json_is_array(shape))
		fail(manifest + ": tensor " + e.name + ": no shape");
	size_t i;
	json_t *d;
	json_array_foreach(shape, i, d) {
		if (!json_is_integer(d) || json_integer_value(d) < 0 ||
		    json_integer_value(d) > (1 << 24))
			fail(manifest + ": tensor " + e.name + ": bad shape");
		e.shape.push_back((int)json_integer_value(d));
	}
	const char *dtype = json_string_value(json_object_get(w, "dtype"));
	if (!dtype || strcmp(dtype, "float32") != 0)
		fail(manifest + ": tensor " + e.name + ": dtype " +
		    (dtype ? dtype : "(none)") + ", expected float32");
	e.dtype = dtype;
	json_t *q = json_object_get(w, "quantization");
	if (q) {
		const char *qd = json_string_value(json_object_get(q, "dtype"));
		json_t *sc = json_object_get(q, "scale");
		json_t *mn = json_object_get(q, "min");
		if (!qd || (strcmp(qd, "uint8") != 0 && strcmp(qd, "uint16") != 0))
			fail(manifest + ": tensor " + e.name +
			    ": quantisation dtype " + (qd ? qd : "(none)") +
			    ", expected uint8 or uint16");
		if (!json_is_number(sc) || !json_is_number(mn))
			fail(manifest + ": tensor " + e.name +
			    ": quantisation without scale and min");
		e.dtype = qd;
		e.scale = json_number_value(sc);
		e.min = json_number_value(mn);
		e.quantised = true;
	}
	return e;
}

size_t dtype_bytes(const std::string &dtype)
{
	return dtype == "uint8" ? 1 : dtype == "uint16" ? 2 : 4;
}

tensor decode(const entry &e, const char *p, size_t n)
{
	tensor t;
	t.shape = e.shape;
	t.data.resize(n);
	if (e.dtype == "float32") {
		std::memcpy(t.data.data(), p, n * 4);	/* little-endian hosts */
	} else if (e.dtype == "uint8") {
		const unsigned char *u = (const unsigned char *)p;
		for (size_t i = 0; i < n; i++)
			t.data[i] = (float)(u[i] * e.scale + e.min);
	} else {
		for (size_t i = 0; i < n; i++) {
			uint16_t v;
			std::memcpy(&v, p + 2 * i, 2);
			t.data[i] = (float)(v * e.scale + e.min);
		}
	}
	return t;
}

void load_group(json_t *group, const std::string &manifest, weightset &ws)
{
	json_t *paths = json_object_get(group, "paths");
	json_t *weights = json_object_get(group, "weights");
	if (!json_is_array(paths) || !json_is_array(weights))
		fail(manifest + ": a group without paths or weights");
	shards sh;
	size_t i;
	json_t *v;
	json_array_foreach(paths, i, v) {
		const char *p = json_string_value(v);
		if (!p || strchr(p, '/'))
			fail(manifest + ": bad shard path");
		std::string path = folder_of(manifest) + "/" + p;
		sh.path.push_back(path);
		sh.start.push_back(sh.bytes.size());
		sh.bytes += read_file(path);
	}
	if (sh.path.empty())
		fail(manifest + ": a group without shards");
	size_t off = 0;
	json_array_foreach(weights, i, v) {
		entry e = parse_entry(v, manifest);
		size_t n = 1;
		for (int d : e.shape)
			n *= (size_t)d;
		size_t len = n * dtype_bytes(e.dtype);
		if (off + len > sh.bytes.size())
			fail(sh.file_at(off) + ": truncated: tensor " + e.name +
			    " " + shape_str(e.shape) + " needs bytes " +
			    std::to_string(off) + ".." + std::to_string(off + len) +
			    " of the shards, which end at " +
			    std::to_string(sh.bytes.size()));
		if (ws.t.count(e.name))
			fail(manifest + ": tensor " + e.name + " listed twice");
		ws.t[e.name] = decode(e, sh.bytes.data() + off, n);
		off += len;
	}
	if (off != sh.bytes.size())
		fail(sh.path.back() + ": " + std::to_string(sh.bytes.size() - off) +
		    " bytes more than " + manifest + " describes");
}

} /* namespace */

const tensor &weightset::get(const std::string &name,
    std::initializer_list<int> shape) const
{
	auto it = t.find(name);
	if (it == t.end())
		fail(manifest + ": no tensor " + name);
	std::vector<int> want(shape);
	if (it->second.shape != want)
		fail(manifest + ": tensor " + name + " has shape " +
		    shape_str(it->second.shape) + ", expected " +
		    shape_str(want));
	return it->second;
}

void weightset::drop_values()
{
	for (auto &kv : t)
		std::vector<float>().swap(kv.second.data);
}

weightset tfjs_load(const std::string &manifest_path)
{
	weightset ws;
	ws.manifest = manifest_path;
	std::string text = read_file(manifest_path);
	json_error_t jerr;
	json_t *root = json_loadb(text.data(), text.size(), 0, &jerr);
	if (!root)
		fail(manifest_path + ": not JSON (line " +
		    std::to_string(jerr.line) + ": " + jerr.text + ")");
	try {
		if (!json_is_array(root) || json_array_size(root) == 0)
			fail(manifest_path + ": not a weights manifest");
		size_t i;
		json_t *g;
		json_array_foreach(root, i, g)
			load_group(g, manifest_path, ws);
	} catch (...) {
		json_decref(root);
		throw;
	}
	json_decref(root);
	return ws;
}

models *models_load(const std::string &dir, std::string *err)
{
	try {
		std::unique_ptr<models> m(new models);
		m->det = tfjs_load(dir + "/tiny_face_detector_model-weights_manifest.json");
		m->lmk = tfjs_load(dir + "/face_landmark_68_model-weights_manifest.json");
		m->rec = tfjs_load(dir + "/face_recognition_model-weights_manifest.json");
		/* Building the nets once checks every tensor's presence and
		 * shape now, at start, rather than on the first photo, and
		 * makes the blobs all threads' nets share; the float values
		 * are not needed after that. */
		m->blobs.filling = true;
		nets *n = nets_new(m.get(), err);
		m->blobs.filling = false;
		if (!n)
			return nullptr;
		nets_free(n);
		m->det.drop_values();
		m->lmk.drop_values();
		m->rec.drop_values();
		return m.release();
	} catch (const std::exception &e) {
		if (err)
			*err = std::string("face models: ") + e.what();
	}
	return nullptr;
}

void models_free(models *m)
{
	delete m;
}

} /* namespace rcface */
