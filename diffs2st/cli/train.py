"""`diffs2st train CONFIG --out DIR [--resume]`: train any registered task with the shared harness;
`diffs2st snapshot RUN -o DIR [--like CHECKPOINT]`: a running training's last checkpoint as a model folder."""

from __future__ import annotations

from ..errors import ConfigError
from .main import add_command


def _run(args) -> int:
    from ..checkpoint import initialize_from
    from ..training.harness import train
    from ..training.tasks import build_run, load_run_config

    if args.init_from and args.resume:
        raise ConfigError("--init-from starts a new run from a checkpoint's weights; --resume continues a run "
                          "(it has its own weights): use one")
    if args.fresh and not args.init_from:
        raise ConfigError("--fresh names parts to leave out of --init-from's weights: give --init-from too")
    config = load_run_config(args.config, args.set)
    model, dataset, collate_fn = build_run(config)
    if args.init_from:
        initialize_from(model, args.init_from, fresh=args.fresh)
    result = train(model, dataset, config.trainer, args.out, resume=args.resume, collate_fn=collate_fn,
                   command=args.command_line)
    if result.metrics.get("world_size", 1) == 1 or result.run_dir.joinpath("model").exists():
        print(f"trained {config.task} for {result.steps} steps; model exported to {result.model_dir}")
    return 0


def _snapshot(args) -> int:
    from ..training.harness import snapshot

    folder = snapshot(args.run, args.out, like=args.like)
    print(f"exported the EMA weights of {args.run}'s last checkpoint to {folder}")
    return 0


def register(subparsers) -> None:
    parser = add_command(subparsers, "train")
    parser.add_argument("config", help="run config YAML with sections task, model, data, trainer")
    parser.add_argument("-o", "--out", required=True, help="run folder (checkpoints/, logs/, model/)")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/checkpoints/last.ckpt")
    parser.add_argument("--init-from", default=None, metavar="CHECKPOINT",
                        help="start from the weights of a checkpoint directory (fine-tuning; config from CONFIG)")
    parser.add_argument("--fresh", action="append", default=[], metavar="PART",
                        help="with --init-from: leave this part (a tensor-name prefix, e.g. decoder.) at its fresh "
                             "initialisation, in whatever shape CONFIG gives it (repeatable)")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override a config value (repeatable), e.g. --set trainer.max_steps=500")
    parser.set_defaults(func=_run)

    parser = add_command(subparsers, "snapshot")
    parser.add_argument("run", help="run folder of `diffs2st train` (its checkpoints/last.ckpt is read)")
    parser.add_argument("--like", default=None, metavar="CHECKPOINT",
                        help="rebuild the model from this checkpoint's config instead of RUN/architecture.yaml "
                             "(for runs started before that file was written)")
    parser.add_argument("-o", "--out", required=True, help="model folder to write")
    parser.set_defaults(func=_snapshot)
