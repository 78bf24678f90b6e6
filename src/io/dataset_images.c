/* src/io/dataset_images.c: a directory of JPEG and PNG files with a labels list (docs/formats.md section
   "Image directories"), decoded with libjpeg-turbo and libpng, resized (bilinear, shorter side to the
   model's size / crop_fraction), centre-cropped to the model's input and normalised as the model's
   preprocessing needs. */
#include <ctype.h>
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <jpeglib.h>
#include <png.h>
#include "io/io_impl.h"

/* Largest image decoded (pixels): a corrupt header cannot ask for more memory than a 16k x 16k photo. */
#define MC_IMAGE_MAX_PIXELS (268435456.0)

const char *mc_io_preprocess_name(MCPreprocess p)
{
  static const char *const names[] = {"none", "caffe", "torch", "tf"};

  return (p >= 0 && (size_t)p < sizeof(names) / sizeof(names[0])) ? names[p] : "unknown";
}

/* The labels list of `split` in dir: <split>.txt, else labels.txt; *found = PETSC_FALSE when neither. */
PetscErrorCode mc__io_images_list(const char *dir, const char *split, char path[], size_t n, PetscBool *found)
{
  FILE *fp;

  PetscFunctionBeginUser;
  *found = PETSC_TRUE;
  PetscCall(PetscSNPrintf(path, n, "%s/%s.txt", dir, split));
  if ((fp = fopen(path, "r"))) {
    fclose(fp);
    PetscFunctionReturn(0);
  }
  PetscCall(PetscSNPrintf(path, n, "%s/labels.txt", dir));
  if ((fp = fopen(path, "r"))) {
    fclose(fp);
    PetscFunctionReturn(0);
  }
  *found = PETSC_FALSE;
  PetscFunctionReturn(0);
}

/* ---- decoding: 8-bit RGB (3 channels) or grey (1), row-major ---- */

typedef struct {
  struct jpeg_error_mgr pub;
  jmp_buf               jump;
  char                  msg[JMSG_LENGTH_MAX];
} JpegErr;

static void jpeg_fail(j_common_ptr cinfo)
{
  JpegErr *e = (JpegErr *)cinfo->err;

  (*cinfo->err->format_message)(cinfo, e->msg);
  longjmp(e->jump, 1);
}

/* Warnings (level -1: corrupt or truncated data, which libjpeg would fill in with grey) are kept and turned
   into an error once the image is read; trace messages are dropped. */
static void jpeg_quiet(j_common_ptr cinfo, int level)
{
  JpegErr *e = (JpegErr *)cinfo->err;

  if (level < 0 && !e->msg[0]) (*cinfo->err->format_message)(cinfo, e->msg);
}

static PetscErrorCode decode_jpeg(FILE *fp, const char *path, unsigned char **pix, PetscInt *h, PetscInt *w, PetscInt *c)
{
  struct jpeg_decompress_struct cinfo;
  JpegErr                       err;
  unsigned char *volatile       buf = NULL;

  PetscFunctionBeginUser;
  cinfo.err                = jpeg_std_error(&err.pub);
  err.pub.error_exit       = jpeg_fail;
  err.pub.emit_message     = jpeg_quiet;
  err.msg[0]               = 0;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    free(buf);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "image %s is not a readable JPEG file: %s", path, err.msg);
  }
  jpeg_create_decompress(&cinfo);
  jpeg_stdio_src(&cinfo, fp);
  jpeg_read_header(&cinfo, TRUE);
  if ((double)cinfo.image_width * (double)cinfo.image_height > MC_IMAGE_MAX_PIXELS) {
    (void)PetscSNPrintf(err.msg, sizeof(err.msg), "%u x %u pixels, more than the %g this reader accepts", cinfo.image_width, cinfo.image_height, (double)MC_IMAGE_MAX_PIXELS);
    longjmp(err.jump, 1);
  }
  cinfo.out_color_space = cinfo.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&cinfo);
  *h = cinfo.output_height, *w = cinfo.output_width, *c = cinfo.output_components;
  buf = malloc((size_t)(*h) * (size_t)(*w) * (size_t)(*c));
  if (!buf) {
    PetscCall(PetscStrncpy(err.msg, "out of memory", sizeof(err.msg)));
    longjmp(err.jump, 1);
  }
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = buf + (size_t)cinfo.output_scanline * (size_t)(*w) * (size_t)(*c);
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  if (err.msg[0]) free(buf);
  PetscCheck(!err.msg[0], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "image %s is a damaged JPEG file: %s", path, err.msg);
  *pix = buf;
  PetscFunctionReturn(0);
}

