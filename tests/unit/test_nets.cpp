/* The face nets (src/face/nets_*.cpp) outside the daemon.
 *
 *   test_nets                      unit tests: TF.js dequantisation and
 *                                  loader errors on hand-made files, one
 *                                  layer of each kind against hand-computed
 *                                  numbers (exit status 0 when all pass)
 *   test_nets pipeline MODELS IMG [--chip OUT.ppm] [--image OUT.ppm]
 *                                  detect (320, score 0.5), 68 landmarks of
 *                                  the best box, the 5 points, the aligned
 *                                  chip and its descriptor, as JSON
 *   test_nets describe MODELS CHIP descriptor of a chip image, as JSON
 *   test_nets batch MODELS         descriptors of the photos named on stdin,
 *                                  one JSON line each (null: no face)
 *   test_nets time MODELS IMG N    per-stage times (ms: median CPU time of
 *                                  this thread, median and minimum wall
 *                                  time of N runs) on IMG letterboxed into
 *                                  640x480, one OpenCV thread
 *   test_nets load MODELS          models_load: "ok" or its error (exit 1)
 *   test_nets threads MODELS IMG   3 threads' nets (built at once, sharing
 *                                  the models' blobs) give bit-identical
 *                                  results to one thread's: "ok"
 *
 * tests/api/test_face_oracle.py compares its output with face-api's own
 * (tests/oracle/face_oracle.mjs). */
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <time.h>
#include <unistd.h>

#include "face/nets-int.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcast-qual"
#include <opencv2/imgcodecs.hpp>
#pragma GCC diagnostic pop

using namespace rcface;

static int failures;

#define CHECK(cond) do { \
	if (!(cond)) { \
		std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, \
		    __LINE__, #cond); \
		failures++; \
	} \
} while (0)

static bool near(double a, double b, double tol = 1e-5)
{
	return std::fabs(a - b) <= tol;
}

static void write_file(const std::string &path, const std::string &data)
{
	std::ofstream f(path, std::ios::binary);
	f << data;
}

static std::string floats(std::initializer_list<float> v)
{
	std::string s;
	for (float x : v)
		s.append((const char *)&x, 4);
	return s;
}

/* A manifest with a uint8-quantised, a float32 and a uint16 entry in one
 * shard split over two files. */
