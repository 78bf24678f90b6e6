/* src/model/init.c: freshly initialized networks, as Keras initializes them: Glorot-uniform kernels, zero
   biases, BatchNorm at its initial state. Shared by modclust-train (the networks it trains) and the
   clusterability null's random-initialization baseline. */
#include <math.h>
#include "mc/model.h"
#include "mc/sys.h"

PetscErrorCode mc_model_init_glorot(MCLayer *L, uint64_t seed, uint64_t task)
{
  PetscInt count = mc_model_weight_count(L), fan_in = L->n_in, fan_out = L->n_out;
  double   a;
  MCRng    r;

  PetscFunctionBeginUser;
  PetscCheck(L->type == MC_LAYER_DENSE || L->type == MC_LAYER_CONV2D, PETSC_COMM_SELF, PETSC_ERR_PLIB, "layer '%s' has no kernel to initialize", L->name);
  if (L->type == MC_LAYER_CONV2D) { /* Keras' fans of the kernel [kh, kw, c_in / groups, c_out] */
    fan_in  = fan_in / (L->groups > 1 ? L->groups : 1) * L->kh * L->kw;
    fan_out = fan_out * L->kh * L->kw;
  }
  a = sqrt(6.0 / (double)(fan_in + fan_out));
  mc_rng_init(&r, seed, MC_STREAM_INIT, task);
  PetscCall(PetscMalloc1(count, &L->weight));
  PetscCall(PetscCalloc1(L->n_out, &L->bias));
  for (PetscInt j = 0; j < count; ++j) L->weight[j] = (float)(a * (2.0 * mc_rng_uniform(&r) - 1.0));
  PetscFunctionReturn(0);
}

PetscErrorCode mc_model_create_initialized(const MCModel *m, uint64_t seed, uint64_t task0, MCModel **out)
{
  MCModel *c;
  PetscInt wl = 0;

  PetscFunctionBeginUser;
  PetscCall(mc_model_create(m->n_layers, m->input_shape, &c));
  PetscCall(PetscStrncpy(c->source, m->source, sizeof(c->source)));
  PetscCall(PetscStrncpy(c->format, m->format, sizeof(c->format)));
  for (PetscInt l = 0; l < m->n_layers; ++l) {
    MCLayer *L = &c->layers[l];

    *L        = m->layers[l];
    L->weight = L->bias = L->gamma = L->beta = L->moving_mean = L->moving_var = NULL;
    L->inputs = NULL;
    PetscCall(mc_model_set_inputs(L, m->layers[l].n_inputs, m->layers[l].inputs));
    if (L->type == MC_LAYER_DENSE || L->type == MC_LAYER_CONV2D) PetscCall(mc_model_init_glorot(L, seed, task0 + (uint64_t)wl++));
    else if (L->type == MC_LAYER_BATCHNORM) {
      PetscInt n = PetscMax(PetscMax(L->n_out, L->out_shape[2]), 1);

      /* gamma NULL = 1, beta NULL = 0; moving mean 0 and variance 1. */
      PetscCall(PetscCalloc1(n, &L->moving_mean));
      PetscCall(PetscMalloc1(n, &L->moving_var));
      for (PetscInt j = 0; j < n; ++j) L->moving_var[j] = 1.0f;
    }
  }
  PetscCall(mc_model_set_outputs(c, m->n_outputs, m->outputs));
  *out = c;
  PetscFunctionReturn(0);
}
