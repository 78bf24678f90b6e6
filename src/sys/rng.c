/* src/sys/rng.c: counter-based random streams (Random123 Philox4x32-10). */
#include <math.h>
#include <Random123/philox.h>
#include "mc/sys.h"

void mc_rng_init(MCRng *r, uint64_t seed, MCStreamTag tag, uint64_t task)
{
  r->key[0] = (uint32_t)(seed & 0xffffffffu);
  r->key[1] = (uint32_t)(seed >> 32);
  /* The task id takes the high word of the block counter plus word 3, so 2^32 blocks (2^34 words) per task
     and 2^64 tasks per tag; the tag sits in word 2. */
  r->ctr[0] = 0;
  r->ctr[1] = (uint32_t)(task >> 32);
  r->ctr[2] = (uint32_t)tag;
  r->ctr[3] = (uint32_t)(task & 0xffffffffu);
  r->n_buf  = 0;
}

static void refill(MCRng *r)
{
  philox4x32_ctr_t c = {{r->ctr[0], r->ctr[1], r->ctr[2], r->ctr[3]}};
  philox4x32_key_t k = {{r->key[0], r->key[1]}};
  philox4x32_ctr_t out = philox4x32(c, k);

  for (int i = 0; i < 4; ++i) r->buf[i] = out.v[i];
  r->n_buf = 4;
  r->ctr[0]++;
}

uint32_t mc_rng_u32(MCRng *r)
{
  if (r->n_buf == 0) refill(r);
  return r->buf[4 - r->n_buf--];
}

uint64_t mc_rng_u64(MCRng *r)
{
  uint64_t hi = mc_rng_u32(r);
  uint64_t lo = mc_rng_u32(r);
  return (hi << 32) | lo;
}

double mc_rng_uniform(MCRng *r)
{
  return (double)(mc_rng_u64(r) >> 11) * 0x1.0p-53;
}

uint64_t mc_rng_below(MCRng *r, uint64_t n)
{
  /* Rejection: x is kept when it lies below L, the largest multiple of n not above 2^64 - 1, i.e. when
     its block of n values, starting at x - x % n, is complete: x - x % n <= 2^64 - 1 - n. (Equivalent
     to x < L; one division instead of two.) */
  uint64_t x, m;
  if (n <= 1) return 0;
  do {
    x = mc_rng_u64(r);
    m = x % n;
  } while (x - m > UINT64_MAX - n);
  return m;
}

double mc_rng_normal(MCRng *r)
{
  double u1, u2;
  do u1 = mc_rng_uniform(r);
  while (u1 <= 0.0);
  u2 = mc_rng_uniform(r);
  return sqrt(-2.0 * log(u1)) * cos(2.0 * PETSC_PI * u2);
}

void mc_rng_permute(MCRng *r, PetscInt n, PetscInt perm[])
{
  for (PetscInt i = n - 1; i > 0; --i) {
    PetscInt j = (PetscInt)mc_rng_below(r, (uint64_t)i + 1);
    PetscInt t = perm[i];
    perm[i]    = perm[j];
    perm[j]    = t;
  }
}