static void test_dequantisation(const std::string &dir)
{
	write_file(dir + "/m-weights_manifest.json",
	    "[{\"paths\": [\"m1.bin\", \"m2.bin\"], \"weights\": ["
	    "{\"name\": \"q\", \"shape\": [2, 2], \"dtype\": \"float32\","
	    " \"quantization\": {\"dtype\": \"uint8\", \"scale\": 0.5, \"min\": -1}},"
	    "{\"name\": \"f\", \"shape\": [3], \"dtype\": \"float32\"},"
	    "{\"name\": \"h\", \"shape\": [1], \"dtype\": \"float32\","
	    " \"quantization\": {\"dtype\": \"uint16\", \"scale\": 0.25, \"min\": 10}}"
	    "]}]");
	std::string bytes = std::string("\x00\x01\x02\xff", 4) +
	    floats({1.5f, -2.25f, 1e-8f}) + std::string("\x08\x01", 2);
	write_file(dir + "/m1.bin", bytes.substr(0, 6));
	write_file(dir + "/m2.bin", bytes.substr(6));
	weightset w = tfjs_load(dir + "/m-weights_manifest.json");
	const tensor &q = w.get("q", {2, 2});
	CHECK(near(q.data[0], -1) && near(q.data[1], -0.5) &&
	    near(q.data[2], 0) && near(q.data[3], 126.5));
	const tensor &f = w.get("f", {3});
	CHECK(f.data[0] == 1.5f && f.data[1] == -2.25f && f.data[2] == 1e-8f);
	/* 0x0108 = 264 -> 264 * 0.25 + 10 */
	CHECK(near(w.get("h", {1}).data[0], 76));

	std::string msg;
	try {
		w.get("f", {4});
	} catch (const std::exception &e) {
		msg = e.what();
	}
	CHECK(msg.find("m-weights_manifest.json") != std::string::npos &&
	    msg.find("tensor f ") != std::string::npos &&
	    msg.find("[3]") != std::string::npos);

	/* Truncated: the last shard loses a byte; the message names it and
	 * the tensor whose bytes are missing. */
	write_file(dir + "/m2.bin", bytes.substr(6, bytes.size() - 7));
	msg.clear();
	try {
		tfjs_load(dir + "/m-weights_manifest.json");
	} catch (const std::exception &e) {
		msg = e.what();
	}
	CHECK(msg.find("m2.bin") != std::string::npos);
	CHECK(msg.find("truncated") != std::string::npos);
	CHECK(msg.find("tensor h ") != std::string::npos);

	/* A missing shard, a wrong dtype. */
	unlink((dir + "/m2.bin").c_str());
	msg.clear();
	try {
		tfjs_load(dir + "/m-weights_manifest.json");
	} catch (const std::exception &e) {
		msg = e.what();
	}
	CHECK(msg.find("cannot open") != std::string::npos &&
	    msg.find("m2.bin") != std::string::npos);
	write_file(dir + "/i-weights_manifest.json",
	    "[{\"paths\": [\"m1.bin\"], \"weights\": ["
	    "{\"name\": \"n\", \"shape\": [1], \"dtype\": \"int32\"}]}]");
	msg.clear();
	try {
		tfjs_load(dir + "/i-weights_manifest.json");
	} catch (const std::exception &e) {
		msg = e.what();
	}
	CHECK(msg.find("tensor n") != std::string::npos &&
	    msg.find("int32") != std::string::npos);
}

static tensor make(std::vector<int> shape, std::vector<float> data)
{
	tensor t;
	t.shape = std::move(shape);
	t.data = std::move(data);
	return t;
}

static cv::Mat blob_of(int c, int h, int w, const std::vector<float> &v)
{
	int sz[4] = {1, c, h, w};
	cv::Mat m(4, sz, CV_32F);
	std::memcpy(m.ptr<float>(), v.data(), v.size() * 4);
	return m;
}

/* Hand-computed: a 2x2 HWIO filter on a 3x3 input at stride 2 with TF
 * "same" padding (0 top/left, 1 bottom/right), folded scale, leaky ReLU. */
