/* src/lesion/lesion.c: the lesion test of one network under one partition (docs/importance.md): random
   same-size sets, (sub-cluster, draw) tasks farmed over the ranks, per-class accuracies, p-values, effects. */
#include <math.h>
#include "mc/lesion.h"
#include "mc/farm.h"
#include "mc/io.h"
#include "mc/sys.h"

/* Examples per engine in cached mode when [importance] batch = 0. */
#define MC_LESION_SLICE 1000

typedef struct {
  const MCModel       *model;
  const MCDataset     *data;
  const MCSubclusters *sc;
  MCLesionMode         mode;
  PetscInt             n_random;
  PetscInt            *rand_unit; /* n_random x sc->offset[n]: draw d's set of sub-cluster s at d * total + offset[s] */
  PetscInt            *restart;   /* per sub-cluster: first model layer its lesion changes */
  MCForward          **f;           /* n_eng engines; cached mode: engine e holds examples [e batch, (e+1) batch) */
  PetscInt             n_eng, batch, in_size;
  PetscBool            cached;      /* every engine keeps its clean pass (restart from the lesion's layer) */
  PetscBool            clean_ready; /* the clean passes have been run */
  PetscInt            *pred;
  MCCheckpoint        *ck;          /* NULL when checkpointing is off */
} Ctx;

void mc_lesion_class_stats(PetscInt n_classes, const PetscReal a[], const PetscReal a0[], PetscReal *mean, PetscReal *range)
{
  PetscReal s = 0, sd = 0, lo = PETSC_MAX_REAL, hi = -PETSC_MAX_REAL, dbar;
  PetscInt  n = 0;

  for (PetscInt c = 0; c < n_classes; ++c) {
    PetscReal d;
    if (PetscIsNanReal(a[c]) || PetscIsNanReal(a0[c])) continue;
    d = a[c] - a0[c];
    s += a[c];
    sd += d;
    lo = PetscMin(lo, d);
    hi = PetscMax(hi, d);
    n++;
  }
  if (n == 0) {
    *mean = *range = NAN;
    return;
  }
  *mean = s / (PetscReal)n;
  dbar  = sd / (PetscReal)n;
  /* Class changes that cancel exactly leave rounding noise in the mean change: treat that as 0. */
  *range = PetscAbsReal(dbar) <= 1e-12 * PetscMax(1.0, PetscMax(PetscAbsReal(lo), PetscAbsReal(hi))) ? (PetscReal)NAN : (hi - lo) / PetscAbsReal(dbar);
}

/* Floating-point operations of one example through model layer i (multiply-add = 2). */
static PetscReal layer_flops(const MCLayer *L)
{
  PetscReal out = (PetscReal)(L->out_shape[0] * L->out_shape[1] * L->out_shape[2]);
  if (L->type == MC_LAYER_DENSE) return 2.0 * (PetscReal)L->n_in * (PetscReal)L->n_out;
  if (L->type == MC_LAYER_CONV2D) return 2.0 * (PetscReal)(L->kh * L->kw * L->n_in) * out;
  return out;
}

/* The model layer a lesion of unit layer u starts to change: the layer itself (incoming, u >= 1) or the
   next weight layer that consumes it (outgoing). */
static PetscInt restart_layer(const MCModel *m, const PetscInt widx[], PetscInt n_w, PetscInt u, MCLesionMode mode)
{
  PetscInt l = u == 0 ? -1 : widx[u - 1];
  if (mode == MC_LESION_INCOMING && u >= 1) return l;
  for (PetscInt w = 0; w < n_w; ++w)
    if (widx[w] > l) return widx[w];
  return m->n_layers;
}

/* Add the predictions of the engine's last run of n examples with labels y to correct[]. */
static PetscErrorCode count_correct(Ctx *c, MCForward *f, PetscInt n, const PetscInt y[], PetscReal correct[])
{
  PetscFunctionBeginUser;
  PetscCall(mc_forward_predict(f, c->pred));
  for (PetscInt r = 0; r < n; ++r)
    if (c->pred[r] == y[r]) correct[y[r]] += 1;
  PetscFunctionReturn(0);
}

