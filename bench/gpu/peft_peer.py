"""GPU benchmark peer: Hugging Face transformers + peft training the same LoRA on the same model and data as ours.

Run on a CUDA machine with torch, transformers, peft and safetensors installed (see bench/gpu/README.md).
  make-model: python3 peft_peer.py make-model --out DIR [--shape qwen2.5-0.5b|llama3-8b] [--seed 0]
              writes a random-weight bf16 HF folder (config.json + model.safetensors) for both sides to load.
  train:      python3 peft_peer.py train --model DIR --adapter DIR --batches FILE.json [--steps 50] [--warmup 5]
              [--lr 2e-4] [--checkpointing] — loads our exported initial adapter with PeftModel.from_pretrained,
              trains with torch.optim.AdamW, prints one JSON object (losses, step times, tokens/s, peak memory).
"""
import argparse
import json
import statistics
import subprocess
import threading
import time

SHAPES = {
    "qwen2.5-0.5b": dict(architectures=["Qwen2ForCausalLM"], model_type="qwen2", hidden_size=896, intermediate_size=4864,
                         num_hidden_layers=24, num_attention_heads=14, num_key_value_heads=2, vocab_size=151936,
                         tie_word_embeddings=True, rope_theta=1000000.0, rms_norm_eps=1e-6, max_position_embeddings=32768,
                         hidden_act="silu", torch_dtype="bfloat16"),
    "llama3-8b": dict(architectures=["LlamaForCausalLM"], model_type="llama", hidden_size=4096, intermediate_size=14336,
                      num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8, vocab_size=128256,
                      tie_word_embeddings=False, rope_theta=500000.0, rms_norm_eps=1e-5, max_position_embeddings=8192,
                      hidden_act="silu", torch_dtype="bfloat16"),
}


class GpuMemorySampler:
    """Samples nvidia-smi's used memory every 50 ms: a like-for-like peak for both sides (includes allocator slack)."""

    def __init__(self):
        self.peak_mb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                out = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
                                     capture_output=True, text=True, timeout=5).stdout
                self.peak_mb = max(self.peak_mb, int(out.split()[0]))
            except Exception:
                pass
            self._stop.wait(0.05)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def make_model(args):
    import os

    import torch
    from safetensors.torch import save_file
    from transformers import AutoConfig, AutoModelForCausalLM

    torch.manual_seed(args.seed)
    cfg = AutoConfig.for_model(**SHAPES[args.shape])
    with torch.device("cpu"):
        model = AutoModelForCausalLM.from_config(cfg, torch_dtype=torch.bfloat16)
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.02)
    os.makedirs(args.out, exist_ok=True)
    state = {k: v.contiguous() for k, v in model.state_dict().items() if not (cfg.tie_word_embeddings and k == "lm_head.weight")}
    save_file(state, os.path.join(args.out, "model.safetensors"), metadata={"format": "pt"})
    cfg.save_pretrained(args.out)
    print(json.dumps({"model": args.out, "params": sum(v.numel() for v in state.values())}))


def train(args):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    device = torch.device("cuda")
    base = AutoModelForCausalLM.from_pretrained(args.model, torch_dtype=torch.bfloat16, attn_implementation=args.attn).to(device)
    if args.checkpointing:
        base.gradient_checkpointing_enable()
        base.enable_input_require_grads()
    model = PeftModel.from_pretrained(base, args.adapter, is_trainable=True)
    # Trainable LoRA weights in fp32 (ours trains them in fp32 too); the frozen base stays bf16.
    for p in model.parameters():
        if p.requires_grad:
            p.data = p.data.float()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=args.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    batches = json.load(open(args.batches))
    losses, times, tokens = [], [], []
    torch.cuda.reset_peak_memory_stats()
    with GpuMemorySampler() as sampler:
        for step in range(args.steps):
            b = batches[step % len(batches)]
            ids = torch.tensor(b["input_ids"], device=device)
            mask = torch.tensor(b["attention_mask"], device=device)
            labels = torch.tensor(b["labels"], device=device)
            torch.cuda.synchronize()
            start = time.perf_counter()
            with torch.autocast("cuda", dtype=torch.bfloat16):
                logits = model(input_ids=ids, attention_mask=mask).logits
            # labels are pre-shifted (position i predicts labels[i]), the same convention our engine uses.
            loss = torch.nn.functional.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
            losses.append(loss.item())
            tokens.append(int(mask.sum()))
    measured = list(zip(times, tokens))[args.warmup:]
    print(json.dumps({
        "peer": "transformers + peft",
        "versions": {"torch": torch.__version__, "transformers": __import__("transformers").__version__, "peft": __import__("peft").__version__},
        "losses": losses,
        "step_s": times,
        "tokens_per_s_median": statistics.median(t / s for s, t in measured),
        "peak_allocated_mb": torch.cuda.max_memory_allocated() / 2**20,
        "peak_nvidia_smi_mb": sampler.peak_mb,
        "gradient_checkpointing": args.checkpointing,
    }))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    mm = sub.add_parser("make-model")
    mm.add_argument("--out", required=True)
    mm.add_argument("--shape", default="qwen2.5-0.5b", choices=sorted(SHAPES))
    mm.add_argument("--seed", type=int, default=0)
    tr = sub.add_parser("train")
    tr.add_argument("--model", required=True)
    tr.add_argument("--adapter", required=True)
    tr.add_argument("--batches", required=True)
    tr.add_argument("--steps", type=int, default=50)
    tr.add_argument("--warmup", type=int, default=5)
    tr.add_argument("--lr", type=float, default=2e-4)
    tr.add_argument("--attn", default="sdpa")
    tr.add_argument("--checkpointing", action="store_true")
    args = ap.parse_args()
    make_model(args) if args.cmd == "make-model" else train(args)


if __name__ == "__main__":
    main()