static void test_conv_layer()
{
	/* input (one channel):  1 2 3 / 4 5 6 / 7 8 9
	 * filter HWIO [2,2,1,2]: out0 = [1 0; 0 1], out1 = [0 1; 1 0]
	 * (HWIO flattened: h, w, i, o). */
	tensor f = make({2, 2, 1, 2}, {1, 0, 0, 1, 0, 1, 1, 0});
	tensor b = make({2}, {-20, 0});
	tensor mul = make({2}, {1, 2});
	tensor add = make({2}, {0, -30});
	graph g;
	pads p = tf_same(3, 2, 2);
	CHECK(p.t == 0 && p.l == 0 && p.b == 1 && p.r == 1);
	int c = g.conv(0, f, &b, 2, p, &mul, &add);
	int r = g.relu(c, 0.1f);
	cv::Mat o = g.run(blob_of(1, 3, 3, {1, 2, 3, 4, 5, 6, 7, 8, 9}), r);
	CHECK(o.size[1] == 2 && o.size[2] == 2 && o.size[3] == 2);
	const float *v = o.ptr<float>();
	/* out0 windows: (1+5), (3+0), (7+0), (9+0); minus 20; leaky:
	 * -14 -> -1.4, -17 -> -1.7, -13 -> -1.3, -11 -> -1.1 */
	CHECK(near(v[0], -1.4) && near(v[1], -1.7) && near(v[2], -1.3) &&
	    near(v[3], -1.1));
	/* out1: (2+4), (0+6), (0+8), 0; *2 - 30: -18 -> -1.8, -18 -> -1.8,
	 * -14 -> -1.4, -30 -> -3 */
	CHECK(near(v[4], -1.8) && near(v[5], -1.8) && near(v[6], -1.4) &&
	    near(v[7], -3));

	/* Max pool 2x2/2 "same" over 3x3: padded cells take no part. */
	graph g2;
	int mp = g2.maxpool(0, 2, 2, tf_same(3, 2, 2));
	cv::Mat m = g2.run(blob_of(1, 3, 3, {-1, -2, -3, -4, -5, -6, -7, -8, -9}), mp);
	const float *mv = m.ptr<float>();
	CHECK(near(mv[0], -1) && near(mv[1], -3) && near(mv[2], -7) &&
	    near(mv[3], -9));
	/* 2x2/1 "same" over 2x2 (a Padding layer with -inf, not ceil mode). */
	graph g5;
	int mp1 = g5.maxpool(0, 2, 1, tf_same(2, 2, 1));
	cv::Mat m1 = g5.run(blob_of(1, 2, 2, {-4, -3, -2, -1}), mp1);
	CHECK(m1.size[2] == 2 && m1.size[3] == 2);
	const float *m1v = m1.ptr<float>();
	CHECK(near(m1v[0], -1) && near(m1v[1], -1) && near(m1v[2], -1) &&
	    near(m1v[3], -1));

	/* Zero padding of channels and of the bottom row / right column, a
	 * dense layer stored [in, out]. */
	graph g3;
	int zp = g3.zero_pad(0, 1, 1, 1);
	cv::Mat z = g3.run(blob_of(1, 1, 1, {5}), zp);
	CHECK(z.size[1] == 2 && z.size[2] == 2 && z.size[3] == 2);
	const float *zv = z.ptr<float>();
	CHECK(zv[0] == 5 && zv[1] == 0 && zv[2] == 0 && zv[3] == 0 &&
	    zv[4] == 0 && zv[7] == 0);
	graph g4;
	tensor w = make({2, 3}, {1, 2, 3, 4, 5, 6});	/* [in=2, out=3] */
	tensor fb = make({3}, {0.5f, 0, -1});
	int fc = g4.fc(0, w, &fb);
	cv::Mat d = g4.run(blob_of(2, 1, 1, {1, 10}), fc);
	const float *dv = d.ptr<float>();
	CHECK(near(dv[0], 41.5) && near(dv[1], 52) && near(dv[2], 62));

	/* TF's resize without half-pixel centres: 4 -> 2 samples src = 0, 2
	 * (not 0.5, 2.5 as cv::resize); 4 -> 3 samples 0, 4/3, 8/3. A 2-row
	 * image in a 4-row square: rows 2 and 3 are the zero padding. */
	cv::Mat img(2, 4, CV_8UC3);
	for (int x = 0; x < 4; x++)
		img.col(x).setTo(cv::Scalar(x * 10, 100, 200 + x));	/* B G R */
	const double mean[3] = {0, 0, 0};
	cv::Mat b2 = tf_input(img, cv::Rect(0, 0, 4, 2), 0, 0, 4, 2, mean);
	const float *p2 = b2.ptr<float>();	/* R plane, then G, then B */
	CHECK(near(p2[0] * 255, 200, 1e-3) && near(p2[1] * 255, 202, 1e-3) &&
	    near(p2[2] * 255, 0, 1e-3) && near(p2[3] * 255, 0, 1e-3));
	CHECK(near(p2[8] * 255, 0, 1e-3) && near(p2[9] * 255, 20, 1e-3));
	const double m3[3] = {1, 2, 3};
	cv::Mat b3 = tf_input(img, cv::Rect(0, 0, 4, 2), 0, 0, 4, 3, m3);
	const float *p3 = b3.ptr<float>();
	/* B plane, row 0: 0, 13.33, 26.67 (minus 3); row 1 (src 4/3): between
	 * image row 1 and padding row 2, weight 1/3 of the zeros. */
	CHECK(near(p3[18] * 255, -3, 1e-3) &&
	    near(p3[19] * 255, 40.0 / 3 - 3, 1e-3) &&
	    near(p3[20] * 255, 80.0 / 3 - 3, 1e-3));
	CHECK(near(p3[21] * 255, -3, 1e-3) &&
	    near(p3[22] * 255, 40.0 / 3 * 2 / 3 - 3, 1e-3));
}