/* Silence units[0..n) of sub-cluster s's group on engine f: its consumer's input slice (a branched network's
   weight graph) or the units of its unit layer. */
static PetscErrorCode lesion_set(Ctx *c, MCForward *f, PetscInt s, PetscInt n, const PetscInt units[])
{
  const MCSubclusters *sc = c->sc;

  PetscFunctionBeginUser;
  if (sc->site[s] >= 0) PetscCall(mc_forward_lesion_set_input(f, sc->site[s], sc->width[s], n, units, NULL));
  else PetscCall(mc_forward_lesion_set(f, sc->layer[s], n, units, c->mode, NULL));
  PetscFunctionReturn(0);
}

/* Per-class correct counts of the whole test set with units[0..n_units) of sub-cluster s's group lesioned
   (n_units = 0: no lesion). In cached mode every engine keeps the clean pass of its slice of the test set and a lesion
   recomputes only from its restart layer (slices of about a thousand examples keep each layer's activations in
   cache between the GEMM and the element-wise kernels); otherwise every batch is a full (lesioned) pass. */
static PetscErrorCode evaluate(Ctx *c, PetscInt s, PetscInt n_units, const PetscInt units[], PetscReal correct[])
{
  const MCDataset *d = c->data;

  PetscFunctionBeginUser;
  PetscCall(PetscArrayzero(correct, d->n_classes));
  if (c->cached) {
    for (PetscInt e = 0; e < c->n_eng; ++e) {
      PetscInt b = e * c->batch, nb = PetscMin(c->batch, d->n - b);
      if (!c->clean_ready) PetscCall(mc_forward_run(c->f[e], nb, d->x + b * c->in_size, 0));
      if (n_units) PetscCall(lesion_set(c, c->f[e], s, n_units, units));
      PetscCall(mc_forward_run(c->f[e], nb, NULL, MC_FORWARD_RESUME));
      PetscCall(count_correct(c, c->f[e], nb, d->y + b, correct));
      if (n_units) PetscCall(mc_forward_lesion_clear(c->f[e], NULL));
    }
    c->clean_ready = PETSC_TRUE;
  } else {
    if (n_units) PetscCall(lesion_set(c, c->f[0], s, n_units, units));
    for (PetscInt b = 0; b < d->n; b += c->batch) {
      PetscInt nb = PetscMin(c->batch, d->n - b);
      PetscCall(mc_forward_run(c->f[0], nb, d->x + b * c->in_size, 0));
      PetscCall(count_correct(c, c->f[0], nb, d->y + b, correct));
    }
    if (n_units) PetscCall(mc_forward_lesion_clear(c->f[0], NULL));
  }
  PetscFunctionReturn(0);
}

/* Farm task t = s * (n_random + 1) + (draw + 1): sub-cluster s itself (draw -1) or its random set of draw d. */
static PetscErrorCode lesion_task(void *ctx, MPI_Comm comm, PetscInt t, PetscReal result[])
{
  Ctx                 *c  = (Ctx *)ctx;
  const MCSubclusters *sc = c->sc;
  PetscInt             s = t / (c->n_random + 1), d = t % (c->n_random + 1) - 1;
  PetscInt             n = sc->offset[s + 1] - sc->offset[s];
  const PetscInt      *units;

  PetscFunctionBeginUser;
  units = d < 0 ? sc->unit + sc->offset[s] : c->rand_unit + d * sc->offset[sc->n] + sc->offset[s];
  PetscCall(evaluate(c, s, n, units, result));
  result[c->data->n_classes] = 1; /* done: a stopped farm leaves the slots of tasks it never ran at zero */
  PetscFunctionReturn(0);
}

