/* src/io/onnx_values.c: the ONNX reader's tensors: initializers and Constant nodes decoded to float or int64,
   external data files, and the static shape computations exporters write (Shape -> Gather -> Unsqueeze ->
   Concat -> Reshape, ConstantOfShape, Cast, Slice, arithmetic on constants) folded at load time. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "io/onnx_impl.h"

MCOnnxValue *mc__onnx_find(MCOnnxValues *vs, const char *name)
{
  if (!name || !name[0]) return NULL;
  for (PetscInt k = vs->n - 1; k >= 0; --k)
    if (!strcmp(vs->v[k].name, name)) return &vs->v[k];
  return NULL;
}

PetscErrorCode mc__onnx_add(MCOnnxValues *vs, const char *name, MCOnnxValue **out)
{
  PetscFunctionBeginUser;
  if (vs->n == vs->cap) {
    MCOnnxValue *nv;

    vs->cap = vs->cap ? 2 * vs->cap : 256;
    PetscCall(PetscCalloc1(vs->cap, &nv));
    if (vs->n) PetscCall(PetscArraycpy(nv, vs->v, vs->n));
    PetscCall(PetscFree(vs->v));
    vs->v = nv;
  }
  *out = &vs->v[vs->n++];
  PetscCall(PetscMemzero(*out, sizeof(**out)));
  (*out)->name = name;
  PetscFunctionReturn(0);
}

PetscErrorCode mc__onnx_values_free(MCOnnxValues *vs)
{
  PetscFunctionBeginUser;
  for (PetscInt k = 0; k < vs->n; ++k) {
    PetscCall(PetscFree(vs->v[k].f));
    PetscCall(PetscFree(vs->v[k].i));
  }
  PetscCall(PetscFree(vs->v));
  vs->n = vs->cap = 0;
  PetscFunctionReturn(0);
}

const Onnx__AttributeProto *mc__onnx_attr(const Onnx__NodeProto *node, const char *name)
{
  for (size_t a = 0; a < node->n_attribute; ++a)
    if (node->attribute[a]->name && !strcmp(node->attribute[a]->name, name)) return node->attribute[a];
  return NULL;
}

int64_t mc__onnx_attr_int(const Onnx__NodeProto *node, const char *name, int64_t def)
{
  const Onnx__AttributeProto *a = mc__onnx_attr(node, name);

  return a && a->has_i ? a->i : def;
}

float mc__onnx_attr_float(const Onnx__NodeProto *node, const char *name, float def)
{
  const Onnx__AttributeProto *a = mc__onnx_attr(node, name);

  return a && a->has_f ? a->f : def;
}

MCOnnxValue *mc__onnx_const_input(MCOnnxValues *vs, const Onnx__NodeProto *node, size_t k)
{
  MCOnnxValue *v;

  if (k >= node->n_input || !node->input[k][0]) return NULL;
  v = mc__onnx_find(vs, node->input[k]);
  return v && v->kind == MC_ONNX_CONST ? v : NULL;
}

const char *mc__onnx_node_name(const Onnx__NodeProto *node, size_t index, char buf[], size_t n)
{
  const char *op = node->op_type ? node->op_type : "?";

  if (node->name && node->name[0]) snprintf(buf, n, "%s (%s)", node->name, op);
  else snprintf(buf, n, "%s node #%zu", op, index);
  return buf;
}

/* Bytes of one element of an ONNX data type, 0 if unsupported; *is_float for the float family. */
static size_t elem_size(int32_t type, PetscBool *is_float)
{
  *is_float = PETSC_FALSE;
  switch (type) {
  case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
    *is_float = PETSC_TRUE;
    return 4;
  case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
    *is_float = PETSC_TRUE;
    return 8;
  case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16:
  case ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16:
    *is_float = PETSC_TRUE;
    return 2;
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
    return 8;
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT32:
    return 4;
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT16:
  case ONNX__TENSOR_PROTO__DATA_TYPE__UINT16:
    return 2;
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT8:
  case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8:
  case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL:
    return 1;
  default:
    return 0;
  }
}

