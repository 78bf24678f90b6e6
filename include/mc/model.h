/* include/mc/model.h: a trained network in one normalised in-memory layout: a directed acyclic graph of
   layers (nodes) joined by tensors (edges), with the sequential chain as the special case.

   Every reader (Keras .h5, safetensors, the native HDF5 file) converts to this layout, so nothing
   downstream knows where a model came from:
   - tensors are channels-last: an activation is H x W x C (a flat vector is 1 x 1 x n);
   - Dense weight is W[n_in][n_out] (Keras order; PyTorch's [out][in] is transposed on read);
   - Conv2D kernel is K[kh][kw][c_in][c_out] (Keras HWIO; PyTorch OIHW is permuted on read);
   - a Dense layer after a Flatten reads its inputs in H, W, C order (PyTorch's C, H, W rows are permuted
     on read);
   - weights are single precision, as trained;
   - layers[] is in topological order: layer i reads the outputs of layers inputs[0..n_inputs) (all < i;
     -1 is the model input). A reader of a chain may leave n_inputs = 0: mc_model_finalize_shapes then
     makes layer i read layer i-1. The network's outputs are outputs[0..n_outputs) (default: the last
     layer); outputs[0] is the one the classifier stages (importance, coherence) read. */
#pragma once
#include <petscsys.h>

typedef enum {
  MC_LAYER_UNSET = -1, /* a [layer.N] section without a type (never in a model) */
  MC_LAYER_DENSE,
  MC_LAYER_CONV2D,
  MC_LAYER_MAXPOOL2D,
  MC_LAYER_AVGPOOL2D,
  MC_LAYER_FLATTEN,
  MC_LAYER_ACTIVATION, /* element-wise, `act` says which */
  MC_LAYER_BATCHNORM,  /* inference mode, per channel (last axis) */
  MC_LAYER_DROPOUT,    /* identity at inference */
  MC_LAYER_SOFTMAX,    /* over the last axis */
  MC_LAYER_ADD,        /* element-wise sum of n_inputs >= 2 tensors of one shape */
  MC_LAYER_CONCAT,     /* along channels (last axis) of tensors of one H x W */
  MC_LAYER_MULTIPLY,   /* element-wise product; a 1 x 1 x C input broadcasts over H x W (gates) */
  MC_LAYER_ZEROPAD2D,  /* zeros around H and W: pad_t, pad_b, pad_l, pad_r */
  MC_LAYER_GLOBALAVGPOOL, /* mean over H x W: H x W x C -> 1 x 1 x C */
  MC_LAYER_RESHAPE,    /* same values, shape `target` (channels-last order kept) */
  MC_LAYER_UPSAMPLE2D, /* nearest neighbour, integer factors kh x kw */
  MC_N_LAYER_TYPES
} MCLayerType;

typedef enum {
  MC_ACT_LINEAR,
  MC_ACT_RELU,
  MC_ACT_SIGMOID,
  MC_ACT_TANH,
  MC_ACT_SOFTMAX,
  MC_ACT_ELU,
  MC_ACT_SELU,
  MC_ACT_SOFTPLUS,
  MC_ACT_GELU,
  MC_ACT_LEAKY_RELU, /* slope in `alpha` */
  MC_ACT_RELU6,
  MC_ACT_HARD_SIGMOID, /* max(0, min(1, alpha*x + act_beta)): Keras 2 alpha 0.2, PyTorch 1/6; 0.5 */
  MC_ACT_HARD_SWISH,   /* x * relu6(x + 3) / 6 */
  MC_ACT_SWISH,        /* x * sigmoid(x) (SiLU) */
  MC_ACT_CLIP,         /* min(max(x, alpha), act_beta) */
  MC_N_ACTS
} MCActivation;

/* Padding of a conv or pooling window: VALID none, SAME Keras' rule (output ceil(n/s), the smaller half
   before), EXPLICIT the pad_t, pad_b, pad_l, pad_r fields (ONNX pads, PyTorch padding). */
typedef enum { MC_PAD_VALID, MC_PAD_SAME, MC_PAD_EXPLICIT } MCPadding;

