/* src/io/onnx_impl.h: internals of the ONNX reader (model_onnx.c converts nodes to layers, onnx_values.c
   holds the tensors: initializers, constants and the static shape computations folded at load time). */
#pragma once
#include <onnx.pb-c.h>
#include "io/io_impl.h"

#define MC_ONNX_MAX_DIMS 8

/* A tensor name's value while the graph is read: a constant known at load time (weights, shapes), or a
   tensor computed per example by a layer of the model being built (-1: the model input). */
typedef enum { MC_ONNX_NONE, MC_ONNX_CONST, MC_ONNX_RUNTIME } MCOnnxKind;

typedef struct {
  const char *name; /* borrowed from the protobuf */
  MCOnnxKind  kind;
  /* constant: ndim dims, n values, as float (f) or int64 (i): one of them is set */
  PetscInt ndim, n;
  int64_t  dims[MC_ONNX_MAX_DIMS];
  float   *f;
  int64_t *i;
  /* runtime: the layer whose output this is (our memory is always its H x W x C), the ONNX rank (4 or 2),
     whether a rank-4 value's ONNX axes are N,H,W,C (else N,C,H,W), and for a rank-2 value made by
     flattening an N,C,H,W map with H*W > 1 that map's C, H, W (the ONNX feature order c*H*W + h*W + w
     is not ours, h*W*C + w*C + c: a Gemm reading it permutes its weight rows). */
  PetscInt  layer;
  int       rank;
  PetscBool nhwc, chw_order;
  PetscInt  chw[3];
} MCOnnxValue;

typedef struct {
  const char  *path; /* the model file, for messages and external data */
  double       budget;
  PetscInt     n, cap;
  MCOnnxValue *v;
  int64_t      opset;
} MCOnnxValues;

/* Find a value by tensor name (NULL if none); add one (a later definition of the same name shadows). */
MCOnnxValue   *mc__onnx_find(MCOnnxValues *vs, const char *name);
PetscErrorCode mc__onnx_add(MCOnnxValues *vs, const char *name, MCOnnxValue **out);
PetscErrorCode mc__onnx_values_free(MCOnnxValues *vs);

/* A TensorProto (initializer, Constant attribute) as a constant value: FLOAT, DOUBLE, FLOAT16, BFLOAT16 as
   float; INT64, INT32, INT8/16, UINT8/16, BOOL as int64; raw or typed fields or external data (location
   relative to the model file). Errors name the file and tensor. */
PetscErrorCode mc__onnx_tensor(MCOnnxValues *vs, const Onnx__TensorProto *t, const char *name, MCOnnxValue *out);

/* Whether node `op` with only constant inputs can be computed at load time, and compute it (shape
   arithmetic: Shape of a runtime value is handled by the caller). *done = PETSC_FALSE if op is not one of
   the folded operators. `where` names the node in messages. */
PetscErrorCode mc__onnx_fold(MCOnnxValues *vs, const Onnx__NodeProto *node, const char *where, PetscBool *done);

/* Attribute helpers: the attribute called name of node, or NULL. */
const Onnx__AttributeProto *mc__onnx_attr(const Onnx__NodeProto *node, const char *name);
int64_t                     mc__onnx_attr_int(const Onnx__NodeProto *node, const char *name, int64_t def);
float                       mc__onnx_attr_float(const Onnx__NodeProto *node, const char *name, float def);

/* The constant named by input k of node (empty or absent input: NULL). */
MCOnnxValue *mc__onnx_const_input(MCOnnxValues *vs, const Onnx__NodeProto *node, size_t k);

/* A node's name for messages: its name, or "<op_type> node #index" when it has none. */
const char *mc__onnx_node_name(const Onnx__NodeProto *node, size_t index, char buf[], size_t n);
