"""Several co-registered sources per sample (e.g. Sentinel-1 + Sentinel-2).

Each modality has its own folder, grep pattern, bands and normalisation; samples
are matched across modalities (and with labels) by file stem. With
``allow_missing_modalities`` a sample may lack some modalities; they are filled
with zeros (the per-band mean after normalisation). Batches hold ``image`` as a
dict ``{modality: (B, C_m, H, W)}`` (TerraTorch's layout), or one tensor with the
modalities' bands concatenated when ``concat_bands=True``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from geo_core import ConfigError, InputDataError

from geo_plugin_datasets._bands import resolve_bands, resolve_norm
from geo_plugin_datasets._datasets import ImageReader, Item, PixelwiseDataset
from geo_plugin_datasets._io import raster_info
from geo_plugin_datasets._label_folders import LabelFolders
from geo_plugin_datasets._pairing import find_files

__all__ = ["GenericMultiModalDataModule", "MultiModalDataset"]


def _per(value: Any, modalities: Sequence[str], name: str) -> dict[str, Any]:
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(modalities))
        if unknown:
            raise ConfigError(f"{name} names unknown modalities {unknown}; modalities are {list(modalities)}", key=name)
        return {m: value.get(m) for m in modalities}
    return dict.fromkeys(modalities, value)


class MultiModalDataset:
    """Reads every modality of a sample; a joint transform sees them stacked on channels."""

    def __init__(
        self,
        items: list[Item],
        readers: dict[str, ImageReader],
        channels: dict[str, int],
        label_reader: PixelwiseDataset | None,
        label_kind: Literal["mask", "class", "scalar", "none"],
        transform: Any,
        concat_bands: bool,
    ) -> None:
        self.items, self.readers, self.channels = items, readers, channels
        self.label_reader, self.label_kind = label_reader, label_kind
        self.transform, self.concat_bands = transform, concat_bands

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, Any]:
        import torch

        item = self.items[index]
        arrays: dict[str, Any] = {}
        for m, reader in self.readers.items():
            path = item.image.get(m)
            arrays[m] = None if path is None else torch.from_numpy(reader.read(path))
        ref = next(a for a in arrays.values() if a is not None)
        for m, a in arrays.items():
            if a is None:
                arrays[m] = ref.new_zeros((self.channels[m], *ref.shape[1:]))
        mask = None
        if self.label_kind == "mask" and item.label is not None:
            assert self.label_reader is not None
            mask = torch.from_numpy(self.label_reader.read_mask(item.label, None))
        if self.transform is not None:
            sizes = [a.shape[0] for a in arrays.values()]
            stacked, mask = self.transform(torch.cat(list(arrays.values())), mask)
            arrays = dict(zip(arrays, stacked.split(sizes), strict=True))
        out: dict[str, Any] = {
            "image": torch.cat(list(arrays.values())) if self.concat_bands else arrays,
            "filename": str(next(p for p in item.image.values() if p is not None)),
        }
        if mask is not None:
            out["mask"] = mask
        elif item.label is not None and self.label_kind == "class":
            out["label"] = torch.tensor(int(item.label))
        elif item.label is not None and self.label_kind == "scalar":
            out["label"] = torch.tensor(float(item.label))
        return out


class GenericMultiModalDataModule(LabelFolders):
    """Multimodal datamodule (TerraTorch's ``GenericMultiModalDataModule`` arguments).

    The options shared by every datamodule (``batch_size``, splits, transforms, loader
    options, ``no_data_replace``...) and the label folders (``train_label_data_root``,
    ``label_grep``, ``no_label_replace``...) are those of the parent classes, by keyword.

    Args:
        modalities: Modality names, e.g. ``["S1GRD", "S2L2A"]``.
        train_data_root: ``{modality: folder}`` of the training images.
        val_data_root: ``{modality: folder}`` of the validation images.
        test_data_root: ``{modality: folder}`` of the test images.
        predict_data_root: ``{modality: folder}`` of the images to predict.
        image_grep: ``{modality: glob}`` or one glob for all.
        means: ``{modality: per-band means}``.
        stds: ``{modality: per-band standard deviations}``.
        stats_file: ``{modality: geo stats file}``.
        dataset_bands: ``{modality: band names of the files}``.
        output_bands: ``{modality: bands the model sees}``.
        constant_scale: ``{modality: factor}`` or one factor for all.
        task: ``segmentation`` or ``regression`` (label rasters; for classification use
            the classification datamodule).
        num_classes: Number of classes.
        allow_missing_modalities: Keep samples lacking some modalities (zero-filled).
        concat_bands: Give ``image`` as one tensor instead of a dict.
        image_modalities: Modalities that are images (default: all).
        rgb_modality: Modality whose ``rgb_indices`` plots show (default: the first).
    """

    def __init__(
        self,
        *,
        modalities: Sequence[str],
        train_data_root: dict[str, str],
        val_data_root: dict[str, str] | None = None,
        test_data_root: dict[str, str] | None = None,
        predict_data_root: dict[str, str] | None = None,
        image_grep: dict[str, str] | str = "*",
        means: dict[str, Sequence[float]] | None = None,
        stds: dict[str, Sequence[float]] | None = None,
        stats_file: dict[str, str] | None = None,
        dataset_bands: dict[str, Sequence[Any]] | None = None,
        output_bands: dict[str, Sequence[Any]] | None = None,
        constant_scale: dict[str, float] | float = 1.0,
        task: Literal["segmentation", "regression"] = "segmentation",
        num_classes: int | None = None,
        allow_missing_modalities: bool = False,
        concat_bands: bool = False,
        image_modalities: Sequence[str] | None = None,
        rgb_modality: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.modalities = list(modalities)
        if not self.modalities:
            raise ConfigError("modalities is empty", key="modalities")
        self.task: Literal["segmentation", "regression"] = task
        self.num_classes = num_classes
        self.roots = {
            "train": train_data_root,
            "val": val_data_root,
            "test": test_data_root,
            "predict": predict_data_root,
        }
        for stage, r in self.roots.items():
            if r is not None:
                _per(r, self.modalities, f"{stage}_data_root")
        self.image_grep = _per(image_grep, self.modalities, "image_grep")
        self.mod_means = _per(means, self.modalities, "means")
        self.mod_stds = _per(stds, self.modalities, "stds")
        self.mod_stats = _per(stats_file, self.modalities, "stats_file")
        self.mod_dataset_bands = _per(dataset_bands, self.modalities, "dataset_bands")
        self.mod_output_bands = _per(output_bands, self.modalities, "output_bands")
        self.mod_scale = _per(constant_scale, self.modalities, "constant_scale")
        self.allow_missing = allow_missing_modalities
        self.concat_bands = concat_bands
        self.image_modalities = list(image_modalities) if image_modalities else self.modalities
        self.rgb_modality = rgb_modality or self.modalities[0]

    def _items(self, stage: str) -> list[Item]:
        roots = self._root(stage)
        found = {
            m: find_files(roots[m], self.image_grep[m], f"{m} image") if roots.get(m) else {} for m in self.modalities
        }
        keys = sorted(set().union(*[set(f) for f in found.values()]))
        if not self.allow_missing:
            incomplete = {k: [m for m in self.modalities if k not in found[m]] for k in keys}
            incomplete = {k: v for k, v in incomplete.items() if v}
            if incomplete:
                listing = "; ".join(f"{k} lacks {v}" for k, v in list(incomplete.items())[:20])
                raise InputDataError(
                    f"{len(incomplete)} {stage} sample(s) miss modalities: {listing}. "
                    "Add the files or set allow_missing_modalities=True"
                )
        labels: dict[str, Path] = {}
        if stage != "predict":
            lroot = self.label_roots.get(stage)
            if lroot is None:
                raise ConfigError(f"set {stage}_label_data_root", key=f"{stage}_label_data_root")
            labels = find_files(lroot, self.label_grep, "label")
            unpaired = sorted(set(keys) ^ set(labels))
            if unpaired:
                raise InputDataError(
                    f"{len(unpaired)} key(s) have images but no label or a label but no image: "
                    f"{', '.join(unpaired[:20])}",
                    lroot,
                )
        keys = self._split(stage, keys)
        return [Item({m: found[m].get(k) for m in self.modalities}, labels.get(k)) for k in keys]

    def _mod_reader(self, m: str, reference: Path) -> tuple[ImageReader, int]:
        info = raster_info(reference)
        idx = resolve_bands(self.mod_dataset_bands[m], self.mod_output_bands[m], info.count, info.descriptions)
        norm = resolve_norm(self.mod_means[m], self.mod_stds[m], self.mod_stats[m], len(idx), self.mod_output_bands[m])
        bands = None if idx == list(range(info.count)) else idx
        reader = ImageReader(
            bands,
            None,
            float(self.mod_scale[m] or 1.0),
            norm[0] if norm else None,
            norm[1] if norm else None,
            self.no_data_replace,
        )
        return reader, len(idx)

    def build_dataset(self, stage: str) -> MultiModalDataset:
        """Find the samples of ``stage`` and build its dataset."""
        items = self._items(stage)
        if not items:
            raise InputDataError(f"the {stage} split is empty")
        readers, channels = {}, {}
        for m in self.modalities:
            ref = next((it.image[m] for it in items if it.image.get(m) is not None), None)
            if ref is None:
                raise InputDataError(f"no {stage} sample has modality {m!r}")
            readers[m], channels[m] = self._mod_reader(m, ref)
        self._check_mm_shapes(stage, items)
        label_reader = PixelwiseDataset(
            [],
            readers[self.modalities[0]],
            task=self.task,
            no_label_replace=self.no_label_replace,
        )
        return MultiModalDataset(
            items, readers, channels, label_reader, "mask", self.transforms[stage], self.concat_bands
        )

    def _check_mm_shapes(self, stage: str, items: list[Item]) -> None:
        for i in self._sample_indices(len(items)):
            it = items[i]
            sizes = {m: (raster_info(p).height, raster_info(p).width) for m, p in it.image.items() if p is not None}
            if it.label is not None:
                li = raster_info(it.label)
                sizes["label"] = (li.height, li.width)
            if len(set(sizes.values())) > 1:
                raise InputDataError(
                    f"{stage} sample's modalities are not co-registered on one grid: {sizes}; "
                    "resample them to the same size",
                    next(p for p in it.image.values() if p is not None),
                )

    def scene_preprocessing(self) -> Any:
        """Scene prediction reads one raster; multimodal scenes are not supported."""
        raise ConfigError(
            "geo predict on whole scenes needs a single-source datamodule; "
            "multimodal prediction runs through predict_data_root batches"
        )