/* The fused conv0 + leaky ReLU + max pool of the detector against the
 * plain formula, on both code paths, with an odd size (clipped windows). */
static void test_detector_stem()
{
	const int s = 9, p = (s - 1) / 2, c = s - 2;
	cv::RNG rng(7);
	std::vector<float> in((size_t)3 * s * s), w(27 * 16), b(16);
	for (float &v : in)
		v = (float)rng.uniform(-1.0, 1.0);
	for (float &v : w)
		v = (float)rng.uniform(-1.0, 1.0);
	for (float &v : b)
		v = (float)rng.uniform(-1.0, 1.0);
	std::vector<float> want((size_t)16 * p * p);
	for (int o = 0; o < 16; o++)
		for (int py = 0; py < p; py++)
			for (int px = 0; px < p; px++) {
				double m = -1e300;
				for (int y = 2 * py; y < std::min(2 * py + 2, c); y++)
					for (int x = 2 * px; x < std::min(2 * px + 2, c); x++) {
						double a = b[(size_t)o];
						for (int ky = 0; ky < 3; ky++)
							for (int kx = 0; kx < 3; kx++)
								for (int ci = 0; ci < 3; ci++)
									a += in[((size_t)ci * s + y + ky) * s + x + kx] *
									    w[(size_t)((ky * 3 + kx) * 3 + ci) * 16 + o];
						a = a > 0 ? a : 0.1 * a;
						m = std::max(m, a);
					}
				want[((size_t)o * p + py) * p + px] = (float)m;
			}
	for (int simd = 0; simd < 2; simd++) {
		std::vector<float> got(want.size());
		detector_stem(in.data(), s, w.data(), b.data(), got.data(), simd);
		double worst = 0;
		for (size_t i = 0; i < got.size(); i++)
			worst = std::max(worst, (double)std::fabs(got[i] - want[i]));
		CHECK(worst < 1e-5);
	}
}

static int unit_tests()
{
	char tmpl[] = "/tmp/test_nets.XXXXXX";
	const char *dir = mkdtemp(tmpl);
	if (!dir) {
		std::perror("mkdtemp");
		return 1;
	}
	try {
		test_dequantisation(dir);
		test_conv_layer();
		test_detector_stem();
	} catch (const std::exception &e) {
		std::fprintf(stderr, "exception: %s\n", e.what());
		failures++;
	}
	std::string cmd = std::string("rm -rf '") + dir + "'";
	if (std::system(cmd.c_str()) != 0)
		std::fprintf(stderr, "could not remove %s\n", dir);
	std::printf("test_nets: %s\n", failures ? "FAILED" : "all passed");
	return failures ? 1 : 0;
}

/* ---- tools for the oracle test ----------------------------------------- */

static void print_floats(const char *key, const float *v, int n)
{
	std::printf("\"%s\": [", key);
	for (int i = 0; i < n; i++)
		std::printf("%s%.9g", i ? ", " : "", v[i]);
	std::printf("]");
}

static void print_points(const char *key, const cv::Point2f *p, int n)
{
	std::printf("\"%s\": [", key);
	for (int i = 0; i < n; i++)
		std::printf("%s[%.6f, %.6f]", i ? ", " : "", p[i].x, p[i].y);
	std::printf("]");
}

static models *load_or_die(const char *dir)
{
	std::string err;
	models *m = models_load(dir, &err);
	if (!m) {
		std::fprintf(stderr, "%s\n", err.c_str());
		std::exit(1);
	}
	return m;
}