/* Called on the rank that ran task t: append it to this rank's checkpoint file. */
static PetscErrorCode lesion_done(void *ctx, MPI_Comm comm, PetscInt t, PetscReal result[])
{
  Ctx *c = (Ctx *)ctx;

  PetscFunctionBeginUser;
  (void)comm;
  if (c->ck) PetscCall(mc_io_checkpoint_record(c->ck, t, result));
  PetscFunctionReturn(0);
}

/* Open the checkpoint of this lesion test: HASH covers everything a task's counts depend on (the network,
   the partition and its graph groups, the test set, the lesion settings and the engine's batching), not the
   number of random draws: task (s, d) is kept under the key s * 2^32 + d + 1, and draw d's random sets do
   not depend on how many draws there are. Fills counts (rank 0) and skip (every rank). Collective. */
static PetscErrorCode checkpoint_open(MPI_Comm comm, const MCLesionOpts *opts, const MCModel *model, const MCGraph *g, const PetscInt labels[], const MCDataset *data,
                                      Ctx *c, PetscInt n_tasks, PetscReal counts[], PetscBool skip[], MCLesionResult *r)
{
  uint64_t h = MC_SYS_HASH_INIT, *key;
  PetscInt settings[6] = {(PetscInt)opts->mode, opts->min_size, c->batch, (PetscInt)c->cached, g->n_nodes, g->n_groups};
  char     what[PETSC_MAX_PATH_LEN + 64];

  PetscFunctionBeginUser;
  h = mc_sys_hash(h, "lesion", 6);
  h = mc_sys_hash(h, settings, sizeof(settings));
  h = mc_sys_hash(h, &opts->max_prop, sizeof(opts->max_prop));
  h = mc_sys_hash(h, &opts->seed, sizeof(opts->seed));
  h = mc_sys_hash(h, &opts->stream, sizeof(opts->stream));
  h = mc_sys_hash(h, g->group_offset, sizeof(PetscInt) * (size_t)(g->n_groups + 1));
  h = mc_sys_hash(h, labels, sizeof(PetscInt) * (size_t)g->n_nodes);
  h = mc_model_hash(model, h);
  h = mc_sys_hash(h, data->shape, sizeof(data->shape));
  h = mc_sys_hash(h, &data->n, sizeof(data->n));
  h = mc_sys_hash(h, data->x, sizeof(float) * (size_t)data->n * (size_t)(data->shape[0] * data->shape[1] * data->shape[2]));
  h = mc_sys_hash(h, data->y, sizeof(PetscInt) * (size_t)data->n);
  PetscCall(mc_io_checkpoint_prefix(opts->checkpoint_dir, h, r->checkpoint_prefix, sizeof(r->checkpoint_prefix)));
  PetscCall(PetscSNPrintf(what, sizeof(what), "the importance checkpoint %s.*", r->checkpoint_prefix));
  PetscCall(PetscMalloc1(PetscMax(n_tasks, 1), &key));
  for (PetscInt t = 0; t < n_tasks; ++t) key[t] = ((uint64_t)(t / (opts->n_random + 1)) << 32) + (uint64_t)(t % (opts->n_random + 1));
  PetscCall(mc_io_checkpoint_open(comm, r->checkpoint_prefix, what, n_tasks, key, data->n_classes + 1, counts, skip, &r->n_resumed, &c->ck));
  PetscCall(PetscFree(key));
  if (r->n_resumed > 0)
    PetscCall(PetscPrintf(comm, "%s: resuming from checkpoint %s.*: %" PetscInt_FMT " of %" PetscInt_FMT " tasks already done\n", opts->label ? opts->label : "lesion",
                          r->checkpoint_prefix, r->n_resumed, n_tasks));
  PetscFunctionReturn(0);
}

/* The random sets of every draw: the draw permutes the labels of each hidden layer's valid units; a
   sub-cluster's random set is the set of units now holding its label (same layer and size). */
