"""Peer for the CPU benchmarks: a Qwen2/Llama-style decoder with LoRA, hand-written in plain PyTorch.

Debian's python3-torch has no transformers or peft, so the architecture is written out here, following
transformers' modeling_qwen2 (RMSNorm in fp32, rotate_half RoPE, GQA, SwiGLU, q/k/v bias) and peft's LoRA layer
(delta = dropout(x) @ A^T @ B^T * alpha / r). It reads the same HF folder (safetensors) and PEFT adapter that our
engine uses, trains on the same token batches, and prints one JSON object: losses, step times, peak RSS.

Two options for bench/memory (the defaults keep the behaviour bench/train-cpu measures):
--checkpoint recomputes each decoder layer in the backward pass (torch.utils.checkpoint, use_reentrant=False), as
PyTorch users save activation memory; --weights-dtype bf16 keeps the frozen weights as the file's bf16 tensors and
casts each to float32 where it is used (inside the checkpointed layer, so no float32 copy outlives its layer), which is
what our engine does. Compute is float32 either way, so both options leave the losses unchanged. The loss always
takes the whole [tokens, vocab] logits at once (as transformers does): at long sequences that is most of the peak.

Usage: python3 torch_lora.py --model DIR --adapter DIR --batches FILE.json --steps N [--warmup W] [--threads T]
       [--lr LR] [--layers K] [--no-train] [--checkpoint] [--weights-dtype fp32|bf16]
"""
import argparse
import json
import math
import resource
import struct
import time

import numpy as np
import torch
import torch.utils.checkpoint

DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16, "F64": np.float64, "I64": np.int64}


