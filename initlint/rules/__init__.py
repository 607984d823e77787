"""The rule registry: every rule class, by code and by name."""

from __future__ import annotations

from initlint.rules.base import Rule
from initlint.rules.il101_deprecated_init_alias import DeprecatedInitAlias
from initlint.rules.il102_tensor_from_tensor import TensorFromTensor
from initlint.rules.il103_legacy_tensor_constructor import LegacyTensorConstructor
from initlint.rules.il104_data_attribute_init import DataAttributeInit
from initlint.rules.il105_variable_wrapper import VariableWrapper
from initlint.rules.il106_exact_type_dispatch import ExactTypeDispatch
from initlint.rules.il107_classname_string_dispatch import ClassnameStringDispatch
from initlint.rules.il201_init_activation_mismatch import InitActivationMismatch
from initlint.rules.il202_selu_requires_lecun import SeluRequiresLecun
from initlint.rules.il203_variance_not_preserved import VarianceNotPreserved
from initlint.rules.il301_init_shape_mismatch import InitShapeMismatch
from initlint.rules.il302_invalid_init_argument import InvalidInitArgument
from initlint.rules.il303_trunc_normal_absolute_bounds import TruncNormalAbsoluteBounds
from initlint.rules.il304_norm_weight_zero_mean import NormWeightZeroMean
from initlint.rules.il305_uniform_single_bound import UniformSingleBound
from initlint.rules.il306_fan_from_wrong_axis import FanFromWrongAxis
from initlint.rules.il307_dynamic_calculate_gain import DynamicCalculateGain
from initlint.rules.il308_std_as_gain import StdAsGain
from initlint.rules.il309_norm_eps_as_momentum import NormEpsAsMomentum
from initlint.rules.il401_optional_bias_unguarded import OptionalBiasUnguarded
from initlint.rules.il402_apply_called_with_call_result import ApplyCalledWithCallResult
from initlint.rules.il403_init_in_forward import InitInForward
from initlint.rules.il404_uninitialized_parameter import UninitializedParameter
from initlint.rules.il406_init_before_layers import InitBeforeLayers
from initlint.rules.il407_constant_hidden_weight import ConstantHiddenWeight
from initlint.rules.il408_classname_dispatch_mismatch import ClassnameDispatchMismatch
from initlint.rules.il409_bias_truth_test import BiasTruthTest
from initlint.rules.il410_init_after_weight_norm import InitAfterWeightNorm
from initlint.rules.il411_init_ignores_module_argument import InitIgnoresModuleArgument
from initlint.rules.il412_init_result_discarded import InitResultDiscarded
from initlint.rules.il413_init_misses_layers import InitMissesLayers
from initlint.rules.il414_to_empty_partial_reset import ToEmptyPartialReset
from initlint.rules.il415_init_function_never_used import InitFunctionNeverUsed
from initlint.rules.il416_init_condition_never_true import InitConditionNeverTrue
from initlint.rules.il417_init_function_not_importable import InitFunctionNotImportable
from initlint.rules.il418_init_function_never_applied import InitFunctionNeverApplied
from initlint.rules.il501_functional_dropout_always_on import FunctionalDropoutAlwaysOn
from initlint.rules.il502_dropout_probability_out_of_range import DropoutProbabilityOutOfRange
from initlint.rules.il902_unused_noqa import UnusedNoqa
from initlint.rules.meta import InternalError, SyntaxErrorRule, UnreadableFile
from initlint.rules.runtime import RUNTIME_RULES

ALL_RULES: tuple[type[Rule], ...] = (
    DeprecatedInitAlias,
    TensorFromTensor,
    LegacyTensorConstructor,
    DataAttributeInit,
    VariableWrapper,
    ExactTypeDispatch,
    ClassnameStringDispatch,
    InitShapeMismatch,
    InvalidInitArgument,
    TruncNormalAbsoluteBounds,
    NormWeightZeroMean,
    UniformSingleBound,
    FanFromWrongAxis,
    DynamicCalculateGain,
    StdAsGain,
    NormEpsAsMomentum,
    FunctionalDropoutAlwaysOn,
    DropoutProbabilityOutOfRange,
    OptionalBiasUnguarded,
    ApplyCalledWithCallResult,
    InitInForward,
    UninitializedParameter,
    InitBeforeLayers,
    ConstantHiddenWeight,
    InitAfterWeightNorm,
    InitIgnoresModuleArgument,
    InitResultDiscarded,
    InitMissesLayers,
    ToEmptyPartialReset,
    InitFunctionNeverUsed,
    InitConditionNeverTrue,
    InitFunctionNotImportable,
    InitFunctionNeverApplied,
    ClassnameDispatchMismatch,
    BiasTruthTest,
    InitActivationMismatch,
    SeluRequiresLecun,
    VarianceNotPreserved,
    SyntaxErrorRule,
    UnreadableFile,
    UnusedNoqa,
    InternalError,
    *RUNTIME_RULES,
)
ALL_RULES = tuple(sorted(ALL_RULES, key=lambda rule: rule.code))  # listings in code order
BY_CODE: dict[str, type[Rule]] = {rule.code: rule for rule in ALL_RULES}
BY_NAME: dict[str, type[Rule]] = {rule.name: rule for rule in ALL_RULES}
# The engine reports these; they cannot be switched off by selection (only by noqa or ignore).
ENGINE_CODES = frozenset({"IL900", "IL901", "IL999"})


def lookup(code_or_name: str) -> type[Rule] | None:
    return BY_CODE.get(code_or_name.upper()) or BY_NAME.get(code_or_name.lower())