static PetscErrorCode decode_png(const char *path, unsigned char **pix, PetscInt *h, PetscInt *w, PetscInt *c)
{
  png_image img;

  PetscFunctionBeginUser;
  memset(&img, 0, sizeof(img));
  img.version = PNG_IMAGE_VERSION;
  PetscCheck(png_image_begin_read_from_file(&img, path), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "image %s is not a readable PNG file: %s", path, img.message);
  if ((double)img.width * (double)img.height > MC_IMAGE_MAX_PIXELS) png_image_free(&img);
  PetscCheck((double)img.width * (double)img.height <= MC_IMAGE_MAX_PIXELS, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "image %s has %u x %u pixels, more than the %g this reader accepts", path, img.width, img.height, (double)MC_IMAGE_MAX_PIXELS);
  /* Colour or grey as stored; transparency composited on black. */
  img.format = (img.format & PNG_FORMAT_FLAG_COLOR) ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  *h = img.height, *w = img.width, *c = (img.format & PNG_FORMAT_FLAG_COLOR) ? 3 : 1;
  *pix = malloc(PNG_IMAGE_SIZE(img));
  if (!*pix) png_image_free(&img);
  PetscCheck(*pix, PETSC_COMM_SELF, PETSC_ERR_MEM, "image %s: no memory for %" PetscInt_FMT " x %" PetscInt_FMT " pixels", path, *h, *w);
  if (!png_image_finish_read(&img, NULL, *pix, 0, NULL)) {
    free(*pix);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "image %s is not a readable PNG file: %s", path, img.message);
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode decode(const char *path, unsigned char **pix, PetscInt *h, PetscInt *w, PetscInt *c)
{
  FILE         *fp = fopen(path, "rb");
  unsigned char magic[8] = {0};
  size_t        got;

  PetscFunctionBeginUser;
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "image %s cannot be opened", path);
  got = fread(magic, 1, sizeof(magic), fp);
  rewind(fp);
  if (got >= 3 && magic[0] == 0xFF && magic[1] == 0xD8 && magic[2] == 0xFF) {
    PetscErrorCode ierr = decode_jpeg(fp, path, pix, h, w, c);
    fclose(fp);
    PetscCall(ierr);
  } else {
    fclose(fp);
    PetscCheck(got == 8 && !png_sig_cmp(magic, 0, 8), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "image %s is neither a JPEG nor a PNG file", path);
    PetscCall(decode_png(path, pix, h, w, c));
  }
  PetscCheck(*h > 0 && *w > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "image %s is empty", path);
  PetscFunctionReturn(0);
}

/* ---- geometry and normalisation ---- */

/* Pixel (H x W x C floats, 0..255 scale) of the decoded image (h x w x c bytes): the image scaled so its
   shorter side is round(min(H, W) / crop) (bilinear, half-pixel centres, edges clamped, as
   torch.nn.functional.interpolate with align_corners = False), then the centre H x W crop; grey to colour by
   repetition, colour to grey by 0.299 R + 0.587 G + 0.114 B. */