static PetscErrorCode random_sets(const MCGraph *g, const PetscInt labels[], const MCSubclusters *sc, const MCLesionOpts *opts, PetscInt rand_unit[])
{
  PetscInt  total = sc->offset[sc->n], *idx, *perm, *newlab;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc3(g->n_nodes, &idx, g->n_nodes, &perm, g->n_nodes, &newlab));
  for (PetscInt d = 0; d < opts->n_random; ++d) {
    MCRng r;
    mc_rng_init(&r, opts->seed, MC_STREAM_LESION, opts->stream + (uint64_t)d);
    for (PetscInt i = 0; i < g->n_nodes; ++i) newlab[i] = labels[i];
    /* Every group holding a sub-cluster is permuted, in group order, from the draw's one stream. */
    for (PetscInt grp = 0; grp < g->n_groups; ++grp) {
      PetscInt n = 0, has = 0;
      for (PetscInt s = 0; s < sc->n; ++s) has |= sc->group[s] == grp;
      if (!has) continue;
      for (PetscInt i = g->group_offset[grp]; i < g->group_offset[grp + 1]; ++i)
        if (labels[i] >= 0) idx[n++] = i;
      for (PetscInt j = 0; j < n; ++j) perm[j] = j;
      mc_rng_permute(&r, n, perm);
      for (PetscInt j = 0; j < n; ++j) newlab[idx[j]] = labels[idx[perm[j]]];
    }
    for (PetscInt s = 0; s < sc->n; ++s) {
      PetscInt grp = sc->group[s], o = d * total + sc->offset[s];
      for (PetscInt i = g->group_offset[grp]; i < g->group_offset[grp + 1]; ++i)
        if (newlab[i] == sc->cluster[s]) rand_unit[o++] = i - g->group_offset[grp];
      PetscCheck(o == d * total + sc->offset[s + 1], PETSC_COMM_SELF, PETSC_ERR_PLIB, "random set of sub-cluster %" PetscInt_FMT " has the wrong size", s);
    }
  }
  PetscCall(PetscFree3(idx, perm, newlab));
  PetscFunctionReturn(0);
}

static PetscErrorCode result_alloc(PetscInt M, PetscInt R, PetscInt C, MCLesionResult **out)
{
  MCLesionResult *r = NULL;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&r));
  r->n_sub     = M;
  r->n_random  = R;
  r->n_classes = C;
  PetscCall(PetscMalloc4(PetscMax(M, 1), &r->layer, PetscMax(M, 1), &r->group, PetscMax(M, 1), &r->cluster, PetscMax(M, 1), &r->size));
  PetscCall(PetscMalloc5(PetscMax(M * C, 1), &r->class_acc, PetscMax(M, 1), &r->mean_acc, PetscMax(M, 1), &r->range, PetscMax(M * R, 1), &r->mean_acc_random,
                         PetscMax(M * R, 1), &r->range_random));
  PetscCall(PetscMalloc5(PetscMax(M, 1), &r->p_mean, PetscMax(M, 1), &r->p_range, PetscMax(M, 1), &r->effect_mean, PetscMax(M, 1), &r->effect_range, C,
                         &r->baseline_class_acc));
  *out = r;
  PetscFunctionReturn(0);
}

PetscErrorCode mc_lesion_result_destroy(MCLesionResult **r)
{
  PetscFunctionBeginUser;
  if (!*r) PetscFunctionReturn(0);
  PetscCall(PetscFree4((*r)->layer, (*r)->group, (*r)->cluster, (*r)->size));
  PetscCall(PetscFree5((*r)->class_acc, (*r)->mean_acc, (*r)->range, (*r)->mean_acc_random, (*r)->range_random));
  PetscCall(PetscFree5((*r)->p_mean, (*r)->p_range, (*r)->effect_mean, (*r)->effect_range, (*r)->baseline_class_acc));
  PetscCall(PetscFree(*r));
  PetscFunctionReturn(0);
}

