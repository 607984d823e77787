"""A seeded, deterministic generator of realistic PyTorch weight-initialization code.

``generate(seed)`` composes one module the way research code writes it: ``nn.Module`` classes
built from Linear/Conv/BatchNorm/LayerNorm/Embedding layers (with and without ``bias=False`` /
``affine=False``), ``nn.Sequential`` and ``nn.ModuleList`` stacks, activations and dropout in
``forward``, ``_init_weights``/``weights_init`` functions dispatching on ``isinstance``, on the
class name or on ``type(m)``, ``.apply(fn)``, loops over ``modules()``/``children()``/
``named_parameters()``, every spelling of ``torch.nn.init`` (``nn.init``, ``init``, ``I``,
``from torch.nn.init import ...`` with and without ``as``, the deprecated aliases), the legacy
idioms (``.data.normal_()``, ``torch.Tensor(n)``, ``Variable(...)``, ``torch.tensor(t)``),
``nn.Parameter(torch.empty(...))``, ``weight_norm``, and the text around them that fixes must
keep intact: shebang, coding line, docstring and ``from __future__`` at the top, comments
between arguments, backslash continuations, f-strings, latin-1 or non-ASCII text, tabs, CRLF.

Every program compiles (``tests/test_fuzz_idioms.py`` checks it); many carry real init bugs so
that the rules fire and their fixes run. Plain ``random.Random(seed)``: the same seed gives the
same bytes on every machine and Python version (only ``random()``, ``choice`` and ``randint``
are used, whose outputs CPython keeps stable).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Program", "generate", "generate_body"]

# Canonical init functions and the deprecated aliases torch still accepts.
DEPRECATED = {
    "normal_": "normal",
    "uniform_": "uniform",
    "constant_": "constant",
    "eye_": "eye",
    "dirac_": "dirac",
    "xavier_uniform_": "xavier_uniform",
    "xavier_normal_": "xavier_normal",
    "kaiming_uniform_": "kaiming_uniform",
    "kaiming_normal_": "kaiming_normal",
    "orthogonal_": "orthogonal",
    "sparse_": "sparse",
}
INIT_STYLES = ("nn.init", "torch.nn.init", "init", "I", "from")
LATIN1_TEXT = ("initialisé", "poids", "déjà vu", "Größe", "µ=0", "±0.02", "l'écart-type", "año", "°C", "«note»")
UTF8_TEXT = ("σ=0.02", "√2 gain", "x → relu", "✓ checked", "权重初始化", "ε", "Kaiming (何恺明)", "🔥 hot path")  # noqa: RUF001
ASCII_TEXT = ("weight init", "TODO: tune", "see the paper", "GPT-2 style", "fan_in", "from DCGAN", "xavier?")
NONLINEARITIES = ("relu", "relu", "leaky_relu", "linear", "tanh", "selu", "sigmoid")
BAD_NONLINEARITIES = ("gelu", "silu", "swish", "Relu")
ACTIVATIONS_F = ("relu", "relu", "gelu", "tanh", "sigmoid", "selu", "silu", "leaky_relu", "elu")


@dataclass(frozen=True)
class Program:
    seed: int
    text: str
    encoding: str  # how ``data`` encodes ``text`` ("utf-8" or "latin-1", declared by a coding line)
    features: tuple[str, ...]  # the idioms drawn, to group failures by what they contain

    @property
    def data(self) -> bytes:
        return self.text.encode(self.encoding)


@dataclass
class _Layer:
    name: str  # attribute on self
    kind: str  # linear, conv, bn, ln, embedding, seq, modlist, param, wn, act, drop
    has_bias: bool = True
    ctor: str = ""


class _Gen:
    def __init__(self, seed: int, *, header: bool = True) -> None:
        r = self.r = random.Random(seed)
        self.seed = seed
        self.header = header
        self.features: set[str] = set()
        self.encoding = "latin-1" if header and r.random() < 0.12 else "utf-8"
        if self.encoding == "utf-8" and header and r.random() < 0.03:
            self.encoding = "utf-8-sig"  # a byte order mark before the first line
        self.indent = "\t" if r.random() < 0.06 else r.choice(["    ", "    ", "    ", "  "])
        self.newline = "\r\n" if header and r.random() < 0.08 else "\n"
        if header and r.random() < 0.02:
            self.newline = "\r"  # classic Mac line endings: Python still reads them
        self.mixed_endings = header and r.random() < 0.03
        self.nn = "nn" if r.random() < 0.9 else "torch.nn"
        self.nn_import = r.choice(["import torch.nn as nn", "import torch.nn as nn", "from torch import nn"])
        # Without `import torch` (nn imported another way), a fix that needs torch must import it.
        self.import_torch = not (self.nn == "nn" and r.random() < 0.08)
        self.init_style = r.choice(("nn.init", "nn.init", "nn.init", "torch.nn.init", "init", "I", "from", "from"))
        self.init_module_import = r.choice(["from torch.nn import init", "import torch.nn.init as init"])
        self.used_styles: set[str] = set()
        self.from_names: dict[str, str] = {}
        self.needs: set[str] = set()
        self.deprecated_rate = r.choice([0.0, 0.0, 0.1, 0.4])
        self.comment_rate = r.choice([0.0, 0.05, 0.2])
        self.bad_rate = r.choice([0.0, 0.0, 0.05, 0.2])
        self.legacy_rate = r.choice([0.0, 0.2, 0.5])
        self.edge_rate = r.choice([0.0, 0.0, 0.0, 0.05])
        self.guard_rate = r.choice([0.3, 0.7, 1.0])
        self.class_names: list[str] = []
        self.lines: list[str] = []

    # -- small helpers -------------------------------------------------------------------------
    def chance(self, p: float) -> bool:
        return self.r.random() < p

    def pick(self, items: Sequence[str]) -> str:
        return self.r.choice(list(items))

    def text_word(self) -> str:
        pools = [ASCII_TEXT, LATIN1_TEXT] if self.encoding == "latin-1" else [ASCII_TEXT, LATIN1_TEXT, UTF8_TEXT]
        return self.pick(self.r.choice(pools))

    def plain_word(self) -> str:
        """A text word without quotes or backslashes, for inside a string literal."""
        return self.text_word().replace("'", "").replace('"', "")

    def comment(self) -> str:
        self.features.add("comment")
        return "# " + self.text_word()

    def emit(self, depth: int, *lines: str) -> None:
        """The first line at ``depth``, continuation lines one level deeper."""
        for index, line in enumerate(lines):
            level = depth if index == 0 else depth + 1
            self.lines.append(self.indent * level + line if line else "")

    def maybe_comment_line(self, depth: int, p: float = 0.1) -> None:
        if self.chance(p):
            self.emit(depth, self.comment())

    # -- how things are spelled -----------------------------------------------------------------
    def init_fn(self, canonical: str) -> str:
        """The spelling of a call to ``torch.nn.init.<canonical>`` (maybe a deprecated alias)."""
        name = canonical
        if canonical in DEPRECATED and self.chance(self.deprecated_rate):
            name = DEPRECATED[canonical]
            self.features.add("deprecated-alias")
        style = self.init_style if self.chance(0.9) else self.pick(INIT_STYLES)
        self.used_styles.add(style)
        self.features.add(f"style:{style}")
        if style == "nn.init":
            return f"{self.nn}.init.{name}"
        if style == "torch.nn.init":
            return f"torch.nn.init.{name}"
        if style == "init":
            return f"init.{name}"
        if style == "I":
            return f"I.{name}"
        local = self.from_names.get(name)
        if local is None:
            local = name
            if self.chance(0.15):
                local = "_" + name.strip("_").replace("_", "") + "_init"
                self.features.add("from-import-as")
            self.from_names[name] = local
        return local

    def gain_helper(self) -> str:
        style = self.pick(["nn.init", "nn.init", "init", "I", "torch.nn.init"])
        if style == "init" and "init" not in self.used_styles:
            style = "nn.init"
        if style == "I" and "I" not in self.used_styles:
            style = "nn.init"
        self.used_styles.add(style)
        prefix = {"nn.init": f"{self.nn}.init", "torch.nn.init": "torch.nn.init", "init": "init", "I": "I"}[style]
        return f"{prefix}.calculate_gain"

    def F(self, name: str) -> str:
        self.needs.add("F")
        return f"F.{name}"

    def layer_cls(self, name: str) -> str:
        return f"{self.nn}.{name}"

    # -- argument values ------------------------------------------------------------------------
    def number(self, usual: Sequence[str], bad: Sequence[str] = (), *, edge: bool = True) -> str:
        """One of ``usual``; sometimes one of ``bad`` (invalid for torch) or, when ``edge``, an
        extreme literal (inf, nan, huge powers) that constant folding must survive."""
        if bad and self.chance(self.bad_rate):
            self.features.add("bad-argument")
            return self.pick(bad)
        if edge and self.chance(self.edge_rate):
            self.features.add("edge-number")
            return self.pick(
                [
                    "1e400",
                    "-1e400",
                    "float('inf')",
                    "float('nan')",
                    "2 ** 2 ** 10",
                    "((2 ** 64) ** 64) ** 64",
                    "1" + "0" * 400,
                    "10 ** -10 ** 3",
                    "(2 ** 0.5) ** 2 ** 8",
                    "1e308 * 10",
                    "0x7fffffffffffffff",
                    "1_000_000.0",
                    "-0.0",
                    "5e-324",
                ]
            )
        return self.pick(usual)

    def gain(self) -> str:
        helper = self.gain_helper()
        choices = [
            "1.0",
            f"{helper}('relu')",
            f"{helper}('tanh')",
            f"{helper}('leaky_relu', 0.2)",
            f"{helper}(nonlinearity='relu')",
            "math.sqrt(2)",
            "2 ** 0.5",
            "5 / 3",
        ]
        value = self.number(choices, [f"{helper}('gelu')", f"{helper}('silu')", "-1"])
        if "math." in value:
            self.needs.add("math")
        return value

    def std(self) -> str:
        value = self.number(
            [
                "0.02",
                ".02",
                "0.01",
                "1e-3",
                "0.001",
                "1.0",
                "1 / math.sqrt(64)",
                "self_std",
                "0.02 / math.sqrt(2 * 12)",
            ],
            ["0", "0.0", "-0.02", "-1"],
        )
        if "math." in value:
            self.needs.add("math")
        if value == "self_std":
            value = "0.02"
        return value

    # -- one init call --------------------------------------------------------------------------
    def call(self, func: str, args: list[str]) -> list[str]:
        """``func(args)`` as lines: one line, or one argument per line with comments between."""
        if args and self.chance(self.comment_rate):
            self.features.add("comment-between-args")
            lines = [f"{func}("]
            for arg in args:
                if self.chance(0.4):
                    lines.append(self.comment())
                lines.append(f"{arg},  {self.comment()}" if self.chance(0.5) else f"{arg},")
            lines.append(")")
            return lines
        if len(args) >= 2 and self.chance(0.04):
            self.features.add("backslash")
            return [f"{func}({args[0]}, \\", ", ".join(args[1:]) + ")"]
        return [f"{func}({', '.join(args)})"]

    def weight_init(self, target: str, kind: str = "linear") -> list[str]:
        """An init of a weight tensor (2-D or conv) of the given layer kind."""
        r = self.r
        if self.chance(self.legacy_rate * 0.5):
            return self.data_init(target, weight=True)
        choice = r.randint(0, 11)
        if kind == "embedding":
            choice = r.choice([0, 0, 4, 9])
        if choice in (0, 1):
            fn, args = "normal_", [target]
            if self.chance(0.6):
                args.append(f"mean={self.number(['0.0', '0', '0.'])}")
                args.append(f"std={self.std()}")
            elif self.chance(0.5):
                args += ["0", self.std()]
        elif choice in (2, 3):
            fn = self.pick(["xavier_uniform_", "xavier_normal_"])
            args = [target]
            if self.chance(0.5):
                args.append(f"gain={self.gain()}")
        elif choice in (4, 5, 6):
            fn = self.pick(["kaiming_normal_", "kaiming_uniform_"])
            args = [target]
            if self.chance(0.4):
                args.append(f"a={self.number(['0', 'math.sqrt(5)', '0.2', '0.01'])}")
                if "math." in args[-1]:
                    self.needs.add("math")
            if self.chance(0.6):
                args.append(f"mode='{self.number(['fan_in', 'fan_out'], ['fan_avg', 'fan'], edge=False)}'")
            if self.chance(0.7):
                args.append(f"nonlinearity='{self.number(NONLINEARITIES, BAD_NONLINEARITIES, edge=False)}'")
        elif choice == 7:
            fn, args = "orthogonal_", [target]
            if self.chance(0.5):
                args.append(f"gain={self.gain()}")
        elif choice == 8:
            fn = "uniform_"
            bound = self.number(["0.1", "0.05", "1 / math.sqrt(64)", "bound"], ["-0.1"])
            if "math." in bound:
                self.needs.add("math")
            if bound == "bound":
                bound = "0.08"
            if self.chance(self.bad_rate):
                self.features.add("bad-argument")
                args = [target, bound, f"-{bound}"]
            elif self.chance(0.5):
                args = [target, f"a=-{bound}", f"b={bound}"]
            else:
                args = [target, f"-{bound}", bound]
        elif choice == 9:
            fn = "trunc_normal_"
            std = self.std()
            args = [target, f"std={std}"]
            if self.chance(0.5):
                args += [f"a=-2 * {std}", f"b=2 * {std}"] if self.chance(0.5) else ["a=-2.0", "b=2.0"]
            if self.chance(0.2):
                args.insert(1, "mean=0.0")
        elif choice == 10:
            fn, args = self.pick(["constant_", "ones_", "zeros_", "eye_", "dirac_"]), [target]
            if fn == "constant_":
                args.append(self.number(["0.5", "1.0", "0.01", "val=0.1"]))
            if (kind == "conv" and fn == "eye_") or (kind != "conv" and fn == "dirac_"):
                self.features.add("rank-mismatch")
        else:
            fn, args = "sparse_", [target, f"sparsity={self.number(['0.1', '0.9'], ['1.5'])}"]
            if self.chance(0.5):
                args.append(f"std={self.std()}")
        self.features.add(f"init:{fn}")
        return self.call(self.init_fn(fn), args)

    def bias_init(self, target: str) -> list[str]:
        if self.chance(self.legacy_rate * 0.5):
            return self.data_init(target, weight=False)
        fn = self.pick(["zeros_", "zeros_", "constant_", "normal_", "uniform_"])
        args = [target]
        if fn == "constant_":
            args.append(self.number(["0", "0.0", "0.1", "val=0.0"]))
        elif fn == "normal_":
            args.append(f"std={self.std()}")
        elif fn == "uniform_":
            args += ["-0.1", "0.1"]
        return self.call(self.init_fn(fn), args)

    def norm_init(self, weight: str, bias: str | None) -> list[list[str]]:
        """Inits of a norm layer's scale (normally 1) and shift."""
        choice = self.r.randint(0, 5)
        if choice == 0:
            first = self.call(self.init_fn("ones_"), [weight])
        elif choice == 1:
            first = self.call(self.init_fn("constant_"), [weight, self.number(["1", "1.0"])])
        elif choice == 2:
            self.features.add("norm-weight-zero-mean")
            first = self.call(self.init_fn("normal_"), [weight, "0.0", self.std()])
        elif choice == 3:
            first = self.call(self.init_fn("normal_"), [weight, "1.0", self.std()])
        elif choice == 4:
            first = [f"{weight}.data.fill_(1)"]
            self.features.add("data-init")
        else:
            first = self.call(self.init_fn("uniform_"), [weight])
        out = [first]
        if bias is not None:
            out.append(self.call(self.init_fn("zeros_"), [bias]) if self.chance(0.7) else [f"{bias}.data.zero_()"])
        return out

    def data_init(self, target: str, weight: bool) -> list[str]:
        """The legacy in-place forms: ``w.data.normal_(0, 0.02)`` and friends."""
        self.features.add("data-init")
        r = self.r.randint(0, 6)
        base = target if target.endswith(".data") else f"{target}.data"
        if self.chance(0.15):
            base = target  # in place on the parameter itself (under no_grad in real code)
        if r in (0, 1) and weight:
            mean = self.number(["0", "0.0", "mean=0.0"])
            return self.call(f"{base}.normal_", [mean, f"std={self.std()}" if "=" in mean else self.std()])
        if r == 2 and weight:
            return self.call(f"{base}.uniform_", ["-0.1", "0.1"])
        if r == 3:
            return self.call(f"{base}.fill_", [self.number(["0", "1", "0.01", "value=0"])])
        if r == 4 and weight:
            return [f"{base}.normal_(std={self.std()})"]
        if r == 5:
            return [f"{base}.zero_()"]
        return [f"{base}.fill_(0)" if not weight else f"{base}.normal_(0, 0.02)"]

    def maybe_f_string_log(self, depth: int, subject: str) -> None:
        """A log line with an f-string, sometimes with nested quotes or an init call inside."""
        if not self.chance(0.12):
            return
        self.features.add("f-string")
        q, other = ('"', "'") if self.chance(0.5) else ("'", '"')
        body = self.pick(
            [
                f"init {{{subject}!r}}",
                f"{{type({subject}).__name__}}: {self.text_word().replace(q, '')}",
                f"gain={{{self.gain_helper()}({other}relu{other}):.3f}}",
                f"{{{other}{self.text_word().replace(other, '')}{other}}} {{len({other}{other})}}",
                f"{{{subject}=}}",
            ]
        )
        body = body.replace(q, "")  # a quote of the same kind inside would end the string early
        self.emit(depth, f"print(f{q}{body}{q})")

    # -- layers ---------------------------------------------------------------------------------
    def plan_layers(self) -> list[_Layer]:
        r = self.r
        layers: list[_Layer] = []
        style = r.choice(["mlp", "mlp", "conv", "transformer", "mixed"])
        self.features.add(f"model:{style}")
        d = r.choice(["64", "128", "hidden", "d_model", "256"])
        if d in ("hidden", "d_model"):
            d = "dim"
        count = r.randint(1, 5)
        for index in range(count):
            no_bias = self.chance(0.25)
            bias_kw = ", bias=False" if no_bias else self.pick(["", "", ", bias=True", ", bias=bias"])
            if style in ("mlp", "transformer") or (style == "mixed" and self.chance(0.5)):
                kind = self.pick(["linear", "linear", "linear", "ln", "embedding", "seq", "modlist", "drop"])
            else:
                kind = self.pick(["conv", "conv", "bn", "seq", "linear", "act"])
            name = {
                "linear": f"fc{index + 1}",
                "conv": f"conv{index + 1}",
                "bn": f"bn{index + 1}",
                "ln": f"norm{index + 1}",
                "embedding": "embed",
                "seq": self.pick(["body", "net", "features", "mlp"]),
                "modlist": self.pick(["blocks", "layers", "hidden"]),
                "drop": "drop",
                "act": "act",
            }[kind]
            if any(layer.name == name for layer in layers):
                name = f"{name}_{index}"
            if kind == "linear":
                ctor = f"{self.layer_cls('Linear')}({d}, {d}{bias_kw})"
                if self.chance(0.12):
                    self.needs.add("weight_norm")
                    self.features.add("weight_norm")
                    ctor = f"{self.wn()}({ctor})"
                    kind = "wn"
            elif kind == "conv":
                conv = self.pick(["Conv2d", "Conv2d", "Conv1d", "ConvTranspose2d", "Conv3d"])
                ctor = f"{self.layer_cls(conv)}({d}, {d}, {self.pick(['3', '1', 'kernel_size=3'])}"
                ctor += f"{self.pick(['', ', padding=1', ', stride=2, padding=1'])}{bias_kw})"
            elif kind == "bn":
                affine = self.chance(0.2)
                ctor = f"{self.layer_cls(self.pick(['BatchNorm2d', 'BatchNorm1d', 'GroupNorm']))}"
                ctor += f"({d}{', affine=False' if affine else ''})"
                if "GroupNorm" in ctor:
                    ctor = ctor.replace(f"({d}", f"(8, {d}")
                no_bias = affine
            elif kind == "ln":
                affine = self.chance(0.2)
                ctor = f"{self.layer_cls('LayerNorm')}({d}{', elementwise_affine=False' if affine else ''})"
                no_bias = affine
            elif kind == "embedding":
                ctor = f"{self.layer_cls('Embedding')}(1000, {d}{self.pick(['', ', padding_idx=0'])})"
                no_bias = True
            elif kind == "seq":
                ctor = self.sequential(d, bias_kw)
            elif kind == "modlist":
                ctor = (
                    f"{self.layer_cls('ModuleList')}([{self.layer_cls('Linear')}({d}, {d}{bias_kw}) "
                    f"for _ in range({self.pick(['4', 'depth', '12'])})])"
                )
                ctor = ctor.replace("range(depth)", "range(4)")
            elif kind == "drop":
                ctor = f"{self.layer_cls('Dropout')}({self.number(['0.1', 'p=0.5', '0.0'], ['1.5', '-0.1', '1'])})"
                no_bias = True
            else:
                act = self.pick(["ReLU", "ReLU", "GELU", "Tanh", "SELU", "LeakyReLU"])
                ctor = f"{self.layer_cls(act)}({self.pick(['', 'inplace=True']) if act == 'ReLU' else ''})"
                no_bias = True
            layers.append(_Layer(name, kind, not no_bias, ctor))
        if self.chance(0.25):
            layers.append(_Layer("head", "linear", self.chance(0.5), ""))
            layers[-1].ctor = f"{self.layer_cls('Linear')}({d}, 10{'' if layers[-1].has_bias else ', bias=False'})"
        return layers

    def wn(self) -> str:
        return self.pick(["weight_norm", f"{self.nn}.utils.weight_norm", "torch.nn.utils.weight_norm"])

    def sequential(self, d: str, bias_kw: str) -> str:
        parts: list[str] = []
        for _ in range(self.r.randint(1, 4)):
            layer = self.pick(["Linear", "Linear", "Conv2d"])
            if layer == "Linear":
                parts.append(f"{self.layer_cls('Linear')}({d}, {d}{bias_kw})")
            else:
                parts.append(f"{self.layer_cls('Conv2d')}({d}, {d}, 3, padding=1{bias_kw})")
            if self.chance(0.3):
                parts.append(f"{self.layer_cls(self.pick(['BatchNorm2d', 'LayerNorm', 'BatchNorm1d']))}({d})")
            act = self.pick(["ReLU", "ReLU", "Tanh", "GELU", "SELU", "Sigmoid", "LeakyReLU", ""])
            if act:
                parts.append(f"{self.layer_cls(act)}()")
        if self.chance(0.3):
            self.features.add("multiline-sequential")
            items = [part + (f",  {self.comment()}" if self.chance(self.comment_rate + 0.1) else ",") for part in parts]
            return f"{self.layer_cls('Sequential')}(\n" + "\n".join(items) + "\n)"
        return f"{self.layer_cls('Sequential')}({', '.join(parts)})"

    # -- a module class --------------------------------------------------------------------------
    def module_class(self, name: str) -> None:
        r = self.r
        layers = self.plan_layers()
        base = f"{self.nn}.Module"
        self.emit(0, f"class {name}({base}):")
        if self.chance(0.4):
            self.emit(1, f'"""{self.text_word()}."""')
        params = ["self"]
        if any("dim" in layer.ctor for layer in layers):
            params.append(f"dim={self.pick(['64', '128'])}")
        if any("bias=bias" in layer.ctor for layer in layers):
            params.append(f"bias={self.pick(['True', 'False'])}")
        if self.chance(0.3):
            params.append(f"init_mode={self.pick(['xavier', 'normal'])!r}")
        self.emit(1, f"def __init__({', '.join(params)}):")
        self.emit(2, self.pick(["super().__init__()", f"super({name}, self).__init__()"]))
        placement = r.choice(["end", "end", "end", "early", "none", "inline", "loop", "params", "children", "none"])
        apply_fn = self.pick(["self._init_weights", "weights_init", "self.init_weights", "_init_module"])
        if apply_fn == "weights_init":
            self.needs.add("weights_init")
        if apply_fn == "_init_module":
            self.needs.add("_init_module")
        early_index = r.randint(0, max(0, len(layers) - 1))
        extra_params: list[tuple[str, str]] = []
        for index, layer in enumerate(layers):
            if placement == "early" and index == early_index:
                self.features.add("init-before-layers")
                self.apply_line(2, apply_fn)
            self.maybe_comment_line(2)
            self.emit(2, *self.ctor_lines(f"self.{layer.name} = ", layer.ctor))
            if layer.kind == "wn" and self.chance(0.5):
                self.features.add("init-after-weight-norm")
                self.emit(2, *self.weight_init(f"self.{layer.name}.weight"))
        if self.chance(0.45):
            extra_params.append(self.parameter_line(2))
        if self.chance(0.2):
            self.emit(2, f"self.p_drop = {self.number(['0.1', '0.2'], ['1.2'])}")
        if placement == "end":
            self.apply_line(2, apply_fn)
        if placement == "inline":
            for layer in layers:
                self.inline_layer_init(2, f"self.{layer.name}", layer)
        elif placement == "loop":
            self.modules_loop(2, "self.modules()", "m")
        elif placement == "params":
            self.named_parameters_loop(2)
        elif placement == "children":
            self.modules_loop(2, "self.children()", "child")
        for attr, state in extra_params:
            if state == "filled":
                self.emit(2, *self.weight_init(f"self.{attr}"))
        # Methods.
        if apply_fn in ("self._init_weights", "self.init_weights") and placement in ("end", "early"):
            self.emit(0, "")
            self.init_method(apply_fn.split(".", 1)[1], layers)
        if self.chance(0.25):
            self.emit(0, "")
            self.reset_parameters_method(layers, extra_params)
        self.emit(0, "")
        self.forward(layers, extra_params)
        self.emit(0, "")
        self.emit(0, "")

    def ctor_lines(self, prefix: str, ctor: str) -> list[str]:
        if "\n" not in ctor:
            return [prefix + ctor]
        first, *rest = ctor.split("\n")
        return [prefix + first, *rest]

    def apply_line(self, depth: int, fn: str) -> None:
        if fn == "self.init_weights":  # a method that loops over self.modules() itself
            self.emit(depth, "self.init_weights()")
            return
        form = self.r.randint(0, 9)
        if form == 1:
            self.features.add("apply-call-result")
            self.emit(depth, f"self.apply({fn}())")
        elif form == 2:
            self.features.add("apply-lambda")
            self.emit(depth, f"self.apply(lambda m: {fn}(m))")
        elif form == 3:
            self.features.add("apply-lambda-conditional")
            init = self.bias_init("m.bias") if self.chance(0.5) else self.weight_init("m.weight")
            if len(init) == 1:
                test = self.pick([f"isinstance(m, {self.nn}.Linear)", "hasattr(m, 'bias')", "m.bias is not None"])
                self.emit(depth, f"self.apply(lambda m: {init[0]} if {test} else None)")
            else:
                self.emit(depth, f"self.apply({fn})")
        else:
            self.emit(depth, f"self.apply({fn})")

    def parameter_line(self, depth: int) -> tuple[str, str]:
        """``self.<name> = nn.Parameter(...)``: filled later, filled by a constant, or never."""
        attr = self.pick(["scale", "pos_embed", "cls_token", "gamma", "class_bias", "query"])
        shape = self.pick(["1, 1, dim", "64", "dim", "10, 64"]).replace("dim", "64")
        state = self.pick(["filled", "filled", "empty", "const"])
        if state == "const":
            source = self.pick([f"torch.zeros({shape})", f"torch.ones({shape})", f"torch.randn({shape}) * 0.02"])
        else:
            source = self.pick(
                [f"torch.empty({shape})", f"torch.Tensor({shape})", f"torch.FloatTensor({shape})"]
                if self.chance(self.legacy_rate + 0.3)
                else [f"torch.empty({shape})"]
            )
            if state == "empty":
                self.features.add("never-filled-parameter")
        ctor = f"{self.nn}.Parameter({source})"
        if self.chance(self.comment_rate):
            ctor = f"{self.nn}.Parameter(  {self.comment()}\n{source}\n)"
        self.emit(depth, *self.ctor_lines(f"self.{attr} = ", ctor))
        return attr, state

    def inline_layer_init(self, depth: int, ref: str, layer: _Layer) -> None:
        if layer.kind in ("linear", "conv", "wn", "embedding"):
            self.emit(depth, *self.weight_init(f"{ref}.weight", layer.kind))
            if layer.kind != "embedding" and self.chance(0.7):
                self.bias_with_guard(depth, f"{ref}.bias", layer.has_bias)
        elif layer.kind in ("bn", "ln") and layer.has_bias:
            for lines in self.norm_init(f"{ref}.weight", f"{ref}.bias"):
                self.emit(depth, *lines)
        elif layer.kind == "modlist":
            var = self.pick(["layer", "blk", "lin"])
            self.emit(depth, f"for {var} in {ref}:")
            self.emit(depth + 1, *self.weight_init(f"{var}.weight"))
            self.bias_with_guard(depth + 1, f"{var}.bias", layer.has_bias)
        elif layer.kind == "seq":
            self.modules_loop(depth, f"{ref}.modules()" if self.chance(0.5) else ref, "m")

    def bias_with_guard(self, depth: int, target: str, known_bias: bool) -> None:
        guarded = self.chance(self.guard_rate)
        if not guarded:
            if not known_bias:
                self.features.add("unguarded-bias")
            lines = self.bias_init(target)
            if len(lines) == 1 and self.chance(0.15):
                self.features.add("semicolon")
                owner = target.rsplit(".", 1)[0]
                other = self.pick([f"{owner}.weight.data.normal_(0, 0.02)", "pass", f"print({owner})"])
                lines = [f"{lines[0]}; {other}" if self.chance(0.5) else f"{other}; {lines[0]}"]
            self.emit(depth, *lines)
            return
        owner = target.rsplit(".", 1)[0]
        form = self.r.randint(0, 3)
        if form == 0:
            self.emit(depth, f"if {target} is not None:")
            self.emit(depth + 1, *self.bias_init(target))
        elif form == 1:
            lines = self.bias_init(target)
            if len(lines) == 1:
                self.features.add("one-line-if")
                self.emit(depth, f"if {target} is not None: {lines[0]}")
            else:
                self.emit(depth, f"if {target} is not None:")
                self.emit(depth + 1, *lines)
        elif form == 2:
            self.emit(depth, f"if hasattr({owner}, 'bias') and {target} is not None:")
            self.emit(depth + 1, *self.bias_init(target))
        else:
            self.emit(depth, f"if {target}:" if self.chance(0.3) else f"if {owner}.bias is not None:")
            self.emit(depth + 1, *self.bias_init(target))

    def dispatch_body(self, depth: int, var: str, dispatch: str) -> None:
        """if/elif chains on the layer type: isinstance, type(m) ==, class name, match."""
        nn = self.nn
        branches = [
            ("linear", f"{nn}.Linear", "Linear"),
            ("conv", f"({nn}.Conv2d, {nn}.ConvTranspose2d)" if self.chance(0.5) else f"{nn}.Conv2d", "Conv"),
            ("norm", f"({nn}.BatchNorm2d, {nn}.LayerNorm)" if self.chance(0.5) else f"{nn}.BatchNorm2d", "BatchNorm"),
            ("embedding", f"{nn}.Embedding", "Embedding"),
        ]
        self.r.shuffle(branches)
        branches = branches[: self.r.randint(1, 4)]
        if dispatch == "match":
            self.features.add("match-dispatch")
            self.emit(depth, f"match {var}:")
            for kind, cls, _ in branches:
                pattern = " | ".join(f"{c.strip()}()" for c in cls.strip("()").split(","))
                self.emit(depth + 1, f"case {pattern}:")
                self.branch_inits(depth + 2, var, kind)
            if self.chance(0.5):
                self.emit(depth + 1, "case _:")
                self.emit(depth + 2, "pass")
            return
        for position, (kind, cls, cname) in enumerate(branches):
            keyword = "if" if position == 0 else "elif"
            if dispatch == "isinstance":
                test = f"isinstance({var}, {cls})"
            elif dispatch == "type":
                self.features.add("exact-type-dispatch")
                first = cls.strip("()").split(",")[0].strip()
                test = self.pick([f"type({var}) == {first}", f"type({var}) is {first}", f"{var}.__class__ == {first}"])
            else:
                self.features.add("classname-dispatch")
                test = self.pick(
                    [
                        f"classname.find('{cname}') != -1",
                        f"'{cname}' in classname",
                        f"classname.startswith('{cname}')",
                        f'classname.find("{cname}") != -1',
                    ]
                )
            self.emit(depth, f"{keyword} {test}:")
            self.branch_inits(depth + 1, var, kind)
        if self.chance(0.2):
            self.emit(depth, "else:")
            self.emit(depth + 1, self.pick(["pass", "return", f"print(type({var}))"]))

    def branch_inits(self, depth: int, var: str, kind: str) -> None:
        if self.chance(0.06):
            # Non-ASCII text earlier on the line than a fix: columns count characters.
            self.features.add("non-ascii-before-fix")
            if self.encoding == "latin-1":
                lead = self.pick(["größe = 0.02", "s = 'déjà'"])
            else:
                lead = self.pick(["σ = 0.02", "s = '🔥'", "größe = 0.02", "s = '权重'"])  # noqa: RUF001
            self.emit(depth, f"{lead}; {var}.weight.data.normal_(0, 0.02)")
        if kind in ("linear", "conv"):
            self.emit(depth, *self.weight_init(f"{var}.weight", kind))
            self.bias_with_guard(depth, f"{var}.bias", self.chance(0.5))
        elif kind == "norm":
            bias = f"{var}.bias"
            for lines in self.norm_init(f"{var}.weight", bias):
                self.emit(depth, *lines)
        else:
            self.emit(depth, *self.weight_init(f"{var}.weight", "embedding"))
            if self.chance(0.3):
                self.emit(depth, f"if {var}.padding_idx is not None:")
                self.emit(depth + 1, f"{var}.weight.data[{var}.padding_idx].zero_()")
        self.maybe_f_string_log(depth, var)

    def init_method(self, method: str, layers: list[_Layer]) -> None:
        if method == "init_weights":
            self.emit(1, f"def {method}(self):")
            self.modules_loop(2, self.pick(["self.modules()", "self.children()"]), "m")
            return
        if self.chance(0.2):
            self.features.add("decorator")
            self.emit(1, self.pick(["@torch.no_grad()", "@torch.jit.ignore"]))
        self.emit(1, f"def {method}(self, m):")
        self.dispatch_body(2, "m", self.pick(["isinstance", "isinstance", "isinstance", "type", "match"]))

    def modules_loop(self, depth: int, iterable: str, var: str) -> None:
        self.features.add("modules-loop")
        if self.chance(0.08):
            self.features.add("one-line-for")
            lines = self.bias_init(f"{var}.bias") if self.chance(0.5) else self.weight_init(f"{var}.weight")
            if len(lines) == 1:
                self.emit(depth, f"for {var} in {iterable}: {lines[0]}")
                return
        self.emit(depth, f"for {var} in {iterable}:")
        self.dispatch_body(depth + 1, var, self.pick(["isinstance", "isinstance", "type"]))

    def named_parameters_loop(self, depth: int) -> None:
        self.features.add("named-parameters-loop")
        form = self.r.randint(0, 2)
        if form == 0:
            self.emit(depth, "for name, p in self.named_parameters():")
            self.emit(depth + 1, "if 'weight' in name and p.dim() > 1:")
            self.emit(depth + 2, *self.weight_init("p"))
            self.emit(depth + 1, "elif 'bias' in name:")
            self.emit(depth + 2, *self.bias_init("p"))
        elif form == 1:
            self.emit(depth, "for p in self.parameters():")
            self.emit(depth + 1, "if p.dim() > 1:")
            self.emit(depth + 2, *self.weight_init("p"))
        else:
            self.emit(depth, "for name, param in self.named_parameters():")
            self.emit(depth + 1, "if name.endswith('.bias'):")
            self.emit(depth + 2, *self.bias_init("param"))
            self.emit(depth + 1, "else:")
            self.emit(depth + 2, *self.weight_init("param"))

    def reset_parameters_method(self, layers: list[_Layer], extra: list[tuple[str, str]]) -> None:
        self.features.add("reset-parameters")
        self.emit(1, "def reset_parameters(self):")
        if self.chance(0.5):
            self.needs.add("math")
            self.emit(2, "stdv = 1. / math.sqrt(64)")
            target = next((f"self.{layer.name}.weight" for layer in layers if layer.kind == "linear"), None)
            if target is not None:
                self.emit(2, f"{target}.data.uniform_(-stdv, stdv)")
                self.features.add("data-init")
        for attr, state in extra:
            if state == "empty":
                continue  # stays unfilled: IL404's case
            self.emit(2, *self.weight_init(f"self.{attr}"))
        for layer in layers[:2]:
            self.inline_layer_init(2, f"self.{layer.name}", layer)
        self.emit(2, "pass")

    # -- forward ---------------------------------------------------------------------------------
    def activation(self, x: str) -> str:
        act = self.pick(ACTIVATIONS_F)
        form = self.r.randint(0, 4)
        if act == "leaky_relu":
            return f"{self.F('leaky_relu')}({x}, {self.pick(['0.2', 'negative_slope=0.01'])})"
        if form == 0 and act in ("relu", "tanh", "sigmoid"):
            return f"{x}.{act}()"
        if form == 1 and act in ("relu", "tanh", "sigmoid"):
            return f"torch.{act}({x})"
        if form == 2 and act == "relu":
            return f"{self.F('relu')}({x}, inplace=True)"
        return f"{self.F(act)}({x})"

    def dropout(self, x: str) -> str:
        self.features.add("functional-dropout")
        p = self.number(["0.1", "p=0.1", "self.p_drop", "0.5"], ["1.5", "p=-0.1", "1.0", "p=1"])
        if p == "self.p_drop":
            p = "0.1"
        training = self.pick([", training=self.training", "", "", ", self.training", ", training=True"])
        if "=" in p and training == ", self.training":
            training = ", training=self.training"
        fn = self.pick(["dropout", "dropout", "dropout2d", "alpha_dropout"])
        return f"{self.F(fn)}({x}, {p}{training})"

    def forward(self, layers: list[_Layer], extra: list[tuple[str, str]]) -> None:
        self.emit(1, f"def forward(self, x{self.pick(['', '', ', mask=None'])}):")
        x = "x"
        if self.chance(0.2):
            self.features.add("nested-forward")
            expr = x
            for layer in layers:
                if layer.kind == "modlist":
                    continue
                expr = f"self.{layer.name}({expr})"
                if self.chance(0.6):
                    expr = self.activation(expr)
            self.emit(2, f"return {expr}")
            return
        for layer in layers:
            if layer.kind == "modlist":
                var = self.pick(["blk", "layer"])
                self.emit(2, f"for {var} in self.{layer.name}:")
                inner = f"{var}({x})"
                if self.chance(0.5):
                    inner = self.activation(inner)
                self.emit(3, f"{x} = {x} + {inner}" if self.chance(0.5) else f"{x} = {inner}")
                continue
            if self.chance(0.15):
                self.emit(2, f"{x} = {x} + self.{layer.name}({x})")
            else:
                self.emit(2, f"{x} = self.{layer.name}({x})")
            if self.chance(0.55):
                self.emit(2, f"{x} = {self.activation(x)}")
            if self.chance(0.2):
                self.emit(2, f"{x} = {self.dropout(x)}")
        for attr, _ in extra:
            if self.chance(0.3):
                self.features.add("init-in-forward")
                self.emit(2, *self.weight_init(f"self.{attr}"))
            if attr in ("scale", "gamma", "class_bias"):
                self.emit(2, f"{x} = {x} * self.{attr}" if attr != "class_bias" else f"{x} = {x} + self.{attr}")
        if self.chance(0.1):
            self.features.add("walrus")
            self.emit(2, f"if (n := {x}.shape[0]) > 1:")
            self.emit(3, f"{x} = {x}[:n]")
        self.emit(2, f"return {x}")

    # -- module-level functions ------------------------------------------------------------------
    def weights_init_function(self, name: str = "weights_init") -> None:
        """DCGAN-style: dispatch on the class name, legacy .data inits."""
        self.emit(0, f"def {name}(m):")
        if self.chance(0.3):
            self.emit(1, f'"""{self.text_word()}"""')
        dispatch = self.pick(["classname", "classname", "isinstance", "type"])
        if dispatch == "classname":
            self.emit(1, self.pick(["classname = m.__class__.__name__", "classname = type(m).__name__"]))
        self.dispatch_body(1, "m", dispatch)
        self.emit(0, "")
        self.emit(0, "")

    def pix2pix_init(self) -> None:
        """``init_weights(net, init_type, gain)`` with a nested init_func and net.apply."""
        self.features.add("pix2pix-init")
        self.emit(0, "def init_weights(net, init_type='normal', init_gain=0.02):")
        self.emit(1, "def init_func(m):")
        self.emit(2, "classname = m.__class__.__name__")
        self.emit(
            2,
            "if hasattr(m, 'weight') and (classname.find('Conv') != -1 or classname.find('Linear') != -1):",
        )
        self.emit(3, "if init_type == 'normal':")
        self.emit(4, *self.call(self.init_fn("normal_"), ["m.weight.data", "0.0", "init_gain"]))
        self.emit(3, "elif init_type == 'xavier':")
        self.emit(4, *self.call(self.init_fn("xavier_normal_"), ["m.weight.data", "gain=init_gain"]))
        self.emit(3, "elif init_type == 'kaiming':")
        self.emit(4, *self.call(self.init_fn("kaiming_normal_"), ["m.weight.data", "a=0", "mode='fan_in'"]))
        self.emit(3, "elif init_type == 'orthogonal':")
        self.emit(4, *self.call(self.init_fn("orthogonal_"), ["m.weight.data", "gain=init_gain"]))
        self.emit(3, "else:")
        q = self.pick(["'", '"'])
        self.emit(4, f"raise NotImplementedError(f{q}initialization method [{{init_type}}] is not implemented{q})")
        self.emit(3, "if hasattr(m, 'bias') and m.bias is not None:")
        self.emit(4, *self.call(self.init_fn("constant_"), ["m.bias.data", "0.0"]))
        self.emit(2, "elif classname.find('BatchNorm2d') != -1:")
        self.emit(3, *self.call(self.init_fn("normal_"), ["m.weight.data", "1.0", "init_gain"]))
        self.emit(3, *self.call(self.init_fn("constant_"), ["m.bias.data", "0.0"]))
        self.emit(1, "print(f'initialize network with {init_type}')")
        self.emit(1, "net.apply(init_func)")
        self.emit(0, "")
        self.emit(0, "")

    def custom_layer(self) -> None:
        """A layer with its own parameters and reset_parameters (nn.Linear's own pattern)."""
        self.features.add("custom-layer")
        self.needs.add("math")
        name = self.pick(["MyLinear", "NoisyLinear", "ScaledLinear"])
        if name in self.class_names:
            name += str(len(self.class_names))
        self.class_names.append(name)
        ctor = self.pick(["torch.empty", "torch.empty", "torch.Tensor", "torch.FloatTensor"])
        self.emit(0, f"class {name}({self.nn}.Module):")
        self.emit(1, "def __init__(self, in_features, out_features, bias=True):")
        self.emit(2, "super().__init__()")
        self.emit(2, f"self.weight = {self.nn}.Parameter({ctor}(out_features, in_features))")
        self.emit(2, "if bias:")
        self.emit(3, f"self.bias = {self.nn}.Parameter({ctor}(out_features))")
        self.emit(2, "else:")
        self.emit(3, "self.register_parameter('bias', None)")
        if self.chance(0.8):
            self.emit(2, "self.reset_parameters()")
        else:
            self.features.add("reset-never-called")
        self.emit(0, "")
        self.emit(1, "def reset_parameters(self):")
        if self.chance(0.5):
            kaiming = self.init_fn("kaiming_uniform_")
            self.emit(2, *self.call(kaiming, ["self.weight", "a=math.sqrt(5)"]))
            self.emit(2, "if self.bias is not None:" if self.chance(self.guard_rate) else "if True:")
            self.emit(3, f"fan_in, _ = {self.nn}.init._calculate_fan_in_and_fan_out(self.weight)")
            self.emit(3, "bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0")
            self.emit(3, *self.call(self.init_fn("uniform_"), ["self.bias", "-bound", "bound"]))
        else:
            self.features.add("data-init")
            self.emit(2, "stdv = 1. / math.sqrt(self.weight.size(1))")
            self.emit(2, "self.weight.data.uniform_(-stdv, stdv)")
            self.emit(2, "if self.bias is not None:")
            self.emit(3, "self.bias.data.uniform_(-stdv, stdv)")
        self.emit(0, "")
        self.emit(1, "def forward(self, x):")
        self.emit(2, f"return {self.F('linear')}(x, self.weight, self.bias)")
        self.emit(0, "")
        self.emit(0, "")

    def legacy_function(self) -> None:
        """Variable, torch.Tensor(n), torch.tensor(t) and .data, as pre-0.4 code wrote them."""
        self.features.add("legacy-function")
        self.needs.add("Variable")
        self.emit(0, f"def {self.pick(['make_inputs', 'prepare', 'to_var'])}(x, n=4):")
        var = self.variable()
        body = [
            f"v = {var}(torch.randn(n, 3), requires_grad=True)",
            f"h = {var}(x)",
            f"h = {var}(x.data, volatile=True)",
            "buf = torch.Tensor(n, n)",
            "buf = torch.FloatTensor(n).zero_()",
            "idx = torch.LongTensor([0, 1])",
            "t = torch.tensor(x)",
            "t = torch.tensor(x, dtype=torch.float32)",
            "t = torch.tensor([1.0, 2.0])",
            "w = torch.Tensor(3, 3).normal_(0, 0.02)",
            "w = torch.tensor(x.data)",
            "g = torch.cuda.FloatTensor(n)",
            'print(f"{torch.cuda.FloatTensor(2)} {torch.FloatTensor(3)}")',
            "print(f'{torch.tensor(x)!r}')",
        ]
        chosen = [line for line in body if self.chance(0.45)] or [body[0]]
        for line in chosen:
            if self.chance(self.comment_rate) and "(" in line:
                self.features.add("comment-in-legacy-call")
                head, tail = line.split("(", 1)
                self.emit(1, f"{head}(  {self.comment()}", tail)
            else:
                self.emit(1, line)
        if self.chance(0.15):
            self.features.add("f-string-legacy")
            self.emit(1, f'print(f"{{torch.tensor(x)}} {{{var}(x)}}")')
        self.emit(1, "return x")
        self.emit(0, "")
        self.emit(0, "")

    def variable(self) -> str:
        form = self.pick(["Variable", "Variable", "torch.autograd.Variable", "autograd.Variable"])
        if form == "autograd.Variable":
            self.needs.add("autograd")
        return form

    def scoping_stress(self, form: int | None = None) -> None:
        """Binders the fixes must respect: a parameter or a local named like an import, del,
        global, except*, match captures, a comprehension variable, a class attribute."""
        self.features.add("scoping")
        form = self.r.randint(0, 6) if form is None else form
        if form == 6 and self.import_torch:
            form = 3
        if form == 6:
            self.torch_binder()
            return
        if form == 0:
            self.emit(0, "def shadow(nn_mod, torch_like=None):")
            self.emit(1, "normal = lambda t: t")
            self.emit(1, "return normal(nn_mod)")
        elif form == 1:
            self.features.add("except-star")
            self.emit(0, "def guarded(fn):")
            self.emit(1, "try:")
            self.emit(2, "fn()")
            self.emit(1, "except* (ValueError, TypeError) as err:")
            self.emit(2, "print(f'{err!r}')")
        elif form == 2:
            self.features.add("match-capture")
            self.emit(0, "def pick_init(cfg):")
            self.emit(1, "match cfg:")
            self.emit(2, "case {'init': name, 'std': std}:")
            self.emit(3, "return name, std")
            self.emit(2, "case [first, *rest]:")
            self.emit(3, "return first, rest")
            self.emit(2, "case _:")
            self.emit(3, "return None")
        elif form == 3:
            self.features.add("del")
            self.emit(0, "_tmp = [p for p in range(3)]")
            self.emit(0, "del _tmp")
        elif form == 4:
            self.features.add("global")
            self.emit(0, "_STD = 0.02")
            self.emit(0, "def set_std(v):")
            self.emit(1, "global _STD")
            self.emit(1, "_STD = v")
        else:
            self.features.add("local-import")
            self.emit(0, "def lazy_init(w):")
            self.emit(1, "import torch.nn.init as _ini")
            self.emit(1, *self.call("_ini.normal_", ["w", "0.0", "0.02"]))
        self.emit(0, "")
        self.emit(0, "")

    def odd_structure(self, name: str) -> None:
        """Valid code that no model runs but the analysis must survive: cyclic and self
        inheritance, self-assignment, swapped attributes, layers added by setattr/add_module, an
        OrderedDict Sequential, recursive init functions, apply(partial(...)), forward calling
        itself, a container indexed into and assigned into."""
        self.features.add("odd-structure")
        nn = self.nn
        base = self.pick([name, f"{name}Base", f"{nn}.Module"])
        if base == f"{name}Base":
            self.emit(0, f"class {name}Base({name}):")
            self.emit(1, "pass")
            self.emit(0, "")
            self.emit(0, "")
        self.emit(0, f"class {name}({base}):")
        self.emit(1, f"shared = {nn}.Linear(8, 8)")
        self.emit(1, "def __init__(self, *args, **kwargs):")
        self.emit(2, "super().__init__(*args, **kwargs)")
        self.emit(2, "self.shared = self.shared")
        self.emit(2, "self.a, self.b = self.b, self.a")
        self.emit(2, f"setattr(self, 'fc_{{}}'.format(1), {nn}.Linear(8, 8, bias=False))")
        self.emit(2, f"self.add_module('fc2', {nn}.Linear(8, 8))")
        self.needs.add("OrderedDict")
        self.emit(2, f"self.seq = {nn}.Sequential(OrderedDict([('l1', {nn}.Linear(8, 8)), ('act', {nn}.ReLU())]))")
        self.emit(2, "self.seq[0] = self.seq")
        self.emit(2, f"self.md = {nn}.ModuleDict({{'x': {nn}.Linear(8, 8, bias=False)}})")
        self.needs.add("partial")
        self.emit(2, "self.apply(partial(self._recurse, depth=2))")
        self.emit(2, "for i, layer in enumerate(self.md.values()):")
        self.emit(3, *self.bias_init("layer.bias"))
        self.emit(2, *self.weight_init("self.seq[0][0].weight"))
        self.emit(2, *self.weight_init("getattr(self, 'fc2').weight"))
        self.emit(0, "")
        self.emit(1, "def _recurse(self, m, depth=0):")
        self.emit(2, "if depth:")
        self.emit(3, "self._recurse(m, depth - 1)")
        self.emit(2, "self._recurse2(m)")
        self.emit(2, *self.weight_init("m.weight"))
        self.emit(0, "")
        self.emit(1, "def _recurse2(self, m):")
        self.emit(2, "return self._recurse(m)")
        self.emit(0, "")
        self.emit(1, "def forward(self, x):")
        self.emit(2, "x = self.seq(self.forward(x))")
        self.emit(2, f"return self.shared({self.activation('self.fc2(x)')})")
        self.emit(0, "")
        self.emit(0, "")

    def torch_binder(self) -> None:
        """`torch` bound by something other than an import, in a file that does not import it:
        a fix adding `import torch` would clash with it."""
        self.features.add("torch-binder")
        form = self.r.randint(0, 2)
        if form == 0:
            self.emit(0, "def which(device):")
            self.emit(1, "match device:")
            self.emit(2, "case 'cpu':")
            self.emit(3, "return 0")
            self.emit(2, "case torch:")
            self.emit(3, "return torch")
        elif form == 1:
            self.emit(0, "def attempt(fn):")
            self.emit(1, "try:")
            self.emit(2, "fn()")
            self.emit(1, "except* ImportError as torch:")
            self.emit(2, "print(torch)")
        else:
            self.emit(0, "torch = None")
            self.emit(0, "del torch")
        self.emit(0, "")
        self.emit(0, "")

    def script_tail(self) -> None:
        self.features.add("main-block")
        self.emit(0, 'if __name__ == "__main__":')
        cls = self.class_names[0] if self.class_names else None
        if cls is None:
            self.emit(1, "pass")
            return
        self.emit(1, f"model = {cls}()")
        if "weights_init" in self.defined:
            self.emit(1, "model.apply(weights_init)")
        if self.chance(0.3):
            self.features.add("f-string")
            self.emit(1, 'print(f"{sum(p.numel() for p in model.parameters()):,} parameters")')
        if self.chance(0.2):
            self.emit(1, "with torch.no_grad():")
            self.emit(2, "for p in model.parameters():")
            self.emit(3, *self.data_init("p", weight=True))

    # -- the whole module ------------------------------------------------------------------------
    def body(self) -> None:
        r = self.r
        self.defined: set[str] = set()
        parts = ["class"] * r.randint(1, 3)
        parts += [p for p in ("weights_init", "pix2pix", "custom", "legacy", "scoping") if self.chance(0.3)]
        parts += ["odd"] if self.chance(0.1) else []
        r.shuffle(parts)
        for index, part in enumerate(parts):
            if part == "class":
                name = self.pick(["Net", "MLP", "Encoder", "Decoder", "Generator", "Discriminator", "Block", "Head"])
                if name in self.class_names:
                    name += str(index)
                self.class_names.append(name)
                self.module_class(name)
            elif part == "weights_init":
                self.weights_init_function()
                self.defined.add("weights_init")
            elif part == "pix2pix":
                self.pix2pix_init()
            elif part == "custom":
                self.custom_layer()
            elif part == "legacy":
                self.legacy_function()
            elif part == "odd":
                self.odd_structure(f"Odd{index}")
            else:
                self.scoping_stress()
        if not self.import_torch and self.chance(0.5):
            self.scoping_stress(6)
        if "weights_init" in self.needs and "weights_init" not in self.defined:
            self.weights_init_function()
            self.defined.add("weights_init")
        if "_init_module" in self.needs:
            self.weights_init_function("_init_module")
        if self.chance(0.35):
            self.script_tail()

    def header_lines(self) -> list[str]:
        head: list[str] = []
        if self.header:
            if self.chance(0.15):
                head.append(self.pick(["#!/usr/bin/env python", "#!/usr/bin/env python3", "#!/usr/bin/python3 -u"]))
                self.features.add("shebang")
            if self.encoding == "latin-1":
                head.append(
                    self.pick(
                        ["# -*- coding: latin-1 -*-", "# coding: iso-8859-1", "# vim: set fileencoding=latin-1 :"]
                    )
                )
                self.features.add("latin-1")
            elif self.chance(0.1):
                head.append(self.pick(["# -*- coding: utf-8 -*-", "# coding=utf-8"]))
                self.features.add("coding-line")
            if self.chance(0.1):
                head.append(self.comment())
            if self.chance(0.35):
                self.features.add("docstring")
                q = self.pick(['"""', "'''"])
                form = self.r.randint(0, 2)
                if form == 0:
                    head.append(f"{q}{self.text_word()}: models and their init.{q}")
                elif form == 1:
                    self.features.add("joined-docstring")
                    head += [f'"{self.plain_word()}: models " \\', "    'and their init.'"]
                else:
                    head += [f"{q}{self.text_word()}.", "", "nn.init.normal(w) in a docstring is not code.", q]
            if self.chance(0.3):
                self.features.add("future-import")
                head.append(
                    self.pick(
                        [
                            "from __future__ import annotations",
                            "from __future__ import print_function",
                            "from __future__ import absolute_import, division, print_function",
                        ]
                    )
                )
            if head and self.chance(0.5):
                head.append("")
        imports = ["import torch"] if self.import_torch else []
        if not self.import_torch:
            self.features.add("no-import-torch")
        if "math" in self.needs:
            imports.insert(0, "import math")
        if self.nn == "nn":
            imports.append(self.nn_import)
        if "F" in self.needs:
            imports.append(self.pick(["import torch.nn.functional as F", "from torch.nn import functional as F"]))
        if "init" in self.used_styles:
            imports.append(self.init_module_import)
        if "I" in self.used_styles:
            imports.append("import torch.nn.init as I")
        if self.from_names:
            names = []
            for canonical, local in sorted(self.from_names.items()):
                names.append(canonical if canonical == local else f"{canonical} as {local}")
            if len(names) > 2 and self.chance(0.4):
                self.features.add("parenthesized-from-import")
                block = ["from torch.nn.init import ("]
                for name in names:
                    block.append(f"    {name},  {self.comment()}" if self.chance(self.comment_rate) else f"    {name},")
                block.append(")")
                imports += block
            else:
                imports.append(f"from torch.nn.init import {', '.join(names)}")
        if "Variable" in self.needs:
            imports.append("from torch.autograd import Variable")
        if "autograd" in self.needs:
            imports.append("from torch import autograd")
        if "OrderedDict" in self.needs:
            imports.insert(0, "from collections import OrderedDict")
        if "partial" in self.needs:
            imports.insert(0, "from functools import partial")
        if "weight_norm" in self.needs:
            imports.append(
                self.pick(
                    ["from torch.nn.utils import weight_norm", "from torch.nn.utils import weight_norm as weight_norm"]
                )
            )
        head += imports
        if self.from_names and self.chance(0.3):
            # Importers and `__all__` name the imported functions: a fix must not rename them.
            self.features.add("dunder-all")
            exported = [*sorted(self.from_names.values()), *self.class_names[:2]]
            head += ["", f"__all__ = [{', '.join(repr(name) for name in exported)}]"]
        head += ["", ""]
        return head


