// One call into libtorch's fused Adam/AdamW kernel (`aten::_fused_adam_`,
// `aten::_fused_adamw_`), which tch does not wrap: it updates every
// parameter, both moments, in a single pass per tensor instead of the nine
// element-wise operations of the tensor-by-tensor form. See src/optim.rs.
//
// tch hands tensors across as `at::Tensor*` (libtch's `tensor` type); the
// lists are borrowed for the duration of the call. Errors are returned as a
// malloc'ed message (the caller frees it), never thrown across the C ABI.

#include <ATen/core/Tensor.h>
#include <ATen/ops/_fused_adam.h>
#include <ATen/ops/_fused_adamw.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <vector>

namespace {

std::vector<at::Tensor> gather(at::Tensor *const *tensors, size_t n) {
  std::vector<at::Tensor> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.push_back(*tensors[i]);
  return out;
}

char *message(const char *what) {
  char *copy = static_cast<char *>(std::malloc(std::strlen(what) + 1));
  if (copy != nullptr) std::strcpy(copy, what);
  return copy;
}

}  // namespace

extern "C" char *sweep_fused_adam(at::Tensor *const *params,
                                  at::Tensor *const *grads,
                                  at::Tensor *const *exp_avgs,
                                  at::Tensor *const *exp_avg_sqs,
                                  const at::Tensor *step, size_t n, double lr,
                                  double beta1, double beta2,
                                  double weight_decay, double eps,
                                  int decoupled_weight_decay) {
  try {
    auto p = gather(params, n);
    auto g = gather(grads, n);
    auto m = gather(exp_avgs, n);
    auto v = gather(exp_avg_sqs, n);
    // One step count shared by every parameter (they always step together).
    std::vector<at::Tensor> steps(n, *step);
    if (decoupled_weight_decay != 0) {
      at::_fused_adamw_(p, g, m, v, {}, steps, lr, beta1, beta2, weight_decay,
                        eps, /*amsgrad=*/false, /*maximize=*/false);
    } else {
      at::_fused_adam_(p, g, m, v, {}, steps, lr, beta1, beta2, weight_decay,
                       eps, /*amsgrad=*/false, /*maximize=*/false);
    }
    return nullptr;
  } catch (const std::exception &e) {
    return message(e.what());
  } catch (...) {
    return message("unknown C++ exception in fused Adam");
  }
}
