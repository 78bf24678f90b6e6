/* src/io/model_onnx.c: ONNX models (.onnx, as torch.onnx.export and tf2onnx write them), read with the C code
   protoc-c generates from Debian's onnx.proto. Nodes become layers of the canonical model (docs/formats.md
   section 5a): weights from initializers and Constant nodes, NCHW computed as channels-last (layout
   Transposes resolved at load time, never run), static shape subgraphs folded, per-channel arithmetic by
   constants as affine (BatchNorm-form) layers. Anything else is an error naming the node. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "io/onnx_impl.h"

typedef struct {
  MCOnnxValues vs;
  MCModel     *m;   /* the model being built: m->n_layers layers in an array of `cap` */
  PetscInt     cap;
  const char  *path;
  size_t       index; /* the node being converted, for messages */
  char         where[300];
} Builder;

/* A new layer reading in[0..n_in), named after the node; shapes set from its inputs. *L is valid until the
   next new layer. */
static PetscErrorCode new_layer(Builder *B, const Onnx__NodeProto *node, MCLayerType type, PetscInt n_in, const PetscInt in[], MCLayer **L)
{
  MCModel *m = B->m;

  PetscFunctionBeginUser;
  if (m->n_layers == B->cap) {
    MCLayer *nl;

    B->cap *= 2;
    PetscCall(PetscCalloc1(B->cap, &nl));
    PetscCall(PetscArraycpy(nl, m->layers, m->n_layers));
    PetscCall(PetscFree(m->layers));
    m->layers = nl;
  }
  *L = &m->layers[m->n_layers++];
  (*L)->type = type;
  if (node->name && node->name[0]) PetscCall(PetscStrncpy((*L)->name, node->name, sizeof((*L)->name)));
  else PetscCall(PetscSNPrintf((*L)->name, sizeof((*L)->name), "%s_%zu", node->op_type, B->index));
  PetscCall(mc_model_set_inputs(*L, n_in, in));
  PetscFunctionReturn(0);
}

/* Shapes of the last layer (after its tensors are set) and its output value, like `like` in layout (like
   may point into the value table, which adding a value can move: read it first). */
static PetscErrorCode alias(Builder *B, const Onnx__NodeProto *node, MCOnnxValue x, int rank, PetscBool nhwc, MCOnnxValue **out);

static PetscErrorCode finish_layer(Builder *B, const Onnx__NodeProto *node, const MCOnnxValue *like, MCOnnxValue **out)
{
  MCOnnxValue v = {0};

  PetscFunctionBeginUser;
  v.kind  = MC_ONNX_RUNTIME;
  v.layer = B->m->n_layers - 1;
  PetscCall(mc_model_finalize_layer(PETSC_COMM_SELF, B->m, v.layer));
  PetscCall(alias(B, node, v, like->rank, like->nhwc, out));
  PetscFunctionReturn(0);
}

/* Our memory shape (H, W, C) of a runtime value. */
static const PetscInt *hwc(const Builder *B, const MCOnnxValue *v)
{
  return v->layer < 0 ? B->m->input_shape : B->m->layers[v->layer].out_shape;
}

