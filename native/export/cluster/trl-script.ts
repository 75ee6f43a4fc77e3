// The TRL export's train.py: TRL's SFTTrainer with a PEFT LoraConfig, every setting read from train_config.json
// (trl.ts writes it; the script has no settings of its own). LoRA+ goes through PEFT's create_loraplus_optimizer in
// create_optimizer (the Trainer refuses a ready-made optimizer under DeepSpeed and FSDP); PiSSA/OLoRA adapters are
// converted to LoRAs of the original base after training (PEFT's path_initial_model_for_weight_conversion), as
// LoRA Studio saves them; trainer.save_state() leaves trainer_state.json (the loss curve "Watch External Run…" reads).

export const TRL_SCRIPT = `#!/usr/bin/env python3
"""LoRA fine-tuning with TRL's SFTTrainer and the settings of a LoRA Studio run (train_config.json beside this file).

Written by \`lora-studio export --format trl\`. Launch it with launch.sh (one node) or launch-multinode.sh (several).
"""
import json
import os

import torch
from datasets import load_dataset
from peft import LoraConfig
from peft.optimizers import create_loraplus_optimizer
from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig
from trl import SFTConfig, SFTTrainer

HERE = os.path.dirname(os.path.abspath(__file__))


def load_settings():
    with open(os.path.join(HERE, "train_config.json"), encoding="utf-8") as f:
        return json.load(f)


class LoraPlusSFTTrainer(SFTTrainer):
    """SFTTrainer whose AdamW gives the LoRA B matrices loraplus_lr_ratio times the learning rate (LoRA+)."""

    loraplus_lr_ratio = 1.0

    def create_optimizer(self):
        if self.optimizer is None:
            self.optimizer = create_loraplus_optimizer(
                model=self.model,
                optimizer_cls=torch.optim.AdamW,
                lr=self.args.learning_rate,
                loraplus_lr_ratio=self.loraplus_lr_ratio,
                weight_decay=self.args.weight_decay,
            )
        return self.optimizer


def main():
    settings = load_settings()
    os.chdir(HERE)
    args = SFTConfig(**settings["sft"])
    dtype = torch.bfloat16 if args.bf16 else torch.float16 if args.fp16 else torch.float32
    model_kwargs = {"dtype": dtype}
    if settings["bnb"] is not None:
        bnb = dict(settings["bnb"])
        for key in ("bnb_4bit_compute_dtype", "bnb_4bit_quant_storage"):
            if key in bnb:
                bnb[key] = getattr(torch, bnb[key])
        model_kwargs["quantization_config"] = BitsAndBytesConfig(**bnb)
    model = AutoModelForCausalLM.from_pretrained(settings["model"], **model_kwargs)
    tokenizer = AutoTokenizer.from_pretrained(settings["model"])

    files = {"train": settings["train_file"]}
    if settings["eval_file"]:
        files["eval"] = settings["eval_file"]
    data = load_dataset("json", data_files=files)

    trainer_cls = SFTTrainer
    if settings["loraplus_lr_ratio"] is not None:
        trainer_cls = LoraPlusSFTTrainer
        trainer_cls.loraplus_lr_ratio = settings["loraplus_lr_ratio"]
    trainer = trainer_cls(
        model=model,
        args=args,
        train_dataset=data["train"],
        eval_dataset=data["eval"] if "eval" in data else None,
        processing_class=tokenizer,
        peft_config=LoraConfig(**settings["lora"]),
    )

    initial = os.path.join(args.output_dir, "initial_adapter")
    convert = settings["convert_residual_adapter"]
    if convert:
        # PEFT's recipe: the adapter as initialized, saved before any step, to turn the trained one into a plain LoRA.
        peft_config = trainer.model.peft_config["default"]
        init = peft_config.init_lora_weights
        peft_config.init_lora_weights = True
        trainer.model.save_pretrained(initial)
        peft_config.init_lora_weights = init

    trainer.train()
    if settings["eval_file"] and args.eval_strategy == "no":
        trainer.evaluate()
    trainer.save_state()
    if convert:
        trainer.model.save_pretrained(args.output_dir, path_initial_model_for_weight_conversion=initial)
    else:
        trainer.save_model(args.output_dir)
    tokenizer.save_pretrained(args.output_dir)


if __name__ == "__main__":
    main()
`;
