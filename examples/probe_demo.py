"""An MLP whose init code reads fine but whose numbers are wrong, for `initlint probe`:

- Xavier init on a deep ReLU stack: activations shrink by about 1/sqrt(2) per layer (IL601);
- one hidden layer is filled with a constant, so all its units stay identical (IL605).

    initlint probe examples/probe_demo.py:DeepMLP --plot probe.png
"""

import torch
import torch.nn as nn


class DeepMLP(nn.Module):
    def __init__(self, in_features=128, hidden=256, depth=20, num_classes=10):
        super().__init__()
        layers, dim = [], in_features
        for _ in range(depth):
            layers += [nn.Linear(dim, hidden), nn.ReLU()]
            dim = hidden
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(hidden, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_normal_(m.weight)  # bug: Xavier assumes a linear unit, not ReLU
                nn.init.zeros_(m.bias)
        nn.init.constant_(self.body[6].weight, 1.0 / hidden)  # bug: a constant hidden layer

    def forward(self, x):
        return self.head(self.body(x))


def kaiming_init(m):
    """The fix, for `--init examples/probe_demo.py:kaiming_init`."""
    if isinstance(m, nn.Linear):
        nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
        nn.init.zeros_(m.bias)


if __name__ == "__main__":
    print(DeepMLP()(torch.randn(4, 128)).shape)
