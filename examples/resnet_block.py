"""A two-stage ResNet with basic blocks, initialized in the style of the original
torchvision `resnet.py` (2017): manual He-normal through `.data`, deprecated init aliases
and an exact-type test for the zero-init-residual trick."""

import torch
import torch.nn as nn


class BasicBlock(nn.Module):
    def __init__(self, inplanes=64, planes=64, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class TinyResNet(nn.Module):
    def __init__(self, num_classes=10, widths=(64, 128), zero_init_residual=True):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, widths[0], 3, padding=1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU())
        blocks, inplanes = [], widths[0]
        for i, planes in enumerate(widths):
            blocks += [BasicBlock(inplanes, planes, stride=1 if i == 0 else 2), BasicBlock(planes, planes)]
            inplanes = planes
        self.layers = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(inplanes, num_classes)

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                # bug: in-place init through .data; nn.init.kaiming_normal_(m.weight, mode="fan_out") says the same
                m.weight.data.normal_(0, (2.0 / n) ** 0.5)
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.data.fill_(1)
                m.bias.data.zero_()
            elif isinstance(m, nn.Linear):
                # bug: deprecated alias of nn.init.kaiming_uniform_
                nn.init.kaiming_uniform(m.weight, a=1)
                nn.init.zeros_(m.bias)
        if zero_init_residual:
            for m in self.modules():
                # bug: exact type test skips any subclass of BasicBlock
                if type(m) == BasicBlock:
                    nn.init.constant_(m.bn2.weight, 0)

    def forward(self, x):
        return self.fc(self.pool(self.layers(self.stem(x))).flatten(1))


if __name__ == "__main__":
    print(TinyResNet()(torch.randn(2, 3, 32, 32)).shape)
