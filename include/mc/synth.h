/* include/mc/synth.h: synthetic networks and graphs with planted modules, for tests and scaling studies. */
#pragma once
#include <petscmat.h>
#include "mc/model.h"

typedef struct {
  PetscInt  n_widths;   /* layers including input and output */
  PetscInt *widths;     /* n_widths unit counts, e.g. 784, 2048, 2048, 10 */
  PetscInt  n_modules;  /* m planted modules */
  PetscReal strong;     /* typical |weight| inside a module */
  PetscReal weak;       /* typical |weight| across modules */
  PetscReal p_cross;    /* probability that a cross-module weight is non-zero (1 = dense) */
  uint64_t  seed;       /* streams (seed, MC_STREAM_SYNTH, layer) */
} MCSynthOpts;

/* mc_synth_planted_mlp - An MLP (Dense layers with ReLU, linear output) whose units are split into
   n_modules modules in every layer (a random balanced assignment per layer): weights between units of
   the same module have magnitude ~ strong, across modules ~ weak (or zero with probability 1 - p_cross).
   *labels (optional, NULL to skip) receives the planted module of every graph node in graph order
   (input units, then each layer's units). Not collective; deterministic in opts->seed.
   Caller owns *out (mc_model_destroy) and *labels (PetscFree). */
PetscErrorCode mc_synth_planted_mlp(const MCSynthOpts *opts, MCModel **out, PetscInt **labels);

typedef struct {
  PetscInt  n_nodes;   /* N */
  PetscInt  n_modules; /* m; node i belongs to module i % m */
  PetscInt  degree;    /* neighbours per node (even; half of them drawn as +offset, half as -offset) */
  PetscReal p_in;      /* fraction of a node's neighbours inside its module */
  uint64_t  seed;
} MCSynthSparseOpts;

/* mc_synth_planted_sparse - A large sparse symmetric graph with planted modules, built without any
   communication: within a module (and between a module pair) nodes are linked by a circulant pattern of
   random offsets shared by the module, so every rank computes its own rows exactly, with exact
   preallocation, and weights come from a hash of the unordered node pair (so A is symmetric). Module
   of node i is i % n_modules, which scatters every module over all ranks. Collective on comm.
   Caller owns *A (MatDestroy). */
PetscErrorCode mc_synth_planted_sparse(MPI_Comm comm, const MCSynthSparseOpts *opts, Mat *A);
