/* src/train/datasets.c: the paper's synthetic dataset variants built from a base image dataset. */
#include <string.h>
#include "mc/train.h"

PetscErrorCode mc_train_dataset_variant(const MCDataset *base, const char *variant, PetscInt n, uint64_t seed, PetscInt split_tag, MCDataset **out)
{
  MCDataset *d;
  PetscInt   H = base->shape[0], W = base->shape[1], C = base->shape[2], sz = H * W * C;
  PetscBool  same = strstr(variant, "_same") ? PETSC_TRUE : PETSC_FALSE;
  PetscBool  halves = !strncmp(variant, "halves", 6) ? PETSC_TRUE : PETSC_FALSE;
  PetscBool  stacked = !strncmp(variant, "stacked", 7) ? PETSC_TRUE : PETSC_FALSE;
  PetscBool  rgb     = !strcmp(variant, "rgb") ? PETSC_TRUE : PETSC_FALSE;
  PetscInt  *count = NULL, *start = NULL, *members = NULL, nc = base->n_classes;
  MCRng      r;

  PetscFunctionBeginUser;
  if (n <= 0 || n > base->n) n = base->n;
  PetscCheck(halves || stacked || rgb || !strcmp(variant, "plain"), PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Unknown dataset variant '%s' (plain, halves, halves_same, stacked, stacked_same, rgb).", variant);
  PetscCheck(!rgb || C == 1, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Dataset variant rgb needs grey images, %s has %" PetscInt_FMT " channels.", base->source, C);
  PetscCheck(!halves || W % 2 == 0, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Dataset variant %s needs an even image width, %s has %" PetscInt_FMT ".", variant, base->source, W);
  PetscCall(PetscNew(&d));
  d->n         = n;
  d->shape[0]  = H;
  d->shape[1]  = W;
  d->shape[2]  = stacked ? 2 * C : rgb ? 3 : C;
  d->n_classes = nc;
  PetscCall(PetscSNPrintf(d->source, sizeof(d->source), "%s (%s)", base->source, variant));
  PetscCall(PetscMalloc1((size_t)n * H * W * d->shape[2], &d->x));
  PetscCall(PetscMalloc1(n, &d->y));
  if (rgb) {
    for (PetscInt i = 0; i < n * sz; ++i) d->x[3 * i] = d->x[3 * i + 1] = d->x[3 * i + 2] = base->x[i];
    PetscCall(PetscArraycpy(d->y, base->y, n));
    *out = d;
    PetscFunctionReturn(0);
  }
  if (!halves && !stacked) {
    PetscCall(PetscArraycpy(d->x, base->x, n * sz));
    PetscCall(PetscArraycpy(d->y, base->y, n));
    *out = d;
    PetscFunctionReturn(0);
  }
  /* Partners come from the whole base set (by class for *_same). */
  PetscCall(PetscCalloc1(nc, &count));
  PetscCall(PetscCalloc1(nc + 1, &start));
  PetscCall(PetscMalloc1(base->n, &members));
  for (PetscInt i = 0; i < base->n; ++i) count[base->y[i]]++;
  for (PetscInt c = 0; c < nc; ++c) start[c + 1] = start[c] + count[c];
  PetscCall(PetscArrayzero(count, nc));
  for (PetscInt i = 0; i < base->n; ++i) members[start[base->y[i]] + count[base->y[i]]++] = i;
  mc_rng_init(&r, seed, MC_STREAM_DATA, (uint64_t)split_tag);
  for (PetscInt i = 0; i < n; ++i) {
    PetscInt     yi = base->y[i], j;
    const float *a = base->x + i * sz, *b;
    float       *o = d->x + i * H * W * d->shape[2];
    if (same) j = members[start[yi] + (PetscInt)mc_rng_below(&r, (uint64_t)count[yi])];
    else j = (PetscInt)mc_rng_below(&r, (uint64_t)base->n);
    b       = base->x + j * sz;
    d->y[i] = same ? yi : (yi + base->y[j]) % nc;
    if (halves) {
      /* Each image squeezed to half width (mean of column pairs): a on the left, b on the right. */
      for (PetscInt h = 0; h < H; ++h)
        for (PetscInt w = 0; w < W / 2; ++w)
          for (PetscInt c = 0; c < C; ++c) {
            o[(h * W + w) * C + c]         = 0.5f * (a[(h * W + 2 * w) * C + c] + a[(h * W + 2 * w + 1) * C + c]);
            o[(h * W + W / 2 + w) * C + c] = 0.5f * (b[(h * W + 2 * w) * C + c] + b[(h * W + 2 * w + 1) * C + c]);
          }
    } else {
      for (PetscInt p = 0; p < H * W; ++p)
        for (PetscInt c = 0; c < C; ++c) {
          o[p * 2 * C + c]     = a[p * C + c];
          o[p * 2 * C + C + c] = b[p * C + c];
        }
    }
  }
  PetscCall(PetscFree(count));
  PetscCall(PetscFree(start));
  PetscCall(PetscFree(members));
  *out = d;
  PetscFunctionReturn(0);
}

PetscErrorCode mc_train_poly_create(PetscInt n, uint64_t seed, PetscInt split_tag, MCDataset **x, float **targets)
{
  MCDataset *d;
  MCRng      r;
  float     *t;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&d));
  d->n        = n;
  d->shape[0] = d->shape[1] = 1;
  d->shape[2] = 2;
  PetscCall(PetscSNPrintf(d->source, sizeof(d->source), "poly (seed %llu)", (unsigned long long)seed));
  PetscCall(PetscMalloc1(2 * n, &d->x));
  PetscCall(PetscMalloc1(512 * n, &t));
  mc_rng_init(&r, seed, MC_STREAM_DATA, (uint64_t)(16 + split_tag));
  for (PetscInt i = 0; i < n; ++i) {
    double u = mc_rng_normal(&r), v = mc_rng_normal(&r), pu[3] = {1, u, u * u}, pv[3] = {1, v, v * v}, mono[9];
    d->x[2 * i]     = (float)u;
    d->x[2 * i + 1] = (float)v;
    for (int a = 0; a < 3; ++a)
      for (int b = 0; b < 3; ++b) mono[3 * a + b] = pu[a] * pv[b];
    for (PetscInt j = 0; j < 512; ++j) {
      double s = 0;
      for (int k = 0; k < 9; ++k)
        if (j >> k & 1) s += mono[k];
      t[512 * i + j] = (float)s;
    }
  }
  *x       = d;
  *targets = t;
  PetscFunctionReturn(0);
}