/* One element j of little-endian raw bytes as double (floats) or int64. */
static double raw_float(int32_t type, const uint8_t *p, size_t j)
{
  switch (type) {
  case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: {
    float f;
    memcpy(&f, p + 4 * j, 4);
    return f;
  }
  case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: {
    double d;
    memcpy(&d, p + 8 * j, 8);
    return d;
  }
  case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16:
    return mc__io_half_to_float((uint16_t)(p[2 * j] | (p[2 * j + 1] << 8)));
  default: /* BFLOAT16 */
    return mc__io_bf16_to_float((uint16_t)(p[2 * j] | (p[2 * j + 1] << 8)));
  }
}

static int64_t raw_int(int32_t type, const uint8_t *p, size_t j)
{
  switch (type) {
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: {
    int64_t v;
    memcpy(&v, p + 8 * j, 8);
    return v;
  }
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: {
    int32_t v;
    memcpy(&v, p + 4 * j, 4);
    return v;
  }
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT16: {
    int16_t v;
    memcpy(&v, p + 2 * j, 2);
    return v;
  }
  case ONNX__TENSOR_PROTO__DATA_TYPE__UINT16:
    return (int64_t)(p[2 * j] | (p[2 * j + 1] << 8));
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT8:
    return (int8_t)p[j];
  default:
    return p[j];
  }
}

/* Read external data (location, offset, length) relative to the model file into a new buffer. */
static PetscErrorCode read_external(MCOnnxValues *vs, const Onnx__TensorProto *t, const char *name, size_t want, uint8_t **out)
{
  const char *loc = NULL;
  long long   off = 0, len = -1;
  char        dir[PETSC_MAX_PATH_LEN], file[2 * PETSC_MAX_PATH_LEN];
  const char *slash;
  struct stat st;
  FILE       *fp;

  PetscFunctionBeginUser;
  for (size_t k = 0; k < t->n_external_data; ++k) {
    const Onnx__StringStringEntryProto *e = t->external_data[k];

    if (!e->key || !e->value) continue;
    if (!strcmp(e->key, "location")) loc = e->value;
    else if (!strcmp(e->key, "offset")) off = atoll(e->value);
    else if (!strcmp(e->key, "length")) len = atoll(e->value);
  }
  PetscCheck(loc && loc[0], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: tensor '%s' is stored externally but names no location", vs->path, name);
  PetscCheck(loc[0] != '/' && !strstr(loc, ".."), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: tensor '%s': external data location '%s' must be a path inside the model's directory", vs->path,
             name, loc);
  PetscCheck(off >= 0 && (len < 0 || (size_t)len == want), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "%s: tensor '%s': external data offset %lld / length %lld disagree with its %zu bytes", vs->path, name, off, len, want);
  slash = strrchr(vs->path, '/');
  snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - vs->path) : 1, slash ? vs->path : ".");
  snprintf(file, sizeof(file), "%s/%s", dir, loc);
  PetscCheck(stat(file, &st) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "%s: tensor '%s': external data file %s does not exist", vs->path, name, file);
  PetscCheck((long long)st.st_size >= off + (long long)want, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "%s: tensor '%s': external data file %s holds %lld bytes, fewer than offset %lld + %zu (truncated?)", vs->path, name, file, (long long)st.st_size, off, want);
  PetscCall(mc__io_check_budget(file, name, (double)want, vs->budget));
  PetscCall(PetscMalloc1(want + 1, out));
  fp = fopen(file, "rb");
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "%s: cannot open external data file %s", vs->path, file);
  if (fseeko(fp, (off_t)off, SEEK_SET) || fread(*out, 1, want, fp) != want) {
    fclose(fp);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s: cannot read tensor '%s' from %s (truncated?)", vs->path, name, file);
  }
  fclose(fp);
  PetscFunctionReturn(0);
}

