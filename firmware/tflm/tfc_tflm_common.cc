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

TfLiteStatus PrepareSparseMatrix(const char* op, const TfLiteTensor* packed, int64_t rows,
                                 int64_t cols, int64_t nnz, int64_t background,
                                 tfc_sparse_matrix* matrix) {
  constexpr int64_t kMaxInt32 = std::numeric_limits<int32_t>::max();
  if (packed == nullptr || packed->type != kTfLiteUInt8 || !IsConstant(packed)) {
    return Refuse("%s: the packed sparse matrix must be a constant uint8 tensor", op);
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
    return Refuse("%s: the packed sparse matrix does not decode (%lld bytes, expected %lld for %s "
                  "with %lld entries)", op, static_cast<long long>(packed->bytes),
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
      return Refuse("%s: the packed sparse matrix does not decode (row pointers out of order or "
                    "range)", op);
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
      return Refuse("%s: the packed sparse matrix does not decode (entries out of range or not "
                    "sorted by row and column)", op);
    }
    previous = row * cols + c;
  }
  *matrix = {static_cast<int32_t>(rows), static_cast<int32_t>(cols), static_cast<int32_t>(nnz),
             coo ? TFC_SPARSE_COO : TFC_SPARSE_CSR, first_bytes, col_bytes,
             static_cast<int32_t>(background), nullptr};
  return kTfLiteOk;
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
