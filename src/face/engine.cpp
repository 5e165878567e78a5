// The engine: its configuration, the weights read once at start, a pool of
// per-thread detectors and nets, and extraction (decode, detect, choose
// the face, landmarks, align, check quality, describe). Every entry point
// catches every exception.

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>

#include <unistd.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcast-qual"
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#pragma GCC diagnostic pop

#include "matcher.h"

using rcface::worker;

struct rc_face_engine {
	std::string			 models_dir;
	std::string			 cascade_dir;
	std::string			 detector_model;
	int				 min_face = 40;
	rcface::models			*models = nullptr;	// read-only once loaded
	std::mutex			 mu;	// guards idle and all
	std::vector<worker *>		 idle;
	std::vector<std::unique_ptr<worker>> all;

	~rc_face_engine()
	{
		all.clear();	// the nets before the weights they were built from
		rcface::models_free(models);
	}
};

namespace {

void
set_err(char *err, size_t errlen, const std::string &msg)
{
	if (err != nullptr && errlen > 0)
		snprintf(err, errlen, "%s", msg.c_str());
}

// Builds one thread's detectors and nets from the loaded weights. Throws
// on failure.
std::unique_ptr<worker>
worker_load(const rc_face_engine *e)
{
	std::unique_ptr<worker> w(new worker);
	std::string path = rcface::haar_path(e->cascade_dir), err;

	// Checked first: OpenCV logs its own error for a missing file.
	if (access(path.c_str(), R_OK) != 0 || !w->haar.load(path))
		throw std::runtime_error("cannot load face cascade " + path);
	if (!e->detector_model.empty()) {
		w->yunet = cv::FaceDetectorYN::create(e->detector_model, "",
		    cv::Size(320, 320), 0.7f, 0.3f, 5000);
		if (w->yunet.empty())
			throw std::runtime_error("cannot load detector model " +
			    e->detector_model);
	}
	if ((w->n = rcface::nets_new(e->models, &err)) == nullptr)
		throw std::runtime_error(err);
	return w;
}

// Borrows a worker for one call; the pool grows to the number of threads
// that call at the same time.
class lease {
public:
	explicit lease(rc_face_engine *e) : eng(e), w(nullptr)
	{
		{
			std::lock_guard<std::mutex> g(eng->mu);
			if (!eng->idle.empty()) {
				w = eng->idle.back();
				eng->idle.pop_back();
				return;
			}
		}
		std::unique_ptr<worker> nw = worker_load(eng);
		std::lock_guard<std::mutex> g(eng->mu);
		w = nw.get();
		eng->all.push_back(std::move(nw));
	}
	~lease()
	{
		std::lock_guard<std::mutex> g(eng->mu);
		eng->idle.push_back(w);
	}
	lease(const lease &) = delete;
	lease &operator=(const lease &) = delete;
	worker *get() const { return w; }
private:
	rc_face_engine	*eng;
	worker		*w;
};

void
fill_box(struct rc_face_info *info, const cv::Rect2f &b)
{
	info->x = (int)b.x;
	info->y = (int)b.y;
	info->w = (int)b.width;
	info->h = (int)b.height;
}

enum rc_face_status
extract_mat(rc_face_engine *e, const cv::Mat &img, int strict,
    rc_face_template **out, struct rc_face_info *info)
{
	lease l(e);
	worker *w = l.get();
	cv::Mat bgr = img;

	if (img.channels() == 1)
		cv::cvtColor(img, bgr, cv::COLOR_GRAY2BGR);
	info->img_w = img.cols;
	info->img_h = img.rows;
	std::vector<rcface::found> faces = rcface::detect_faces(w, bgr, e->min_face);
	info->faces = (int)faces.size();
	if (faces.empty()) {
		rcface::set_reason(info, "no face was found in the picture");
		return RC_FACE_NO_FACE;
	}
	info->comparable = rcface::rank_faces(&faces);
	const rcface::found &f = faces[0];
	fill_box(info, f.box);
	if (strict && info->comparable >= 2) {
		rcface::set_reason(info, "%d faces of similar size were found; the "
		    "picture must show one person", info->comparable);
		return RC_FACE_MULTIPLE;
	}
	if (std::min(f.box.width, f.box.height) < e->min_face) {
		rcface::set_reason(info, "the face is too small: %d px wide; at "
		    "least %d px are needed", info->w, e->min_face);
		return RC_FACE_POOR_QUALITY;
	}
	cv::Point2f pts[5];
	rcface::nets_landmarks5(w->n, bgr, f.box, pts);
	info->eyes_found = 1;
	cv::Mat chip = rcface::nets_align(bgr, pts);
	if (!rcface::check_quality(chip, info))
		return RC_FACE_POOR_QUALITY;

	std::unique_ptr<rc_face_template> t(new rc_face_template);
	t->method = rcface::METHOD;
	t->version = rcface::VERSION;
	t->v.resize(rcface::DESCRIPTOR_DIM);
	rcface::nets_describe(w->n, chip, t->v.data());
	*out = t.release();
	return RC_FACE_OK;
}

void
engine_setup(rc_face_engine *e, const struct rc_face_config *cfg)
{
	std::string err;

	e->models_dir = cfg && cfg->models_dir ? cfg->models_dir :
	    RC_FACE_MODELS_DIR_DEFAULT;
	e->cascade_dir = cfg && cfg->cascade_dir ? cfg->cascade_dir :
	    "/usr/share/opencv4";
	e->detector_model = cfg && cfg->detector_model ? cfg->detector_model : "";
	e->min_face = cfg && cfg->min_face_px > 0 ? cfg->min_face_px : 40;
	// Calls run side by side on the caller's threads (the daemon's CPU
	// pool): OpenCV's own threads inside each call would only fight them
	// for the same cores.
	cv::setNumThreads(1);
	if ((e->models = rcface::models_load(e->models_dir, &err)) == nullptr)
		throw std::runtime_error(err.empty() ? "cannot load the face "
		    "models in " + e->models_dir : err);
	// One worker now, so a bad file fails here, not on first use.
	std::unique_ptr<worker> w = worker_load(e);
	e->idle.push_back(w.get());
	e->all.push_back(std::move(w));
}

enum rc_face_status
extract_guarded(struct rc_face_engine *eng, const cv::Mat &img, int strict,
    struct rc_face_template **out, struct rc_face_info *info)
{
	try {
		return extract_mat(eng, img, strict, out, info);
	} catch (const std::exception &ex) {
		rcface::set_reason(info, "face engine error: %s", ex.what());
	} catch (...) {
		rcface::set_reason(info, "face engine error");
	}
	return RC_FACE_ERROR;
}

} // namespace

