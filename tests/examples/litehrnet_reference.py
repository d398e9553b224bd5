"""Lite-HRNet-18 in plain torch, written from HRNet/Lite-HRNet `litehrnet.py` (mmcv's
ConvModule spelled out: conv without bias when a BN follows, with bias otherwise), to
check that examples/nets/lite_hrnet_18.arch computes what the original computes. The
fusion keeps the original's in-place `y += out[j]` over every j."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def cm(cin, cout, k=1, s=1, groups=1, norm=True, act=None):
    layers = [nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=not norm)]
    layers += [nn.BatchNorm2d(cout)] if norm else []
    layers += [act()] if act else []
    return nn.Sequential(*layers)


def channel_shuffle(x, groups):
    n, c, h, w = x.shape
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).contiguous().view(n, -1, h, w)


class Stem(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = cm(3, 32, 3, 2, act=nn.ReLU)
        self.branch1 = nn.Sequential(cm(16, 16, 3, 2, groups=16), cm(16, 16, act=nn.ReLU))
        self.expand = cm(16, 32, act=nn.ReLU)
        self.dw = cm(32, 32, 3, 2, groups=32)
        self.linear = cm(32, 16, act=nn.ReLU)

    def forward(self, x):
        x1, x2 = self.conv1(x).chunk(2, dim=1)
        x2 = self.linear(self.dw(self.expand(x2)))
        return channel_shuffle(torch.cat((self.branch1(x1), x2), dim=1), 2)


class CCW(nn.Module):
    def __init__(self, widths, ratio):
        super().__init__()
        half = [c // 2 for c in widths]
        self.half, total = half, sum(half)
        self.crw1 = cm(total, total // ratio, act=nn.ReLU)
        self.crw2 = cm(total // ratio, total, act=nn.Sigmoid)
        self.dws = nn.ModuleList(cm(c, c, 3, groups=c) for c in half)
        self.sw = nn.ModuleList(
            nn.Sequential(
                nn.AdaptiveAvgPool2d(1),
                cm(c, c // 4, norm=False, act=nn.ReLU),
                cm(c // 4, c, norm=False, act=nn.Sigmoid),
            )
            for c in half
        )

    def forward(self, xs):
        xs = [s.chunk(2, dim=1) for s in xs]
        x1, x2 = [s[0] for s in xs], [s[1] for s in xs]
        mini = x2[-1].shape[-2:]
        out = torch.cat([F.adaptive_avg_pool2d(s, mini) for s in x2[:-1]] + [x2[-1]], dim=1)
        out = torch.split(self.crw2(self.crw1(out)), self.half, dim=1)
        x2 = [
            s * F.interpolate(a, size=s.shape[-2:], mode="nearest")
            for s, a in zip(x2, out, strict=True)
        ]
        x2 = [dw(s) for s, dw in zip(x2, self.dws, strict=True)]
        x2 = [s * sw(s) for s, sw in zip(x2, self.sw, strict=True)]
        return [channel_shuffle(torch.cat([a, b], dim=1), 2) for a, b in zip(x1, x2, strict=True)]


def fuse_layer(widths, i, j):
    if j > i:
        return nn.Sequential(
            nn.Conv2d(widths[j], widths[i], 1, bias=False),
            nn.BatchNorm2d(widths[i]),
            nn.Upsample(scale_factor=2 ** (j - i), mode="nearest"),
        )
    steps = []
    for k in range(i - j):
        last = k == i - j - 1
        c = widths[j]
        step = [cm(c, c, 3, 2, groups=c), cm(c, widths[i] if last else c)]
        steps.append(nn.Sequential(*step, *([] if last else [nn.ReLU()])))
    return nn.Sequential(*steps)


class Module(nn.Module):
    def __init__(self, widths, ratio=8):
        super().__init__()
        self.layers = nn.Sequential(CCW(widths, ratio), CCW(widths, ratio))
        n = len(widths)
        self.fuse = nn.ModuleList(
            nn.ModuleList(None if i == j else fuse_layer(widths, i, j) for j in range(n))
            for i in range(n)
        )

    def forward(self, x):
        out = self.layers(x)
        fused = []
        for i in range(len(self.fuse)):
            y = out[0] if i == 0 else self.fuse[i][0](out[0])
            for j in range(len(out)):
                if i == j:
                    y += out[j]
                else:
                    y += self.fuse[i][j](out[j])
            fused.append(F.relu(y))
        return fused


def transition(pre, cur):
    layers = []
    for i, c in enumerate(cur):
        if i < len(pre):
            p = pre[i]
            layers.append(
                None if p == c else nn.Sequential(cm(p, p, 3, groups=p), cm(p, c, act=nn.ReLU))
            )
        else:
            p = pre[-1]
            steps = [
                nn.Sequential(
                    cm(p, p, 3, 2, groups=p), cm(p, c if k == i - len(pre) else p, act=nn.ReLU)
                )
                for k in range(i + 1 - len(pre))
            ]
            layers.append(nn.Sequential(*steps))
    return nn.ModuleList(layers)


class Head(nn.Module):
    def __init__(self, widths):
        super().__init__()
        rev = widths[::-1]
        outs = [rev[i + 1] if i < len(rev) - 1 else rev[i] for i in range(len(rev))]
        self.projects = nn.ModuleList(
            nn.Sequential(cm(c, c, 3, groups=c), cm(c, o, act=nn.ReLU))
            for c, o in zip(rev, outs, strict=True)
        )

    def forward(self, xs):
        xs, y, last = xs[::-1], [], None
        for i, s in enumerate(xs):
            if last is not None:
                last = F.interpolate(last, size=s.shape[-2:], mode="bilinear", align_corners=True)
                s = s + last
            s = self.projects[i](s)
            y.append(s)
            last = s
        return y[::-1]


class LiteHRNet18(nn.Module):
    WIDTHS = ((40, 80), (40, 80, 160), (40, 80, 160, 320))

    def __init__(self):
        super().__init__()
        self.stem = Stem()
        pre = [32]
        self.transitions, self.stages = nn.ModuleList(), nn.ModuleList()
        for widths, modules in zip(self.WIDTHS, (2, 4, 2), strict=True):
            self.transitions.append(transition(pre, widths))
            self.stages.append(nn.Sequential(*(Module(list(widths)) for _ in range(modules))))
            pre = list(widths)
        self.head = Head(pre)
        self.final = nn.Conv2d(40, 17, 1)

    def forward(self, x):
        ys = [self.stem(x)]
        for transition_layers, stage in zip(self.transitions, self.stages, strict=True):
            xs = []
            for j, t in enumerate(transition_layers):
                src = ys[j] if j < len(ys) else ys[-1]
                xs.append(t(src) if t is not None else src)
            ys = stage(xs)
        return self.final(self.head(ys)[0])
