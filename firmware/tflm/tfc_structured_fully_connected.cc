// TFC_{LMF,HMF,KP,DKP}_FULLY_CONNECTED (docs/ops.md) for TFLM: x int8 [..., rows] times a
// structured W [rows, cols] kept as constant int8 factors (and DKP's packed sparse S), an optional
// int32 bias, one float32 `scales` input -> int8 [..., cols], by tfc_{kind}_fully_connected_s8.
// One Prepare for the family, reading the factors by structure kind
// (tfcompress/reference/structured_ops.py's _fc_prepare); one Eval calling the kind's kernel.
#include <cstdint>
#include <limits>

#include "tensorflow/lite/kernels/kernel_util.h"
#include "tensorflow/lite/micro/kernels/kernel_util.h"
#include "tfc_tflm_common.h"
#include "tfc_tflm_ops.h"

namespace {

using tfc_tflm::Refuse;

constexpr int64_t kVersion = 1;

// The family: each op's custom code, structure and input names (x, the factors, bias, scales[, s]).
struct Kind {
  const char* op;
  tfc_matrix_kind matrix;
  const char* inputs;
};

constexpr Kind kLmf = {"TFC_LMF_FULLY_CONNECTED", TFC_MATRIX_LMF, "x, u, v, bias, scales"};
constexpr Kind kHmf = {"TFC_HMF_FULLY_CONNECTED", TFC_MATRIX_HMF, "x, h, u, v, bias, scales"};
constexpr Kind kKp = {"TFC_KP_FULLY_CONNECTED", TFC_MATRIX_KP, "x, a, b, bias, scales"};
constexpr Kind kDkp = {"TFC_DKP_FULLY_CONNECTED", TFC_MATRIX_DKP, "x, a, b, bias, scales, s"};

struct OpData {
  const Kind* kind;
  tfc_fc_params params;
  tfc_mf_fc_dims mf_dims;  // LMF, HMF
  tfc_mf_fc_quant mf_quant;
  tfc_kp_fc_dims kp_dims;  // KP, DKP
  tfc_kp_fc_quant kp_quant;
  tfc_sparse_matrix s;  // DKP, its data pointer set at Eval
  int factors;          // inputs between x and the bias
  int scratch_index;
};

void* Init(TfLiteContext* context, const char*, size_t) {
  return context->AllocatePersistentBuffer(context, sizeof(OpData));
}

TfLiteStatus Prepare(TfLiteContext* context, TfLiteNode* node, const Kind& kind) {
  TF_LITE_ENSURE(context, node->user_data != nullptr);
  const char* op = kind.op;
  const bool dkp = kind.matrix == TFC_MATRIX_DKP;
  tfc_tflm::OptionField options[] = {{"fused_activation", 0}, {"nnz", 0}};
  TF_LITE_ENSURE_STATUS(tfc_tflm::ReadOptions(op, node, kVersion, options, dkp ? 2 : 1));
  const int64_t activation = options[0].value;
  const tfc_tflm::PrepareTensors tensors(context, node);
  const int factors = tfc_tflm::ProductFactorCount(kind.matrix);
  const int expected = 1 + factors + 2 + (dkp ? 1 : 0);
  const TfLiteTensor* x = tensors.input(0);
  TfLiteTensor* output = tensors.output(0);
  if (tensors.inputs() != expected || tensors.outputs() != 1 || x == nullptr) {
    return Refuse("%s: expects %d inputs (%s) and 1 output", op, expected, kind.inputs);
  }
  bool shaped = output != nullptr && x->type == kTfLiteInt8 && output->type == kTfLiteInt8 &&
                tfc_tflm::Rank(x) >= 1 && tfc_tflm::Rank(output) == tfc_tflm::Rank(x);
  for (int i = 0; shaped && i < tfc_tflm::Rank(x) - 1; ++i) {
    shaped = x->dims->data[i] == output->dims->data[i];
  }
  if (!shaped) {
    return Refuse("%s: x and the output must be int8 [..., rows] and [..., cols] with the same leading shape", op);
  }
  const int64_t rows = x->dims->data[tfc_tflm::Rank(x) - 1];
  const int64_t cols = output->dims->data[tfc_tflm::Rank(output) - 1];
  const int64_t batches = rows > 0 ? tfc_tflm::NumElements(x) / rows : 0;
  if (rows < 1 || cols < 1 || batches < 1 || batches > std::numeric_limits<int32_t>::max()) {
    return Refuse("%s: x and the output must hold at least one row of at least one value", op);
  }
  if (activation < kTfLiteActNone || activation > kTfLiteActRelu6) {  // NONE, RELU, RELU_N1_TO_1, RELU6
    return Refuse("%s: fusedActivationFunction %lld is not supported", op, static_cast<long long>(activation));
  }
  if (!tfc_tflm::HasScale(x) || !tfc_tflm::HasScale(output)) {
    return Refuse("%s: x and the output must have positive, finite scales", op);
  }
  if (x->params.zero_point < INT8_MIN || x->params.zero_point > INT8_MAX) {
    return Refuse("%s: x's zero point %d is outside int8", op, static_cast<int>(x->params.zero_point));
  }
  auto* data = static_cast<OpData*>(node->user_data);
  data->kind = &kind;
  data->factors = factors;
  data->params.input_offset = -x->params.zero_point;
  data->params.output_offset = output->params.zero_point;
  TF_LITE_ENSURE_STATUS(tflite::CalculateActivationRangeQuantized(
      context, static_cast<TfLiteFusedActivation>(activation), output, &data->params.activation.min,
      &data->params.activation.max));
  if (data->params.activation.min > data->params.activation.max) {
    return Refuse("%s: the output's zero point %d leaves an empty activation range", op,
                  static_cast<int>(output->params.zero_point));
  }
  const TfLiteTensor* bias = tensors.input(1 + factors);
  if (bias != nullptr && (bias->type != kTfLiteInt32 || !tfc_tflm::IsConstant(bias) ||
                          tfc_tflm::NumElements(bias) != cols)) {
    return Refuse("%s: the bias must be %lld constant int32 values, or none", op, static_cast<long long>(cols));
  }

  const TfLiteTensor* factor_tensors[3] = {tensors.input(1), tensors.input(2), tensors.input(3)};
  tfc_structured_matrix m;
  tfc_tflm::ScaleGroup groups[tfc_tflm::kMaxProductScaleGroups];
  int group_count = 0;
  TF_LITE_ENSURE_STATUS(tfc_tflm::PrepareProductFactors(op, kind.matrix, factor_tensors, rows, cols, "", &m,
                                                        groups, &group_count));
  const float* scales = nullptr;
  TF_LITE_ENSURE_STATUS(tfc_tflm::PrepareScales(op, tensors.input(2 + factors), groups, group_count, &scales));
  TF_LITE_ENSURE_STATUS(tfc_tflm::PrepareProductMultipliers(context, op, scales,
                                                            static_cast<double>(x->params.scale),
                                                            static_cast<double>(output->params.scale), &m));
  const int32_t b = static_cast<int32_t>(batches);
  if (kind.matrix == TFC_MATRIX_LMF || kind.matrix == TFC_MATRIX_HMF) {
    data->mf_dims = {b, m.rows, m.cols, m.rank};
    const bool hmf = kind.matrix == TFC_MATRIX_HMF;  // part1 is HMF's head, LMF's low-rank product
    data->mf_quant = {m.stage1[0], hmf ? m.part1 : nullptr, hmf ? m.part2 : m.part1};
  } else {
    data->kp_dims = {b, m.rows, m.cols, m.a_out, m.a_in, m.b_out, m.b_in};
    data->kp_quant = {m.stage1, m.part1, m.sparse};
  }
  if (dkp) {
    TF_LITE_ENSURE_STATUS(tfc_tflm::PrepareSparseFactor(op, tensors.input(5), rows, cols, options[1].value, "nnz",
                                                        "", &data->s));
  }
  int32_t bytes = 0;
  switch (kind.matrix) {
    case TFC_MATRIX_LMF:
      bytes = tfc_lmf_fully_connected_s8_get_buffer_size(&data->mf_dims);
      break;
    case TFC_MATRIX_HMF:
      bytes = tfc_hmf_fully_connected_s8_get_buffer_size(&data->mf_dims);
      break;
    case TFC_MATRIX_KP:
      bytes = tfc_kp_fully_connected_s8_get_buffer_size(&data->kp_dims);
      break;
    default:  // DKP: cols int32 and the intermediate; a_in * b_out is bounded by PrepareProductFactors
      if (cols > (std::numeric_limits<int32_t>::max() - 2 * int64_t{m.a_in} * m.b_out) / 4) {
        return Refuse("%s: %lld outputs need more scratch than the kernel takes", op, static_cast<long long>(cols));
      }
      bytes = tfc_dkp_fully_connected_s8_get_buffer_size(&data->kp_dims);
      break;
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
  const int8_t* x = in(0);
  const int32_t* bias =
      tflite::micro::GetOptionalTensorData<int32_t>(tflite::micro::GetEvalInput(context, node, 1 + data->factors));
  int8_t* output = tflite::micro::GetTensorData<int8_t>(tflite::micro::GetEvalOutput(context, node, 0));
  void* scratch = context->GetScratchBuffer(context, data->scratch_index);
  auto* t = static_cast<int16_t*>(scratch);
  tfc_status status = TFC_ARG_ERROR;
  switch (data->kind->matrix) {
    case TFC_MATRIX_LMF:
      status = tfc_lmf_fully_connected_s8(&data->params, &data->mf_quant, &data->mf_dims, x, in(1), in(2), bias, t,
                                          output);
      break;
    case TFC_MATRIX_HMF:
      status = tfc_hmf_fully_connected_s8(&data->params, &data->mf_quant, &data->mf_dims, x, in(1), in(2), in(3),
                                          bias, t, output);
      break;
    case TFC_MATRIX_KP:
      status = tfc_kp_fully_connected_s8(&data->params, &data->kp_quant, &data->kp_dims, x, in(1), in(2), bias, t,
                                         output);
      break;
    default: {  // DKP
      tfc_sparse_matrix s = data->s;
      s.data = tfc_tflm::SparseData(tflite::micro::GetEvalInput(context, node, 5));
      status = tfc_dkp_fully_connected_s8(&data->params, &data->kp_quant, &data->kp_dims, x, in(1), in(2), &s, bias,
                                          scratch, output);
      break;
    }
  }
  return tfc_tflm::KernelStatus(data->kind->op, status);
}

template <const Kind& K>
TFLMRegistration* Registration() {
  static TFLMRegistration registration = tflite::micro::RegisterOp(Init, PrepareKind<K>, Eval);
  return &registration;
}

}  // namespace

TFLMRegistration* Register_TFC_LMF_FULLY_CONNECTED() { return Registration<kLmf>(); }
TFLMRegistration* Register_TFC_HMF_FULLY_CONNECTED() { return Registration<kHmf>(); }
TFLMRegistration* Register_TFC_KP_FULLY_CONNECTED() { return Registration<kKp>(); }
TFLMRegistration* Register_TFC_DKP_FULLY_CONNECTED() { return Registration<kDkp>(); }
