/* src/synth/planted.c: MLPs with planted modules. */
#include "mc/synth.h"
#include "mc/sys.h"

/* A balanced random assignment of `n` units to `m` modules (a layer narrower than m holds only some). */
static PetscErrorCode assign_modules(PetscInt n, PetscInt m, uint64_t seed, PetscInt layer, PetscInt module[])
{
  MCRng r;

  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < n; ++i) module[i] = i % m;
  mc_rng_init(&r, seed, MC_STREAM_SYNTH, (uint64_t)layer * 2);
  mc_rng_permute(&r, n, module);
  PetscFunctionReturn(0);
}

PetscErrorCode mc_synth_planted_mlp(const MCSynthOpts *o, MCModel **out, PetscInt **labels)
{
  PetscInt  input_shape[3] = {1, 1, 0}, n_nodes = 0, off = 0;
  PetscInt *prev, *cur;
  MCModel  *m;

  PetscFunctionBeginUser;
  PetscCheck(o->n_widths >= 2, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "a synthetic MLP needs at least 2 widths, got %" PetscInt_FMT, o->n_widths);
  PetscCheck(o->n_modules >= 1, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "the number of modules must be at least 1, got %" PetscInt_FMT, o->n_modules);
  for (PetscInt l = 0; l < o->n_widths; ++l) {
    PetscCheck(o->widths[l] >= 1, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "width %" PetscInt_FMT " of layer %" PetscInt_FMT " must be at least 1", o->widths[l], l);
    n_nodes += o->widths[l];
  }
  input_shape[2] = o->widths[0];
  PetscCall(mc_model_create(o->n_widths - 1, input_shape, &m));
  PetscCall(PetscStrncpy(m->format, "synthetic", sizeof(m->format)));
  PetscCall(PetscStrncpy(m->source, "planted-modules MLP", sizeof(m->source)));
  if (labels) PetscCall(PetscMalloc1(n_nodes, labels));

  PetscCall(PetscMalloc2(o->widths[0], &prev, 1, &cur));
  PetscCall(assign_modules(o->widths[0], o->n_modules, o->seed, 0, prev));
  if (labels) for (PetscInt i = 0; i < o->widths[0]; ++i) (*labels)[off++] = prev[i];
  for (PetscInt l = 1; l < o->n_widths; ++l) {
    PetscInt n_in = o->widths[l - 1], n_out = o->widths[l];
    MCLayer *L    = &m->layers[l - 1];
    MCRng    r;

    PetscCall(PetscFree2(prev, cur));
    PetscCall(PetscMalloc2(n_in, &prev, n_out, &cur));
    PetscCall(assign_modules(n_in, o->n_modules, o->seed, l - 1, prev));
    PetscCall(assign_modules(n_out, o->n_modules, o->seed, l, cur));
    if (labels) for (PetscInt j = 0; j < n_out; ++j) (*labels)[off++] = cur[j];

    L->type = MC_LAYER_DENSE;
    PetscCall(PetscSNPrintf(L->name, sizeof(L->name), "dense_%" PetscInt_FMT, l - 1));
    L->act   = l + 1 < o->n_widths ? MC_ACT_RELU : MC_ACT_LINEAR;
    L->n_in  = n_in;
    L->n_out = n_out;
    PetscCall(PetscMalloc1(n_in * n_out, &L->weight));
    PetscCall(PetscCalloc1(n_out, &L->bias));
    mc_rng_init(&r, o->seed, MC_STREAM_SYNTH, (uint64_t)l * 2 + 1);
    for (PetscInt i = 0; i < n_in; ++i) {
      for (PetscInt j = 0; j < n_out; ++j) {
        double mag  = prev[i] == cur[j] ? o->strong * (0.5 + mc_rng_uniform(&r)) : o->weak * mc_rng_uniform(&r);
        double sign = (mc_rng_u32(&r) & 1) ? 1.0 : -1.0;
        if (prev[i] != cur[j] && mc_rng_uniform(&r) >= o->p_cross) mag = 0;
        L->weight[i * n_out + j] = (float)(sign * mag);
      }
    }
  }
  PetscCall(PetscFree2(prev, cur));
  PetscCall(mc_model_finalize_shapes(PETSC_COMM_SELF, m));
  *out = m;
  PetscFunctionReturn(0);
}
