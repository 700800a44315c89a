"""Question/answer layouts of the published Galaxy Zoo decision trees.

Facts (question and answer names, which answer leads to which question) follow
Zoobot's ``galaxy_datasets.shared.label_metadata``; the code is this package's
own. Each layout is a pair: ``<name>_pairs`` maps a question to its answer
suffixes (label column = question + suffix) and ``<name>_dependencies`` maps a
question to the answer after which it is asked (``None``: always asked).
"""

from __future__ import annotations

__all__ = [
    "extract_questions_and_label_cols",
    "decals_dr12_ortho_pairs",
    "decals_dr5_ortho_pairs",
    "decals_dr8_ortho_pairs",
    "decals_all_campaigns_ortho_pairs",
    "decals_ortho_dependencies",
    "desi_pairs",
    "desi_dependencies",
    "gz2_ortho_pairs",
    "gz2_ortho_dependencies",
    "gz2_pairs",
    "gz2_dependencies",
    "rings_pairs",
    "rings_dependencies",
]

Pairs = dict[str, list[str]]
Dependencies = dict[str, str | None]


def extract_questions_and_label_cols(question_answer_pairs: Pairs) -> tuple[list[str], list[str]]:
    """Return the questions and the label columns (question + answer suffix, in order).

    Example:
        >>> extract_questions_and_label_cols({"ring": ["_yes", "_no"]})
        (['ring'], ['ring_yes', 'ring_no'])
    """
    questions = list(question_answer_pairs)
    label_cols = [q + a for q, answers in question_answer_pairs.items() for a in answers]
    return questions, label_cols


def _rename(pairs: Pairs, deps: Dependencies, old: str, new: str) -> tuple[Pairs, Dependencies]:
    """Copy a layout, replacing the question suffix ``old`` by ``new``."""
    new_pairs = {q.replace(old, new): list(a) for q, a in pairs.items()}
    new_deps = {q.replace(old, new): (d.replace(old, new) if d is not None else None) for q, d in deps.items()}
    return new_pairs, new_deps


def _decals_pairs(suffix: str) -> Pairs:
    return {
        f"smooth-or-featured{suffix}": ["_smooth", "_featured-or-disk", "_artifact"],
        f"disk-edge-on{suffix}": ["_yes", "_no"],
        f"has-spiral-arms{suffix}": ["_yes", "_no"],
        f"bar{suffix}": ["_strong", "_weak", "_no"],
        f"bulge-size{suffix}": ["_dominant", "_large", "_moderate", "_small", "_none"],
        f"how-rounded{suffix}": ["_round", "_in-between", "_cigar-shaped"],
        f"edge-on-bulge{suffix}": ["_boxy", "_none", "_rounded"],
        f"spiral-winding{suffix}": ["_tight", "_medium", "_loose"],
        f"spiral-arm-count{suffix}": ["_1", "_2", "_3", "_4", "_more-than-4", "_cant-tell"],
        f"merging{suffix}": ["_none", "_minor-disturbance", "_major-disturbance", "_merger"],
    }


def _decals_dependencies(suffix: str) -> Dependencies:
    s = suffix
    return {
        f"smooth-or-featured{s}": None,
        f"disk-edge-on{s}": f"smooth-or-featured{s}_featured-or-disk",
        f"has-spiral-arms{s}": f"disk-edge-on{s}_no",
        f"bar{s}": f"disk-edge-on{s}_no",
        f"bulge-size{s}": f"disk-edge-on{s}_no",
        f"how-rounded{s}": f"smooth-or-featured{s}_smooth",
        f"edge-on-bulge{s}": f"disk-edge-on{s}_yes",
        f"spiral-winding{s}": f"has-spiral-arms{s}_yes",
        f"spiral-arm-count{s}": f"has-spiral-arms{s}_yes",
        f"merging{s}": None,
    }


# DECaLS DR1/2: bars were yes/no, bulges had three sizes, merging had other answers.
decals_dr12_ortho_pairs: Pairs = {
    "smooth-or-featured-dr12": ["_smooth", "_featured-or-disk", "_artifact"],
    "disk-edge-on-dr12": ["_yes", "_no"],
    "has-spiral-arms-dr12": ["_yes", "_no"],
    "bar-dr12": ["_yes", "_no"],
    "bulge-size-dr12": ["_dominant", "_obvious", "_none"],
    "how-rounded-dr12": ["_completely", "_in-between", "_cigar-shaped"],
    "edge-on-bulge-dr12": ["_boxy", "_none", "_rounded"],
    "spiral-winding-dr12": ["_tight", "_medium", "_loose"],
    "spiral-arm-count-dr12": ["_1", "_2", "_3", "_4", "_more-than-4"],
    "merging-dr12": ["_neither", "_tidal-debris", "_both", "_merger"],
}
decals_dr5_ortho_pairs: Pairs = _decals_pairs("-dr5")
decals_dr8_ortho_pairs: Pairs = _decals_pairs("-dr8")
decals_all_campaigns_ortho_pairs: Pairs = {
    **decals_dr12_ortho_pairs,
    **decals_dr5_ortho_pairs,
    **decals_dr8_ortho_pairs,
}
decals_ortho_dependencies: Dependencies = {
    **_decals_dependencies("-dr12"),
    **_decals_dependencies("-dr5"),
    **_decals_dependencies("-dr8"),
}

# DESI: DECaLS DR8 questions without the campaign suffix (for reading catalogs, not training).
desi_pairs, desi_dependencies = _rename(decals_dr8_ortho_pairs, _decals_dependencies("-dr8"), "-dr8", "")

gz2_ortho_pairs: Pairs = {
    "smooth-or-featured-gz2": ["_smooth", "_featured-or-disk", "_artifact"],
    "disk-edge-on-gz2": ["_yes", "_no"],
    "has-spiral-arms-gz2": ["_yes", "_no"],
    "bar-gz2": ["_yes", "_no"],
    "bulge-size-gz2": ["_dominant", "_obvious", "_just-noticeable", "_no"],
    "something-odd-gz2": ["_yes", "_no"],
    "how-rounded-gz2": ["_round", "_in-between", "_cigar"],
    "bulge-shape-gz2": ["_round", "_boxy", "_no-bulge"],
    "spiral-winding-gz2": ["_tight", "_medium", "_loose"],
    "spiral-arm-count-gz2": ["_1", "_2", "_3", "_4", "_more-than-4", "_cant-tell"],
}
gz2_ortho_dependencies: Dependencies = {
    "smooth-or-featured-gz2": None,
    "disk-edge-on-gz2": "smooth-or-featured-gz2_featured-or-disk",
    "has-spiral-arms-gz2": "smooth-or-featured-gz2_featured-or-disk",
    "bar-gz2": "smooth-or-featured-gz2_featured-or-disk",
    "bulge-size-gz2": "smooth-or-featured-gz2_featured-or-disk",
    "how-rounded-gz2": "smooth-or-featured-gz2_smooth",
    "bulge-shape-gz2": "disk-edge-on-gz2_yes",
    "spiral-winding-gz2": "has-spiral-arms-gz2_yes",
    "spiral-arm-count-gz2": "has-spiral-arms-gz2_yes",
    "something-odd-gz2": None,
}
gz2_pairs, gz2_dependencies = _rename(gz2_ortho_pairs, gz2_ortho_dependencies, "-gz2", "")

rings_pairs: Pairs = {"ring": ["_yes", "_no"]}
rings_dependencies: Dependencies = {"ring": None}