/* The models of dir and one set of nets, or exit 1 with the error. */
struct session {
	models	*m;
	nets	*n;

	explicit session(const char *dir) : m(load_or_die(dir))
	{
		std::string err;
		n = nets_new(m, &err);
		if (!n) {
			std::fprintf(stderr, "%s\n", err.c_str());
			std::exit(1);
		}
	}
	~session()
	{
		nets_free(n);
		models_free(m);
	}
};

static void print_descriptor_line(const float *d)
{
	std::printf("{");
	print_floats("descriptor", d, DESCRIPTOR_DIM);
	std::printf("}\n");
}

static cv::Mat read_image(const char *path)
{
	cv::Mat img = cv::imread(path, cv::IMREAD_COLOR);
	if (img.empty()) {
		std::fprintf(stderr, "cannot read %s\n", path);
		std::exit(1);
	}
	return img;
}

static int pipeline(int argc, char **argv)
{
	session ses(argv[2]);
	nets *n = ses.n;
	cv::Mat img = read_image(argv[3]);
	const char *chip_out = nullptr, *image_out = nullptr;
	for (int i = 4; i + 1 < argc; i += 2) {
		if (!std::strcmp(argv[i], "--chip"))
			chip_out = argv[i + 1];
		else if (!std::strcmp(argv[i], "--image"))
			image_out = argv[i + 1];
	}
	if (image_out)
		cv::imwrite(image_out, img);
	std::vector<detection> dets = nets_detect(n, img, 0.5f, 320);
	std::printf("{\"width\": %d, \"height\": %d, \"detections\": [",
	    img.cols, img.rows);
	for (size_t i = 0; i < dets.size(); i++)
		std::printf("%s{\"box\": [%.6f, %.6f, %.6f, %.6f], \"score\": %.6f}",
		    i ? ", " : "", dets[i].box.x, dets[i].box.y,
		    dets[i].box.width, dets[i].box.height, dets[i].score);
	std::printf("]");
	if (!dets.empty()) {
		std::vector<cv::Point2f> p68 = landmarks68(n, img, dets[0].box);
		cv::Point2f p5[5];
		nets_landmarks5(n, img, dets[0].box, p5);
		cv::Mat chip = nets_align(img, p5);
		float d[DESCRIPTOR_DIM];
		nets_describe(n, chip, d);
		if (chip_out)
			cv::imwrite(chip_out, chip);
		std::printf(", ");
		print_points("landmarks68", p68.data(), 68);
		std::printf(", ");
		print_points("points5", p5, 5);
		std::printf(", ");
		print_floats("descriptor", d, DESCRIPTOR_DIM);
	}
	std::printf("}\n");
	return 0;
}

/* One JSON line per image path read from stdin: the best face's
 * descriptor (null when no face is found). */
static int batch(char **argv)
{
	session ses(argv[2]);
	nets *n = ses.n;
	char line[4096];
	while (std::fgets(line, sizeof line, stdin)) {
		line[std::strcspn(line, "\n")] = 0;
		cv::Mat img = cv::imread(line, cv::IMREAD_COLOR);
		std::vector<detection> dets;
		if (!img.empty())
			dets = nets_detect(n, img, 0.5f, 320);
		if (dets.empty()) {
			std::printf("{\"descriptor\": null}\n");
			continue;
		}
		cv::Point2f p5[5];
		nets_landmarks5(n, img, dets[0].box, p5);
		float d[DESCRIPTOR_DIM];
		nets_describe(n, nets_align(img, p5), d);
		print_descriptor_line(d);
		std::fflush(stdout);
	}
	return 0;
}

static int describe(char **argv)
{
	session ses(argv[2]);
	nets *n = ses.n;
	cv::Mat chip = read_image(argv[3]);
	float d[DESCRIPTOR_DIM];
	nets_describe(n, chip, d);
	print_descriptor_line(d);
	return 0;
}

