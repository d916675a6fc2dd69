"""Keras' ResNet-50 v1 as @resnet/zoo's resnet50_keras builds it, in torch: ZeroPad2d(3) and a 7x7/2
convolution with bias, 3x3/2 max pooling (padding 1), then identity/convolutional blocks whose three
convolutions and projection shortcut all carry biases and stride on the first 1x1, global average
pooling, a linear head and softmax. Parameters are named as @resnet/zoo exports them (conv1, bn1,
layer1.0.conv1, layer1.0.shortcut_conv, layer1.0.shortcut_bn, ..., fc), so one state_dict fits both.
There is no Keras in Debian; this is the external reference of the ONNX export test for that preset
(packages/onnx/test/onnxruntime.test.ts)."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class KerasBlock(nn.Module):
    def __init__(self, cin, width, cout, stride, projection):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, width, 1, stride)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, 1, 1)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, cout, 1)
        self.bn3 = nn.BatchNorm2d(cout)
        self.projection = projection
        if projection:
            self.shortcut_conv = nn.Conv2d(cin, cout, 1, stride)
            self.shortcut_bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        s = self.shortcut_bn(self.shortcut_conv(x)) if self.projection else x
        return F.relu(y + s)


class KerasResNet50(nn.Module):
    def __init__(self, classes=1000, in_channels=3):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 64, 7, 2, 0)
        self.bn1 = nn.BatchNorm2d(64)
        cin = 64
        for i, (width, depth) in enumerate(zip([64, 128, 256, 512], [3, 4, 6, 3])):
            blocks = []
            for j in range(depth):
                stride = (1 if i == 0 else 2) if j == 0 else 1
                blocks.append(KerasBlock(cin, width, width * 4, stride, projection=j == 0))
                cin = width * 4
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.fc = nn.Linear(2048, classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(F.pad(x, (3, 3, 3, 3)))))
        x = F.max_pool2d(x, 3, 2, 1)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.softmax(self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)), dim=-1)