/* p-values, effects and the per-network Fisher combination from the gathered correct counts. */
static PetscErrorCode statistics(const MCLesionOpts *opts, const MCDataset *data, const PetscReal total[], const PetscReal counts[], MCLesionResult *r)
{
  PetscInt   M = r->n_sub, R = r->n_random, C = r->n_classes;
  PetscReal *a, *dm, *e2;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc3(C, &a, R, &dm, PetscMax(M, 1), &e2));
  for (PetscInt s = 0; s < M; ++s) {
    for (PetscInt d = -1; d < R; ++d) {
      const PetscReal *cnt = counts + (s * (R + 1) + d + 1) * (C + 1); /* C counts and the done flag */
      PetscReal        m, rg;
      for (PetscInt c = 0; c < C; ++c) a[c] = total[c] > 0 ? cnt[c] / total[c] : (PetscReal)NAN;
      mc_lesion_class_stats(C, a, r->baseline_class_acc, &m, &rg);
      if (d < 0) {
        PetscCall(PetscArraycpy(r->class_acc + s * C, a, C));
        r->mean_acc[s] = m;
        r->range[s]    = rg;
      } else {
        r->mean_acc_random[s * R + d] = m;
        r->range_random[s * R + d]    = rg;
      }
    }
    PetscCall(mc_stats_perm_pvalue(r->mean_acc[s], R, r->mean_acc_random + s * R, MC_TAIL_LOWER, opts->ties, &r->p_mean[s], NULL));
    PetscCall(mc_stats_perm_pvalue(r->range[s], R, r->range_random + s * R, MC_TAIL_UPPER, opts->ties, &r->p_range[s], NULL));
    for (PetscInt d = 0; d < R; ++d) dm[d] = r->mean_acc_random[s * R + d] - r->baseline_mean_acc;
    PetscCall(mc_stats_effect_mean(r->mean_acc[s] - r->baseline_mean_acc, R, dm, &r->effect_mean[s]));
    PetscCall(mc_stats_effect_range(r->range[s], R, r->range_random + s * R, &r->effect_range[s]));
  }
  PetscCall(mc_stats_fisher(M, r->p_mean, R, &r->fisher_p_mean, &r->fisher_stat_mean, NULL));
  PetscCall(mc_stats_fisher(M, r->p_range, R, &r->fisher_p_range, &r->fisher_stat_range, NULL));
  for (PetscInt s = 0; s < M; ++s) e2[s] = 2 * r->effect_mean[s];
  PetscCall(mc_stats_mean_sem(M, e2, &r->effect_mean_avg, &r->effect_mean_sem, NULL));
  for (PetscInt s = 0; s < M; ++s) e2[s] = 2 * r->effect_range[s];
  PetscCall(mc_stats_mean_sem(M, e2, &r->effect_range_avg, &r->effect_range_sem, NULL));
  PetscCall(PetscFree3(a, dm, e2));
  PetscFunctionReturn(0);
}