def _finish(gen: _Gen) -> str:
    lines = gen.header_lines() + gen.lines
    while lines and not lines[-1].strip():
        lines.pop()
    text = gen.newline.join(lines)
    if gen.chance(0.93):
        text += gen.newline
    else:
        gen.features.add("no-final-newline")
    if gen.chance(0.05):
        gen.features.add("trailing-whitespace")
        text = text.replace(":" + gen.newline, ":  " + gen.newline, 1)
    if gen.encoding == "utf-8-sig":
        gen.features.add("bom")
    if gen.newline == "\r":
        gen.features.add("cr-endings")
    if gen.mixed_endings:
        gen.features.add("mixed-endings")
        lines = text.split(gen.newline)
        text = "".join(
            line + (gen.pick(["\n", "\r\n", "\n", "\r"]) if i < len(lines) - 1 else "") for i, line in enumerate(lines)
        )
    return text


def generate(seed: int) -> Program:
    """One complete module: header (shebang, coding, docstring, __future__), imports, body."""
    gen = _Gen(seed)
    gen.body()
    text = _finish(gen)
    return Program(seed, text, gen.encoding, tuple(sorted(gen.features)))


def generate_body(seed: int) -> str:
    """Imports and body only (no shebang, coding line, docstring or __future__ import, UTF-8,
    LF): to append after other code, such as a hypothesmith program."""
    gen = _Gen(seed, header=False)
    gen.body()
    lines = gen.header_lines() + gen.lines
    return "\n".join(lines).rstrip() + "\n"
