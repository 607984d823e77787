"""A deep ReLU MLP whose init looks careful but is wrong for the network it builds: Xavier
on a ReLU stack, a parameter that is never filled, a bias initialized without a None check
next to a bias-free layer, and an nn.init call inside forward()."""

import torch
import torch.nn as nn


class DeepReLUMLP(nn.Module):
    def __init__(self, in_features=784, hidden=512, depth=8, num_classes=10):
        super().__init__()
        layers, dim = [], in_features
        for _ in range(depth):
            layers += [nn.Linear(dim, hidden), nn.ReLU(inplace=True)]
            dim = hidden
        self.body = nn.Sequential(*layers)
        # bug: torch.empty is uninitialized memory and nothing in this class ever fills it
        self.class_bias = nn.Parameter(torch.empty(num_classes))
        # learned per-feature gain (meant to start at 1)
        self.gain = nn.Parameter(torch.ones(hidden))
        self._init_weights()
        # bug: built with bias=False, yet _init_weights() touches m.bias unguarded; any later
        # call (re-init, fine-tuning reset) crashes with "NoneType has no attribute zero_"
        self.head = nn.Linear(hidden, num_classes, bias=False)

    def _init_weights(self):
        for m in self.modules():
            if isinstance(m, nn.Linear):
                # bug: Xavier/Glorot assumes a linear or tanh activation; after ReLU the
                # activations shrink by ~1/sqrt(2) per layer; use kaiming_normal_(nonlinearity="relu")
                nn.init.xavier_normal_(m.weight)
                # bug: no `if m.bias is not None` guard
                nn.init.zeros_(m.bias)

    def forward(self, x):
        # bug: nn.init inside forward resets the learned gain on every call, so it never trains
        nn.init.ones_(self.gain)
        x = self.body(x.flatten(1)) * self.gain
        return self.head(x) + self.class_bias


if __name__ == "__main__":
    print(DeepReLUMLP()(torch.randn(4, 1, 28, 28)).shape)
