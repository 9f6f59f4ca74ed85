"""A trained model beside the shipped one on the shipped model's validation photos.

    python tools/compare_with_shipped.py MODEL.keras HISTORY.csv

The shipped model (``lrn.pretrained()``) was trained on EG1800's full training split with
129 photos held out for validation (protocol ``full``, seed 0). Those photos are scored here
at 224x224 for both models, leaving out any that the other model trained on or validated on
(``HISTORY.csv``'s provenance lists them): no test photo plays a part. Prints the mean
Jaccard (%) and Hausdorff (px) of each, raw and cleaned, and the paired differences with
their 95 % intervals (:func:`lrnbook.stats.paired_difference`).
"""
from __future__ import annotations

import sys


def main(argv=None) -> int:
    argv = argv if argv is not None else sys.argv[1:]
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    import lrn
    from lrn import data, evaluate, models, predict, provenance
    from lrnbook.stats import paired_difference

    _, record = provenance.read_csv(argv[1])
    seen = set(record["settings"]["train_ids"]) | set(record["settings"]["val_ids"])
    val = data.eg1800(protocol="full", size=224, seed=0).val
    keep = [i for i, photo in enumerate(val.ids) if photo not in seen]
    print(f"{len(keep)} of the shipped model's {len(val.ids)} validation photos are unseen by {argv[0]}")
    images, truths = val.images[keep], val.masks[keep]
    scores = {}
    for name, model in (("shipped", lrn.pretrained().network), ("other", models.load(argv[0]))):
        finest = predict.predict_levels(model, images)[-1]
        for clean in (False, True):
            scores[name, clean] = evaluate.score_maps(truths, finest, clean=clean)
    for clean in (False, True):
        label = "cleaned" if clean else "raw"
        (js, hs), (jo, ho) = scores["shipped", clean], scores["other", clean]
        dj, dh = paired_difference(jo, js), paired_difference(hs, ho)
        print(f"{label:8} shipped {js.mean():.2f} % / {hs.mean():.2f} px   other {jo.mean():.2f} % / {ho.mean():.2f} px   "
              f"other - shipped: Jaccard {dj['mean_diff']:+.2f} pp [{dj['ci_low']:+.2f}, {dj['ci_high']:+.2f}], "
              f"Hausdorff gain {dh['mean_diff']:+.2f} px [{dh['ci_low']:+.2f}, {dh['ci_high']:+.2f}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