def read_safetensors(path, keep_bf16=False):
    """Reads every tensor of a .safetensors file into float32 torch tensors (bf16 widened bit-exactly), or with
    keep_bf16 bf16 tensors as torch.bfloat16 (read straight into their own buffer: no float32 copy at any time)."""
    with open(path, "rb") as f:
        (header_len,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(header_len))
        base = 8 + header_len
        tensors = {}
        for name, info in header.items():
            if name == "__metadata__":
                continue
            start, end = info["data_offsets"]
            f.seek(base + start)
            if keep_bf16 and info["dtype"] == "BF16":
                # torch 1.13 has no uint16: read as int16, reinterpret the bits as bfloat16.
                raw = np.fromfile(f, dtype=np.int16, count=(end - start) // 2).reshape(info["shape"])
                tensors[name] = torch.from_numpy(raw).view(torch.bfloat16)
                continue
            raw = np.frombuffer(f.read(end - start), dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
            if info["dtype"] == "BF16":
                raw = (raw.astype(np.uint32) << 16).view(np.float32)
            tensors[name] = torch.from_numpy(np.array(raw, dtype=np.float32))
        return tensors


def load_model_tensors(model_dir, keep_bf16=False):
    import os

    index = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.exists(index):
        files = sorted(set(json.load(open(index))["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    tensors = {}
    for name in files:
        tensors.update(read_safetensors(os.path.join(model_dir, name), keep_bf16))
    return tensors


class Rms(torch.nn.Module):
    def __init__(self, weight, eps):
        super().__init__()
        self.weight = torch.nn.Parameter(weight, requires_grad=False)
        self.eps = eps

    def forward(self, x):
        variance = x.pow(2).mean(-1, keepdim=True)
        return self.weight.float() * (x * torch.rsqrt(variance + self.eps))


class LoraLinear(torch.nn.Module):
    def __init__(self, weight, bias, lora, scaling, dropout):
        super().__init__()
        self.weight = torch.nn.Parameter(weight, requires_grad=False)
        self.bias = None if bias is None else torch.nn.Parameter(bias, requires_grad=False)
        self.lora_A = None if lora is None else torch.nn.Parameter(lora[0].clone())
        self.lora_B = None if lora is None else torch.nn.Parameter(lora[1].clone())
        self.scaling = scaling
        self.dropout = torch.nn.Dropout(dropout) if dropout > 0 else torch.nn.Identity()

    def forward(self, x):
        # .float() is a no-op for float32 weights; a bf16 weight is widened here, where it is used.
        bias = None if self.bias is None else self.bias.float()
        y = torch.nn.functional.linear(x, self.weight.float(), bias)
        if self.lora_A is not None:
            y = y + (self.dropout(x) @ self.lora_A.t() @ self.lora_B.t()) * self.scaling
        return y


def rope_tables(seq, head_dim, theta):
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
    freqs = torch.outer(torch.arange(seq, dtype=torch.float64), inv)
    emb = torch.cat([freqs, freqs], dim=-1)
    return emb.cos().float(), emb.sin().float()


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


class Decoder(torch.nn.Module):
    def __init__(self, cfg, tensors, adapter, scaling, dropout, layers, checkpoint=False):
        super().__init__()
        self.cfg = cfg
        self.checkpoint = checkpoint
        self.heads = cfg["num_attention_heads"]
        self.kv_heads = cfg.get("num_key_value_heads", self.heads)
        self.head_dim = cfg.get("head_dim") or cfg["hidden_size"] // self.heads
        eps = cfg.get("rms_norm_eps", 1e-6)
        self.embed = torch.nn.Parameter(tensors["model.embed_tokens.weight"], requires_grad=False)
        head = tensors.get("lm_head.weight", tensors["model.embed_tokens.weight"])
        self.head = torch.nn.Parameter(head, requires_grad=False)
        self.norm = Rms(tensors["model.norm.weight"], eps)
        self.blocks = []
        for i in range(layers):
            p = f"model.layers.{i}."

            def linear(name):
                lora = None
                key = f"base_model.model.{p}{name}"
                if f"{key}.lora_A.weight" in adapter:
                    lora = (adapter[f"{key}.lora_A.weight"], adapter[f"{key}.lora_B.weight"])
                return LoraLinear(tensors[f"{p}{name}.weight"], tensors.get(f"{p}{name}.bias"), lora, scaling, dropout)

            block = torch.nn.ModuleDict(
                {
                    "in_norm": Rms(tensors[f"{p}input_layernorm.weight"], eps),
                    "post_norm": Rms(tensors[f"{p}post_attention_layernorm.weight"], eps),
                    **{m: linear(f"self_attn.{m}") for m in ("q_proj", "k_proj", "v_proj", "o_proj")},
                    **{m: linear(f"mlp.{m}") for m in ("gate_proj", "up_proj", "down_proj")},
                }
            )
            self.add_module(f"block{i}", block)
            self.blocks.append(block)

    def layer(self, blk, x, cos, sin, causal, pad):
        b, t, _ = x.shape
        h = blk["in_norm"](x)
        q = blk["q_proj"](h).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        k = blk["k_proj"](h).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        v = blk["v_proj"](h).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = self.heads // self.kv_heads
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(self.head_dim) + causal + pad
        o = (att.softmax(-1) @ v).transpose(1, 2).reshape(b, t, -1)
        x = x + blk["o_proj"](o)
        h = blk["post_norm"](x)
        return x + blk["down_proj"](torch.nn.functional.silu(blk["gate_proj"](h)) * blk["up_proj"](h))

    def forward(self, ids, mask):
        b, t = ids.shape
        x = self.embed[ids].float()
        cos, sin = rope_tables(t, self.head_dim, self.cfg.get("rope_theta", 10000.0))
        causal = torch.full((t, t), float("-inf")).triu(1)
        pad = (1.0 - mask[:, None, None, :].float()) * -1e30
        for blk in self.blocks:
            if self.checkpoint:
                # Keeps only the layer's input; the layer (weight casts included) runs again in the backward pass.
                x = torch.utils.checkpoint.checkpoint(self.layer, blk, x, cos, sin, causal, pad, use_reentrant=False)
            else:
                x = self.layer(blk, x, cos, sin, causal, pad)
        return self.norm(x) @ self.head.float().t()


def masked_loss(logits, labels):
    """Mean cross-entropy over positions whose (already shifted) label is not -100."""
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--adapter", required=True)
    ap.add_argument("--batches", required=True, help="JSON: [{input_ids, labels, attention_mask}] (labels pre-shifted)")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--layers", type=int, default=0, help="use only the first K layers (0 = all)")
    ap.add_argument("--no-train", action="store_true", help="forward loss only (agreement check)")
    ap.add_argument("--checkpoint", action="store_true", help="recompute each decoder layer in the backward pass")
    ap.add_argument("--weights-dtype", choices=["fp32", "bf16"], default="fp32",
                    help="fp32: widen every weight at load (default); bf16: keep the file's bf16 weights, cast where used")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = json.load(open(f"{args.model}/config.json"))
    adapter_cfg = json.load(open(f"{args.adapter}/adapter_config.json"))
    r, alpha = adapter_cfg["r"], adapter_cfg["lora_alpha"]
    scaling = alpha / math.sqrt(r) if adapter_cfg.get("use_rslora") else alpha / r
    layers = args.layers or cfg["num_hidden_layers"]
    tensors = load_model_tensors(args.model, keep_bf16=args.weights_dtype == "bf16")
    if args.weights_dtype == "bf16":
        other = sorted({str(t.dtype) for t in tensors.values() if t.dtype != torch.bfloat16})
        if other:
            raise SystemExit(f"--weights-dtype bf16: {args.model} also holds {', '.join(other)} tensors; use a bf16 model or --weights-dtype fp32")
    adapter = read_safetensors(f"{args.adapter}/adapter_model.safetensors")
    model = Decoder(cfg, tensors, adapter, scaling, 0.0, layers, checkpoint=args.checkpoint)
    del tensors
    batches = json.load(open(args.batches))
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=args.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    losses, times, tokens = [], [], []
    for step in range(args.steps if not args.no_train else 1):
        batch = batches[step % len(batches)]
        ids = torch.tensor(batch["input_ids"], dtype=torch.long)
        labels = torch.tensor(batch["labels"], dtype=torch.long)
        mask = torch.tensor(batch["attention_mask"], dtype=torch.long)
        start = time.perf_counter()
        loss = masked_loss(model(ids, mask), labels)
        if not args.no_train:
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - start)
        losses.append(loss.item())
        tokens.append(int(mask.sum()))
    measured = times[args.warmup:] if len(times) > args.warmup else times
    print(json.dumps({
        "peer": f"pytorch {torch.__version__} (hand-written Qwen2/Llama + LoRA)",
        "threads": args.threads,
        "checkpoint": args.checkpoint,
        "weights_dtype": args.weights_dtype,
        "losses": losses,
        "step_s": times,
        "median_step_s": float(np.median(measured)),
        "tokens_per_step": tokens,
        "trainable_params": sum(p.numel() for p in params),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
