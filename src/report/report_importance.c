/* src/report/report_importance.c: the importance (lesion) test in summary.json, report.md and on stdout. */
#include <math.h>
#include "mc/lesion.h"
#include "mc/sys.h"
#include "report_impl.h"

#define JCHECK(expr) PetscCheck((expr), PETSC_COMM_SELF, PETSC_ERR_MEM, "cannot build summary.json (importance)")

/* Mean, min and max of the non-NaN entries of v[0..n). */
static void summarize(PetscInt n, const PetscReal v[], PetscReal *mean, PetscReal *lo, PetscReal *hi)
{
  PetscReal s = 0;
  PetscInt  k = 0;

  *lo = PETSC_MAX_REAL;
  *hi = -PETSC_MAX_REAL;
  for (PetscInt i = 0; i < n; ++i) {
    if (PetscIsNanReal(v[i])) continue;
    s += v[i];
    *lo = PetscMin(*lo, v[i]);
    *hi = PetscMax(*hi, v[i]);
    k++;
  }
  *mean = k ? s / (PetscReal)k : (PetscReal)NAN;
  if (!k) *lo = *hi = NAN;
}

static PetscErrorCode net_json(const MCRun *run, const MCLesionResult *r, PetscBool rows, cJSON *o)
{
  cJSON *list;

  PetscFunctionBeginUser;
  JCHECK(cJSON_AddItemToObject(o, "model_path", cJSON_CreateString(r->model_path)));
  JCHECK(cJSON_AddItemToObject(o, "n_subclusters", cJSON_CreateNumber(r->n_sub)));
  JCHECK(cJSON_AddItemToObject(o, "baseline_mean_acc", mc__report_json_real(r->baseline_mean_acc)));
  JCHECK(cJSON_AddItemToObject(o, "fisher_p_mean", mc__report_json_real(r->fisher_p_mean)));
  JCHECK(cJSON_AddItemToObject(o, "fisher_p_range", mc__report_json_real(r->fisher_p_range)));
  JCHECK(cJSON_AddItemToObject(o, "fisher_stat_mean", mc__report_json_real(r->fisher_stat_mean)));
  JCHECK(cJSON_AddItemToObject(o, "fisher_stat_range", mc__report_json_real(r->fisher_stat_range)));
  JCHECK(cJSON_AddItemToObject(o, "effect_mean_2e", mc__report_json_real(r->effect_mean_avg)));
  JCHECK(cJSON_AddItemToObject(o, "effect_mean_2e_sem", mc__report_json_real(r->effect_mean_sem)));
  JCHECK(cJSON_AddItemToObject(o, "effect_range_2e", mc__report_json_real(r->effect_range_avg)));
  JCHECK(cJSON_AddItemToObject(o, "effect_range_2e_sem", mc__report_json_real(r->effect_range_sem)));
  JCHECK(cJSON_AddItemToObject(o, "seconds", mc__report_json_real(r->seconds)));
  if (!rows) PetscFunctionReturn(0);
  JCHECK(list = cJSON_CreateArray());
  JCHECK(cJSON_AddItemToObject(o, "subclusters", list));
  for (PetscInt s = 0; s < r->n_sub; ++s) {
    cJSON    *e = cJSON_CreateObject();
    PetscReal mr, lo, hi, rr;
    JCHECK(e && cJSON_AddItemToArray(list, e));
    summarize(r->n_random, r->mean_acc_random + s * r->n_random, &mr, &lo, &hi);
    summarize(r->n_random, r->range_random + s * r->n_random, &rr, &lo, &hi);
    JCHECK(cJSON_AddItemToObject(e, "layer", cJSON_CreateNumber(r->layer[s])));
    JCHECK(cJSON_AddItemToObject(e, "layer_name", cJSON_CreateString(mc_model_unit_layer_name(run->model, r->layer[s]))));
    JCHECK(cJSON_AddItemToObject(e, "cluster", cJSON_CreateNumber(r->cluster[s])));
    JCHECK(cJSON_AddItemToObject(e, "size", cJSON_CreateNumber(r->size[s])));
    JCHECK(cJSON_AddItemToObject(e, "mean_acc", mc__report_json_real(r->mean_acc[s])));
    JCHECK(cJSON_AddItemToObject(e, "mean_acc_random_mean", mc__report_json_real(mr)));
    JCHECK(cJSON_AddItemToObject(e, "p_mean", mc__report_json_real(r->p_mean[s])));
    JCHECK(cJSON_AddItemToObject(e, "effect_mean", mc__report_json_real(r->effect_mean[s])));
    JCHECK(cJSON_AddItemToObject(e, "range", mc__report_json_real(r->range[s])));
    JCHECK(cJSON_AddItemToObject(e, "range_random_mean", mc__report_json_real(rr)));
    JCHECK(cJSON_AddItemToObject(e, "p_range", mc__report_json_real(r->p_range[s])));
    JCHECK(cJSON_AddItemToObject(e, "effect_range", mc__report_json_real(r->effect_range[s])));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode mc__report_importance_json(const MCRun *run, cJSON *root)
{
  const MCImportance *imp = run->importance;
  cJSON              *o, *comb, *bh;

  PetscFunctionBeginUser;
  if (!imp) PetscFunctionReturn(0);
  JCHECK(o = cJSON_CreateObject());
  JCHECK(cJSON_AddItemToObject(root, "importance", o));
  JCHECK(cJSON_AddItemToObject(o, "lesion", cJSON_CreateString(imp->lesion)));
  JCHECK(cJSON_AddItemToObject(o, "n_random", cJSON_CreateNumber(imp->net[0]->n_random)));
  JCHECK(cJSON_AddItemToObject(o, "n_test", cJSON_CreateNumber(imp->net[0]->n_test)));
  PetscCall(net_json(run, imp->net[0], PETSC_TRUE, o));
  JCHECK(comb = cJSON_CreateObject());
  JCHECK(cJSON_AddItemToObject(o, "combined", comb));
  JCHECK(cJSON_AddItemToObject(comb, "n_networks", cJSON_CreateNumber(imp->n_nets)));
  JCHECK(cJSON_AddItemToObject(comb, "method", cJSON_CreateString(imp->n_nets > 1 ? "bates" : "fisher")));
  JCHECK(cJSON_AddItemToObject(comb, "p_mean", mc__report_json_real(imp->p_mean)));
  JCHECK(cJSON_AddItemToObject(comb, "p_range", mc__report_json_real(imp->p_range)));
  JCHECK(cJSON_AddItemToObject(comb, "fisher_stat_mean", mc__report_json_real(imp->fisher_stat_mean)));
  JCHECK(cJSON_AddItemToObject(comb, "fisher_stat_range", mc__report_json_real(imp->fisher_stat_range)));
  if (imp->n_nets > 1) {
    cJSON *reps;
    JCHECK(reps = cJSON_CreateArray());
    JCHECK(cJSON_AddItemToObject(comb, "networks", reps));
    for (PetscInt i = 0; i < imp->n_nets; ++i) {
      cJSON *e;
      JCHECK(e = cJSON_CreateObject());
      JCHECK(cJSON_AddItemToArray(reps, e));
      PetscCall(net_json(run, imp->net[i], PETSC_FALSE, e));
    }
  }
  JCHECK(bh = cJSON_CreateObject());
  JCHECK(cJSON_AddItemToObject(o, "benjamini_hochberg", bh));
  JCHECK(cJSON_AddItemToObject(bh, "q", mc__report_json_real(imp->fdr_q)));
  JCHECK(cJSON_AddItemToObject(bh, "threshold", mc__report_json_real(imp->bh_threshold)));
  JCHECK(cJSON_AddItemToObject(bh, "reject_mean", cJSON_CreateBool(imp->bh_reject_mean)));
  JCHECK(cJSON_AddItemToObject(bh, "reject_range", cJSON_CreateBool(imp->bh_reject_range)));
  JCHECK(cJSON_AddItemToObject(bh, "qval_mean", mc__report_json_real(imp->bh_qval_mean)));
  JCHECK(cJSON_AddItemToObject(bh, "qval_range", mc__report_json_real(imp->bh_qval_range)));
  if (imp->control) {
    cJSON *c;
    JCHECK(c = cJSON_CreateObject());
    JCHECK(cJSON_AddItemToObject(o, "control_random_partition", c));
    PetscCall(net_json(run, imp->control, PETSC_TRUE, c));
  }
  PetscFunctionReturn(0);
}

static void fmt_p(char *buf, size_t n, PetscReal p)
{
  if (PetscIsNanReal(p)) snprintf(buf, n, "n/a");
  else if (p < 1e-3) snprintf(buf, n, "%.2e", (double)p);
  else snprintf(buf, n, "%.3f", (double)p);
}

static void net_summary_md(FILE *fp, const char *what, const MCLesionResult *r)
{
  char pm[32], pr[32];

  fmt_p(pm, sizeof(pm), r->fisher_p_mean);
  fmt_p(pr, sizeof(pr), r->fisher_p_range);
  fprintf(fp, "| %s | %" PetscInt_FMT " | %.4f | %s | %.3f | %.2f ± %.2f | %s | %.3f | %.2f ± %.2f |\n", what, r->n_sub, (double)r->baseline_mean_acc, pm,
          (double)r->fisher_stat_mean, (double)r->effect_mean_avg, (double)r->effect_mean_sem, pr, (double)r->fisher_stat_range, (double)r->effect_range_avg,
          (double)r->effect_range_sem);
}

PetscErrorCode mc__report_importance_markdown(const MCRun *run, FILE *fp)
{
  const MCImportance   *imp = run->importance;
  const MCLesionResult *r;
  char                  a[32], b[32];

  PetscFunctionBeginUser;
  if (!imp) PetscFunctionReturn(0);
  r = imp->net[0];
  fprintf(fp, "\n## Importance (lesion test)\n\n");
  fprintf(fp, "Each sub-cluster (the units of one cluster in one hidden layer, %" PetscInt_FMT " of them) was silenced (`lesion = %s`) and the %" PetscInt_FMT
              " test examples classified again; the same was done for %" PetscInt_FMT " random sets of the same size and layer. ",
          r->n_sub, imp->lesion, r->n_test, r->n_random);
  fprintf(fp, "**mean** is the mean per-class accuracy after the lesion (baseline without lesion: **%.4f**); p_mean is small when the sub-cluster hurts "
              "more than random sets. **range** measures how unevenly the classes suffer ((max - min class drop) / |mean drop|); p_range is small when "
              "the damage is more class-specific than for random sets. 2e = 1 means like random (mean: > 1 hurts more; range: > 1 more specific).\n\n",
          (double)r->baseline_mean_acc);
  fmt_p(a, sizeof(a), imp->p_mean);
  fmt_p(b, sizeof(b), imp->p_range);
  fprintf(fp, "Combined over the sub-clusters (shifted Fisher%s): **p_mean = %s**, **p_range = %s**. ", imp->n_nets > 1 ? ", then Bates across the networks" : "", a, b);
  fprintf(fp, "Benjamini-Hochberg at q = %g over these two tests: the mean test is %s, the range test is %s.\n\n", (double)imp->fdr_q,
          imp->bh_reject_mean ? "**significant**" : "not significant", imp->bh_reject_range ? "**significant**" : "not significant");
  fprintf(fp, "| network | sub-clusters | baseline | Fisher p_mean | Fisher stat | 2e mean ± SEM | Fisher p_range | Fisher stat | 2e range ± SEM |\n");
  fprintf(fp, "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (PetscInt i = 0; i < imp->n_nets; ++i) {
    char what[PETSC_MAX_PATH_LEN + 32];
    snprintf(what, sizeof(what), "%s`%s`", i == 0 ? "" : "replicate: ", imp->net[i]->model_path);
    net_summary_md(fp, what, imp->net[i]);
  }
  if (imp->control) net_summary_md(fp, "control: random partition, same sizes", imp->control);
  fprintf(fp, "\n![true accuracy drops against random sets](importance.svg)\n\n");
  fprintf(fp, "| layer | cluster | size | mean acc | drop | random drop: mean [min, max] | p_mean | 2e mean | range | random range: mean | p_range | 2e range |\n");
  fprintf(fp, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (PetscInt s = 0; s < r->n_sub; ++s) {
    PetscReal mr, lo, hi, rr, l2, h2;
    summarize(r->n_random, r->mean_acc_random + s * r->n_random, &mr, &lo, &hi);
    summarize(r->n_random, r->range_random + s * r->n_random, &rr, &l2, &h2);
    fmt_p(a, sizeof(a), r->p_mean[s]);
    fmt_p(b, sizeof(b), r->p_range[s]);
    fprintf(fp, "| %s | %" PetscInt_FMT " | %" PetscInt_FMT " | %.4f | %.4f | %.4f [%.4f, %.4f] | %s | %.2f | %.3g | %.3g | %s | %.2f |\n", mc_model_unit_layer_name(run->model, r->layer[s]),
            r->cluster[s], r->size[s], (double)r->mean_acc[s], (double)(r->baseline_mean_acc - r->mean_acc[s]), (double)(r->baseline_mean_acc - mr),
            (double)(r->baseline_mean_acc - hi), (double)(r->baseline_mean_acc - lo), a, (double)(2 * r->effect_mean[s]), (double)r->range[s], (double)rr, b,
            (double)(2 * r->effect_range[s]));
  }
  fprintf(fp, "\nEvery draw is in `results.h5` (`/importance/mean_acc_random`, `/importance/range_random`).\n");
  PetscFunctionReturn(0);
}

PetscErrorCode mc__report_importance_print(MPI_Comm comm, const MCRun *run)
{
  const MCImportance *imp = run->importance;
  char                a[32], b[32];

  PetscFunctionBeginUser;
  if (!imp) PetscFunctionReturn(0);
  fmt_p(a, sizeof(a), imp->p_mean);
  fmt_p(b, sizeof(b), imp->p_range);
  PetscCall(PetscPrintf(comm, "  importance %" PetscInt_FMT " sub-clusters x %" PetscInt_FMT " random sets, baseline acc %.4f: p_mean %s%s, p_range %s%s (%s, %" PetscInt_FMT " network%s) in %.1f s\n",
                        imp->net[0]->n_sub, imp->net[0]->n_random, (double)imp->net[0]->baseline_mean_acc, a, imp->bh_reject_mean ? " *" : "", b,
                        imp->bh_reject_range ? " *" : "", imp->n_nets > 1 ? "Bates" : "Fisher", imp->n_nets, imp->n_nets > 1 ? "s" : "", (double)imp->net[0]->seconds));
  PetscFunctionReturn(0);
}