/* Threads, each with its own nets built at the same time from one set of
 * models (sharing its blobs), describe the same chip and detect on the
 * same photo: every result must be bit-identical to one thread's. */
static int threads(char **argv)
{
	session ses(argv[2]);
	cv::Mat img = read_image(argv[3]);
	std::vector<detection> d0 = nets_detect(ses.n, img, 0.5f, 320);
	if (d0.empty()) {
		std::fprintf(stderr, "no face in %s\n", argv[3]);
		return 1;
	}
	cv::Point2f p0[5];
	nets_landmarks5(ses.n, img, d0[0].box, p0);
	cv::Mat chip = nets_align(img, p0);
	float want[DESCRIPTOR_DIM];
	nets_describe(ses.n, chip, want);
	/* Boxes off the picture, empty or not finite: points, no crash. */
	const cv::Rect2f odd[] = {cv::Rect2f(-500, -500, 10, 10),
	    cv::Rect2f(1e30f, 0, 1e30f, 5), cv::Rect2f(0, 0, 0, 0),
	    cv::Rect2f(NAN, 1, 2, 3), cv::Rect2f(10, 10, INFINITY, 20)};
	for (const cv::Rect2f &b : odd) {
		cv::Point2f q[5];
		nets_landmarks5(ses.n, img, b, q);
		(void)nets_align(img, q);
	}
	const int nthreads = 3, reps = 3;
	std::vector<int> bad(nthreads, 0);
	std::vector<std::thread> pool;
	for (int t = 0; t < nthreads; t++)
		pool.emplace_back([&, t] {
			std::string err;
			nets *n = nets_new(ses.m, &err);
			if (!n) {
				bad[(size_t)t] = 1;
				return;
			}
			for (int r = 0; r < reps; r++) {
				std::vector<detection> d = nets_detect(n, img, 0.5f, 320);
				cv::Point2f p[5];
				float got[DESCRIPTOR_DIM];
				nets_landmarks5(n, img, d0[0].box, p);
				nets_describe(n, chip, got);
				if (d.size() != d0.size() || d[0].box != d0[0].box ||
				    std::memcmp(p, p0, sizeof p) != 0 ||
				    std::memcmp(got, want, sizeof got) != 0)
					bad[(size_t)t]++;
			}
			nets_free(n);
		});
	for (std::thread &t : pool)
		t.join();
	int sum = 0;
	for (int b : bad)
		sum += b;
	std::printf("%s\n", sum ? "MISMATCH" : "ok");
	return sum ? 1 : 0;
}

static double wall_ms()
{
	return std::chrono::duration<double, std::milli>(
	    std::chrono::steady_clock::now().time_since_epoch()).count();
}

