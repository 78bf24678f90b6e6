/* src/model/nn_impl.h: internals shared by forward.c and backward.c (the engine's state). */
#pragma once
#include "mc/forward.h"

/* Geometry of one spatial axis of a conv or pooling window: output size and padding before. */
typedef struct {
  PetscInt oh, ow;   /* output height, width */
  PetscInt pt, pl;   /* padding top, left */
} MCWinGeom;

struct MCForward_s {
  const MCModel *model;      /* borrowed */
  PetscInt       max_batch;  /* examples per run at most */
  PetscInt       n;          /* examples of the last run */
  PetscInt       n_layers;
  PetscInt       in_size0;   /* elements of one input example */
  PetscInt      *in_size;    /* per layer, elements per example of its input */
  PetscInt      *out_size;   /* per layer, elements per example of its output */
  MCWinGeom     *geom;       /* per layer (conv and pooling only) */
  float        **out;        /* per layer output cache, max_batch * out_size */
  PetscBool     *own_out;    /* out[i] allocated here (Flatten aliases its input) */
  float        **pre;        /* pre-activation cache of Dense/Conv2D with a non-linear act, else NULL */
  float        **bn_scale, **bn_shift; /* BatchNorm as y = x*scale + shift, per channel */
  const float   *x;          /* input of the last full pass, borrowed */
  PetscBool      have_run;   /* a full pass happened */
  PetscInt       dirty;      /* first layer changed since the last run (n_layers = none) */

  /* Lesions: per layer, channels (last axis, modulo mask_c[i]) of its input read as 0 (outgoing), and
     output channels whose pre-activation is 0 (incoming). Sorted, unique. */
  PetscInt **in_mask, *n_in_mask, *in_mask_c;
  PetscInt **pre_mask, *n_pre_mask;
  float     *masked;         /* scratch: a masked copy of a layer input, max_batch * max in_size */

  /* Training-mode dropout. */
  PetscBool  train;
  MCRng     *rng;
  float    **drop;           /* per Dropout layer: 0 or 1/(1-rate) per element, max_batch * size */
  PetscBool  dropped;        /* the last run was in training mode (drop[] holds its masks) */

  /* im2col scratch (forward and backward), and the backward ping-pong buffers. */
  float   *col, *dcol;
  PetscInt n_col;            /* floats in col (and dcol once allocated) */
  PetscInt max_size;         /* largest in_size / out_size of any layer */
  float   **grad;            /* backward: per layer, the gradient of its output, max_batch * out_size (lazy) */
  PetscBool *gset, *gneed;   /* grad[i] holds a value this pass; a gradient is wanted at layer i */
  float    *gin, *gtmp;      /* the input's gradient (max_batch * in_size0) and scratch (max_batch * max_size) */
  PetscBool gin_set;
  PetscBool relu_redirect;   /* Lucid's redirected ReLU gradient (feature visualization) */
};

/* Shared kernels (forward.c). */
PetscInt mc__nn_chunk(const MCForward *f, PetscInt i);
void     mc__nn_im2col(const MCLayer *L, const MCWinGeom *g, PetscInt grp, PetscInt n_ex, const float *x, float *col);
void     mc__nn_col2im(const MCLayer *L, const MCWinGeom *g, PetscInt grp, PetscInt n_ex, const float *col, float *dx);
const float *mc__nn_input(const MCForward *f, PetscInt i, PetscInt j);