/* Input k of node as a computed tensor (not a constant), checked. */
static PetscErrorCode runtime_input(Builder *B, const Onnx__NodeProto *node, size_t k, MCOnnxValue **v)
{
  PetscFunctionBeginUser;
  PetscCheck(k < node->n_input && node->input[k][0], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: node %s lacks input %zu", B->path, B->where, k);
  *v = mc__onnx_find(&B->vs, node->input[k]);
  PetscCheck(*v, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: node %s reads tensor '%s', which no earlier node, initializer or graph input defines", B->path, B->where, node->input[k]);
  PetscCheck((*v)->kind == MC_ONNX_RUNTIME, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: node %s: input '%s' is a constant where a computed tensor is expected", B->path, B->where,
             node->input[k]);
  PetscCheck(!(*v)->chw_order, PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: node %s reads the flattened map '%s', which only Gemm and MatMul may read", B->path, B->where, node->input[k]);
  PetscFunctionReturn(0);
}

static PetscErrorCode want_nchw(Builder *B, const MCOnnxValue *x)
{
  PetscFunctionBeginUser;
  PetscCheck(x->rank == 4 && !x->nhwc, PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: node %s needs an N,C,H,W image tensor, '%s' is %s", B->path, B->where, x->name,
             x->rank == 4 ? "N,H,W,C (add the Transpose to N,C,H,W the exporter writes)" : "not 4-D");
  PetscFunctionReturn(0);
}

/* ints attribute name of node (count *n), or NULL. */
static const int64_t *attr_ints(const Onnx__NodeProto *node, const char *name, size_t *n)
{
  const Onnx__AttributeProto *a = mc__onnx_attr(node, name);

  *n = a ? a->n_ints : 0;
  return a && a->n_ints ? a->ints : NULL;
}

static const char *attr_string(const Onnx__NodeProto *node, const char *name, const char *def, char buf[], size_t n)
{
  const Onnx__AttributeProto *a = mc__onnx_attr(node, name);

  if (!a || !a->has_s) return def;
  snprintf(buf, n, "%.*s", (int)a->s.len, (const char *)a->s.data);
  return buf;
}

/* Window geometry of Conv and pooling: kernel, strides, dilations, pads or auto_pad, onto layer L (input
   height H and width W). */
static PetscErrorCode window_attrs(Builder *B, const Onnx__NodeProto *node, PetscInt H, PetscInt W, MCLayer *L)
{
  size_t         n;
  const int64_t *v;
  char           buf[32];
  const char    *ap = attr_string(node, "auto_pad", "NOTSET", buf, sizeof(buf));

  PetscFunctionBeginUser;
  if ((v = attr_ints(node, "kernel_shape", &n))) {
    PetscCheck(n == 2 && v[0] >= 1 && v[1] >= 1 && v[0] < 1 << 16 && v[1] < 1 << 16, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: node %s: kernel_shape is not two positive sizes", B->path, B->where);
    L->kh = (PetscInt)v[0], L->kw = (PetscInt)v[1];
  }
  L->stride_h = L->stride_w = 1;
  if ((v = attr_ints(node, "strides", &n))) {
    PetscCheck(n == 2 && v[0] >= 1 && v[1] >= 1 && v[0] < 1 << 16 && v[1] < 1 << 16, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: node %s: strides are not two positive sizes", B->path, B->where);
    L->stride_h = (PetscInt)v[0], L->stride_w = (PetscInt)v[1];
  }
  if ((v = attr_ints(node, "dilations", &n))) {
    PetscCheck(n == 2 && v[0] >= 1 && v[1] >= 1 && v[0] < 1 << 16 && v[1] < 1 << 16, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: node %s: dilations are not two positive sizes", B->path, B->where);
    PetscCheck(L->type == MC_LAYER_CONV2D || (v[0] == 1 && v[1] == 1), PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: node %s: dilated pooling is not supported", B->path, B->where);
    L->dil_h = (PetscInt)v[0], L->dil_w = (PetscInt)v[1];
  }
  if (!strcmp(ap, "VALID")) L->padding = MC_PAD_VALID;
  else if (!strcmp(ap, "SAME_UPPER")) L->padding = MC_PAD_SAME; /* the extra pixel after: Keras' rule */
  else if (!strcmp(ap, "SAME_LOWER")) {
    PetscInt dims[2] = {H, W}, k[2] = {L->kh, L->kw}, s[2] = {L->stride_h, L->stride_w}, d[2] = {L->dil_h > 0 ? L->dil_h : 1, L->dil_w > 0 ? L->dil_w : 1}, pb[2], pa[2];
    for (int a = 0; a < 2; ++a) {
      PetscInt out = (dims[a] + s[a] - 1) / s[a], total = PetscMax((out - 1) * s[a] + (k[a] - 1) * d[a] + 1 - dims[a], 0);
      pa[a] = total / 2, pb[a] = total - pa[a]; /* the extra pixel before */
    }
    L->padding = MC_PAD_EXPLICIT;
    L->pad_t = pb[0], L->pad_b = pa[0], L->pad_l = pb[1], L->pad_r = pa[1];
  } else {
    PetscCheck(!strcmp(ap, "NOTSET"), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: node %s: auto_pad '%s' is unknown", B->path, B->where, ap);
    L->padding = MC_PAD_VALID;
    if ((v = attr_ints(node, "pads", &n))) { /* [top, left, bottom, right] */
      PetscCheck(n == 4 && v[0] >= 0 && v[1] >= 0 && v[2] >= 0 && v[3] >= 0 && v[0] < 1 << 16 && v[1] < 1 << 16 && v[2] < 1 << 16 && v[3] < 1 << 16, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
                 "%s: node %s: pads are not four non-negative sizes", B->path, B->where);
      L->pad_t = (PetscInt)v[0], L->pad_l = (PetscInt)v[1], L->pad_b = (PetscInt)v[2], L->pad_r = (PetscInt)v[3];
      if (v[0] || v[1] || v[2] || v[3]) L->padding = MC_PAD_EXPLICIT;
    }
  }
  PetscFunctionReturn(0);
}

/* Conv: weight [O, I/group, kh, kw] to our [kh, kw, I/group, O]. */
static PetscErrorCode op_conv(Builder *B, const Onnx__NodeProto *node)
{
  MCOnnxValue *x, *w = mc__onnx_const_input(&B->vs, node, 1), *b = mc__onnx_const_input(&B->vs, node, 2);
  MCLayer     *L;
  PetscInt     O, Ig, kh, kw;

  PetscFunctionBeginUser;
  PetscCall(runtime_input(B, node, 0, &x));
  PetscCall(want_nchw(B, x));
  PetscCheck(w && w->f && w->ndim == 4, PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: node %s: the weight must be a constant 4-D float tensor [O, Ig/group, kh, kw]", B->path, B->where);
  PetscCheck(node->n_input < 3 || !node->input[2][0] || (b && b->f && b->n == w->dims[0]), PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: node %s: the bias must be a constant of %lld values", B->path, B->where,
             (long long)w->dims[0]);
  O = (PetscInt)w->dims[0], Ig = (PetscInt)w->dims[1], kh = (PetscInt)w->dims[2], kw = (PetscInt)w->dims[3];
  PetscCall(new_layer(B, node, MC_LAYER_CONV2D, 1, &x->layer, &L));
  L->kh = kh, L->kw = kw;
  PetscCall(window_attrs(B, node, hwc(B, x)[0], hwc(B, x)[1], L));
  PetscCheck(L->kh == kh && L->kw == kw, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: node %s: kernel_shape disagrees with the weight's %" PetscInt_FMT " x %" PetscInt_FMT, B->path, B->where, kh, kw);
  L->groups = (PetscInt)mc__onnx_attr_int(node, "group", 1);
  PetscCheck(L->groups >= 1 && L->groups <= O, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: node %s: group = %" PetscInt_FMT " is out of range", B->path, B->where, L->groups);
  L->n_in  = Ig * L->groups;
  L->n_out = O;
  PetscCall(PetscMalloc1(w->n, &L->weight));
  for (PetscInt o = 0; o < O; ++o)
    for (PetscInt i = 0; i < Ig; ++i)
      for (PetscInt a = 0; a < kh; ++a)
        for (PetscInt c = 0; c < kw; ++c) L->weight[((a * kw + c) * Ig + i) * O + o] = w->f[((o * Ig + i) * kh + a) * kw + c];
  if (b) {
    PetscCall(PetscMalloc1(O, &L->bias));
    PetscCall(PetscArraycpy(L->bias, b->f, O));
  }
  PetscCall(finish_layer(B, node, x, NULL));
  PetscFunctionReturn(0);
}

/* Gemm (and MatMul by a constant matrix): a Dense layer. Reading a map flattened in C, H, W order, the
   weight rows are put in our H, W, C order. */
static PetscErrorCode op_gemm(Builder *B, const Onnx__NodeProto *node, PetscBool matmul)
{
  MCOnnxValue *x = mc__onnx_find(&B->vs, node->n_input ? node->input[0] : NULL), *w = mc__onnx_const_input(&B->vs, node, 1), *c = matmul ? NULL : mc__onnx_const_input(&B->vs, node, 2);
  MCLayer     *L;
  PetscInt     K, M, C = 1, H = 1, W = 1;
  PetscBool    tb    = matmul ? PETSC_FALSE : (PetscBool)(mc__onnx_attr_int(node, "transB", 0) != 0);
  float        alpha = matmul ? 1.0f : mc__onnx_attr_float(node, "alpha", 1.0f), beta = matmul ? 1.0f : mc__onnx_attr_float(node, "beta", 1.0f);

  PetscFunctionBeginUser;
  PetscCheck(x && x->kind == MC_ONNX_RUNTIME, PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: node %s: input A must be a computed tensor", B->path, B->where);
  PetscCheck(matmul || !mc__onnx_attr_int(node, "transA", 0), PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: node %s: transA = 1 is not supported", B->path, B->where);
  PetscCheck(w && w->f && w->ndim == 2, PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: node %s: B must be a constant 2-D float matrix", B->path, B->where);
  PetscCheck(x->rank == 2 || (hwc(B, x)[0] == 1 && hwc(B, x)[1] == 1), PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: node %s: input '%s' is not a matrix (flatten it first)", B->path, B->where, x->name);
  K = (PetscInt)(tb ? w->dims[1] : w->dims[0]), M = (PetscInt)(tb ? w->dims[0] : w->dims[1]);
  if (x->chw_order) C = x->chw[0], H = x->chw[1], W = x->chw[2];
  else C = K;
  PetscCheck(C * H * W == K && hwc(B, x)[0] * hwc(B, x)[1] * hwc(B, x)[2] == K, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "%s: node %s: B has %" PetscInt_FMT " rows but the input has %" PetscInt_FMT " features", B->path, B->where, K, hwc(B, x)[0] * hwc(B, x)[1] * hwc(B, x)[2]);
  PetscCheck(!c || c->f, PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: node %s: C must be a float constant", B->path, B->where);
  PetscCheck(!c || c->n == M || c->n == 1, PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: node %s: C of %" PetscInt_FMT " values does not broadcast over %" PetscInt_FMT " outputs", B->path, B->where, c ? c->n : 0, M);
  {
    PetscInt in = x->layer;

    if (hwc(B, x)[0] * hwc(B, x)[1] > 1) { /* a Dense reads a flat vector: flatten our H x W x C first */
      PetscCall(new_layer(B, node, MC_LAYER_FLATTEN, 1, &in, &L));
      PetscCall(PetscStrlcat(L->name, "_flatten", sizeof(L->name)));
      PetscCall(mc_model_finalize_layer(PETSC_COMM_SELF, B->m, B->m->n_layers - 1));
      in = B->m->n_layers - 1;
    }
    PetscCall(new_layer(B, node, MC_LAYER_DENSE, 1, &in, &L));
  }
  L->n_in  = K;
  L->n_out = M;
  PetscCall(PetscMalloc1(K * M, &L->weight));
  for (PetscInt k = 0; k < K; ++k) {
    /* our row k = (h * W + w) * C + c is ONNX row c * H * W + h * W + w */
    PetscInt c0 = k % C, p = k / C, src = x->chw_order ? c0 * H * W + p : k;
    for (PetscInt j = 0; j < M; ++j) L->weight[k * M + j] = alpha * (tb ? w->f[j * K + src] : w->f[src * M + j]);
  }
  if (c) {
    PetscCall(PetscMalloc1(M, &L->bias));
    for (PetscInt j = 0; j < M; ++j) L->bias[j] = beta * c->f[c->n == 1 ? 0 : j];
  }
  {
    MCOnnxValue like = *x;

    like.rank = 2;
    PetscCall(finish_layer(B, node, &like, NULL));
  }
  PetscFunctionReturn(0);
}

/* The four BatchNorm tensors of L, each its own allocation (the model frees them one by one). */
static PetscErrorCode bn_alloc(MCLayer *L, PetscInt C)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(C, &L->gamma));
  PetscCall(PetscMalloc1(C, &L->beta));
  PetscCall(PetscMalloc1(C, &L->moving_mean));
  PetscCall(PetscMalloc1(C, &L->moving_var));
  PetscFunctionReturn(0);
}

/* y = x * scale + shift per channel: a BatchNorm-form layer with mean 0, variance 1, epsilon 1e-12 (exact in
   float: sqrt(1 + 1e-12) rounds to 1). */
static PetscErrorCode affine(Builder *B, const Onnx__NodeProto *node, MCOnnxValue *x, const float scale[], const float shift[], PetscInt C)
{
  MCLayer *L;

  PetscFunctionBeginUser;
  PetscCall(new_layer(B, node, MC_LAYER_BATCHNORM, 1, &x->layer, &L));
  L->n_out = C;
  L->eps   = 1e-12f;
  PetscCall(bn_alloc(L, C));
  for (PetscInt c = 0; c < C; ++c) L->gamma[c] = scale[c], L->beta[c] = shift[c], L->moving_mean[c] = 0.0f, L->moving_var[c] = 1.0f;
  PetscCall(finish_layer(B, node, x, NULL));
  PetscFunctionReturn(0);
}

/* A constant that broadcasts per channel over runtime value x: a scalar, C values, or C values with 1s around
   them in the positions of x's channel axis. *ok = PETSC_FALSE otherwise. */
static void per_channel(const MCOnnxValue *x, const MCOnnxValue *k, PetscInt C, PetscBool *ok)
{
  PetscInt non1 = 0, at = -1;

  *ok = PETSC_FALSE;
  if (!k->f) return;
  if (k->n == 1) {
    *ok = PETSC_TRUE;
    return;
  }
  if (k->n != C) return;
  for (PetscInt d = 0; d < k->ndim; ++d)
    if (k->dims[d] != 1) non1++, at = d;
  if (non1 != 1) return;
  /* right-aligned broadcasting: the axis from the end must be the channel axis */
  {
    PetscInt from_end = k->ndim - 1 - at, ch_from_end = x->rank == 2 ? 0 : (x->nhwc ? 0 : 2);
    *ok = from_end == ch_from_end ? PETSC_TRUE : PETSC_FALSE;
  }
}

/* Add, Sub, Mul, Div: of two computed tensors (Add, Mul: merge layers), or of one by a per-channel constant
   (an affine layer), or of constants (folded by the caller). */
static PetscErrorCode op_arith(Builder *B, const Onnx__NodeProto *node)
{
  const char  *op = node->op_type;
  MCOnnxValue *a  = mc__onnx_find(&B->vs, node->input[0]), *b = node->n_input > 1 ? mc__onnx_find(&B->vs, node->input[1]) : NULL;

  PetscFunctionBeginUser;
  PetscCheck(a && b, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: node %s reads a tensor no earlier node defines", B->path, B->where);
  if (a->kind == MC_ONNX_RUNTIME && b->kind == MC_ONNX_RUNTIME) {
    PetscInt in[2] = {a->layer, b->layer};
    MCLayer *L;

    PetscCheck(op[0] == 'A' || op[0] == 'M', PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: node %s: %s of two computed tensors is not supported (Add and Mul are)", B->path, B->where, op);
    PetscCall(runtime_input(B, node, 0, &a));
    PetscCall(runtime_input(B, node, 1, &b));
    PetscCheck(a->rank == b->rank && a->nhwc == b->nhwc, PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: node %s: its inputs have different layouts", B->path, B->where);
    PetscCall(new_layer(B, node, op[0] == 'A' ? MC_LAYER_ADD : MC_LAYER_MULTIPLY, 2, in, &L));
    /* the larger (not a 1 x 1 x C gate) decides the output's layout */
    PetscCall(finish_layer(B, node, hwc(B, a)[0] * hwc(B, a)[1] >= hwc(B, b)[0] * hwc(B, b)[1] ? a : b, NULL));
  } else {
    PetscBool    x_first = a->kind == MC_ONNX_RUNTIME ? PETSC_TRUE : PETSC_FALSE, ok;
    MCOnnxValue *x, *k = x_first ? b : a;
    PetscInt     C;
    float       *scale, *shift;

    PetscCall(runtime_input(B, node, x_first ? 0 : 1, &x));
    C = hwc(B, x)[2];
    per_channel(x, k, C, &ok);
    PetscCheck(ok, PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: node %s: %s by constant '%s' of %" PetscInt_FMT " values, which is not a scalar or one value per channel of '%s'", B->path, B->where, op, k->name, k->n,
               x->name);
    PetscCheck(x_first || op[0] != 'D', PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: node %s: a constant divided by a computed tensor is not supported", B->path, B->where);
    PetscCall(PetscMalloc2(C, &scale, C, &shift));
    for (PetscInt c = 0; c < C; ++c) {
      float v = k->f[k->n == 1 ? 0 : c];
      scale[c] = op[0] == 'M' ? v : op[0] == 'D' ? 1.0f / v : (op[0] == 'S' && !x_first) ? -1.0f : 1.0f;
      shift[c] = op[0] == 'A' ? v : op[0] == 'S' ? (x_first ? -v : v) : 0.0f;
    }
    PetscCall(affine(B, node, x, scale, shift, C));
    PetscCall(PetscFree2(scale, shift));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode op_activation(Builder *B, const Onnx__NodeProto *node, MCActivation act, float alpha, float beta)
{
  MCOnnxValue *x;
  MCLayer     *L;

  PetscFunctionBeginUser;
  PetscCall(runtime_input(B, node, 0, &x));
  PetscCall(new_layer(B, node, MC_LAYER_ACTIVATION, 1, &x->layer, &L));
  L->act      = act;
  L->alpha    = alpha;
  L->act_beta = beta;
  PetscCall(finish_layer(B, node, x, NULL));
  PetscFunctionReturn(0);
}

static PetscErrorCode op_clip(Builder *B, const Onnx__NodeProto *node)
{
  float        lo = -FLT_MAX, hi = FLT_MAX;
  MCOnnxValue *a = mc__onnx_const_input(&B->vs, node, 1), *b = mc__onnx_const_input(&B->vs, node, 2);

  PetscFunctionBeginUser;
  if (B->vs.opset < 11) lo = mc__onnx_attr_float(node, "min", lo), hi = mc__onnx_attr_float(node, "max", hi);
  else {
    PetscCheck((node->n_input < 2 || !node->input[1][0] || (a && a->f && a->n == 1)) && (node->n_input < 3 || !node->input[2][0] || (b && b->f && b->n == 1)), PETSC_COMM_SELF, PETSC_ERR_SUP,
               "%s: node %s: min and max must be constant scalars", B->path, B->where);
    if (a) lo = a->f[0];
    if (b) hi = b->f[0];
  }
  if (lo == 0.0f && hi == 6.0f) PetscCall(op_activation(B, node, MC_ACT_RELU6, 0, 0));
  else if (lo == 0.0f && hi == FLT_MAX) PetscCall(op_activation(B, node, MC_ACT_RELU, 0, 0));
  else PetscCall(op_activation(B, node, MC_ACT_CLIP, lo, hi));
  PetscFunctionReturn(0);
}

static PetscErrorCode op_pool(Builder *B, const Onnx__NodeProto *node, PetscBool is_max)
{
  MCOnnxValue *x;
  MCLayer     *L;
  PetscInt     H, W;

  PetscFunctionBeginUser;
  PetscCall(runtime_input(B, node, 0, &x));
  PetscCall(want_nchw(B, x));
  H = hwc(B, x)[0], W = hwc(B, x)[1];
  PetscCall(new_layer(B, node, is_max ? MC_LAYER_MAXPOOL2D : MC_LAYER_AVGPOOL2D, 1, &x->layer, &L));
  PetscCall(window_attrs(B, node, H, W, L));
  PetscCheck(L->kh >= 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: node %s has no kernel_shape", B->path, B->where);
  PetscCheck(is_max || !mc__onnx_attr_int(node, "count_include_pad", 0) || L->padding == MC_PAD_VALID || (!L->pad_t && !L->pad_b && !L->pad_l && !L->pad_r && L->padding != MC_PAD_SAME),
             PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: node %s: average pooling that counts the padding (count_include_pad = 1) is not supported", B->path, B->where);
  if (mc__onnx_attr_int(node, "ceil_mode", 0)) { /* windows that start inside the input: pad the end so floor gives ceil */
    PetscInt dims[2] = {H, W}, k[2] = {L->kh, L->kw}, s[2] = {L->stride_h, L->stride_w}, *pe[2] = {&L->pad_b, &L->pad_r}, pb[2] = {L->pad_t, L->pad_l};
    PetscCheck(L->padding != MC_PAD_SAME, PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: node %s: ceil_mode with auto_pad SAME", B->path, B->where);
    for (int a = 0; a < 2; ++a) {
      PetscInt span = dims[a] + pb[a] + *pe[a] - k[a], fl = span / s[a] + 1, ce = (span + s[a] - 1) / s[a] + 1;
      if (ce > fl && (ce - 1) * s[a] < dims[a] + pb[a]) *pe[a] += (ce - 1) * s[a] + k[a] - (dims[a] + pb[a] + *pe[a]);
    }
    PetscCheck(is_max || (L->pad_b == 0 && L->pad_r == 0) || !mc__onnx_attr_int(node, "count_include_pad", 0), PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: node %s: ceil_mode with count_include_pad", B->path, B->where);
    if (L->pad_t || L->pad_b || L->pad_l || L->pad_r) L->padding = MC_PAD_EXPLICIT;
  }
  PetscCall(finish_layer(B, node, x, NULL));
  PetscFunctionReturn(0);
}

/* A computed tensor under a new name with a new ONNX view (Identity, Dropout, Transpose, Squeeze, Reshape
   that keeps our memory: no layer), or the output of a new layer (finish_layer). x is a copy, since adding a
   value may move the table it came from. */
static PetscErrorCode alias(Builder *B, const Onnx__NodeProto *node, MCOnnxValue x, int rank, PetscBool nhwc, MCOnnxValue **out)
{
  MCOnnxValue *v;

  PetscFunctionBeginUser;
  PetscCall(mc__onnx_add(&B->vs, node->output[0], &v));
  *v      = x;
  v->name = node->output[0];
  v->f    = NULL;
  v->i    = NULL;
  v->rank = rank;
  v->nhwc = nhwc;
  if (out) *out = v;
  PetscFunctionReturn(0);
}

/* Flatten (axis 1) and the Reshapes to [N, -1] exporters write before a classifier. */
static PetscErrorCode flatten(Builder *B, const Onnx__NodeProto *node, MCOnnxValue xv)
{
  const PetscInt *s = hwc(B, &xv);
  MCOnnxValue    *o;

  PetscFunctionBeginUser;
  if (xv.rank == 2 || (s[0] == 1 && s[1] == 1)) {
    PetscCall(alias(B, node, xv, 2, PETSC_FALSE, NULL));
    PetscFunctionReturn(0);
  }
  PetscCall(alias(B, node, xv, 2, PETSC_FALSE, &o));
  if (!xv.nhwc) { /* ONNX order C, H, W; ours H, W, C: the reader of this vector permutes */
    o->chw_order = PETSC_TRUE;
    o->chw[0] = s[2], o->chw[1] = s[0], o->chw[2] = s[1];
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode op_reshape(Builder *B, const Onnx__NodeProto *node)
{
  MCOnnxValue *x = mc__onnx_find(&B->vs, node->input[0]), *sh = mc__onnx_const_input(&B->vs, node, 1);
  int64_t      t[MC_ONNX_MAX_DIMS], total, known = 1;
  PetscInt     neg = -1;
  const PetscInt *s;

  PetscFunctionBeginUser;
  PetscCall(runtime_input(B, node, 0, &x));
  PetscCheck(sh && sh->i && sh->ndim == 1 && sh->n >= 1 && sh->n <= 4, PETSC_COMM_SELF, PETSC_ERR_SUP,
             "%s: node %s: the target shape is not a constant of 1 to 4 sizes (a dynamic shape that cannot be folded)", B->path, B->where);
  s     = hwc(B, x);
  total = (int64_t)s[0] * s[1] * s[2];
  for (PetscInt d = 0; d < sh->n; ++d) {
    t[d] = sh->i[d];
    if (d == 0) continue; /* the batch */
    if (t[d] == 0) t[d] = x->rank == 4 ? (x->nhwc ? s[d - 1] : (d == 1 ? s[2] : s[d - 2])) : (d == 1 ? total : 1);
    if (t[d] < 0) neg = d;
    else known *= t[d];
  }
  if (neg > 0) t[neg] = known ? total / known : 0;
  if (sh->n == 2 && t[1] == total) PetscCall(flatten(B, node, *x));
  else if (sh->n == 4 && ((x->rank == 2 && t[1] == total && t[2] == 1 && t[3] == 1) || (x->rank == 4 && !x->nhwc && t[1] == s[2] && t[2] == s[0] && t[3] == s[1])))
    PetscCall(alias(B, node, *x, 4, PETSC_FALSE, NULL)); /* [N, F] -> [N, F, 1, 1], or no change */
  else
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: node %s: reshape of '%s' to [%lld, %lld, ...] is not supported (only flattening, and vectors to N,F,1,1)", B->path, B->where, x->name,
            (long long)t[0], (long long)(sh->n > 1 ? t[1] : 0));
  PetscFunctionReturn(0);
}

static PetscErrorCode op_transpose(Builder *B, const Onnx__NodeProto *node)
{
  MCOnnxValue   *x;
  size_t         n;
  const int64_t *p = attr_ints(node, "perm", &n);

  PetscFunctionBeginUser;
  PetscCall(runtime_input(B, node, 0, &x));
  PetscCheck(x->rank == 4 && p && n == 4, PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: node %s: only layout transposes of images (N,C,H,W <-> N,H,W,C) are supported", B->path, B->where);
  if (!x->nhwc && p[0] == 0 && p[1] == 2 && p[2] == 3 && p[3] == 1) PetscCall(alias(B, node, *x, 4, PETSC_TRUE, NULL));
  else if (x->nhwc && p[0] == 0 && p[1] == 3 && p[2] == 1 && p[3] == 2) PetscCall(alias(B, node, *x, 4, PETSC_FALSE, NULL));
  else
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: node %s: transpose [%lld, %lld, %lld, %lld] of an %s tensor is not a layout change between N,C,H,W and N,H,W,C", B->path, B->where, (long long)p[0],
            (long long)p[1], (long long)p[2], (long long)p[3], x->nhwc ? "N,H,W,C" : "N,C,H,W");
  PetscFunctionReturn(0);
}

static PetscErrorCode op_squeeze(Builder *B, const Onnx__NodeProto *node, PetscBool unsqueeze)
{
  MCOnnxValue    *x;
  const PetscInt *s;

  PetscFunctionBeginUser;
  PetscCall(runtime_input(B, node, 0, &x));
  s = hwc(B, x);
  PetscCheck(s[0] == 1 && s[1] == 1 && (unsqueeze ? x->rank == 2 : x->rank == 4), PETSC_COMM_SELF, PETSC_ERR_SUP,
             "%s: node %s: only N,C,1,1 <-> N,C (un)squeezes are supported", B->path, B->where);
  PetscCall(alias(B, node, *x, unsqueeze ? 4 : 2, PETSC_FALSE, NULL));
  PetscFunctionReturn(0);
}

static PetscErrorCode op_concat(Builder *B, const Onnx__NodeProto *node)
{
  PetscInt    *in, n = (PetscInt)node->n_input;
  MCOnnxValue *x0 = NULL;
  MCLayer     *L;
  int64_t      ax;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(n, &in));
  for (PetscInt k = 0; k < n; ++k) {
    MCOnnxValue *x;

    PetscCall(runtime_input(B, node, (size_t)k, &x));
    PetscCheck(!x0 || (x->rank == x0->rank && x->nhwc == x0->nhwc), PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: node %s: its inputs have different layouts", B->path, B->where);
    if (!x0) x0 = x;
    in[k] = x->layer;
  }
  x0 = mc__onnx_find(&B->vs, node->input[0]);
  ax = mc__onnx_attr_int(node, "axis", 1);
  if (ax < 0) ax += x0->rank;
  PetscCheck(ax == (x0->rank == 2 ? 1 : (x0->nhwc ? 3 : 1)), PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: node %s: concatenation along axis %lld, not the channels", B->path, B->where, (long long)ax);
  PetscCall(new_layer(B, node, MC_LAYER_CONCAT, n, in, &L));
  PetscCall(PetscFree(in));
  PetscCall(finish_layer(B, node, x0, NULL));
  PetscFunctionReturn(0);
}

static PetscErrorCode op_pad(Builder *B, const Onnx__NodeProto *node)
{
  MCOnnxValue   *x, *pv = mc__onnx_const_input(&B->vs, node, 1), *cv = mc__onnx_const_input(&B->vs, node, 2);
  MCLayer       *L;
  char           buf[32];
  const char    *mode = attr_string(node, "mode", "constant", buf, sizeof(buf));
  int64_t        p[8];
  size_t         n = 0;
  const int64_t *pa = attr_ints(node, "pads", &n);

  PetscFunctionBeginUser;
  PetscCall(runtime_input(B, node, 0, &x));
  PetscCheck(x->rank == 4 && !strcmp(mode, "constant"), PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: node %s: only constant padding of images is supported", B->path, B->where);
  PetscCheck(!cv || (cv->f ? cv->f[0] == 0 : cv->i[0] == 0), PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: node %s: padding with a value other than 0", B->path, B->where);
  PetscCheck(mc__onnx_attr_float(node, "value", 0.0f) == 0.0f, PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: node %s: padding with a value other than 0", B->path, B->where);
  if (pv) {
    PetscCheck(pv->n == 8, PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: node %s: pads must be a constant of 8 values", B->path, B->where);
    for (int k = 0; k < 8; ++k) p[k] = pv->i ? pv->i[k] : (int64_t)pv->f[k];
  } else {
    PetscCheck(pa && n == 8, PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: node %s: pads must be 8 constant values", B->path, B->where);
    for (int k = 0; k < 8; ++k) p[k] = pa[k];
  }
  {
    int h = x->nhwc ? 1 : 2, w = x->nhwc ? 2 : 3, c = x->nhwc ? 3 : 1; /* axes of the ONNX view */
    PetscCheck(!p[0] && !p[4] && !p[c] && !p[c + 4], PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: node %s pads the batch or channel axis", B->path, B->where);
    for (int k = 0; k < 8; ++k) PetscCheck(p[k] >= 0 && p[k] < 1 << 16, PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: node %s: pad %lld is negative or huge", B->path, B->where, (long long)p[k]);
    PetscCall(new_layer(B, node, MC_LAYER_ZEROPAD2D, 1, &x->layer, &L));
    L->pad_t = (PetscInt)p[h], L->pad_b = (PetscInt)p[h + 4], L->pad_l = (PetscInt)p[w], L->pad_r = (PetscInt)p[w + 4];
  }
  PetscCall(finish_layer(B, node, x, NULL));
  PetscFunctionReturn(0);
}

/* Resize / Upsample, nearest neighbour by integer factors on H and W. */
static PetscErrorCode op_resize(Builder *B, const Onnx__NodeProto *node)
{
  MCOnnxValue *x, *sc = NULL, *sz = NULL;
  MCLayer     *L;
  char         buf[64];
  const char  *mode = attr_string(node, "mode", "nearest", buf, sizeof(buf));
  double       fh, fw;

  PetscFunctionBeginUser;
  PetscCall(runtime_input(B, node, 0, &x));
  PetscCall(want_nchw(B, x));
  PetscCheck(!strcmp(mode, "nearest"), PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: node %s: resize mode '%s' is not supported (nearest)", B->path, B->where, mode);
  if (!strcmp(node->op_type, "Upsample")) sc = mc__onnx_const_input(&B->vs, node, 1);
  else {
    sc = mc__onnx_const_input(&B->vs, node, node->n_input >= 3 ? 2 : 1);
    sz = mc__onnx_const_input(&B->vs, node, 3);
    if (sc && sc->n == 0) sc = NULL;
  }
  if (sc) {
    PetscCheck(sc->f && sc->n == 4 && sc->f[0] == 1 && sc->f[1] == 1, PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: node %s: scales must be a constant [1, 1, h, w]", B->path, B->where);
    fh = sc->f[2], fw = sc->f[3];
  } else {
    PetscCheck(sz && sz->i && sz->n == 4, PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: node %s: neither constant scales nor sizes", B->path, B->where);
    fh = (double)sz->i[2] / hwc(B, x)[0], fw = (double)sz->i[3] / hwc(B, x)[1];
  }
  PetscCheck(fh >= 1 && fw >= 1 && fh == floor(fh) && fw == floor(fw) && fh < 1 << 12 && fw < 1 << 12, PETSC_COMM_SELF, PETSC_ERR_SUP,
             "%s: node %s: scale %g x %g is not a whole number at least 1", B->path, B->where, fh, fw);
  PetscCall(new_layer(B, node, MC_LAYER_UPSAMPLE2D, 1, &x->layer, &L));
  L->kh = (PetscInt)fh, L->kw = (PetscInt)fw;
  PetscCall(finish_layer(B, node, x, NULL));
  PetscFunctionReturn(0);
}

static PetscErrorCode op_batchnorm(Builder *B, const Onnx__NodeProto *node)
{
  MCOnnxValue *x, *t[4];
  MCLayer     *L;
  PetscInt     C;

  PetscFunctionBeginUser;
  PetscCall(runtime_input(B, node, 0, &x));
  C = hwc(B, x)[2];
  PetscCheck(x->rank == 2 || !x->nhwc, PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: node %s: BatchNormalization of an N,H,W,C tensor normalises axis 1", B->path, B->where);
  for (int k = 0; k < 4; ++k) {
    t[k] = mc__onnx_const_input(&B->vs, node, (size_t)k + 1);
    PetscCheck(t[k] && t[k]->f && t[k]->n == C, PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: node %s: input %d must be a constant of %" PetscInt_FMT " values", B->path, B->where, k + 1, C);
  }
  PetscCall(new_layer(B, node, MC_LAYER_BATCHNORM, 1, &x->layer, &L));
  L->n_out = C;
  L->eps   = mc__onnx_attr_float(node, "epsilon", 1e-5f);
  PetscCall(bn_alloc(L, C));
  PetscCall(PetscArraycpy(L->gamma, t[0]->f, C));
  PetscCall(PetscArraycpy(L->beta, t[1]->f, C));
  PetscCall(PetscArraycpy(L->moving_mean, t[2]->f, C));
  PetscCall(PetscArraycpy(L->moving_var, t[3]->f, C));
  PetscCall(finish_layer(B, node, x, NULL));
  PetscFunctionReturn(0);
}

/* One node. */
static PetscErrorCode convert(Builder *B, const Onnx__NodeProto *node)
{
  const char  *op = node->op_type;
  PetscBool    all_const = node->n_input > 0 ? PETSC_TRUE : PETSC_FALSE, done = PETSC_FALSE;
  MCOnnxValue *x;

  PetscFunctionBeginUser;
  PetscCheck(op && op[0], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: node %s has no op_type", B->path, B->where);
  PetscCheck(node->n_input >= 1 || !strcmp(op, "Constant"), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: node %s has no input", B->path, B->where);
  PetscCheck(node->n_output >= 1 && node->output[0][0], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: node %s has no output", B->path, B->where);
  PetscCheck(!node->domain || !node->domain[0] || !strcmp(node->domain, "ai.onnx"), PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: node %s is from operator domain '%s' (only the standard domain is supported)",
             B->path, B->where, node->domain);
  for (size_t k = 0; k < node->n_input; ++k) {
    MCOnnxValue *v;

    if (!node->input[k][0]) continue;
    v = mc__onnx_find(&B->vs, node->input[k]);
    PetscCheck(v, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: node %s reads tensor '%s', which no earlier node, initializer or graph input defines", B->path, B->where, node->input[k]);
    if (v->kind != MC_ONNX_CONST) all_const = PETSC_FALSE;
  }
  if (!strcmp(op, "Constant")) {
    const Onnx__AttributeProto *a = mc__onnx_attr(node, "value");
    MCOnnxValue                *v;

    PetscCall(mc__onnx_add(&B->vs, node->output[0], &v));
    if (a && a->t) PetscCall(mc__onnx_tensor(&B->vs, a->t, node->output[0], v));
    else if ((a = mc__onnx_attr(node, "value_float")) && a->has_f) {
      v->kind = MC_ONNX_CONST, v->n = 1;
      PetscCall(PetscMalloc1(1, &v->f));
      v->f[0] = a->f;
    } else if ((a = mc__onnx_attr(node, "value_int")) && a->has_i) {
      v->kind = MC_ONNX_CONST, v->n = 1;
      PetscCall(PetscMalloc1(1, &v->i));
      v->i[0] = a->i;
    } else if ((a = mc__onnx_attr(node, "value_ints")) || (a = mc__onnx_attr(node, "value_floats"))) {
      PetscInt n = (PetscInt)(a->n_ints ? a->n_ints : a->n_floats);
      v->kind = MC_ONNX_CONST, v->n = n, v->ndim = 1, v->dims[0] = n;
      if (a->n_ints) {
        PetscCall(PetscMalloc1(n + 1, &v->i));
        for (PetscInt j = 0; j < n; ++j) v->i[j] = a->ints[j];
      } else {
        PetscCall(PetscMalloc1(n + 1, &v->f));
        for (PetscInt j = 0; j < n; ++j) v->f[j] = a->floats[j];
      }
    } else SETERRQ(PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: node %s has no value this reader takes", B->path, B->where);
    PetscFunctionReturn(0);
  }
  if (all_const) {
    PetscCall(mc__onnx_fold(&B->vs, node, B->where, &done));
    PetscCheck(done, PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: node %s computes on constants with an operator this reader does not fold", B->path, B->where);
    PetscFunctionReturn(0);
  }
  if (!strcmp(op, "Shape")) { /* of a computed tensor: its static ONNX shape, batch 1 */
    MCOnnxValue    *v;
    const PetscInt *s;
    int64_t         d4[4];

    int rank;

    PetscCall(runtime_input(B, node, 0, &x));
    s    = hwc(B, x);
    rank = x->rank;
    if (rank == 2) d4[0] = 1, d4[1] = (int64_t)s[0] * s[1] * s[2];
    else if (x->nhwc) d4[0] = 1, d4[1] = s[0], d4[2] = s[1], d4[3] = s[2];
    else d4[0] = 1, d4[1] = s[2], d4[2] = s[0], d4[3] = s[1];
    PetscCall(mc__onnx_add(&B->vs, node->output[0], &v));
    v->kind = MC_ONNX_CONST, v->ndim = 1, v->n = rank, v->dims[0] = rank;
    PetscCall(PetscMalloc1(4, &v->i));
    for (int d = 0; d < rank; ++d) v->i[d] = d4[d];
  } else if (!strcmp(op, "Conv")) PetscCall(op_conv(B, node));
  else if (!strcmp(op, "Gemm")) PetscCall(op_gemm(B, node, PETSC_FALSE));
  else if (!strcmp(op, "MatMul")) PetscCall(op_gemm(B, node, PETSC_TRUE));
  else if (!strcmp(op, "Add") || !strcmp(op, "Sub") || !strcmp(op, "Mul") || !strcmp(op, "Div")) PetscCall(op_arith(B, node));
  else if (!strcmp(op, "BatchNormalization")) PetscCall(op_batchnorm(B, node));
  else if (!strcmp(op, "Relu")) PetscCall(op_activation(B, node, MC_ACT_RELU, 0, 0));
  else if (!strcmp(op, "Sigmoid")) PetscCall(op_activation(B, node, MC_ACT_SIGMOID, 0, 0));
  else if (!strcmp(op, "Tanh")) PetscCall(op_activation(B, node, MC_ACT_TANH, 0, 0));
  else if (!strcmp(op, "Softplus")) PetscCall(op_activation(B, node, MC_ACT_SOFTPLUS, 0, 0));
  else if (!strcmp(op, "HardSwish")) PetscCall(op_activation(B, node, MC_ACT_HARD_SWISH, 0, 0));
  else if (!strcmp(op, "LeakyRelu")) PetscCall(op_activation(B, node, MC_ACT_LEAKY_RELU, mc__onnx_attr_float(node, "alpha", 0.01f), 0));
  else if (!strcmp(op, "HardSigmoid")) PetscCall(op_activation(B, node, MC_ACT_HARD_SIGMOID, mc__onnx_attr_float(node, "alpha", 0.2f), mc__onnx_attr_float(node, "beta", 0.5f)));
  else if (!strcmp(op, "Elu") && mc__onnx_attr_float(node, "alpha", 1.0f) == 1.0f) PetscCall(op_activation(B, node, MC_ACT_ELU, 0, 0));
  else if (!strcmp(op, "Clip")) PetscCall(op_clip(B, node));
  else if (!strcmp(op, "MaxPool") || !strcmp(op, "AveragePool")) PetscCall(op_pool(B, node, op[0] == 'M' ? PETSC_TRUE : PETSC_FALSE));
  else if (!strcmp(op, "GlobalAveragePool")) {
    MCLayer *L;

    PetscCall(runtime_input(B, node, 0, &x));
    PetscCall(want_nchw(B, x));
    PetscCall(new_layer(B, node, MC_LAYER_GLOBALAVGPOOL, 1, &x->layer, &L));
    PetscCall(finish_layer(B, node, x, NULL));
  } else if (!strcmp(op, "Flatten")) {
    PetscCall(runtime_input(B, node, 0, &x));
    PetscCheck(mc__onnx_attr_int(node, "axis", 1) == 1, PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: node %s: Flatten with axis other than 1", B->path, B->where);
    PetscCall(flatten(B, node, *x));
  } else if (!strcmp(op, "Reshape")) PetscCall(op_reshape(B, node));
  else if (!strcmp(op, "Transpose")) PetscCall(op_transpose(B, node));
  else if (!strcmp(op, "Squeeze") || !strcmp(op, "Unsqueeze")) PetscCall(op_squeeze(B, node, op[0] == 'U' ? PETSC_TRUE : PETSC_FALSE));
  else if (!strcmp(op, "Concat")) PetscCall(op_concat(B, node));
  else if (!strcmp(op, "Pad")) PetscCall(op_pad(B, node));
  else if (!strcmp(op, "Resize") || !strcmp(op, "Upsample")) PetscCall(op_resize(B, node));
  else if (!strcmp(op, "Identity") || !strcmp(op, "Dropout")) { /* a flattened map may pass */
    x = mc__onnx_find(&B->vs, node->input[0]);
    PetscCheck(x && x->kind == MC_ONNX_RUNTIME, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: node %s reads no computed tensor", B->path, B->where);
    PetscCall(alias(B, node, *x, x->rank, x->nhwc, NULL));
  } else if (!strcmp(op, "Softmax")) {
    MCLayer *L;
    int64_t  ax;

    PetscCall(runtime_input(B, node, 0, &x));
    ax = mc__onnx_attr_int(node, "axis", B->vs.opset < 13 ? 1 : -1);
    PetscCheck(x->rank == 2 && (ax == 1 || ax == -1), PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: node %s: Softmax is supported over the features of an N,F tensor", B->path, B->where);
    PetscCall(new_layer(B, node, MC_LAYER_SOFTMAX, 1, &x->layer, &L));
    PetscCall(finish_layer(B, node, x, NULL));
  } else
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_SUP,
            "%s: node %s: operator %s is not supported (Conv, Gemm, MatMul, BatchNormalization, Relu, Clip, LeakyRelu, Sigmoid, HardSigmoid, HardSwish, Tanh, Elu, Softplus, Add, Sub, Mul, Div, "
            "MaxPool, AveragePool, GlobalAveragePool, Flatten, Reshape, Transpose, Squeeze, Unsqueeze, Concat, Pad, Resize, Upsample, Identity, Dropout, Softmax, Constant, and shape arithmetic on "
            "constants)",
            B->path, B->where, op);
  PetscFunctionReturn(0);
}

/* The graph's one real input (not an initializer): its shape as ours; N,C,H,W unless its only reader is the
   Transpose to N,C,H,W that tf2onnx writes for an N,H,W,C input. */
static PetscErrorCode graph_input(Builder *B, const Onnx__GraphProto *g)
{
  const Onnx__ValueInfoProto *in = NULL;
  MCOnnxValue                *v;
  int64_t                     d[4];
  size_t                      nd;

  PetscFunctionBeginUser;
  for (size_t k = 0; k < g->n_input; ++k) {
    MCOnnxValue *c;

    PetscCheck(g->input[k]->name && g->input[k]->name[0], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: graph input %zu has no name", B->path, k);
    c = mc__onnx_find(&B->vs, g->input[k]->name);
    if (c && c->kind == MC_ONNX_CONST) continue;
    PetscCheck(!in, PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: the graph has several inputs ('%s', '%s'); models with one input are supported", B->path, in->name, g->input[k]->name);
    in = g->input[k];
  }
  PetscCheck(in, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: the graph has no input", B->path);
  PetscCheck(in->type && in->type->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE && in->type->tensor_type->shape, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "%s: graph input '%s' is not a tensor with a shape", B->path, in->name);
  nd = in->type->tensor_type->shape->n_dim;
  PetscCheck(nd == 2 || nd == 4, PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: graph input '%s' has %zu dimensions (2: N,F or 4: an image)", B->path, in->name, nd);
  for (size_t k = 1; k < nd; ++k) {
    const Onnx__TensorShapeProto__Dimension *dm = in->type->tensor_type->shape->dim[k];

    PetscCheck(dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE && dm->dim_value >= 1 && dm->dim_value < 1 << 24, PETSC_COMM_SELF, PETSC_ERR_SUP,
               "%s: graph input '%s': dimension %zu is dynamic ('%s'); export the model with a fixed input size", B->path, in->name, k,
               dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM ? dm->dim_param : "?");
    d[k] = dm->dim_value;
  }
  PetscCall(mc__onnx_add(&B->vs, in->name, &v));
  v->kind  = MC_ONNX_RUNTIME;
  v->layer = -1;
  v->rank  = (int)nd;
  if (nd == 2) {
    B->m->input_shape[0] = B->m->input_shape[1] = 1, B->m->input_shape[2] = (PetscInt)d[1];
  } else {
    PetscBool nhwc;
    PetscInt  readers = 0, transposes = 0;

    for (size_t k = 0; k < g->n_node; ++k) {
      const Onnx__NodeProto *nd2 = g->node[k];
      size_t                 np;
      const int64_t         *p = attr_ints(nd2, "perm", &np);

      for (size_t j = 0; j < nd2->n_input; ++j) {
        if (strcmp(nd2->input[j], in->name)) continue;
        readers++;
        if (nd2->op_type && !strcmp(nd2->op_type, "Transpose") && p && np == 4 && p[0] == 0 && p[1] == 3 && p[2] == 1 && p[3] == 2) transposes++;
      }
    }
    nhwc = (readers > 0 && readers == transposes) ? PETSC_TRUE : PETSC_FALSE;
    v->nhwc = nhwc;
    if (nhwc) B->m->input_shape[0] = (PetscInt)d[1], B->m->input_shape[1] = (PetscInt)d[2], B->m->input_shape[2] = (PetscInt)d[3];
    else B->m->input_shape[0] = (PetscInt)d[2], B->m->input_shape[1] = (PetscInt)d[3], B->m->input_shape[2] = (PetscInt)d[1];
  }
  PetscFunctionReturn(0);
}

/* Drop the layers no output depends on (dead branches of an export) and renumber the rest. */
static PetscErrorCode prune(Builder *B)
{
  MCModel  *m = B->m;
  PetscBool *live;
  PetscInt  *map, n = 0;

  PetscFunctionBeginUser;
  PetscCall(PetscCalloc2(m->n_layers, &live, m->n_layers, &map));
  for (PetscInt o = 0; o < m->n_outputs; ++o) live[m->outputs[o]] = PETSC_TRUE;
  for (PetscInt i = m->n_layers - 1; i >= 0; --i)
    if (live[i])
      for (PetscInt j = 0; j < m->layers[i].n_inputs; ++j)
        if (m->layers[i].inputs[j] >= 0) live[m->layers[i].inputs[j]] = PETSC_TRUE;
  for (PetscInt i = 0; i < m->n_layers; ++i) {
    MCLayer *L = &m->layers[i];

    map[i] = live[i] ? n : -2;
    if (!live[i]) {
      PetscCall(PetscFree(L->weight));
      PetscCall(PetscFree(L->bias));
      PetscCall(PetscFree(L->inputs));
      PetscCall(PetscFree(L->gamma));
      PetscCall(PetscFree(L->beta));
      PetscCall(PetscFree(L->moving_mean));
      PetscCall(PetscFree(L->moving_var));
      continue;
    }
    for (PetscInt j = 0; j < L->n_inputs; ++j)
      if (L->inputs[j] >= 0) L->inputs[j] = map[L->inputs[j]];
    if (n != i) m->layers[n] = *L;
    ++n;
  }
  for (PetscInt o = 0; o < m->n_outputs; ++o) m->outputs[o] = map[m->outputs[o]];
  m->n_layers = n;
  PetscCall(PetscFree2(live, map));
  PetscFunctionReturn(0);
}

static PetscErrorCode build(Builder *B, const Onnx__ModelProto *mp)
{
  const Onnx__GraphProto *g = mp->graph;
  PetscInt               *outs;

  PetscFunctionBeginUser;
  PetscCheck(g, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: the ONNX model has no graph", B->path);
  B->vs.opset = -1;
  for (size_t k = 0; k < mp->n_opset_import; ++k)
    if (!mp->opset_import[k]->domain || !mp->opset_import[k]->domain[0] || !strcmp(mp->opset_import[k]->domain, "ai.onnx")) B->vs.opset = mp->opset_import[k]->version;
  PetscCheck(B->vs.opset >= 7 && B->vs.opset <= 18, PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: ONNX opset %lld is not supported (7 to 18; tested 9 to 17)", B->path, (long long)B->vs.opset);
  for (size_t k = 0; k < g->n_initializer; ++k) {
    MCOnnxValue *v;

    PetscCheck(g->initializer[k]->name && g->initializer[k]->name[0], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: initializer %zu has no name", B->path, k);
    PetscCall(mc__onnx_add(&B->vs, g->initializer[k]->name, &v));
    PetscCall(mc__onnx_tensor(&B->vs, g->initializer[k], g->initializer[k]->name, v));
  }
  PetscCall(graph_input(B, g));
  for (size_t k = 0; k < g->n_node; ++k) {
    B->index = k;
    mc__onnx_node_name(g->node[k], k, B->where, sizeof(B->where));
    PetscCall(convert(B, g->node[k]));
  }
  PetscCheck(g->n_output >= 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: the graph has no output", B->path);
  PetscCall(PetscMalloc1(g->n_output, &outs));
  for (size_t k = 0; k < g->n_output; ++k) {
    MCOnnxValue *v = g->output[k]->name ? mc__onnx_find(&B->vs, g->output[k]->name) : NULL;

    PetscCheck(v && v->kind == MC_ONNX_RUNTIME && v->layer >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: graph output '%s' is not computed by a layer of the model", B->path,
               g->output[k]->name ? g->output[k]->name : "");
    PetscCheck(!v->chw_order, PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: graph output '%s' is a flattened map in C,H,W order", B->path, g->output[k]->name);
    outs[k] = v->layer;
  }
  PetscCall(mc_model_set_outputs(B->m, (PetscInt)g->n_output, outs));
  PetscCall(PetscFree(outs));
  PetscCall(prune(B));
  PetscFunctionReturn(0);
}

PetscErrorCode mc__io_model_read_onnx(const char *path, double budget, MCModel **out)
{
  struct stat       st;
  FILE             *fp;
  uint8_t          *buf;
  Onnx__ModelProto *mp;
  Builder           B;
  PetscInt          shape[3] = {1, 1, 1};
  PetscErrorCode    ierr;

  PetscFunctionBeginUser;
  PetscCheck(stat(path, &st) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "model file %s does not exist", path);
  PetscCall(mc__io_check_budget(path, "the ONNX file", 2.0 * (double)st.st_size, budget));
  PetscCall(PetscMalloc1((size_t)st.st_size + 1, &buf));
  fp = fopen(path, "rb");
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot open model file %s", path);
  if (fread(buf, 1, (size_t)st.st_size, fp) != (size_t)st.st_size) {
    fclose(fp);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s: short read", path);
  }
  fclose(fp);
  mp = onnx__model_proto__unpack(NULL, (size_t)st.st_size, buf);
  PetscCall(PetscFree(buf));
  PetscCheck(mp, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s is not a valid ONNX model (the protobuf does not parse: truncated or not ONNX)", path);
  PetscCall(PetscMemzero(&B, sizeof(B)));
  B.path      = path;
  B.vs.path   = path;
  B.vs.budget = budget;
  B.cap       = 64;
  PetscCall(mc_model_create(B.cap, shape, &B.m));
  B.m->n_layers = 0;
  PetscCall(PetscStrncpy(B.m->source, path, sizeof(B.m->source)));
  PetscCall(PetscStrncpy(B.m->format, "onnx", sizeof(B.m->format)));
  ierr = build(&B, mp);
  onnx__model_proto__free_unpacked(mp, NULL);
  PetscCall(mc__onnx_values_free(&B.vs));
  if (!ierr) ierr = mc_model_finalize_shapes(PETSC_COMM_SELF, B.m);
  if (ierr) { /* nothing of a refused file stays behind */
    PetscCall(mc_model_destroy(&B.m));
    PetscCall(ierr);
  }
  *out = B.m;
  PetscFunctionReturn(0);
}
