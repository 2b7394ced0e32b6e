"""The networks of the book, as the sources describe them.

* ``resnet20`` -- ResNet20v1 (He et al. 2016, the Keras CIFAR-10 example the sources use): a 3x3
  stem, three stages of three basic blocks with 16/32/64 channels (times ``width``), batch norm,
  1x1 projection shortcuts where the shape changes, global average pooling, one linear layer.
  About 0.27M parameters at width 1.
* ``resnet14`` / ``resnet8`` -- the same family with two / one blocks per stage (``n`` = 2 / 1 in
  6n+2); ResNet-14 is the model of Summers & Dinneen (seed 001).
* ``smallcnn`` / ``mediumcnn`` -- Fort et al.'s SmallCNN [16, 32, 32] and MediumCNN
  [64, 128, 256, 256]: per stage a 3x3 convolution, ReLU and 2x2 max pooling, then dropout and a
  linear classifier. The paper gives only the channel lists; this is our reading of them.
* ``conv2`` / ``conv4`` / ``conv6`` -- the Conv-2/4/6 of Frankle & Carbin (2019, Fig 2; seed 003):
  pairs of 3x3 convolutions (64, 128, 256 channels times ``width``) each followed by 2x2 max
  pooling, then fully-connected layers of 256, 256 (times ``width``) and 10 units, ReLU throughout.
* ``linear`` / ``fc1`` / ``conv1`` -- the depth experiment of seed 001 (§4.2, Table 8): a linear
  (softmax-regression) model on the 3072 pixels; one fully-connected hidden layer (512 x ``width``
  ReLU units); one convolutional hidden layer (16 x ``width`` 3x3 filters, ReLU) read out by a
  linear layer. The paper does not give their sizes; these are ours.

:func:`layer_features` returns a network's representations of a batch, layer by layer, for
linear CKA (seed 001 Fig 1).

Dropout draws its masks from a generator the trainer hands it (``set_dropout_generator``), so
dropout noise is a source of randomness of its own, separate from data order and initialization.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class SeededDropout(nn.Module):
    """Inverted dropout whose masks come from ``self.generator`` (global RNG when None)."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p
        self.generator: torch.Generator | None = None

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        keep = torch.rand(x.shape, generator=self.generator, device=x.device) >= self.p
        return x * keep / (1 - self.p)


class BasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Sequential()
        if stride != 1 or c_in != c_out:  # projection shortcut
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet(nn.Module):
    """ResNet-(6n+2) v1 for 32x32 inputs; ``n=3`` is ResNet20."""

    def __init__(self, n: int = 3, width: float = 1, num_classes: int = 10, in_channels: int = 3):
        super().__init__()
        chans = [max(1, round(c * width)) for c in (16, 32, 64)]
        self.stem = nn.Sequential(nn.Conv2d(in_channels, chans[0], 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(chans[0]), nn.ReLU())
        stages, c_in = [], chans[0]
        for i, c in enumerate(chans):
            blocks = [BasicBlock(c_in if j == 0 else c, c, 2 if (i > 0 and j == 0) else 1) for j in range(n)]
            stages.append(nn.Sequential(*blocks))
            c_in = c
        self.stages = nn.Sequential(*stages)
        self.fc = nn.Linear(c_in, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def features(self, x):
        # mean over space, not adaptive_avg_pool2d: its CUDA backward has no deterministic kernel
        return self.stages(self.stem(x)).mean((2, 3))

    def forward(self, x):
        return self.fc(self.features(x))


class PlainCNN(nn.Module):
    """Fort et al.'s SmallCNN / MediumCNN: [conv3x3 -> ReLU -> maxpool2] per channel entry."""

    def __init__(self, channels, num_classes: int = 10, dropout: float = 0.0, width: float = 1,
                 in_channels: int = 3):
        super().__init__()
        layers, c_in = [], in_channels
        for c in channels:
            c = max(1, round(c * width))
            layers += [nn.Conv2d(c_in, c, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            c_in = c
        self.body = nn.Sequential(*layers)
        side = 32 // 2 ** len(channels)
        self.dropout = SeededDropout(dropout)
        self.fc = nn.Linear(c_in * side * side, num_classes)

    def features(self, x):
        return self.body(x).flatten(1)

    def forward(self, x):
        return self.fc(self.dropout(self.features(x)))


class Linear(nn.Module):
    """Softmax regression on the flattened image: no hidden layer."""

    def __init__(self, num_classes: int = 10, in_features: int = 3 * 32 * 32):
        super().__init__()
        self.fc = nn.Linear(in_features, num_classes)

    def features(self, x):
        return x.flatten(1)

    def forward(self, x):
        return self.fc(self.features(x))


class OneHiddenFC(nn.Module):
    """One fully-connected hidden layer of ``hidden`` ReLU units."""

    def __init__(self, hidden: int = 512, num_classes: int = 10, in_features: int = 3 * 32 * 32):
        super().__init__()
        self.hidden = nn.Linear(in_features, hidden)
        self.fc = nn.Linear(hidden, num_classes)

    def features(self, x):
        return F.relu(self.hidden(x.flatten(1)))

    def forward(self, x):
        return self.fc(self.features(x))


class OneHiddenConv(nn.Module):
    """One convolutional hidden layer (3x3, ``channels`` filters, ReLU) and a linear read-out."""

    def __init__(self, channels: int = 16, num_classes: int = 10, in_channels: int = 3, side: int = 32):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, channels, 3, padding=1)
        self.fc = nn.Linear(channels * side * side, num_classes)

    def features(self, x):
        return F.relu(self.conv(x)).flatten(1)

    def forward(self, x):
        return self.fc(self.features(x))


ARCHITECTURES = ("resnet20", "resnet14", "resnet8", "smallcnn", "mediumcnn", "linear", "fc1", "conv1",
                 "conv2", "conv4", "conv6",
                 "deepcnn", "deepcnn-bn", "deepcnn-res", "deepcnn-bn-res")

# How the prose names them (a sentence glued into a chapter's page, helpers.prose).
DISPLAY_NAMES = {"resnet20": "ResNet20v1", "resnet14": "ResNet-14", "resnet8": "ResNet-8",
                 "smallcnn": "SmallCNN", "mediumcnn": "MediumCNN", "conv2": "Conv-2",
                 "conv4": "Conv-4", "conv6": "Conv-6"}


def display_name(model: str) -> str:
    """A model's name in prose ('smallcnn' -> 'SmallCNN'); other names as they are."""
    return DISPLAY_NAMES.get(model, model)



def build(model: str, width: float = 1, dropout: float = 0.0, num_classes: int = 10) -> nn.Module:
    """A freshly initialized network by name (initialization uses the global torch RNG)."""
    if model == "resnet20":
        if dropout:
            raise ValueError("resnet20 has no dropout; set dropout=0")
        return ResNet(3, width, num_classes)
    if model in ("resnet14", "resnet8"):
        if dropout:
            raise ValueError(f"{model} has no dropout; set dropout=0")
        return ResNet(2 if model == "resnet14" else 1, width, num_classes)
    if model == "linear":
        return Linear(num_classes)
    if model == "fc1":
        return OneHiddenFC(max(1, round(512 * width)), num_classes)
    if model == "conv1":
        return OneHiddenConv(max(1, round(16 * width)), num_classes)
    if model == "smallcnn":
        return PlainCNN([16, 32, 32], num_classes, dropout, width)
    if model == "mediumcnn":
        return PlainCNN([64, 128, 256, 256], num_classes, dropout, width)
    if model in ("conv2", "conv4", "conv6"):
        if dropout:
            raise ValueError(f"{model} has no dropout; set dropout=0")
        return ConvK(int(model[-1]), width, num_classes)
    if model.startswith("deepcnn"):
        return DeepCNN(bn="-bn" in model, residual="-res" in model, width=width, num_classes=num_classes)
    raise ValueError(f"unknown model {model!r}; choose one of: {', '.join(ARCHITECTURES)}")


def first_layer_weight(model: nn.Module) -> tuple[str, torch.Tensor]:
    """The name and tensor of the first layer's weight: the first parameter with two or more
    dimensions in registration order (the stem convolution of a ResNet, the only linear layer of
    the linear model). Seed 001 §4.1 perturbs one weight of this layer."""
    for name, p in model.named_parameters():
        if p.dim() >= 2:
            return name, p
    raise ValueError("the model has no weight matrix")


@torch.no_grad()
def layer_features(model: nn.Module, x: torch.Tensor) -> dict:
    """Representations of ``x`` layer by layer, in order, as ``{name: (N, ...) tensor}``.

    * ResNets -- the six layers of seed 001 Fig 1: ``conv1`` (the stem: first convolution, BN,
      ReLU), ``stage1``-``stage3`` (the output of each residual stage; the paper's
      ResBlock1-3), ``pool`` (global average pooling) and ``logits``;
    * SmallCNN / MediumCNN -- each ``block<i>`` (conv, ReLU, pool) and ``logits`` (the flattened
      features are the last block's output, the same representation for CKA);
    * linear -- ``input`` (the pixels) and ``logits``; fc1 / conv1 -- ``hidden`` (after ReLU) and
      ``logits``.

    The model is used in whatever train/eval mode it is in (call ``model.eval()`` first).
    """
    out = {}
    if isinstance(model, ResNet):
        h = model.stem(x)
        out["conv1"] = h
        for i, stage in enumerate(model.stages, 1):
            h = stage(h)
            out[f"stage{i}"] = h
        out["pool"] = h.mean((2, 3))
        out["logits"] = model.fc(out["pool"])
    elif isinstance(model, PlainCNN):
        h = x
        for i in range(0, len(model.body), 3):
            h = model.body[i + 2](model.body[i + 1](model.body[i](h)))
            out[f"block{i // 3 + 1}"] = h
        out["logits"] = model.fc(h.flatten(1))  # (the flattened features are the last block's output)
    elif isinstance(model, Linear):
        out["input"] = x.flatten(1)
        out["logits"] = model(x)
    elif isinstance(model, (OneHiddenFC, OneHiddenConv)):
        out["hidden"] = model.features(x)
        out["logits"] = model.fc(out["hidden"])
    else:
        raise ValueError(f"layer_features does not know {type(model).__name__}")
    return out


def set_dropout_generator(model: nn.Module, generator: torch.Generator | None) -> None:
    for m in model.modules():
        if isinstance(m, SeededDropout):
            m.generator = generator


def has_dropout(model: nn.Module) -> bool:
    return any(isinstance(m, SeededDropout) and m.p > 0 for m in model.modules())


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


class ConvK(nn.Module):
    """Conv-2/4/6 of Frankle & Carbin (2019, Fig 2): ``k/2`` stages of [conv3x3, ReLU, conv3x3, ReLU,
    maxpool2] with 64, 128, 256 channels, then FC 256 -> ReLU -> FC 256 -> ReLU -> FC classes (all
    widths times ``width``). Conv-2 has 4.3M parameters at width 1, nearly all in the first FC layer."""

    def __init__(self, k: int = 2, width: float = 1, num_classes: int = 10, in_channels: int = 3):
        super().__init__()
        if k not in (2, 4, 6):
            raise ValueError(f"Conv-k needs k in 2, 4, 6 (got {k})")
        layers, c_in = [], in_channels
        for c in (64, 128, 256)[: k // 2]:
            c = max(1, round(c * width))
            layers += [nn.Conv2d(c_in, c, 3, padding=1), nn.ReLU(), nn.Conv2d(c, c, 3, padding=1), nn.ReLU(),
                       nn.MaxPool2d(2)]
            c_in = c
        self.body = nn.Sequential(*layers)
        side, hidden = 32 // 2 ** (k // 2), max(1, round(256 * width))
        self.head = nn.Sequential(nn.Linear(c_in * side * side, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
        self.fc = nn.Linear(hidden, num_classes)

    def features(self, x):
        return self.head(self.body(x).flatten(1))

    def forward(self, x):
        return self.fc(self.features(x))


# --------------------------------------------------------------------------------------------
# MIMO (Havasi et al. 2021; seed 000 §4): M members in one network


class MIMO(nn.Module):
    """M subnetworks in one backbone: M images stacked on the channel axis, M output heads.

    The backbone is built with ``in_channels = 3 * M`` and ``num_classes * M`` outputs, read as
    (B, M, C) logits, one row per head. Inputs:

    * (B, M, 3, H, W) or (B, 3M, H, W) -- training: member m's own image in slot m (channels
      3m..3m+2; the trainer sends the stacked 4-D form, which channels-last memory needs);
    * (B, 3, H, W)    -- test: the same image fed to all M inputs (repeated on the channel axis).

    ``naive=True`` is the control of seed 000 §4: one input (``in_channels = 3``) and M heads, so
    every head sees the same image; it takes (B, 3, H, W) only.
    """

    def __init__(self, backbone: nn.Module, members: int, num_classes: int = 10, naive: bool = False):
        super().__init__()
        self.net, self.members, self.num_classes, self.naive = backbone, members, num_classes, naive

    def forward(self, x):
        if self.naive:
            if x.dim() != 4:
                raise ValueError("a naive multi-head network takes one image per example: (B, 3, H, W)")
        elif x.dim() == 5:
            x = x.flatten(1, 2)                       # (B, M, 3, H, W) -> (B, 3M, H, W)
        elif x.shape[1] != 3 * self.members:
            x = x.repeat(1, self.members, 1, 1)       # (B, 3, H, W): the same image in every slot
        return self.net(x).view(len(x), self.members, self.num_classes)


MIMO_BACKBONES = ("resnet20", "resnet14", "resnet8", "smallcnn", "mediumcnn")


def build_mimo(model: str, members: int, width: float = 1, dropout: float = 0.0, num_classes: int = 10,
               naive: bool = False) -> MIMO:
    """A MIMO network of ``members`` heads on backbone ``model`` (initialization: global torch RNG).

    With ``members=1`` the backbone is exactly ``build(model, width, dropout)`` (same layers, same
    draws from the RNG), wrapped to return (B, 1, C) logits.
    """
    if model not in MIMO_BACKBONES:
        raise ValueError(f"MIMO needs a convolutional backbone; choose one of: {', '.join(MIMO_BACKBONES)}")
    if members < 1:
        raise ValueError("MIMO needs members >= 1")
    c_in, c_out = (3 if naive else 3 * members), num_classes * members
    if model.startswith("resnet"):
        if dropout:
            raise ValueError(f"{model} has no dropout; set dropout=0")
        net = ResNet({"resnet20": 3, "resnet14": 2, "resnet8": 1}[model], width, c_out, in_channels=c_in)
    else:
        chans = [16, 32, 32] if model == "smallcnn" else [64, 128, 256, 256]
        net = PlainCNN(chans, c_out, dropout, width, in_channels=c_in)
    return MIMO(net, members, num_classes, naive)


class DeepCNN(nn.Module):
    """A deep, narrow plain CNN for the unit-variance experiments of chapter 01 (seed 002 a-c).

    A 3x3 stride-2 stem (3 -> 8 x ``width`` channels, 16x16 maps), then ``depth`` layers of
    3x3 convolution (+ BN) + ReLU at constant width, each optionally wrapped in an identity
    shortcut (``h + layer(h)``), global average pooling and a linear classifier. Every convolution
    is He-initialized (``kaiming_normal_``, fan-in, ReLU gain) without bias, so the activation
    scale through depth is set by the initialization alone; ``Spec.init_gain`` rescales it.
    ``model.layers`` are the ``depth`` layers (for activation statistics).
    """

    def __init__(self, depth: int = 20, bn: bool = False, residual: bool = False, width: float = 1,
                 num_classes: int = 10, in_channels: int = 3):
        super().__init__()
        c = max(1, round(8 * width))
        self.residual = residual
        self.stem = nn.Conv2d(in_channels, c, 3, 2, 1, bias=False)
        self.layers = nn.ModuleList(
            nn.Sequential(nn.Conv2d(c, c, 3, 1, 1, bias=False), *( [nn.BatchNorm2d(c)] if bn else []), nn.ReLU())
            for _ in range(depth))
        self.fc = nn.Linear(c, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")

    def features(self, x):
        h = self.stem(x)
        for layer in self.layers:
            h = h + layer(h) if self.residual else layer(h)
        return h.mean((2, 3))

    def forward(self, x):
        return self.fc(self.features(x))