static void resize_crop(const unsigned char *pix, PetscInt h, PetscInt w, PetscInt c, PetscReal crop, const PetscInt shape[3], float out[])
{
  PetscInt  H = shape[0], W = shape[1], C = shape[2];
  PetscReal side = round((PetscReal)PetscMin(H, W) / crop), s = side / (PetscReal)PetscMin(h, w);
  PetscInt  sh = PetscMax(H, (PetscInt)round(h * s)), sw = PetscMax(W, (PetscInt)round(w * s));
  PetscInt  top = (sh - H) / 2, left = (sw - W) / 2;
  PetscReal fy = (PetscReal)h / (PetscReal)sh, fx = (PetscReal)w / (PetscReal)sw;

  for (PetscInt i = 0; i < H; ++i) {
    PetscReal y  = PetscMax(((PetscReal)(i + top) + 0.5) * fy - 0.5, 0);
    PetscInt  y0 = PetscMin((PetscInt)y, h - 1), y1 = PetscMin(y0 + 1, h - 1);
    PetscReal ty = y - (PetscReal)y0;
    for (PetscInt j = 0; j < W; ++j) {
      PetscReal x  = PetscMax(((PetscReal)(j + left) + 0.5) * fx - 0.5, 0);
      PetscInt  x0 = PetscMin((PetscInt)x, w - 1), x1 = PetscMin(x0 + 1, w - 1);
      PetscReal tx = x - (PetscReal)x0, v[3];
      for (PetscInt k = 0; k < c; ++k) {
        PetscReal a = pix[(y0 * w + x0) * c + k], b = pix[(y0 * w + x1) * c + k], d = pix[(y1 * w + x0) * c + k], e = pix[(y1 * w + x1) * c + k];
        v[k] = (1 - ty) * ((1 - tx) * a + tx * b) + ty * ((1 - tx) * d + tx * e);
      }
      for (PetscInt k = 0; k < C; ++k) {
        PetscReal q = c == C ? v[k] : c == 1 ? v[0] : 0.299 * v[0] + 0.587 * v[1] + 0.114 * v[2];
        out[(i * W + j) * C + k] = (float)q;
      }
    }
  }
}

/* Values on the 0..255 scale to what the model was trained on. */
static void normalise(MCPreprocess p, PetscInt n, PetscInt C, float v[])
{
  static const PetscReal mean_t[3] = {0.485, 0.456, 0.406}, std_t[3] = {0.229, 0.224, 0.225}, mean_c[3] = {103.939, 116.779, 123.68};

  for (PetscInt e = 0; e < n; ++e) {
    float *px = v + e * C, t[3];
    switch (p) {
    case MC_PREPROCESS_NONE:
      for (PetscInt k = 0; k < C; ++k) px[k] = (float)(px[k] / 255.0);
      break;
    case MC_PREPROCESS_TF:
      for (PetscInt k = 0; k < C; ++k) px[k] = (float)(px[k] / 127.5 - 1.0);
      break;
    case MC_PREPROCESS_TORCH:
      for (PetscInt k = 0; k < C; ++k) px[k] = (float)((px[k] / 255.0 - mean_t[k]) / std_t[k]);
      break;
    case MC_PREPROCESS_CAFFE: /* BGR, mean subtracted, 0..255 */
      for (PetscInt k = 0; k < C; ++k) t[k] = px[C - 1 - k];
      for (PetscInt k = 0; k < C; ++k) px[k] = (float)(t[k] - mean_c[k]);
      break;
    }
  }
}

/* ---- the list ---- */

