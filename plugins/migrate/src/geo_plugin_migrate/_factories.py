"""Model factories and their ``model_args``: every argument routed, renamed or reported."""

from __future__ import annotations

from typing import Any

from geo_plugin_migrate._names import builder_of, component, metadata_of
from geo_plugin_migrate._report import MigrationReport, accepted, closest, short_name

__all__ = ["migrate_factory", "migrate_part_args"]

#: An argument the component does not take -> the spellings it may take instead.
_ALIASES: dict[str, tuple[str, ...]] = {
    "drop_path_rate": ("drop_path",),
    "drop_path": ("drop_path_rate",),
    "in_channels": ("in_chans",),
    "in_chans": ("in_channels",),
    "pretrain_img_size": ("img_size",),
    "img_size": ("pretrain_img_size",),
    "model_bands": ("bands",),
    "checkpoint_path": ("ckpt_path",),
}
#: Arguments of geo's EncoderDecoderFactory.build_model besides the routed ones.
_EDF_KEYS = (
    "backbone",
    "decoder",
    "backbone_kwargs",
    "decoder_kwargs",
    "head_kwargs",
    "num_classes",
    "necks",
    "aux_decoders",
    "rescale",
    "peft_config",
    "padding",
)
#: head_* keys per task (TerraTorch's names; geo's heads take these).
_HEAD_KEYS = {
    "segmentation": ("channel_list", "dropout", "activation", "learned_upscale_layers"),
    "regression": ("channel_list", "dropout", "activation", "final_act", "learned_upscale_layers"),
    "classification": ("channel_list", "dim_list", "dropout", "activation", "linear_after_pool"),
}
_HEAD_KEYS["scalar_regression"] = _HEAD_KEYS["classification"]
#: Unprefixed PrithviModelFactory arguments that belong to the backbone.
_LEGACY_BACKBONE = ("pretrained", "bands", "num_frames", "in_channels")


def _activation(value: Any, where: str, report: MigrationReport) -> Any:
    """``torch.nn.ReLU`` / ``nn.ReLU`` -> ``ReLU`` (geo takes torch.nn class names)."""
    if isinstance(value, str) and value.startswith(("torch.nn.", "nn.")):
        new = value.rsplit(".", 1)[-1]
        report.change(where, value, new)
        return new
    return value


def _rename(key: str, names: list[str], var_kw: bool) -> str | None:
    if key in names or var_kw:
        return key
    return next((a for a in _ALIASES.get(key, ()) if a in names), None)


def migrate_part_args(
    args: dict[str, Any],
    backbone: Any,
    decoder: Any,
    kind: str,
    report: MigrationReport,
    where: str,
    parts: tuple[str, ...] = ("backbone", "decoder", "head"),
) -> dict[str, Any]:
    """Check ``backbone_*`` / ``decoder_*`` / ``head_*`` keys against the components that take them.

    Unknown keys are reported and dropped; keys a component spells otherwise
    (``drop_path_rate`` vs ``drop_path``, ``in_channels`` vs ``in_chans``) are renamed.
    Other keys are returned unchanged for the caller to judge.
    """
    sigs: dict[str, tuple[list[str], bool] | None] = {}
    b = builder_of("backbone", backbone) if "backbone" in parts else None
    sigs["backbone"] = accepted(b) if b is not None else None
    d = builder_of("decoder", decoder) if "decoder" in parts else None
    sigs["decoder"] = accepted(d, skip=1) if d is not None else None
    includes_head = bool(getattr(d, "includes_head", metadata_of("decoder", decoder).get("includes_head", False)))
    head_keys = list(_HEAD_KEYS.get(kind, _HEAD_KEYS["segmentation"]))
    sigs["head"] = ([], False) if includes_head else (head_keys, False)
    out: dict[str, Any] = {}
    for key, value in args.items():
        part = next((p for p in parts if key.startswith(p + "_") and len(key) > len(p) + 1), None)
        if part is None:
            out[key] = value
            continue
        sub = key[len(part) + 1 :]
        kw = f"{where}.{key}"
        if part == "head" or sub in ("activation", "act"):
            value = _activation(value, kw, report)
        if part == "backbone" and sub == "pretrained_cfg_overlay" and isinstance(value, dict) and "file" in value:
            sub, value = "ckpt_path", value["file"]
            report.change(kw, "pretrained_cfg_overlay.file", f"{part}_ckpt_path")
        if part == "backbone" and sub == "padding":
            out["padding"] = value
            report.change(kw, key, "padding")
            continue
        sig = sigs[part]
        if sig is None:  # the component is not available here: keep the argument as written
            out[f"{part}_{sub}"] = value
            continue
        new = _rename(sub, *sig)
        if new is None:
            if part == "head":
                what = (
                    f"decoder {decoder!r} includes its head" if includes_head else f"the {kind} head takes no {sub!r}"
                )
            else:
                what = f"{part} {backbone if part == 'backbone' else decoder!r} takes no {sub!r}"
            report.not_mapped(kw, what, closest(f"{part}_{sub}", [f"{part}_{n}" for n in sig[0]]))
            continue
        if new != sub:
            report.change(kw, key, f"{part}_{new}")
        out[f"{part}_{new}"] = value
    return out