PetscErrorCode mc__onnx_tensor(MCOnnxValues *vs, const Onnx__TensorProto *t, const char *name, MCOnnxValue *out)
{
  PetscBool      is_float;
  size_t         es = elem_size(t->data_type, &is_float), n = 1, typed;
  const uint8_t *raw = NULL;
  uint8_t       *ext = NULL;

  PetscFunctionBeginUser;
  PetscCheck(es > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: tensor '%s' has data type %d, which this reader does not take (float, double, float16, bfloat16 or integers)", vs->path, name,
             (int)t->data_type);
  PetscCheck(t->n_dims <= MC_ONNX_MAX_DIMS, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: tensor '%s' has %zu dimensions (at most %d)", vs->path, name, t->n_dims, MC_ONNX_MAX_DIMS);
  out->kind = MC_ONNX_CONST;
  out->ndim = (PetscInt)t->n_dims;
  for (size_t d = 0; d < t->n_dims; ++d) {
    PetscCheck(t->dims[d] >= 0 && t->dims[d] < ((int64_t)1 << 31), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: tensor '%s' has dimension %zu = %lld", vs->path, name, d, (long long)t->dims[d]);
    out->dims[d] = t->dims[d];
    n *= (size_t)t->dims[d];
    PetscCheck(n < ((size_t)1 << 38), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: tensor '%s' describes more than 2^38 values (a corrupt file?)", vs->path, name);
  }
  out->n = (PetscInt)n;
  if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
    PetscCall(read_external(vs, t, name, n * es, &ext));
    raw = ext;
  } else if (t->has_raw_data) {
    PetscCheck(t->raw_data.len == n * es, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: tensor '%s' holds %zu bytes of raw data, its shape needs %zu", vs->path, name, t->raw_data.len, n * es);
    raw = t->raw_data.data;
  }
  PetscCall(mc__io_check_budget(vs->path, name, (double)n * (is_float ? 4.0 : 8.0), vs->budget));
  if (is_float) PetscCall(PetscMalloc1(n + 1, &out->f));
  else PetscCall(PetscMalloc1(n + 1, &out->i));
  if (raw) {
    for (size_t j = 0; j < n; ++j) {
      if (is_float) out->f[j] = (float)raw_float(t->data_type, raw, j);
      else out->i[j] = raw_int(t->data_type, raw, j);
    }
    PetscCall(PetscFree(ext));
    PetscFunctionReturn(0);
  }
  /* Typed fields: float_data, double_data, int64_data, int32_data (which also carries 16-bit, 8-bit and bool). */
  switch (t->data_type) {
  case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
    typed = t->n_float_data;
    break;
  case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
    typed = t->n_double_data;
    break;
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
    typed = t->n_int64_data;
    break;
  default:
    typed = t->n_int32_data;
  }
  PetscCheck(typed == n, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: tensor '%s' holds %zu values, its shape needs %zu", vs->path, name, typed, n);
  for (size_t j = 0; j < n; ++j) {
    switch (t->data_type) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
      out->f[j] = t->float_data[j];
      break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
      out->f[j] = (float)t->double_data[j];
      break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16:
      out->f[j] = mc__io_half_to_float((uint16_t)t->int32_data[j]);
      break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16:
      out->f[j] = mc__io_bf16_to_float((uint16_t)t->int32_data[j]);
      break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
      out->i[j] = t->int64_data[j];
      break;
    default:
      out->i[j] = t->int32_data[j];
    }
  }
  PetscFunctionReturn(0);
}

/* Element j of constant v as double / int64 whatever it holds. */
static double cf(const MCOnnxValue *v, PetscInt j)
{
  return v->f ? (double)v->f[j] : (double)v->i[j];
}

static int64_t ci(const MCOnnxValue *v, PetscInt j)
{
  return v->i ? v->i[j] : (int64_t)v->f[j];
}

/* A new constant output of node (output 0) with the given shape, float or int64. */
static PetscErrorCode new_const(MCOnnxValues *vs, const Onnx__NodeProto *node, PetscInt ndim, const int64_t dims[], PetscBool is_float, MCOnnxValue **out)
{
  PetscInt n = 1;

  PetscFunctionBeginUser;
  PetscCheck(ndim <= MC_ONNX_MAX_DIMS, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s computes a tensor of %" PetscInt_FMT " dimensions", vs->path, node->op_type, ndim);
  for (PetscInt d = 0; d < ndim; ++d) n *= (PetscInt)dims[d];
  PetscCheck(n >= 0 && n < (1 << 24), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s computes a constant of %" PetscInt_FMT " values at load time (shape arithmetic is folded up to 2^24 values)", vs->path,
             node->op_type, n);
  PetscCall(mc__onnx_add(vs, node->output[0], out));
  (*out)->kind = MC_ONNX_CONST;
  (*out)->ndim = ndim;
  (*out)->n    = n;
  for (PetscInt d = 0; d < ndim; ++d) (*out)->dims[d] = dims[d];
  if (is_float) PetscCall(PetscMalloc1(n + 1, &(*out)->f));
  else PetscCall(PetscMalloc1(n + 1, &(*out)->i));
  PetscFunctionReturn(0);
}

static PetscInt norm_axis(int64_t a, PetscInt ndim)
{
  return (PetscInt)(a < 0 ? a + ndim : a);
}

PetscErrorCode mc__onnx_fold(MCOnnxValues *vs, const Onnx__NodeProto *node, const char *where, PetscBool *done)
{
  const char  *op = node->op_type;
  MCOnnxValue *a  = mc__onnx_const_input(vs, node, 0), *b = mc__onnx_const_input(vs, node, 1), *o;

  PetscFunctionBeginUser;
  *done = PETSC_TRUE;
  PetscCheck(a, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: node %s on constants has no first input", vs->path, where);
  PetscCheck(b || !(!strcmp(op, "Add") || !strcmp(op, "Sub") || !strcmp(op, "Mul") || !strcmp(op, "Div") || !strcmp(op, "Gather")), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "%s: node %s on constants lacks its second input", vs->path, where);
  if (!strcmp(op, "Identity") || !strcmp(op, "Cast") || !strcmp(op, "Unsqueeze") || !strcmp(op, "Squeeze") || !strcmp(op, "Flatten") || !strcmp(op, "Reshape")) {
    int64_t  dims[MC_ONNX_MAX_DIMS];
    PetscInt nd = a->ndim;
    PetscBool fl = a->f ? PETSC_TRUE : PETSC_FALSE;

    for (PetscInt d = 0; d < nd; ++d) dims[d] = a->dims[d];
    if (!strcmp(op, "Cast")) {
      int64_t to = mc__onnx_attr_int(node, "to", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
      PetscBool f2;
      (void)elem_size((int32_t)to, &f2);
      fl = f2;
    } else if (!strcmp(op, "Unsqueeze") || !strcmp(op, "Squeeze")) {
      const Onnx__AttributeProto *ax = mc__onnx_attr(node, "axes");
      int64_t                     axes[MC_ONNX_MAX_DIMS];
      size_t                      na = 0;
      if (ax) {
        na = PetscMin(ax->n_ints, MC_ONNX_MAX_DIMS);
        for (size_t k = 0; k < na; ++k) axes[k] = ax->ints[k];
      } else if (b) {
        na = (size_t)PetscMin(b->n, MC_ONNX_MAX_DIMS);
        for (size_t k = 0; k < na; ++k) axes[k] = ci(b, (PetscInt)k);
      }
      if (!strcmp(op, "Unsqueeze")) {
        PetscInt out_nd = nd + (PetscInt)na, src = 0;
        int64_t  nd2[MC_ONNX_MAX_DIMS];
        PetscCheck(out_nd <= MC_ONNX_MAX_DIMS, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: node %s: Unsqueeze to %" PetscInt_FMT " dimensions", vs->path, where, out_nd);
        for (PetscInt d = 0; d < out_nd; ++d) {
          PetscBool ins = PETSC_FALSE;
          for (size_t k = 0; k < na; ++k) ins = ins || norm_axis(axes[k], out_nd) == d;
          nd2[d] = ins ? 1 : dims[src++];
        }
        nd = out_nd;
        for (PetscInt d = 0; d < nd; ++d) dims[d] = nd2[d];
      } else {
        PetscInt k2 = 0;
        for (PetscInt d = 0; d < nd; ++d) {
          PetscBool drop = na ? PETSC_FALSE : (dims[d] == 1 ? PETSC_TRUE : PETSC_FALSE);
          for (size_t k = 0; k < na; ++k) drop = drop || norm_axis(axes[k], nd) == d;
          if (!drop) dims[k2++] = dims[d];
        }
        nd = k2;
      }
    } else if (!strcmp(op, "Flatten")) {
      PetscInt ax = norm_axis(mc__onnx_attr_int(node, "axis", 1), nd);
      int64_t  p0 = 1, p1 = 1;
      for (PetscInt d = 0; d < nd; ++d) {
        if (d < ax) p0 *= dims[d];
        else p1 *= dims[d];
      }
      nd = 2, dims[0] = p0, dims[1] = p1;
    } else if (!strcmp(op, "Reshape")) {
      int64_t known = 1;
      PetscInt neg = -1;
      PetscCheck(b && b->ndim == 1 && b->n <= MC_ONNX_MAX_DIMS, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: node %s: Reshape of a constant needs a constant shape", vs->path, where);
      for (PetscInt d = 0; d < b->n; ++d) {
        dims[d] = ci(b, d);
        if (dims[d] == 0 && d < a->ndim) dims[d] = a->dims[d];
        PetscCheck(dims[d] >= -1 && dims[d] < ((int64_t)1 << 31), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: node %s: reshape size %lld", vs->path, where, (long long)dims[d]);
        if (dims[d] < 0) neg = d;
        else known *= dims[d];
        PetscCheck(known < ((int64_t)1 << 40), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: node %s: reshape to more than 2^40 values", vs->path, where);
      }
      nd = b->n;
      if (neg >= 0) dims[neg] = known ? a->n / known : 0;
    }
    PetscCall(new_const(vs, node, nd, dims, fl, &o));
    PetscCheck(o->n == a->n, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: node %s turns %" PetscInt_FMT " values into %" PetscInt_FMT, vs->path, where, a->n, o->n);
    for (PetscInt j = 0; j < a->n; ++j) {
      if (o->f) o->f[j] = (float)cf(a, j);
      else o->i[j] = ci(a, j);
    }
  } else if (!strcmp(op, "Gather")) {
    PetscInt ax = norm_axis(mc__onnx_attr_int(node, "axis", 0), a->ndim), outer = 1, inner = 1, nd = 0;
    int64_t  dims[MC_ONNX_MAX_DIMS];
    PetscCheck(b && ax >= 0 && ax < a->ndim && a->ndim + b->ndim - 1 <= MC_ONNX_MAX_DIMS, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: node %s: Gather on constants with a bad axis or indices", vs->path, where);
    for (PetscInt d = 0; d < ax; ++d) outer *= (PetscInt)a->dims[d], dims[nd++] = a->dims[d];
    for (PetscInt d = 0; d < b->ndim; ++d) dims[nd++] = b->dims[d];
    for (PetscInt d = ax + 1; d < a->ndim; ++d) inner *= (PetscInt)a->dims[d], dims[nd++] = a->dims[d];
    PetscCall(new_const(vs, node, nd, dims, a->f ? PETSC_TRUE : PETSC_FALSE, &o));
    for (PetscInt p = 0; p < outer; ++p)
      for (PetscInt q = 0; q < b->n; ++q) {
        int64_t idx = ci(b, q);
        if (idx < 0) idx += a->dims[ax];
        PetscCheck(idx >= 0 && idx < a->dims[ax], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: node %s: Gather index %lld outside 0..%lld", vs->path, where, (long long)idx, (long long)a->dims[ax] - 1);
        for (PetscInt r = 0; r < inner; ++r) {
          PetscInt src = (PetscInt)((p * a->dims[ax] + idx) * inner + r), dst = (p * b->n + q) * inner + r;
          if (o->f) o->f[dst] = a->f[src];
          else o->i[dst] = a->i[src];
        }
      }
  } else if (!strcmp(op, "Concat")) {
    PetscInt ax, nd = a->ndim, total = 0;
    int64_t  dims[MC_ONNX_MAX_DIMS];
    PetscCheck(nd == 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: node %s: Concat of constants is folded for vectors only", vs->path, where);
    ax = norm_axis(mc__onnx_attr_int(node, "axis", 0), 1);
    PetscCheck(ax == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: node %s: Concat of constant vectors along axis %" PetscInt_FMT, vs->path, where, ax);
    for (size_t k = 0; k < node->n_input; ++k) {
      MCOnnxValue *c = mc__onnx_const_input(vs, node, k);
      PetscCheck(c && c->ndim == 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: node %s: input %zu is not a constant vector", vs->path, where, k);
      total += c->n;
    }
    dims[0] = total;
    PetscCall(new_const(vs, node, 1, dims, a->f ? PETSC_TRUE : PETSC_FALSE, &o));
    total = 0;
    for (size_t k = 0; k < node->n_input; ++k) {
      MCOnnxValue *c = mc__onnx_const_input(vs, node, k);
      for (PetscInt j = 0; j < c->n; ++j, ++total) {
        if (o->f) o->f[total] = (float)cf(c, j);
        else o->i[total] = ci(c, j);
      }
    }
  } else if (!strcmp(op, "Transpose")) {
    const Onnx__AttributeProto *pa = mc__onnx_attr(node, "perm");
    PetscInt                    nd = a->ndim, perm[MC_ONNX_MAX_DIMS], stride[MC_ONNX_MAX_DIMS];
    int64_t                     dims[MC_ONNX_MAX_DIMS];
    for (PetscInt d = 0; d < nd; ++d) perm[d] = pa ? -1 : nd - 1 - d;
    if (pa) {
      PetscCheck((PetscInt)pa->n_ints == nd, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: node %s: perm of %zu entries for %" PetscInt_FMT " dimensions", vs->path, where, pa->n_ints, nd);
      for (PetscInt d = 0; d < nd; ++d) {
        PetscCheck(pa->ints[d] >= 0 && pa->ints[d] < nd, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: node %s: bad perm", vs->path, where);
        perm[d] = (PetscInt)pa->ints[d];
      }
    }
    for (PetscInt d = nd - 1, acc = 1; d >= 0; --d) stride[d] = acc, acc *= (PetscInt)a->dims[d];
    for (PetscInt d = 0; d < nd; ++d) dims[d] = a->dims[perm[d]];
    PetscCall(new_const(vs, node, nd, dims, a->f ? PETSC_TRUE : PETSC_FALSE, &o));
    for (PetscInt j = 0; j < o->n; ++j) {
      PetscInt src = 0, r = j;
      for (PetscInt d = nd - 1; d >= 0; --d) {
        PetscInt id = dims[d] ? r % (PetscInt)dims[d] : 0;
        r   = dims[d] ? r / (PetscInt)dims[d] : 0;
        src += id * stride[perm[d]];
      }
      if (o->f) o->f[j] = a->f[src];
      else o->i[j] = a->i[src];
    }
  } else if (!strcmp(op, "Shape")) {
    int64_t d1[1] = {a->ndim};
    PetscCall(new_const(vs, node, 1, d1, PETSC_FALSE, &o));
    for (PetscInt d = 0; d < a->ndim; ++d) o->i[d] = a->dims[d];
  } else if (!strcmp(op, "Slice")) {
    int64_t  st[MC_ONNX_MAX_DIMS], en[MC_ONNX_MAX_DIMS], sp[MC_ONNX_MAX_DIMS], dims[MC_ONNX_MAX_DIMS], stride[MC_ONNX_MAX_DIMS], idx[MC_ONNX_MAX_DIMS] = {0};
    int64_t  vst[MC_ONNX_MAX_DIMS], ven[MC_ONNX_MAX_DIMS], vax[MC_ONNX_MAX_DIMS], vsp[MC_ONNX_MAX_DIMS];
    PetscInt nsl = 0, nd = a->ndim;
    for (PetscInt d = 0; d < nd; ++d) st[d] = 0, en[d] = a->dims[d], sp[d] = 1;
    if (mc__onnx_attr(node, "starts")) { /* opset < 10: attributes */
      const Onnx__AttributeProto *s1 = mc__onnx_attr(node, "starts"), *e1 = mc__onnx_attr(node, "ends"), *x1 = mc__onnx_attr(node, "axes");
      PetscCheck(e1 && s1->n_ints == e1->n_ints && s1->n_ints <= MC_ONNX_MAX_DIMS && (!x1 || x1->n_ints == s1->n_ints), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: node %s: bad starts/ends", vs->path, where);
      nsl = (PetscInt)s1->n_ints;
      for (PetscInt k = 0; k < nsl; ++k) vst[k] = s1->ints[k], ven[k] = e1->ints[k], vax[k] = x1 ? x1->ints[k] : k, vsp[k] = 1;
    } else {
      MCOnnxValue *s1 = b, *e1 = mc__onnx_const_input(vs, node, 2), *x1 = mc__onnx_const_input(vs, node, 3), *p1 = mc__onnx_const_input(vs, node, 4);
      PetscCheck(s1 && e1 && s1->n == e1->n && s1->n <= MC_ONNX_MAX_DIMS && (!x1 || x1->n == s1->n) && (!p1 || p1->n == s1->n), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
                 "%s: node %s: starts, ends, axes and steps must be constants of one length", vs->path, where);
      nsl = s1->n;
      for (PetscInt k = 0; k < nsl; ++k) vst[k] = ci(s1, k), ven[k] = ci(e1, k), vax[k] = x1 ? ci(x1, k) : k, vsp[k] = p1 ? ci(p1, k) : 1;
    }
    for (PetscInt k = 0; k < nsl; ++k) {
      PetscInt ax = norm_axis(vax[k], nd);
      int64_t  dim, s0, e0;
      PetscCheck(ax >= 0 && ax < nd && vsp[k] != 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: node %s: slice axis %lld or step 0", vs->path, where, (long long)vax[k]);
      dim = a->dims[ax], s0 = vst[k], e0 = ven[k];
      if (s0 < 0) s0 += dim;
      if (e0 < 0) e0 += dim;
      if (vsp[k] > 0) s0 = PetscMax(0, PetscMin(s0, dim)), e0 = PetscMax(0, PetscMin(e0, dim));
      else s0 = PetscMax(-1, PetscMin(s0, dim - 1)), e0 = PetscMax(-1, PetscMin(e0, dim - 1));
      st[ax] = s0, en[ax] = e0, sp[ax] = PetscMax(-(dim + 1), PetscMin(vsp[k], dim + 1)); /* a larger step takes one element too */
    }
    for (PetscInt d = 0; d < nd; ++d) {
      int64_t cnt = sp[d] > 0 ? (en[d] - st[d] + sp[d] - 1) / sp[d] : (st[d] - en[d] + (-sp[d]) - 1) / (-sp[d]);
      dims[d] = cnt > 0 ? cnt : 0;
    }
    for (PetscInt d = nd - 1, acc = 1; d >= 0; --d) stride[d] = acc, acc *= (PetscInt)a->dims[d];
    PetscCall(new_const(vs, node, nd, dims, a->f ? PETSC_TRUE : PETSC_FALSE, &o));
    for (PetscInt j = 0; j < o->n; ++j) {
      PetscInt src = 0, r = j;
      for (PetscInt d = nd - 1; d >= 0; --d) {
        idx[d] = dims[d] ? r % dims[d] : 0;
        r      = dims[d] ? r / dims[d] : 0;
        src += (PetscInt)((st[d] + idx[d] * sp[d]) * stride[d]);
      }
      if (o->f) o->f[j] = a->f[src];
      else o->i[j] = a->i[src];
    }
  } else if (!strcmp(op, "ConstantOfShape")) {
    const Onnx__AttributeProto *va = mc__onnx_attr(node, "value");
    MCOnnxValue                 fill = {0};
    int64_t                     dims[MC_ONNX_MAX_DIMS];
    PetscCheck(a->ndim == 1 && a->n <= MC_ONNX_MAX_DIMS, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: node %s: ConstantOfShape with a bad shape", vs->path, where);
    for (PetscInt d = 0; d < a->n; ++d) dims[d] = ci(a, d);
    if (va && va->t) PetscCall(mc__onnx_tensor(vs, va->t, node->output[0], &fill));
    PetscCall(new_const(vs, node, a->n, dims, fill.i ? PETSC_FALSE : PETSC_TRUE, &o));
    for (PetscInt j = 0; j < o->n; ++j) {
      if (o->f) o->f[j] = fill.f ? fill.f[0] : 0.0f;
      else o->i[j] = fill.i[0];
    }
    PetscCall(PetscFree(fill.f));
    PetscCall(PetscFree(fill.i));
  } else if (!strcmp(op, "Add") || !strcmp(op, "Sub") || !strcmp(op, "Mul") || !strcmp(op, "Div")) {
    const MCOnnxValue *big = (a->n > b->n || (a->n == b->n && a->ndim >= b->ndim)) ? a : b;
    PetscBool          fl  = (a->f || b->f) ? PETSC_TRUE : PETSC_FALSE;
    PetscCheck(b->n == 1 || a->n == 1 || a->n == b->n, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: node %s: constants of %" PetscInt_FMT " and %" PetscInt_FMT " values", vs->path, where, a->n, b->n);
    PetscCall(new_const(vs, node, big->ndim, big->dims, fl, &o));
    for (PetscInt j = 0; j < o->n; ++j) {
      double x = cf(a, a->n == 1 ? 0 : j), y = cf(b, b->n == 1 ? 0 : j), r;
      r = op[0] == 'A' ? x + y : op[0] == 'S' ? x - y : op[0] == 'M' ? x * y : (fl ? x / y : (double)(ci(a, a->n == 1 ? 0 : j) / (ci(b, b->n == 1 ? 0 : j) ? ci(b, b->n == 1 ? 0 : j) : 1)));
      PetscCheck(fl || (r > -9e18 && r < 9e18), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: node %s: integer result %g out of range", vs->path, where, r);
      if (fl) o->f[j] = (float)r;
      else o->i[j] = (int64_t)r;
    }
  } else *done = PETSC_FALSE;
  PetscFunctionReturn(0);
}
