"""Training: the paper's two schedules, resumable, logged, seeded.

* ``random`` (``lrn``, ``unet``): Glorot-uniform initialisation, one stage.
* ``vgg`` (``lrn_vgg``, ``unet_vgg``): ImageNet VGG-16 encoder; stage 1 with the encoder
  frozen until the validation loss plateaus, stage 2 with everything trainable until a new
  plateau.

Adam (learning rate 1e-4 by default) and binary cross-entropy; for LRN Keras sums the BCE of
the six outputs (loss weights all 1) against area-averaged targets (:mod:`lrn.losses`).

A run is resumable: ``keras.callbacks.BackupAndRestore`` keeps a backup after every epoch
in the user cache (:func:`lrn.cache.cache_dir`: ``$LRN_CACHE``, default ``~/.cache/lrn``), outside
the repository, so a killed run picks up at its last finished epoch even from a fresh
checkout. Batches depend only on ``(seed, epoch)`` (:mod:`lrn.augment`), so a resumed run
sees the same data as an uninterrupted one. Early-stopping counters are not part of the
backup: after a resume, patience counts again from the resumed epoch.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import keras
import pandas as pd
import tensorflow as tf

from lrn import __version__, augment, losses, models, provenance
from lrn.cache import cache_dir
from lrn.data import Split
from lrn.errors import InputError


SUPERVISIONS = ("all", "finest")
STRATEGIES = ("default", "mirrored", "multi_worker")


@dataclass
class TrainConfig:
    """Settings of one training run (all of them end up in the provenance record).

    Attributes
    ----------
    variant : ``lrn``, ``lrn_vgg``, ``unet`` or ``unet_vgg``.
    size : input size in pixels (square), a multiple of 32.
    width : filter-count multiplier (1.0 = the paper).
    epochs : maximum epochs (per stage for the ``vgg`` schedule).
    batch_size : images per batch.
    learning_rate : Adam's learning rate (the paper: 1e-4).
    seed : seeds Keras, TensorFlow, NumPy and the batch stream.
    patience : epochs without a lower validation loss before a stage stops (the best
        weights are kept); ``None`` trains exactly ``epochs`` epochs.
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
    """

    variant: str = "lrn"
    size: int = 224
    width: float = 1.0
    epochs: int = 50
    batch_size: int = 8
    learning_rate: float = 1e-4
    seed: int = 0
    patience: int | None = 10
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
        if not 0 <= self.zoom < 1:
            raise InputError(f"zoom must be in [0, 1), got {self.zoom!r}")
        if not 0 <= self.rotation_deg <= 180:
            raise InputError(f"rotation_deg must be in [0, 180], got {self.rotation_deg!r}")
        if self.supervision not in SUPERVISIONS:
            raise InputError(f"supervision must be one of {', '.join(SUPERVISIONS)}, got {self.supervision!r}")
        if self.preprocessing not in models.PREPROCESSING:
            raise InputError(f"preprocessing must be one of {', '.join(models.PREPROCESSING)}, "
                             f"got {self.preprocessing!r}")
        if self.strategy not in STRATEGIES:
            raise InputError(f"strategy must be one of {', '.join(STRATEGIES)}, got {self.strategy!r}")
        if not self.variant.startswith("lrn") and (self.supervision != "all" or self.squeeze_skip):
            raise InputError(f"supervision and squeeze_skip are LRN options; variant is {self.variant!r}")
        if self.schedule == "vgg" and self.encoder_weights is None:
            self.encoder_weights = "imagenet"
        if self.schedule == "random" and self.encoder_weights is not None:
            raise InputError(f"variant {self.variant!r} starts from Glorot-uniform weights; "
                             f"use {self.variant}_vgg for encoder_weights={self.encoder_weights!r}")

    @property
    def schedule(self) -> str:
        return "vgg" if self.variant.endswith("_vgg") else "random"

    @property
    def n_levels(self) -> int:
        return losses.N_LEVELS if self.variant.startswith("lrn") else 1

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class TrainResult:
    model: keras.Model
    history: pd.DataFrame  # one row per epoch: stage, epoch, loss, val_loss, per-level losses
    run_dir: Path
    provenance: dict


def run_key(config: TrainConfig, train: Split, val: Split) -> str:
    """A short hash naming a run by its settings and the exact training and validation data."""
    payload = json.dumps({"config": config.to_dict(), "train": [train.manifest_sha256, train.ids],
                          "val": [val.manifest_sha256, val.ids], "lrn": __version__},
                         sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


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
    return models.build_model(config.variant, (config.size, config.size, 3), width=config.width,
                              encoder_weights=config.encoder_weights, preprocessing=config.preprocessing, **extra)


def compile_model(model: keras.Model, learning_rate: float, supervision: str = "all",
                  jit_compile: bool = False) -> None:
    """Adam + BCE on every output (Keras sums them with weight 1: the LRN loss).

    ``supervision="finest"`` gives the coarse outputs weight 0 (ablation).
    """
    n = len(model.outputs)
    weights = [1.0] * n if supervision == "all" else [0.0] * (n - 1) + [1.0]
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=[losses.bce() for _ in range(n)],
                  loss_weights=weights, jit_compile=jit_compile)


def backup_epoch(backup_dir: Path) -> int:
    """The epoch a resumed stage starts at (0 when there is no backup)."""
    meta = backup_dir / "training_metadata.json"
    return int(json.loads(meta.read_text())["epoch"]) if meta.exists() else 0


def fit_stage(model, config: TrainConfig, train: Split, val: Split, stage: int, run_dir: Path,
              backup_dir: Path, verbose, strategy: tf.distribute.Strategy) -> pd.DataFrame:
    """Train one stage until ``config.epochs`` or a plateau; returns its per-epoch log.

    ``strategy`` must be the one the model was built under (variables belong to it).
    """
    with strategy.scope():
        compile_model(model, config.learning_rate, config.supervision, config.jit_compile)
    start = backup_epoch(backup_dir)
    batches = augment.training_batches(
        train.images, train.masks, config.batch_size, n_levels=config.n_levels, seed=config.seed + 1000 * stage,
        start_epoch=start, epochs=config.epochs, augment=config.augment, zoom=config.zoom,
        rotation_deg=config.rotation_deg, flip=config.flip, backgrounds=config.backgrounds)
    val_batches = augment.eval_batches(val.images, val.masks, config.batch_size, n_levels=config.n_levels)
    log_path = run_dir / f"history_stage{stage}.csv"
    # Only a resumed stage appends to its log; a fresh one replaces an earlier run's.
    callbacks = [keras.callbacks.BackupAndRestore(str(backup_dir), delete_checkpoint=False),
                 keras.callbacks.CSVLogger(str(log_path), append=start > 0)]
    if config.patience is not None:
        callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.patience,
                                                       restore_best_weights=True))
    if start < config.epochs:
        model.fit(batches, validation_data=val_batches, epochs=config.epochs, shuffle=False,
                  steps_per_epoch=augment.steps_per_epoch(len(train), config.batch_size),
                  callbacks=callbacks, verbose=verbose)
    log = pd.read_csv(log_path).drop_duplicates("epoch", keep="last") if log_path.exists() else pd.DataFrame()
    return log.assign(stage=stage)


def train(config: TrainConfig, train_split: Split, val_split: Split, run_dir, *, verbose="auto",
          deterministic: bool = True) -> TrainResult:
    """Train ``config.variant`` on ``train_split``, judging plateaus on ``val_split``.

    Writes into ``run_dir``: ``history_stage*.csv`` (Keras CSV logs), ``history.csv`` (all
    stages, with provenance), ``model.keras`` (with provenance). Backups live in
    ``cache_dir() / "backups" / run_key(...)`` and are removed once the run is complete.

    ``deterministic`` turns on TensorFlow's op determinism (same seed -> same bits on the
    same machine, thread count and oneDNN setting).
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
    backups = cache_dir() / "backups" / key
    strategy = distribution_strategy(config.strategy)  # one per run: build and compile under the same
    with strategy.scope():
        model = build(config)

    logs = []
    if config.schedule == "vgg":
        done = backups / "stage1_done.weights.h5"
        if done.exists():
            model.load_weights(done)
            logs.append(pd.read_csv(run_dir / "history_stage1.csv").drop_duplicates("epoch", keep="last")
                        .assign(stage=1))
        else:
            models.freeze_encoder(model)
            logs.append(fit_stage(model, config, train_split, val_split, 1, run_dir, backups / "stage1", verbose,
                                  strategy))
            models.unfreeze_encoder(model)
            model.save_weights(done)
        logs.append(fit_stage(model, config, train_split, val_split, 2, run_dir, backups / "stage2", verbose,
                              strategy))
    else:
        logs.append(fit_stage(model, config, train_split, val_split, 1, run_dir, backups / "stage1", verbose,
                              strategy))

    history = pd.concat(logs, ignore_index=True)
    record = provenance.record(config.seed, {**config.to_dict(), "run_key": key,
                                             "train_ids": train_split.ids, "val_ids": val_split.ids},
                               train_split.manifest_sha256)
    provenance.write_csv(history, run_dir / "history.csv", record)
    provenance.save_model(model, run_dir / "model.keras", record)
    shutil.rmtree(backups, ignore_errors=True)
    return TrainResult(model, history, run_dir, record)
