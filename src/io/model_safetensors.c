/* src/io/model_safetensors.c: safetensors files (our own parser: u64 little-endian header length, a JSON
   header, then the raw little-endian tensor data) with the architecture from [layer.N] sections of the
   configuration or model.infer = mlp. Layout torch (the default) transposes Dense weights, permutes
   conv kernels OIHW -> HWIO and reorders the inputs of the first Dense after a Flatten from C,H,W to
   H,W,C; layout keras takes the tensors as they are. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cjson/cJSON.h>
#include "io/io_impl.h"

#define ST_MAX_HEADER 100000000ULL /* 100 MB, as the reference implementation */
#define ST_MAX_DIMS   8

typedef enum { ST_F32, ST_F64, ST_F16, ST_BF16, ST_OTHER } STDtype;

typedef struct {
  const char *name; /* points into the cJSON tree */
  STDtype     dtype;
  const char *dtype_name;
  int         ndim;
  PetscInt    dims[ST_MAX_DIMS];
  uint64_t    begin, end; /* relative to the start of the data */
} STTensor;

typedef struct {
  const char *path;
  FILE       *fp;
  cJSON      *header;
  uint64_t    data_start, data_size;
  PetscInt    n;
  STTensor   *t; /* n entries in header order */
  PetscBool   torch;
  double      budget; /* memory a rank may hold (mc__io_check_budget) */
} STFile;

static int cmp_begin(const void *a, const void *b)
{
  const STTensor *x = *(const STTensor *const *)a, *y = *(const STTensor *const *)b;

  if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
  return x->end < y->end ? -1 : (x->end > y->end ? 1 : 0);
}

static PetscErrorCode st_dtype(const char *path, const char *tname, const char *d, STDtype *dt, size_t *size)
{
  static const struct {
    const char *name;
    size_t      size;
  } others[] = {{"I64", 8}, {"U64", 8}, {"I32", 4}, {"U32", 4}, {"I16", 2}, {"U16", 2}, {"I8", 1}, {"U8", 1}, {"BOOL", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1}};

  PetscFunctionBeginUser;
  if (!strcmp(d, "F32")) *dt = ST_F32, *size = 4;
  else if (!strcmp(d, "F64")) *dt = ST_F64, *size = 8;
  else if (!strcmp(d, "F16")) *dt = ST_F16, *size = 2;
  else if (!strcmp(d, "BF16")) *dt = ST_BF16, *size = 2;
  else {
    *dt = ST_OTHER;
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); ++i)
      if (!strcmp(d, others[i].name)) {
        *size = others[i].size;
        PetscFunctionReturn(0);
      }
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: tensor '%s' has unknown dtype '%s'", path, tname, d);
  }
  PetscFunctionReturn(0);
}

/* Open and validate: header size, JSON, every entry's dtype/shape/offsets, no duplicates, offsets inside
   the file, the data covered exactly (no holes, no overlaps). */