PetscErrorCode mc_lesion_test(MPI_Comm comm, const MCLesionOpts *opts, const MCModel *model, const MCGraph *g, const PetscInt labels[],
                              const MCDataset *data, MCLesionResult **out)
{
  MCSubclusters  *sc = NULL;
  MCLesionResult *r = NULL;
  Ctx             c = {0};
  MCFarmOpts      fo = {0};
  PetscBool       stopped = PETSC_FALSE, *skip = NULL;
  PetscErrorCode  ierr;
  PetscInt        n_w, *widx, n_units_layers, n_out, C = data->n_classes, n_tasks;
  PetscReal      *cost, *counts, *total, per_ex = 0, budget;
  PetscLogDouble  t0, t1;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(model->n_layers + 1, &widx));
  n_w            = mc_model_weight_layers(model, widx);
  n_units_layers = n_w + 1;
  PetscCheck(n_w >= 1, comm, PETSC_ERR_USER_INPUT, "[model] path %s has no Dense or Conv2D layer to lesion", model->source);
  c.in_size = model->input_shape[0] * model->input_shape[1] * model->input_shape[2];
  PetscCheck(mc_model_input_fits(model, data->shape), comm, PETSC_ERR_USER_INPUT,
             "[data] source %s has examples of %" PetscInt_FMT "x%" PetscInt_FMT "x%" PetscInt_FMT " values but the model %s expects %" PetscInt_FMT "x%" PetscInt_FMT "x%" PetscInt_FMT,
             data->source, data->shape[0], data->shape[1], data->shape[2], model->source, model->input_shape[0], model->input_shape[1], model->input_shape[2]);
  {
    const MCLayer *last = &model->layers[model->outputs[0]];
    n_out               = last->out_shape[0] * last->out_shape[1] * last->out_shape[2];
  }
  PetscCheck(C <= n_out, comm, PETSC_ERR_USER_INPUT, "[data] source %s has %" PetscInt_FMT " classes but the model %s has only %" PetscInt_FMT " outputs", data->source, C,
             model->source, n_out);

  PetscCheck(!g->branched || opts->mode == MC_LESION_OUTGOING, comm, PETSC_ERR_SUP,
             "[importance] lesion = incoming needs a sequential network; %s has branches or merges, whose weight-graph groups are lesioned in their consumer's input (lesion = outgoing)",
             model->source);
  PetscCall(mc_lesion_subclusters(g, labels, n_units_layers, opts->min_size, opts->max_prop, &sc));
  PetscCall(result_alloc(sc->n, opts->n_random, C, &r));
  r->n_test = data->n;
  PetscCall(PetscStrncpy(r->model_path, model->source, sizeof(r->model_path)));
  for (PetscInt s = 0; s < sc->n; ++s) {
    r->layer[s]   = sc->layer[s];
    r->group[s]   = sc->group[s];
    r->cluster[s] = sc->cluster[s];
    r->size[s]    = sc->offset[s + 1] - sc->offset[s];
  }

  /* The engine: the whole test set in one batch when its caches fit (the clean pass is then computed once
     per rank and each lesion restarts from its first changed layer), else the largest batch that fits. */
  for (PetscInt i = 0; i < model->n_layers; ++i) {
    const MCLayer *L = &model->layers[i];
    per_ex += 2.0 * 4.0 * (PetscReal)(L->out_shape[0] * L->out_shape[1] * L->out_shape[2]);
  }
  budget   = PetscMax(opts->cache_mb, 0) * 1024.0 * 1024.0;
  c.cached = (PetscReal)data->n * per_ex <= budget ? PETSC_TRUE : PETSC_FALSE;
  if (opts->batch > 0) c.batch = PetscMin(opts->batch, data->n);
  else if (c.cached) c.batch = PetscMin(MC_LESION_SLICE, data->n);
  else c.batch = (PetscInt)PetscMin((PetscReal)data->n, PetscMax(1.0, PetscFloorReal(PetscMax(budget, 64.0 * 1024.0 * 1024.0) / per_ex)));
  c.n_eng = c.cached ? (data->n + c.batch - 1) / c.batch : 1;
  c.model    = model;
  c.data     = data;
  c.sc       = sc;
  c.mode     = opts->mode;
  c.n_random = opts->n_random;
  PetscCall(PetscCalloc1(c.n_eng, &c.f));
  for (PetscInt e = 0; e < c.n_eng; ++e) PetscCall(mc_forward_create(model, c.batch, &c.f[e]));
  PetscCall(PetscMalloc1(c.batch, &c.pred));
  PetscCall(PetscMalloc1(PetscMax(opts->n_random * sc->offset[sc->n], 1), &c.rand_unit));
  PetscCall(random_sets(g, labels, sc, opts, c.rand_unit));

  /* Baseline on every rank (the same computation everywhere, so no reduction is needed). */
  PetscCall(PetscMalloc1(C, &total));
  PetscCall(PetscArrayzero(total, C));
  for (PetscInt i = 0; i < data->n; ++i) {
    PetscCheck(data->y[i] >= 0 && data->y[i] < C, comm, PETSC_ERR_USER_INPUT, "[data] source %s: label %" PetscInt_FMT " of test example %" PetscInt_FMT " is out of range", data->source,
               data->y[i], i);
    total[data->y[i]] += 1;
  }
  PetscCall(evaluate(&c, -1, 0, NULL, r->baseline_class_acc));
  for (PetscInt k = 0; k < C; ++k) r->baseline_class_acc[k] = total[k] > 0 ? r->baseline_class_acc[k] / total[k] : (PetscReal)NAN;
  {
    PetscReal unused;
    mc_lesion_class_stats(C, r->baseline_class_acc, r->baseline_class_acc, &r->baseline_mean_acc, &unused);
  }

  /* Tasks in sub-cluster order (layer by layer), so consecutive tasks on a rank restart from the same layer. */
  n_tasks = sc->n * (opts->n_random + 1);
  PetscCall(PetscCalloc2(PetscMax(n_tasks, 1), &cost, PetscMax(n_tasks * (C + 1), 1), &counts));
  r->gflop = 0;
  for (PetscInt s = 0; s < sc->n; ++s) {
    PetscInt  from = sc->site[s] >= 0 ? sc->site[s] : restart_layer(model, widx, n_w, sc->layer[s], opts->mode);
    PetscReal fl   = 0;
    if (!c.cached) from = 0;
    for (PetscInt i = from; i < model->n_layers; ++i) fl += layer_flops(&model->layers[i]);
    for (PetscInt d = 0; d <= opts->n_random; ++d) cost[s * (opts->n_random + 1) + d] = fl + 1;
    r->gflop += fl * (PetscReal)(opts->n_random + 1) * (PetscReal)data->n * 1e-9;
  }
  if (opts->checkpoint_dir) {
    PetscCall(PetscCalloc1(PetscMax(n_tasks, 1), &skip));
    PetscCall(checkpoint_open(comm, opts, model, g, labels, data, &c, n_tasks, counts, skip, r));
  }
  fo.label     = opts->label;
  fo.cost      = cost;
  fo.skip      = skip;
  fo.on_done   = lesion_done;
  fo.done_ctx  = &c;
  fo.stoppable = PETSC_TRUE;
  fo.stopped   = &stopped;
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-lesion_stop_after", &fo.stop_after, NULL));
  PetscCall(PetscTime(&t0));
  ierr = mc_farm_run(comm, n_tasks, C + 1, lesion_task, &c, &fo, counts);
  PetscCall(mc_io_checkpoint_close(&c.ck)); /* the lock goes whatever happened; the records stay */
  PetscCall(ierr);
  if (stopped) {
    PetscInt n_done = 0;

    for (PetscInt t = 0; t < n_tasks; ++t) n_done += counts[t * (C + 1) + C] != 0;
    SETERRQ(comm, PETSC_ERR_SIG, "The importance test stopped early (SIGTERM or -lesion_stop_after) with %" PetscInt_FMT " of %" PetscInt_FMT " tasks of %s done; %s", n_done,
            n_tasks, model->source,
            opts->checkpoint_dir ? "they are saved in the checkpoint next to the output directory: rerun the same command to resume"
                                 : "checkpointing is off (importance.checkpoint = false), so they are lost");
  }
  PetscCall(PetscTime(&t1));
  r->seconds = (PetscReal)(t1 - t0);
  PetscCall(statistics(opts, data, total, counts, r));

  PetscCall(PetscFree2(cost, counts));
  PetscCall(PetscFree(skip));
  PetscCall(PetscFree(total));
  PetscCall(PetscFree(c.rand_unit));
  PetscCall(PetscFree(c.pred));
  for (PetscInt e = 0; e < c.n_eng; ++e) PetscCall(mc_forward_destroy(&c.f[e]));
  PetscCall(PetscFree(c.f));
  PetscCall(mc_lesion_subclusters_destroy(&sc));
  PetscCall(PetscFree(widx));
  *out = r;
  PetscFunctionReturn(0);
}
