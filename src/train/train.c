/* src/train/train.c: the trainer - softmax cross-entropy, Adam, minibatches, dropout, L1/L2 and
   polynomial-decay magnitude pruning, on one rank and deterministic for a seed. */
#include <math.h>
#include <string.h>
#include "mc/forward.h"
#include "mc/train.h"

/* Per weight layer: Adam moments of kernel and bias, and the pruning mask of the kernel (1 keep, 0 pruned). */
typedef struct {
  PetscInt n_w, n_b;
  float   *mw, *vw, *mb, *vb;
  unsigned char *keep; /* NULL without pruning */
} Slot;

/* k-th smallest (0-based) of v[0..n) by quickselect; v is reordered. */
static float select_kth(float *v, PetscInt n, PetscInt k)
{
  PetscInt lo = 0, hi = n - 1;
  while (lo < hi) {
    float    pivot = v[lo + (hi - lo) / 2];
    PetscInt i = lo, j = hi;
    while (i <= j) {
      while (v[i] < pivot) i++;
      while (v[j] > pivot) j--;
      if (i <= j) {
        float t = v[i];
        v[i++]  = v[j];
        v[j--]  = t;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return v[k];
}

/* tfmot's PolynomialDecay at step t of T, in single precision as TensorFlow computes it:
   p = min(1, max(0, t / T)), s = (initial - final) (1 - p)^3 + final. */
static float prune_sparsity(const MCTrainConfig *tc, PetscInt t, PetscInt T)
{
  float p = PetscMin(1.0f, PetscMax(0.0f, (float)t / (float)T));

  return ((float)tc->prune_initial - (float)tc->prune_final) * powf(1.0f - p, 3.0f) + (float)tc->prune_final;
}

/* tfmot's mask update (pruning_impl._update_mask): keep k = max(1, round(n (1 - s))) weights (float32
   product, ties to even as tf.math.round), namely every |w| at least the k-th largest, so weights tied
   with it are all kept. *n_kept counts them. */
static void prune_mask(const float *w, PetscInt n, float s, unsigned char *keep, float *scratch, PetscInt *n_kept)
{
  PetscInt k = (PetscInt)rintf((float)n * (1.0f - s));
  float    thr;

  k = PetscMin(PetscMax(k, 1), n);
  for (PetscInt j = 0; j < n; ++j) scratch[j] = fabsf(w[j]);
  thr     = select_kth(scratch, n, n - k); /* the k-th largest */
  *n_kept = 0;
  for (PetscInt j = 0; j < n; ++j) {
    keep[j] = fabsf(w[j]) >= thr ? 1 : 0;
    *n_kept += keep[j];
  }
}

/* weights = weights * mask (tfmot's weight_mask_op), on every pruned kernel. */
static void apply_masks(MCModel *model, const Slot slot[])
{
  for (PetscInt i = 0; i < model->n_layers; ++i)
    if (slot[i].keep)
      for (PetscInt j = 0; j < slot[i].n_w; ++j)
        if (!slot[i].keep[j]) model->layers[i].weight[j] = 0.0f;
}

/* Test-only (-train_prune_log FILE): one record per kernel and mask update: int64 step, layer, n, kept;
   float32 sparsity; the n float32 weights the update saw; the n uint8 mask entries. */
static PetscErrorCode log_mask(FILE *fp, PetscInt step, PetscInt layer, float s, const float *w, const unsigned char *keep, PetscInt n, PetscInt n_kept)
{
  int64_t hdr[4] = {step, layer, n, n_kept};

  PetscFunctionBeginUser;
  if (!fp) PetscFunctionReturn(0);
  PetscCheck(fwrite(hdr, sizeof(hdr), 1, fp) == 1 && fwrite(&s, sizeof(s), 1, fp) == 1 && fwrite(w, sizeof(float), (size_t)n, fp) == (size_t)n &&
               fwrite(keep, 1, (size_t)n, fp) == (size_t)n,
             PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot write the pruning log");
  PetscFunctionReturn(0);
}

/* One Adam step in Keras' form (lr_t folds in the bias corrections), in single precision. */
MC_VECTORIZE static void adam(PetscInt n, float *restrict w, const float *restrict g, float *restrict m, float *restrict v, double b1, double b2, double lr_t, double eps)
{
  const float fb1 = (float)b1, fb2 = (float)b2, c1 = (float)(1.0 - b1), c2 = (float)(1.0 - b2), lr = (float)lr_t, e = (float)eps;
  for (PetscInt j = 0; j < n; ++j) {
    float mj = fb1 * m[j] + c1 * g[j];
    float vj = fb2 * v[j] + c2 * g[j] * g[j];
    m[j]     = mj;
    v[j]     = vj;
    w[j] -= lr * mj / (sqrtf(vj) + e);
  }
}

/* Mean squared error per target of the model on d (targets t), inference mode. */
static PetscErrorCode eval_mse(MCForward *f, PetscInt top, PetscInt batch, const MCDataset *d, const float *t, PetscInt nc, PetscReal *mse)
{
  const PetscInt sz = d->shape[0] * d->shape[1] * d->shape[2];
  double         acc = 0.0;

  PetscFunctionBeginUser;
  for (PetscInt b = 0; b < d->n; b += batch) {
    PetscInt     nb = PetscMin(batch, d->n - b);
    const float *z;
    PetscCall(mc_forward_run(f, nb, d->x + b * sz, 0));
    PetscCall(mc_forward_preact(f, top, &z, NULL));
    for (PetscInt j = 0; j < nb * nc; ++j) {
      double e = (double)z[j] - t[b * nc + j];
      acc += e * e;
    }
  }
  *mse = acc / ((double)d->n * nc);
  PetscFunctionReturn(0);
}

PetscErrorCode mc_train_run(const MCTrainConfig *tc, MCModel *model, const MCDataset *train, const float *train_t, const MCDataset *test, const float *test_t, PetscBool verbose, MCTrainResult *res)
{
  const PetscInt n = train->n, sz = train->shape[0] * train->shape[1] * train->shape[2];
  const PetscInt B = (PetscInt)tc->batch, epochs = (PetscInt)tc->epochs;
  const PetscInt spe = (n + B - 1) / B, T = spe * epochs;
  PetscInt       top = -1, nc, *perm, *yb, step = 0, max_w = 0;
  MCForward     *f;
  MCGrads       *g;
  Slot          *slot;
  float         *xb, *dz, *tb = NULL, *scratch = NULL;
  PetscBool      reg = train_t ? PETSC_TRUE : PETSC_FALSE, logging = PETSC_FALSE;
  double         t0 = MPI_Wtime();
  /* A run that continues a trained network (init) draws its minibatch orders and dropout masks from
     streams of its own, not the first run's again. */
  const uint64_t stream0 = tc->init[0] ? (uint64_t)1 << 32 : 0;
  char           plog_path[PETSC_MAX_PATH_LEN] = "";
  FILE          *plog = NULL;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(res, sizeof(*res)));
  for (PetscInt i = 0; i < model->n_layers; ++i)
    if (model->layers[i].type == MC_LAYER_DENSE || model->layers[i].type == MC_LAYER_CONV2D) top = i;
  PetscCheck(top >= 0, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "The model has no Dense or Conv2D layer to train.");
  PetscCheck(model->layers[top].act == MC_ACT_SOFTMAX || model->layers[top].act == MC_ACT_LINEAR, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "The last weight layer '%s' must have a softmax or linear activation for cross-entropy training.", model->layers[top].name);
  for (PetscInt i = top + 1; i < model->n_layers; ++i) PetscCheck(model->layers[i].type == MC_LAYER_SOFTMAX || model->layers[i].type == MC_LAYER_FLATTEN, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Layer '%s' after the last weight layer is not a softmax.", model->layers[i].name);
  for (PetscInt i = 0; i < model->n_layers; ++i) PetscCheck(model->layers[i].type != MC_LAYER_BATCHNORM, PETSC_COMM_SELF, PETSC_ERR_SUP, "Training BatchNorm layers is not supported (layer '%s').", model->layers[i].name);
  nc = model->layers[top].n_out;
  PetscCheck(!reg || model->layers[top].act == MC_ACT_LINEAR, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Regression needs a linear last layer, '%s' has %s.", model->layers[top].name, mc_model_activation_name(model->layers[top].act));
  PetscCheck(reg || train->n_classes <= nc, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "The dataset %s has %" PetscInt_FMT " classes but the model only %" PetscInt_FMT " outputs.", train->source, train->n_classes, nc);
  PetscCheck(sz == model->input_shape[0] * model->input_shape[1] * model->input_shape[2], PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Examples of %s have %" PetscInt_FMT " values but the model takes %" PetscInt_FMT ".", train->source, sz, model->input_shape[0] * model->input_shape[1] * model->input_shape[2]);

  PetscCall(mc_forward_create(model, PetscMax(B, (PetscInt)tc->eval_batch), &f));
  PetscCall(mc_grads_create(model, &g));
  PetscCall(PetscCalloc1(model->n_layers, &slot));
  for (PetscInt i = 0; i < model->n_layers; ++i) {
    MCLayer *L = &model->layers[i];
    if (L->type != MC_LAYER_DENSE && L->type != MC_LAYER_CONV2D) continue;
    slot[i].n_w = mc_model_weight_count(L);
    slot[i].n_b = L->bias ? L->n_out : 0;
    max_w       = PetscMax(max_w, slot[i].n_w);
    PetscCall(PetscCalloc1(slot[i].n_w, &slot[i].mw));
    PetscCall(PetscCalloc1(slot[i].n_w, &slot[i].vw));
    if (slot[i].n_b) PetscCall(PetscCalloc1(slot[i].n_b, &slot[i].mb));
    if (slot[i].n_b) PetscCall(PetscCalloc1(slot[i].n_b, &slot[i].vb));
    if (tc->prune) PetscCall(PetscMalloc1(slot[i].n_w, &slot[i].keep));
  }
  if (tc->prune) PetscCall(PetscMalloc1(max_w, &scratch));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-train_prune_log", plog_path, sizeof(plog_path), &logging));
  if (logging && tc->prune) {
    plog = fopen(plog_path, "wb");
    PetscCheck(plog, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write the pruning log %s", plog_path);
  }
  PetscCall(PetscMalloc1(n, &perm));
  PetscCall(PetscMalloc1(B, &yb));
  PetscCall(PetscMalloc1(B * sz, &xb));
  PetscCall(PetscMalloc1(B * nc, &dz));
  if (reg) PetscCall(PetscMalloc1(B * nc, &tb));

  for (PetscInt ep = 0; ep < epochs; ++ep) {
    MCRng  order, drop;
    double loss_sum = 0.0, pen = 0.0;
    PetscInt correct = 0;

    for (PetscInt i = 0; i < n; ++i) perm[i] = i;
    mc_rng_init(&order, (uint64_t)tc->seed, MC_STREAM_TRAIN, stream0 + (uint64_t)(2 * ep));
    mc_rng_init(&drop, (uint64_t)tc->seed, MC_STREAM_TRAIN, stream0 + (uint64_t)(2 * ep + 1));
    mc_rng_permute(&order, n, perm);
    PetscCall(mc_forward_set_training(f, PETSC_TRUE, &drop));
    for (PetscInt s = 0; s < spe; ++s, ++step) {
      PetscInt     nb = PetscMin(B, n - s * B);
      const float *z;
      double       b1t, b2t, lr_t;

      /* Pruning as tfmot's wrapper does it in every training call: update the masks on the schedule's
         steps (step <= end_step = T), then weights *= mask, then the forward pass. The pruned weights
         still receive gradient and Adam updates (they are zeroed again before the next pass), as in tfmot. */
      if (tc->prune && step % tc->prune_every == 0 && step <= T) {
        float sp = prune_sparsity(tc, step, T);

        for (PetscInt i = 0; i < model->n_layers; ++i)
          if (slot[i].keep) {
            PetscInt n_kept;

            prune_mask(model->layers[i].weight, slot[i].n_w, sp, slot[i].keep, scratch, &n_kept);
            PetscCall(log_mask(plog, step, i, sp, model->layers[i].weight, slot[i].keep, slot[i].n_w, n_kept));
          }
      }
      if (tc->prune) apply_masks(model, slot);
      for (PetscInt r = 0; r < nb; ++r) {
        PetscInt e = perm[s * B + r];
        PetscCall(PetscArraycpy(xb + r * sz, train->x + e * sz, sz));
        if (reg) PetscCall(PetscArraycpy(tb + r * nc, train_t + e * nc, nc));
        else yb[r] = train->y[e];
      }
      PetscCall(mc_forward_run(f, nb, xb, 0));
      PetscCall(mc_forward_preact(f, top, &z, NULL));
      /* Regression: mean squared error over the nb x nc outputs, gradient 2 (z - t) / (nb nc). */
      for (PetscInt j = 0; reg && j < nb * nc; ++j) {
        float e = z[j] - tb[j];
        dz[j]   = 2.0f * e / (float)(nb * nc);
        loss_sum += (double)e * e / nc;
      }
      /* Softmax cross-entropy on the logits; gradient (p - onehot) / nb w.r.t. the logits. */
      for (PetscInt r = 0; !reg && r < nb; ++r) {
        const float *zr = z + r * nc;
        float       *dr = dz + r * nc;
        float        mx = zr[0];
        double       se = 0.0;
        PetscInt     am = 0;
        for (PetscInt c = 1; c < nc; ++c)
          if (zr[c] > mx) mx = zr[c], am = c;
        for (PetscInt c = 0; c < nc; ++c) se += exp((double)(zr[c] - mx));
        for (PetscInt c = 0; c < nc; ++c) dr[c] = (float)(exp((double)(zr[c] - mx)) / se / nb);
        dr[yb[r]] -= 1.0f / (float)nb;
        loss_sum += log(se) - (double)(zr[yb[r]] - mx);
        correct += am == yb[r] ? 1 : 0;
      }
      PetscCall(mc_backward_run(f, top, MC_GRAD_PREACT, dz, g, NULL));
      b1t  = pow(tc->beta1, (double)(step + 1));
      b2t  = pow(tc->beta2, (double)(step + 1));
      lr_t = tc->lr * sqrt(1.0 - b2t) / (1.0 - b1t);
      for (PetscInt i = 0; i < model->n_layers; ++i) {
        MCLayer *L  = &model->layers[i];
        float   *dw = g->dweight[i];
        if (!slot[i].n_w) continue;
        if (tc->l1 > 0 || tc->l2 > 0) {
          for (PetscInt j = 0; j < slot[i].n_w; ++j) {
            float w = L->weight[j];
            dw[j] += (float)(tc->l1 * (w > 0 ? 1.0 : w < 0 ? -1.0 : 0.0) + 2.0 * tc->l2 * w);
            if (s == spe - 1) pen += tc->l1 * fabs(w) + tc->l2 * (double)w * w;
          }
        }
        adam(slot[i].n_w, L->weight, dw, slot[i].mw, slot[i].vw, tc->beta1, tc->beta2, lr_t, tc->adam_eps);
        if (slot[i].n_b) adam(slot[i].n_b, L->bias, g->dbias[i], slot[i].mb, slot[i].vb, tc->beta1, tc->beta2, lr_t, tc->adam_eps);
      }
    }
    PetscCall(mc_forward_set_training(f, PETSC_FALSE, NULL));
    /* tfmot's UpdatePruningStep masks the weights at the end of every epoch: a saved model is sparse. */
    if (tc->prune) apply_masks(model, slot);
    res->epochs_done    = ep + 1;
    res->steps          = step;
    res->final_loss     = loss_sum / n + pen;
    res->train_accuracy = reg ? NAN : (PetscReal)correct / n;
    res->test_accuracy  = NAN;
    res->test_mse       = NAN;
    if (test && reg) PetscCall(eval_mse(f, top, PetscMax(B, (PetscInt)tc->eval_batch), test, test_t, nc, &res->test_mse));
    else if (test) {
      PetscInt *cor, *tot, sc = 0, st = 0;
      PetscCall(PetscMalloc2(nc, &cor, nc, &tot));
      PetscCall(mc_forward_evaluate(PETSC_COMM_SELF, f, test->n, test->x, test->y, nc, cor, tot));
      for (PetscInt c = 0; c < nc; ++c) sc += cor[c], st += tot[c];
      res->test_accuracy = (PetscReal)sc / st;
      PetscCall(PetscFree2(cor, tot));
    }
    {
      PetscInt zeros = 0, total = 0;
      for (PetscInt i = 0; i < model->n_layers; ++i)
        for (PetscInt j = 0; j < slot[i].n_w; ++j) zeros += model->layers[i].weight[j] == 0.0f, total++;
      res->sparsity = (PetscReal)zeros / total;
    }
    res->seconds = MPI_Wtime() - t0;
    if (verbose && reg) PetscCall(PetscPrintf(PETSC_COMM_SELF, "epoch %3" PetscInt_FMT "/%" PetscInt_FMT "  loss %.5f  test_mse %.5f  sparsity %.3f  %.1f s\n", ep + 1, epochs, (double)res->final_loss, (double)res->test_mse, (double)res->sparsity, (double)res->seconds));
    else if (verbose) PetscCall(PetscPrintf(PETSC_COMM_SELF, "epoch %3" PetscInt_FMT "/%" PetscInt_FMT "  loss %.5f  train_acc %.4f  test_acc %.4f  sparsity %.3f  %.1f s\n", ep + 1, epochs, (double)res->final_loss, (double)res->train_accuracy, (double)res->test_accuracy, (double)res->sparsity, (double)res->seconds));
  }
  for (PetscInt i = 0; i < model->n_layers; ++i) {
    PetscCall(PetscFree(slot[i].mw));
    PetscCall(PetscFree(slot[i].vw));
    PetscCall(PetscFree(slot[i].mb));
    PetscCall(PetscFree(slot[i].vb));
    PetscCall(PetscFree(slot[i].keep));
  }
  PetscCall(PetscFree(slot));
  PetscCall(PetscFree(scratch));
  if (plog) PetscCheck(fclose(plog) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot write the pruning log %s", plog_path);
  PetscCall(PetscFree(perm));
  PetscCall(PetscFree(yb));
  PetscCall(PetscFree(xb));
  PetscCall(PetscFree(dz));
  PetscCall(PetscFree(tb));
  PetscCall(mc_grads_destroy(&g));
  PetscCall(mc_forward_destroy(&f));
  PetscFunctionReturn(0);
}
