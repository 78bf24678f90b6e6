/* src/sys/hash.c: FNV-1a, the 64-bit hash that names a configuration's checkpoint files. */
#include "mc/sys.h"

uint64_t mc_sys_hash(uint64_t h, const void *data, size_t n)
{
  const unsigned char *p = (const unsigned char *)data;

  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 1099511628211ULL;
  }
  return h;
}
