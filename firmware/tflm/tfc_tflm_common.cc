#include "tfc_tflm_common.h"

#include <cmath>
#include <cstdarg>
#include <cstring>
#include <limits>

#include "flatbuffers/flexbuffers.h"
#include "tensorflow/lite/kernels/internal/quantization_util.h"
#include "tensorflow/lite/micro/micro_context.h"
#include "tensorflow/lite/micro/micro_log.h"

namespace tfc_tflm {

TfLiteStatus Refuse(const char* format, ...) {
  va_list args;
  va_start(args, format);
  VMicroPrintf(format, args);
  va_end(args);
  return kTfLiteError;
}

namespace {

// The int field `name` of the options map, found by a scan: the keys need not be sorted.
TfLiteStatus ReadInt(const char* op, const flexbuffers::Map& map, const char* name,
                     int64_t* value) {
  const flexbuffers::TypedVector keys = map.Keys();
  for (size_t i = 0; i < keys.size(); ++i) {
    if (std::strcmp(keys[i].AsKey(), name) != 0) {
      continue;
    }
    const flexbuffers::Reference field = map.Values()[i];
    if (field.IsInt()) {
      *value = field.AsInt64();
    } else if (field.IsUInt()) {
      const uint64_t u = field.AsUInt64();
      constexpr int64_t kMaxInt64 = std::numeric_limits<int64_t>::max();
      *value = u > static_cast<uint64_t>(kMaxInt64) ? kMaxInt64 : static_cast<int64_t>(u);
    } else {
      return Refuse("%s: custom_options field '%s' must be int", op, name);
    }
    return kTfLiteOk;
  }
  return Refuse("%s: custom_options has no '%s'", op, name);
}

// Appends `text` to the NUL-terminated `buffer` of `size` bytes, as much as fits.
void Append(char* buffer, size_t size, const char* text) {
  size_t at = std::strlen(buffer);
  while (*text != '\0' && at + 1 < size) {
    buffer[at++] = *text++;
  }
  buffer[at] = '\0';
}

void AppendInt(char* buffer, size_t size, int64_t value) {
  char digits[24];
  int n = 0;
  uint64_t v = value < 0 ? 0 - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  char text[26];
  int at = 0;
  if (value < 0) {
    text[at++] = '-';
  }
  while (n > 0) {
    text[at++] = digits[--n];
  }
  text[at] = '\0';
  Append(buffer, size, text);
}

int IndexBytes(int64_t limit) { return limit <= (1 << 8) ? 1 : limit <= (1 << 16) ? 2 : 4; }

int64_t ReadIndex(const uint8_t* array, int width, int64_t k) {
  const uint8_t* p = array + k * width;
  uint32_t value = 0;
  for (int b = width - 1; b >= 0; --b) {
    value = value << 8 | p[b];  // little-endian
  }
  return value;
}

}  // namespace

TfLiteStatus ReadOptions(const char* op, const TfLiteNode* node, int64_t max_version,
                         OptionField* fields, int count) {
  const auto* buffer = static_cast<const uint8_t*>(node->custom_initial_data);
  const size_t size =
      node->custom_initial_data_size > 0 ? static_cast<size_t>(node->custom_initial_data_size) : 0;
  if (buffer == nullptr || size == 0) {
    return Refuse("%s: custom_options must be a flexbuffer map", op);
  }
  if (!flexbuffers::VerifyBuffer(buffer, size)) {
    return Refuse("%s: custom_options is not a flexbuffer", op);
  }
  const flexbuffers::Reference root = flexbuffers::GetRoot(buffer, size);
  if (!root.IsMap()) {
    return Refuse("%s: custom_options must be a flexbuffer map", op);
  }
  const flexbuffers::Map map = root.AsMap();
  int64_t version = 0;
  TF_LITE_ENSURE_STATUS(ReadInt(op, map, "version", &version));
  for (int i = 0; i < count; ++i) {
    TF_LITE_ENSURE_STATUS(ReadInt(op, map, fields[i].name, &fields[i].value));
  }
  if (version < 1 || version > max_version) {
    return Refuse("%s: version %lld is not supported (this build reads up to %lld); update tfcompress",
                  op, static_cast<long long>(version), static_cast<long long>(max_version));
  }
  return kTfLiteOk;
}

PrepareTensors::PrepareTensors(TfLiteContext* context, TfLiteNode* node)
    : micro_context_(tflite::GetMicroContext(context)),
      inputs_(node->inputs->size),
      outputs_(node->outputs->size) {
  for (int i = 0; i < kMax; ++i) {
    input_[i] = i < inputs_ ? micro_context_->AllocateTempInputTensor(node, i) : nullptr;
    output_[i] = i < outputs_ ? micro_context_->AllocateTempOutputTensor(node, i) : nullptr;
  }
}

PrepareTensors::~PrepareTensors() {
  for (int i = 0; i < kMax; ++i) {
    if (input_[i] != nullptr) {
      micro_context_->DeallocateTempTfLiteTensor(input_[i]);
    }
    if (output_[i] != nullptr) {
      micro_context_->DeallocateTempTfLiteTensor(output_[i]);
    }
  }
}

int Rank(const TfLiteTensor* tensor) { return tensor->dims->size; }

int64_t NumElements(const TfLiteTensor* tensor) {
  int64_t count = 1;
  for (int i = 0; i < tensor->dims->size; ++i) {
    count *= tensor->dims->data[i];
  }
  return count;
}

bool IsConstant(const TfLiteTensor* tensor) {
  return tensor->allocation_type == kTfLiteMmapRo && tensor->data.raw != nullptr;
}

int NumScales(const TfLiteTensor* tensor) {
  if (tensor->quantization.type != kTfLiteAffineQuantization ||
      tensor->quantization.params == nullptr) {
    return 0;
  }
  const auto* params = static_cast<const TfLiteAffineQuantization*>(tensor->quantization.params);
  return params->scale == nullptr ? 0 : params->scale->size;
}

bool HasScale(const TfLiteTensor* tensor) {
  return std::isfinite(tensor->params.scale) && tensor->params.scale > 0.0f;
}

tfc_quant_multiplier Multiplier(double real) {
  int32_t multiplier = 0;
  int shift = 0;
  tflite::QuantizeMultiplier(real, &multiplier, &shift);
  return {multiplier, shift};
}

TfLiteStatus SetMultiplier(const char* op, const char* what, double real, tfc_quant_multiplier* m) {
  *m = Multiplier(real);
  if (m->shift > 31) {  // tfc_requantize shifts left by at most 31
    return Refuse("%s: the %s multiplier %g is too large for the kernels (shift %d)", op, what, real,
                  static_cast<int>(m->shift));
  }
  return kTfLiteOk;
}

TfLiteStatus PersistentMultipliers(TfLiteContext* context, const char* op, int64_t count,
                                   tfc_quant_multiplier** multipliers) {
  *multipliers = nullptr;
  if (count >= 1 && count <= std::numeric_limits<int32_t>::max()) {
    *multipliers = static_cast<tfc_quant_multiplier*>(context->AllocatePersistentBuffer(
        context, static_cast<size_t>(count) * sizeof(tfc_quant_multiplier)));
  }
  if (*multipliers == nullptr) {
    return Refuse("%s: no room in the arena for %lld multipliers", op, static_cast<long long>(count));
  }
  return kTfLiteOk;
}

TfLiteStatus PrepareSparseMatrix(const char* op, const TfLiteTensor* packed, int64_t rows,
                                 int64_t cols, int64_t nnz, int64_t background,
                                 tfc_sparse_matrix* matrix, const char* what) {
  constexpr int64_t kMaxInt32 = std::numeric_limits<int32_t>::max();
  if (packed == nullptr || packed->type != kTfLiteUInt8 || !IsConstant(packed)) {
    return Refuse("%s: %s must be a constant uint8 tensor", op, what);
  }
  if (rows < 1 || cols < 1) {
    return Refuse("%s: custom_options field '%s' must be positive, got %lld", op,
                  rows < 1 ? "rows" : "cols", static_cast<long long>(rows < 1 ? rows : cols));
  }
  if (rows > kMaxInt32 || cols > kMaxInt32) {  // no buffer the reference could expand
    return Refuse("%s: custom_options fields 'rows' and 'cols' must fit int32", op);
  }
  if (nnz < 0 || nnz > rows * cols) {
    return Refuse("%s: custom_options field 'nnz' is %lld, outside the matrix", op,
                  static_cast<long long>(nnz));
  }
  if (background < INT8_MIN || background > INT8_MAX) {
    return Refuse("%s: custom_options field 'background' is %lld, outside int8", op,
                  static_cast<long long>(background));
  }
  // The format is the smaller of COO and CSR for these dimensions (sparse.py's encoded_format).
  const int row_bytes = IndexBytes(rows);
  const int col_bytes = IndexBytes(cols);
  const int ptr_bytes = IndexBytes(nnz + 1);
  const int64_t entries = nnz > kMaxInt32 ? kMaxInt32 : nnz;  // more never fits a model
  const int64_t coo_bytes = entries * (1 + row_bytes + col_bytes);
  const int64_t csr_bytes = entries * (1 + col_bytes) + (rows + 1) * ptr_bytes;
  const bool coo = coo_bytes < csr_bytes;
  const int64_t expected = coo ? coo_bytes : csr_bytes;
  if (nnz > kMaxInt32 || static_cast<int64_t>(packed->bytes) != expected) {
    return Refuse("%s: %s does not decode (%lld bytes, expected %lld for %s with %lld entries)", op, what,
                  static_cast<long long>(packed->bytes),
                  static_cast<long long>(expected), coo ? "coo" : "csr", static_cast<long long>(nnz));
  }
  const uint8_t* first = packed->data.uint8;  // COO rows or CSR row pointers
  const int first_bytes = coo ? row_bytes : ptr_bytes;
  const uint8_t* col = first + (coo ? nnz : rows + 1) * first_bytes;
  if (!coo) {
    bool ordered = ReadIndex(first, ptr_bytes, 0) == 0 && ReadIndex(first, ptr_bytes, rows) == nnz;
    for (int64_t r = 0; ordered && r < rows; ++r) {
      ordered = ReadIndex(first, ptr_bytes, r) <= ReadIndex(first, ptr_bytes, r + 1);
    }
    if (!ordered) {
      return Refuse("%s: %s does not decode (row pointers out of order or range)", op, what);
    }
  }
  int64_t row = 0;
  int64_t previous = -1;  // row * cols + col of the previous entry: they must increase
  for (int64_t k = 0; k < nnz; ++k) {
    if (coo) {
      row = ReadIndex(first, row_bytes, k);
    } else {
      while (ReadIndex(first, ptr_bytes, row + 1) <= k) {
        ++row;
      }
    }
    const int64_t c = ReadIndex(col, col_bytes, k);
    if (row >= rows || c >= cols || row * cols + c <= previous) {
      return Refuse("%s: %s does not decode (entries out of range or not sorted by row and column)", op,
                    what);
    }
    previous = row * cols + c;
  }
  *matrix = {static_cast<int32_t>(rows), static_cast<int32_t>(cols), static_cast<int32_t>(nnz),
             coo ? TFC_SPARSE_COO : TFC_SPARSE_CSR, first_bytes, col_bytes,
             static_cast<int32_t>(background), nullptr};
  return kTfLiteOk;
}

TfLiteStatus PrepareFactor(const char* op, const TfLiteTensor* factor, const char* name, const char* of,
                           int64_t rows, int64_t cols) {
  if (factor == nullptr || factor->type != kTfLiteInt8 || !IsConstant(factor) || Rank(factor) != 2) {
    return Refuse("%s: factor %s%s must be a constant int8 matrix", op, name, of);
  }
  const int64_t r = factor->dims->data[0], c = factor->dims->data[1];
  if (r < 1 || c < 1) {
    return Refuse("%s: factor %s%s must not be empty, got [%lld, %lld]", op, name, of, static_cast<long long>(r),
                  static_cast<long long>(c));
  }
  if ((rows >= 0 && r != rows) || (cols >= 0 && c != cols)) {
    return Refuse("%s: factor %s%s must be [%lld, %lld], got [%lld, %lld]", op, name, of,
                  static_cast<long long>(rows >= 0 ? rows : r), static_cast<long long>(cols >= 0 ? cols : c),
                  static_cast<long long>(r), static_cast<long long>(c));
  }
  return kTfLiteOk;
}

TfLiteStatus PrepareScales(const char* op, const TfLiteTensor* scales, const ScaleGroup* groups, int count,
                           const float** values) {
  int64_t total = 0;
  for (int i = 0; i < count; ++i) {
    total += groups[i].count;
  }
  if (scales == nullptr || scales->type != kTfLiteFloat32 || !IsConstant(scales) ||
      NumElements(scales) != total) {
    char list[160] = "";
    for (int i = 0; i < count; ++i) {
      Append(list, sizeof list, i == 0 ? "" : ", ");
      Append(list, sizeof list, groups[i].name);
      Append(list, sizeof list, groups[i].of);
      Append(list, sizeof list, " x");
      AppendInt(list, sizeof list, groups[i].count);
    }
    return Refuse("%s: the scales input must be %lld constant float32 values (%s)", op,
                  static_cast<long long>(total), list);
  }
  *values = scales->data.f;
  for (int64_t i = 0; i < total; ++i) {
    if (!std::isfinite((*values)[i]) || !((*values)[i] > 0.0f)) {
      return Refuse("%s: the scales input must hold finite positive values", op);
    }
  }
  return kTfLiteOk;
}

TfLiteStatus PrepareSparseFactor(const char* op, const TfLiteTensor* packed, int64_t rows, int64_t cols,
                                 int64_t nnz, const char* field, const char* of, tfc_sparse_matrix* s) {
  if (nnz < 0 || nnz > rows * cols) {
    return Refuse("%s: custom_options field '%s' is %lld, outside the %lldx%lld matrix%s", op, field,
                  static_cast<long long>(nnz), static_cast<long long>(rows), static_cast<long long>(cols), of);
  }
  if (packed == nullptr && nnz == 0) {  // no entries: a format the kernels read, nothing read
    *s = {static_cast<int32_t>(rows), static_cast<int32_t>(cols), 0, TFC_SPARSE_COO, IndexBytes(rows),
          IndexBytes(cols), 0, nullptr};
    return kTfLiteOk;
  }
  if (packed == nullptr || packed->type != kTfLiteUInt8 || !IsConstant(packed)) {
    return Refuse("%s: the sparse factor s%s must be a constant uint8 tensor, or left out when %s is 0", op, of,
                  field);
  }
  char what[32] = "the sparse factor s";
  Append(what, sizeof what, of);
  return PrepareSparseMatrix(op, packed, rows, cols, nnz, 0, s, what);
}

const uint8_t* SparseData(const TfLiteEvalTensor* packed) {
  static const uint8_t kNoEntries[1] = {0};
  return packed != nullptr ? packed->data.uint8 : kNoEntries;
}

int ProductFactorCount(tfc_matrix_kind kind) {
  switch (kind) {
    case TFC_MATRIX_DENSE:
      return 1;
    case TFC_MATRIX_HMF:
      return 3;
    default:
      return 2;
  }
}

TfLiteStatus PrepareProductFactors(const char* op, tfc_matrix_kind kind, const TfLiteTensor* const* factors,
                                   int64_t rows, int64_t cols, const char* of, tfc_structured_matrix* m,
                                   ScaleGroup* groups, int* group_count) {
  *m = {};
  m->kind = kind;
  m->rows = static_cast<int32_t>(rows);
  m->cols = static_cast<int32_t>(cols);
  int n = 0;
  switch (kind) {
    case TFC_MATRIX_DENSE:
      TF_LITE_ENSURE_STATUS(PrepareFactor(op, factors[0], "w", of, cols, rows));
      groups[n++] = {"w", of, cols};
      break;
    case TFC_MATRIX_LMF: {
      TF_LITE_ENSURE_STATUS(PrepareFactor(op, factors[0], "u", of));
      const int32_t r = factors[0]->dims->data[0];
      TF_LITE_ENSURE_STATUS(PrepareFactor(op, factors[1], "v", of, cols, r));
      if (factors[0]->dims->data[1] != rows) {
        return Refuse("%s: factor u%s must be [r, %lld], got [%d, %d]", op, of, static_cast<long long>(rows),
                      static_cast<int>(r), static_cast<int>(factors[0]->dims->data[1]));
      }
      m->rank = r;
      groups[n++] = {"u", of, 1};
      groups[n++] = {"v", of, cols};
      groups[n++] = {"t", of, 1};
      break;
    }
    case TFC_MATRIX_HMF: {
      TF_LITE_ENSURE_STATUS(PrepareFactor(op, factors[0], "h", of));
      const int32_t r = factors[0]->dims->data[1];
      if (factors[0]->dims->data[0] != cols || r >= rows) {
        return Refuse("%s: factor h%s must be [%lld, r] with 0 < r < %lld, got [%d, %d]", op, of,
                      static_cast<long long>(cols), static_cast<long long>(rows),
                      static_cast<int>(factors[0]->dims->data[0]), static_cast<int>(r));
      }
      TF_LITE_ENSURE_STATUS(PrepareFactor(op, factors[1], "u", of, r, rows - r));
      TF_LITE_ENSURE_STATUS(PrepareFactor(op, factors[2], "v", of, cols, r));
      m->rank = r;
      groups[n++] = {"h", of, cols};
      groups[n++] = {"u", of, 1};
      groups[n++] = {"v", of, cols};
      groups[n++] = {"t", of, 1};
      break;
    }
    case TFC_MATRIX_KP:
    case TFC_MATRIX_DKP: {
      TF_LITE_ENSURE_STATUS(PrepareFactor(op, factors[0], "a", of));
      TF_LITE_ENSURE_STATUS(PrepareFactor(op, factors[1], "b", of));
      const int64_t a_out = factors[0]->dims->data[0], a_in = factors[0]->dims->data[1];
      const int64_t b_out = factors[1]->dims->data[0], b_in = factors[1]->dims->data[1];
      if (a_in * b_in < rows || a_out * b_out < cols) {
        return Refuse("%s: factors a%s [%lld, %lld] and b%s [%lld, %lld] (stored [out, in]) do not cover "
                      "%lldx%lld", op, of, static_cast<long long>(a_out), static_cast<long long>(a_in), of,
                      static_cast<long long>(b_out), static_cast<long long>(b_in), static_cast<long long>(rows),
                      static_cast<long long>(cols));
      }
      if (a_in * b_out > std::numeric_limits<int32_t>::max() / 2) {  // the int16 intermediate's bytes
        return Refuse("%s: factors a%s and b%s need %lld int16 of scratch, more than the kernels take", op, of,
                      of, static_cast<long long>(a_in * b_out));
      }
      m->a_out = static_cast<int32_t>(a_out);
      m->a_in = static_cast<int32_t>(a_in);
      m->b_out = static_cast<int32_t>(b_out);
      m->b_in = static_cast<int32_t>(b_in);
      groups[n++] = {"a", of, a_out};
      groups[n++] = {"b", of, b_out};
      if (kind == TFC_MATRIX_DKP) {
        groups[n++] = {"s", of, 1};
      }
      groups[n++] = {"t", of, 1};
      break;
    }
    default:
      return Refuse("%s: unknown structure kind %d", op, static_cast<int>(kind));
  }
  *group_count = n;
  return kTfLiteOk;
}

TfLiteStatus PrepareProductMultipliers(TfLiteContext* context, const char* op, const float* scales, double s_x,
                                       double s_o, tfc_structured_matrix* m) {
  const int32_t cols = m->cols;
  auto scale = [scales](int64_t i) { return static_cast<double>(scales[i]); };
  tfc_quant_multiplier* stage1 = nullptr;
  tfc_quant_multiplier* part1 = nullptr;
  tfc_quant_multiplier* part2 = nullptr;
  TF_LITE_ENSURE_STATUS(PersistentMultipliers(context, op, cols, &part1));
  switch (m->kind) {
    case TFC_MATRIX_DENSE:  // w[cols]
      for (int32_t c = 0; c < cols; ++c) {
        TF_LITE_ENSURE_STATUS(SetMultiplier(op, "w", s_x * scale(c) / s_o, &part1[c]));
      }
      break;
    case TFC_MATRIX_LMF: {  // u, v[cols], t
      const double s_u = scale(0), s_t = scale(1 + cols);
      TF_LITE_ENSURE_STATUS(PersistentMultipliers(context, op, 1, &stage1));
      TF_LITE_ENSURE_STATUS(SetMultiplier(op, "first stage", s_x * s_u / s_t, stage1));
      for (int32_t c = 0; c < cols; ++c) {
        TF_LITE_ENSURE_STATUS(SetMultiplier(op, "low-rank", s_t * scale(1 + c) / s_o, &part1[c]));
      }
      break;
    }
    case TFC_MATRIX_HMF: {  // h[cols], u, v[cols], t
      const double s_u = scale(cols), s_t = scale(2 * cols + 1);
      TF_LITE_ENSURE_STATUS(PersistentMultipliers(context, op, 1, &stage1));
      TF_LITE_ENSURE_STATUS(PersistentMultipliers(context, op, cols, &part2));
      TF_LITE_ENSURE_STATUS(SetMultiplier(op, "first stage", s_x * s_u / s_t, stage1));
      for (int32_t c = 0; c < cols; ++c) {
        TF_LITE_ENSURE_STATUS(SetMultiplier(op, "head", s_x * scale(c) / s_o, &part1[c]));
        TF_LITE_ENSURE_STATUS(SetMultiplier(op, "low-rank", s_t * scale(cols + 1 + c) / s_o, &part2[c]));
      }
      break;
    }
    case TFC_MATRIX_KP:
    case TFC_MATRIX_DKP: {  // a[a_out], b[b_out], (dkp) s, t
      const int32_t a_out = m->a_out, b_out = m->b_out;
      const bool dkp = m->kind == TFC_MATRIX_DKP;
      const double s_t = scale(a_out + b_out + (dkp ? 1 : 0));
      TF_LITE_ENSURE_STATUS(PersistentMultipliers(context, op, b_out, &stage1));
      for (int32_t q = 0; q < b_out; ++q) {
        TF_LITE_ENSURE_STATUS(SetMultiplier(op, "first stage", s_x * scale(a_out + q) / s_t, &stage1[q]));
      }
      for (int32_t c = 0; c < cols; ++c) {
        TF_LITE_ENSURE_STATUS(SetMultiplier(op, "Kronecker", scale(c / b_out) * s_t / s_o, &part1[c]));
      }
      if (dkp) {
        TF_LITE_ENSURE_STATUS(SetMultiplier(op, "sparse", s_x * scale(a_out + b_out) / s_o, &m->sparse));
      }
      break;
    }
    default:
      return Refuse("%s: unknown structure kind %d", op, static_cast<int>(m->kind));
  }
  m->stage1 = stage1;
  m->part1 = part1;
  m->part2 = part2;
  return kTfLiteOk;
}

void BindProductFactors(tfc_structured_matrix* m, const int8_t* const* factors) {
  switch (m->kind) {
    case TFC_MATRIX_DENSE:
      m->w = factors[0];
      break;
    case TFC_MATRIX_LMF:
      m->u = factors[0];
      m->v = factors[1];
      break;
    case TFC_MATRIX_HMF:
      m->h = factors[0];
      m->u = factors[1];
      m->v = factors[2];
      break;
    default:  // KP, DKP
      m->a = factors[0];
      m->b = factors[1];
      break;
  }
}

TfLiteStatus KernelStatus(const char* op, tfc_status status) {
  if (status == TFC_OK) {
    return kTfLiteOk;
  }
  MicroPrintf("%s: the kernel refused its input (status %d): an id outside the table?", op,
              static_cast<int>(status));
  return kTfLiteError;
}

}  // namespace tfc_tflm
