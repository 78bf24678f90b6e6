/* include/mc/forward.h: the neural-network engine - a batched single-precision forward pass over an MCModel
   (BLAS sgemm; convolution as im2col + GEMM) with per-layer caches, lesion masks and restart from any layer,
   and the matching backward pass (gradients of weights, biases and the input).

   Layer indices below are indices into model->layers[] (0 .. n_layers-1). "Unit layers" follow
   include/mc/model.h: 0 = the model input, i >= 1 = the outputs of the i-th Dense/Conv2D layer.

   Typical use by the importance test (many lesions of one network over a test set):
     mc_forward_create(model, batch, &f);
     for each batch of the test set:
       mc_forward_run(f, n, x, 0);                       full pass, every layer cached
       for each lesion:
         mc_forward_lesion_set(f, unit_layer, k, units, MC_LESION_OUTGOING);
         mc_forward_run(f, n, NULL, MC_FORWARD_RESUME);   recomputes only the layers the lesion changes
         ... read mc_forward_output(f, last) ...
         mc_forward_lesion_clear(f);
     mc_forward_run(f, n, NULL, MC_FORWARD_RESUME) after a clear restores the clean outputs the same way.

   The model is borrowed and never modified (lesions are masks, not copies); it must outlive the engine.
   Nothing here is collective except mc_forward_evaluate. */
#pragma once
#include <petscsys.h>
#include "mc/model.h"
#include "mc/sys.h"

typedef struct MCForward_s MCForward;

/* How a lesion silences units (docs/importance.md). OUTGOING zeroes the units' slice in every consuming
   kernel (equivalently: the consumer reads 0 for them at every spatial position); INCOMING zeroes their
   kernel entries and biases (their pre-activation becomes 0, so the post-activation is act(0)). */
typedef enum { MC_LESION_OUTGOING, MC_LESION_INCOMING } MCLesionMode;

/* mc_forward_lesion_mode_name - "outgoing" or "incoming" (the [importance] lesion values, in that order);
   "unknown" out of range. Not collective. */
const char *mc_forward_lesion_mode_name(MCLesionMode mode);

/* Where the gradient handed to mc_backward_run is taken: w.r.t. the layer's output, or w.r.t. its
   pre-activation (Dense/Conv2D: after the bias, before the fused activation; Activation/Softmax layers:
   their input). */
typedef enum { MC_GRAD_OUTPUT, MC_GRAD_PREACT } MCGradAt;

/* `from` value of mc_forward_run: restart at the earliest layer changed (by a lesion) since the last run. */
#define MC_FORWARD_RESUME (-1)

/* mc_forward_create - An engine for `model` and batches of up to max_batch examples. Allocates the caches
   (every layer's output, and pre-activations of Dense/Conv2D layers with a non-linear fused activation):
   about max_batch * sum of layer widths floats. Not collective.
   Caller owns *out; release with mc_forward_destroy().
   Errors: PETSC_ERR_USER_INPUT for shapes this engine cannot run (naming the layer). */
PetscErrorCode mc_forward_create(const MCModel *model, PetscInt max_batch, MCForward **out);

/* mc_forward_destroy - Free *f; sets *f = NULL; does nothing on NULL. Not collective. */
PetscErrorCode mc_forward_destroy(MCForward **f);

/* mc_forward_run - Run n <= max_batch examples. x holds n examples of H*W*C floats, channels-last.
   from = 0: a full pass from x (x is borrowed and must stay valid while later runs restart from 0 or
   while mc_backward_run needs it). from = l > 0: recompute layers l.. from the cached output of layer l-1
   of the previous run (same n; x may be NULL). from = MC_FORWARD_RESUME: restart where lesions changed
   things since the last run (nothing is recomputed if nothing changed). Not collective. */
PetscErrorCode mc_forward_run(MCForward *f, PetscInt n, const float x[], PetscInt from);

/* mc_forward_output - The cached output of layer `layer` (n x width floats, row = example) of the last run.
   layer = -1 gives the input. Borrowed; valid until the next run. Not collective. */
PetscErrorCode mc_forward_output(MCForward *f, PetscInt layer, const float **y, PetscInt *width);

/* mc_forward_preact - The pre-activation of Dense/Conv2D layer `layer` (after bias and incoming lesions,
   before the fused activation); for any other layer, its input. Borrowed; valid until the next run. */
PetscErrorCode mc_forward_preact(MCForward *f, PetscInt layer, const float **z, PetscInt *width);

/* mc_forward_n_layers / mc_forward_n_unit_layers - number of model layers / of unit layers (1 + weight
   layers). mc_forward_unit_layer - the layers[] index holding unit layer u (-1 for the input), its number of
   units (channels for a conv layer, neurons for a dense one; for u = 0 the input features H*W*C when the first
   weight layer is Dense, as in the weight graph, else the input channels) and the elements per example of that
   layer's output. Not collective. */
PetscInt       mc_forward_n_layers(const MCForward *f);
PetscInt       mc_forward_n_unit_layers(const MCForward *f);
PetscErrorCode mc_forward_unit_layer(const MCForward *f, PetscInt u, PetscInt *layer, PetscInt *n_units, PetscInt *width);