static PetscErrorCode st_open(const char *path, double budget, STFile *st)
{
  unsigned char len8[8];
  uint64_t      hlen = 0;
  struct stat   sb;
  char         *text;
  cJSON        *item;
  STTensor    **order;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(st, sizeof(*st)));
  st->path   = path;
  st->budget = budget;
  PetscCheck(stat(path, &sb) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot open %s: %s", path, strerror(errno));
  st->fp = fopen(path, "rb");
  PetscCheck(st->fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot open %s: %s", path, strerror(errno));
  PetscCheck(fread(len8, 1, 8, st->fp) == 8, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s is truncated: shorter than the 8-byte safetensors header length", path);
  for (int i = 7; i >= 0; --i) hlen = (hlen << 8) | len8[i];
  PetscCheck(hlen <= ST_MAX_HEADER, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: safetensors header length %llu exceeds the 100 MB limit (corrupt file?)", path, (unsigned long long)hlen);
  PetscCheck(hlen >= 2 && 8 + hlen <= (uint64_t)sb.st_size, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s is truncated: the safetensors header says %llu bytes but the file has %lld", path,
             (unsigned long long)hlen, (long long)sb.st_size);
  PetscCall(PetscMalloc1(hlen + 1, &text));
  PetscCheck(fread(text, 1, hlen, st->fp) == hlen, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s: cannot read the safetensors header", path);
  text[hlen] = '\0';
  {
    const char *end = NULL;

    st->header = cJSON_ParseWithLengthOpts(text, (size_t)hlen, &end, 0);
    PetscCheck(st->header && cJSON_IsObject(st->header), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: the safetensors header is not a JSON object", path);
    /* The format pads the header with spaces (JSON whitespace is let through); anything else is damage. */
    while (end < text + hlen && (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t')) ++end;
    PetscCheck(end == text + hlen, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %lld bytes after the safetensors header's JSON are not padding (a damaged header)", path,
               (long long)(text + hlen - end));
  }
  PetscCall(PetscFree(text));
  st->data_start = 8 + hlen;
  st->data_size  = (uint64_t)sb.st_size - st->data_start;

  st->n = 0;
  cJSON_ArrayForEach(item, st->header)
  {
    if (strcmp(item->string, "__metadata__")) ++st->n;
  }
  PetscCall(PetscCalloc1(st->n + 1, &st->t));
  PetscCall(PetscCalloc1(st->n + 1, &order));
  st->n = 0;
  cJSON_ArrayForEach(item, st->header)
  {
    STTensor    *t = &st->t[st->n];
    const cJSON *dt, *sh, *off, *e;
    size_t       esize = 0;
    uint64_t     count = 1;

    if (!strcmp(item->string, "__metadata__")) continue;
    t->name = item->string;
    PetscCheck(t->name[0], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: a tensor in the safetensors header has an empty name", path);
    for (PetscInt j = 0; j < st->n; ++j)
      PetscCheck(strcmp(st->t[j].name, t->name), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: tensor '%s' appears twice in the safetensors header", path, t->name);
    dt  = cJSON_GetObjectItemCaseSensitive(item, "dtype");
    sh  = cJSON_GetObjectItemCaseSensitive(item, "shape");
    off = cJSON_GetObjectItemCaseSensitive(item, "data_offsets");
    PetscCheck(cJSON_IsObject(item) && cJSON_IsString(dt) && cJSON_IsArray(sh) && cJSON_IsArray(off) && cJSON_GetArraySize(off) == 2, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
               "%s: header entry '%s' lacks dtype, shape or data_offsets", path, t->name);
    PetscCall(st_dtype(path, t->name, dt->valuestring, &t->dtype, &esize));
    t->dtype_name = dt->valuestring;
    t->ndim       = cJSON_GetArraySize(sh);
    PetscCheck(t->ndim <= ST_MAX_DIMS, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: tensor '%s' has %d dimensions", path, t->name, t->ndim);
    for (int d = 0; d < t->ndim; ++d) {
      e = cJSON_GetArrayItem(sh, d);
      PetscCheck(cJSON_IsNumber(e) && e->valuedouble >= 0 && e->valuedouble < 4e9 && e->valuedouble == floor(e->valuedouble), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
                 "%s: tensor '%s' has an invalid shape (entry %d is not a whole number below 4e9)", path, t->name, d);
      t->dims[d] = (PetscInt)e->valuedouble;
      count *= (uint64_t)t->dims[d];
    }
    for (int j = 0; j < 2; ++j) {
      e = cJSON_GetArrayItem(off, j);
      PetscCheck(cJSON_IsNumber(e) && e->valuedouble >= 0 && e->valuedouble < 9e15 && e->valuedouble == floor(e->valuedouble), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
                 "%s: tensor '%s' has invalid data_offsets (not whole byte counts)", path, t->name);
    }
    t->begin = (uint64_t)cJSON_GetArrayItem(off, 0)->valuedouble;
    t->end   = (uint64_t)cJSON_GetArrayItem(off, 1)->valuedouble;
    PetscCheck(t->end >= t->begin && t->end - t->begin == count * esize, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
               "%s: tensor '%s' has data_offsets [%llu, %llu] (%llu bytes) but its shape and dtype %s need %llu bytes", path, t->name, (unsigned long long)t->begin,
               (unsigned long long)t->end, (unsigned long long)(t->end - t->begin), t->dtype_name, (unsigned long long)(count * esize));
    PetscCheck(t->end <= st->data_size, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s is truncated: tensor '%s' ends at data byte %llu but the file holds only %llu data bytes", path, t->name,
               (unsigned long long)t->end, (unsigned long long)st->data_size);
    order[st->n] = t;
    ++st->n;
  }
  qsort(order, (size_t)st->n, sizeof(*order), cmp_begin);
  for (PetscInt j = 0; j < st->n; ++j) {
    uint64_t prev = j ? order[j - 1]->end : 0;

    PetscCheck(order[j]->begin >= prev, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: tensor '%s' overlaps tensor '%s' in the data", path, order[j]->name, j ? order[j - 1]->name : "?");
    PetscCheck(order[j]->begin == prev, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %llu unused bytes before tensor '%s' (a hole in the data)", path,
               (unsigned long long)(order[j]->begin - prev), order[j]->name);
  }
  PetscCheck((st->n ? order[st->n - 1]->end : 0) == st->data_size, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %llu bytes after the last tensor are not described by the header", path,
             (unsigned long long)(st->data_size - (st->n ? order[st->n - 1]->end : 0)));
  PetscCall(PetscFree(order));
  PetscFunctionReturn(0);
}

static PetscErrorCode st_close(STFile *st)
{
  PetscFunctionBeginUser;
  if (st->fp) fclose(st->fp);
  cJSON_Delete(st->header);
  PetscCall(PetscFree(st->t));
  PetscFunctionReturn(0);
}

static const STTensor *st_find(const STFile *st, const char *name)
{
  for (PetscInt i = 0; i < st->n; ++i)
    if (!strcmp(st->t[i].name, name)) return &st->t[i];
  return NULL;
}

/* Read tensor t as float (converting F64, F16, BF16). */
static PetscErrorCode st_read(const STFile *st, const STTensor *t, const char *key, float **out)
{
  size_t         nbytes = (size_t)(t->end - t->begin), n;
  unsigned char *raw;
  float         *v;

  PetscFunctionBeginUser;
  PetscCheck(t->dtype != ST_OTHER, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "%s: tensor '%s' (%s) has dtype %s; weights must be F32, F64, F16 or BF16", st->path, t->name, key, t->dtype_name);
  n = nbytes / (t->dtype == ST_F64 ? 8 : t->dtype == ST_F32 ? 4 : 2);
  PetscCall(mc__io_check_budget(st->path, t->name, (double)nbytes + 4.0 * (double)n, st->budget));
  PetscCall(PetscMalloc1(nbytes + 1, &raw));
  PetscCall(PetscMalloc1(n + 1, &v));
  PetscCheck(fseeko(st->fp, (off_t)(st->data_start + t->begin), SEEK_SET) == 0 && fread(raw, 1, nbytes, st->fp) == nbytes, PETSC_COMM_SELF, PETSC_ERR_FILE_READ,
             "%s: cannot read tensor '%s' (truncated file?)", st->path, t->name);
  /* safetensors data are little-endian; so is every platform this tool targets. */
  for (size_t i = 0; i < n; ++i) {
    switch (t->dtype) {
    case ST_F32:
      memcpy(&v[i], raw + 4 * i, 4);
      break;
    case ST_F64: {
      double d;
      memcpy(&d, raw + 8 * i, 8);
      v[i] = (float)d;
    } break;
    case ST_F16:
      v[i] = mc__io_half_to_float((uint16_t)(raw[2 * i] | (raw[2 * i + 1] << 8)));
      break;
    case ST_BF16:
      v[i] = mc__io_bf16_to_float((uint16_t)(raw[2 * i] | (raw[2 * i + 1] << 8)));
      break;
    default:
      break;
    }
  }
  PetscCall(PetscFree(raw));
  *out = v;
  PetscFunctionReturn(0);
}

/* Find tensor `name` named by [layer.idx] key `key` and check its rank. */
static PetscErrorCode st_get(const STFile *st, PetscInt idx, const char *key, const char *name, int ndim, const STTensor **t)
{
  PetscFunctionBeginUser;
  *t = st_find(st, name);
  PetscCheck(*t, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "%s: tensor '%s' (named by [layer.%" PetscInt_FMT "] %s) is not in the file", st->path, name, idx, key);
  PetscCheck((*t)->ndim == ndim, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "%s: tensor '%s' ([layer.%" PetscInt_FMT "] %s) has %d dimensions, expected %d", st->path, name, idx, key, (*t)->ndim,
             ndim);
  PetscFunctionReturn(0);
}

static PetscErrorCode st_vector(const STFile *st, PetscInt idx, const char *key, const char *name, PetscInt n, float **out)
{
  const STTensor *t;

  PetscFunctionBeginUser;
  *out = NULL;
  if (!name || !name[0]) PetscFunctionReturn(0);
  PetscCall(st_get(st, idx, key, name, 1, &t));
  PetscCheck(t->dims[0] == n, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "%s: tensor '%s' ([layer.%" PetscInt_FMT "] %s) has %" PetscInt_FMT " entries, expected %" PetscInt_FMT, st->path, name, idx,
             key, t->dims[0], n);
  PetscCall(st_read(st, t, key, out));
  PetscFunctionReturn(0);
}

/* A Dense weight: torch [out, in] is transposed to [in, out]. */
static PetscErrorCode load_dense(const STFile *st, PetscInt idx, const char *name, MCLayer *l)
{
  const STTensor *t;
  float          *raw;

  PetscFunctionBeginUser;
  PetscCall(st_get(st, idx, "weight", name, 2, &t));
  PetscCall(st_read(st, t, "weight", &raw));
  l->type = MC_LAYER_DENSE;
  if (st->torch) {
    l->n_out = t->dims[0];
    l->n_in  = t->dims[1];
    PetscCall(PetscMalloc1(l->n_in * l->n_out, &l->weight));
    for (PetscInt o = 0; o < l->n_out; ++o)
      for (PetscInt i = 0; i < l->n_in; ++i) l->weight[i * l->n_out + o] = raw[o * l->n_in + i];
    PetscCall(PetscFree(raw));
  } else {
    l->n_in   = t->dims[0];
    l->n_out  = t->dims[1];
    l->weight = raw;
  }
  PetscFunctionReturn(0);
}

/* A Conv2D kernel: torch OIHW is permuted to HWIO. */
static PetscErrorCode load_conv(const STFile *st, PetscInt idx, const char *name, MCLayer *l)
{
  const STTensor *t;
  float          *raw;

  PetscFunctionBeginUser;
  PetscCall(st_get(st, idx, "weight", name, 4, &t));
  PetscCall(st_read(st, t, "weight", &raw));
  l->type = MC_LAYER_CONV2D;
  if (st->torch) {
    PetscInt no = t->dims[0], ni = t->dims[1], nh = t->dims[2], nw = t->dims[3];

    l->n_out = no;
    l->n_in  = ni;
    l->kh    = nh;
    l->kw    = nw;
    PetscCall(PetscMalloc1(no * ni * nh * nw, &l->weight));
    for (PetscInt o = 0; o < no; ++o)
      for (PetscInt i = 0; i < ni; ++i)
        for (PetscInt h = 0; h < nh; ++h)
          for (PetscInt w = 0; w < nw; ++w) l->weight[((h * nw + w) * ni + i) * no + o] = raw[((o * ni + i) * nh + h) * nw + w];
    PetscCall(PetscFree(raw));
  } else {
    l->kh    = t->dims[0];
    l->kw    = t->dims[1];
    l->n_in  = t->dims[2];
    l->n_out = t->dims[3];
    l->weight = raw;
  }
  PetscFunctionReturn(0);
}

/* "h,w" or "n" into two positive integers. */
static PetscErrorCode parse_pair(const char *path, PetscInt idx, const char *key, const char *s, PetscInt *a, PetscInt *b)
{
  char *end;
  long  x, y;

  PetscFunctionBeginUser;
  x = strtol(s, &end, 10);
  y = x;
  if (*end == ',') y = strtol(end + 1, &end, 10);
  while (*end == ' ') ++end;
  PetscCheck(*end == '\0' && x >= 1 && y >= 1, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "%s: [layer.%" PetscInt_FMT "] %s = '%s' is not one or two positive integers (h,w)", path, idx, key, s);
  *a = (PetscInt)x;
  *b = (PetscInt)y;
  PetscFunctionReturn(0);
}

/* Layer name from a tensor name: "features.0.weight" -> "features.0". */
static void name_from_tensor(const char *t, char *out, size_t n)
{
  size_t len = strlen(t);

  if (len > 7 && !strcmp(t + len - 7, ".weight")) len -= 7;
  else if (len > 7 && !strcmp(t + len - 7, ".kernel")) len -= 7;
  if (len >= n) len = n - 1;
  memcpy(out, t, len);
  out[len] = '\0';
}

/* The bias tensor that goes with a weight: "x.weight" -> "x.bias", "x.kernel" / "x/kernel" -> "x.bias" / "x/bias". */
static void bias_name(const char *w, char *out, size_t n)
{
  size_t len = strlen(w);

  out[0] = '\0';
  if (len > 6 && !strcmp(w + len - 6, "weight")) snprintf(out, n, "%.*sbias", (int)(len - 6), w);
  else if (len > 6 && !strcmp(w + len - 6, "kernel")) snprintf(out, n, "%.*sbias", (int)(len - 6), w);
}

static PetscErrorCode parse_input_shape(const char *path, const char *s, PetscBool torch, PetscInt shape[3], PetscBool *given)
{
  long  v[3];
  int   n = 0;
  char *end;

  PetscFunctionBeginUser;
  *given = PETSC_FALSE;
  if (!s || !s[0]) PetscFunctionReturn(0);
  while (n < 3) {
    v[n++] = strtol(s, &end, 10);
    while (*end == ' ') ++end;
    if (*end != ',') break;
    s = end + 1;
  }
  PetscCheck(*end == '\0', PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "model.input_shape for %s is not 1 to 3 comma-separated positive integers", path);
  for (int i = 0; i < n; ++i) PetscCheck(v[i] >= 1, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "model.input_shape for %s has a non-positive entry", path);
  if (n == 1) shape[0] = 1, shape[1] = 1, shape[2] = v[0];
  else if (n == 2) shape[0] = v[0], shape[1] = v[1], shape[2] = 1;
  else if (torch) shape[0] = v[1], shape[1] = v[2], shape[2] = v[0]; /* C,H,W */
  else shape[0] = v[0], shape[1] = v[1], shape[2] = v[2];            /* H,W,C */
  *given = PETSC_TRUE;
  PetscFunctionReturn(0);
}

static PetscErrorCode build_from_specs(const STFile *st, const MCModelReadOpts *opts, MCModel *m)
{
  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < opts->n_layer_specs; ++i) {
    const MCLayerSpec *s    = &opts->layer_specs[i];
    MCLayer           *l    = &m->layers[i];
    MCLayerType        type = s->type;

    PetscCheck(type > MC_LAYER_UNSET && type < MC_N_LAYER_TYPES, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "%s: [layer.%" PetscInt_FMT "] has no layer type", st->path, i);
    PetscCheck(s->activation >= MC_ACT_LINEAR && s->activation < MC_N_ACTS, PETSC_COMM_SELF, PETSC_ERR_PLIB, "[layer.%" PetscInt_FMT "] activation out of range", i);
    l->act = s->activation;
    l->alpha = l->act == MC_ACT_LEAKY_RELU ? (float)s->alpha : 0.0f; /* the slope matters only for leaky ReLU */
    PetscCall(PetscSNPrintf(l->name, sizeof(l->name), "layer.%" PetscInt_FMT, i));
    switch (type) {
    case MC_LAYER_DENSE:
    case MC_LAYER_CONV2D:
      PetscCheck(s->weight[0], PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "%s: [layer.%" PetscInt_FMT "] (%s) needs a weight = <tensor name>", st->path, i, mc_model_layer_type_name(type));
      if (type == MC_LAYER_DENSE) PetscCall(load_dense(st, i, s->weight, l));
      else PetscCall(load_conv(st, i, s->weight, l));
      name_from_tensor(s->weight, l->name, sizeof(l->name));
      PetscCall(st_vector(st, i, "bias", s->bias, l->n_out, &l->bias));
      break;
    case MC_LAYER_BATCHNORM: {
      const STTensor *t;

      l->type = type;
      PetscCheck(s->mean[0] && s->var[0], PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "%s: [layer.%" PetscInt_FMT "] (batchnorm) needs mean = and var = tensor names", st->path, i);
      PetscCall(st_get(st, i, "mean", s->mean, 1, &t));
      l->n_out = t->dims[0];
      PetscCall(st_vector(st, i, "mean", s->mean, l->n_out, &l->moving_mean));
      PetscCall(st_vector(st, i, "var", s->var, l->n_out, &l->moving_var));
      PetscCall(st_vector(st, i, "gamma", s->gamma, l->n_out, &l->gamma));
      PetscCall(st_vector(st, i, "beta", s->beta, l->n_out, &l->beta));
      l->eps = s->eps > 0 ? (float)s->eps : (st->torch ? 1e-5f : 1e-3f);
      name_from_tensor(s->gamma[0] ? s->gamma : s->mean, l->name, sizeof(l->name));
    } break;
    default:
      l->type = type;
      break;
    }
    if (type == MC_LAYER_MAXPOOL2D || type == MC_LAYER_AVGPOOL2D) PetscCall(parse_pair(st->path, i, "pool", s->pool[0] ? s->pool : "2,2", &l->kh, &l->kw));
    if (type == MC_LAYER_CONV2D || type == MC_LAYER_MAXPOOL2D || type == MC_LAYER_AVGPOOL2D) {
      if (s->stride[0]) PetscCall(parse_pair(st->path, i, "stride", s->stride, &l->stride_h, &l->stride_w));
      l->padding = s->padding;
    }
    if (type == MC_LAYER_DROPOUT) l->rate = (float)s->rate;
  }
  PetscFunctionReturn(0);
}

/* model.infer = mlp: the floating-point 2-D tensors, in header order, are Dense layers with ReLU between. */
static PetscErrorCode build_mlp(const STFile *st, MCModel *m, PetscBool flatten_first)
{
  PetscInt n = 0;

  PetscFunctionBeginUser;
  if (flatten_first) {
    m->layers[n].type = MC_LAYER_FLATTEN;
    PetscCall(PetscStrncpy(m->layers[n].name, "flatten", sizeof(m->layers[n].name)));
    ++n;
  }
  for (PetscInt i = 0; i < st->n; ++i) {
    const STTensor *t = &st->t[i];
    MCLayer        *l = &m->layers[n];
    char            bname[PETSC_MAX_PATH_LEN];

    if (t->dtype == ST_OTHER || t->ndim < 2) continue;
    /* Silently skipping a kernel would infer a different network. */
    PetscCheck(t->ndim == 2, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "%s: model.infer = mlp reads 2-D Dense weights, but tensor '%s' has %d dimensions; describe a convolutional network in [layer.N] sections", st->path, t->name, t->ndim);
    PetscCall(load_dense(st, n, t->name, l));
    name_from_tensor(t->name, l->name, sizeof(l->name));
    l->act = MC_ACT_RELU;
    bias_name(t->name, bname, sizeof(bname));
    if (bname[0] && st_find(st, bname)) PetscCall(st_vector(st, n, "bias", bname, l->n_out, &l->bias));
    ++n;
  }
  PetscCheck(n > (flatten_first ? 1 : 0), PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "%s: model.infer = mlp found no 2-D floating-point tensors", st->path);
  m->layers[n - 1].act = MC_ACT_LINEAR; /* the logits */
  m->n_layers          = n;
  PetscFunctionReturn(0);
}

/* torch layout: the first Dense after a Flatten of an H x W x C map (H*W > 1, C > 1) reads its inputs in
   C,H,W order; reorder its rows (and any BatchNorm between) to H,W,C. */
static PetscErrorCode permute_flatten_rows(MCModel *m)
{
  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < m->n_layers; ++i) {
    const MCLayer *f = &m->layers[i];
    PetscInt       H = f->in_shape[0], W = f->in_shape[1], C = f->in_shape[2], n = H * W * C, *perm;

    if (f->type != MC_LAYER_FLATTEN || H * W == 1 || C == 1) continue;
    /* perm[q] = torch index of canonical feature q = (h*W + w)*C + c */
    PetscCall(PetscMalloc1(n, &perm));
    for (PetscInt h = 0; h < H; ++h)
      for (PetscInt w = 0; w < W; ++w)
        for (PetscInt c = 0; c < C; ++c) perm[(h * W + w) * C + c] = (c * H + h) * W + w;
    for (PetscInt j = i + 1; j < m->n_layers; ++j) {
      MCLayer *l = &m->layers[j];

      if (l->type == MC_LAYER_DENSE) {
        float *w2;

        PetscCall(PetscMalloc1(n * l->n_out, &w2));
        for (PetscInt q = 0; q < n; ++q) PetscCall(PetscArraycpy(w2 + q * l->n_out, l->weight + perm[q] * l->n_out, l->n_out));
        PetscCall(PetscFree(l->weight));
        l->weight = w2;
        break;
      }
      if (l->type == MC_LAYER_BATCHNORM) {
        float **vs[4] = {&l->gamma, &l->beta, &l->moving_mean, &l->moving_var};

        for (int k = 0; k < 4; ++k) {
          float *v2;

          if (!*vs[k]) continue;
          PetscCall(PetscMalloc1(n, &v2));
          for (PetscInt q = 0; q < n; ++q) v2[q] = (*vs[k])[perm[q]];
          PetscCall(PetscFree(*vs[k]));
          *vs[k] = v2;
        }
      }
    }
    PetscCall(PetscFree(perm));
  }
  PetscFunctionReturn(0);
}

/* The model from an opened file (st_open fills st; the caller closes it whatever happens). */
static PetscErrorCode read_opened(const MCModelReadOpts *opts, const char *path, double budget, STFile *st, MCModel **out)
{
  MCModel  *m;
  PetscInt  shape[3] = {1, 1, 1};
  PetscBool given = PETSC_FALSE, mlp = opts->infer == MC_INFER_MLP ? PETSC_TRUE : PETSC_FALSE, flatten_first;

  PetscFunctionBeginUser;
  PetscCall(st_open(path, budget, st));
  st->torch = opts->layout != MC_LAYOUT_KERAS ? PETSC_TRUE : PETSC_FALSE; /* auto and torch */
  PetscCheck(opts->n_layer_specs > 0 || mlp, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "%s is a safetensors file, which holds no architecture: describe its layers in [layer.0], [layer.1], ... sections or set model.infer = mlp", path);
  PetscCheck(!(opts->n_layer_specs > 0 && mlp), PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "%s: give either [layer.N] sections or model.infer = mlp, not both", path);
  PetscCall(parse_input_shape(path, opts->input_shape, st->torch, shape, &given));
  flatten_first = (mlp && given && shape[0] * shape[1] > 1) ? PETSC_TRUE : PETSC_FALSE;
  PetscCall(mc_model_create(mlp ? st->n + 1 : opts->n_layer_specs, shape, &m));
  if (mlp) PetscCall(build_mlp(st, m, flatten_first));
  else PetscCall(build_from_specs(st, opts, m));
  if (!given) {
    PetscCheck(m->layers[0].type == MC_LAYER_DENSE, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "%s: set model.input_shape (the first layer is not Dense, so it cannot be inferred)", path);
    m->input_shape[0] = m->input_shape[1] = 1;
    m->input_shape[2]                     = m->layers[0].n_in;
  }
  PetscCall(PetscStrncpy(m->source, path, sizeof(m->source)));
  PetscCall(PetscStrncpy(m->format, "safetensors", sizeof(m->format)));
  PetscCall(mc_model_finalize_shapes(PETSC_COMM_SELF, m));
  if (st->torch) PetscCall(permute_flatten_rows(m));
  *out = m;
  PetscFunctionReturn(0);
}

PetscErrorCode mc__io_model_read_safetensors(const MCModelReadOpts *opts, const char *path, double budget, MCModel **out)
{
  STFile         st;
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(&st, sizeof(st)));
  ierr = read_opened(opts, path, budget, &st, out);
  PetscCall(st_close(&st)); /* also after an error: no file handle left open */
  PetscCall(ierr);
  PetscFunctionReturn(0);
}
