/* src/report/svg.c: hand-written SVG plots (no plotting library): the histogram of the shuffled n-cuts
   with the true n-cut marked. */
#include <math.h>
#include <stdio.h>
#include "mc/null.h"
#include "report_impl.h"

#define SVG_W 640.0
#define SVG_H 360.0
#define SVG_L 60.0  /* plot area margins */
#define SVG_R 20.0
#define SVG_T 40.0
#define SVG_B 50.0

static double x_of(double v, double lo, double hi)
{
  return SVG_L + (v - lo) / (hi - lo) * (SVG_W - SVG_L - SVG_R);
}

PetscErrorCode mc__report_write_null_svg(const MCNull *nul, const char *path)
{
  enum { NBINS = 15 };
  PetscInt count[NBINS] = {0}, cmax = 1, n = nul->n_shuffles, n_fin = 0;
  double   slo = INFINITY, shi = -INFINITY, lo, hi, bw, ph = SVG_H - SVG_T - SVG_B, xt;
  FILE    *fp;

  PetscFunctionBeginUser;
  /* Bins span the shuffled values; the axis also reaches the true value, which may lie far outside. */
  for (PetscInt i = 0; i < n; ++i) {
    double v = (double)nul->ncut_shuffled[i];
    if (!isfinite(v)) continue;
    slo = fmin(slo, v);
    shi = fmax(shi, v);
    n_fin++;
  }
  if (n_fin == 0) slo = shi = (double)nul->ncut_true;
  if (!(shi > slo)) {
    double w = fmax(fabs(shi) * 0.01, 1e-3);
    slo -= w;
    shi += w;
  }
  bw = (shi - slo) / NBINS;
  lo = fmin(slo, (double)nul->ncut_true);
  hi = fmax(shi, (double)nul->ncut_true);
  {
    double pad = (hi - lo) * 0.04;
    lo -= pad;
    hi += pad;
  }
  for (PetscInt i = 0; i < n; ++i) {
    double v = (double)nul->ncut_shuffled[i];
    int    b;
    if (!isfinite(v)) continue;
    b = (int)floor((v - slo) / bw);
    if (b < 0) b = 0;
    if (b >= NBINS) b = NBINS - 1;
    count[b]++;
  }
  for (int b = 0; b < NBINS; ++b) cmax = PetscMax(cmax, count[b]);

  PetscCall(mc__report_fopen(path, &fp));
  fprintf(fp, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n",
          SVG_W, SVG_H, SVG_W, SVG_H);
  fprintf(fp, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
  fprintf(fp, "<text x=\"%.1f\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">n-cut of %" PetscInt_FMT " shuffled networks (%s) and the true network: p = %.4g, z = %.3g</text>\n",
          SVG_W / 2, n, mc_shuffle_kind_name(nul->shuffle), (double)nul->p_value, (double)nul->z_score);
  for (int b = 0; b < NBINS; ++b) {
    double x0 = x_of(slo + b * bw, lo, hi), x1 = x_of(slo + (b + 1) * bw, lo, hi), h = ph * (double)count[b] / (double)cmax;
    if (count[b] == 0) continue;
    fprintf(fp, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"#7a9cc6\" stroke=\"#3b5b85\"><title>%" PetscInt_FMT " shuffles in [%.5g, %.5g)</title></rect>\n",
            x0, SVG_T + ph - h, x1 - x0, h, count[b], slo + b * bw, slo + (b + 1) * bw);
  }
  /* Axes with five ticks each way. */
  fprintf(fp, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n", SVG_L, SVG_T + ph, SVG_W - SVG_R, SVG_T + ph);
  fprintf(fp, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n", SVG_L, SVG_T, SVG_L, SVG_T + ph);
  for (int i = 0; i <= 4; ++i) {
    double v = lo + (hi - lo) * i / 4.0, x = x_of(v, lo, hi), c = cmax * i / 4.0, y = SVG_T + ph - ph * i / 4.0;
    fprintf(fp, "<line x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" y2=\"%.1f\" stroke=\"black\"/>", x, SVG_T + ph, x, SVG_T + ph + 5);
    fprintf(fp, "<text x=\"%.2f\" y=\"%.1f\" text-anchor=\"middle\">%.4g</text>\n", x, SVG_T + ph + 18, v);
    fprintf(fp, "<line x1=\"%.1f\" y1=\"%.2f\" x2=\"%.1f\" y2=\"%.2f\" stroke=\"black\"/>", SVG_L - 5, y, SVG_L, y);
    fprintf(fp, "<text x=\"%.1f\" y=\"%.2f\" text-anchor=\"end\">%.3g</text>\n", SVG_L - 8, y + 4, c);
  }
  fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">n-cut (lower = more clusterable)</text>\n", (SVG_L + SVG_W - SVG_R) / 2, SVG_H - 10);
  fprintf(fp, "<text x=\"15\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 15 %.1f)\">shuffles</text>\n", SVG_T + ph / 2, SVG_T + ph / 2);
  /* The true value. */
  xt = x_of((double)nul->ncut_true, lo, hi);
  fprintf(fp, "<line x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" y2=\"%.1f\" stroke=\"#c0392b\" stroke-width=\"2.5\"/>\n", xt, SVG_T - 4, xt, SVG_T + ph);
  fprintf(fp, "<text x=\"%.2f\" y=\"%.1f\" fill=\"#c0392b\" text-anchor=\"%s\">true %.5g</text>\n", xt + (xt < SVG_W / 2 ? 4 : -4), SVG_T + 10,
          xt < SVG_W / 2 ? "start" : "end", (double)nul->ncut_true);
  fprintf(fp, "</svg>\n");
  PetscCall(mc__report_fclose(path, fp));
  PetscFunctionReturn(0);
}