def _necks(necks: Any, report: MigrationReport, where: str) -> Any:
    if not isinstance(necks, list):
        return necks
    out = []
    for i, spec in enumerate(necks):
        w = f"{where}[{i}]"
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            out.append(spec)
            continue
        name = component(spec["name"], "neck", report, f"{w}.name")
        new = {"name": name}
        cls = builder_of("neck", name)
        names, var_kw = accepted(cls, skip=1) if cls is not None else ([], True)
        for k, v in spec.items():
            if k == "name":
                continue
            if k in names or var_kw:
                new[k] = v
            else:
                report.not_mapped(f"{w}.{k}", f"neck {name} takes no {k!r}", closest(k, names))
        out.append(new)
    return out


def _prithvi_necks(margs: dict[str, Any], report: MigrationReport, where: str) -> None:
    """Write the necks PrithviModelFactory implied: SelectIndices, then ReshapeTokensToImage.

    Only for token backbones (the Prithvi ViTs): a Prithvi Swin returns image-like maps already.
    """
    meta = metadata_of("backbone", margs.get("backbone"))
    if meta.get("output", "tokens") != "tokens":
        report.note(f"{where}.necks", f"none implied: {margs.get('backbone')} returns image-like feature maps")
        return
    indices = margs.get("backbone_out_indices") or meta.get("out_indices") or [-1]
    frames = int(margs.get("backbone_num_frames") or 1)
    tubelet = int(meta.get("tubelet_size") or 1)
    reshape: dict[str, Any] = {"name": "ReshapeTokensToImage"}
    if frames // tubelet > 1:
        reshape["effective_time_dim"] = frames // tubelet
    necks = [{"name": "SelectIndices", "indices": list(indices)}, reshape]
    margs["necks"] = necks
    report.change(f"{where}.necks", "(implied by PrithviModelFactory)", necks)


def _encoder_decoder(
    margs: dict[str, Any], kind: str, report: MigrationReport, where: str, legacy: str | None
) -> dict[str, Any]:
    for k in _LEGACY_BACKBONE:
        if k in margs:
            value = margs.pop(k)
            if f"backbone_{k}" in margs:
                report.note(f"{where}.{k}", f"dropped: backbone_{k} is given too")
                continue
            margs[f"backbone_{k}"] = value
            report.change(f"{where}.{k}", k, f"backbone_{k}")
    if legacy == "PrithviModelFactory":
        if "backbone_pretrained" not in margs:
            margs["backbone_pretrained"] = True
            report.change(f"{where}.backbone_pretrained", "(PrithviModelFactory default)", True)
    if isinstance(margs.get("backbone"), str):
        margs["backbone"] = component(margs["backbone"], "backbone", report, f"{where}.backbone")
    if isinstance(margs.get("decoder"), str):
        margs["decoder"] = component(margs["decoder"], "decoder", report, f"{where}.decoder")
    out = migrate_part_args(margs, margs.get("backbone"), margs.get("decoder"), kind, report, where)
    if legacy == "PrithviModelFactory" and not out.get("necks"):
        _prithvi_necks(out, report, where)
    if "necks" in out:
        out["necks"] = _necks(out["necks"], report, f"{where}.necks")
    if isinstance(out.get("aux_decoders"), list):
        from geo_plugin_migrate._model import _aux_head

        out["aux_decoders"] = [
            _aux_head(a, f"{where}.aux_decoders[{i}]", kind, report) for i, a in enumerate(out["aux_decoders"])
        ]
    for key in list(out):
        if key in _EDF_KEYS or key.startswith(("backbone_", "decoder_", "head_")):
            continue
        report.not_mapped(
            f"{where}.{key}",
            "EncoderDecoderFactory takes no such argument",
            closest(key, _EDF_KEYS) + " (or prefix it with backbone_/decoder_/head_)",
        )
        out.pop(key)
    return out


