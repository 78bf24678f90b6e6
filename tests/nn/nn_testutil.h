/* tests/nn/nn_testutil.h: building small models in memory from a one-line-per-layer spec, for nn tests. */
#pragma once
#include "mc/model.h"
#include "mc/sys.h"

/* Spec lines (';' or newline separated):
     input H W C
     dense N ACT                     ACT as mc_model_activation_parse (leaky_relu slope 0.1)
     conv2d KH KW SH SW PAD N ACT    PAD valid|same
     maxpool2d KH KW SH SW PAD  /  avgpool2d KH KW SH SW PAD
     flatten | softmax | dropout RATE | activation ACT | batchnorm EPS
   Tensors (Keras layout, in layer order: dense W b; conv K b; batchnorm gamma beta mean var) come from
   `weights` (n_weights floats) if not NULL, else random: kernels U(-a, a) Glorot, biases U(-0.1, 0.1),
   gamma U(0.5, 1.5), beta/mean U(-0.5, 0.5), var U(0.5, 1.5), from the stream (seed, MC_STREAM_INIT, 0). */
PetscErrorCode nn_test_build(const char *spec, const float *weights, PetscInt n_weights, uint64_t seed, MCModel **out);
