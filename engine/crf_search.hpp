// Target quality, the search: which CRF to probe next and which to encode with, from the probes made so
// far (CRF -> pooled score of the probe sample). Pure logic: the worker measures, this decides.
//
// Scores fall as the CRF rises. The search interpolates in a domain where that fall is close to linear:
// PSNR and VMAF as they are, SSIM as -10 log10(1 - SSIM) ("SSIM dB"). Between two probes that bracket the
// target it interpolates; otherwise it extrapolates along the slope of the two probes nearest the target,
// or, with one probe, along a typical slope for x264/x265 (crf_search.cpp).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace pvt {

struct QualityProbe {
  double crf = 0;
  double score = 0;     // pooled over the probe sample's frames
  bool cached = false;  // read from the probe cache, not encoded by this run
  bool operator==(const QualityProbe&) const = default;
};

struct CrfSearch {
  std::string metric = "ssim";  // ssim, psnr or vmaf
  double target = 0;
  double crf_lo = 0, crf_hi = 51;
  int max_probes = 4;
  double tolerance = 0.002;
  double first_crf = 23;     // where the search starts
  bool whole_steps = false;  // hardware encoders take whole CRF (cq/QP) values only
  // What a final encode scores over its probes' prediction at the same CRF, in the search's domain
  // (SSIM dB, PSNR dB, VMAF points), as learned from the job's finished segments; 0: none. The probes
  // aim at the target minus it, and predict_score() adds it.
  double probe_offset = 0;
};

// The CRF predicted to reach the target, clamped to [crf_lo, crf_hi]; rounded to 0.01.
double predict_crf(const std::vector<QualityProbe>& probes, const CrfSearch& s);

// The next CRF to probe, or nullopt when the probes pin the target down (one is within half the
// tolerance, two at most 2 CRF apart bracket it, the target lies beyond the range's end that was
// probed, a new probe would land within 0.1 of an old one) or max_probes are spent.
std::optional<double> next_probe(const std::vector<QualityProbe>& probes, const CrfSearch& s);

// After final encodes (`finals`: CRF -> the whole segment's score, the last one latest): the CRF that
// moves the score onto the target. With two finals, along their own secant; with one, along the probes'
// local slope from it (the probe sample's offset from the whole segment is what the correction removes).
double corrected_crf(const std::vector<QualityProbe>& probes, const std::vector<QualityProbe>& finals,
                     const CrfSearch& s);

// The score the probes predict the final encode gets at `crf` (interpolated, or extrapolated along the
// local slope; plus the probe offset).
double predict_score(const std::vector<QualityProbe>& probes, double crf, const CrfSearch& s);

// The search's domain for a score (see above), and back.
double score_domain(const std::string& metric, double score);
double score_from_domain(const std::string& metric, double q);

// How per-frame scores become one: "mean", "p5" (the 5th percentile, the lows) or "min".
double pool_scores(std::vector<double> frames, const std::string& pool);

}  // namespace pvt