PetscErrorCode mc__io_dataset_read_images(const char *dir, const char *list, const MCDatasetOpts *opts, double budget, MCDataset **out)
{
  FILE      *fp;
  char       line[PETSC_MAX_PATH_LEN + 64], path[2 * PETSC_MAX_PATH_LEN + 2];
  PetscInt   n = 0, cap = 0, lineno = 0, per, *y = NULL;
  char     **names = NULL;
  MCDataset *d;

  PetscFunctionBeginUser;
  PetscCheck(opts && opts->shape[0] > 0 && opts->shape[1] > 0 && opts->shape[2] > 0, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "dataset %s is a directory of images, which are resized to the model's input: this program has no model to take the size from", dir);
  PetscCheck(opts->shape[2] == 1 || opts->shape[2] == 3, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "dataset %s: images feed models with 1 or 3 input channels, not %" PetscInt_FMT, dir,
             opts->shape[2]);
  PetscCheck(opts->preprocess == MC_PREPROCESS_NONE || opts->preprocess == MC_PREPROCESS_TF || opts->shape[2] == 3, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "data.preprocess = %s needs a colour model (3 input channels), the model has %" PetscInt_FMT, mc_io_preprocess_name(opts->preprocess), opts->shape[2]);
  PetscCheck(opts->crop > 0 && opts->crop <= 1, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "data.crop_fraction = %g is not in (0, 1]", (double)opts->crop);
  fp = fopen(list, "r");
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "labels list %s cannot be opened", list);
  /* "relative/path label" per line; blank lines and # comments skipped. */
  while (fgets(line, sizeof(line), fp)) {
    char *s = line, *end, *sp;
    long  lab;
    lineno++;
    PetscCheck(strchr(line, '\n') || feof(fp), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s:%" PetscInt_FMT ": line too long", list, lineno);
    while (isspace((unsigned char)*s)) s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1])) *--end = 0;
    if (!*s || *s == '#') continue;
    sp = end;
    while (sp > s && !isspace((unsigned char)sp[-1])) sp--;
    PetscCheck(sp > s, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s:%" PetscInt_FMT ": expected 'path label', got '%s'", list, lineno, s);
    lab = strtol(sp, &end, 10);
    PetscCheck(*end == 0 && lab >= 0 && lab < 1000000, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s:%" PetscInt_FMT ": label '%s' is not an integer in [0, 1000000)", list, lineno, sp);
    while (sp > s && isspace((unsigned char)sp[-1])) *--sp = 0;
    if (n == cap) {
      cap = PetscMax(64, 2 * cap);
      PetscCall(PetscRealloc(cap * sizeof(*names), &names));
      PetscCall(PetscRealloc(cap * sizeof(*y), &y));
    }
    PetscCall(PetscStrallocpy(s, &names[n]));
    y[n++] = (PetscInt)lab;
  }
  fclose(fp);
  PetscCheck(n > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "labels list %s names no image", list);
  per = opts->shape[0] * opts->shape[1] * opts->shape[2];
  PetscCheck((double)n * (double)per * sizeof(float) <= budget, PETSC_COMM_SELF, PETSC_ERR_MEM,
             "dataset %s: %" PetscInt_FMT " images of %" PetscInt_FMT " values do not fit in the memory this node has for each rank", list, n, per);
  PetscCall(PetscNew(&d));
  d->n = n;
  PetscCall(PetscArraycpy(d->shape, opts->shape, 3));
  d->y = y;
  PetscCall(PetscMalloc1((size_t)n * per, &d->x));
  PetscCall(PetscStrncpy(d->source, list, sizeof(d->source)));
  for (PetscInt i = 0; i < n; ++i) {
    unsigned char *pix = NULL;
    PetscInt       h, w, c;
    if (names[i][0] == '/') PetscCall(PetscStrncpy(path, names[i], sizeof(path)));
    else PetscCall(PetscSNPrintf(path, sizeof(path), "%s/%s", dir, names[i]));
    PetscCall(decode(path, &pix, &h, &w, &c));
    resize_crop(pix, h, w, c, opts->crop, opts->shape, d->x + (size_t)i * per);
    free(pix);
    normalise(opts->preprocess, opts->shape[0] * opts->shape[1], opts->shape[2], d->x + (size_t)i * per);
    d->n_classes = PetscMax(d->n_classes, y[i] + 1);
    PetscCall(PetscFree(names[i]));
  }
  PetscCall(PetscFree(names));
  *out = d;
  PetscFunctionReturn(0);
}
