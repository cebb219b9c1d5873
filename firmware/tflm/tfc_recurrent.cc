// TFC_LSTM and TFC_GRU (docs/ops.md) for TFLM: a whole recurrent encoder, x int8 [1, T, D] ->
// the last hidden state int8 [1, H], its input matrix W [D, G H] and recurrent matrix U [H, G H]
// each dense or structured (the fused fully connected ops' factors, read by
// tfc_tflm::PrepareProductFactors), by tfc_lstm_s8 / tfc_gru_s8. One Prepare for both
// (tfcompress/reference/recurrent_ops.py's _recurrent_prepare).
#include <cstdint>
#include <limits>

#include "tensorflow/lite/micro/kernels/kernel_util.h"
#include "tfc_tflm_common.h"
#include "tfc_tflm_ops.h"

namespace {

using tfc_tflm::Refuse;

constexpr int64_t kVersion = 1;
constexpr double kGateScale = 1.0 / (1 << 12);  // gate pre-activations are Q3.12
constexpr double kStateScale = 1.0 / (1 << 15);  // sigmoid, tanh and the GRU state are Q0.15
constexpr int64_t kMaxCellBits = 15;

struct Kind {
  const char* op;
  bool lstm;
  int gates;
};

constexpr Kind kLstm = {"TFC_LSTM", true, 4};
constexpr Kind kGru = {"TFC_GRU", false, 3};

// custom_options' input_structure / recurrent_structure (RECURRENT_KINDS, tfc_matrix_kind's order).
constexpr const char* kStructures[] = {"dense", "lmf", "hmf", "kp", "dkp"};

struct OpData {
  const Kind* kind;
  tfc_recurrent_params params;
  tfc_recurrent_dims dims;
  tfc_structured_matrix w;  // factor pointers (and S's) set at Eval
  tfc_structured_matrix u;
  tfc_sparse_matrix w_s;  // DKP
  tfc_sparse_matrix u_s;
  int scratch_index;
};

void* Init(TfLiteContext* context, const char*, size_t) {
  return context->AllocatePersistentBuffer(context, sizeof(OpData));
}

TfLiteStatus Structure(const char* op, const char* field, int64_t code, tfc_matrix_kind* kind) {
  if (code < 0 || code > TFC_MATRIX_DKP) {
    return Refuse("%s: custom_options field '%s' is %lld, not one of 0 (dense), 1 (lmf), 2 (hmf), 3 (kp), 4 (dkp)",
                  op, field, static_cast<long long>(code));
  }
  *kind = static_cast<tfc_matrix_kind>(code);
  return kTfLiteOk;
}

// W's or U's factors (from input `first` on) and S, their multipliers, and the pointers the
// kernel's buffer size needs (Prepare's tensors: Eval binds its own).
TfLiteStatus PrepareMatrix(TfLiteContext* context, const char* op, const tfc_tflm::PrepareTensors& tensors,
                           int first, int s_input, const char* matrix, const char* of, int64_t nnz,
                           const char* nnz_field,
                           const float* scales, double s_x, tfc_structured_matrix* m, tfc_sparse_matrix* sparse) {
  TF_LITE_ENSURE_STATUS(tfc_tflm::PrepareProductMultipliers(context, op, scales, s_x,
                                                            kGateScale, m));
  const TfLiteTensor* packed = tensors.input(s_input);
  if (m->kind == TFC_MATRIX_DKP) {
    TF_LITE_ENSURE_STATUS(tfc_tflm::PrepareSparseFactor(op, packed, m->rows, m->cols, nnz, nnz_field, of, sparse));
    sparse->data = packed != nullptr ? packed->data.uint8 : tfc_tflm::SparseData(nullptr);
    m->s = sparse;
  } else if (packed != nullptr || nnz != 0) {
    return Refuse("%s: %s is %s: its sparse factor s must be left out (-1) and custom_options field '%s' 0, "
                  "got %lld", op, matrix, kStructures[m->kind], nnz_field, static_cast<long long>(nnz));
  }
  const int8_t* factors[3] = {};
  for (int i = 0; i < tfc_tflm::ProductFactorCount(m->kind); ++i) {
    factors[i] = tensors.input(first + i)->data.int8;
  }
  tfc_tflm::BindProductFactors(m, factors);
  return kTfLiteOk;
}

TfLiteStatus Prepare(TfLiteContext* context, TfLiteNode* node, const Kind& kind) {
  TF_LITE_ENSURE(context, node->user_data != nullptr);
  const char* op = kind.op;
  tfc_tflm::OptionField options[] = {{"units", 0},         {"input_structure", 0}, {"recurrent_structure", 0},
                                     {"input_nnz", 0},     {"recurrent_nnz", 0},   {"return_sequences", 0},
                                     {"cell_bits", 0}};
  TF_LITE_ENSURE_STATUS(tfc_tflm::ReadOptions(op, node, kVersion, options, kind.lstm ? 7 : 6));
  const int64_t units = options[0].value, input_nnz = options[3].value, recurrent_nnz = options[4].value;
  tfc_matrix_kind kind_w = TFC_MATRIX_DENSE, kind_u = TFC_MATRIX_DENSE;
  TF_LITE_ENSURE_STATUS(Structure(op, "input_structure", options[1].value, &kind_w));
  TF_LITE_ENSURE_STATUS(Structure(op, "recurrent_structure", options[2].value, &kind_u));
  const int n_w = tfc_tflm::ProductFactorCount(kind_w), n_u = tfc_tflm::ProductFactorCount(kind_u);
  const int biases = kind.lstm ? 1 : 2;
  const int expected = 1 + n_w + n_u + biases + 3;  // x, W's, U's, biases, scales, s of W, s of U
  const tfc_tflm::PrepareTensors tensors(context, node);
  const TfLiteTensor* x = tensors.input(0);
  const TfLiteTensor* output = tensors.output(0);
  if (tensors.inputs() != expected || tensors.outputs() != 1 || x == nullptr) {
    return Refuse("%s: expects %d inputs (x, %d factors of W, %d of U, %s, scales, s of W, s of U) and 1 output, "
                  "got %d and %d", op, expected, n_w, n_u, kind.lstm ? "bias" : "bias, recurrent_bias",
                  tensors.inputs(), tensors.outputs());
  }
  if (options[5].value != 0) {
    return Refuse("%s: custom_options field 'return_sequences' is %lld: only 0 (the last hidden state) is "
                  "supported", op, static_cast<long long>(options[5].value));
  }
  if (x->type != kTfLiteInt8 || tfc_tflm::Rank(x) != 3 || x->dims->data[0] != 1 || x->dims->data[1] < 1 ||
      x->dims->data[2] < 1) {
    return Refuse("%s: input 0 (x) must be int8 [1, T, D]", op);
  }
  if (units < 1 || units > std::numeric_limits<int32_t>::max() / 4 / kind.gates || output == nullptr ||
      output->type != kTfLiteInt8 || tfc_tflm::Rank(output) != 2 || output->dims->data[0] != 1 ||
      output->dims->data[1] != units) {
    return Refuse("%s: custom_options field 'units' is %lld; the output must be int8 [1, units]", op,
                  static_cast<long long>(units));
  }
  if (!tfc_tflm::HasScale(output) || output->params.zero_point != 0) {
    return Refuse("%s: the output (the hidden state) must be quantised with zero point 0", op);
  }
  if (!tfc_tflm::HasScale(x) || x->params.zero_point < INT8_MIN || x->params.zero_point > INT8_MAX) {
    return Refuse("%s: x must have a positive, finite scale and an int8 zero point", op);
  }
  const int32_t steps = x->dims->data[1], depth = x->dims->data[2];
  const int64_t cols = kind.gates * units;
  auto* data = static_cast<OpData*>(node->user_data);
  data->kind = &kind;
  const TfLiteTensor* factors_w[3] = {tensors.input(1), tensors.input(2), tensors.input(3)};
  const TfLiteTensor* factors_u[3] = {tensors.input(1 + n_w), tensors.input(2 + n_w), tensors.input(3 + n_w)};
  tfc_tflm::ScaleGroup groups[2 * tfc_tflm::kMaxProductScaleGroups];
  int groups_w = 0, groups_u = 0;
  TF_LITE_ENSURE_STATUS(tfc_tflm::PrepareProductFactors(op, kind_w, factors_w, depth, cols, " of W", &data->w,
                                                        groups, &groups_w));
  TF_LITE_ENSURE_STATUS(tfc_tflm::PrepareProductFactors(op, kind_u, factors_u, units, cols, " of U", &data->u,
                                                        groups + groups_w, &groups_u));
  const int at = 1 + n_w + n_u;
  for (int k = 0; k < biases; ++k) {
    const TfLiteTensor* bias = tensors.input(at + k);
    if (bias != nullptr && (bias->type != kTfLiteInt32 || !tfc_tflm::IsConstant(bias) ||
                            tfc_tflm::NumElements(bias) != cols)) {
      return Refuse("%s: the %s must be %lld constant int32 values, or none", op, k == 0 ? "bias" : "recurrent_bias",
                    static_cast<long long>(cols));
    }
  }
  const float* scales = nullptr;
  TF_LITE_ENSURE_STATUS(tfc_tflm::PrepareScales(op, tensors.input(at + biases), groups, groups_w + groups_u, &scales));
  int64_t scales_w = 0;
  for (int i = 0; i < groups_w; ++i) {
    scales_w += groups[i].count;
  }
  const double s_h = static_cast<double>(output->params.scale);
  TF_LITE_ENSURE_STATUS(PrepareMatrix(context, op, tensors, 1, at + biases + 1, "W", " of W", input_nnz, "input_nnz",
                                      scales, static_cast<double>(x->params.scale), &data->w, &data->w_s));
  TF_LITE_ENSURE_STATUS(PrepareMatrix(context, op, tensors, 1 + n_w, at + biases + 2, "U", " of U", recurrent_nnz,
                                      "recurrent_nnz", scales + scales_w, s_h, &data->u, &data->u_s));
  data->params.input_offset = -x->params.zero_point;
  data->params.cell_bits = 0;
  if (kind.lstm) {
    const int64_t cell_bits = options[6].value;
    if (cell_bits < 0 || cell_bits > kMaxCellBits) {
      return Refuse("%s: custom_options field 'cell_bits' is %lld, outside [0, %lld]", op,
                    static_cast<long long>(cell_bits), static_cast<long long>(kMaxCellBits));
    }
    data->params.cell_bits = static_cast<int32_t>(cell_bits);
  }
  // o tanh(c) is Q0.30 (LSTM), the GRU state Q0.15
  const double hidden = (kind.lstm ? kStateScale * kStateScale : kStateScale) / s_h;
  TF_LITE_ENSURE_STATUS(tfc_tflm::SetMultiplier(op, "hidden", hidden, &data->params.hidden));
  data->dims = {steps, depth, static_cast<int32_t>(units)};
  const int32_t bytes = kind.lstm ? tfc_lstm_s8_get_buffer_size(&data->dims, &data->w, &data->u)
                                  : tfc_gru_s8_get_buffer_size(&data->dims, &data->w, &data->u);
  if (bytes <= 0) {
    return Refuse("%s: W and U are not matrices the kernel takes (or need more than 2 GiB of scratch)", op);
  }
  return context->RequestScratchBufferInArena(context, static_cast<size_t>(bytes), &data->scratch_index);
}

template <const Kind& K>
TfLiteStatus PrepareKind(TfLiteContext* context, TfLiteNode* node) {
  return Prepare(context, node, K);
}

TfLiteStatus Eval(TfLiteContext* context, TfLiteNode* node) {
  const auto* data = static_cast<const OpData*>(node->user_data);
  auto in = [context, node](int i) {
    return tflite::micro::GetTensorData<int8_t>(tflite::micro::GetEvalInput(context, node, i));
  };
  auto bias = [context, node](int i) {
    return tflite::micro::GetOptionalTensorData<int32_t>(tflite::micro::GetEvalInput(context, node, i));
  };
  tfc_structured_matrix w = data->w, u = data->u;
  tfc_sparse_matrix w_s = data->w_s, u_s = data->u_s;
  const int n_w = tfc_tflm::ProductFactorCount(w.kind), n_u = tfc_tflm::ProductFactorCount(u.kind);
  const int8_t* factors[3] = {in(1), n_w > 1 ? in(2) : nullptr, n_w > 2 ? in(3) : nullptr};
  tfc_tflm::BindProductFactors(&w, factors);
  const int8_t* recurrent_factors[3] = {in(1 + n_w), n_u > 1 ? in(2 + n_w) : nullptr, n_u > 2 ? in(3 + n_w) : nullptr};
  tfc_tflm::BindProductFactors(&u, recurrent_factors);
  const int last = node->inputs->size - 1;  // s of U; s of W before it
  w_s.data = tfc_tflm::SparseData(tflite::micro::GetEvalInput(context, node, last - 1));
  u_s.data = tfc_tflm::SparseData(tflite::micro::GetEvalInput(context, node, last));
  w.s = w.kind == TFC_MATRIX_DKP ? &w_s : nullptr;
  u.s = u.kind == TFC_MATRIX_DKP ? &u_s : nullptr;
  const int at = 1 + n_w + n_u;
  const int8_t* x = in(0);
  int8_t* output = tflite::micro::GetTensorData<int8_t>(tflite::micro::GetEvalOutput(context, node, 0));
  void* scratch = context->GetScratchBuffer(context, data->scratch_index);
  const tfc_status status =
      data->kind->lstm ? tfc_lstm_s8(&data->params, &data->dims, x, &w, &u, bias(at), scratch, output)
                       : tfc_gru_s8(&data->params, &data->dims, x, &w, &u, bias(at), bias(at + 1), scratch, output);
  return tfc_tflm::KernelStatus(data->kind->op, status);
}

template <const Kind& K>
TFLMRegistration* Registration() {
  static TFLMRegistration registration = tflite::micro::RegisterOp(Init, PrepareKind<K>, Eval);
  return &registration;
}

}  // namespace

TFLMRegistration* Register_TFC_LSTM() { return Registration<kLstm>(); }
TFLMRegistration* Register_TFC_GRU() { return Registration<kGru>(); }
