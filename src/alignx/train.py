"""`alignx train`: AlignXpert ICA / PBA training (DPO) and their SFT variants, from the command line.

Options map one to one onto `alignx.training.TrainConfig`; the work lives in `alignx.training`.
`--num-processes N` relaunches the same run under torchrun.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from alignx.training.config import TrainConfig


def train(
    output: Annotated[str, typer.Option("--output", "-o", help="Folder for the trained adapter/weights, "
                                        "tokenizer, alignx_training.json, train_log.jsonl, checkpoints.")],
    method: Annotated[str, typer.Option(help="ica | pba (DPO) or sft-ica | sft-pba (SFT on chosen).")] = "ica",
    data: Annotated[str, typer.Option(help="A .json/.jsonl/.parquet file, a hub dataset id or folder, "
                                      "or 'demo'.")] = "demo",
    split: Annotated[str, typer.Option(help="Split of a hub dataset or of 'demo'.")] = "train",
    model: Annotated[str, typer.Option(help="'default' (embedded SmolLM2-135M-Instruct), a hub id or a "
                                       "local model folder.")] = "default",
    with_demographic: Annotated[bool, typer.Option(help="ICA prompts also carry the user's DEMO text, as the "
                                                   "evaluation prompt does (persona 'all').")] = True,
    history_targets: Annotated[bool, typer.Option(help="Also learn each PAIR history item as a pair, the rest "
                                                  "of the user's history as its persona (up to 5 examples "
                                                  "per record).")] = True,
    contrast_batches: Annotated[bool, typer.Option(help="Order the data so that opposite choices on the same "
                                                   "post fall in one optimizer step.")] = True,
    subset_size: Annotated[int | None, typer.Option(help="Train on N records drawn at random (seeded); "
                                                    "the paper's 7% subset is 91918.")] = None,
    lora: Annotated[bool, typer.Option(help="Train a LoRA adapter (PEFT) instead of all weights.")] = False,
    lora_rank: Annotated[int, typer.Option(help="LoRA rank r.")] = 16,
    lora_alpha: Annotated[int, typer.Option(help="LoRA alpha (scale alpha/r).")] = 32,
    lora_dropout: Annotated[float, typer.Option(help="LoRA dropout.")] = 0.0,
    lora_targets: Annotated[str, typer.Option(help="'all-linear' or module names, e.g. q_proj,v_proj.")]
    = "all-linear",
    learning_rate: Annotated[float | None, typer.Option(help="Default: 5e-7 DPO (paper), 2e-5 SFT, "
                                                        "1e-3 with --lora.")] = None,
    beta: Annotated[float, typer.Option(help="DPO beta.")] = 0.1,
    epochs: Annotated[float, typer.Option(help="Passes over the data.")] = 1.0,
    max_steps: Annotated[int | None, typer.Option(help="Stop after N optimizer steps (wins over --epochs).")]
    = None,
    batch_size: Annotated[int, typer.Option(help="Pairs per process per forward pass.")] = 1,
    grad_accum: Annotated[int, typer.Option(help="Forward passes per optimizer step.")] = 8,
    max_length: Annotated[int, typer.Option(help="Prompt + response tokens; prompts are cut from the "
                                            "left.")] = 8192,
    warmup_ratio: Annotated[float, typer.Option(help="Share of steps with linear warmup.")] = 0.03,
    lr_scheduler: Annotated[str, typer.Option(help="transformers scheduler name.")] = "cosine",
    precompute_ref_log_probs: Annotated[bool, typer.Option(help="Score the reference model once before "
                                                           "training (DPO).")] = False,
    bf16: Annotated[bool, typer.Option(help="bf16 mixed precision (GPUs).")] = False,
    gradient_checkpointing: Annotated[bool, typer.Option(help="Recompute activations to save memory.")] = False,
    save_steps: Annotated[int, typer.Option(help="Checkpoint every N steps.")] = 500,
    save_total_limit: Annotated[int | None, typer.Option(help="Keep only the newest N checkpoints.")] = None,
    logging_steps: Annotated[int, typer.Option(help="Log every N steps.")] = 1,
    report_to: Annotated[str, typer.Option(help="Trainer integrations: none, wandb, tensorboard, ... "
                                           "(comma-separated).")] = "none",
    num_processes: Annotated[int, typer.Option(help="Data-parallel processes on this machine (torchrun).")] = 1,
    dataset_num_proc: Annotated[int | None, typer.Option(help="Processes rendering/tokenizing the data.")]
    = None,
    seed: Annotated[int, typer.Option(help="Seeds the history draws, the data order and the adapter.")] = 42,
    resume: Annotated[bool, typer.Option(help="Continue from the last checkpoint in --output.")] = False,
    overwrite: Annotated[bool, typer.Option(help="Discard a previous run in --output.")] = False,
) -> None:
    """Train AlignXpert (ICA or PBA with DPO; SFT variants) and write a folder `alignx eval --model` loads."""
    config = TrainConfig(
        output=output, method=method, data=data, split=split, model=model, with_demographic=with_demographic,
        history_targets=history_targets, contrast_batches=contrast_batches, subset_size=subset_size, seed=seed,
        beta=beta, learning_rate=learning_rate, epochs=epochs, max_steps=max_steps, batch_size=batch_size,
        grad_accum=grad_accum, max_length=max_length,
        warmup_ratio=warmup_ratio, lr_scheduler=lr_scheduler, precompute_ref_log_probs=precompute_ref_log_probs,
        lora=lora, lora_rank=lora_rank, lora_alpha=lora_alpha, lora_dropout=lora_dropout, lora_targets=lora_targets,
        bf16=bf16, gradient_checkpointing=gradient_checkpointing, save_steps=save_steps,
        save_total_limit=save_total_limit, logging_steps=logging_steps, report_to=report_to,
        num_processes=num_processes, dataset_num_proc=dataset_num_proc, resume=resume, overwrite=overwrite,
    )
    from alignx.training.launch import in_launched_world, launch

    if config.num_processes > 1 and not in_launched_world():
        from alignx.training.trainer import check_output, load_tokenizer

        check_output(config)  # fail here in one line rather than in every worker
        load_tokenizer(config)
        status = launch(config)
        if status != 0:
            raise ValueError(f"the {config.num_processes} training processes failed (exit {status}); "
                             "see their messages above")
        return

    from alignx.training.trainer import train as run

    result = run(config)
    if int(os.environ.get("RANK", "0")) == 0:  # under accelerate launch every rank returns here
        typer.echo(result.summary(), err=True)
