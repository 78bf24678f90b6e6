/* src/report/report_importance.c: the importance (lesion) test in summary.json, report.md and on stdout. */
#include <math.h>
#include "mc/lesion.h"
#include "mc/sys.h"
#include "report_impl.h"

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

static PetscErrorCode net_json(const MCReport *run, const MCLesionResult *r, PetscBool rows, cJSON *o)
{
  cJSON *list;
  char   name[192];

  PetscFunctionBeginUser;
  PetscCall(mc__report_json_add(o, "model_path", cJSON_CreateString(r->model_path)));
  PetscCall(mc__report_json_add(o, "n_subclusters", cJSON_CreateNumber(r->n_sub)));
  PetscCall(mc__report_json_add(o, "baseline_mean_acc", mc__report_json_real(r->baseline_mean_acc)));
  PetscCall(mc__report_json_add(o, "fisher_p_mean", mc__report_json_real(r->fisher_p_mean)));
  PetscCall(mc__report_json_add(o, "fisher_p_range", mc__report_json_real(r->fisher_p_range)));
  PetscCall(mc__report_json_add(o, "fisher_stat_mean", mc__report_json_real(r->fisher_stat_mean)));
  PetscCall(mc__report_json_add(o, "fisher_stat_range", mc__report_json_real(r->fisher_stat_range)));
  PetscCall(mc__report_json_add(o, "effect_mean_2e", mc__report_json_real(r->effect_mean_avg)));
  PetscCall(mc__report_json_add(o, "effect_mean_2e_sem", mc__report_json_real(r->effect_mean_sem)));
  PetscCall(mc__report_json_add(o, "effect_range_2e", mc__report_json_real(r->effect_range_avg)));
  PetscCall(mc__report_json_add(o, "effect_range_2e_sem", mc__report_json_real(r->effect_range_sem)));
  PetscCall(mc__report_json_add(o, "seconds", mc__report_json_real(r->seconds)));
  PetscCall(mc__report_json_add(o, "n_resumed", cJSON_CreateNumber((double)r->n_resumed)));
  if (!rows) PetscFunctionReturn(0);
  PetscCall(mc__report_json_add(o, "subclusters", list = cJSON_CreateArray()));
  for (PetscInt s = 0; s < r->n_sub; ++s) {
    cJSON    *e = cJSON_CreateObject();
    PetscReal mr, lo, hi, rr;
    PetscCall(mc__report_json_push(list, e));
    summarize(r->n_random, r->mean_acc_random + s * r->n_random, &mr, &lo, &hi);
    summarize(r->n_random, r->range_random + s * r->n_random, &rr, &lo, &hi);
    PetscCall(mc__report_json_add(e, "layer", cJSON_CreateNumber(r->layer[s])));
    PetscCall(mc__report_json_add(e, "layer_name", cJSON_CreateString(mc_graph_group_name(run->graph, run->model, r->group[s], name, sizeof(name)))));
    PetscCall(mc__report_json_add(e, "cluster", cJSON_CreateNumber(r->cluster[s])));
    PetscCall(mc__report_json_add(e, "size", cJSON_CreateNumber(r->size[s])));
    PetscCall(mc__report_json_add(e, "mean_acc", mc__report_json_real(r->mean_acc[s])));
    PetscCall(mc__report_json_add(e, "mean_acc_random_mean", mc__report_json_real(mr)));
    PetscCall(mc__report_json_add(e, "p_mean", mc__report_json_real(r->p_mean[s])));
    PetscCall(mc__report_json_add(e, "effect_mean", mc__report_json_real(r->effect_mean[s])));
    PetscCall(mc__report_json_add(e, "range", mc__report_json_real(r->range[s])));
    PetscCall(mc__report_json_add(e, "range_random_mean", mc__report_json_real(rr)));
    PetscCall(mc__report_json_add(e, "p_range", mc__report_json_real(r->p_range[s])));
    PetscCall(mc__report_json_add(e, "effect_range", mc__report_json_real(r->effect_range[s])));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode mc__report_importance_json(const MCReport *run, cJSON *root)
{
  const MCImportance *imp = run->importance;
  cJSON              *o, *comb, *bh;

  PetscFunctionBeginUser;
  if (!imp) PetscFunctionReturn(0);
  PetscCall(mc__report_json_add(root, "importance", o = cJSON_CreateObject()));
  PetscCall(mc__report_json_add(o, "lesion", cJSON_CreateString(mc_forward_lesion_mode_name(imp->lesion))));
  PetscCall(mc__report_json_add(o, "n_random", cJSON_CreateNumber(imp->net[0]->n_random)));
  PetscCall(mc__report_json_add(o, "n_test", cJSON_CreateNumber(imp->net[0]->n_test)));
  PetscCall(net_json(run, imp->net[0], PETSC_TRUE, o));
  PetscCall(mc__report_json_add(o, "combined", comb = cJSON_CreateObject()));
  PetscCall(mc__report_json_add(comb, "n_networks", cJSON_CreateNumber(imp->n_nets)));
  PetscCall(mc__report_json_add(comb, "method", cJSON_CreateString(imp->n_nets > 1 ? "bates" : "fisher")));
  PetscCall(mc__report_json_add(comb, "p_mean", mc__report_json_real(imp->p_mean)));
  PetscCall(mc__report_json_add(comb, "p_range", mc__report_json_real(imp->p_range)));
  PetscCall(mc__report_json_add(comb, "fisher_stat_mean", mc__report_json_real(imp->fisher_stat_mean)));
  PetscCall(mc__report_json_add(comb, "fisher_stat_range", mc__report_json_real(imp->fisher_stat_range)));
  if (imp->n_nets > 1) {
    cJSON *reps;
    PetscCall(mc__report_json_add(comb, "networks", reps = cJSON_CreateArray()));
    for (PetscInt i = 0; i < imp->n_nets; ++i) {
      cJSON *e;
      PetscCall(mc__report_json_push(reps, e = cJSON_CreateObject()));
      PetscCall(net_json(run, imp->net[i], PETSC_FALSE, e));
    }
  }
  PetscCall(mc__report_json_add(o, "benjamini_hochberg", bh = cJSON_CreateObject()));
  PetscCall(mc__report_json_add(bh, "q", mc__report_json_real(imp->fdr_q)));
  PetscCall(mc__report_json_add(bh, "threshold", mc__report_json_real(imp->bh_threshold)));
  PetscCall(mc__report_json_add(bh, "reject_mean", cJSON_CreateBool(imp->bh_reject_mean)));
  PetscCall(mc__report_json_add(bh, "reject_range", cJSON_CreateBool(imp->bh_reject_range)));
  PetscCall(mc__report_json_add(bh, "qval_mean", mc__report_json_real(imp->bh_qval_mean)));
  PetscCall(mc__report_json_add(bh, "qval_range", mc__report_json_real(imp->bh_qval_range)));
  if (imp->control) {
    cJSON *c;
    PetscCall(mc__report_json_add(o, "control_random_partition", c = cJSON_CreateObject()));
    PetscCall(net_json(run, imp->control, PETSC_TRUE, c));
  }
  PetscFunctionReturn(0);
}

void mc__report_fmt_p(char *buf, size_t n, PetscReal p)
{
  if (PetscIsNanReal(p)) snprintf(buf, n, "n/a");
  else if (p < 1e-3) snprintf(buf, n, "%.2e", (double)p);
  else snprintf(buf, n, "%.3f", (double)p);
}

static void net_summary_md(FILE *fp, const char *what, const MCLesionResult *r)
{
  char pm[32], pr[32];

  mc__report_fmt_p(pm, sizeof(pm), r->fisher_p_mean);
  mc__report_fmt_p(pr, sizeof(pr), r->fisher_p_range);
  fprintf(fp, "| %s | %" PetscInt_FMT " | %.4f | %s | %.3f | %.2f ± %.2f | %s | %.3f | %.2f ± %.2f |\n", what, r->n_sub, (double)r->baseline_mean_acc, pm,
          (double)r->fisher_stat_mean, (double)r->effect_mean_avg, (double)r->effect_mean_sem, pr, (double)r->fisher_stat_range, (double)r->effect_range_avg,
          (double)r->effect_range_sem);
}

PetscErrorCode mc__report_importance_markdown(const MCReport *run, FILE *fp)
{
  const MCImportance   *imp = run->importance;
  const MCLesionResult *r;
  char                  a[32], b[32], name[192];

  PetscFunctionBeginUser;
  if (!imp) PetscFunctionReturn(0);
  r = imp->net[0];
  fprintf(fp, "\n## Importance (lesion test)\n\n");
  fprintf(fp, "Each sub-cluster (the units of one cluster in one hidden layer, %" PetscInt_FMT " of them) was silenced (`lesion = %s`) and the %" PetscInt_FMT
              " test examples classified again; the same was done for %" PetscInt_FMT " random sets of the same size and layer. ",
          r->n_sub, mc_forward_lesion_mode_name(imp->lesion), r->n_test, r->n_random);
  fprintf(fp, "**mean** is the mean per-class accuracy after the lesion (baseline without lesion: **%.4f**); p_mean is small when the sub-cluster hurts "
              "more than random sets. **range** measures how unevenly the classes suffer ((max - min class drop) / |mean drop|); p_range is small when "
              "the damage is more class-specific than for random sets. 2e = 1 means like random (mean: > 1 hurts more; range: > 1 more specific).\n\n",
          (double)r->baseline_mean_acc);
  mc__report_fmt_p(a, sizeof(a), imp->p_mean);
  mc__report_fmt_p(b, sizeof(b), imp->p_range);
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
  {
    PetscInt n_res = imp->control ? imp->control->n_resumed : 0;

    for (PetscInt i = 0; i < imp->n_nets; ++i) n_res += imp->net[i]->n_resumed;
    if (n_res > 0) fprintf(fp, "\n%" PetscInt_FMT " lesion tasks were resumed from a checkpoint of an interrupted run.\n", n_res);
  }
  fprintf(fp, "\n![true accuracy drops against random sets](importance.svg)\n\n");
  fprintf(fp, "| layer | cluster | size | mean acc | drop | random drop: mean [min, max] | p_mean | 2e mean | range | random range: mean | p_range | 2e range |\n");
  fprintf(fp, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (PetscInt s = 0; s < r->n_sub; ++s) {
    PetscReal mr, lo, hi, rr, l2, h2;
    summarize(r->n_random, r->mean_acc_random + s * r->n_random, &mr, &lo, &hi);
    summarize(r->n_random, r->range_random + s * r->n_random, &rr, &l2, &h2);
    mc__report_fmt_p(a, sizeof(a), r->p_mean[s]);
    mc__report_fmt_p(b, sizeof(b), r->p_range[s]);
    fprintf(fp, "| %s | %" PetscInt_FMT " | %" PetscInt_FMT " | %.4f | %.4f | %.4f [%.4f, %.4f] | %s | %.2f | %.3g | %.3g | %s | %.2f |\n", mc_graph_group_name(run->graph, run->model, r->group[s], name, sizeof(name)),
            r->cluster[s], r->size[s], (double)r->mean_acc[s], (double)(r->baseline_mean_acc - r->mean_acc[s]), (double)(r->baseline_mean_acc - mr),
            (double)(r->baseline_mean_acc - hi), (double)(r->baseline_mean_acc - lo), a, (double)(2 * r->effect_mean[s]), (double)r->range[s], (double)rr, b,
            (double)(2 * r->effect_range[s]));
  }
  fprintf(fp, "\nEvery draw is in `results.h5` (`/importance/mean_acc_random`, `/importance/range_random`).\n");
  PetscFunctionReturn(0);
}

PetscErrorCode mc__report_importance_print(MPI_Comm comm, const MCReport *run)
{
  const MCImportance *imp = run->importance;
  char                a[32], b[32];

  PetscFunctionBeginUser;
  if (!imp) PetscFunctionReturn(0);
  mc__report_fmt_p(a, sizeof(a), imp->p_mean);
  mc__report_fmt_p(b, sizeof(b), imp->p_range);
  PetscCall(PetscPrintf(comm, "  importance %" PetscInt_FMT " sub-clusters x %" PetscInt_FMT " random sets, baseline acc %.4f: p_mean %s%s, p_range %s%s (%s, %" PetscInt_FMT " network%s) in %.1f s\n",
                        imp->net[0]->n_sub, imp->net[0]->n_random, (double)imp->net[0]->baseline_mean_acc, a, imp->bh_reject_mean ? " *" : "", b,
                        imp->bh_reject_range ? " *" : "", imp->n_nets > 1 ? "Bates" : "Fisher", imp->n_nets, imp->n_nets > 1 ? "s" : "", (double)imp->net[0]->seconds));
  PetscFunctionReturn(0);
}
