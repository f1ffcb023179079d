"""`alignx train`: AlignXpert ICA / PBA training (DPO) and their SFT variants, from the command line.

The command's options are the fields of `alignx.training.TrainConfig` (`alignx.options.options_command`
makes them, with their defaults and help); the work lives in `alignx.training`.
`--num-processes N` relaunches the same run under torchrun.
"""

from __future__ import annotations

import os

import typer

from alignx.errors import UserError
from alignx.options import options_command
from alignx.training.config import TrainConfig


def run(config: TrainConfig) -> None:
    """Train AlignXpert (ICA or PBA with DPO; SFT variants) and write a folder `alignx eval --model` loads."""
    from alignx.training.launch import in_launched_world, launch

    if config.num_processes > 1 and not in_launched_world():
        from alignx.training.trainer import check_output, load_tokenizer

        check_output(config)  # fail here in one line rather than in every worker
        load_tokenizer(config)
        status = launch(config)
        if status != 0:
            raise UserError(f"the {config.num_processes} training processes failed (exit {status}); "
                            "see their messages above")
        return

    from alignx.training.trainer import run_training

    result = run_training(config)
    if int(os.environ.get("RANK", "0")) == 0:  # under accelerate launch every rank returns here
        typer.echo(result.summary())


train = options_command(TrainConfig, run, name="train")
