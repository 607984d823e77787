"""The runtime rules IL601-IL612. `initlint probe` (and `initlint check --probe`) reports them
from one measured forward and backward pass; the static engine never runs them (``runtime``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, ClassVar

from initlint.rules.base import Report, Rule

if TYPE_CHECKING:
    from initlint.semantic import SemanticModel


class RuntimeRule(Rule):
    tier = "runtime"
    runtime: ClassVar[bool] = True
    needs_torch = True
    # Never matches a file's text: the static engine has nothing to check for these.
    triggers = (r"(?!x)x",)

    def check(self, model: SemanticModel) -> Iterator[Report]:  # measured by initlint.probe, not read from code
        return iter(())


class ActivationVanishing(RuntimeRule):
    code = "IL601"
    name = "activation-vanishing"
    summary = "Runtime: hidden activations shrink far below the input's scale"
    severity = "error"


class ActivationExploding(RuntimeRule):
    code = "IL602"
    name = "activation-exploding"
    summary = "Runtime: hidden activations grow far above the input's scale"
    severity = "error"


class GradientImbalance(RuntimeRule):
    code = "IL603"
    name = "gradient-imbalance"
    summary = "Runtime: weight gradients of the first and last layers differ by more than 100x"
    severity = "warning"


class DeadUnits(RuntimeRule):
    code = "IL604"
    name = "dead-units"
    summary = "Runtime: most units of a ReLU-family layer are never active over the batch"
    severity = "warning"


class SymmetricWeights(RuntimeRule):
    code = "IL605"
    name = "symmetric-weights"
    summary = "Runtime: a hidden weight matrix whose output units are identical (constant init)"
    severity = "error"


class NonFinite(RuntimeRule):
    code = "IL606"
    name = "non-finite"
    summary = "Runtime: NaN or Inf in a parameter, an activation or a gradient"
    severity = "error"


class UninitializedMemory(RuntimeRule):
    code = "IL607"
    name = "uninitialized-memory"
    summary = "Runtime: parameter values that look like raw memory (huge or denormal numbers)"
    severity = "error"


# IL620-IL624: init provenance. The probe records which code wrote each parameter while the
# model was built and initialized (initlint.probe.provenance) and reports what only that record
# proves.
class ParameterNeverWritten(RuntimeRule):
    code = "IL620"
    name = "parameter-never-written"
    summary = "Runtime: a parameter that nothing wrote after its memory was allocated (torch.empty, to_empty())"
    severity = "error"


class InitNeverReachedParameter(RuntimeRule):
    code = "IL621"
    name = "init-never-reached-parameter"
    summary = (
        "Runtime: an init that wrote a computed weight (weight_norm, parametrization) and never reached a parameter"
    )
    severity = "error"


class InitOverwritten(RuntimeRule):
    code = "IL622"
    name = "init-overwritten"
    summary = "Runtime: a custom init of a parameter overwritten by a later PyTorch default reset_parameters()"
    severity = "error"


class InitDispatchMissedLayer(RuntimeRule):
    code = "IL623"
    name = "init-dispatch-missed-layer"
    summary = "Runtime: a layer of a type the init function dispatches on that the function never wrote"
    severity = "error"


class DefaultBesideCustomSiblings(RuntimeRule):
    code = "IL624"
    name = "default-beside-custom-siblings"
    summary = "Runtime: layers left at PyTorch's default init beside custom-initialized siblings of the same type"
    severity = "warning"


class OutputScale(RuntimeRule):
    code = "IL608"
    name = "output-scale"
    summary = "Runtime: the model's output (logits) has a std far above 1 at init"
    severity = "warning"


class SeluDrift(RuntimeRule):
    code = "IL609"
    name = "selu-drift"
    summary = "Runtime: SELU activations drift from their self-normalizing fixed point (unit std)"
    severity = "warning"


class WeightScaleUnderNorm(RuntimeRule):
    code = "IL610"
    name = "weight-scale-under-norm"
    summary = "Runtime: weights before a norm many times larger than any init scheme (they barely train)"
    severity = "warning"


class InputIndependentOutput(RuntimeRule):
    code = "IL611"
    name = "input-independent-output"
    summary = "Runtime: the output is the same for every sample: zeroed hidden weights cut the input off"
    severity = "error"


class SaturatedActivations(RuntimeRule):
    code = "IL612"
    name = "saturated-activations"
    summary = "Runtime: most outputs of a tanh/sigmoid sit in its flat tails, where the gradient is ~0"
    severity = "warning"


RUNTIME_RULES: tuple[type[RuntimeRule], ...] = (
    ActivationVanishing,
    ActivationExploding,
    GradientImbalance,
    DeadUnits,
    SymmetricWeights,
    NonFinite,
    UninitializedMemory,
    OutputScale,
    SeluDrift,
    WeightScaleUnderNorm,
    InputIndependentOutput,
    SaturatedActivations,
    ParameterNeverWritten,
    InitNeverReachedParameter,
    InitOverwritten,
    InitDispatchMissedLayer,
    DefaultBesideCustomSiblings,
)
