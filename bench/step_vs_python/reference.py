#!/usr/bin/python3
"""The Python baseline for bench/step_vs_python (benchmark only; not product code).

One FLYP training step in plain PyTorch, written here from the CLIP
architecture (OpenAI CLIP / open_clip, batch-first, nn.MultiheadAttention as
open_clip uses it) with open_clip's initialisation: random images and token
ids -> encode both towers -> L2-normalise -> symmetric contrastive loss ->
backward -> AdamW -> clamp logit_scale. The same step as flyp_bench_step.

  /usr/bin/python3 bench/step_vs_python/reference.py --preset tiny --batch 64 \
      --steps 10 --warmup 3 --threads 2

Prints one line per step and
  RESULT impl=python preset=... batch=... median_ms=... mean_ms=... min_ms=... peak_rss_mib=...
"""
import argparse
import ctypes
import math
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# (embed_dim, v_width, v_layers, v_heads, patch, image, t_width, t_layers,
#  t_heads, context, vocab, quick_gelu) as common/model_presets.cc; run.sh
#  checks that both sides report the same parameter count.
PRESETS = {
    "ViT-B-32": (512, 768, 12, 12, 32, 224, 512, 12, 8, 77, 49408, False),
    "ViT-B-16": (512, 768, 12, 12, 16, 224, 512, 12, 8, 77, 49408, False),
    "tiny": (64, 64, 2, 2, 7, 28, 64, 2, 2, 48, 49408, False),
    "micro": (16, 32, 1, 2, 8, 32, 32, 1, 2, 16, 49408, False),
}


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class Block(nn.Module):
    def __init__(self, width, heads, quick_gelu):
        super().__init__()
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.ln_1 = nn.LayerNorm(width)
        self.mlp = nn.Sequential()
        self.mlp.add_module("c_fc", nn.Linear(width, 4 * width))
        self.mlp.add_module("gelu", QuickGELU() if quick_gelu else nn.GELU())
        self.mlp.add_module("c_proj", nn.Linear(4 * width, width))
        self.ln_2 = nn.LayerNorm(width)

    def forward(self, x, mask):
        y = self.ln_1(x)
        x = x + self.attn(y, y, y, need_weights=False, attn_mask=mask)[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width, layers, heads, quick_gelu):
        super().__init__()
        self.resblocks = nn.ModuleList([Block(width, heads, quick_gelu) for _ in range(layers)])

    def forward(self, x, mask=None):
        for b in self.resblocks:
            x = b(x, mask)
        return x


class VisionTransformer(nn.Module):
    def __init__(self, width, layers, heads, patch, image, embed_dim, quick_gelu):
        super().__init__()
        scale = width ** -0.5
        grid = image // patch
        self.conv1 = nn.Conv2d(3, width, patch, stride=patch, bias=False)
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn(grid * grid + 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = Transformer(width, layers, heads, quick_gelu)
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(scale * torch.randn(width, embed_dim))

    def forward(self, x):
        x = self.conv1(x).flatten(2).transpose(1, 2)
        cls = self.class_embedding.expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1) + self.positional_embedding
        x = self.transformer(self.ln_pre(x))
        return self.ln_post(x[:, 0]) @ self.proj


class CLIP(nn.Module):
    def __init__(self, embed_dim, v_width, v_layers, v_heads, patch, image, t_width, t_layers, t_heads,
                 context, vocab, quick_gelu):
        super().__init__()
        self.visual = VisionTransformer(v_width, v_layers, v_heads, patch, image, embed_dim, quick_gelu)
        self.transformer = Transformer(t_width, t_layers, t_heads, quick_gelu)
        self.token_embedding = nn.Embedding(vocab, t_width)
        self.positional_embedding = nn.Parameter(torch.empty(context, t_width))
        self.ln_final = nn.LayerNorm(t_width)
        self.text_projection = nn.Parameter(torch.empty(t_width, embed_dim))
        self.logit_scale = nn.Parameter(torch.ones([]) * math.log(1 / 0.07))
        self.register_buffer("attn_mask", torch.full((context, context), float("-inf")).triu_(1), persistent=False)
        # open_clip CLIP.init_parameters
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        nn.init.normal_(self.positional_embedding, std=0.01)
        proj_std = t_width ** -0.5 * (2 * t_layers) ** -0.5
        for b in self.transformer.resblocks:
            nn.init.normal_(b.attn.in_proj_weight, std=t_width ** -0.5)
            nn.init.normal_(b.attn.out_proj.weight, std=proj_std)
            nn.init.normal_(b.mlp.c_fc.weight, std=(2 * t_width) ** -0.5)
            nn.init.normal_(b.mlp.c_proj.weight, std=proj_std)
        nn.init.normal_(self.text_projection, std=t_width ** -0.5)

    def encode_image(self, images):
        return self.visual(images)

    def encode_text(self, ids):
        x = self.token_embedding(ids) + self.positional_embedding
        x = self.ln_final(self.transformer(x, self.attn_mask))
        return x[torch.arange(x.shape[0]), ids.argmax(dim=-1)] @ self.text_projection