static double cpu_ms()
{
	timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double ms_since(std::chrono::steady_clock::time_point t0)
{
	return std::chrono::duration<double, std::milli>(
	    std::chrono::steady_clock::now() - t0).count();
}

static double median(std::vector<double> v)
{
	std::sort(v.begin(), v.end());
	return v.empty() ? 0 : v[v.size() / 2];
}

static double minimum(const std::vector<double> &v)
{
	return v.empty() ? 0 : *std::min_element(v.begin(), v.end());
}

static void print_layer_times(const char *what, cv::dnn::Net &net)
{
	std::vector<double> t;
	double total = (double)net.getPerfProfile(t) * 1000 /
	    cv::getTickFrequency();
	std::vector<cv::String> names = net.getLayerNames();
	std::fprintf(stderr, "%s: %.2f ms\n", what, total);
	for (size_t i = 0; i < t.size() && i < names.size(); i++)
		if (t[i] * 1000 / cv::getTickFrequency() >= 0.2)
			std::fprintf(stderr, "  %-16s %.2f ms\n", names[i].c_str(),
			    t[i] * 1000 / cv::getTickFrequency());
}

static int timing(char **argv)
{
	/* One thread, as the daemon's CPU pool runs each photo. */
	cv::setNumThreads(1);
	auto t0 = std::chrono::steady_clock::now();
	models *m = load_or_die(argv[2]);
	double t_load = ms_since(t0);
	std::string err;
	t0 = std::chrono::steady_clock::now();
	nets *n = nets_new(m, &err);
	double t_new = ms_since(t0);
	if (!n) {
		std::fprintf(stderr, "%s\n", err.c_str());
		return 1;
	}
	/* The photo letterboxed into 640x480, as a camera frame. */
	cv::Mat src = read_image(argv[3]);
	double s = std::min(640.0 / src.cols, 480.0 / src.rows);
	cv::Mat scaled;
	cv::resize(src, scaled, cv::Size(), s, s, cv::INTER_LINEAR);
	cv::Mat img(480, 640, CV_8UC3, cv::Scalar(90, 90, 90));
	scaled.copyTo(img(cv::Rect((640 - scaled.cols) / 2,
	    (480 - scaled.rows) / 2, scaled.cols, scaled.rows)));
	int reps = std::max(1, std::atoi(argv[4]));
	/* Wall and this thread's CPU time per stage: on a shared machine the
	 * CPU time is the cost of the code, the wall time adds the waits. */
	const char *key[] = {"detect_320", "landmarks", "align", "describe", "total"};
	std::vector<double> wall[5], cpu[5];
	for (int i = 0; i < reps; i++) {
		double w0 = wall_ms(), c0 = cpu_ms(), w = w0, c = c0;
		auto lap = [&](int k) {
			double w1 = wall_ms(), c1 = cpu_ms();
			wall[k].push_back(w1 - w);
			cpu[k].push_back(c1 - c);
			w = w1;
			c = c1;
		};
		std::vector<detection> dets = nets_detect(n, img, 0.5f, 320);
		lap(0);
		if (dets.empty()) {
			std::fprintf(stderr, "no face found in the 640x480 frame\n");
			return 1;
		}
		cv::Point2f p5[5];
		nets_landmarks5(n, img, dets[0].box, p5);
		lap(1);
		cv::Mat chip = nets_align(img, p5);
		lap(2);
		float d[DESCRIPTOR_DIM];
		nets_describe(n, chip, d);
		lap(3);
		wall[4].push_back(w - w0);
		cpu[4].push_back(c - c0);
	}
	if (std::getenv("TEST_NETS_LAYERS")) {
		print_layer_times("detector", n->det[320]->g.net);
		print_layer_times("landmarks", n->lmk->g.net);
		print_layer_times("descriptor", n->rec->g.net);
	}
	std::printf("{\"threads\": %d, \"models_load_ms\": %.1f, "
	    "\"nets_new_ms\": %.1f", cv::getNumThreads(), t_load, t_new);
	for (int i = 0; i < 5; i++)
		std::printf(", \"%s\": {\"cpu_ms\": %.2f, \"wall_ms\": %.2f, "
		    "\"wall_min_ms\": %.2f}", key[i], median(cpu[i]),
		    median(wall[i]), minimum(wall[i]));
	std::printf("}\n");
	nets_free(n);
	models_free(m);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 1)
		return unit_tests();
	std::string cmd = argv[1];
	try {
		if (cmd == "pipeline" && argc >= 4)
			return pipeline(argc, argv);
		if (cmd == "threads" && argc == 4)
			return threads(argv);
		if (cmd == "batch" && argc == 3)
			return batch(argv);
		if (cmd == "describe" && argc == 4)
			return describe(argv);
		if (cmd == "time" && argc == 5)
			return timing(argv);
		if (cmd == "load" && argc == 3) {
			models_free(load_or_die(argv[2]));
			std::printf("ok\n");
			return 0;
		}
	} catch (const std::exception &e) {
		std::fprintf(stderr, "%s\n", e.what());
		return 1;
	}
	std::fprintf(stderr, "usage: see the comment at the top of %s\n",
	    __FILE__);
	return 2;
}
