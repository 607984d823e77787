"""A small conv-stem + MLP classifier initialized the way 2017-era tutorials (DCGAN and
friends) did it: a `weights_init(m)` hook that dispatches on class-name strings and writes
through `.data`. Every marked line is a real initialization bug or hazard."""

import torch
import torch.nn as nn
from torch.autograd import Variable


def weights_init(m):
    classname = m.__class__.__name__
    # bug: string dispatch also matches ConvTranspose2d, Conv1d and any custom "*Conv*" block
    if classname.find("Conv") != -1:
        # bug: writing through .data bypasses autograd's checks; use nn.init.normal_
        m.weight.data.normal_(0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        m.weight.data.normal_(1.0, 0.02)
        m.bias.data.fill_(0)
    # bug: exact type test misses subclasses of nn.Linear (e.g. NonDynamicallyQuantizableLinear)
    elif type(m) == nn.Linear:
        # bug: deprecated aliases (no trailing underscore), removed in recent torch
        nn.init.xavier_uniform(m.weight)
        nn.init.constant(m.bias, 0.0)


class LegacyMLP(nn.Module):
    def __init__(self, in_channels=3, hidden=256, num_classes=10):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, 32, kernel_size=3, stride=2, padding=1),
            nn.BatchNorm2d(32),
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(4),
        )
        self.mlp = nn.Sequential(nn.Linear(32 * 16, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, num_classes))
        # bug: legacy type constructor returns uninitialized memory (garbage, sometimes NaN)
        self.color_mix = nn.Parameter(torch.FloatTensor(in_channels, in_channels))
        # bug: torch.tensor() on a tensor copies it with a UserWarning; use .detach().clone()
        self.register_buffer("pixel_mean", torch.tensor(torch.full((1, in_channels, 1, 1), 0.5)))
        self.apply(weights_init)

    def forward(self, x):
        # bug: Variable is a no-op since torch 0.4
        x = Variable(x - self.pixel_mean)
        x = torch.einsum("ij,bjhw->bihw", self.color_mix, x)
        return self.mlp(self.stem(x).flatten(1))


if __name__ == "__main__":
    model = LegacyMLP()
    print(model(torch.randn(2, 3, 32, 32)).shape)