def random_ids(n, context, vocab):
    ids = torch.zeros(n, context, dtype=torch.long)
    lengths = torch.randint(4, min(context, 20), (n,))
    for i in range(n):
        length = int(lengths[i])
        ids[i, 0] = vocab - 2
        ids[i, 1:length - 1].random_(1, vocab - 2)
        ids[i, length - 1] = vocab - 1
    return ids


def openblas_core():
    """The OpenBLAS kernels torch's BLAS runs ("Prescott", "SkylakeX"), as flyp_bench_step prints."""
    with open("/proc/self/maps") as maps:
        libs = {line.split()[-1] for line in maps if "libopenblas" in line}
    for lib in libs:
        try:
            f = ctypes.CDLL(lib).openblas_get_corename
            f.restype = ctypes.c_char_p
            return f().decode()
        except (AttributeError, OSError):
            pass
    return "none"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--preset", default="tiny", choices=sorted(PRESETS))
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--vision-layers", type=int, default=0)
    p.add_argument("--text-layers", type=int, default=0)
    # bfloat16: the encoders under torch.autocast("cpu", dtype=torch.bfloat16)
    # and the loss in float32, as flyp's resources.precision bfloat16.
    p.add_argument("--precision", default="float32", choices=["float32", "bfloat16"])
    # Accepted for flyp_bench_step's flags: this step's captions are random
    # token rows, all distinct, so it encodes every one whatever the templates.
    p.add_argument("--templates", default="simple", choices=["simple", "openai_imagenet"])
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    cfg = list(PRESETS[a.preset])
    if a.vision_layers:
        cfg[2] = a.vision_layers
    if a.text_layers:
        cfg[7] = a.text_layers
    torch.manual_seed(a.seed)
    model = CLIP(*cfg)
    model.train()
    image, context, vocab = cfg[5], cfg[9], cfg[10]
    images = torch.randn(a.batch, 3, image, image)
    ids = random_ids(a.batch, context, vocab)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1)
    labels = torch.arange(a.batch)
    nparams = sum(p.numel() for p in model.parameters())
    print(f"reference.py preset={a.preset} batch={a.batch} threads={torch.get_num_threads()} "
          f"openblas_core={openblas_core()} params={nparams} precision={a.precision} "
          f"torch={torch.__version__}", flush=True)
    times = []
    for step in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=False)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.precision == "bfloat16"):
            img_raw = model.encode_image(images)
            txt_raw = model.encode_text(ids)
        img = F.normalize(img_raw.float(), dim=-1)
        txt = F.normalize(txt_raw.float(), dim=-1)
        logits = model.logit_scale.exp() * img @ txt.t()
        loss = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)) / 2
        loss.backward()
        opt.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        ms = (time.perf_counter() - t0) * 1000
        warm = step >= a.warmup
        if warm:
            times.append(ms)
        print(f"step {step} {'timed ' if warm else 'warmup'} {ms:.1f} ms loss {loss.item():.4f}", flush=True)
    print(f"RESULT impl=python preset={a.preset} batch={a.batch} threads={a.threads} "
          f"median_ms={statistics.median(times):.1f} mean_ms={statistics.mean(times):.1f} "
          f"min_ms={min(times):.1f} steps={len(times)} "
          f"peak_rss_mib={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")


if __name__ == "__main__":
    main()
