"""``make model``: train the cut-out candidates, choose one on validation photos, install it.

Every step goes through the pipeline (:mod:`lrnbook.stages`), so nothing is trained twice:
the candidates' fit stages (``fit/cutout_*``, models kept in the cache), then the page that
scores them on validation photos and writes the choice (``page/cutout`` ->
``results/cutout/choice.json``), then :func:`lrn.shipped.install` of the chosen model with
the way photos enter it and whether ``lrn whiten`` cleans its map, and the choice's facts on
its card; its files are packed to fit the package and checked on validation photos
(:func:`packing_photos`); last, what ``lrn whiten`` does to the model's map is chosen on
validation photos and written on the card (:mod:`lrnbook.whitening_choice`). A chosen model that is no longer in the cache (a fresh machine) is trained again
by its fit stage.
"""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from lrn import provenance, shipped
from lrn.cache import MODELS, cache_dir
from lrn.data import people
from lrn.errors import InputError
from lrnbook import plan, stages, whitening_choice
from lrnbook.candidate_files import STAGE1, STAGE1_OUTPUTS, STAGE1_SUFFIX
from lrnbook.cutout_page import candidate_labels

PACKING_PHOTOS = 8
"""Validation photos of each kind on which the packed model is checked (:func:`packing_photos`)."""


def chosen(profile: str) -> dict:
    """The choice the ``cutout`` page wrote (candidate, fit, clean, validation means)."""
    path = plan.runs_dir(profile) / "results" / "cutout" / "choice.json"
    if not path.is_file():
        raise InputError(f"no choice at {path}: execute page/cutout first (python -m lrnbook execute --only page/cutout)")
    return json.loads(path.read_text())


def model_folder(profile: str, stage: plan.Stage) -> Path:
    """The cache folder of a trained candidate's model (:func:`lrnbook.stages.model_key`)."""
    return cache_dir() / MODELS / stages.model_key(stages.components(profile, stage))


def ship(profile: str = "cpu", minutes: float | None = None) -> Path:
    """Train what is missing, choose, install; returns the installed model file.

    ``minutes``: as for ``python -m lrnbook execute``, the candidates train for at most this long
    (the ones not finished are left out of the choice until a later call); ``0`` trains nothing
    and installs the choice among the candidates already trained.
    """
    if minutes != 0:
        stages.execute(profile, only="fit/cutout_*", minutes=minutes)
    stages.execute(profile, only="page/cutout")
    choice = chosen(profile)
    candidate = choice["candidate"]
    first_stage = candidate.endswith(STAGE1_SUFFIX)  # a -VGG candidate's first-stage model
    base = candidate[:-len(STAGE1_SUFFIX)] if first_stage else candidate
    name = f"fit/cutout_{base}"
    stages_by_name = {s.name: s for s in plan.plan(profile)}
    stage = stages_by_name[name]
    label = candidate_labels(stages_by_name["page/cutout"].settings["labels"], [candidate])[candidate]
    given = stage.settings.get("model_file")
    folder = None if given else model_folder(profile, stage) / (STAGE1 if first_stage else "")
    if folder is not None and not (folder / "model.keras").is_file():
        if minutes == 0:
            raise InputError(f"the chosen candidate's model is not in the cache ({folder}) and --minutes 0 "
                             f"trains nothing: run `make model` to train it again")
        stages.execute(profile, only=name, force=True)  # the cache lost it: train it again
    log = STAGE1_OUTPUTS[1] if first_stage else "history.csv"
    history, record = provenance.read_csv(plan.runs_dir(profile) / "results" / f"cutout_{base}" / log)
    facts = {"candidate": choice["candidate"], "label": label, "choice": choice, "data": stage.settings.get("data"),
             "counts": record.get("counts")}
    train_seconds = record.get("train_seconds")
    if first_stage:  # its model's provenance has no ids: those of the same data, loaded as its fit loaded them
        facts["data_ids"] = data_ids(stage.settings)
        facts["history"], train_seconds = first_stage_history(history, train_seconds)
    with tempfile.TemporaryDirectory() as tmp:
        if given:  # a model trained before: install a copy under the run-folder name
            folder = Path(tmp)
            shutil.copyfile(plan.runs_dir(profile) / given, folder / "model.keras")
        installed = shipped.install(folder, train_seconds=train_seconds, feed=choice["fit"],
                                    clean=choice["clean"], facts=facts, photos=packing_photos())
    whitening_choice.choose_for_shipped()  # what lrn whiten does to this model's map, on validation photos
    return installed


def first_stage_history(log, train_seconds: float | None = None) -> tuple[dict, float]:
    """The card's ``history`` and training seconds for a first-stage model, whose folder has no
    ``history.csv``: its stage's per-epoch log (a DataFrame with ``val_loss`` and ``seconds``) as
    lists, and ``train_seconds`` or else the sum of its epochs' seconds (epochs trained again after
    a stop are not in the log, so this is the time of the epochs kept)."""
    return log.to_dict("list"), float(train_seconds) if train_seconds else float(log["seconds"].sum())


def data_ids(settings: dict) -> dict:
    """The training and validation ids of a cut-out candidate's data (``settings`` of its fit stage),
    loaded as :mod:`lrnbook.cutoutfit` loads them: ``{"train_ids", "val_ids", "source"}``."""
    data = settings["data"]
    loaded = people.people(settings["config"]["size"], data["fit"], data["ccp_framings"],
                           small_people=data.get("small_people", 0), progress=False)
    return {"train_ids": list(loaded.train.ids), "val_ids": list(loaded.val.ids),
            "source": "loaded again by make model from the fit's data settings (lrnbook.ship.data_ids)"}


def packing_photos(per_kind: int = PACKING_PHOTOS) -> list:
    """The first ``per_kind`` validation photos of every kind, at their own resolution: what the
    packed files are checked on against the float32 model (:func:`lrn.shipped.pack`)."""
    return [photo for _, pairs in people.validation_sets().values() for photo, _ in pairs[:per_kind]]
