/* src/train/arch.c: the architectures modclust-train builds (the paper's MLP and small CNN). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "mc/train.h"

static PetscErrorCode parse_widths(const MCTrainConfig *tc, PetscInt max, PetscInt *n, PetscInt w[])
{
  const char *p = tc->widths;

  PetscFunctionBeginUser;
  *n = 0;
  while (*p) {
    char *end;
    long  v = strtol(p, &end, 10);
    PetscCheck(end != p && v >= 1 && v <= 1000000, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "%s: train.widths = '%s' must be positive integers separated by commas.", tc->path, tc->widths);
    PetscCheck(*n < max, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "%s: train.widths = '%s' has more than %" PetscInt_FMT " entries.", tc->path, tc->widths, max);
    w[(*n)++] = (PetscInt)v;
    p         = end;
    while (*p == ',' || *p == ' ') p++;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode mc_train_model_create(const MCTrainConfig *tc, const PetscInt input_shape[3], PetscInt n_classes, MCModel **out)
{
  PetscInt  nw, w[64], nl = 0, li = 0, wl = 0;
  MCModel  *m;
  PetscBool drop = tc->dropout > 0 ? PETSC_TRUE : PETSC_FALSE;

  PetscFunctionBeginUser;
  PetscCall(parse_widths(tc, 64, &nw, w));
  if (tc->arch == MC_TRAIN_MLP) {
    nl = 1 + nw * (drop ? 2 : 1) + 1;
  } else {
    PetscCheck(nw == 4, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "%s: train.arch = cnn needs train.widths = c1,c2,c3,dense (4 numbers), got '%s'.", tc->path, tc->widths);
    nl = 3 + 2 + 1 + 1 + 1 + (drop ? 3 : 0);
  }
  PetscCall(mc_model_create(nl, input_shape, &m));
  PetscCall(PetscStrncpy(m->format, "native", sizeof(m->format)));
  PetscCall(PetscSNPrintf(m->source, sizeof(m->source), "modclust-train %s", tc->path));
#define NEXT(T, nm) (m->layers[li].type = (T), PetscSNPrintf(m->layers[li].name, sizeof(m->layers[li].name), "%s", nm), &m->layers[li++])
  if (tc->arch == MC_TRAIN_MLP) {
    PetscInt fan = input_shape[0] * input_shape[1] * input_shape[2];
    (void)NEXT(MC_LAYER_FLATTEN, "flatten");
    for (PetscInt k = 0; k <= nw; ++k) {
      char     nm[32];
      MCLayer *L;
      PetscCall(PetscSNPrintf(nm, sizeof(nm), "dense_%" PetscInt_FMT, k));
      L        = NEXT(MC_LAYER_DENSE, nm);
      L->n_in  = fan;
      L->n_out = k < nw ? w[k] : n_classes;
      L->act   = k < nw ? MC_ACT_RELU : (tc->variant != MC_VARIANT_POLY ? MC_ACT_SOFTMAX : MC_ACT_LINEAR);
      PetscCall(mc_model_init_glorot(L, (uint64_t)tc->seed, (uint64_t)wl++));
      fan = L->n_out;
      if (k < nw && drop) {
        PetscCall(PetscSNPrintf(nm, sizeof(nm), "dropout_%" PetscInt_FMT, k));
        L       = NEXT(MC_LAYER_DROPOUT, nm);
        L->rate = (float)tc->dropout;
      }
    }
  } else {
    PetscInt cin = input_shape[2], h = input_shape[0], wd = input_shape[1];
    for (PetscInt k = 0; k < 3; ++k) {
      char     nm[32];
      MCLayer *L;
      PetscCall(PetscSNPrintf(nm, sizeof(nm), "conv2d_%" PetscInt_FMT, k));
      L        = NEXT(MC_LAYER_CONV2D, nm);
      L->kh    = L->kw = 3;
      L->stride_h = L->stride_w = 1;
      L->padding  = MC_PAD_SAME;
      L->n_in     = cin;
      L->n_out    = w[k];
      L->act      = MC_ACT_RELU;
      PetscCall(mc_model_init_glorot(L, (uint64_t)tc->seed, (uint64_t)wl++));
      cin = w[k];
      if (k >= 1) {
        PetscCall(PetscSNPrintf(nm, sizeof(nm), "max_pooling2d_%" PetscInt_FMT, k - 1));
        L     = NEXT(MC_LAYER_MAXPOOL2D, nm);
        L->kh = L->kw = 2;
        L->stride_h = L->stride_w = 2;
        h /= 2, wd /= 2;
        if (drop) {
          PetscCall(PetscSNPrintf(nm, sizeof(nm), "dropout_%" PetscInt_FMT, k - 1));
          L       = NEXT(MC_LAYER_DROPOUT, nm);
          L->rate = (float)(tc->dropout / 2);
        }
      }
    }
    (void)NEXT(MC_LAYER_FLATTEN, "flatten");
    {
      MCLayer *L = NEXT(MC_LAYER_DENSE, "dense_0");
      PetscInt fan = h * wd * cin;
      L->n_in  = fan;
      L->n_out = w[3];
      L->act   = MC_ACT_RELU;
      PetscCall(mc_model_init_glorot(L, (uint64_t)tc->seed, (uint64_t)wl++));
      if (drop) {
        L       = NEXT(MC_LAYER_DROPOUT, "dropout_2");
        L->rate = (float)tc->dropout;
      }
      L        = NEXT(MC_LAYER_DENSE, "dense_1");
      L->n_in  = w[3];
      L->n_out = n_classes;
      L->act   = MC_ACT_SOFTMAX;
      PetscCall(mc_model_init_glorot(L, (uint64_t)tc->seed, (uint64_t)wl++));
    }
  }
#undef NEXT
  PetscCheck(li == nl, PETSC_COMM_SELF, PETSC_ERR_PLIB, "Architecture built %" PetscInt_FMT " layers, expected %" PetscInt_FMT ".", li, nl);
  PetscCall(mc_model_finalize_shapes(PETSC_COMM_SELF, m));
  *out = m;
  PetscFunctionReturn(0);
}

PetscErrorCode mc_train_model_load_weights(const MCTrainConfig *tc, MCModel *m, const MCModel *from)
{
  PetscInt *wm, *wf, n_m, n_f;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc2(m->n_layers, &wm, from->n_layers, &wf));
  n_m = mc_model_weight_layers(m, wm);
  n_f = mc_model_weight_layers(from, wf);
  PetscCheck(n_m == n_f, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "%s (train.init): %" PetscInt_FMT " Dense/Conv2D layers, but the configured architecture (train.arch, train.widths) has %" PetscInt_FMT,
             tc->init, n_f, n_m);
  for (PetscInt w = 0; w < n_m; ++w) {
    MCLayer       *L = &m->layers[wm[w]];
    const MCLayer *F = &from->layers[wf[w]];

    PetscCheck(F->type == L->type && F->n_in == L->n_in && F->n_out == L->n_out && (L->type != MC_LAYER_CONV2D || (F->kh == L->kh && F->kw == L->kw)), PETSC_COMM_SELF,
               PETSC_ERR_USER_INPUT,
               "%s (train.init): layer '%s' is a %s of %" PetscInt_FMT " -> %" PetscInt_FMT " units (kernel %" PetscInt_FMT "x%" PetscInt_FMT "), but weight layer %" PetscInt_FMT
               " of the configured architecture is a %s of %" PetscInt_FMT " -> %" PetscInt_FMT " (kernel %" PetscInt_FMT "x%" PetscInt_FMT ")",
               tc->init, F->name, mc_model_layer_type_name(F->type), F->n_in, F->n_out, F->kh, F->kw, w, mc_model_layer_type_name(L->type), L->n_in, L->n_out, L->kh, L->kw);
    PetscCheck(F->act == L->act, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "%s (train.init): layer '%s' has activation %s, the configured architecture's weight layer %" PetscInt_FMT " has %s",
               tc->init, F->name, mc_model_activation_name(F->act), w, mc_model_activation_name(L->act));
    PetscCall(PetscArraycpy(L->weight, F->weight, mc_model_weight_count(L)));
    if (F->bias) PetscCall(PetscArraycpy(L->bias, F->bias, L->n_out));
    else PetscCall(PetscArrayzero(L->bias, L->n_out));
  }
  PetscCall(PetscFree2(wm, wf));
  PetscFunctionReturn(0);
}
