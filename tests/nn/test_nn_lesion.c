/* tests/nn/test_nn_lesion.c: lesions, restart and distributed evaluation.
   - an OUTGOING lesion equals the same network with the consumer's kernel slice zeroed by hand (Dense rows,
     conv K[:,:,c,:], all spatial positions of a channel after Flatten), through MC_FORWARD_RESUME;
   - an INCOMING lesion equals the network with the units' kernel entries and biases zeroed by hand;
   - restarting at every layer reproduces the full pass bitwise; clearing lesions restores the clean logits;
   - mc_forward_evaluate gives the same per-class counts at any rank count as a serial evaluation. */
#include <math.h>
#include <string.h>
#include "mc/forward.h"
#include "nn_testutil.h"

static const char *specs[] = {
  "input 1 1 30;dense 20 relu;dropout 0.5;dense 16 tanh;dense 12 relu;dense 6 softmax",
  "input 8 8 2;conv2d 3 3 1 1 same 6 relu;batchnorm 0.001;maxpool2d 2 2 2 2 valid;conv2d 3 3 1 1 same 5 relu;maxpool2d 2 2 2 2 valid;flatten;dense 8 relu;dense 4 softmax",
};

static PetscErrorCode max_diff(MCForward *a, MCForward *b, PetscInt n, PetscInt layer, double *d)
{
  const float *ya, *yb;
  PetscInt     w;

  PetscFunctionBeginUser;
  PetscCall(mc_forward_output(a, layer, &ya, &w));
  PetscCall(mc_forward_output(b, layer, &yb, NULL));
  *d = 0;
  for (PetscInt j = 0; j < n * w; ++j) *d = PetscMax(*d, fabs((double)ya[j] - yb[j]));
  PetscFunctionReturn(0);
}

/* The weight-layer index holding unit layer u >= 1, and the next weight layer. */
static void weight_layers(const MCModel *m, PetscInt u, PetscInt *at, PetscInt *next)
{
  PetscInt c = 0;
  *at = *next = -1;
  for (PetscInt i = 0; i < m->n_layers; ++i) {
    if (m->layers[i].type != MC_LAYER_DENSE && m->layers[i].type != MC_LAYER_CONV2D) continue;
    if (c == u - 1) *at = i;
    if (c == u) {
      *next = i;
      break;
    }
    c++;
  }
}

