/* src/report/svg_lesion.c: importance.svg, a hand-written SVG plot of the lesion test: for every sub-cluster
   (grouped by layer) the accuracy drop of the true lesion (red dot; filled when p_mean <= 0.05) against the
   band of its random same-size sets (grey bar min..max, tick at the mean). */
#include <math.h>
#include <stdio.h>
#include "mc/lesion.h"
#include "report_impl.h"

PetscErrorCode mc__report_importance_svg(const MCReport *run, const char *path)
{
  const MCLesionResult *r;
  FILE                 *fp;
  const double          W = 960, H = 420, ml = 70, mr = 20, mt = 40, mb = 70;
  double                ymin = 0, ymax = 0, x, step, gap = 12;
  PetscInt              n_layers_seen = 0;
  char                  buf[192];

  PetscFunctionBeginUser;
  if (!run->importance) PetscFunctionReturn(0);
  r = run->importance->net[0];
  /* Drops in percentage points of mean per-class accuracy. */
  for (PetscInt s = 0; s < r->n_sub; ++s) {
    double d = 100.0 * (double)(r->baseline_mean_acc - r->mean_acc[s]);
    if (isfinite(d)) ymax = PetscMax(ymax, d), ymin = PetscMin(ymin, d);
    for (PetscInt k = 0; k < r->n_random; ++k) {
      double e = 100.0 * (double)(r->baseline_mean_acc - r->mean_acc_random[s * r->n_random + k]);
      if (isfinite(e)) ymax = PetscMax(ymax, e), ymin = PetscMin(ymin, e);
    }
    if (s == 0 || r->group[s] != r->group[s - 1]) n_layers_seen++;
  }
  if (ymax - ymin < 1e-9) ymax = ymin + 1;
  ymax += 0.05 * (ymax - ymin);
  step = r->n_sub > 0 ? (W - ml - mr - gap * (double)PetscMax(n_layers_seen - 1, 0)) / (double)r->n_sub : 1;

  PetscCall(mc__report_fopen(path, &fp));
#define Y(v) (mt + (H - mt - mb) * (1.0 - ((v) - ymin) / (ymax - ymin)))
  fprintf(fp, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n", W, H, W, H);
  fprintf(fp, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
  fprintf(fp, "<text x=\"%.0f\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">Lesion test: accuracy drop of each sub-cluster (red) vs %" PetscInt_FMT " random same-size sets (grey)</text>\n",
          W / 2, r->n_random);
  /* Axis and grid: about 6 ticks at a round step. */
  {
    double span = ymax - ymin, t = pow(10.0, floor(log10(span / 6))), ts = t;
    if (span / t > 30) ts = 5 * t;
    else if (span / t > 12) ts = 2 * t;
    for (double v = ceil(ymin / ts) * ts; v <= ymax + 1e-12; v += ts) {
      fprintf(fp, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", ml, W - mr, Y(v), Y(v));
      fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", ml - 6, Y(v) + 4, fabs(v) < 1e-9 * ts ? 0.0 : v);
    }
    fprintf(fp, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n", ml, W - mr, Y(0.0), Y(0.0));
    fprintf(fp, "<text transform=\"translate(18 %.1f) rotate(-90)\" text-anchor=\"middle\">drop of mean per-class accuracy (points)</text>\n", (H - mb + mt) / 2);
  }
  x = ml;
  for (PetscInt s = 0; s < r->n_sub; ++s) {
    double    lo = INFINITY, hi = -INFINITY, sum = 0, cx, d;
    PetscInt  k = 0;
    PetscBool first = (s == 0 || r->group[s] != r->group[s - 1]) ? PETSC_TRUE : PETSC_FALSE;
    if (first && s > 0) x += gap;
    if (first) {
      PetscInt e = s;
      while (e < r->n_sub && r->group[e] == r->group[s]) ++e;
      {
        const char *name = mc_graph_group_name(run->graph, run->model, r->group[s], buf, sizeof(buf));
        fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", x + step * (double)(e - s) / 2, H - mb + 36, name);
      }
      fprintf(fp, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#888\"/>\n", x + 2, x + step * (double)(e - s) - 2, H - mb + 22, H - mb + 22);
    }
    cx = x + step / 2;
    for (PetscInt j = 0; j < r->n_random; ++j) {
      double e = 100.0 * (double)(r->baseline_mean_acc - r->mean_acc_random[s * r->n_random + j]);
      if (!isfinite(e)) continue;
      lo = PetscMin(lo, e);
      hi = PetscMax(hi, e);
      sum += e;
      k++;
    }
    if (k) {
      double bw = PetscMax(2.0, PetscMin(10.0, step * 0.5));
      fprintf(fp, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#bbb\"/>\n", cx - bw / 2, Y(hi), bw, PetscMax(1.0, Y(lo) - Y(hi)));
      fprintf(fp, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#555\" stroke-width=\"2\"/>\n", cx - bw / 2 - 2, cx + bw / 2 + 2, Y(sum / k), Y(sum / k));
    }
    d = 100.0 * (double)(r->baseline_mean_acc - r->mean_acc[s]);
    if (isfinite(d))
      fprintf(fp, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" stroke=\"#c00\" stroke-width=\"1.5\" fill=\"%s\"><title>cluster %" PetscInt_FMT ", %" PetscInt_FMT " units: drop %.2f, p_mean %.3g</title></circle>\n",
              cx, Y(d), r->p_mean[s] <= 0.05 ? "#c00" : "white", r->cluster[s], r->size[s], d, (double)r->p_mean[s]);
    fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"9\">%" PetscInt_FMT "</text>\n", cx, H - mb + 14, r->cluster[s]);
    x += step;
  }
  fprintf(fp, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\" font-size=\"11\">sub-clusters by layer (number = cluster); filled dot: p_mean &lt;= 0.05; baseline mean accuracy %.4f</text>\n", W / 2,
          H - 10, (double)r->baseline_mean_acc);
  fprintf(fp, "</svg>\n");
#undef Y
  PetscCall(mc__report_fclose(path, fp));
  PetscFunctionReturn(0);
}
