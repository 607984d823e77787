"""A small ViT-style encoder with a classification head. The init follows timm's
`_init_weights`, but with a legacy positional-embedding constructor that is never filled,
an exact-type LayerNorm test and a head re-initialized with a deprecated alias."""

import torch
import torch.nn as nn


class Attention(nn.Module):
    def __init__(self, dim=192, num_heads=3, qkv_bias=False):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        x = nn.functional.scaled_dot_product_attention(q, k, v)
        return self.proj(x.transpose(1, 2).reshape(b, n, c))


class Block(nn.Module):
    def __init__(self, dim=192, num_heads=3, mlp_ratio=4):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, dim * mlp_ratio), nn.GELU(), nn.Linear(dim * mlp_ratio, dim))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class TransformerHead(nn.Module):
    def __init__(self, num_tokens=16, dim=192, depth=2, num_heads=3, num_classes=100):
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        # bug: torch.Tensor(sizes) is a legacy constructor: uninitialized memory, and nothing below fills it
        self.pos_embed = nn.Parameter(torch.Tensor(1, num_tokens + 1, dim))
        self.blocks = nn.Sequential(*[Block(dim, num_heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)
        self.apply(self._init_weights)
        # bug: deprecated alias of nn.init.normal_
        nn.init.normal(self.head.weight, std=0.01)

    def _init_weights(self, m):
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        # bug: exact type test misses LayerNorm subclasses (e.g. an fp32 LayerNorm wrapper)
        elif type(m) == nn.LayerNorm:
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)

    def forward(self, tokens):
        x = torch.cat([self.cls_token.expand(tokens.shape[0], -1, -1), tokens], dim=1) + self.pos_embed
        return self.head(self.norm(self.blocks(x))[:, 0])


if __name__ == "__main__":
    print(TransformerHead()(torch.randn(2, 16, 192)).shape)