typedef struct {
  MCLayerType  type;
  char         name[128]; /* the layer's name in the source file */
  PetscInt     in_shape[3];  /* H, W, C of the input (1, 1, n for vectors) */
  PetscInt     out_shape[3]; /* H, W, C of the output */
  PetscInt     n_inputs;     /* producers of the inputs (1 except Add, Concat, Multiply) */
  PetscInt    *inputs;       /* n_inputs layer indices < this layer's, -1 = the model input; owned */

  /* Dense and Conv2D: `act` is applied after the bias (Keras' fused activation; LINEAR if none).
     ACTIVATION layers use `act` alone. */
  MCActivation act;
  float        alpha, act_beta; /* leaky ReLU slope alpha; hard sigmoid slope alpha and offset act_beta;
                                   clip bounds alpha and act_beta */

  /* Dense: n_in x n_out; Conv2D: kh x kw x (c_in / groups) x c_out (n_in = c_in, n_out = c_out; output
     channel o belongs to group o / (c_out / groups); groups = c_in is a depthwise convolution). */
  PetscInt n_in, n_out;
  float   *weight; /* owned */
  float   *bias;   /* n_out entries, owned, NULL when the layer has none */

  /* Conv2D and pooling geometry. */
  PetscInt  kh, kw;             /* kernel or pool window */
  PetscInt  stride_h, stride_w; /* strides; 0 = default (conv 1, pooling the window), set by finalize */
  MCPadding padding;
  PetscInt  pad_t, pad_b, pad_l, pad_r; /* EXPLICIT padding and ZeroPadding2D */
  PetscInt  dil_h, dil_w;               /* Conv2D dilation; 0 = 1 */
  PetscInt  groups;                     /* Conv2D groups; 0 = 1 */
  PetscInt  target[3];                  /* Reshape: H, W, C of the output */

  /* BatchNorm: n_out channels; NULL gamma means scale = 1, NULL beta means centre = 0. */
  float *gamma, *beta, *moving_mean, *moving_var; /* owned */
  float  eps;                                     /* Keras 1e-3, PyTorch 1e-5 */

  float rate; /* Dropout rate (unused at inference) */
} MCLayer;

typedef struct {
  PetscInt input_shape[3]; /* H, W, C of one example */
  PetscInt n_layers;
  MCLayer *layers;    /* n_layers entries, owned, in topological order */
  PetscInt n_outputs; /* the network's outputs (0 in a reader = the last layer, set by finalize) */
  PetscInt *outputs;  /* n_outputs layer indices, owned */
  char     source[PETSC_MAX_PATH_LEN]; /* file the model was read from */
  char     format[32];                 /* "keras", "safetensors", "native", "synthetic" */
} MCModel;

/* A labelled set of examples in memory, as the network reads them (the io module reads the files). */
typedef struct {
  PetscInt  n;          /* examples */
  PetscInt  shape[3];   /* H, W, C of one example */
  float    *x;          /* n * H*W*C values in [0, 1], channels-last; owned */
  PetscInt *y;          /* n labels in [0, n_classes); owned */
  PetscInt  n_classes;  /* 1 + the largest label */
  char      source[PETSC_MAX_PATH_LEN];
} MCDataset;

/* mc_model_create - An empty model with room for n_layers layers (zeroed) and the given input shape.
   Not collective. Caller owns *out; release with mc_model_destroy(). */
PetscErrorCode mc_model_create(PetscInt n_layers, const PetscInt input_shape[3], MCModel **out);

/* mc_model_destroy - Free *m and every tensor it owns; sets *m = NULL; does nothing on NULL. */
PetscErrorCode mc_model_destroy(MCModel **m);

/* mc_model_finalize_shapes - Complete the graph (a layer with n_inputs = 0 reads the layer before it; no
   outputs = the last layer) and check it: inputs precede their consumer, every layer but the outputs is
   consumed. Then propagate shapes from input_shape through every layer (fills in_shape, out_shape, and
   n_in of Dense/Conv2D from the incoming shape) and check that every tensor fits: a Dense
   whose n_in differs from the incoming size, a Conv2D whose c_in differs from the incoming channels, a
   BatchNorm whose width differs, a window larger than its input, all raise PETSC_ERR_USER_INPUT naming the
   layer, the expected and the actual size. Also rejects NaN or Inf in any tensor, naming layer and tensor.
   `comm` is used for the error only (pass PETSC_COMM_SELF on a reading rank). */
PetscErrorCode mc_model_finalize_shapes(MPI_Comm comm, MCModel *m);

/* mc_model_finalize_layer - The shape part of mc_model_finalize_shapes for layer i alone: its inputs must
   be set and layers before it finalized (readers that need shapes while they build a model). */
PetscErrorCode mc_model_finalize_layer(MPI_Comm comm, MCModel *m, PetscInt i);

/* mc_model_bcast - Broadcast a model from rank 0 to every rank of comm. On rank 0 *m is the model read;
   on other ranks *m is NULL on entry and a new model on return (caller owns it). Collective. */
PetscErrorCode mc_model_bcast(MPI_Comm comm, MCModel **m);

/* Units: a "weight layer" is a Dense or Conv2D layer. Unit layers are numbered 0 = the model input (its
   features, H*W*C of them, for an MLP), i = the outputs of the i-th weight layer (1-based).

   mc_model_weight_layers - number of weight layers and, if idx is not NULL, their indices into layers[]
   (idx must have room for n_layers entries). Not collective. */
