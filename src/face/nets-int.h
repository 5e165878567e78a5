/* Internals of the nets files (nets_*.cpp): face-api's TensorFlow.js weights
 * parsed into float tensors, and a small builder of cv::dnn::Net graphs.
 * Everything here may throw (std::runtime_error with a message naming the
 * file and the tensor, cv::Exception from OpenCV); the rcface:: functions of
 * face-int.h catch at their boundary. */
#ifndef ROLLCALL_FACE_NETS_INT_H
#define ROLLCALL_FACE_NETS_INT_H

#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <vector>

/* OpenCV's headers cast away const (-Wcast-qual); included here, first,
 * with that warning off, for every nets file. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcast-qual"
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>
#pragma GCC diagnostic pop

#include "face-int.h"

namespace rcface {

/* One dequantised tensor, in the manifest's layout (TF: filters HWIO). */
struct tensor {
	std::vector<int>	 shape;
	std::vector<float>	 data;
};

/* The tensors of one *-weights_manifest.json. */
struct weightset {
	std::string			 manifest;	/* path, for messages */
	std::map<std::string, tensor>	 t;

	/* The tensor `name` of exactly `shape`; throws naming the manifest and
	 * the tensor when it is absent or shaped otherwise. */
	const tensor	&get(const std::string &name,
			    std::initializer_list<int> shape) const;
	/* Frees the values, keeping names and shapes (once the blobs made
	 * from them are cached). */
	void		 drop_values();
};

/* Parses a TF.js manifest and reads its shards (in the manifest's folder):
 * each entry at its own dtype (float32, or uint8/uint16 quantised as
 * q * scale + min), in manifest order across the concatenated shards. */
weightset	 tfjs_load(const std::string &manifest_path);

/* The OpenCV blobs (OIHW filters with the scale folded in, biases, dense
 * weights) made from the tensors, keyed by the tensors they come from and
 * shared by every thread's nets: a cv::Mat shares its data, and OpenCV's
 * layers copy what they repack and never write their params. Filled while
 * models_load builds the nets once (one thread); read-only afterwards. */
struct blob_cache {
	std::map<std::pair<const tensor *, const tensor *>,
	    std::vector<cv::Mat>>	 m;
	bool				 filling = false;
};

struct models {
	weightset	 det;	/* tiny_face_detector_model */
	weightset	 lmk;	/* face_landmark_68_model */
	weightset	 rec;	/* face_recognition_model */
	/* Written only inside models_load, before any nets_new. */
	mutable blob_cache	 blobs;
};

/* ---- graph building (nets_graph.cpp) ---------------------------------- */

/* Padding of a conv or pool: top, left, bottom, right. */
struct pads {
	int	 t, l, b, r;
};

/* TF "same" padding of a k-wide window at stride s over n: the extra goes
 * to the bottom/right (TF's convention; OpenCV's would centre it). */
pads		 tf_same(int n, int k, int s);

class graph {
public:
	cv::dnn::Net	 net;
	blob_cache	*cache;	/* nullptr: blobs made for this graph only */

	/* Blobs come from (and, while filling, go to) cache when given. */
	explicit graph(blob_cache *cache = nullptr);
	/* HWIO filters and a bias: a Convolution layer (OIHW), optionally with
	 * a per-output-channel scale/shift folded in (y = conv * mul + add). */
	int	 conv(int in, const tensor &hwio, const tensor *bias, int stride,
		    pads p, const tensor *mul = nullptr,
		    const tensor *add = nullptr);
	/* Depthwise [kh, kw, C, 1] filters, no bias (group = C). */
	int	 depthwise(int in, const tensor &hwi1, int stride, pads p);
	int	 relu(int in, float slope = 0.f);
	int	 maxpool(int in, int k, int stride, pads p);
	int	 avgpool(int in, int k, int stride);
	int	 global_avgpool(int in);
	int	 sum(std::initializer_list<int> in);
	/* Zero padding of NCHW: extra channels at the end, rows at the bottom,
	 * columns at the right. */
	int	 zero_pad(int in, int channels, int rows, int cols);
	/* [in, out] weights (TF's matMul layout) and an optional bias. */
	int	 fc(int in, const tensor &in_out, const tensor *bias);
	/* The blobs made by make() from tensors a and b, through the cache
	 * when there is one. */
	std::vector<cv::Mat>	 prepared(const tensor *a, const tensor *b,
				    const std::function<std::vector<cv::Mat>()> &make);
	/* The output of layer id for an input blob. */
	cv::Mat	 run(const cv::Mat &blob, int id);
	std::string	 name(int id) const;

private:
	int	 add(const std::string &type, cv::dnn::LayerParams &lp,
		    std::initializer_list<int> in);
	int	 pad(int in, const int p[8], float value);
	int	 pad_asymmetric(int in, pads &p, float value);
	std::vector<std::string>	 names;
};

/* The three nets; builders in nets_detect/landmarks/describe.cpp. */
struct detector_net {
	graph	 g;		/* from conv1 on: input 1 x 16 x P x P */
	int	 out;
	int	 input;
	cv::Mat	 stem_w;	/* conv0 [3][3][3][16] (HWIO), fused by hand */
	cv::Mat	 stem_b;	/* [16] */
};
std::unique_ptr<detector_net>	 build_detector(const models &m, int input);
/* The detector's first conv (3x3 VALID, 3 -> 16, HWIO weights, bias),
 * leaky ReLU 0.1 and 2x2/2 "same" max pool, fused: 1 x 3 x s x s in,
 * 1 x 16 x p x p out, p = (s - 1) / 2. simd 0 forces the SSE2 code, else
 * AVX2+FMA when the CPU has them. */
void		 detector_stem(const float *in, int s, const float *w,
		    const float *bias, float *out, int simd);

struct landmark_net {
	graph	 g;
	int	 out;
};
std::unique_ptr<landmark_net>	 build_landmarks(const models &m);

struct descriptor_net {
	graph	 g;
	int	 out;
};
std::unique_ptr<descriptor_net>	 build_descriptor(const models &m);

struct nets {
	const models				*m;
	std::map<int, std::unique_ptr<detector_net>>	 det;	/* by input */
	std::unique_ptr<landmark_net>		 lmk;
	std::unique_ptr<descriptor_net>		 rec;
};

/* The 68 landmarks (image pixels) of the crop of box; what nets_landmarks5
 * reduces. Throws. */
std::vector<cv::Point2f>	 landmarks68(nets *n, const cv::Mat &bgr,
				    const cv::Rect2f &box);

/* The 1 x 3 x dst x dst RGB float blob face-api feeds a net: the rectangle
 * roi of an 8-bit BGR image placed at (ox, oy) in a side x side square of
 * zeros, resized as TensorFlow's resizeBilinear without half-pixel centres
 * (src = dst * in / out, edges clamped; float values, not rounded to
 * 8 bits as cv::warpAffine would), then (value - mean) / 255. */
cv::Mat		 tf_input(const cv::Mat &bgr, const cv::Rect &roi, int ox,
		    int oy, int side, int dst, const double mean_rgb[3]);

/* A CV_8UC3 BGR copy or view of an 8-bit 1-, 3- or 4-channel image. */
cv::Mat		 as_bgr(const cv::Mat &img);

/* dlib's 5-point template for our 5 points, in chip pixels. */
void		 chip_template(cv::Point2d out[5]);

} /* namespace rcface */

#endif
