/*
 * What every TFC_ op's TFLM registration shares, as TFLM's *_common files: the custom_options
 * reader of docs/ops.md's common rules, the node's tensors for Prepare, the checks of a packed
 * sparse matrix, and the mapping of a kernel's status. Everything a model can get wrong is
 * refused here at Prepare, naming the op and the field, as tfcompress/reference/custom_ops.py
 * refuses it; Eval only runs the kernel.
 */
#ifndef TFC_TFLM_COMMON_H
#define TFC_TFLM_COMMON_H

#include <cstdint>

#include "tensorflow/lite/c/common.h"
#include "tfc_kernels.h"

namespace tflite {
class MicroContext;
}

namespace tfc_tflm {

#if defined(__GNUC__)
#define TFC_PRINTF_FORMAT __attribute__((format(printf, 1, 2)))
#else
#define TFC_PRINTF_FORMAT
#endif

// MicroPrintf(format, ...), then kTfLiteError: how Prepare refuses a model.
TfLiteStatus Refuse(const char* format, ...) TFC_PRINTF_FORMAT;

// One integer field of a TFC_ op's custom_options; ReadOptions sets `value`.
struct OptionField {
  const char* name;
  int64_t value;
};

// The node's custom_options as the reference's read_options checks them: a flexbuffer map
// with an int `version` in [1, max_version] and an int (not a bool) for every field.
TfLiteStatus ReadOptions(const char* op, const TfLiteNode* node, int64_t max_version,
                         OptionField* fields, int count);

// The node's tensors as TFLM's temporary TfLiteTensors (nullptr for an absent optional input),
// handed back to TFLM when this goes out of scope, whichever way Prepare returns.
class PrepareTensors {
 public:
  PrepareTensors(TfLiteContext* context, TfLiteNode* node);
  ~PrepareTensors();
  PrepareTensors(const PrepareTensors&) = delete;
  PrepareTensors& operator=(const PrepareTensors&) = delete;

  int inputs() const { return inputs_; }  // as the node lists them, absent ones included
  int outputs() const { return outputs_; }
  const TfLiteTensor* input(int i) const { return i < kMax ? input_[i] : nullptr; }
  TfLiteTensor* output(int i) const { return i < kMax ? output_[i] : nullptr; }

 private:
  static constexpr int kMax = 8;
  tflite::MicroContext* micro_context_;
  int inputs_;
  int outputs_;
  TfLiteTensor* input_[kMax];
  TfLiteTensor* output_[kMax];
};

int Rank(const TfLiteTensor* tensor);
int64_t NumElements(const TfLiteTensor* tensor);
bool IsConstant(const TfLiteTensor* tensor);  // data in the model (kTfLiteMmapRo)
int NumScales(const TfLiteTensor* tensor);    // of its affine quantisation, 0 if none
bool HasScale(const TfLiteTensor* tensor);    // a positive, finite per-tensor scale

// QuantizeMultiplier(real) as the kernels take it.
tfc_quant_multiplier Multiplier(double real);

// docs/ops.md "Sparse matrices": `packed` must be a constant uint8 tensor holding exactly the
// encoding that rows, cols and nnz imply, checked as structures/sparse.py's decode does
// (length, row pointers, entries in range and sorted). Fills everything but `matrix->data`,
// which Eval takes from the tensor.
TfLiteStatus PrepareSparseMatrix(const char* op, const TfLiteTensor* packed, int64_t rows,
                                 int64_t cols, int64_t nnz, int64_t background,
                                 tfc_sparse_matrix* matrix);

// Eval: kTfLiteOk for TFC_OK, else says the kernel refused the op's input.
TfLiteStatus KernelStatus(const char* op, tfc_status status);

}  // namespace tfc_tflm

#endif  // TFC_TFLM_COMMON_H