PetscInt mc_model_weight_layers(const MCModel *m, PetscInt idx[]);

/* mc_model_is_depthwise - Whether L is a Conv2D with one input channel per group (groups = c_in > 1, any
   channel multiplier). Not collective. */
PetscBool mc_model_is_depthwise(const MCLayer *L);

/* mc_model_hash - 64-bit FNV-1a of everything a forward pass depends on (the layer types, shapes,
   activations, geometry and every tensor, not the names), continuing from h. Not collective. */
uint64_t mc_model_hash(const MCModel *m, uint64_t h);

/* mc_model_weight_count - number of floats in layer l's weight tensor: Dense n_in * n_out, Conv2D
   kh * kw * n_in * n_out, 0 for other layers. Not collective. */
PetscInt mc_model_weight_count(const MCLayer *l);

/* mc_model_unit_layer_name - Name of unit layer u: "input" for 0, else the name of the u-th weight layer
   ("?" when there is none). Not collective. */
const char *mc_model_unit_layer_name(const MCModel *m, PetscInt u);

/* mc_model_layer_type_name / mc_model_activation_name - names as written in configs and files
   ("dense", "conv2d", "maxpool2d", "avgpool2d", "flatten", "activation", "batchnorm", "dropout",
   "softmax"; "linear", "relu", "sigmoid", "tanh", "softmax", "elu", "selu", "softplus", "gelu",
   "leaky_relu"). mc_model_activation_parse returns PETSC_FALSE for an unknown name. */
const char *mc_model_layer_type_name(MCLayerType t);
const char *mc_model_activation_name(MCActivation a);
const char *mc_model_padding_name(MCPadding p); /* "valid", "same", "explicit" */
PetscBool   mc_model_activation_parse(const char *name, MCActivation *a);
PetscBool   mc_model_layer_type_parse(const char *name, MCLayerType *t);

/* mc_model_init_glorot - Keras' default initialisation of weight layer L (Dense or Conv2D, shapes set):
   kernel U(-a, a) with a = sqrt(6 / (fan_in + fan_out)) (conv fans times kh * kw), drawn in storage order
   from the stream (seed, MC_STREAM_INIT, task); zero bias. Allocates L->weight and L->bias (owned by the
   layer). Not collective. */
PetscErrorCode mc_model_init_glorot(MCLayer *L, uint64_t seed, uint64_t task);

/* mc_model_create_initialized - A freshly initialized network of m's architecture: weight layer w (0-based,
   forward order) by mc_model_init_glorot with task task0 + w; BatchNorm at its initial state (scale 1,
   shift 0, moving mean 0, moving variance 1). Not collective. Caller owns *out (mc_model_destroy). */
PetscErrorCode mc_model_create_initialized(const MCModel *m, uint64_t seed, uint64_t task0, MCModel **out);

/* mc_model_input_fits - Whether examples of shape H x W x C can be fed to m: the same shape for a model that
   takes images, the same number of values for one that takes a flat vector (1 x 1 x n). Not collective. */
PetscBool mc_model_input_fits(const MCModel *m, const PetscInt shape[3]);

/* mc_model_window - Geometry of layer L's window (Conv2D, pooling) along axis 0 (height) or 1 (width) over n
   inputs: the output extent *out and the padding before *pad (Keras' 'same' puts the smaller half before;
   dilation widens the kernel to (k-1)*d+1). *out < 1 means the window does not fit. Not collective. */
void mc_model_window(const MCLayer *L, int axis, PetscInt n, PetscInt *out, PetscInt *pad);

/* mc_model_set_inputs - Make layer L read the outputs of layers in[0..n) (-1 = the model input), replacing
   any inputs it had. Not collective. */
PetscErrorCode mc_model_set_inputs(MCLayer *L, PetscInt n, const PetscInt in[]);

/* mc_model_set_outputs - Make layers out[0..n) the network's outputs (out[0] the classifier's), replacing
   any it had. Not collective. */
PetscErrorCode mc_model_set_outputs(MCModel *m, PetscInt n, const PetscInt out[]);

/* mc_model_is_chain - Whether a model (finalized or not) is a sequential chain (every layer reads the layer before
   it, the one output is the last layer, no Add/Concat/Multiply, no grouped or dilated convolution): the
   networks the weight graph, the lesions and the backward pass handle today. Not collective. */
PetscBool mc_model_is_chain(const MCModel *m);

/* mc_model_print - One line per layer (type, shapes, parameters) through PetscPrintf on comm. Collective. */
PetscErrorCode mc_model_print(MPI_Comm comm, const MCModel *m);