extern "C" struct rc_face_engine *
rc_face_engine_new(const struct rc_face_config *cfg, char *err, size_t errlen)
{
	rc_face_engine *e = nullptr;

	try {
		e = new rc_face_engine;
		engine_setup(e, cfg);
		return e;
	} catch (const std::exception &ex) {
		set_err(err, errlen, ex.what());
	} catch (...) {
		set_err(err, errlen, "unknown error while loading the face engine");
	}
	delete e;
	return nullptr;
}

extern "C" void
rc_face_engine_free(struct rc_face_engine *eng)
{
	delete eng;
}

extern "C" const char *
rc_face_method(const struct rc_face_engine *eng)
{
	(void)eng;
	return rcface::METHOD;
}

extern "C" uint32_t
rc_face_version(const struct rc_face_engine *eng)
{
	(void)eng;
	return rcface::VERSION;
}

extern "C" enum rc_face_status
rc_face_extract(struct rc_face_engine *eng, const void *img, size_t len,
    int strict_single, struct rc_face_template **out, struct rc_face_info *info)
{
	struct rc_face_info local;
	cv::Mat decoded;

	*out = nullptr;
	if (info == nullptr)
		info = &local;
	memset(info, 0, sizeof(*info));
	if (img == nullptr || len == 0 || len > (size_t)INT32_MAX) {
		rcface::set_reason(info, "the data is not an image");
		return RC_FACE_NOT_IMAGE;
	}
	try {
		// imdecode applies the EXIF orientation unless told not to.
		cv::Mat buf(1, (int)len, CV_8U, const_cast<void *>(img));
		decoded = cv::imdecode(buf, cv::IMREAD_COLOR);
	} catch (...) {
		decoded.release();
	}
	if (decoded.empty()) {
		rcface::set_reason(info, "the data is not an image in a known format");
		return RC_FACE_NOT_IMAGE;
	}
	return extract_guarded(eng, decoded, strict_single, out, info);
}

extern "C" enum rc_face_status
rc_face_extract_pixels(struct rc_face_engine *eng, const unsigned char *px,
    int width, int height, size_t stride, int channels, int strict_single,
    struct rc_face_template **out, struct rc_face_info *info)
{
	struct rc_face_info local;

	*out = nullptr;
	if (info == nullptr)
		info = &local;
	memset(info, 0, sizeof(*info));
	if (px == nullptr || width <= 0 || height <= 0 ||
	    (channels != 1 && channels != 3) ||
	    stride < (size_t)width * (size_t)channels) {
		rcface::set_reason(info, "invalid pixel buffer");
		return RC_FACE_NOT_IMAGE;
	}
	cv::Mat img(height, width, channels == 1 ? CV_8UC1 : CV_8UC3,
	    const_cast<unsigned char *>(px), stride);
	return extract_guarded(eng, img, strict_single, out, info);
}

extern "C" const char *
rc_face_status_code(enum rc_face_status st)
{
	switch (st) {
	case RC_FACE_OK:		return "ok";
	case RC_FACE_NOT_IMAGE:		return "not_image";
	case RC_FACE_NO_FACE:		return "no_face";
	case RC_FACE_MULTIPLE:		return "multiple_faces";
	case RC_FACE_POOR_QUALITY:	return "poor_quality";
	case RC_FACE_ERROR:		break;
	}
	return "face_error";
}
