/* A small builder of cv::dnn::Net graphs from TF-layout tensors (HWIO
 * filters, [in, out] dense weights), and one thread's set of nets. */

#include <cfloat>

#include "nets-int.h"

namespace rcface {

pads tf_same(int n, int k, int s)
{
	int out = (n + s - 1) / s;
	int total = std::max((out - 1) * s + k - n, 0);
	return pads{total / 2, total / 2, total - total / 2, total - total / 2};
}

graph::graph(blob_cache *c) : cache(c)
{
	net.setInputsNames({"data"});
	names.push_back("data");
}

std::string graph::name(int id) const
{
	return names.at((size_t)id);
}

int graph::add(const std::string &type, cv::dnn::LayerParams &lp,
    std::initializer_list<int> in)
{
	std::string nm = type + std::to_string(names.size());
	lp.name = nm;
	lp.type = type;
	int id = net.addLayer(nm, type, lp);
	int k = 0;
	for (int src : in)
		net.connect(src, 0, id, k++);
	if ((size_t)id != names.size())
		throw std::runtime_error("graph: unexpected layer id");
	names.push_back(nm);
	return id;
}

std::vector<cv::Mat> graph::prepared(const tensor *a, const tensor *b,
    const std::function<std::vector<cv::Mat>()> &make)
{
	if (!cache)
		return make();
	auto key = std::make_pair(a, b);
	auto it = cache->m.find(key);
	if (it != cache->m.end())
		return it->second;
	/* The values were dropped after the first build: every blob must
	 * have been made then. */
	if (!cache->filling)
		throw std::runtime_error("face nets: weights not prepared at load");
	return cache->m[key] = make();
}

static void set_window(cv::dnn::LayerParams &lp, int kh, int kw, int stride,
    pads p)
{
	lp.set("kernel_h", kh);
	lp.set("kernel_w", kw);
	lp.set("stride_h", stride);
	lp.set("stride_w", stride);
	lp.set("pad_t", p.t);
	lp.set("pad_l", p.l);
	lp.set("pad_b", p.b);
	lp.set("pad_r", p.r);
}

int graph::conv(int in, const tensor &hwio, const tensor *bias, int stride,
    pads p, const tensor *mul, const tensor *add_)
{
	const int kh = hwio.shape[0], kw = hwio.shape[1];
	const int ci = hwio.shape[2], co = hwio.shape[3];
	std::vector<cv::Mat> blobs = prepared(&hwio, mul, [&] {
		int sz[4] = {co, ci, kh, kw};
		cv::Mat w(4, sz, CV_32F);
		float *wp = w.ptr<float>();
		for (int o = 0; o < co; o++) {
			float m = mul ? mul->data[(size_t)o] : 1.f;
			for (int i = 0; i < ci; i++)
				for (int y = 0; y < kh; y++)
					for (int x = 0; x < kw; x++)
						wp[((o * ci + i) * kh + y) * kw + x] =
						    hwio.data[(((size_t)y * kw + x) * ci + i) * co + o] * m;
		}
		cv::Mat b(1, co, CV_32F);
		for (int o = 0; o < co; o++) {
			float v = bias ? bias->data[(size_t)o] : 0.f;
			if (mul)
				v *= mul->data[(size_t)o];
			if (add_)
				v += add_->data[(size_t)o];
			b.at<float>(o) = v;
		}
		return std::vector<cv::Mat>{w, b};
	});
	in = pad_asymmetric(in, p, 0.f);
	cv::dnn::LayerParams lp;
	set_window(lp, kh, kw, stride, p);
	lp.set("num_output", co);
	lp.set("bias_term", true);
	lp.blobs = blobs;
	return add("Convolution", lp, {in});
}

int graph::depthwise(int in, const tensor &hwi1, int stride, pads p)
{
	const int kh = hwi1.shape[0], kw = hwi1.shape[1], c = hwi1.shape[2];
	std::vector<cv::Mat> blobs = prepared(&hwi1, nullptr, [&] {
		int sz[4] = {c, 1, kh, kw};
		cv::Mat w(4, sz, CV_32F);
		float *wp = w.ptr<float>();
		for (int o = 0; o < c; o++)
			for (int y = 0; y < kh; y++)
				for (int x = 0; x < kw; x++)
					wp[(o * kh + y) * kw + x] =
					    hwi1.data[((size_t)y * kw + x) * c + o];
		return std::vector<cv::Mat>{w};
	});
	in = pad_asymmetric(in, p, 0.f);
	cv::dnn::LayerParams lp;
	set_window(lp, kh, kw, stride, p);
	lp.set("num_output", c);
	lp.set("group", c);
	lp.set("bias_term", false);
	lp.blobs = blobs;
	return add("Convolution", lp, {in});
}

int graph::relu(int in, float slope)
{
	cv::dnn::LayerParams lp;
	if (slope != 0.f)
		lp.set("negative_slope", slope);
	return add("ReLU", lp, {in});
}

/* TF pads max pools with -inf (padded cells never win). TF's "same" 2x2/2
 * pool is OpenCV's ceil mode (the last window clipped at the edge), which
 * saves the copy of a Padding layer; other asymmetric pads get one. */
int graph::maxpool(int in, int k, int stride, pads p)
{
	bool ceil = k == 2 && stride == 2 && p.t == 0 && p.l == 0 &&
	    p.b <= 1 && p.r <= 1 && p.b == p.r;
	if (ceil)
		p = pads{0, 0, 0, 0};
	else
		in = pad_asymmetric(in, p, -FLT_MAX);
	cv::dnn::LayerParams lp;
	lp.set("pool", "max");
	set_window(lp, k, k, stride, p);
	lp.set("ceil_mode", ceil);
	return add("Pooling", lp, {in});
}

int graph::avgpool(int in, int k, int stride)
{
	cv::dnn::LayerParams lp;
	lp.set("pool", "ave");
	set_window(lp, k, k, stride, pads{0, 0, 0, 0});
	lp.set("ceil_mode", false);
	return add("Pooling", lp, {in});
}

int graph::global_avgpool(int in)
{
	cv::dnn::LayerParams lp;
	lp.set("pool", "ave");
	lp.set("global_pooling", true);
	return add("Pooling", lp, {in});
}

int graph::sum(std::initializer_list<int> in)
{
	cv::dnn::LayerParams lp;
	lp.set("operation", "sum");
	return add("Eltwise", lp, in);
}

int graph::pad(int in, const int p[8], float value)
{
	cv::dnn::LayerParams lp;
	lp.set("paddings", cv::dnn::DictValue::arrayInt(p, 8));
	lp.set("type", "constant");
	lp.set("value", value);
	return add("Padding", lp, {in});
}

int graph::zero_pad(int in, int channels, int rows, int cols)
{
	int p[8] = {0, 0, 0, channels, 0, rows, 0, cols};
	return pad(in, p, 0.f);
}

/* OpenCV 4.6's convolution refuses asymmetric padding ("Unsupported
 * asymmetric padding"): TF's "same" at stride 2 (0 top/left, 1
 * bottom/right) becomes a Padding layer and an unpadded window. p is
 * zeroed when the padding was moved into the graph. */
int graph::pad_asymmetric(int in, pads &p, float value)
{
	if (p.t == p.b && p.l == p.r)
		return in;
	int q[8] = {0, 0, 0, 0, p.t, p.b, p.l, p.r};
	p = pads{0, 0, 0, 0};
	return pad(in, q, value);
}

int graph::fc(int in, const tensor &in_out, const tensor *bias)
{
	const int ni = in_out.shape[0], no = in_out.shape[1];
	std::vector<cv::Mat> blobs = prepared(&in_out, bias, [&] {
		cv::Mat w(no, ni, CV_32F);
		for (int o = 0; o < no; o++)
			for (int i = 0; i < ni; i++)
				w.at<float>(o, i) = in_out.data[(size_t)i * no + o];
		std::vector<cv::Mat> v{w};
		if (bias)
			v.push_back(cv::Mat(1, no, CV_32F,
			    const_cast<float *>(bias->data.data())).clone());
		return v;
	});
	cv::dnn::LayerParams lp;
	lp.set("num_output", no);
	lp.set("bias_term", bias != nullptr);
	lp.set("axis", 1);
	lp.blobs = blobs;
	return add("InnerProduct", lp, {in});
}

cv::Mat graph::run(const cv::Mat &blob, int id)
{
	net.setInput(blob, "data");
	return net.forward(name(id));
}

/* One axis of TF's resizeBilinear (alignCorners and halfPixelCenters off):
 * output i samples src = i * in / out between floor and min(ceil, in - 1). */
struct taps {
	std::vector<int>	 lo, hi;
	std::vector<float>	 w;

