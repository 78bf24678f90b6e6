/* src/io/half.c: IEEE 754 half precision and bfloat16 to single (safetensors F16/BF16, ONNX FLOAT16/BFLOAT16
   weights). */
#include <string.h>
#include "io/io_impl.h"

float mc__io_half_to_float(uint16_t h)
{
  uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
  float    f;

  if (exp == 0) {
    if (man == 0) bits = sign;
    else { /* subnormal: renormalise */
      int e = -1;
      do {
        ++e;
        man <<= 1;
      } while (!(man & 0x400));
      bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
    }
  } else if (exp == 0x1f) bits = sign | 0x7f800000u | (man << 13);
  else bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
  memcpy(&f, &bits, sizeof(f));
  return f;
}

float mc__io_bf16_to_float(uint16_t b)
{
  uint32_t bits = (uint32_t)b << 16;
  float    f;

  memcpy(&f, &bits, sizeof(f));
  return f;
}