int main(int argc, char **argv)
{
  PetscMPIInt rank;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(mc_sys_initialize());
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  for (int s = 0; s < 2; ++s) {
    MCModel   *m, *hand;
    MCForward *f, *fh;
    PetscInt   n = 37, nin, nl, n_units_layers, last;
    float     *x;
    MCRng      r;
    double     d;

    PetscCall(nn_test_build(specs[s], NULL, 0, 100 + s, &m));
    nl   = m->n_layers;
    last = nl - 1;
    nin  = m->input_shape[0] * m->input_shape[1] * m->input_shape[2];
    PetscCall(PetscMalloc1(n * nin, &x));
    mc_rng_init(&r, 3, MC_STREAM_DATA, (uint64_t)s);
    for (PetscInt j = 0; j < n * nin; ++j) x[j] = (float)mc_rng_uniform(&r);
    PetscCall(mc_forward_create(m, n, &f));
    PetscCall(mc_forward_run(f, n, x, 0));
    n_units_layers = mc_forward_n_unit_layers(f);
    for (PetscInt u = 0; u < n_units_layers - 1; ++u) {
      PetscInt at, next, nu, units[3], restart;
      PetscCall(mc_forward_unit_layer(f, u, NULL, &nu, NULL));
      units[0] = 0, units[1] = nu / 2, units[2] = nu - 1;
      weight_layers(m, u, &at, &next);
      for (int mode = 0; mode < (u ? 2 : 1); ++mode) { /* input units have no incoming weights */
        /* By hand: a fresh copy of the network with the slice zeroed. */
        PetscCall(nn_test_build(specs[s], NULL, 0, 100 + s, &hand));
        if (mode == 0) {
          MCLayer *L = &hand->layers[next];
          PetscInt C = nu;
          if (L->type == MC_LAYER_DENSE) {
            for (PetscInt row = 0; row < L->n_in; ++row)
              for (int k = 0; k < 3; ++k)
                if (row % C == units[k]) memset(L->weight + row * L->n_out, 0, (size_t)L->n_out * sizeof(float));
          } else {
            for (PetscInt p = 0; p < L->kh * L->kw; ++p)
              for (int k = 0; k < 3; ++k) memset(L->weight + (p * L->n_in + units[k]) * L->n_out, 0, (size_t)L->n_out * sizeof(float));
          }
        } else {
          MCLayer *L = &hand->layers[at];
          PetscInt K = mc_model_weight_count(L) / L->n_out;
          for (PetscInt row = 0; row < K; ++row)
            for (int k = 0; k < 3; ++k) L->weight[row * L->n_out + units[k]] = 0.0f;
          for (int k = 0; k < 3; ++k) L->bias[units[k]] = 0.0f;
        }
        PetscCall(mc_forward_create(hand, n, &fh));
        PetscCall(mc_forward_run(fh, n, x, 0));
        PetscCall(mc_forward_lesion_set(f, u, 3, units, mode ? MC_LESION_INCOMING : MC_LESION_OUTGOING, &restart));
        PetscCheck(restart == (mode ? at : next), PETSC_COMM_SELF, PETSC_ERR_PLIB, "spec %d unit layer %" PetscInt_FMT ": restart %" PetscInt_FMT ", expected %" PetscInt_FMT ".", s, u, restart, mode ? at : next);
        PetscCall(mc_forward_run(f, n, NULL, MC_FORWARD_RESUME));
        PetscCall(max_diff(f, fh, n, last, &d));
        PetscCheck(d <= 1e-6, PETSC_COMM_SELF, PETSC_ERR_PLIB, "spec %d unit layer %" PetscInt_FMT " %s lesion differs from the hand-zeroed network by %g.", s, u, mode ? "incoming" : "outgoing", d);
        /* Restart from every layer at or before the lesion equals the resumed pass, bitwise. */
        {
          const float *y;
          float       *keep;
          PetscInt     w;
          PetscCall(mc_forward_output(f, last, &y, &w));
          PetscCall(PetscMalloc1(n * w, &keep));
          PetscCall(PetscArraycpy(keep, y, n * w));
          for (PetscInt from = 0; from <= restart; ++from) {
            PetscCall(mc_forward_run(f, n, from == 0 ? x : NULL, from));
            PetscCall(mc_forward_output(f, last, &y, NULL));
            PetscCheck(!memcmp(keep, y, sizeof(float) * (size_t)(n * w)), PETSC_COMM_SELF, PETSC_ERR_PLIB, "spec %d: restart at layer %" PetscInt_FMT " differs from the pass restarted at %" PetscInt_FMT ".", s, from, restart);
          }
          PetscCall(PetscFree(keep));
        }
        PetscCall(mc_forward_lesion_clear(f, NULL));
        PetscCall(mc_forward_run(f, n, NULL, MC_FORWARD_RESUME));
        PetscCall(mc_forward_destroy(&fh));
        PetscCall(mc_model_destroy(&hand));
      }
    }
    /* After clearing, the logits equal an untouched engine's, bitwise. */
    {
      MCForward *g;
      PetscCall(mc_forward_create(m, n, &g));
      PetscCall(mc_forward_run(g, n, x, 0));
      PetscCall(max_diff(f, g, n, last, &d));
      PetscCheck(d == 0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "spec %d: clearing the lesions left a difference of %g.", s, d);
      PetscCall(mc_forward_destroy(&g));
    }
    /* Distributed evaluation (with a lesion set) against a serial one, batch 5 so batches straddle ranks. */
    {
      MCForward *small;
      PetscInt   nc = m->layers[last].out_shape[2], *y, *c1, *t1, *c2, *t2, unit = 1;
      PetscCall(PetscMalloc5(n, &y, nc, &c1, nc, &t1, nc, &c2, nc, &t2));
      PetscCall(mc_forward_predict(f, y));
      for (PetscInt i = 0; i < n; i += 3) y[i] = (y[i] + 1) % nc; /* some wrong labels */
      PetscCall(mc_forward_create(m, 5, &small));
      PetscCall(mc_forward_lesion_set(small, 1, 1, &unit, MC_LESION_OUTGOING, NULL));
      PetscCall(mc_forward_evaluate(PETSC_COMM_WORLD, small, n, x, y, nc, c1, t1));
      PetscCall(mc_forward_evaluate(PETSC_COMM_SELF, small, n, x, y, nc, c2, t2));
      for (PetscInt c = 0; c < nc; ++c) PetscCheck(c1[c] == c2[c] && t1[c] == t2[c], PETSC_COMM_SELF, PETSC_ERR_PLIB, "spec %d class %" PetscInt_FMT ": distributed %" PetscInt_FMT "/%" PetscInt_FMT " vs serial %" PetscInt_FMT "/%" PetscInt_FMT ".", s, c, c1[c], t1[c], c2[c], t2[c]);
      {
        PetscInt tot = 0;
        for (PetscInt c = 0; c < nc; ++c) tot += t1[c];
        PetscCheck(tot == n, PETSC_COMM_SELF, PETSC_ERR_PLIB, "Evaluation counted %" PetscInt_FMT " examples of %" PetscInt_FMT ".", tot, n);
      }
      PetscCall(mc_forward_destroy(&small));
      PetscCall(PetscFree5(y, c1, t1, c2, t2));
    }
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "spec %d: lesions, restarts and distributed evaluation agree\n", s));
    PetscCall(mc_forward_destroy(&f));
    PetscCall(PetscFree(x));
    PetscCall(mc_model_destroy(&m));
  }
  PetscCall(PetscFinalize());
  return 0;
}
