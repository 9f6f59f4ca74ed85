"""Training: the paper's two schedules, resumable, logged, seeded.

* ``random`` (``lrn``, ``unet``): Glorot-uniform initialisation, one stage.
* ``vgg`` (``lrn_vgg``, ``unet_vgg``): ImageNet VGG-16 encoder; stage 1 with the encoder
  frozen until the validation loss plateaus, stage 2 with everything trainable until a new
  plateau.

A stage ends at a plateau (``patience`` epochs in a row without a validation loss lower than
the best by more than ``min_improvement``, relative; the best epoch's weights are kept) or at
its epoch limit (the last epoch's weights when there is no ``patience``, else the best).

Adam (learning rate 1e-4 by default) and binary cross-entropy; for LRN Keras sums the BCE of
the six outputs (loss weights all 1) against area-averaged targets (:mod:`lrn.losses`).

A run is resumable: ``keras.callbacks.BackupAndRestore`` keeps a backup after every epoch
in the user cache (:func:`lrn.cache.cache_dir`: ``$LRN_CACHE``, default ``~/.cache/lrn``), outside
the repository, so a killed run picks up at its last finished epoch even from a fresh
checkout. Batches depend only on ``(seed, epoch)`` (:mod:`lrn.augment`), so a resumed run
sees the same data as an uninterrupted one, and the plateau rule keeps its counters and best
weights beside the backup (:class:`lrn.callbacks.Plateau`). ``train(..., deadline=...)`` stops
at an epoch boundary before a wall-clock time and returns an unfinished result; calling it
again with the same settings goes on.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import pandas as pd
import tensorflow as tf

from lrn import __version__, augment, callbacks, losses, models, provenance
from lrn.cache import BACKUPS, cache_dir, sha256_text
from lrn.data import Split
from lrn.errors import InputError
from lrn.variants import is_imagenet, is_lrn


SUPERVISIONS = ("all", "finest")
STOP_ON = ("sum", "finest")
PRECISIONS = ("float32", "mixed_bfloat16")
STRATEGIES = ("default", "mirrored", "multi_worker")


@dataclass
class TrainConfig:
    """Settings of one training run (all of them end up in the provenance record).

    Attributes
    ----------
    variant : ``lrn``, ``lrn_vgg``, ``unet`` or ``unet_vgg``.
    size : input size in pixels (square), a multiple of 32.
    width : filter-count multiplier (1.0 = the paper).
    epochs : epoch limit (per stage for the ``vgg`` schedule).
    batch_size : images per batch.
    learning_rate : Adam's learning rate (the paper: 1e-4).
    seed : seeds Keras, TensorFlow, NumPy and the batch stream.
    patience : epochs in a row without an improving validation loss before a stage stops
        (the best epoch's weights are kept); ``None`` trains exactly ``epochs`` epochs.
    min_improvement : relative: an epoch improves when its validation loss is below
        ``best * (1 - min_improvement)`` (0: any lower loss).
    stop_on : the validation loss the plateau rule watches: ``"sum"`` (Keras' ``val_loss``,
        the training loss, summed over LRN's six levels) or ``"finest"`` (the finest map's
        alone, ``val_s6_loss``: the map that is scored). A U-Net has one map, so the two are
        the same loss and ``"finest"`` is stored as ``"sum"``.
    zoom, rotation_deg, flip, augment : augmentation (:mod:`lrn.augment`).
    backgrounds : dynamic backgrounds (ablation, the paper's future work): half of the
        training photos get another training photo's background (:mod:`lrn.augment`).
    encoder_weights : for ``*_vgg`` variants, ``"imagenet"`` (default: Keras' Oxford weights)
        or a VGG-16 no-top weights file path (e.g. :func:`lrn.vgg_weights.torchvision_vgg16`).
    preprocessing : ``"caffe"`` (default; Keras' weights and random initialisation) or
        ``"torch"`` (torchvision's weights): the mode of the model's preprocessing layer.
    supervision : LRN only: ``"all"`` (the paper: BCE on s1..s6, weights 1) or ``"finest"``
        (ablation: loss on s6 only; s1..s5 are still computed and scored).
    squeeze_skip : LRN only, ablation: put back the original LRN's 1-channel squeeze of the
        skip features.
    strategy : ``"default"`` (one device), ``"mirrored"`` (all local GPUs, or logical CPU
        devices) or ``"multi_worker"`` (hosts listed in ``TF_CONFIG``). ``batch_size`` is the
        global batch, split evenly over the replicas; the learning rate is not rescaled,
        because the per-step gradient is the same average over the same global batch.
    jit_compile : compile the training step with XLA.
    precision : Keras dtype policy of the network: ``"float32"`` (the paper) or
        ``"mixed_bfloat16"`` (bfloat16 arithmetic on float32 weights; the preprocessing, the
        sigmoid label maps and the loss stay float32). One policy for the whole run.
    """

    variant: str = "lrn"
    size: int = 224
    width: float = 1.0
    epochs: int = 50
    batch_size: int = 8
    learning_rate: float = 1e-4
    seed: int = 0
    patience: int | None = 10
    min_improvement: float = 0.0
    zoom: float = 0.1
    rotation_deg: float = 10.0
    flip: bool = True
    augment: bool = True
    backgrounds: bool = False
    encoder_weights: str | None = None
    preprocessing: str = "caffe"
    supervision: str = "all"
    squeeze_skip: bool = False
    strategy: str = "default"
    jit_compile: bool = False
    precision: str = "float32"
    stop_on: str = "sum"

    def __post_init__(self):
        models.check_variant(self.variant)
        models.check_input_shape((self.size, self.size, 3))
        self.width = models.check_width(self.width)
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise InputError(f"{name} must be a positive integer, got {value!r}")
        if not self.learning_rate > 0:
            raise InputError(f"learning_rate must be > 0, got {self.learning_rate!r}")
        if self.patience is not None and (not isinstance(self.patience, int) or self.patience < 1):
            raise InputError(f"patience must be a positive integer or None, got {self.patience!r}")
        if not 0 <= self.min_improvement < 1:
            raise InputError(f"min_improvement must be in [0, 1), got {self.min_improvement!r}")
        if self.stop_on not in STOP_ON:
            raise InputError(f"stop_on must be one of {', '.join(STOP_ON)}, got {self.stop_on!r}")
        if not is_lrn(self.variant):
            self.stop_on = "sum"  # one map: its loss is the sum
        if not 0 <= self.zoom < 1:
            raise InputError(f"zoom must be in [0, 1), got {self.zoom!r}")
        if not 0 <= self.rotation_deg <= 180:
            raise InputError(f"rotation_deg must be in [0, 180], got {self.rotation_deg!r}")
        if self.supervision not in SUPERVISIONS:
            raise InputError(f"supervision must be one of {', '.join(SUPERVISIONS)}, got {self.supervision!r}")
        if self.preprocessing not in models.PREPROCESSING:
            raise InputError(f"preprocessing must be one of {', '.join(models.PREPROCESSING)}, "
                             f"got {self.preprocessing!r}")
        if self.precision not in PRECISIONS:
            raise InputError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.strategy not in STRATEGIES:
            raise InputError(f"strategy must be one of {', '.join(STRATEGIES)}, got {self.strategy!r}")
        if not is_lrn(self.variant) and (self.supervision != "all" or self.squeeze_skip):
            raise InputError(f"supervision and squeeze_skip are LRN options; variant is {self.variant!r}")
        if self.schedule == "vgg" and self.encoder_weights is None:
            self.encoder_weights = "imagenet"
        if self.schedule == "random" and self.encoder_weights is not None:
            raise InputError(f"variant {self.variant!r} starts from Glorot-uniform weights; "
                             f"use {self.variant}_vgg for encoder_weights={self.encoder_weights!r}")

    @property
    def schedule(self) -> str:
        return "vgg" if is_imagenet(self.variant) else "random"

    @property
    def n_levels(self) -> int:
        return losses.N_LEVELS if is_lrn(self.variant) else 1

    @property
    def monitor(self) -> str:
        """The key of the validation loss in Keras' epoch logs that the plateau rule watches."""
        return "val_loss" if self.stop_on == "sum" else f"val_{models.LEVEL_NAMES[-1]}_loss"

    def to_dict(self) -> dict:
        settings = dataclasses.asdict(self)
        if settings["stop_on"] == "sum":  # the rule every run used before the option existed: same key
            del settings["stop_on"]
        return settings


@dataclass
class TrainResult:
    """What :func:`train` returns.

    ``finished`` is ``False`` when a deadline stopped it: then ``model`` holds the last
    epoch's weights, nothing is saved in ``run_dir`` but the CSV logs, and the backups stay
    for the next call to go on from.
    """

    model: keras.Model
    history: pd.DataFrame  # one row per epoch: stage, epoch, loss, val_loss, per-level losses, seconds
    run_dir: Path
    provenance: dict
    finished: bool = True


def run_key(config: TrainConfig, train: Split, val: Split) -> str:
    """A short hash naming a run by its settings and the exact training and validation data."""
    payload = json.dumps({"config": config.to_dict(), "train": [train.manifest_sha256, train.ids],
                          "val": [val.manifest_sha256, val.ids], "lrn": __version__},
                         sort_keys=True)
    return sha256_text(payload)[:16]


def distribution_strategy(name: str) -> tf.distribute.Strategy:
    """The ``tf.distribute`` strategy called ``name`` (see :class:`TrainConfig`)."""
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def build(config: TrainConfig) -> keras.Model:
    """The network of ``config`` with its initial weights (seeded)."""
    keras.utils.set_random_seed(config.seed)
    extra = {"squeeze_skip": True} if config.squeeze_skip else {}
    before = keras.config.dtype_policy()
    keras.config.set_dtype_policy(config.precision)  # read by every layer as it is created
    try:
        return models.build_model(config.variant, (config.size, config.size, 3), width=config.width,
                                  encoder_weights=config.encoder_weights, preprocessing=config.preprocessing, **extra)
    finally:
        keras.config.set_dtype_policy(before)


def compile_model(model: keras.Model, learning_rate: float, supervision: str = "all",
                  jit_compile: bool = False) -> None:
    """Adam + BCE on every output (Keras sums them with weight 1: the LRN loss).

    ``supervision="finest"`` gives the coarse outputs weight 0 (ablation).
    """
    n = len(model.outputs)
    weights = [1.0] * n if supervision == "all" else [0.0] * (n - 1) + [1.0]
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=[losses.bce() for _ in range(n)],
                  loss_weights=weights, jit_compile=jit_compile)


LATEST_WEIGHTS = "latest.weights.h5"
"""The file ``keras.callbacks.BackupAndRestore`` keeps the last finished epoch's weights in."""


def backup_epoch(backup_dir: Path) -> int:
    """The epochs a stage has finished according to its backup (0 when there is none)."""
    meta = backup_dir / "training_metadata.json"
    return int(json.loads(meta.read_text())["epoch"]) if meta.exists() else 0


def read_log(path: Path, stage: int) -> pd.DataFrame:
    """A stage's CSV log (the last row of an epoch logged twice wins), with its ``stage``."""
    log = pd.read_csv(path).drop_duplicates("epoch", keep="last") if path.exists() else pd.DataFrame()
    return log.assign(stage=stage)


def fit_stage(model, config: TrainConfig, train: Split, val: Split, stage: int, run_dir: Path,
              backup_dir: Path, verbose, strategy: tf.distribute.Strategy,
              deadline: float | None = None) -> tuple[pd.DataFrame, bool]:
    """Train one stage until a plateau, its epoch limit or ``deadline``.

    Returns the stage's per-epoch log and whether the stage is finished; a finished stage
    leaves ``model`` with the weights it keeps (see the module doc). A stage found finished
    in ``backup_dir`` is not trained again. ``strategy`` must be the one the model was built
    under (variables belong to it).
    """
    with strategy.scope():
        compile_model(model, config.learning_rate, config.supervision, config.jit_compile)
    log_path = run_dir / f"history_stage{stage}.csv"
    plateau = (callbacks.Plateau(backup_dir, config.patience, config.min_improvement, config.monitor)
               if config.patience else None)
    start = backup_epoch(backup_dir)
    stopper = callbacks.Deadline(deadline) if deadline is not None else None
    trainable = start < config.epochs and not (plateau and plateau.stopped)
    if trainable and stopper and time.time() >= stopper.deadline:
        pass  # no time left to start an epoch: unfinished
    elif trainable:
        batches = augment.training_batches(
            train.images, train.masks, config.batch_size, n_levels=config.n_levels, seed=config.seed + 1000 * stage,
            start_epoch=start, epochs=config.epochs, augment=config.augment, zoom=config.zoom,
            rotation_deg=config.rotation_deg, flip=config.flip, backgrounds=config.backgrounds)
        val_batches = augment.eval_batches(val.images, val.masks, config.batch_size, n_levels=config.n_levels)
        # Order matters at an epoch's end: its time reaches the CSV log, and the plateau state is
        # written before the backup, so a restart never sees a backup ahead of the plateau state.
        # Only a resumed stage appends to its log; a fresh one replaces an earlier run's.
        stage_callbacks = [callbacks.EpochSeconds(), *([plateau] if plateau else []),
                           keras.callbacks.BackupAndRestore(str(backup_dir), delete_checkpoint=False),
                           keras.callbacks.CSVLogger(str(log_path), append=start > 0),
                           *([stopper] if stopper else [])]
        model.fit(batches, validation_data=val_batches, epochs=config.epochs, shuffle=False,
                  steps_per_epoch=augment.steps_per_epoch(len(train), config.batch_size),
                  callbacks=stage_callbacks, verbose=verbose)
    else:  # finished before: take the weights it ended with (the plateau's best, below)
        model.load_weights(backup_dir / LATEST_WEIGHTS)
    finished = backup_epoch(backup_dir) >= config.epochs or bool(plateau and plateau.stopped)
    if finished and plateau:
        plateau.restore_best(model)
    return read_log(log_path, stage), finished


def train(config: TrainConfig, train_split: Split, val_split: Split, run_dir, *, verbose="auto",
          deterministic: bool = True, deadline: float | None = None) -> TrainResult:
    """Train ``config.variant`` on ``train_split``, judging plateaus on ``val_split``.

    Writes into ``run_dir``: ``history_stage*.csv`` (Keras CSV logs, with each epoch's
    ``seconds``), ``history.csv`` (all stages, with provenance), ``model.keras`` (with
    provenance). Backups live in ``cache_dir() / "backups" / run_key(...)`` and are removed once
    the run is complete.

    ``deterministic`` turns on TensorFlow's op determinism (same seed -> same bits on the
    same machine, thread count and oneDNN setting). ``deadline`` (``time.time()`` seconds):
    stop at the last epoch boundary before it and return ``finished=False``; the same call
    later goes on from there.
    """
    if len(train_split) == 0 or len(val_split) == 0:
        raise InputError("training and validation splits must both hold images")
    if train_split.images.shape[1:3] != (config.size, config.size):
        raise InputError(f"training images are {train_split.images.shape[1:3]}, config.size is {config.size}")
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    key = run_key(config, train_split, val_split)
    backups = cache_dir() / BACKUPS / key
    strategy = distribution_strategy(config.strategy)  # one per run: build and compile under the same
    with strategy.scope():
        model = build(config)

    def stage(number: int) -> bool:
        log, finished = fit_stage(model, config, train_split, val_split, number, run_dir,
                                  backups / f"stage{number}", verbose, strategy, deadline)
        logs.append(log)
        return finished

    logs = []
    if config.schedule == "vgg":
        done = backups / "stage1_done.weights.h5"
        if done.exists():
            model.load_weights(done)
            logs.append(read_log(run_dir / "history_stage1.csv", 1))
        else:
            models.freeze_encoder(model)
            if not stage(1):
                return TrainResult(model, pd.concat(logs, ignore_index=True), run_dir, {}, finished=False)
            models.unfreeze_encoder(model)
            model.save_weights(done)
        finished = stage(2)
    else:
        finished = stage(1)
    history = pd.concat(logs, ignore_index=True)
    if not finished:
        return TrainResult(model, history, run_dir, {}, finished=False)
    record = provenance.record(config.seed, {**config.to_dict(), "run_key": key,
                                             "train_ids": train_split.ids, "val_ids": val_split.ids},
                               train_split.manifest_sha256)
    provenance.write_csv(history, run_dir / "history.csv", record)
    provenance.save_model(model, run_dir / "model.keras", record)
    shutil.rmtree(backups, ignore_errors=True)
    return TrainResult(model, history, run_dir, record)
