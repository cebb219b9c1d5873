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
  static constexpr int kMax = 16;  // the most a TFC_ op has: TFC_GRU, 12
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

// QuantizeMultiplier(real) into *m, refusing a multiplier the kernels cannot apply (a shift
// past 31: real >= 2^31). `what` names it in the message.
TfLiteStatus SetMultiplier(const char* op, const char* what, double real, tfc_quant_multiplier* m);

// `count` multipliers from the persistent arena; refuses (naming the op) when it is full.
TfLiteStatus PersistentMultipliers(TfLiteContext* context, const char* op, int64_t count,
                                   tfc_quant_multiplier** multipliers);

// docs/ops.md "Sparse matrices": `packed` must be a constant uint8 tensor holding exactly the
// encoding that rows, cols and nnz imply, checked as structures/sparse.py's decode does
// (length, row pointers, entries in range and sorted). Fills everything but `matrix->data`,
// which Eval takes from the tensor. `what` names the matrix in messages.
TfLiteStatus PrepareSparseMatrix(const char* op, const TfLiteTensor* packed, int64_t rows,
                                 int64_t cols, int64_t nnz, int64_t background,
                                 tfc_sparse_matrix* matrix, const char* what = "the packed sparse matrix");

// ---- The structured ops (docs/ops.md "Structured matrices", tfcompress/reference/structured_ops.py)

// A factor: a constant int8 matrix, [rows, cols] where these are >= 0 (_int8_factor). `name` and
// `of` (" of W", or "") name it in messages.
TfLiteStatus PrepareFactor(const char* op, const TfLiteTensor* factor, const char* name, const char* of,
                           int64_t rows = -1, int64_t cols = -1);

// One run of the `scales` input: `count` scales of factor `name` (of `of`), for messages.
struct ScaleGroup {
  const char* name;
  const char* of;
  int64_t count;
};

// The float32 `scales` input (_scales): exactly the groups' scales, constant, finite and positive.
TfLiteStatus PrepareScales(const char* op, const TfLiteTensor* scales, const ScaleGroup* groups, int count,
                           const float** values);

// A structured matrix's sparse part S, rows x cols with background 0 (_sparse_factor): `nnz`
// (custom_options field `field`) within the matrix, then the packed input, which is left out
// (nullptr) exactly when nnz is 0. Fills all but `s->data` (Eval: SparseData).
TfLiteStatus PrepareSparseFactor(const char* op, const TfLiteTensor* packed, int64_t rows, int64_t cols,
                                 int64_t nnz, const char* field, const char* of, tfc_sparse_matrix* s);

// S's bytes at Eval: the packed input's, or (left out, nnz 0) a byte nothing reads: the kernels
// take no NULL matrix data.
const uint8_t* SparseData(const TfLiteEvalTensor* packed);

// The factor inputs of a product x W of each kind (PRODUCT_FACTORS): dense w; lmf u, v; hmf h, u, v;
// kp and dkp a, b (DKP's S is an input of its own).
int ProductFactorCount(tfc_matrix_kind kind);

// The most scale groups a product takes (hmf: h, u, v, t; dkp: a, b, s, t).
constexpr int kMaxProductScaleGroups = 4;

// A rows x cols W used as x W (product_factors): checks its kind's factor tensors, each stored
// [out, in], and sets m's kind and dimensions (everything else zero); `groups` gets the scales
// it takes in the order of the `scales` input (at most kMaxProductScaleGroups), `group_count`
// their number.
TfLiteStatus PrepareProductFactors(const char* op, tfc_matrix_kind kind, const TfLiteTensor* const* factors,
                                   int64_t rows, int64_t cols, const char* of, tfc_structured_matrix* m,
                                   ScaleGroup* groups, int* group_count);

// m's multipliers (product_multipliers) into the persistent arena, from its scales (in the order
// of its groups), the input scale s_x and the output scale s_o, each in double in the reference's
// order of operations: stage1 (lmf, hmf: s_x s_u / s_t; kp, dkp: s_x s_b[q] / s_t), part1 (dense:
// s_x s_w[c] / s_o; lmf: s_t s_v[c] / s_o; hmf: s_x s_h[c] / s_o; kp, dkp: s_a[c / b_out] s_t / s_o),
// part2 (hmf: s_t s_v[c] / s_o) and sparse (dkp: s_x s_s / s_o).
TfLiteStatus PrepareProductMultipliers(TfLiteContext* context, const char* op, const float* scales, double s_x,
                                       double s_o, tfc_structured_matrix* m);

// m's factor pointers from its factor tensors' data (PRODUCT_FACTORS order).
void BindProductFactors(tfc_structured_matrix* m, const int8_t* const* factors);

// Eval: kTfLiteOk for TFC_OK, else says the kernel refused the op's input.
TfLiteStatus KernelStatus(const char* op, tfc_status status);

}  // namespace tfc_tflm

#endif  // TFC_TFLM_COMMON_H