def _generic_unet(margs: dict[str, Any], kind: str, report: MigrationReport, where: str) -> dict[str, Any]:
    """GenericUnetModelFactory: a plain UNet backbone and a decoder that includes its head."""
    if "in_channels" in margs and "backbone_in_channels" not in margs:
        margs["backbone_in_channels"] = margs.pop("in_channels")
        report.change(f"{where}.in_channels", "in_channels", "backbone_in_channels")
    ignored = {
        "in_channels": "given as backbone_in_channels",
        "channels": "GenericUnetModelFactory ignores it",
        "bands": "the UNet takes no band names",
        "num_frames": "the UNet is single-frame",
        "dilations": "give decoder_dilations",
        "regression_relu": "use head_final_act: ReLU",
        "decoder_in_channels": "geo derives it from the backbone",
        "decoder_num_classes": "geo sets it from num_classes",
    }
    for k, why in ignored.items():
        if k in margs:
            v = margs.pop(k)
            if k == "decoder_num_classes" and "num_classes" not in margs:
                margs["num_classes"] = v
            report.note(f"{where}.{k}", f"dropped: {why}")
    dec = builder_of("decoder", margs.get("decoder"))
    if bool(getattr(dec, "includes_head", metadata_of("decoder", margs.get("decoder")).get("includes_head"))):
        for k in [k for k in margs if k.startswith("head_")]:
            margs.pop(k)
            report.note(
                f"{where}.{k}", "dropped: GenericUnetModelFactory ignores head_* (its decoder includes the head)"
            )
    return _encoder_decoder(margs, kind, report, where, None)


def _timm(margs: dict[str, Any], report: MigrationReport, where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in margs.items():
        if key == "in_channels":
            out["in_chans"] = value
            report.change(f"{where}.{key}", key, "in_chans")
        elif key == "backbone_pretrain_img_size":
            out["backbone_img_size"] = value
            report.change(f"{where}.{key}", key, "backbone_img_size")
        elif key == "backbone" and isinstance(value, str) and value.startswith("timm_"):
            out[key] = value[len("timm_") :]
            report.change(f"{where}.{key}", value, out[key])
        else:
            out[key] = value
    return out


def _registered_factory(name: str) -> bool:
    from geo_core import MODEL_FACTORIES, GeoError

    try:
        MODEL_FACTORIES.resolve(name)
    except GeoError:
        return False
    return True


def migrate_factory(
    factory: Any, margs: dict[str, Any], kind: str, report: MigrationReport, where: str
) -> tuple[str | None, dict[str, Any]]:
    """Return the geo factory name and converted ``model_args``."""
    name = short_name(str(factory)) if factory is not None else "EncoderDecoderFactory"
    w = f"{where}.model_args"
    if name in ("EncoderDecoderFactory", "PrithviModelFactory"):
        new = "EncoderDecoderFactory"
        margs = _encoder_decoder(margs, kind, report, w, name)
    elif name == "GenericUnetModelFactory":
        new = "EncoderDecoderFactory"
        if margs.get("backbone") in ("UNet", "unet"):
            margs["backbone"] = "UNet"
        margs = _generic_unet(margs, kind, report, w)
    elif name == "TimmModelFactory":
        new = "timm:TimmModelFactory"
        margs = _timm(margs, report, w)
    elif name == "SMPModelFactory":
        new = "smp:SMPModelFactory"
    elif name == "FullModelFactory":
        new = "FullModelFactory"
        if isinstance(margs.get("model"), str):
            margs["model"] = component(margs["model"], "model", report, f"{w}.model")
    elif _registered_factory(name):
        new = name  # an installed plugin registers it under TerraTorch's name
    else:
        report.not_mapped(
            f"{where}.model_factory",
            f"factory {factory} has no geo equivalent",
            closest(name, ("EncoderDecoderFactory", "FullModelFactory", "SMPModelFactory", "TimmModelFactory")),
        )
        return (str(factory) if factory is not None else None), margs
    if factory is not None and new != factory:
        report.change(f"{where}.model_factory", factory, new)
        if name == "PrithviModelFactory":
            report.note(
                f"{where}.model_factory",
                "PrithviModelFactory is EncoderDecoderFactory plus the backbone arguments and necks written above",
            )
    if factory is None:
        return None, margs
    from geo_core import MODEL_FACTORIES, GeoError

    try:
        MODEL_FACTORIES.resolve(new)
    except GeoError as exc:
        report.not_mapped(f"{where}.model_factory", f"{new} is not available here", str(exc).splitlines()[0])
    return new, margs