	taps(int in, int out)
	    : lo((size_t)out), hi((size_t)out), w((size_t)out)
	{
		double ratio = (double)in / out;
		for (int i = 0; i < out; i++) {
			double f = ratio * i;
			int a = std::max(0, (int)std::floor(f));
			lo[(size_t)i] = a;
			hi[(size_t)i] = std::min(in - 1, (int)std::ceil(f));
			w[(size_t)i] = (float)(f - a);
		}
	}
};

cv::Mat tf_input(const cv::Mat &bgr, const cv::Rect &roi, int ox, int oy,
    int side, int dst, const double mean_rgb[3])
{
	int sz[4] = {1, 3, dst, dst};
	cv::Mat blob(4, sz, CV_32F);
	float *plane[3];
	for (int c = 0; c < 3; c++)	/* RGB planes */
		plane[c] = blob.ptr<float>() + (size_t)c * dst * dst;
	taps tx(side, dst), ty(side, dst);
	/* A square pixel: the roi's inside, zero outside (the padding). */
	auto row_of = [&](int y) -> const unsigned char * {
		y -= oy;
		return y >= 0 && y < roi.height ? bgr.ptr<unsigned char>(roi.y + y) :
		    nullptr;
	};
	std::vector<int> col_lo((size_t)dst), col_hi((size_t)dst);
	for (int x = 0; x < dst; x++) {
		int a = tx.lo[(size_t)x] - ox, b = tx.hi[(size_t)x] - ox;
		col_lo[(size_t)x] = a >= 0 && a < roi.width ? (roi.x + a) * 3 : -1;
		col_hi[(size_t)x] = b >= 0 && b < roi.width ? (roi.x + b) * 3 : -1;
	}
	const float k = 1.f / 255;
	for (int y = 0; y < dst; y++) {
		const unsigned char *r0 = row_of(ty.lo[(size_t)y]);
		const unsigned char *r1 = row_of(ty.hi[(size_t)y]);
		float wy = ty.w[(size_t)y];
		for (int x = 0; x < dst; x++) {
			int a = col_lo[(size_t)x], b = col_hi[(size_t)x];
			float wx = tx.w[(size_t)x];
			for (int c = 0; c < 3; c++) {
				int ch = 2 - c;	/* BGR in, RGB out */
				float tl = r0 && a >= 0 ? r0[a + ch] : 0.f;
				float tr = r0 && b >= 0 ? r0[b + ch] : 0.f;
				float bl = r1 && a >= 0 ? r1[a + ch] : 0.f;
				float br = r1 && b >= 0 ? r1[b + ch] : 0.f;
				float top = tl + (tr - tl) * wx;
				float bot = bl + (br - bl) * wx;
				float v = top + (bot - top) * wy;
				plane[c][(size_t)y * dst + x] =
				    (v - (float)mean_rgb[c]) * k;
			}
		}
	}
	return blob;
}

cv::Mat as_bgr(const cv::Mat &img)
{
	if (img.depth() != CV_8U)
		throw std::runtime_error("face nets: an 8-bit image is needed");
	if (img.channels() == 3)
		return img;
	cv::Mat out;
	cv::cvtColor(img, out, img.channels() == 1 ? cv::COLOR_GRAY2BGR :
	    cv::COLOR_BGRA2BGR);
	return out;
}

static void prepare(cv::dnn::Net &net)
{
	net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
	net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
}

nets *nets_new(const models *m, std::string *err)
{
	try {
		std::unique_ptr<nets> n(new nets);
		n->m = m;
		n->det[320] = build_detector(*m, 320);
		n->lmk = build_landmarks(*m);
		n->rec = build_descriptor(*m);
		prepare(n->det[320]->g.net);
		prepare(n->lmk->g.net);
		prepare(n->rec->g.net);
		/* A first run allocates OpenCV's buffers and checks the shapes
		 * of the whole graph, so the first photo is not slower. */
		cv::Mat grey(200, 200, CV_8UC3, cv::Scalar(128, 128, 128));
		nets_detect(n.get(), grey, 2.f);
		landmarks68(n.get(), grey, cv::Rect2f(50, 50, 100, 100));
		float d[DESCRIPTOR_DIM];
		nets_describe(n.get(), grey(cv::Rect(0, 0, CHIP_PX, CHIP_PX)), d);
		return n.release();
	} catch (const std::exception &e) {
		if (err)
			*err = std::string("face nets: ") + e.what();
	}
	return nullptr;
}

void nets_free(nets *n)
{
	delete n;
}

} /* namespace rcface */