/* mc_forward_lesion_set - Silence units[0..n_units) of unit layer u (in addition to lesions already set).
   OUTGOING needs a consuming Dense/Conv2D layer after u; INCOMING needs u >= 1 (u = 0 is treated as
   OUTGOING). Marks the affected layers for MC_FORWARD_RESUME; *restart (may be NULL) is the first layer that
   must be recomputed. Not collective. Errors: PETSC_ERR_USER_INPUT for a bad layer or unit index. */
PetscErrorCode mc_forward_lesion_set(MCForward *f, PetscInt u, PetscInt n_units, const PetscInt units[], MCLesionMode mode, PetscInt *restart);

/* mc_forward_lesion_set_input - Silence input channels units[0..n_units) of Dense/Conv2D layer `layer`
   alone (the consumer's input slice: the paper's ImageNet lesion, docs/method.md section 8), its input seen
   as positions of `channels` channels each (a Dense layer after a Flatten: every position of a channel).
   Other readers of the same tensor are unaffected. Marks the layer for MC_FORWARD_RESUME; *restart (may be
   NULL) is `layer`. Not collective. Errors: PETSC_ERR_USER_INPUT for a layer that is not Dense/Conv2D, a
   width its input is not a multiple of, or a channel out of range. */
PetscErrorCode mc_forward_lesion_set_input(MCForward *f, PetscInt layer, PetscInt channels, PetscInt n_units, const PetscInt units[], PetscInt *restart);

/* mc_forward_lesion_clear - Remove every lesion; *restart (may be NULL) as above. Not collective. */
PetscErrorCode mc_forward_lesion_clear(MCForward *f, PetscInt *restart);

/* mc_forward_set_training - Training mode on: Dropout layers drop with their rate (inverted dropout, kept
   values scaled by 1/(1-rate)), masks drawn from *rng in order example-major; off: Dropout is the identity.
   rng is borrowed and advanced by each run while training is on. Not collective. */
PetscErrorCode mc_forward_set_training(MCForward *f, PetscBool train, MCRng *rng);

/* mc_forward_predict - argmax of the last layer's output for each example of the last run (first maximum
   on ties) into pred[0..n). Not collective. */
PetscErrorCode mc_forward_predict(MCForward *f, PetscInt pred[]);

/* mc_forward_evaluate - Classify n examples x (n*H*W*C floats) with labels y in [0, n_classes), split in
   contiguous blocks across the ranks of comm and batched by the engine's max_batch; lesions set on f apply.
   On return every rank has correct[c] and total[c] (per class, n_classes entries each, exact integer
   sums, so identical for any rank count). Collective on comm; every rank passes the same data. */
PetscErrorCode mc_forward_evaluate(MPI_Comm comm, MCForward *f, PetscInt n, const float x[], const PetscInt y[], PetscInt n_classes, PetscInt correct[], PetscInt total[]);

/* ---- Backward pass ---- */

/* Gradients, one slot per model layer, shaped like the layer's tensors (NULL where the layer has none). */
typedef struct {
  PetscInt n_layers;
  float  **dweight; /* Dense/Conv2D: like layer->weight */
  float  **dbias;   /* like layer->bias */
  float  **dgamma;  /* BatchNorm scale (only if layer->gamma) */
  float  **dbeta;   /* BatchNorm shift (only if layer->beta) */
} MCGrads;

/* mc_grads_create - Zeroed gradient storage for `model`. Not collective.
   Caller owns *out; release with mc_grads_destroy(). */
PetscErrorCode mc_grads_create(const MCModel *model, MCGrads **out);

/* mc_grads_destroy - Free *g; sets *g = NULL; does nothing on NULL. Not collective. */
PetscErrorCode mc_grads_destroy(MCGrads **g);

/* mc_backward_set_relu_redirect - Lucid's redirected ReLU gradient for feature visualization (the
   method specification, section 8): when on, a ReLU (fused or an Activation layer) whose ordinary gradient is zero for a whole example
   passes the incoming gradient g instead, except where its input is negative and g > 0 (a descent step on the
   minimised objective would push the input lower). dtop must then be the gradient of the objective being
   minimised (e.g. -J). Off by default. Not collective. */
PetscErrorCode mc_backward_set_relu_redirect(MCForward *f, PetscBool on);

/* mc_backward_run - Back-propagate dtop (n x width of layer `top` of the last run, w.r.t. its output or
   pre-activation as `at` says) down to the input. If g is not NULL, overwrites the gradients of every
   layer at or below `top` with the sums over the batch (layers above top are left alone); if dx is not NULL,
   writes the gradient w.r.t. the input (n * H*W*C floats). Works on any DAG: gradients of a layer read by
   several layers are summed, layers top does not depend on are left alone. Uses the caches of the last run,
   which must have been a pass from layer 0 with no lesions set (training-mode dropout masks are honoured).
   BatchNorm is differentiated in inference mode (moving statistics are constants). MaxPool sends the
   gradient to the first maximum of each window. Not collective. */
PetscErrorCode mc_backward_run(MCForward *f, PetscInt top, MCGradAt at, const float dtop[], MCGrads *g, float dx[]);
